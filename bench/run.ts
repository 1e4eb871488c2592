/**
 * `make bench`: meshctl side by side with nginx, HAProxy and a raw Deno TCP relay (HTTP/1.1; HTTP/2 and
 * gRPC in `_h2.ts`; HTTPS termination beside nginx in `_https.ts`), and with a direct connection and the raw relay (bolt and dubbo), and
 * meshctl's own worker scaling (`--concurrency 1` vs `2`, in `_workers.ts`), following
 * /work/shared/notes/performance.md:
 * load generator on core 0, proxy (one worker) and origin on core 1, a 2 s warm-up on a freshly
 * started proxy, interleaved rounds, medians with min–max, ratios within the same round.
 *
 *   deno run -A bench/run.ts [--rounds 3] [--duration 10] [--warmup 2] [--only http|http2|https|bolt|dubbo|workers] [--quick]
 *
 * Writes bench/RESULTS.md (overwritten) and the raw per-round data to bench/out/<timestamp>.json.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import * as configs from "./_configs.ts";
import {
  freePort,
  installSignalHandlers,
  NoiseMeter,
  onInterruptCleanup,
  run,
  type Server,
  sleep,
  start,
  stopAll,
  treeCpuMicros,
  treePeakRssKiB,
  treeRssKiB,
  versionOf,
} from "./_proc.ts";
import { BOLT_REQUEST, FrameBuffer, readU16, readU32, writeAll } from "./_bolt_frames.ts";
import type { LoadResult } from "./bolt_load.ts";
import { DUBBO_REQUEST, frameLength as dubboFrameLength, readId as dubboReadId } from "./_dubbo_frames.ts";
import { fmt, fmtRatio, fmtSpread, type Spread, spread } from "./_stats.ts";
import { type H2Sample, http2Commands, http2Sections, http2Targets, runHttp2 } from "./_h2.ts";
import { httpsCommands, type HttpsResult, httpsSections, httpsTargets, runHttps } from "./_https.ts";
import {
  runWorkers,
  workersCommands,
  type WorkersSample,
  workersSections,
  workersTargets,
} from "./_workers.ts";
import {
  BENCH_DIR,
  check,
  DENO,
  httpStatus,
  lastLines,
  LOAD_CORE,
  meshctlArgv,
  NOISE_CORES,
  noiseNote,
  parseWrk,
  PROXY_CORE,
  READY_TIMEOUT_MS,
  round2,
  startNginxOrigin,
  type Target,
  waitReady,
  withTimeout,
} from "./_harness.ts";

// === Options ===

/** The scenario families; all run unless `--only` picks one. */
const PARTS = ["http", "http2", "https", "bolt", "dubbo", "workers"] as const;
type Part = typeof PARTS[number];

function includes(opts: Options, part: Part): boolean {
  return opts.only === undefined || opts.only === part;
}

interface Options {
  rounds: number;
  durationS: number;
  warmupS: number;
  only: Part | undefined;
  quick: boolean;
  boltRate: number;
  boltConnections: number;
  boltMaxConnections: number;
  boltMaxInflight: number;
  /** Idle keep-alive connections opened for the memory-per-connection measurement. */
  idleConnections: number;
  /** h2load client connections and streams in flight per connection (HTTP/2). */
  h2Connections: number;
  h2Streams: number;
  /** wrk's keep-alive connections in the workers family. */
  workerConnections: number;
  /** Profile meshctl (V8 CPU profiler) into this directory; its figures are then not for comparison. */
  cpuProfDir: string | undefined;
  argv: string[];
}

const HELP = `deno run -A bench/run.ts [options]

  --rounds N            interleaved rounds (default 3)
  --duration S          measured seconds per run (default 10)
  --warmup S            warm-up seconds on each freshly started proxy (default 2)
  --only http|http2|https|bolt|dubbo|workers
                        run one part only: HTTP/1.1 (wrk), HTTP/2 and gRPC (h2load), HTTPS termination
                        (wrk keep-alive, full handshakes), bolt, dubbo, or meshctl's worker scaling
                        (--concurrency 1 vs 2; also \`make bench-workers\`)
  --quick               smoke run: 1 round, 3 s
  --bolt-rate R         open-loop RPC rate (bolt and dubbo), req/s (default 2000)
  --bolt-connections N  open-loop RPC connections (default 200)
  --bolt-max-connections N, --bolt-max-inflight N
                        closed-loop RPC max-throughput run (default 50 connections × 8 in flight)
  --idle-connections N  kept-alive idle connections for the memory-per-connection figure (default 3000)
  --h2-connections N, --h2-streams N
                        h2load connections × streams in flight each (default 10 × 5)
  --worker-connections N
                        wrk keep-alive connections in the workers part (default 64)
  --cpu-prof DIR        run meshctl under V8's CPU profiler (a .cpuprofile per run in DIR; summarise
                        with bench/cpuprof_top.ts). Profiling slows meshctl: not for comparisons`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      "bolt-rate": { type: "string", default: "2000" },
      "bolt-connections": { type: "string", default: "200" },
      "bolt-max-connections": { type: "string", default: "50" },
      "bolt-max-inflight": { type: "string", default: "8" },
      "idle-connections": { type: "string", default: "3000" },
      "h2-connections": { type: "string", default: "10" },
      "h2-streams": { type: "string", default: "5" },
      "worker-connections": { type: "string", default: "64" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const num = (name: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      console.error(`bench: --${name} must be a positive number, got "${v}"\n\n${HELP}`);
      Deno.exit(2);
    }
    return n;
  };
  if (values.only !== undefined && !(PARTS as readonly string[]).includes(values.only)) {
    console.error(`bench: --only must be one of ${PARTS.join(", ")}, got "${values.only}"`);
    Deno.exit(2);
  }
  return {
    rounds: Math.round(num("rounds", values.rounds, values.quick ? 1 : 3)),
    durationS: num("duration", values.duration, values.quick ? 3 : 10),
    warmupS: num("warmup", values.warmup, 2),
    only: values.only as Part | undefined,
    quick: values.quick,
    boltRate: num("bolt-rate", values["bolt-rate"], 2000),
    boltConnections: Math.round(num("bolt-connections", values["bolt-connections"], 200)),
    boltMaxConnections: Math.round(num("bolt-max-connections", values["bolt-max-connections"], 50)),
    boltMaxInflight: Math.round(num("bolt-max-inflight", values["bolt-max-inflight"], 8)),
    idleConnections: Math.round(num("idle-connections", values["idle-connections"], 3000)),
    h2Connections: Math.round(num("h2-connections", values["h2-connections"], 10)),
    h2Streams: Math.round(num("h2-streams", values["h2-streams"], 5)),
    workerConnections: Math.round(num("worker-connections", values["worker-connections"], 64)),
    cpuProfDir: values["cpu-prof"] === undefined ? undefined : resolve(values["cpu-prof"]),
    argv,
  };
}

