/**
 * Paired A/B of meshctl source trees on an RPC bench family (bolt or dubbo), beside the raw Deno relay:
 * every round runs each tree and the relay in turn (A B relay, B relay A, …: the order rotates) against one
 * test server, so a machine whose speed drifts moves all of them together. Placement as `bench/run.ts`:
 * load generator on core 0, the proxy and the server on core 1, a fresh proxy per run. Reports per run and
 * as min/median: req/s, the ratio to the relay of the same round, the proxy's CPU µs per call (utime+stime
 * of its process tree from /proc over the run ÷ responses) and p99, then the paired A/B ratios per round.
 *
 *   deno run -A bench/rpc_ab.ts [--family dubbo|bolt] [--rounds 6] [--duration 5] [--warmup 2]
 *     [--mode closed|open] [--connections 50] [--inflight 8] [--rate 2000] [--no-relay]
 *     [--cpu-prof DIR] [--json FILE] NAME=TREE...
 *
 * TREE is a directory with meshctl's main.ts (a clone at the commit to compare, e.g.
 * `git clone -q /work/main /tmp/dA && git -C /tmp/dA checkout 08ef9c1`); meshctl runs with the RUN_FLAGS of
 * that tree's Makefile. Closed loop (max throughput) by default, as `make bench`'s "max throughput" rows;
 * open loop defaults to 2000 req/s over 200 connections. `--cpu-prof DIR` runs every meshctl under V8's
 * sampling profiler (one `NAME-rN.cpuprofile` each; `bench/cpuprof_top.ts` summarises them) — the profiler
 * costs CPU itself, so do not read CPU figures from a profiled run.
 */
import { parseArgs } from "node:util";
import { meshctlYaml } from "./_configs.ts";
import { BENCH_DIR, DENO, LOAD_CORE, MESHCTL_FLAGS, PROXY_CORE, waitReady } from "./_harness.ts";
import {
  freePort,
  installSignalHandlers,
  NoiseMeter,
  run,
  type Server,
  start,
  stopAll,
  treeCpuMicros,
} from "./_proc.ts";
import { BOLT_REQUEST, frameLength as boltFrameLength, readU16, readU32, writeAll } from "./_bolt_frames.ts";
import { DUBBO_REQUEST, frameLength as dubboFrameLength, readId as dubboReadId } from "./_dubbo_frames.ts";
import type { LoadResult } from "./_rpc_load.ts";

interface Sample {
  round: number;
  name: string;
  rps: number;
  cpuUs: number;
  p99Ms: number;
  lost: number;
  errors: number;
  /** Cores' worth of CPU other processes used during the run (noise). */
  otherCores: number;
}

interface Family {
  server: string;
  load: string;
  /** One call over a fresh connection answers OK. */
  probe(port: number): Promise<boolean>;
}

