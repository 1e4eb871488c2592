import { assertEquals } from "../../../tests/_assert.ts";
import { ProxyError } from "../../core/mod.ts";
import type { ConnectionIO } from "../types.ts";
import { afterFeed, closeAndResetStreams, unsentSince } from "./connection_life.ts";

/** An IO that has accepted `submitted` bytes of which the kernel took `written`; closing drops the rest. */
function io(submitted: number, written: number, congested = false): ConnectionIO & { closes: number } {
  let drained: () => void = () => {};
  const fake = {
    closes: 0,
    closed: false,
    remoteAddress: "127.0.0.1:1",
    bytesSubmitted: submitted,
    bytesWritten: written,
    congested,
    write: () => Promise.resolve(),
    close() {
      fake.closes++;
      fake.closed = true;
      drained();
    },
    drained: () => new Promise<void>((r) => drained = r),
  };
  return fake;
}

function stream(unsent: boolean) {
  const errors: ProxyError[] = [];
  return { unsent, receiver: { onReset: (e: ProxyError) => void errors.push(e) }, errors };
}

Deno.test("closeAndResetStreams: only streams whose bytes never left this host fail retryable", () => {
  const conn = io(300, 100);
  const sent = stream(false);
  const queued = stream(true);
  closeAndResetStreams(
    conn,
    [sent, queued],
    new ProxyError("upstream_protocol_error", "upstream", "bad frame"),
  );
  assertEquals(conn.closes, 1);
  assertEquals([sent.errors.length, queued.errors.length], [1, 1]);
  assertEquals([sent.errors[0]!.kind, sent.errors[0]!.retryable], ["upstream_reset", false]);
  assertEquals([queued.errors[0]!.kind, queued.errors[0]!.retryable], ["upstream_reset", true]);
  assertEquals(sent.errors[0]!.message, "bad frame");
});

Deno.test("closeAndResetStreams reads unsent-ness before closing, since close() drops queued output", () => {
  const conn = io(300, 100);
  let closedWhenAsked: boolean | undefined;
  const s = {
    get unsent() {
      closedWhenAsked = conn.closed;
      return true;
    },
    receiver: { onReset() {} },
  };
  closeAndResetStreams(conn, [s], new ProxyError("upstream_reset", "upstream", "closed"));
  assertEquals(closedWhenAsked, false);
});

Deno.test("closeAndResetStreams passes a non-retryable upstream reset on as it is", () => {
  const error = new ProxyError("upstream_reset", "upstream", "upstream closed the connection");
  const s = stream(false);
  closeAndResetStreams(io(0, 0), [s], error);
  assertEquals(s.errors, [error]);
});

Deno.test("unsentSince: nothing from the mark on reached the kernel", () => {
  assertEquals(unsentSince(io(300, 100), 100), true);
  assertEquals(unsentSince(io(300, 101), 100), false);
  assertEquals(unsentSince({ ...io(0, 0), bytesWritten: undefined }, 0), false, "an IO that does not count");
});

Deno.test("afterFeed waits for a congested socket to drain before the next read", async () => {
  assertEquals(afterFeed(io(0, 0), undefined), undefined);
  const conn = io(0, 0, true);
  let done = false;
  const p = afterFeed(conn, undefined)!.then(() => done = true);
  await Promise.resolve();
  assertEquals(done, false);
  conn.close();
  await p;
  assertEquals(done, true);
});
