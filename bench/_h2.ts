/**
 * The HTTP/2 scenario family of `make bench` (`--only http2`): h2load with h2c prior knowledge
 * (`-t1 -c10 -m5`, 50 streams in flight) on core 0 → the proxy under test → an origin, both on core 1.
 *
 * - **h2c → HTTP/1.1** (5 B and 64 KiB): nginx (`listen … http2`, `proxy_pass` with keep-alive), HAProxy
 *   (`bind … proto h2`, `http-reuse always`) and meshctl (Http2 → Http1) in front of the nginx origin.
 * - **h2c → h2c** (5 B and 64 KiB): HAProxy (`proto h2` both sides) and meshctl (Http2 → Http2) in front of
 *   the h2c origin (`bench/h2_origin.ts`). nginx cannot proxy to an h2c upstream: the table says so.
 * - **gRPC unary**: nginx (`grpc_pass`), HAProxy and meshctl in front of the same h2c origin.
 *
 * The raw Deno TCP relay to the h2c origin is the floor of every table, and the h2c origin alone (h2load
 * straight at it) shows it is not the limit. Stream windows are RFC 9113's 65,535 bytes on every hop, so a
 * 64 KiB body always crosses one. h2load has no percentiles: p50/p99 come from its `--log-file`.
 */
import * as configs from "./_configs.ts";
import {
  BENCH_DIR,
  DENO,
  lastLines,
  LOAD_CORE,
  meshctlArgv,
  noiseNote,
  PROXY_CORE,
  READY_TIMEOUT_MS,
  round2,
  type RunSettings,
  startNginxOrigin,
  type Target,
  waitReady,
  withTimeout,
} from "./_harness.ts";
import { freePort, NoiseMeter, run, type Server, start, treeCpuMicros, treePeakRssKiB } from "./_proc.ts";
import { fmt, fmtRatio, fmtSpread, type Spread, spread } from "./_stats.ts";
import { GRPC_PATH, GRPC_REPLY, GRPC_REQUEST } from "./_h2_payloads.ts";
import { defaultCodecOptions, type RequestHead, SimpleHeaderMap } from "../src/codec/mod.ts";
import { http2Codec } from "../src/codec/http2/mod.ts";
import { runReadLoop, SocketIO } from "../src/transport/mod.ts";

/** h2load `-w`: stream windows of 2^16 − 1 = 65,535 bytes (RFC 9113's default), as the peers advertise. */
const WINDOW_BITS = 16;

export interface Http2Settings extends RunSettings {
  readonly opts: RunSettings["opts"] & {
    /** h2load `-c`: client connections. */
    readonly h2Connections: number;
    /** h2load `-m`: streams in flight per connection. */
    readonly h2Streams: number;
  };
}

// === Scenarios and the configurations run in them ===

type Upstream = "h1" | "h2" | "grpc";

interface Scenario {
  readonly key: string;
  readonly title: string;
  readonly path: string;
  readonly upstream: Upstream;
  /** The response body every configuration must return (checked before and after each run). */
  readonly bodyBytes: number;
  /** The configuration ratios are taken to, within the same round. */
  readonly baseline: string;
  /** For h2c → HTTP/1.1: the h2c → h2c scenario whose relay runs are this table's floor. */
  readonly relayFrom?: string;
}

