/**
 * `make bench-workers`: the workers family of `make bench` (bench/_workers.ts) alone, printing its table
 * instead of writing bench/RESULTS.md, with knobs the full run does not take.
 *
 *   deno run -A bench/workers_scaling.ts [--rounds 3] [--duration 10] [--warmup 2] [--connections 64]
 *     [--reuseport] [--tree DIR] [--origin] [--only c1,c2,c2-1cpu]
 *
 * `--tree DIR` runs another checkout's main.ts and Makefile RUN_FLAGS (`git archive <commit> | tar -x -C
 * DIR`); `--reuseport` sets the listener's reuseport (the socket path a worker uses); `--origin` proxies to
 * a Deno origin on the wrk core instead of direct_response. Pinning: see bench/_workers.ts.
 */
import { parseArgs } from "node:util";
import { installSignalHandlers, stopAll } from "./_proc.ts";
import { runWorkers, workersCommands, workersSections, type WorkersSettings } from "./_workers.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "64" },
    reuseport: { type: "boolean", default: false },
    tree: { type: "string" },
    origin: { type: "boolean", default: false },
    only: { type: "string" },
  },
});

installSignalHandlers();
const dir = await Deno.makeTempDir({ prefix: "meshctl-workers-bench-" });
const ctx: WorkersSettings = {
  opts: {
    rounds: Number(values.rounds),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    workerConnections: Number(values.connections),
  },
  dir,
  commands: new Map(),
};
try {
  const samples = await runWorkers(ctx, {
    only: values.only?.split(","),
    reuseport: values.reuseport,
    tree: values.tree,
    origin: values.origin,
  });
  console.log(
    ["", ...workersSections(ctx, samples), "", "```", ...workersCommands(ctx, samples), "```"].join("\n"),
  );
} finally {
  await stopAll();
  await Deno.remove(dir, { recursive: true });
}
