import { assert, assertEquals } from "../../tests/_assert.ts";
import type { RequestHead } from "../codec/mod.ts";
import { buildFilters, runPhase } from "./chain.ts";
import type { FilterContext, FilterResult, StreamFilter } from "./types.ts";

const ctx: FilterContext = {
  request: {} as RequestHead, // the chain never looks at the request
  listener: "l",
  remoteAddress: "127.0.0.1:1",
  cluster: undefined,
  upstreamHost: undefined,
};

const reply = (status: number): FilterResult => ({ localReply: { status, body: `${status}` } });

/** A filter whose beforeRoute logs its name and returns `result` (sync) or a promise the test settles. */
class Recorder implements StreamFilter {
  readonly name: string;
  readonly #log: string[];
  readonly #result: FilterResult | "async";
  /** Settles the pending promise of an "async" filter. */
  settle: ((r: FilterResult) => void) | undefined;

  constructor(name: string, log: string[], result: FilterResult | "async" = undefined) {
    this.name = name;
    this.#log = log;
    this.#result = result;
  }

  // Reads #private state: fails unless the chain calls it with the filter as `this`.
  beforeRoute(): FilterResult | Promise<FilterResult> {
    this.#log.push(this.name);
    if (this.#result !== "async") return this.#result;
    return new Promise<FilterResult>((resolve) => this.settle = resolve);
  }
}

Deno.test("runPhase() runs the phase's filters in order, with each filter as this, skipping filters without it", () => {
  const log: string[] = [];
  const filters: StreamFilter[] = [
    new Recorder("a", log),
    { name: "route-only", afterRoute: () => void log.push("route-only.afterRoute") },
    new Recorder("b", log),
    new Recorder("c", log),
  ];
  assertEquals(runPhase(filters, "beforeRoute", ctx), undefined);
  assertEquals(log, ["a", "b", "c"]);
  log.length = 0;
  assertEquals(runPhase(filters, "afterRoute", ctx), undefined);
  assertEquals(log, ["route-only.afterRoute"]);
  log.length = 0;
  assertEquals(runPhase(filters, "afterChooseHost", ctx), undefined, "no filter has it: nothing runs");
  assertEquals(log, []);
});

Deno.test("runPhase() returns synchronously, without a promise, when every filter is synchronous", () => {
  const log: string[] = [];
  const r = runPhase([new Recorder("a", log), new Recorder("b", log)], "beforeRoute", ctx);
  assert(!(r instanceof Promise), "a sync chain costs no promise");
  assertEquals(r, undefined);
  const replied = runPhase([new Recorder("a", log), new Recorder("b", log, reply(403))], "beforeRoute", ctx);
  assert(!(replied instanceof Promise));
  assertEquals(replied, reply(403));
});

Deno.test("runPhase() waits for an async filter before running the rest of the phase", async () => {
  const log: string[] = [];
  const slow = new Recorder("slow", log, "async");
  const r = runPhase(
    [new Recorder("a", log), slow, new Recorder("b", log), new Recorder("c", log)],
    "beforeRoute",
    ctx,
  );
  assert(r instanceof Promise, "an async filter makes the phase async");
  assertEquals(log, ["a", "slow"], "the filters after it wait");
  slow.settle!(undefined);
  assertEquals(await r, undefined);
  assertEquals(log, ["a", "slow", "b", "c"], "then run once, in order");
});

Deno.test("runPhase() stops at the first local reply: later filters do not run", async () => {
  const log: string[] = [];
  const sync = runPhase(
    [new Recorder("a", log), new Recorder("deny", log, reply(403)), new Recorder("late", log, reply(500))],
    "beforeRoute",
    ctx,
  );
  assertEquals(sync, reply(403));
  assertEquals(log, ["a", "deny"]);

  // An async filter's reply stops the phase too.
  log.length = 0;
  const slowDeny = new Recorder("slow-deny", log, "async");
  const asyncReply = runPhase([slowDeny, new Recorder("late", log)], "beforeRoute", ctx);
  slowDeny.settle!(reply(429));
  assertEquals(await asyncReply, reply(429));
  assertEquals(log, ["slow-deny"]);

  // A sync reply after an async filter ends the (now async) phase.
  log.length = 0;
  const slow = new Recorder("slow", log, "async");
  const mixed = runPhase(
    [slow, new Recorder("deny", log, reply(401)), new Recorder("late", log)],
    "beforeRoute",
    ctx,
  );
  slow.settle!(undefined);
  assertEquals(await mixed, reply(401));
  assertEquals(log, ["slow", "deny"]);
});

Deno.test("buildFilters() builds one filter per factory per request, in factory order", () => {
  const made: string[] = [];
  const factory = (name: string) => (): StreamFilter => {
    made.push(name);
    return { name };
  };
  const factories = [factory("x"), factory("y")];
  const first = buildFilters(factories);
  const second = buildFilters(factories);
  assertEquals(first.map((f) => f.name), ["x", "y"]);
  assertEquals(made, ["x", "y", "x", "y"], "each factory once per request");
  assert(first[0] !== second[0] && first[1] !== second[1], "requests never share filter instances");
  assertEquals(buildFilters([]), []);
});