const SCENARIOS: readonly Scenario[] = [
  {
    key: "h1-small",
    title: "h2c → HTTP/1.1, 5 B body (`/`)",
    path: "/",
    upstream: "h1",
    bodyBytes: 5,
    baseline: "nginx",
    relayFrom: "h2-small",
  },
  {
    key: "h1-big",
    title: "h2c → HTTP/1.1, 64 KiB body (`/big`)",
    path: "/big",
    upstream: "h1",
    bodyBytes: 65536,
    baseline: "nginx",
    relayFrom: "h2-big",
  },
  {
    key: "h2-small",
    title: "h2c → h2c, 5 B body (`/`)",
    path: "/",
    upstream: "h2",
    bodyBytes: 5,
    baseline: "HAProxy",
  },
  {
    key: "h2-big",
    title: "h2c → h2c, 64 KiB body (`/big`, flow-controlled: crosses every 65,535-byte stream window)",
    path: "/big",
    upstream: "h2",
    bodyBytes: 65536,
    baseline: "HAProxy",
  },
  {
    key: "grpc",
    title: `gRPC unary (\`POST ${GRPC_PATH}\`, ${GRPC_REQUEST.length}-byte message each way + trailers)`,
    path: GRPC_PATH,
    upstream: "grpc",
    bodyBytes: GRPC_REPLY.length,
    baseline: "nginx",
  },
];

const NGINX_NO_H2C_UPSTREAM = "cannot proxy to an h2c upstream: `proxy_pass` speaks HTTP/1.x only, and " +
  "`grpc_pass` (h2) is for gRPC: see the gRPC table";

const RELAY = "Deno raw TCP relay (→ h2c origin)";
const DIRECT = "h2c origin alone (no proxy)";

interface Origin {
  readonly server: Server;
  readonly port: number;
}

interface Origins {
  /** The nginx HTTP/1.1 origin. */
  readonly h1: Origin;
  /** `bench/h2_origin.ts`. */
  readonly h2: Origin;
}

interface H2Config {
  readonly name: string;
  /** Why it cannot take part in this scenario, shown in the table instead of a row of numbers. */
  unsupported?(sc: Scenario): string | undefined;
  /** Whether it is measured in this scenario at all (the relay's h2c → HTTP/1.1 rows are borrowed). */
  runsIn(sc: Scenario): boolean;
  /** Its command's role in RESULTS.md. */
  role(sc: Scenario): string;
  /** Starts a fresh instance on `port` in front of `originPort`; absent: h2load goes to the origin. */
  start?(ctx: Http2Settings, sc: Scenario, port: number, originPort: number, round: number): Server;
}

const always = () => true;
const h2Only = (sc: Scenario) => sc.upstream !== "h1";

const NGINX: H2Config = {
  name: "nginx",
  unsupported: (sc) => sc.upstream === "h2" ? NGINX_NO_H2C_UPSTREAM : undefined,
  runsIn: (sc) => sc.upstream !== "h2",
  role: (sc) => sc.upstream === "grpc" ? "nginx (gRPC: grpc_pass)" : "nginx (h2c → HTTP/1.1)",
  start(ctx, sc, port, originPort) {
    const grpc = sc.upstream === "grpc";
    const name = grpc ? "nginx-grpc" : "nginx-h2";
    const conf = `${ctx.dir}/${name}.conf`;
    Deno.writeTextFileSync(
      conf,
      grpc
        ? configs.proxyNginxGrpc(ctx.dir, port, originPort)
        : configs.proxyNginxH2(ctx.dir, port, originPort),
    );
    return start(name, ["nginx", "-p", ctx.dir, "-e", `${ctx.dir}/${name}.error.log`, "-c", conf], {
      core: PROXY_CORE,
    });
  },
};

const HAPROXY: H2Config = {
  name: "HAProxy",
  runsIn: always,
  role: (sc) => sc.upstream === "h1" ? "HAProxy (h2c → HTTP/1.1)" : "HAProxy (h2c → h2c, gRPC)",
  start(ctx, sc, port, originPort) {
    const conf = `${ctx.dir}/haproxy-h2${sc.upstream === "h1" ? "-h1" : "-h2"}.cfg`;
    Deno.writeTextFileSync(conf, configs.proxyHaproxyH2(ctx.dir, port, originPort, sc.upstream !== "h1"));
    return start("HAProxy", ["haproxy", "-db", "-f", conf], { core: PROXY_CORE });
  },
};

