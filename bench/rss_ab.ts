/**
 * meshctl's memory, A/B: idle RSS, peak RSS (VmHWM) and CPU per request under wrk (HTTP/1.1, 5 B, -c50) or
 * the bolt closed-loop generator (50 connections × 8 in flight), for two or more variants run in turn
 * (A B A B …) so that the machine's drift hits each alike. A variant is a checkout (`git archive <commit> |
 * tar -x -C DIR`) and optionally other `--v8-flags` than its Makefile's RUN_FLAGS.
 *
 *   deno run -A bench/rss_ab.ts [--load http|bolt] [--pairs 5] [--duration 10] [--warmup 2]
 *     [--concurrency 1] --variant NAME=DIR[@V8FLAGS] --variant NAME=DIR[@V8FLAGS] …
 *
 * e.g. `--variant semi4=. --variant semi2=.@--max-semi-space-size=2,--heap-growing-percent=50,…`.
 * Pinning as `make bench`: load generator on core 0, meshctl and its upstream on core 1; with
 * `--concurrency 2` meshctl gets both cores (the generator shares core 0). Idle RSS is read 1 s after the
 * first answered request; peak RSS once the measured run ends; CPU per request over the measured run (bolt:
 * the whole generator run, warm-up included, ÷ every response). Medians and min of each variant.
 */
import { parseArgs } from "node:util";
import * as configs from "./_configs.ts";
import {
  freePort,
  installSignalHandlers,
  run,
  type Server,
  sleep,
  start,
  stopAll,
  treeCpuMicros,
  treePeakRssKiB,
  treeRssKiB,
} from "./_proc.ts";
import { BENCH_DIR, DENO, httpStatus, LOAD_CORE, parseWrk, PROXY_CORE, waitReady } from "./_harness.ts";
import { BOLT_REQUEST, FrameBuffer, readU16, readU32, writeAll } from "./_bolt_frames.ts";
import type { LoadResult } from "./bolt_load.ts";