// === Probes: is a proxy serving? ===

/** One bolt request over a fresh connection; true when a status-0 response with the same id comes back. */
async function boltOk(port: number, timeoutMs: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  const attempt = async () => {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const req = BOLT_REQUEST.slice();
    req.set([0, 0, 0x12, 0x34], 5); // id 0x1234
    await writeAll(conn, req);
    const rx = new FrameBuffer();
    let ok: boolean | undefined;
    while (ok === undefined) {
      const n = await conn.read(rx.space());
      if (n === null) return false;
      rx.commit(n);
      rx.frames((b, off) => {
        ok ??= b[off + 1] === 0 && readU32(b, off + 5) === 0x1234 && readU16(b, off + 10) === 0;
      });
    }
    return ok;
  };
  try {
    return (await withTimeout(attempt().catch(() => false), timeoutMs)) ?? false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/**
 * One dubbo request over a fresh connection; true when a status-20 response with the same id comes back.
 */
async function dubboOk(port: number, timeoutMs: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  const attempt = async () => {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const req = DUBBO_REQUEST.slice();
    req.set([0, 0, 0, 0, 0, 0, 0x12, 0x34], 4); // id 0x1234
    await writeAll(conn, req);
    const buf = new Uint8Array(65536);
    let have = 0;
    for (;;) {
      const n = await conn.read(buf.subarray(have));
      if (n === null) return false;
      have += n;
      const len = dubboFrameLength(buf, 0, have);
      if (len > 0) return buf[3] === 20 && dubboReadId(buf, 0) === 0x1234;
      if (have === buf.length) return false;
    }
  };
  try {
    return (await withTimeout(attempt().catch(() => false), timeoutMs)) ?? false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

// === Proxies under test ===

interface Proxy {
  name: string;
  /** Starts a fresh instance listening on `port` in front of `upstreamPort`. */
  start(dir: string, port: number, upstreamPort: number): Server;
}

function nginxProxy(): Proxy {
  return {
    name: "nginx",
    start(dir, port, upstreamPort) {
      const conf = `${dir}/nginx.conf`;
      Deno.writeTextFileSync(conf, configs.proxyNginx(dir, port, upstreamPort));
      return start("nginx", ["nginx", "-p", dir, "-e", `${dir}/nginx.error.log`, "-c", conf], {
        core: PROXY_CORE,
      });
    },
  };
}

function haproxyProxy(): Proxy {
  return {
    name: "HAProxy",
    start(dir, port, upstreamPort) {
      const conf = `${dir}/haproxy.cfg`;
      Deno.writeTextFileSync(conf, configs.proxyHaproxy(dir, port, upstreamPort));
      return start("HAProxy", ["haproxy", "-db", "-f", conf], { core: PROXY_CORE });
    },
  };
}

function relayProxy(): Proxy {
  return {
    name: "Deno raw TCP relay",
    start(_dir, port, upstreamPort) {
      return start("relay", [
        DENO,
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        `${BENCH_DIR}tcp_relay.ts`,
        `127.0.0.1:${port}`,
        `127.0.0.1:${upstreamPort}`,
      ], { core: PROXY_CORE });
    },
  };
}

function meshctlProxy(protocol: "http" | "bolt" | "dubbo", cpuProfDir: string | undefined): Proxy {
  return {
    name: "meshctl",
    start(dir, port, upstreamPort) {
      const conf = `${dir}/meshctl-${protocol}.yaml`;
      const yaml = configs.meshctlYaml({ listenPort: port, adminPort: freePort(), upstreamPort, protocol });
      Deno.writeTextFileSync(conf, yaml);
      return start("meshctl", meshctlArgv(conf, cpuProfDir), {
        core: PROXY_CORE,
        env: { MESHCTL_LOG_LEVEL: "error", NO_COLOR: "1" },
      });
    },
  };
}

// === HTTP/1.1 ===

interface HttpSample {
  round: number;
  size: "5 B" | "64 KiB";
  config: string;
  /** undefined when measured; otherwise why not (e.g. "not serving"). */
  na?: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  requests?: number;
  socketErrors?: number;
  non2xx?: number;
  cpuUsPerReq?: number;
  peakRssMiB?: number;
  /** Cores' worth of CPU other processes used during the measured run (noise). */
  otherCores?: number;
  command?: string;
}

function wrkArgv(port: number, path: string, seconds: number): string[] {
  return ["wrk", "-t1", "-c50", `-d${seconds}s`, "--latency", `http://127.0.0.1:${port}${path}`];
}

interface Context {
  opts: Options;
  dir: string;
  commands: Map<string, string>;
  idle: IdleSample[];
}

async function measureHttp(
  ctx: Context,
  proxy: Proxy,
  round: number,
  size: HttpSample["size"],
  originPort: number,
): Promise<HttpSample> {
  const path = size === "5 B" ? "/" : "/big";
  const sample: HttpSample = { round, size, config: proxy.name };
  const port = freePort();
  const server = proxy.start(ctx.dir, port, originPort);
  try {
    ctx.commands.set(proxy.name, server.argv.join(" "));
    const notReady = await waitReady(
      server,
      async () => (await httpStatus(port, path, 1000)) === 200,
      READY_TIMEOUT_MS,
    );
    if (notReady !== undefined) {
      sample.na = "not serving";
      console.log(`    ${proxy.name}: n/a (not serving: ${notReady})`);
      if (server.output().trim() !== "") console.log(lastLines(server.output(), 6));
      return sample;
    }
    const bound = (s: number) => s * 1000 + 15000;
    await run(wrkArgv(port, path, ctx.opts.warmupS), bound(ctx.opts.warmupS), { core: LOAD_CORE });
    const cpu0 = treeCpuMicros(server.pid);
    const argv = wrkArgv(port, path, ctx.opts.durationS);
    sample.command = `taskset -c ${LOAD_CORE} ${argv.join(" ")}`;
    const noise = new NoiseMeter();
    const res = await run(argv, bound(ctx.opts.durationS), { core: LOAD_CORE });
    const cpu1 = treeCpuMicros(server.pid);
    sample.otherCores = round2(noise.otherCores());
    sample.peakRssMiB = treePeakRssKiB(server.pid) / 1024;
    const w = parseWrk(res.output);
    if (res.timedOut || w === undefined) {
      sample.na = res.timedOut ? "load run timed out" : "wrk failed";
      console.log(`    ${proxy.name}: n/a (${sample.na})\n${lastLines(res.output, 6)}`);
      return sample;
    }
    Object.assign(sample, w);
    if (server.hasExited()) sample.na = "proxy exited during the run";
    sample.cpuUsPerReq = w.requests > 0 ? (cpu1 - cpu0) / w.requests : undefined;
    console.log(
      `    ${proxy.name.padEnd(20)} ${fmt(w.rps).padStart(7)} req/s  p50 ${fmt(w.p50Ms)} ms  p99 ${
        fmt(w.p99Ms)
      } ms  ` +
        `${fmt(sample.cpuUsPerReq ?? NaN)} µs/req  RSS ${fmt(sample.peakRssMiB)} MiB` +
        (w.socketErrors + w.non2xx > 0 ? `  errors ${w.socketErrors} non-2xx ${w.non2xx}` : "") +
        noiseNote(sample.otherCores) +
        (sample.na ? `  (${sample.na})` : ""),
    );
    return sample;
  } finally {
    await server.stop();
  }
}

// === Memory per idle connection ===

interface IdleSample {
  round: number;
  config: string;
  na?: string;
  connections?: number;
  rssBeforeMiB?: number;
  rssAfterMiB?: number;
  kibPerConnection?: number;
}

/** One GET on a fresh connection, answer read whole; the connection stays open (keep-alive). */
async function oneRequest(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: bench\r\n\r\n"));
  const buf = new Uint8Array(4096);
  let text = "";
  while (!/\r\n\r\n[\s\S]{5}$/.test(text)) { // the origin's body is 5 bytes
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed after ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return conn;
}

/**
 * RSS growth per kept-alive idle connection: a fresh proxy serves one request on each of N connections
 * (so every per-connection structure exists), then they sit idle; (RSS after − RSS before) ÷ N.
 */
async function measureIdle(
  ctx: Context,
  proxy: Proxy,
  round: number,
  originPort: number,
): Promise<IdleSample> {
  const sample: IdleSample = { round, config: proxy.name };
  const port = freePort();
  const server = proxy.start(ctx.dir, port, originPort);
  const conns: Deno.TcpConn[] = [];
  try {
    const notReady = await waitReady(
      server,
      async () => (await httpStatus(port, "/", 1000)) === 200,
      READY_TIMEOUT_MS,
    );
    if (notReady !== undefined) {
      sample.na = "not serving";
      return sample;
    }
    for (let i = 0; i < 200; i++) (await oneRequest(port)).close(); // warm: code paths compiled, pools filled
    await sleep(1000);
    const before = treeRssKiB(server.pid);
    const n = ctx.opts.idleConnections;
    for (let i = 0; i < n; i += 100) {
      conns.push(...await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => oneRequest(port))));
    }
    await sleep(2000); // idle
    const after = treeRssKiB(server.pid);
    Object.assign(sample, {
      connections: conns.length,
      rssBeforeMiB: before / 1024,
      rssAfterMiB: after / 1024,
      kibPerConnection: (after - before) / conns.length,
    });
    console.log(
      `    ${proxy.name.padEnd(20)} ${conns.length} idle connections: RSS ${fmt(before / 1024)} → ${
        fmt(after / 1024)
      } MiB, ${fmt(sample.kibPerConnection!)} KiB per connection`,
    );
    return sample;
  } catch (e) {
    sample.na = `failed: ${e instanceof Error ? e.message : e}`;
    console.log(`    ${proxy.name}: n/a (${sample.na})`);
    return sample;
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await server.stop();
  }
}

async function runHttp(ctx: Context): Promise<HttpSample[]> {
  console.log("\n== HTTP/1.1: wrk -t1 -c50 --latency (core 0) → proxy (core 1) → origin nginx (core 1) ==");
  const origin = await startNginxOrigin(ctx);
  const samples: HttpSample[] = [];
  if (typeof origin === "string") {
    console.log(`${origin}; skipping HTTP`);
    return samples;
  }
  const originPort = origin.port;
  try {
    const proxies = [nginxProxy(), haproxyProxy(), relayProxy(), meshctlProxy("http", ctx.opts.cpuProfDir)];
    const notServing = new Set<string>();
    for (let round = 1; round <= ctx.opts.rounds; round++) {
      for (const size of ["5 B", "64 KiB"] as const) {
        console.log(`  round ${round}/${ctx.opts.rounds}, body ${size}`);
        for (const proxy of proxies) {
          if (notServing.has(proxy.name)) {
            console.log(`    ${proxy.name}: n/a (not serving, skipped)`);
            samples.push({ round, size, config: proxy.name, na: "not serving" });
            continue;
          }
          const s = await measureHttp(ctx, proxy, round, size, originPort);
          if (s.na === "not serving") notServing.add(proxy.name);
          samples.push(s);
        }
      }
      console.log(`  round ${round}/${ctx.opts.rounds}, memory per idle connection`);
      for (const proxy of proxies) {
        if (!notServing.has(proxy.name)) ctx.idle.push(await measureIdle(ctx, proxy, round, originPort));
      }
    }
  } finally {
    await origin.server.stop();
  }
  return samples;
}

// === RPC: bolt and dubbo ===

/** An RPC scenario family: its test server, load generator and readiness probe. */
interface RpcFamily {
  part: "bolt" | "dubbo";
  /** bench/<server>.ts: a raw responder with a precomputed reply. */
  serverScript: string;
  /** bench/<load>.ts: an open/closed-loop load generator printing a `LoadResult`. */
  loadScript: string;
  probe(port: number, timeoutMs: number): Promise<boolean>;
}

const BOLT: RpcFamily = {
  part: "bolt",
  serverScript: "bolt_server.ts",
  loadScript: "bolt_load.ts",
  probe: boltOk,
};

const DUBBO: RpcFamily = {
  part: "dubbo",
  serverScript: "dubbo_server.ts",
  loadScript: "dubbo_load.ts",
  probe: dubboOk,
};

interface RpcSample {
  round: number;
  kind: "open" | "max";
  config: string;
  na?: string;
  load?: LoadResult;
  cpuUsPerReq?: number;
  peakRssMiB?: number;
  otherCores?: number;
  command?: string;
}

function rpcLoadArgv(ctx: Context, family: RpcFamily, port: number, kind: "open" | "max"): string[] {
  const o = ctx.opts;
  const mode = kind === "open"
    ? ["--mode", "open", "--rate", String(o.boltRate), "--connections", String(o.boltConnections)]
    : [
      "--mode",
      "closed",
      "--connections",
      String(o.boltMaxConnections),
      "--inflight",
      String(o.boltMaxInflight),
    ];
  return [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${BENCH_DIR}${family.loadScript}`,
    "--target",
    `127.0.0.1:${port}`,
    ...mode,
    "--warmup",
    String(o.warmupS),
    "--duration",
    String(o.durationS),
  ];
}

async function measureRpc(
  ctx: Context,
  family: RpcFamily,
  proxy: Proxy | undefined,
  round: number,
  kind: "open" | "max",
  serverPort: number,
): Promise<RpcSample> {
  const name = proxy?.name ?? "direct (no proxy)";
  const sample: RpcSample = { round, kind, config: name };
  let server: Server | undefined;
  try {
    let port = serverPort;
    if (proxy !== undefined) {
      port = freePort();
      server = proxy.start(ctx.dir, port, serverPort);
      ctx.commands.set(`${family.part} ${proxy.name}`, server.argv.join(" "));
      const s = server;
      const notReady = await waitReady(s, () => family.probe(port, 1000), READY_TIMEOUT_MS);
      if (notReady !== undefined) {
        sample.na = "not serving";
        console.log(`    ${name}: n/a (not serving: ${notReady})`);
        if (s.output().trim() !== "") console.log(lastLines(s.output(), 6));
        return sample;
      }
    }
    const argv = rpcLoadArgv(ctx, family, port, kind);
    sample.command = `taskset -c ${LOAD_CORE} ${argv.join(" ")}`;
    const cpu0 = server ? treeCpuMicros(server.pid) : 0;
    const noise = new NoiseMeter();
    const res = await run(argv, (ctx.opts.warmupS + ctx.opts.durationS) * 1000 + 20000, { core: LOAD_CORE });
    const cpu1 = server ? treeCpuMicros(server.pid) : 0;
    sample.otherCores = round2(noise.otherCores());
    if (server) sample.peakRssMiB = treePeakRssKiB(server.pid) / 1024;
    const line = res.output.split("\n").find((l) => l.startsWith("{"));
    if (res.timedOut || line === undefined) {
      sample.na = res.timedOut ? "load run timed out" : "load generator failed";
      console.log(`    ${name}: n/a (${sample.na})\n${lastLines(res.output, 6)}`);
      return sample;
    }
    const load = JSON.parse(line) as LoadResult;
    sample.load = load;
    if (load.error) sample.na = load.error;
    if (server?.hasExited()) sample.na = "proxy exited during the run";
    if (server && load.totalReceived > 0) sample.cpuUsPerReq = (cpu1 - cpu0) / load.totalReceived;
    const l = load.latencyUs;
    console.log(
      `    ${name.padEnd(20)} ${fmt(load.achievedRps).padStart(7)} req/s  ` +
        (l
          ? `p50 ${fmt(l.p50 / 1000)} ms  p99 ${fmt(l.p99 / 1000)} ms  p99.9 ${fmt(l.p999 / 1000)} ms  `
          : "") +
        (sample.cpuUsPerReq !== undefined ? `${fmt(sample.cpuUsPerReq)} µs/req  ` : "") +
        (sample.peakRssMiB !== undefined ? `RSS ${fmt(sample.peakRssMiB)} MiB` : "") +
        (load.lost + load.errors > 0 ? `  lost ${load.lost} errors ${load.errors}` : "") +
        noiseNote(sample.otherCores) +
        (sample.na ? `  (${sample.na})` : ""),
    );
    return sample;
  } finally {
    await server?.stop();
  }
}

async function runRpc(ctx: Context, family: RpcFamily): Promise<RpcSample[]> {
  const o = ctx.opts;
  const part = family.part;
  console.log(
    `\n== ${part}: open loop ${o.boltRate} req/s over ${o.boltConnections} connections, then closed loop ` +
      `${o.boltMaxConnections} conns × ${o.boltMaxInflight} in flight (client core 0; proxy + server core 1) ==`,
  );
  const serverPort = freePort();
  const rpcServer = start(`${part} server`, [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${BENCH_DIR}${family.serverScript}`,
    `127.0.0.1:${serverPort}`,
  ], { core: PROXY_CORE });
  const samples: RpcSample[] = [];
  try {
    ctx.commands.set(`${part} server`, rpcServer.argv.join(" "));
    const notReady = await waitReady(rpcServer, () => family.probe(serverPort, 1000), 8000);
    if (notReady !== undefined) {
      console.log(
        `${part} server is not serving (${notReady}); skipping ${part}\n${lastLines(rpcServer.output(), 10)}`,
      );
      return samples;
    }
    const proxies: (Proxy | undefined)[] = [undefined, relayProxy(), meshctlProxy(part, o.cpuProfDir)];
    const notServing = new Set<string>();
    for (const kind of ["open", "max"] as const) {
      for (let round = 1; round <= o.rounds; round++) {
        console.log(`  ${kind === "open" ? "open loop" : "max throughput"}, round ${round}/${o.rounds}`);
        for (const proxy of proxies) {
          const name = proxy?.name ?? "direct (no proxy)";
          if (notServing.has(name)) {
            console.log(`    ${name}: n/a (not serving, skipped)`);
            samples.push({ round, kind, config: name, na: "not serving" });
            continue;
          }
          const s = await measureRpc(ctx, family, proxy, round, kind, serverPort);
          if (s.na === "not serving") notServing.add(name);
          samples.push(s);
        }
      }
    }
  } finally {
    await rpcServer.stop();
  }
  return samples;
}

// === Report ===

/** Cores' worth of CPU other processes (outside this harness) use over `ms`. */
async function busyCores(ms: number): Promise<number> {
  const meter = new NoiseMeter();
  await sleep(ms);
  return meter.otherCores();
}

/** The busiest processes right now (for the "machine was busy" warning). */
function topProcesses(): string {
  const out = versionOf([
    "sh",
    "-c",
    "ps -eo pcpu=,args= --sort=-pcpu | head -3 | cut -c1-100 | tr '\\n' ';'",
  ]);
  return out.replace(/\s+/g, " ").trim();
}

interface MachineFacts {
  date: string;
  /** Cores busy with other work during the second before the run. */
  busyBefore: number;
  busyNote?: string;
  nproc: number;
  cpu: string;
  kernel: string;
  deno: string;
  nginx: string;
  haproxy: string;
  wrk: string;
  h2load: string;
}

function machineFacts(): MachineFacts {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.trim() ?? cpu;
  } catch { /* not Linux */ }
  return {
    date: new Date().toISOString(),
    busyBefore: 0,
    nproc: navigator.hardwareConcurrency,
    cpu,
    kernel: Deno.osRelease(),
    deno: `deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    nginx: versionOf(["nginx", "-v"]),
    haproxy: versionOf(["haproxy", "-v"]),
    wrk: versionOf(["wrk", "-v"]),
    h2load: versionOf(["h2load", "--version"]),
  };
}

interface HttpRow {
  config: string;
  rps?: Spread;
  rpsRatio?: Spread;
  p50?: Spread;
  p99?: Spread;
  p99Ratio?: Spread;
  cpu?: Spread;
  cpuRatio?: Spread;
  rss?: Spread;
  errors: number;
  na?: string;
}

function httpRows(samples: HttpSample[], size: HttpSample["size"]): HttpRow[] {
  const ofSize = samples.filter((s) => s.size === size);
  const names = [...new Set(ofSize.map((s) => s.config))];
  const nginxOf = (round: number) => ofSize.find((s) => s.round === round && s.config === "nginx" && !s.na);
  const ratio = (s: HttpSample, key: "rps" | "p99Ms" | "cpuUsPerReq") => {
    const base = nginxOf(s.round)?.[key];
    const v = s[key];
    return base && v !== undefined ? v / base : undefined;
  };
  return names.map((config) => {
    const all = ofSize.filter((s) => s.config === config);
    const ok = all.filter((s) => !s.na);
    return {
      config,
      rps: spread(ok.map((s) => s.rps)),
      rpsRatio: spread(ok.map((s) => ratio(s, "rps"))),
      p50: spread(ok.map((s) => s.p50Ms)),
      p99: spread(ok.map((s) => s.p99Ms)),
      p99Ratio: spread(ok.map((s) => ratio(s, "p99Ms"))),
      cpu: spread(ok.map((s) => s.cpuUsPerReq)),
      cpuRatio: spread(ok.map((s) => ratio(s, "cpuUsPerReq"))),
      rss: spread(all.map((s) => s.peakRssMiB)),
      errors: all.reduce((n, s) => n + (s.socketErrors ?? 0) + (s.non2xx ?? 0), 0),
      na: ok.length === 0 ? all[0]?.na ?? "n/a" : undefined,
    };
  });
}

function httpTable(rows: HttpRow[]): string {
  const head =
    "| configuration | req/s | × nginx | p50 ms | p99 ms | p99 × nginx | CPU µs/req | CPU × nginx | " +
    "peak RSS MiB | errors + non-2xx |\n|---|---|---|---|---|---|---|---|---|---|\n";
  return head +
    rows.map((r) =>
      r.na
        ? `| ${r.config} | n/a (${r.na}) | | | | | | | | |`
        : `| ${r.config} | ${fmtSpread(r.rps)} | ${fmtRatio(r.rpsRatio)} | ${fmtSpread(r.p50)} | ${
          fmtSpread(r.p99)
        } | ` +
          `${fmtRatio(r.p99Ratio)} | ${fmtSpread(r.cpu)} | ${fmtRatio(r.cpuRatio)} | ${
            fmtSpread(r.rss)
          } | ${r.errors} |`
    ).join("\n");
}

interface RpcRow {
  config: string;
  rps?: Spread;
  rpsRatio?: Spread;
  p50?: Spread;
  p99?: Spread;
  p999?: Spread;
  max?: Spread;
  cpu?: Spread;
  rss?: Spread;
  lostErrors: number;
  sendLagP99?: Spread;
  na?: string;
}

function rpcRows(samples: RpcSample[], kind: "open" | "max"): RpcRow[] {
  const ofKind = samples.filter((s) => s.kind === kind);
  const names = [...new Set(ofKind.map((s) => s.config))];
  const relayOf = (round: number) =>
    ofKind.find((s) => s.round === round && s.config === "Deno raw TCP relay" && !s.na)?.load?.achievedRps;
  const ms = (v: number | undefined) => v === undefined ? undefined : v / 1000;
  return names.map((config) => {
    const all = ofKind.filter((s) => s.config === config);
    const ok = all.filter((s) => !s.na && s.load);
    return {
      config,
      rps: spread(ok.map((s) => s.load!.achievedRps)),
      rpsRatio: spread(ok.map((s) => {
        const base = relayOf(s.round);
        return base ? s.load!.achievedRps / base : undefined;
      })),
      p50: spread(ok.map((s) => ms(s.load!.latencyUs?.p50))),
      p99: spread(ok.map((s) => ms(s.load!.latencyUs?.p99))),
      p999: spread(ok.map((s) => ms(s.load!.latencyUs?.p999))),
      max: spread(ok.map((s) => ms(s.load!.latencyUs?.max))),
      cpu: spread(ok.map((s) => s.cpuUsPerReq)),
      rss: spread(all.map((s) => s.peakRssMiB)),
      lostErrors: all.reduce((n, s) => n + (s.load ? s.load.lost + s.load.errors : 0), 0),
      sendLagP99: spread(ok.map((s) => ms(s.load!.sendLagUs?.p99))),
      na: ok.length === 0 ? all[0]?.na ?? "n/a" : undefined,
    };
  });
}

function rpcOpenTable(rows: RpcRow[]): string {
  const head = "| configuration | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | lost + errors | " +
    "proxy CPU µs/req | peak RSS MiB | generator send lag p99 ms |\n|---|---|---|---|---|---|---|---|---|---|\n";
  return head +
    rows.map((r) =>
      r.na
        ? `| ${r.config} | n/a (${r.na}) | | | | | | | | |`
        : `| ${r.config} | ${fmtSpread(r.rps)} | ${fmtSpread(r.p50)} | ${fmtSpread(r.p99)} | ${
          fmtSpread(r.p999)
        } | ` +
          `${fmtSpread(r.max)} | ${r.lostErrors} | ${fmtSpread(r.cpu)} | ${fmtSpread(r.rss)} | ${
            fmtSpread(r.sendLagP99)
          } |`
    ).join("\n");
}

function rpcMaxTable(rows: RpcRow[]): string {
  const head =
    "| configuration | req/s | × relay | p50 ms | p99 ms | proxy CPU µs/req | peak RSS MiB | lost + errors |\n" +
    "|---|---|---|---|---|---|---|---|\n";
  return head +
    rows.map((r) =>
      r.na
        ? `| ${r.config} | n/a (${r.na}) | | | | | | |`
        : `| ${r.config} | ${fmtSpread(r.rps)} | ${fmtRatio(r.rpsRatio)} | ${fmtSpread(r.p50)} | ${
          fmtSpread(r.p99)
        } | ` +
          `${fmtSpread(r.cpu)} | ${fmtSpread(r.rss)} | ${r.lostErrors} |`
    ).join("\n");
}

function targets(http: HttpSample[], rpc: Record<RpcFamily["part"], RpcSample[]>, opts: Options): Target[] {
  const out: Target[] = [];
  if (includes(opts, "http")) {
    const small = httpRows(http, "5 B").find((r) => r.config === "meshctl");
    const big = httpRows(http, "64 KiB").find((r) => r.config === "meshctl");
    out.push(check("5 B: req/s ≥ 0.9× nginx", small?.rpsRatio, (v) => v >= 0.9, fmtRatio));
    out.push(check("5 B: CPU µs/req ≤ 1.3× nginx", small?.cpuRatio, (v) => v <= 1.3, fmtRatio));
    out.push(check("5 B: p99 ≤ 1.5× nginx", small?.p99Ratio, (v) => v <= 1.5, fmtRatio));
    out.push(check("64 KiB: req/s ≥ 1.0× nginx", big?.rpsRatio, (v) => v >= 1.0, fmtRatio));
    const rss = spread(http.filter((s) => s.config === "meshctl" && !s.na).map((s) => s.peakRssMiB));
    // RSS is judged on the worst run, not the median.
    out.push(
      rss === undefined
        ? {
          name: "meshctl peak RSS ≤ 80 MiB (HTTP, worst run)",
          measured: "n/a (meshctl not measured)",
          verdict: "n/a",
        }
        : {
          name: "meshctl peak RSS ≤ 80 MiB (HTTP, worst run)",
          measured: `${fmt(rss.max)} MiB`,
          verdict: rss.max <= 80 ? "pass" : "FAIL",
        },
    );
  }
  for (const part of ["bolt", "dubbo"] as const) {
    if (!includes(opts, part)) continue;
    const open = rpcRows(rpc[part], "open").find((r) => r.config === "meshctl");
    const max = rpcRows(rpc[part], "max").find((r) => r.config === "meshctl");
    out.push(
      check(
        `${part}: p99 ≤ 1 ms at ${opts.boltRate} req/s over ${opts.boltConnections} conns`,
        open?.p99,
        (v) => v <= 1,
        (s) => `${fmtSpread(s)} ms`,
      ),
    );
    out.push(check(`${part}: max throughput ≥ 0.9× raw relay`, max?.rpsRatio, (v) => v >= 0.9, fmtRatio));
  }
  return out;
}

function report(
  facts: MachineFacts,
  opts: Options,
  ctx: Context,
  samples: {
    http: HttpSample[];
    http2: H2Sample[];
    https: HttpsResult;
    bolt: RpcSample[];
    dubbo: RpcSample[];
    workers: WorkersSample[];
  },
  jsonPath: string,
): string {
  const { http, http2, https, bolt, dubbo, workers } = samples;
  const sizes = ["5 B", "64 KiB"] as const;
  const t = targets(http, { bolt, dubbo }, opts);
  const idle = spread(ctx.idle.filter((s) => s.config === "meshctl" && !s.na).map((s) => s.kibPerConnection));
  if (includes(opts, "http")) {
    t.push(
      idle === undefined
        ? { name: "memory per idle connection ≤ 16 KiB", measured: "n/a (not measured)", verdict: "n/a" }
        : {
          name: "memory per idle connection ≤ 16 KiB",
          measured: `${fmtSpread(idle)} KiB`,
          verdict: idle.median <= 16 ? "pass" : "FAIL",
        },
    );
  }
  if (includes(opts, "http2")) t.push(...http2Targets(http2));
  if (includes(opts, "https")) t.push(...httpsTargets(https));
  if (includes(opts, "workers")) t.push(...workersTargets(workers));
  const cmd = (k: string) => ctx.commands.get(k) ?? "(not started)";
  const httpWrk = http.find((s) => s.command)?.command ?? "(not run)";
  const lines: string[] = [];
  lines.push(`# meshctl side-by-side benchmark`);
  lines.push("");
  lines.push(
    "Where meshctl's time goes, what was tried and what is next: [docs/performance.md](../docs/performance.md).",
  );
  lines.push("");
  lines.push(
    `Generated by \`deno run -A bench/run.ts ${opts.argv.join(" ")}\`${
      opts.quick ? " — **quick smoke run: 1 round, not for decisions**" : ""
    }${
      opts.cpuProfDir === undefined
        ? ""
        : " — **meshctl ran under the CPU profiler: its figures are not comparable**"
    }` +
      ` on ${facts.date}. Raw per-round data: \`${jsonPath}\` (git-ignored).`,
  );
  lines.push("");
  lines.push("## Machine");
  lines.push("");
  lines.push(`- nproc: ${facts.nproc}; CPU: ${facts.cpu}; kernel: ${facts.kernel}`);
  lines.push(`- ${facts.deno}; ${facts.nginx}; ${facts.haproxy}; ${facts.wrk}; ${facts.h2load}`);
  lines.push(`- CPU busy with other work in the second before the run: ${facts.busyBefore} cores`);
  if (facts.busyNote) lines.push(`- **Warning:** ${facts.busyNote}`);
  lines.push("");
  lines.push("## Method");
  lines.push("");
  lines.push(
    `As in \`/work/shared/notes/performance.md\`: load generator pinned to core ${LOAD_CORE}, the proxy under test ` +
      `(one worker: nginx \`worker_processes 1\`, HAProxy \`nbthread 1\`, Deno single-threaded) and the origin pinned to ` +
      `core ${PROXY_CORE}. Each run starts a fresh proxy, waits until it answers (at most ${
        READY_TIMEOUT_MS / 1000
      } s, ` +
      `else "n/a (not serving)"), warms up ${opts.warmupS} s, then measures ${opts.durationS} s. Configurations are ` +
      `interleaved (A B C D A B C D …) for ${opts.rounds} round(s); tables show the median and (min–max) over rounds, ` +
      `and ratios are taken to nginx (HTTP; HAProxy for h2c → h2c, which nginx cannot proxy) or the raw relay ` +
      `(RPC max throughput) **within the same round**. ` +
      `Proxy CPU µs/req = Δ(utime+stime+cutime+cstime) of the proxy's process tree from \`/proc/PID/stat\` over the ` +
      `measured run ÷ requests completed; peak RSS = VmHWM summed over the proxy's process tree (nginx: master + ` +
      `worker). All on 127.0.0.1; every process is stopped by PID.`,
  );
  lines.push("");
  lines.push("## Commands");
  lines.push("");
  lines.push("```");
  if (includes(opts, "http") || includes(opts, "http2") || includes(opts, "https")) {
    lines.push(`# origin (/ = 5 bytes, /big = 64 KiB)\n${cmd("origin")}`);
  }
  if (includes(opts, "http")) {
    lines.push(`# proxies (configs generated into a temp dir; ports chosen at run time)`);
    for (const k of ["nginx", "HAProxy", "Deno raw TCP relay", "meshctl"]) lines.push(cmd(k));
    lines.push(
      `# load: ${opts.warmupS} s warm-up with the same command and -d${opts.warmupS}s, then\n${httpWrk}`,
    );
  }
  if (includes(opts, "http2")) lines.push(...http2Commands(ctx, http2));
  if (includes(opts, "https")) lines.push(...httpsCommands(ctx, https));
  for (const [part, rpc] of [["bolt", bolt], ["dubbo", dubbo]] as const) {
    if (!includes(opts, part)) continue;
    const load = (kind: "open" | "max") =>
      rpc.find((s) => s.kind === kind && s.command)?.command ?? "(not run)";
    lines.push(
      `# ${part}\n${cmd(`${part} server`)}\n${cmd(`${part} Deno raw TCP relay`)}\n${cmd(`${part} meshctl`)}`,
    );
    lines.push(`${load("open")}\n${load("max")}`);
  }
  if (includes(opts, "workers")) lines.push(...workersCommands(ctx, workers));
  lines.push("```");
  lines.push("");
  const runs = [
    ...http.map((x) => ({ label: `${x.size} ${x.config} r${x.round}`, otherCores: x.otherCores })),
    ...http2.filter((x) => x.requests !== undefined).map((x) => ({
      label: `h2 ${x.scenario} ${x.config} r${x.round}`,
      otherCores: x.otherCores,
    })),
    ...https.samples.map((x) => ({
      label: `https ${x.scenario} ${x.config} r${x.round}`,
      otherCores: x.otherCores,
    })),
    ...bolt.map((x) => ({ label: `${x.kind} ${x.config} r${x.round}`, otherCores: x.otherCores })),
    ...dubbo.map((x) => ({ label: `dubbo ${x.kind} ${x.config} r${x.round}`, otherCores: x.otherCores })),
    ...workers.map((x) => ({ label: `workers ${x.scenario} r${x.round}`, otherCores: x.otherCores })),
  ];
  const noisy = runs.filter((x) => (x.otherCores ?? 0) > NOISE_CORES);
  const maxOther = Math.max(0, ...runs.map((x) => x.otherCores ?? 0));
  lines.push("## Noise");
  lines.push("");
  lines.push(
    `CPU used by processes outside the harness during the measured runs: at most ${maxOther} cores; ` +
      `${noisy.length} of ${runs.length} runs above ${NOISE_CORES} cores` +
      (noisy.length > 0
        ? ` (${noisy.map((x) => `${x.label}: ${x.otherCores}`).join(", ")}). ` +
          "Other work on the machine distorts those runs, latency tails first; rerun on an idle machine before deciding."
        : "."),
  );
  lines.push("");
  lines.push("## Targets (from the issue)");
  lines.push("");
  lines.push("| target | meshctl (median, min–max) | verdict |\n|---|---|---|");
  for (const x of t) lines.push(`| ${x.name} | ${x.measured} | ${x.verdict} |`);
  if (includes(opts, "http")) {
    for (const size of sizes) {
      lines.push("");
      lines.push(`## HTTP/1.1, ${size} body (\`${size === "5 B" ? "/" : "/big"}\`)`);
      lines.push("");
      lines.push(httpTable(httpRows(http, size)));
    }
  }
  if (includes(opts, "http")) {
    lines.push("");
    lines.push(`## Memory per idle connection (${opts.idleConnections} kept-alive connections)`);
    lines.push("");
    lines.push(
      "A fresh proxy serves one request on each connection, which then stays open and idle; RSS growth of " +
        "the proxy's process tree ÷ connections (VmRSS, not the peak). Kernel socket buffers are not in RSS.",
    );
    lines.push("");
    lines.push(idleTable(ctx.idle));
  }
  if (includes(opts, "http2")) {
    lines.push("");
    lines.push(...http2Sections(ctx, http2));
  }
  if (includes(opts, "https")) {
    lines.push("");
    lines.push(...httpsSections(ctx, https));
  }
  for (const [part, rpc] of [["bolt", bolt], ["dubbo", dubbo]] as const) {
    if (!includes(opts, part)) continue;
    lines.push("");
    lines.push(`## ${part}, open loop: ${opts.boltRate} req/s over ${opts.boltConnections} connections`);
    lines.push("");
    lines.push(
      "Latency from the intended send time (no coordinated omission). The send-lag column is how late the " +
        'generator itself was; "direct" is the floor of generator + server.',
    );
    lines.push("");
    lines.push(rpcOpenTable(rpcRows(rpc, "open")));
    lines.push("");
    lines.push(
      `## ${part}, max throughput: closed loop, ${opts.boltMaxConnections} connections × ${opts.boltMaxInflight} in flight`,
    );
    lines.push("");
    lines.push(
      `Proxy and ${part} server share core 1. "direct" shows what the client and server reach without a proxy; ` +
        "a proxy close to it means the client, not the proxy, was the limit.",
    );
    lines.push("");
    lines.push(rpcMaxTable(rpcRows(rpc, "max")));
  }
  if (includes(opts, "workers")) {
    lines.push("");
    lines.push(...workersSections(ctx, workers));
  }
  lines.push("");
  return lines.join("\n");
}

function idleTable(samples: IdleSample[]): string {
  const out = ["| configuration | KiB per idle connection | RSS before → after MiB |", "|---|---|---|"];
  for (const config of [...new Set(samples.map((s) => s.config))]) {
    const ok = samples.filter((s) => s.config === config && !s.na);
    const per = spread(ok.map((s) => s.kibPerConnection));
    if (per === undefined) {
      out.push(`| ${config} | n/a | n/a |`);
      continue;
    }
    const before = spread(ok.map((s) => s.rssBeforeMiB));
    const after = spread(ok.map((s) => s.rssAfterMiB));
    out.push(`| ${config} | ${fmtSpread(per)} | ${fmt(before!.median)} → ${fmt(after!.median)} |`);
  }
  return out.join("\n");
}

// === Main ===

async function main(): Promise<number> {
  const opts = parseOptions(Deno.args);
  installSignalHandlers();
  const tools = new Set(["taskset"]);
  if (includes(opts, "http")) { for (const t of ["nginx", "haproxy", "wrk"]) tools.add(t); }
  if (includes(opts, "http2")) { for (const t of ["nginx", "haproxy", "h2load"]) tools.add(t); }
  if (includes(opts, "https")) { for (const t of ["nginx", "wrk", "openssl"]) tools.add(t); }
  if (includes(opts, "workers")) tools.add("wrk");
  for (const tool of tools) {
    if (versionOf([tool, "-v"]) === "not installed" && versionOf([tool, "-V"]) === "not installed") {
      console.error(
        `bench: ${tool} is not installed (apt-get install nginx haproxy wrk nghttp2-client util-linux openssl)`,
      );
      return 1;
    }
  }
  const facts = machineFacts();
  facts.busyBefore = Math.round((await busyCores(1000)) * 100) / 100;
  if (facts.busyBefore > 0.15) {
    facts.busyNote =
      `the machine was busy before the run (${facts.busyBefore} cores in use: ${topProcesses()}); ` +
      `other work on these cores makes the numbers noisy — rerun on an idle machine`;
    console.log(`WARNING: ${facts.busyNote}`);
  }
  console.log(`meshctl bench — ${facts.date}`);
  console.log(`${facts.nproc} cores, ${facts.cpu}, kernel ${facts.kernel}`);
  console.log(`${facts.deno}; ${facts.nginx}; ${facts.haproxy}; ${facts.wrk}; ${facts.h2load}`);
  console.log(`rounds ${opts.rounds}, warm-up ${opts.warmupS} s, measured ${opts.durationS} s per run`);
  const dir = await Deno.makeTempDir({ prefix: "meshctl-bench-" });
  onInterruptCleanup(() => Deno.removeSync(dir, { recursive: true }));
  const ctx: Context = { opts, dir, commands: new Map(), idle: [] };
  let http: HttpSample[] = [];
  let bolt: RpcSample[] = [];
  let dubbo: RpcSample[] = [];
  let http2: H2Sample[] = [];
  let https: HttpsResult = { samples: [], negotiated: [] };
  let workers: WorkersSample[] = [];
  try {
    if (includes(opts, "http")) http = await runHttp(ctx);
    if (includes(opts, "http2")) http2 = await runHttp2(ctx);
    if (includes(opts, "https")) https = await runHttps(ctx);
    if (includes(opts, "bolt")) bolt = await runRpc(ctx, BOLT);
    if (includes(opts, "dubbo")) dubbo = await runRpc(ctx, DUBBO);
    if (includes(opts, "workers")) workers = await runWorkers(ctx);
  } finally {
    await stopAll();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const outDir = `${BENCH_DIR}out`;
  await Deno.mkdir(outDir, { recursive: true });
  const stamp = facts.date.replace(/[:.]/g, "-");
  const jsonPath = `bench/out/${stamp}.json`;
  await Deno.writeTextFile(
    `${outDir}/${stamp}.json`,
    JSON.stringify(
      {
        facts,
        options: opts,
        commands: Object.fromEntries(ctx.commands),
        http,
        http2,
        https,
        bolt,
        dubbo,
        workers,
        idle: ctx.idle,
      },
      null,
      2,
    ),
  );
  const md = report(facts, opts, ctx, { http, http2, https, bolt, dubbo, workers }, jsonPath);
  await Deno.writeTextFile(`${BENCH_DIR}RESULTS.md`, md);
  // Keep the generated file `deno fmt --check`-clean (tables get aligned).
  await run([DENO, "fmt", "--quiet", `${BENCH_DIR}RESULTS.md`], 30000);
  console.log("\n" + md.slice(md.indexOf("## Noise")));
  console.log(`wrote bench/RESULTS.md and ${jsonPath}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