const MESHCTL: H2Config = {
  name: "meshctl",
  runsIn: always,
  role: (sc) => sc.upstream === "h1" ? "meshctl (Http2 → Http1)" : "meshctl (Http2 → Http2)",
  start(ctx, sc, port, originPort, round) {
    const protocol = sc.upstream === "h1" ? "http2-http1" : "http2-http2";
    const conf = `${ctx.dir}/meshctl-${protocol}.yaml`;
    Deno.writeTextFileSync(
      conf,
      configs.meshctlYaml({ listenPort: port, adminPort: freePort(), upstreamPort: originPort, protocol }),
    );
    return start("meshctl", meshctlArgv(conf, ctx.opts.cpuProfDir, `meshctl-h2-${sc.key}-r${round}`), {
      core: PROXY_CORE,
      env: { MESHCTL_LOG_LEVEL: "error", NO_COLOR: "1" },
    });
  },
};

const RELAY_CONFIG: H2Config = {
  name: RELAY,
  runsIn: h2Only,
  role: () => RELAY,
  start(_ctx, _sc, port, originPort) {
    return start("relay", [
      DENO,
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      `${BENCH_DIR}tcp_relay.ts`,
      `127.0.0.1:${port}`,
      `127.0.0.1:${originPort}`,
    ], { core: PROXY_CORE });
  },
};

const DIRECT_CONFIG: H2Config = { name: DIRECT, runsIn: h2Only, role: () => DIRECT };

/** Display (and interleaving) order. */
const CONFIGS: readonly H2Config[] = [NGINX, HAPROXY, MESHCTL, RELAY_CONFIG, DIRECT_CONFIG];

// === A small h2c client on meshctl's own codec: is a proxy answering right? ===

interface H2Answer {
  status: number;
  bodyBytes: number;
  trailers: Record<string, string>;
}

interface H2Request {
  method: string;
  path: string;
  headers: [string, string][];
  body?: Uint8Array;
}

function requestFor(sc: Scenario): H2Request {
  return sc.upstream === "grpc"
    ? {
      method: "POST",
      path: sc.path,
      headers: [["content-type", "application/grpc"], ["te", "trailers"]],
      body: GRPC_REQUEST,
    }
    : { method: "GET", path: sc.path, headers: [] };
}

/** One request over a fresh h2c connection; the answer, or undefined on any failure or timeout. */
export async function h2Exchange(
  port: number,
  req: H2Request,
  timeoutMs: number,
): Promise<H2Answer | undefined> {
  let io: SocketIO | undefined;
  const attempt = async (): Promise<H2Answer> => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    io = new SocketIO(conn);
    const answer: H2Answer = { status: 0, bodyBytes: 0, trailers: {} };
    const done = Promise.withResolvers<H2Answer>();
    done.promise.catch(() => {}); // may fail before it is awaited
    const client = http2Codec.newClientConnection(
      io,
      { onUnusable: (e) => done.reject(e) },
      defaultCodecOptions,
    );
    runReadLoop(conn, client).catch(() => {}).finally(() => done.reject(new Error("connection closed")));
    const stream = client.newStream({
      onResponse(head, end) {
        answer.status = head.status;
        if (end) done.resolve(answer);
      },
      onData(chunk, end) {
        answer.bodyBytes += chunk.length;
        if (end) done.resolve(answer);
      },
      onTrailers(t) {
        t.forEach((value, name) => answer.trailers[name] = value);
        done.resolve(answer);
      },
      onReset: (e) => done.reject(e),
    });
    const head: RequestHead = {
      protocol: "Http2",
      kind: "http",
      method: req.method,
      path: req.path,
      query: "",
      host: "bench",
      headers: new SimpleHeaderMap(req.headers),
    };
    await stream.sendRequest(head, req.body === undefined);
    if (req.body !== undefined) await stream.sendData(req.body, true);
    return await done.promise;
  };
  try {
    return await withTimeout(attempt().catch(() => undefined), timeoutMs);
  } finally {
    io?.close();
  }
}