const { values } = parseArgs({
  options: {
    load: { type: "string", default: "http" },
    pairs: { type: "string", default: "5" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    concurrency: { type: "string", default: "1" },
    variant: { type: "string", multiple: true },
  },
});
const LOAD = values.load as "http" | "bolt";
if (LOAD !== "http" && LOAD !== "bolt") throw new Error("--load must be http or bolt");
const PAIRS = Number(values.pairs);
const DURATION_S = Number(values.duration);
const WARMUP_S = Number(values.warmup);
const CONCURRENCY = Number(values.concurrency);
const MESHCTL_CORES = CONCURRENCY === 1 ? String(PROXY_CORE) : "0,1";

interface Variant {
  name: string;
  tree: string;
  flags: string[];
}
const variants: Variant[] = (values.variant ?? [`this=${new URL("..", import.meta.url).pathname}`]).map(
  (v) => {
    const m = /^([^=]+)=([^@]+)(?:@(.*))?$/.exec(v);
    if (m === null) throw new Error(`--variant NAME=DIR[@V8FLAGS], got ${v}`);
    const tree = Deno.realPathSync(m[2]!);
    const make = Deno.readTextFileSync(`${tree}/Makefile`);
    let flags = make.match(/^RUN_FLAGS := (.*)$/m)![1]!.trim().split(/\s+/);
    if (m[3] !== undefined) flags = flags.map((f) => f.startsWith("--v8-flags=") ? `--v8-flags=${m[3]}` : f);
    return { name: m[1]!, tree, flags };
  },
);

interface Sample {
  idleMiB: number;
  peakMiB: number;
  cpuUsPerReq: number;
  rps: number;
}

async function boltAnswers(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const req = BOLT_REQUEST.slice();
    req.set([0, 0, 0x12, 0x34], 5);
    await writeAll(conn, req);
    const rx = new FrameBuffer();
    let ok: boolean | undefined;
    const deadline = setTimeout(() => conn?.close(), 1000);
    try {
      while (ok === undefined) {
        const n = await conn.read(rx.space());
        if (n === null) return false;
        rx.commit(n);
        rx.frames((b, off) => {
          ok ??= readU32(b, off + 5) === 0x1234 && readU16(b, off + 10) === 0;
        });
      }
    } finally {
      clearTimeout(deadline);
    }
    return ok;
  } catch {
    return false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

async function measure(dir: string, v: Variant, upstreamPort: number): Promise<Sample | string> {
  const port = freePort();
  const conf = `${dir}/meshctl-${LOAD}.yaml`;
  Deno.writeTextFileSync(
    conf,
    configs.meshctlYaml({ listenPort: port, adminPort: freePort(), upstreamPort, protocol: LOAD }),
  );
  const argv = [
    DENO,
    "run",
    ...v.flags,
    `${v.tree}/main.ts`,
    "serve",
    "--concurrency",
    String(CONCURRENCY),
    conf,
  ];
  const server: Server = start("meshctl", ["taskset", "-c", MESHCTL_CORES, ...argv], {
    env: { MESHCTL_LOG_LEVEL: "error", NO_COLOR: "1" },
  });
  try {
    const probe = LOAD === "http"
      ? async () => (await httpStatus(port, "/", 1000)) === 200
      : () => boltAnswers(port);
    const notReady = await waitReady(server, probe, 15000);
    if (notReady !== undefined) return `not serving: ${notReady}\n${server.output().slice(-2000)}`;
    await sleep(1000);
    const idleMiB = treeRssKiB(server.pid) / 1024;
    if (LOAD === "http") {
      const wrk = (s: number) => ["wrk", "-t1", "-c50", `-d${s}s`, `http://127.0.0.1:${port}/`];
      await run(wrk(WARMUP_S), WARMUP_S * 1000 + 15000, { core: LOAD_CORE });
      const cpu0 = treeCpuMicros(server.pid);
      const res = await run(wrk(DURATION_S), DURATION_S * 1000 + 15000, { core: LOAD_CORE });
      const cpu1 = treeCpuMicros(server.pid);
      const w = parseWrk(res.output);
      if (w === undefined || w.socketErrors + w.non2xx > 0) return `wrk: ${res.output.slice(-1000)}`;
      return {
        idleMiB,
        peakMiB: treePeakRssKiB(server.pid) / 1024,
        cpuUsPerReq: (cpu1 - cpu0) / w.requests,
        rps: w.rps,
      };
    }
    const load = [
      DENO,
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      `${BENCH_DIR}bolt_load.ts`,
      "--target",
      `127.0.0.1:${port}`,
      ...["--mode", "closed", "--connections", "50", "--inflight", "8"],
      ...["--warmup", String(WARMUP_S), "--duration", String(DURATION_S)],
    ];
    const cpu0 = treeCpuMicros(server.pid);
    const res = await run(load, (WARMUP_S + DURATION_S) * 1000 + 20000, { core: LOAD_CORE });
    const cpu1 = treeCpuMicros(server.pid);
    const line = res.output.split("\n").find((l) => l.startsWith("{"));
    if (line === undefined) return `bolt_load: ${res.output.slice(-1000)}`;
    const r = JSON.parse(line) as LoadResult;
    if (r.errors + r.lost > 0) return `bolt_load: ${r.errors} errors, ${r.lost} lost`;
    return {
      idleMiB,
      peakMiB: treePeakRssKiB(server.pid) / 1024,
      cpuUsPerReq: (cpu1 - cpu0) / r.totalReceived,
      rps: r.achievedRps,
    };
  } finally {
    await server.stop();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const f1 = (x: number) => x.toFixed(1);

installSignalHandlers();
const dir = await Deno.makeTempDir({ prefix: "meshctl-rss-ab-" });
let upstream: Server;
let upstreamPort: number;
if (LOAD === "http") {
  upstreamPort = freePort();
  const conf = `${dir}/origin.conf`;
  Deno.writeTextFileSync(`${dir}/big.bin`, "a");
  Deno.writeTextFileSync(conf, configs.originNginx(dir, upstreamPort, `${dir}/big.bin`));
  upstream = start("origin", ["nginx", "-p", dir, "-e", `${dir}/origin.error.log`, "-c", conf], {
    core: PROXY_CORE,
  });
  const up = upstreamPort;
  if (await waitReady(upstream, async () => (await httpStatus(up, "/", 1000)) === 200, 5000)) {
    throw new Error("origin nginx is not serving");
  }
} else {
  upstreamPort = freePort();
  upstream = start("bolt_server", [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `${BENCH_DIR}bolt_server.ts`,
    `127.0.0.1:${upstreamPort}`,
  ], { core: PROXY_CORE });
  const up = upstreamPort;
  if (await waitReady(upstream, () => boltAnswers(up), 5000)) throw new Error("bolt server is not serving");
}
const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
try {
  console.log(
    `load ${LOAD}, --concurrency ${CONCURRENCY} (meshctl on cores ${MESHCTL_CORES}), ${PAIRS} rounds × ${variants.length} variants, ${WARMUP_S} s warm-up + ${DURATION_S} s`,
  );
  for (let round = 1; round <= PAIRS; round++) {
    for (const v of variants) {
      const s = await measure(dir, v, upstreamPort);
      if (typeof s === "string") {
        console.log(`  round ${round} ${v.name}: n/a (${s})`);
        continue;
      }
      samples.get(v.name)!.push(s);
      console.log(
        `  round ${round} ${v.name.padEnd(12)} idle ${f1(s.idleMiB)} MiB  peak ${f1(s.peakMiB)} MiB  ` +
          `${f1(s.cpuUsPerReq)} µs/req  ${Math.round(s.rps)} req/s`,
      );
    }
  }
  console.log(
    "\nvariant       idle MiB (min/med)  peak MiB (min/med/max)  CPU µs/req (min/med)  req/s (med)",
  );
  for (const v of variants) {
    const ss = samples.get(v.name)!;
    if (ss.length === 0) continue;
    const col = (k: keyof Sample) => ss.map((s) => s[k]);
    console.log(
      `${v.name.padEnd(13)} ${f1(Math.min(...col("idleMiB")))} / ${f1(median(col("idleMiB")))}`.padEnd(34) +
        `${f1(Math.min(...col("peakMiB")))} / ${f1(median(col("peakMiB")))} / ${
          f1(Math.max(...col("peakMiB")))
        }`
          .padEnd(24) +
        `${f1(Math.min(...col("cpuUsPerReq")))} / ${f1(median(col("cpuUsPerReq")))}`.padEnd(22) +
        `${Math.round(median(col("rps")))}`,
    );
  }
} finally {
  await upstream.stop();
  await stopAll();
  await Deno.remove(dir, { recursive: true });
}
