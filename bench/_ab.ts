/**
 * The A/B loop the small CPU-per-request comparisons share (bench/health_ab.ts, bench/tls_upstream_ab.ts):
 * scenarios interleaved within each round (A B C A B C …), a fresh meshctl per run on the proxy core, wrk
 * on the load core (1 s warm-up, then the measured run), CPU = Δ(utime+stime) of meshctl's process tree
 * from /proc ÷ requests. Prints each run; returns the per-run figures by scenario.
 */
import { LOAD_CORE, PROXY_CORE, waitReady } from "./_harness.ts";
import { freePort, run, start, treeCpuMicros } from "./_proc.ts";

export interface AbScenario {
  readonly name: string;
}

export interface AbRun<S extends AbScenario> {
  readonly scenarios: readonly S[];
  readonly rounds: number;
  readonly durationS: number;
  /** wrk's keep-alive connections (one thread). */
  readonly connections: number;
  /** Where the generated configs go. */
  readonly dir: string;
  /** meshctl's config for a run of `s` listening on `listenPort` (plain HTTP/1), admin on `adminPort`. */
  config(s: S, listenPort: number, adminPort: number): string;
  /** meshctl's command line and environment for a run of `s` with the config at `path`. */
  meshctl(s: S, path: string, round: number): { argv: string[]; env: Record<string, string> };
}

/** Runs the rounds; µs of meshctl CPU per request of every run, by scenario name. */
export async function abRounds<S extends AbScenario>(ab: AbRun<S>): Promise<Map<string, number[]>> {
  const results = new Map<string, number[]>();
  const width = Math.max(...ab.scenarios.map((s) => s.name.length)) + 1;
  for (let round = 1; round <= ab.rounds; round++) {
    for (const s of ab.scenarios) {
      const listenPort = freePort();
      const adminPort = freePort();
      const path = `${ab.dir}/${s.name.replace(/\W/g, "_")}.json`;
      await Deno.writeTextFile(path, ab.config(s, listenPort, adminPort));
      const { argv, env } = ab.meshctl(s, path, round);
      const mesh = start("meshctl", argv, { core: PROXY_CORE, env });
      try {
        const url = `http://127.0.0.1:${listenPort}/`;
        const notReady = await waitReady(mesh, async () => {
          const r = await fetch(url).catch(() => undefined);
          await r?.body?.cancel();
          return r?.status === 200;
        }, 8000);
        if (notReady !== undefined) throw new Error(`${s.name}: ${notReady}\n${mesh.output()}`);
        const wrk = (seconds: number) => ["wrk", "-t1", `-c${ab.connections}`, `-d${seconds}s`, url];
        await run(wrk(1), 10_000, { core: LOAD_CORE }); // warm-up
        const before = treeCpuMicros(mesh.pid);
        const out = await run(wrk(ab.durationS), (ab.durationS + 10) * 1000, { core: LOAD_CORE });
        const cpu = treeCpuMicros(mesh.pid) - before;
        const n = Number(/(\d+) requests in/.exec(out.output)?.[1] ?? 0);
        const errors = /Non-2xx|Socket errors/.test(out.output) ? "  (errors!)" : "";
        if (n === 0 || errors !== "") {
          console.log(`${s.name}:\nwrk:\n${out.output}\nmeshctl:\n${mesh.output()}`);
        }
        const perRequest = cpu / n;
        (results.get(s.name) ?? results.set(s.name, []).get(s.name)!).push(perRequest);
        console.log(
          `round ${round} ${s.name.padEnd(width)} ${(n / ab.durationS).toFixed(0).padStart(6)} req/s ` +
            `${perRequest.toFixed(1).padStart(6)} µs CPU/request${errors}`,
        );
      } finally {
        await mesh.stop();
      }
    }
  }
  return results;
}

/** The upper median (the middle value of an odd count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}