/** Why the answer is wrong for the scenario, or undefined when it is right. */
async function wrongAnswer(port: number, sc: Scenario): Promise<string | undefined> {
  const a = await h2Exchange(port, requestFor(sc), 2000);
  if (a === undefined) return "no answer";
  if (a.status !== 200) return `status ${a.status}`;
  if (a.bodyBytes !== sc.bodyBytes) return `${a.bodyBytes}-byte body, expected ${sc.bodyBytes}`;
  if (sc.upstream === "grpc" && a.trailers["grpc-status"] !== "0") {
    return `trailers ${JSON.stringify(a.trailers)}, expected grpc-status 0`;
  }
  return undefined;
}

// === h2load ===

interface H2loadResult {
  rps: number;
  /** Requests done in the measured period. */
  done: number;
  /** Requests that failed: errors, resets and non-2xx/3xx statuses (h2load's "failed"). */
  failed: number;
  non2xx: number;
}

/** Reads h2load's summary ("finished in …, N req/s", "requests: …", "status codes: …"). */
export function parseH2load(out: string): H2loadResult | undefined {
  const fin = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed/.exec(out);
  const st = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!fin || !req) return undefined;
  return {
    rps: Number(fin[1]),
    done: Number(req[1]),
    failed: Number(req[2]),
    non2xx: st ? Number(st[1]) + Number(st[2]) + Number(st[3]) : 0,
  };
}

/**
 * p50 and p99 (nearest rank, µs) of h2load's `--log-file`: one line per request, tab-separated: start time
 * (µs since the epoch), status, µs until the end of the response. Scanned as bytes: a 10 s run logs ~1M lines.
 */
export function logPercentiles(log: Uint8Array): { p50Us: number; p99Us: number; n: number } | undefined {
  let values = new Float64Array(1 << 16);
  let n = 0;
  let field = 0;
  let acc = 0;
  let digits = 0;
  for (let i = 0; i < log.length; i++) {
    const c = log[i]!;
    if (c === 0x0a) { // end of line: the third field is complete
      if (field === 2 && digits > 0) {
        if (n === values.length) {
          const grown = new Float64Array(values.length * 2);
          grown.set(values);
          values = grown;
        }
        values[n++] = acc;
      }
      field = 0;
      acc = 0;
      digits = 0;
    } else if (c === 0x09) {
      field++;
      acc = 0;
      digits = 0;
    } else if (field === 2 && c >= 0x30 && c <= 0x39) {
      acc = acc * 10 + (c - 0x30);
      digits++;
    }
  }
  if (n === 0) return undefined;
  const sorted = values.subarray(0, n).sort();
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * n) - 1)]!;
  return { p50Us: rank(0.5), p99Us: rank(0.99), n };
}

function h2loadArgv(ctx: Http2Settings, sc: Scenario, port: number, seconds: number, log?: string): string[] {
  const o = ctx.opts;
  const grpc = sc.upstream === "grpc"
    ? ["-d", `${ctx.dir}/grpc_request.bin`, "-H", "content-type: application/grpc", "-H", "te: trailers"]
    : [];
  return [
    "h2load",
    "--no-tls-proto=h2c",
    "-t1",
    `-c${o.h2Connections}`,
    `-m${o.h2Streams}`,
    `-w${WINDOW_BITS}`,
    `-D${seconds}`,
    ...grpc,
    ...(log === undefined ? [] : [`--log-file=${log}`]),
    `http://127.0.0.1:${port}${sc.path}`,
  ];
}

/** A command line as a shell would need it (arguments with spaces quoted). */
function shellLine(argv: readonly string[]): string {
  return argv.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
}

// === Measuring ===

export interface H2Sample {
  round: number;
  scenario: string;
  config: string;
  /** undefined when measured; otherwise why not. */
  na?: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  requests?: number;
  failed?: number;
  non2xx?: number;
  /** The proxy's CPU per request; undefined for the origin alone. */
  cpuUsPerReq?: number;
  /** The origin's own CPU per request over the same run (it shares the proxy's core). */
  originCpuUsPerReq?: number;
  peakRssMiB?: number;
  otherCores?: number;
  command?: string;
}

