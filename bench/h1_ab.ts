/**
 * Paired A/B of meshctl's HTTP/1.1 CPU per request, the `make bench` http family's 5 B case: wrk -t1
 * (core 0) → meshctl HTTP/1 listener → nginx origin returning "hello" (meshctl and nginx on core 1),
 * keep-alive both sides, the bench config (`bench/_configs.ts`, MOSN defaults: max_request_per_conn
 * 1024). Each round runs every tree once, in turn (A B A B …), a fresh meshctl per run after a 1 s
 * warm-up; CPU is utime+stime from /proc over the run ÷ requests; min and median reported per tree.
 *
 *   deno run -A bench/h1_ab.ts [--rounds 6] [--duration 5] [--connections 50]
 *       [--before DIR] [--tree NAME=DIR ...] [--max-request-per-conn N] [--cpu-prof DIR]
 *
 * `--before DIR` adds another tree (e.g. `git archive main | tar -x -C DIR`) as "before"; `--tree
 * NAME=DIR[@N]` adds a named tree (DIR "." is this one; `@N` sets its max_request_per_conn); this tree is
 * always "this", last. Paired ratios are against the first tree. `--cpu-prof DIR` runs meshctl under V8's CPU profiler
 * (summarise with `bench/cpuprof_top.ts DIR`; the profiler's own cost makes CPU figures meaningless).
 */
import { parseArgs } from "node:util";
import { meshctlConfig, originNginx, toYaml } from "./_configs.ts";
import { DENO, LOAD_CORE, MAIN_TS, MESHCTL_FLAGS, PROXY_CORE, waitReady } from "./_harness.ts";
import { freePort, installSignalHandlers, run, sleep, start, stopAll, treeCpuMicros } from "./_proc.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "6" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
    before: { type: "string" },
    tree: { type: "string", multiple: true, default: [] },
    "max-request-per-conn": { type: "string" },
    "cpu-prof": { type: "string" },
  },
});
const rounds = Number(args.values.rounds);
const durationS = Number(args.values.duration);
const connections = Number(args.values.connections);
const maxPerConn = args.values["max-request-per-conn"];
const cpuProfDir = args.values["cpu-prof"];

/** A tree to run; `perConn` overrides the cluster's max_request_per_conn for it. */
const trees: { name: string; main: string; perConn?: number }[] = [];
if (args.values.before !== undefined) trees.push({ name: "before", main: `${args.values.before}/main.ts` });
for (const t of args.values.tree) {
  const m = /^([^=]+)=([^@]*)(?:@(\d+))?$/.exec(t);
  if (m === null) throw new Error(`--tree ${t}: expected NAME=DIR or NAME=DIR@MAX_REQUEST_PER_CONN`);
  const main = m[2] === "" || m[2] === "." ? MAIN_TS : `${m[2]}/main.ts`;
  trees.push({ name: m[1]!, main, ...(m[3] === undefined ? {} : { perConn: Number(m[3]) }) });
}
trees.push({ name: "this", main: MAIN_TS });

installSignalHandlers();
const dir = await Deno.makeTempDir({ prefix: "meshctl-h1-ab-" });
const originPort = freePort();
await Deno.writeTextFile(`${dir}/big`, "x".repeat(65536));
await Deno.writeTextFile(`${dir}/origin.conf`, originNginx(dir, originPort, `${dir}/big`));

const results = new Map<string, number[]>();
const origin = start("nginx", ["nginx", "-c", `${dir}/origin.conf`, "-p", dir], { core: PROXY_CORE });
try {
  await sleep(300);
  for (let round = 1; round <= rounds; round++) {
    for (const t of trees) {
      // A port freePort() found may be taken by other work before meshctl binds it: try new ports.
      let mesh: ReturnType<typeof start> | undefined;
      let url = "";
      for (let attempt = 1; mesh === undefined; attempt++) {
        const listenPort = freePort();
        const config = meshctlConfig({
          listenPort,
          adminPort: freePort(),
          upstreamPort: originPort,
          protocol: "http",
        }) as { cluster_manager: { clusters: Record<string, unknown>[] } };
        const perConn = t.perConn ?? (maxPerConn === undefined ? undefined : Number(maxPerConn));
        if (perConn !== undefined) config.cluster_manager.clusters[0]!.max_request_per_conn = perConn;
        const path = `${dir}/${t.name}.yaml`;
        await Deno.writeTextFile(path, `${toYaml(config)}\n`);
        const prof = cpuProfDir === undefined
          ? []
          : ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${t.name}-r${round}.cpuprofile`];
        const m = start("meshctl", [DENO, "run", ...prof, ...MESHCTL_FLAGS, t.main, "serve", path], {
          core: PROXY_CORE,
          env: { NO_COLOR: "1" },
        });
        url = `http://127.0.0.1:${listenPort}/`;
        const notReady = await waitReady(m, async () => {
          const r = await fetch(url).catch(() => undefined);
          await r?.body?.cancel();
          return r?.status === 200;
        }, 8000);
        if (notReady === undefined) mesh = m;
        else {
          await m.stop();
          if (attempt === 3) throw new Error(`${t.name}: ${notReady}\n${m.output()}`);
        }
      }
      try {
        await run(["wrk", "-t1", `-c${connections}`, "-d1s", url], 10_000, { core: LOAD_CORE }); // warm-up
        const before = treeCpuMicros(mesh.pid);
        const out = await run(
          ["wrk", "-t1", `-c${connections}`, `-d${durationS}s`, url],
          (durationS + 10) * 1000,
          { core: LOAD_CORE },
        );
        const cpu = treeCpuMicros(mesh.pid) - before;
        const n = Number(/(\d+) requests in/.exec(out.output)?.[1] ?? 0);
        const errors = /Non-2xx|Socket errors/.test(out.output) ? "  (errors!)" : "";
        if (n === 0 || errors !== "") {
          console.log(`${t.name}:\nwrk:\n${out.output}\nmeshctl:\n${mesh.output()}`);
        }
        const perRequest = cpu / n;
        (results.get(t.name) ?? results.set(t.name, []).get(t.name)!).push(perRequest);
        console.log(
          `round ${round} ${t.name.padEnd(10)} ${(n / durationS).toFixed(0).padStart(6)} req/s ` +
            `${perRequest.toFixed(2).padStart(6)} µs CPU/request${errors}`,
        );
      } finally {
        await mesh.stop();
      }
    }
  }
} finally {
  await origin.stop();
  await stopAll();
  await Deno.remove(dir, { recursive: true });
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
console.log(`\n${rounds} rounds, ${connections} connections, ${durationS} s each (µs CPU/request):`);
for (const [name, xs] of results) {
  const s = sorted(xs);
  console.log(
    `  ${name.padEnd(10)} min ${s[0]!.toFixed(2)}  median ${s[Math.floor(s.length / 2)]!.toFixed(2)}`,
  );
}
const base = results.get(trees[0]!.name);
if (base !== undefined && trees.length > 1) {
  for (const [name, xs] of results) {
    if (name === trees[0]!.name) continue;
    const ratios = sorted(xs.map((x, i) => x / base[i]!));
    console.log(
      `  ${name} / ${trees[0]!.name} paired: median ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}`,
    );
  }
}