/** Sends `request` over a fresh connection; `done(bytes, length)` says true/false once it has an answer. */
async function probeWith(
  port: number,
  request: Uint8Array,
  done: (b: Uint8Array, n: number) => boolean | undefined,
): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, request);
    const buf = new Uint8Array(65536);
    let have = 0;
    const deadline = performance.now() + 1000;
    while (performance.now() < deadline && have < buf.length) {
      const n = await conn.read(buf.subarray(have));
      if (n === null) return false;
      have += n;
      const ok = done(buf, have);
      if (ok !== undefined) return ok;
    }
    return false;
  } catch {
    return false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

const FAMILIES: Record<"bolt" | "dubbo", Family> = {
  bolt: {
    server: "bolt_server.ts",
    load: "bolt_load.ts",
    probe(port) {
      const req = BOLT_REQUEST.slice();
      req.set([0, 0, 0x12, 0x34], 5);
      return probeWith(port, req, (b, n) => {
        const len = boltFrameLength(b, 0, n);
        return len > 0 ? b[1] === 0 && readU32(b, 5) === 0x1234 && readU16(b, 10) === 0 : undefined;
      });
    },
  },
  dubbo: {
    server: "dubbo_server.ts",
    load: "dubbo_load.ts",
    probe(port) {
      const req = DUBBO_REQUEST.slice();
      req.set([0, 0, 0, 0, 0, 0, 0x12, 0x34], 4);
      return probeWith(port, req, (b, n) => {
        const len = dubboFrameLength(b, 0, n);
        return len > 0 ? b[3] === 20 && dubboReadId(b, 0) === 0x1234 : undefined;
      });
    },
  },
};

/** The run flags of a tree's own Makefile (a commit that changed them is measured with its own), else ours. */
function treeFlags(dir: string): string[] {
  try {
    const m = Deno.readTextFileSync(`${dir}/Makefile`).match(/^RUN_FLAGS := (.*)$/m);
    if (m !== null) return m[1]!.trim().split(/\s+/);
  } catch { /* no Makefile: use this checkout's flags */ }
  return MESHCTL_FLAGS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const f = (x: number, d = 1) => x.toFixed(d);

/** How long a freshly started proxy may take to answer (start-up is slow on a loaded machine). */
const READY_MS = 20_000;

if (import.meta.main) {
  installSignalHandlers();
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      family: { type: "string", default: "dubbo" },
      rounds: { type: "string", default: "6" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "2" },
      mode: { type: "string", default: "closed" },
      connections: { type: "string" },
      inflight: { type: "string", default: "8" },
      rate: { type: "string", default: "2000" },
      "no-relay": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      json: { type: "string" },
    },
  });
  if (values.family !== "bolt" && values.family !== "dubbo") {
    throw new TypeError(`--family must be bolt or dubbo, not "${values.family}"`);
  }
  const familyName = values.family;
  const family = FAMILIES[familyName];
  const trees = positionals.map((p) => {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new TypeError(`Cannot parse "${p}": expected NAME=TREE`);
    return { name: p.slice(0, eq), dir: p.slice(eq + 1).replace(/\/$/, "") };
  });
  const mode = values.mode === "open" ? "open" : "closed";
  const connections = values.connections ?? (mode === "open" ? "200" : "50");
  const cpuProf = values["cpu-prof"];
  if (cpuProf !== undefined) Deno.mkdirSync(cpuProf, { recursive: true });
  const dir = Deno.makeTempDirSync({ prefix: "rpc_ab_" });
  const serverPort = freePort();
  const rpcServer = start(`${familyName} server`, [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${BENCH_DIR}${family.server}`,
    `127.0.0.1:${serverPort}`,
  ], { core: PROXY_CORE });
  const samples: Sample[] = [];
  try {
    if (await waitReady(rpcServer, () => family.probe(serverPort), 8000) !== undefined) {
      throw new Error(`${familyName} server is not serving`);
    }
    const configs: { name: string; start: (port: number, round: number) => Server }[] = [];
    for (const t of trees) {
      configs.push({
        name: t.name,
        start: (port, round) => {
          const conf = `${dir}/${t.name}.yaml`;
          Deno.writeTextFileSync(
            conf,
            meshctlYaml({
              listenPort: port,
              adminPort: freePort(),
              upstreamPort: serverPort,
              protocol: familyName,
            }),
          );
          const prof = cpuProf === undefined
            ? []
            : ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`, `--cpu-prof-name=${t.name}-r${round}.cpuprofile`];
          return start(
            t.name,
            [DENO, "run", ...prof, ...treeFlags(t.dir), `${t.dir}/main.ts`, "serve", conf],
            {
              core: PROXY_CORE,
              env: { MESHCTL_LOG_LEVEL: "error", NO_COLOR: "1" },
            },
          );
        },
      });
    }
    if (!values["no-relay"]) {
      configs.push({
        name: "relay",
        start: (port) =>
          start("relay", [
            DENO,
            "run",
            "--no-prompt",
            "--allow-net=127.0.0.1",
            `${BENCH_DIR}tcp_relay.ts`,
            `127.0.0.1:${port}`,
            `127.0.0.1:${serverPort}`,
          ], { core: PROXY_CORE }),
      });
    }
    const rounds = Number(values.rounds);
    for (let round = 1; round <= rounds; round++) {
      // Rotate the order each round so no configuration always runs first.
      const order = configs.map((_, i) => configs[(i + round - 1) % configs.length]!);
      for (const c of order) {
        const port = freePort();
        const proxy = c.start(port, round);
        try {
          const nr = await waitReady(proxy, () => family.probe(port), READY_MS);
          if (nr !== undefined) {
            // A busy machine can stall a start-up: this round loses its pair, the run goes on.
            console.log(`r${round} ${c.name.padEnd(10)} n/a (not serving: ${nr})`);
            continue;
          }
          const modeArgs = mode === "open"
            ? ["--mode", "open", "--rate", values.rate!, "--connections", connections]
            : ["--mode", "closed", "--connections", connections, "--inflight", values.inflight!];
          const argv = [
            DENO,
            "run",
            "--no-prompt",
            "--allow-net=127.0.0.1",
            `${BENCH_DIR}${family.load}`,
            "--target",
            `127.0.0.1:${port}`,
            ...modeArgs,
            "--warmup",
            values.warmup!,
            "--duration",
            values.duration!,
          ];
          const noise = new NoiseMeter();
          const cpu0 = treeCpuMicros(proxy.pid);
          const res = await run(argv, (Number(values.warmup) + Number(values.duration)) * 1000 + 20000, {
            core: LOAD_CORE,
          });
          const cpu1 = treeCpuMicros(proxy.pid);
          const line = res.output.split("\n").find((l) => l.startsWith("{"));
          if (line === undefined) throw new Error(`load failed: ${res.output}`);
          const load = JSON.parse(line) as LoadResult;
          const s: Sample = {
            round,
            name: c.name,
            rps: load.achievedRps,
            // The warm-up's CPU is in the difference too, so divide by every response, not the measured ones.
            cpuUs: (cpu1 - cpu0) / Math.max(1, load.totalReceived),
            p99Ms: (load.latencyUs?.p99 ?? NaN) / 1000,
            lost: load.lost,
            errors: load.errors,
            otherCores: noise.otherCores(),
          };
          samples.push(s);
          console.log(
            `r${round} ${c.name.padEnd(10)} ${String(s.rps).padStart(7)} req/s  ${f(s.cpuUs, 2)} µs/call  ` +
              `p99 ${f(s.p99Ms, 2)} ms  other ${f(s.otherCores, 2)} cores` +
              (s.lost + s.errors > 0 ? `  lost ${s.lost} errors ${s.errors}` : ""),
          );
        } finally {
          await proxy.stop();
        }
      }
    }
    console.log(
      `\n${familyName} ${mode} loop, ${rounds} rounds: min / median (ratio to the relay of each round)`,
    );
    for (const c of configs) {
      const mine = samples.filter((s) => s.name === c.name);
      const ratios = mine.map((s) => {
        const r = samples.find((x) => x.round === s.round && x.name === "relay");
        return r === undefined ? NaN : s.rps / r.rps;
      });
      const cpu = mine.map((s) => s.cpuUs);
      console.log(
        `${c.name.padEnd(10)} ${String(Math.round(median(mine.map((s) => s.rps)))).padStart(7)} req/s  ` +
          `${f(median(ratios), 3)}× relay  CPU ${f(Math.min(...cpu), 2)} / ${f(median(cpu), 2)} µs/call  ` +
          `p99 ${f(median(mine.map((s) => s.p99Ms)), 2)} ms`,
      );
    }
    if (trees.length >= 2) {
      const [a, b] = trees;
      const pairs = samples.filter((s) => s.name === a!.name).flatMap((s) => {
        const o = samples.find((x) => x.round === s.round && x.name === b!.name);
        return o === undefined ? [] : [{ rps: s.rps / o.rps, cpu: s.cpuUs / o.cpuUs }];
      });
      console.log(
        `paired ${a!.name}/${b!.name} per round: CPU/call ${pairs.map((p) => f(p.cpu, 3)).join(" ")} ` +
          `(median ×${f(median(pairs.map((p) => p.cpu)), 3)}), req/s median ×${
            f(median(pairs.map((p) => p.rps)), 3)
          }`,
      );
    }
    if (values.json !== undefined) Deno.writeTextFileSync(values.json, JSON.stringify(samples, null, 1));
  } finally {
    await rpcServer.stop();
    await stopAll();
  }
}