async function measure(
  ctx: Http2Settings,
  sc: Scenario,
  cfg: H2Config,
  round: number,
  origin: Origin,
): Promise<H2Sample> {
  const sample: H2Sample = { round, scenario: sc.key, config: cfg.name };
  let server: Server | undefined;
  let port = origin.port;
  try {
    if (cfg.start !== undefined) {
      port = freePort();
      const s = server = cfg.start(ctx, sc, port, origin.port, round);
      ctx.commands.set(`h2 ${cfg.role(sc)}`, s.argv.join(" "));
      const notReady = await waitReady(
        s,
        async () => await wrongAnswer(port, sc) === undefined,
        READY_TIMEOUT_MS,
      );
      if (notReady !== undefined) {
        sample.na = "not serving";
        const why = await wrongAnswer(port, sc).catch(() => "no answer");
        console.log(`    ${cfg.name}: n/a (not serving: ${notReady}; last answer: ${why ?? "right"})`);
        if (s.output().trim() !== "") console.log(lastLines(s.output(), 6));
        return sample;
      }
    } else {
      const wrong = await wrongAnswer(port, sc);
      if (wrong !== undefined) {
        sample.na = `origin answers wrong: ${wrong}`;
        console.log(`    ${cfg.name}: n/a (${sample.na})`);
        return sample;
      }
    }
    const bound = (s: number) => s * 1000 + 15000;
    await run(h2loadArgv(ctx, sc, port, ctx.opts.warmupS), bound(ctx.opts.warmupS), { core: LOAD_CORE });
    const log = `${ctx.dir}/h2load-${sc.key}.log`;
    const argv = h2loadArgv(ctx, sc, port, ctx.opts.durationS, log);
    sample.command = `taskset -c ${LOAD_CORE} ${shellLine(argv)}`;
    const cpu0 = server === undefined ? 0 : treeCpuMicros(server.pid);
    const originCpu0 = treeCpuMicros(origin.server.pid);
    const noise = new NoiseMeter();
    const res = await run(argv, bound(ctx.opts.durationS), { core: LOAD_CORE });
    const cpu1 = server === undefined ? 0 : treeCpuMicros(server.pid);
    const originCpu1 = treeCpuMicros(origin.server.pid);
    sample.otherCores = round2(noise.otherCores());
    if (server !== undefined) sample.peakRssMiB = treePeakRssKiB(server.pid) / 1024;
    const h = parseH2load(res.output);
    if (res.timedOut || h === undefined) {
      sample.na = res.timedOut ? "load run timed out" : "h2load failed";
      console.log(`    ${cfg.name}: n/a (${sample.na})\n${lastLines(res.output, 6)}`);
      return sample;
    }
    const pct = logPercentiles(await Deno.readFile(log).catch(() => new Uint8Array()));
    await Deno.remove(log).catch(() => {});
    Object.assign(sample, {
      rps: h.rps,
      requests: h.done,
      failed: h.failed,
      non2xx: h.non2xx,
      p50Ms: pct === undefined ? undefined : pct.p50Us / 1000,
      p99Ms: pct === undefined ? undefined : pct.p99Us / 1000,
    });
    if (h.done > 0) {
      if (server !== undefined) sample.cpuUsPerReq = (cpu1 - cpu0) / h.done;
      sample.originCpuUsPerReq = (originCpu1 - originCpu0) / h.done;
    }
    if (server?.hasExited()) sample.na = "proxy exited during the run";
    else {
      const wrong = await wrongAnswer(port, sc);
      if (wrong !== undefined) sample.na = `answers wrong after the run: ${wrong}`;
    }
    console.log(
      `    ${cfg.name.padEnd(34)} ${fmt(h.rps).padStart(7)} req/s  p50 ${fmt(sample.p50Ms ?? NaN)} ms  p99 ${
        fmt(sample.p99Ms ?? NaN)
      } ms  ` +
        (sample.cpuUsPerReq === undefined ? "" : `${fmt(sample.cpuUsPerReq)} µs/req  `) +
        `origin ${fmt(sample.originCpuUsPerReq ?? NaN)} µs/req` +
        (sample.peakRssMiB === undefined ? "" : `  RSS ${fmt(sample.peakRssMiB)} MiB`) +
        (h.failed + h.non2xx > 0 ? `  failed ${h.failed} non-2xx ${h.non2xx}` : "") +
        noiseNote(sample.otherCores) +
        (sample.na ? `  (${sample.na})` : ""),
    );
    return sample;
  } finally {
    await server?.stop();
  }
}

