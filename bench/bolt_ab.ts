/**
 * Paired A/B of meshctl source trees on the bolt bench, beside the raw Deno relay: every round runs the
 * relay and each tree in turn (A B … relay, A B … relay, …) against one bolt server, so a machine whose
 * speed drifts moves all of them together. Placement as `bench/run.ts`: load generator on core 0, the
 * proxy and the bolt server on core 1, a fresh proxy per run. Reports per run and as medians: req/s, the
 * ratio to the relay of the same round, the proxy's CPU µs per request (utime+stime from /proc over the
 * run ÷ responses; one request is one frame each way) and p99.
 *
 *   deno run -A bench/bolt_ab.ts [--rounds 5] [--duration 6] [--warmup 2] [--mode closed|open]
 *     [--connections 50] [--inflight 8] [--rate 2000] [--no-relay] [--json FILE] NAME=TREE...
 *
 * TREE is a directory with meshctl's main.ts (a checkout of the commit to compare, e.g. made with
 * `git archive <commit> | tar -x -C DIR`); meshctl runs with the RUN_FLAGS of that tree's Makefile. Open loop defaults to 2000 req/s over 200 connections.
 */
import { parseArgs } from "node:util";
import { meshctlYaml } from "./_configs.ts";
import { BENCH_DIR, DENO, LOAD_CORE, MESHCTL_FLAGS, PROXY_CORE, waitReady } from "./_harness.ts";
import { freePort, installSignalHandlers, run, type Server, start, stopAll, treeCpuMicros } from "./_proc.ts";
import { BOLT_REQUEST, FrameBuffer, readU16, readU32, writeAll } from "./_bolt_frames.ts";
import type { LoadResult } from "./bolt_load.ts";

interface Sample {
  round: number;
  name: string;
  rps: number;
  cpuUs: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  errors: number;
}

async function boltOk(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const req = BOLT_REQUEST.slice();
    req.set([0, 0, 0x12, 0x34], 5);
    await writeAll(conn, req);
    const rx = new FrameBuffer();
    let ok: boolean | undefined;
    const deadline = performance.now() + 1000;
    while (ok === undefined && performance.now() < deadline) {
      const n = await conn.read(rx.space());
      if (n === null) return false;
      rx.commit(n);
      rx.frames((b, off) => {
        ok ??= b[off + 1] === 0 && readU32(b, off + 5) === 0x1234 && readU16(b, off + 10) === 0;
      });
    }
    return ok ?? false;
  } catch {
    return false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

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

if (import.meta.main) {
  installSignalHandlers();
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "6" },
      warmup: { type: "string", default: "2" },
      mode: { type: "string", default: "closed" },
      connections: { type: "string" },
      inflight: { type: "string", default: "8" },
      rate: { type: "string", default: "2000" },
      "no-relay": { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const trees = positionals.map((p) => {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new TypeError(`Cannot parse "${p}": expected NAME=TREE`);
    return { name: p.slice(0, eq), dir: p.slice(eq + 1).replace(/\/$/, "") };
  });
  const mode = values.mode === "open" ? "open" : "closed";
  const connections = values.connections ?? (mode === "open" ? "200" : "50");
  const dir = Deno.makeTempDirSync({ prefix: "bolt_ab_" });
  const serverPort = freePort();
  const boltServer = start("bolt server", [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${BENCH_DIR}bolt_server.ts`,
    `127.0.0.1:${serverPort}`,
  ], { core: PROXY_CORE });
  const samples: Sample[] = [];
  try {
    if (await waitReady(boltServer, () => boltOk(serverPort), 8000) !== undefined) {
      throw new Error("bolt server is not serving");
    }
    const configs: { name: string; start: (port: number) => Server }[] = [];
    for (const t of trees) {
      configs.push({
        name: t.name,
        start: (port) => {
          const conf = `${dir}/${t.name}.yaml`;
          Deno.writeTextFileSync(
            conf,
            meshctlYaml({
              listenPort: port,
              adminPort: freePort(),
              upstreamPort: serverPort,
              protocol: "bolt",
            }),
          );
          return start(t.name, [DENO, "run", ...treeFlags(t.dir), `${t.dir}/main.ts`, "serve", conf], {
            core: PROXY_CORE,
            env: { MESHCTL_LOG_LEVEL: "error", NO_COLOR: "1" },
          });
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
        const proxy = c.start(port);
        try {
          const nr = await waitReady(proxy, () => boltOk(port), 8000);
          if (nr !== undefined) throw new Error(`${c.name} is not serving: ${nr}\n${proxy.output()}`);
          const modeArgs = mode === "open"
            ? ["--mode", "open", "--rate", values.rate!, "--connections", connections]
            : ["--mode", "closed", "--connections", connections, "--inflight", values.inflight!];
          const argv = [
            DENO,
            "run",
            "--no-prompt",
            "--allow-net=127.0.0.1",
            `${BENCH_DIR}bolt_load.ts`,
            "--target",
            `127.0.0.1:${port}`,
            ...modeArgs,
            "--warmup",
            values.warmup!,
            "--duration",
            values.duration!,
          ];
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
            cpuUs: (cpu1 - cpu0) / Math.max(1, load.totalReceived),
            p50Ms: (load.latencyUs?.p50 ?? NaN) / 1000,
            p99Ms: (load.latencyUs?.p99 ?? NaN) / 1000,
            lost: load.lost,
            errors: load.errors,
          };
          samples.push(s);
          console.log(
            `r${round} ${c.name.padEnd(10)} ${String(s.rps).padStart(7)} req/s  ${f(s.cpuUs, 2)} µs/req  ` +
              `p50 ${f(s.p50Ms, 2)} ms  p99 ${f(s.p99Ms, 2)} ms` +
              (s.lost + s.errors > 0 ? `  lost ${s.lost} errors ${s.errors}` : ""),
          );
        } finally {
          await proxy.stop();
        }
      }
    }
    console.log("\nmedians (ratio to the relay within each round, then the median of those):");
    for (const c of configs) {
      const mine = samples.filter((s) => s.name === c.name);
      const ratios = mine.map((s) => {
        const r = samples.find((x) => x.round === s.round && x.name === "relay");
        return r === undefined ? NaN : s.rps / r.rps;
      });
      console.log(
        `${c.name.padEnd(10)} ${String(Math.round(median(mine.map((s) => s.rps)))).padStart(7)} req/s  ` +
          `${f(median(ratios), 3)}× relay  ${f(median(mine.map((s) => s.cpuUs)), 2)} µs/req  ` +
          `p99 ${f(median(mine.map((s) => s.p99Ms)), 2)} ms`,
      );
    }
    if (trees.length >= 2) {
      const [a, b] = trees;
      const pairs = samples.filter((s) => s.name === a!.name).map((s) => {
        const o = samples.find((x) => x.round === s.round && x.name === b!.name)!;
        return { rps: s.rps / o.rps, cpu: s.cpuUs / o.cpuUs };
      });
      console.log(
        `paired ${a!.name}/${b!.name}: req/s ×${f(median(pairs.map((p) => p.rps)), 3)}, ` +
          `CPU/req ×${f(median(pairs.map((p) => p.cpu)), 3)}`,
      );
    }
    if (values.json !== undefined) Deno.writeTextFileSync(values.json, JSON.stringify(samples, null, 1));
  } finally {
    await boltServer.stop();
    await stopAll();
  }
}
