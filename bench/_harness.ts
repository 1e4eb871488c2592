/**
 * What every scenario family of the side-by-side harness shares: core placement, how meshctl and the
 * Deno helpers are started, readiness polling, noise notes and the targets table's rows.
 */
import { writeAll } from "./_bolt_frames.ts";
import { originNginx } from "./_configs.ts";
import { freePort, type Server, sleep, start } from "./_proc.ts";
import type { Spread } from "./_stats.ts";

/** The load generator's core. */
export const LOAD_CORE = 0;
/** The proxy under test and the origin share this core. */
export const PROXY_CORE = 1;
/** How long a freshly started proxy may take to answer before it is "n/a (not serving)". */
export const READY_TIMEOUT_MS = 8000;
export const BENCH_DIR: string = new URL(".", import.meta.url).pathname;
export const MAIN_TS: string = new URL("../main.ts", import.meta.url).pathname;
export const DENO: string = Deno.execPath();
/** Exactly the flags the binary gets: read from the Makefile, their one source. */
export const MESHCTL_FLAGS: string[] = (() => {
  const make = Deno.readTextFileSync(new URL("../Makefile", import.meta.url));
  const m = make.match(/^RUN_FLAGS := (.*)$/m);
  if (m === null) throw new Error("Cannot find RUN_FLAGS in the Makefile");
  return m[1]!.trim().split(/\s+/);
})();

/**
 * meshctl's command line: the binary's flags, plus V8's CPU profiler when `cpuProfDir` is set (a
 * `.cpuprofile` per process, written when it exits; summarise with `bench/cpuprof_top.ts`).
 */
export function meshctlArgv(config: string, cpuProfDir?: string, profName?: string): string[] {
  const prof = cpuProfDir === undefined ? [] : [
    "--cpu-prof",
    `--cpu-prof-dir=${cpuProfDir}`,
    ...(profName === undefined ? [] : [`--cpu-prof-name=${profName}.cpuprofile`]),
  ];
  // One event loop: the scenarios measure CPU per request on one pinned core.
  return [DENO, "run", ...prof, ...MESHCTL_FLAGS, MAIN_TS, "serve", "--concurrency", "1", config];
}

/** What a scenario family needs from the run: its shape, the temp dir, and where commands are noted. */
export interface RunSettings {
  readonly opts: {
    readonly rounds: number;
    readonly durationS: number;
    readonly warmupS: number;
    /** Run meshctl under V8's CPU profiler, profiles into this directory. */
    readonly cpuProfDir?: string | undefined;
  };
  /** The run's temp dir: generated configs, logs, pid files. */
  readonly dir: string;
  /** Command lines by role, for the Commands section of RESULTS.md. */
  readonly commands: Map<string, string>;
}

export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), ms));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** One HTTP/1.1 GET over a fresh connection; resolves with the status code, or undefined. */
export async function httpStatus(port: number, path: string, timeoutMs: number): Promise<number | undefined> {
  let conn: Deno.TcpConn | undefined;
  const attempt = async () => {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(
      conn,
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`),
    );
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  try {
    return await withTimeout(attempt().catch(() => undefined), timeoutMs);
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/** Polls `probe` until it passes, the server exits, or the timeout; returns why it is not ready. */
export async function waitReady(
  server: Server,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (server.hasExited()) return `exited with code ${await server.exited}`;
    if (await probe()) return undefined;
    await sleep(100);
  }
  return `no good answer within ${timeoutMs / 1000} s`;
}

export function lastLines(text: string, n: number): string {
  return text.trim().split("\n").slice(-n).map((l) => `    | ${l}`).join("\n");
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Flags a run during which other processes used a noticeable share of the machine. */
export const NOISE_CORES = 0.1;

export function noiseNote(otherCores: number | undefined): string {
  return otherCores !== undefined && otherCores > NOISE_CORES
    ? `  [noisy: other work used ${otherCores} cores]`
    : "";
}

/** One row of the "Targets (from the issue)" table. */
export interface Target {
  name: string;
  measured: string;
  /** "reported": a figure the issue asks to show, with no threshold. */
  verdict: "pass" | "FAIL" | "n/a" | "reported";
}

/** A target judged on the median of `value`. */
export function check(
  name: string,
  value: Spread | undefined,
  ok: (v: number) => boolean,
  show: (v: Spread) => string,
): Target {
  if (value === undefined) return { name, measured: "n/a (meshctl not measured)", verdict: "n/a" };
  return { name, measured: show(value), verdict: ok(value.median) ? "pass" : "FAIL" };
}

/**
 * Starts the HTTP/1.1 origin (nginx, one worker, pinned beside the proxy: `/` = 5 bytes, `/big` = 64 KiB)
 * and waits until it serves; returns why not otherwise. Noted as "origin" in the commands.
 */
export async function startNginxOrigin(ctx: RunSettings): Promise<{ server: Server; port: number } | string> {
  const bigFile = `${ctx.dir}/big.bin`;
  Deno.writeFileSync(bigFile, new Uint8Array(64 * 1024).fill(0x61));
  const port = freePort();
  const conf = `${ctx.dir}/origin.conf`;
  Deno.writeTextFileSync(conf, originNginx(ctx.dir, port, bigFile));
  const server = start("origin", ["nginx", "-p", ctx.dir, "-e", `${ctx.dir}/origin.error.log`, "-c", conf], {
    core: PROXY_CORE,
  });
  ctx.commands.set("origin", server.argv.join(" "));
  const notReady = await waitReady(server, async () => (await httpStatus(port, "/big", 1000)) === 200, 5000);
  if (notReady === undefined) return { server, port };
  const why = `origin nginx is not serving (${notReady})\n${lastLines(server.output(), 10)}`;
  await server.stop();
  return why;
}

// === wrk ===

export interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  socketErrors: number;
  non2xx: number;
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === "us" ? v / 1000 : unit === "s" ? v * 1000 : unit === "m" ? v * 60000 : v;
}

/** wrk's summary (`--latency`): req/s, p50/p99 in ms, requests, socket errors, non-2xx. */
export function parseWrk(out: string): WrkResult | undefined {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const req = /(\d+) requests in/.exec(out);
  if (!rps || !req) return undefined;
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    rps: Number(rps[1]),
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    requests: Number(req[1]),
    socketErrors: se ? Number(se[1]) + Number(se[2]) + Number(se[3]) + Number(se[4]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}