/** Starts the h2c origin (pinned beside the proxy) and waits until it answers all three scenarios' requests. */
async function startH2Origin(ctx: Http2Settings): Promise<Origin | string> {
  const port = freePort();
  const server = start("h2 origin", [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${BENCH_DIR}h2_origin.ts`,
    `127.0.0.1:${port}`,
  ], { core: PROXY_CORE });
  ctx.commands.set("h2 origin", server.argv.join(" "));
  const notReady = await waitReady(server, async () => {
    for (const sc of SCENARIOS) {
      if (sc.upstream !== "h1" && await wrongAnswer(port, sc) !== undefined) return false;
    }
    return true;
  }, READY_TIMEOUT_MS);
  if (notReady === undefined) return { server, port };
  await server.stop();
  return `h2c origin is not serving (${notReady})\n${lastLines(server.output(), 10)}`;
}

/** Runs the family: every scenario × configuration, interleaved, for the configured rounds. */
export async function runHttp2(ctx: Http2Settings): Promise<H2Sample[]> {
  const o = ctx.opts;
  console.log(
    `\n== HTTP/2: h2load -c${o.h2Connections} -m${o.h2Streams} -w${WINDOW_BITS} h2c (core 0) → proxy (core 1) → ` +
      "origin nginx HTTP/1.1 or h2c origin (core 1) ==",
  );
  Deno.writeFileSync(`${ctx.dir}/grpc_request.bin`, GRPC_REQUEST);
  const samples: H2Sample[] = [];
  const h1 = await startNginxOrigin(ctx);
  if (typeof h1 === "string") {
    console.log(`${h1}; skipping HTTP/2`);
    return samples;
  }
  try {
    const h2 = await startH2Origin(ctx);
    if (typeof h2 === "string") {
      console.log(`${h2}; skipping HTTP/2`);
      return samples;
    }
    try {
      await runRounds(ctx, { h1, h2 }, samples);
    } finally {
      await h2.server.stop();
    }
  } finally {
    await h1.server.stop();
  }
  return samples;
}

async function runRounds(ctx: Http2Settings, origins: Origins, samples: H2Sample[]): Promise<void> {
  const notServing = new Set<string>();
  for (let round = 1; round <= ctx.opts.rounds; round++) {
    for (const sc of SCENARIOS) {
      console.log(`  round ${round}/${ctx.opts.rounds}, ${sc.title}`);
      for (const cfg of CONFIGS) {
        const unsupported = cfg.unsupported?.(sc);
        if (unsupported !== undefined) {
          samples.push({ round, scenario: sc.key, config: cfg.name, na: unsupported });
          continue;
        }
        if (!cfg.runsIn(sc)) continue;
        const key = `${cfg.role(sc)}`;
        if (notServing.has(key)) {
          console.log(`    ${cfg.name}: n/a (not serving, skipped)`);
          samples.push({ round, scenario: sc.key, config: cfg.name, na: "not serving" });
          continue;
        }
        const s = await measure(ctx, sc, cfg, round, sc.upstream === "h1" ? origins.h1 : origins.h2);
        if (s.na === "not serving") notServing.add(key);
        samples.push(s);
      }
    }
  }
}

// === Report ===

interface H2Row {
  config: string;
  na?: string;
  rps?: Spread;
  rpsRatio?: Spread;
  p50?: Spread;
  p99?: Spread;
  p99Ratio?: Spread;
  cpu?: Spread;
  cpuRatio?: Spread;
  originCpu?: Spread;
  rss?: Spread;
  errors: number;
}

function rowsFor(samples: readonly H2Sample[], sc: Scenario): H2Row[] {
  const own = samples.filter((s) => s.scenario === sc.key);
  const borrowed = sc.relayFrom === undefined
    ? []
    : samples.filter((s) => s.scenario === sc.relayFrom && s.config === RELAY);
  const all = [...own, ...borrowed];
  const baseOf = (round: number) => own.find((s) => s.round === round && s.config === sc.baseline && !s.na);
  const ratio = (s: H2Sample, key: "rps" | "p99Ms" | "cpuUsPerReq") => {
    const base = baseOf(s.round)?.[key];
    const v = s[key];
    return base && v !== undefined ? v / base : undefined;
  };
  const out: H2Row[] = [];
  for (const cfg of CONFIGS) {
    const mine = all.filter((s) => s.config === cfg.name);
    if (mine.length === 0) continue;
    const ok = mine.filter((s) => !s.na);
    out.push({
      config: cfg.name,
      na: ok.length === 0 ? mine[0]!.na ?? "n/a" : undefined,
      rps: spread(ok.map((s) => s.rps)),
      rpsRatio: spread(ok.map((s) => ratio(s, "rps"))),
      p50: spread(ok.map((s) => s.p50Ms)),
      p99: spread(ok.map((s) => s.p99Ms)),
      p99Ratio: spread(ok.map((s) => ratio(s, "p99Ms"))),
      cpu: spread(ok.map((s) => s.cpuUsPerReq)),
      cpuRatio: spread(ok.map((s) => ratio(s, "cpuUsPerReq"))),
      originCpu: spread(ok.map((s) => s.originCpuUsPerReq)),
      rss: spread(mine.map((s) => s.peakRssMiB)),
      errors: mine.reduce((n, s) => n + (s.failed ?? 0) + (s.non2xx ?? 0), 0),
    });
  }
  return out;
}

function table(rows: readonly H2Row[], baseline: string): string {
  const b = `× ${baseline}`;
  const head = `| configuration | req/s | ${b} | p50 ms | p99 ms | p99 ${b} | CPU µs/req | CPU ${b} | ` +
    "origin CPU µs/req | peak RSS MiB | failed + non-2xx |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  const v = (s: Spread | undefined) => s === undefined ? "n/a" : fmtSpread(s);
  return head +
    rows.map((r) =>
      r.na !== undefined
        ? `| ${r.config} | n/a: ${r.na} | | | | | | | | | |`
        : `| ${r.config} | ${v(r.rps)} | ${fmtRatio(r.rpsRatio)} | ${v(r.p50)} | ${v(r.p99)} | ` +
          `${fmtRatio(r.p99Ratio)} | ${r.cpu === undefined ? "—" : v(r.cpu)} | ${
            r.cpu === undefined ? "—" : fmtRatio(r.cpuRatio)
          } | ${v(r.originCpu)} | ${r.rss === undefined ? "—" : v(r.rss)} | ${r.errors} |`
    ).join("\n");
}

/** The "Targets (from the issue)" rows of this family. */
export function http2Targets(samples: readonly H2Sample[]): Target[] {
  const rows = rowsFor(samples, SCENARIOS[0]!);
  const mesh = rows.find((r) => r.config === "meshctl");
  const cpuOf = (name: string) => {
    const c = rows.find((r) => r.config === name)?.cpu;
    return c === undefined ? "n/a" : fmt(c.median);
  };
  const target = "h2c → HTTP/1.1, 5 B: req/s ≥ 1.0× nginx";
  return [
    mesh?.rpsRatio === undefined
      ? { name: target, measured: "n/a (meshctl not measured)", verdict: "n/a" }
      : {
        name: target,
        measured: fmtRatio(mesh.rpsRatio),
        verdict: mesh.rpsRatio.median >= 1.0 ? "pass" : "FAIL",
      },
    {
      name: "h2c → HTTP/1.1, 5 B: CPU µs/req beside nginx's and HAProxy's",
      measured: `meshctl ${cpuOf("meshctl")} (${fmtRatio(mesh?.cpuRatio)} nginx); nginx ${cpuOf("nginx")}; ` +
        `HAProxy ${cpuOf("HAProxy")}`,
      verdict: "reported",
    },
  ];
}

/** The family's part of the Commands section. */
export function http2Commands(ctx: RunSettings, samples: readonly H2Sample[]): string[] {
  const cmd = (k: string) => ctx.commands.get(k) ?? "(not started)";
  const roles = [...ctx.commands.keys()].filter((k) => k.startsWith("h2 ") && k !== "h2 origin");
  const load = (key: string) => samples.find((s) => s.scenario === key && s.command)?.command ?? "(not run)";
  return [
    "# HTTP/2: origins (HTTP/1.1: the nginx origin above, started afresh; h2c: bench/h2_origin.ts)",
    cmd("h2 origin"),
    "# HTTP/2 proxies (configs generated into the temp dir; ports chosen at run time)",
    ...roles.map(cmd),
    `# HTTP/2 load: a warm-up with the same command and -D${ctx.opts.warmupS} (no log file), then`,
    ...SCENARIOS.map((sc) => load(sc.key)),
    `# the gRPC request body (${GRPC_REQUEST.length} bytes, hex): ${
      [...GRPC_REQUEST].map((b) => b.toString(16).padStart(2, "0")).join("")
    }`,
  ];
}

/** The family's sections of RESULTS.md. */
export function http2Sections(ctx: Http2Settings, samples: readonly H2Sample[]): string[] {
  const o = ctx.opts;
  const lines: string[] = [];
  lines.push("## HTTP/2: method");
  lines.push("");
  lines.push(
    `h2load (nghttp2) with h2c prior knowledge, \`-t1 -c${o.h2Connections} -m${o.h2Streams}\` ` +
      `(${
        o.h2Connections * o.h2Streams
      } streams in flight) and \`-w${WINDOW_BITS}\`, pinned to core ${LOAD_CORE}; ` +
      `the proxy and the origin on core ${PROXY_CORE}. Stream windows are 65,535 bytes on every hop (RFC 9113's ` +
      "default; nginx and HAProxy advertise it, meshctl is set to it with `http2_protocol_options." +
      "initial_stream_window_size` on its listener and cluster), so a 64 KiB body always waits for a " +
      "WINDOW_UPDATE. p50/p99 are nearest-rank percentiles of h2load's `--log-file` (time to the end of each " +
      "response). *Origin CPU µs/req* is the origin's own CPU over the same run ÷ requests: proxy + origin is " +
      "what a request cost core 1. The HTTP/1.1 origin is the nginx origin above; the h2c origin is " +
      "`bench/h2_origin.ts` (meshctl's HTTP/2 codec on raw `Deno.Conn`), and its *alone* rows (h2load " +
      "straight at it) bound what any proxy in front of it can show. The raw relay only moves bytes, so it " +
      "always talks to the h2c origin; in the h2c → HTTP/1.1 tables its row is the same runs as in the " +
      "h2c → h2c tables. h2load sees only HTTP statuses, so every configuration's answer (status, body " +
      "length, and for gRPC one message plus `grpc-status: 0` in trailers) is checked with an h2c client " +
      "before and after each run; a wrong answer makes the run n/a.",
  );
  for (const sc of SCENARIOS) {
    lines.push("");
    lines.push(`## HTTP/2: ${sc.title}`);
    lines.push("");
    lines.push(table(rowsFor(samples, sc), sc.baseline));
  }
  return lines;
}
