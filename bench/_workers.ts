/**
 * The workers family of `make bench` (`--only workers`; `make bench-workers` runs it alone through
 * bench/workers_scaling.ts): meshctl's HTTP/1.1 throughput and CPU per request at `--concurrency 1` vs `2`
 * (and 2 workers squeezed onto one core, to see the per-worker overhead), wrk closed loop over keep-alive
 * connections, a `direct_response` route so no origin competes for the cores. Scenarios are interleaved
 * within each round; ratios are taken to `c1` within the same round.
 *
 * Pinning: with 2 cores there is no core left for wrk once meshctl has both, so the scenarios are
 *   c1      meshctl --concurrency 1 on core 1, wrk on core 0          (1 proxy core, load apart)
 *   c2      meshctl --concurrency 2 on cores 0,1, wrk on core 0       (2 proxy cores, wrk shares core 0)
 *   c2-1cpu meshctl --concurrency 2 on core 1, wrk on core 0          (2 workers, 1 core: worker overhead)
 * On a machine with ≥ 3 cores give wrk its own: MESHCTL_CORES_C2=1,2 WRK_CORE=0.
 */
import { stringify } from "yaml";
import { freePort, NoiseMeter, type Server, start, treeCpuMicros } from "./_proc.ts";
import {
  DENO,
  httpStatus,
  LOAD_CORE,
  parseWrk,
  PROXY_CORE,
  READY_TIMEOUT_MS,
  round2,
  type RunSettings,
  type Target,
  waitReady,
} from "./_harness.ts";
import { fmtRatio, fmtSpread, spread } from "./_stats.ts";

export interface WorkersSettings extends RunSettings {
  readonly opts: RunSettings["opts"] & {
    /** wrk's keep-alive connections. */
    readonly workerConnections: number;
  };
}

/** What the standalone script (bench/workers_scaling.ts) may change; `make bench` uses the defaults. */
export interface WorkersOptions {
  /** Scenario names to run (default all). */
  readonly only?: readonly string[];
  /** Set the listener's `reuseport` (the socket path a worker uses). */
  readonly reuseport?: boolean;
  /** Another checkout's main.ts and Makefile RUN_FLAGS (`git archive <commit> | tar -x -C DIR`). */
  readonly tree?: string;
  /** Proxy to a Deno origin on the wrk core instead of direct_response. */
  readonly origin?: boolean;
}

export interface WorkersScenario {
  readonly name: string;
  readonly cores: string;
  readonly concurrency: number;
  readonly what: string;
}

const WRK_CORE = Deno.env.get("WRK_CORE") ?? String(LOAD_CORE);
const C1_CORES = Deno.env.get("MESHCTL_CORES_C1") ?? String(PROXY_CORE);
const C2_CORES = Deno.env.get("MESHCTL_CORES_C2") ?? `${LOAD_CORE},${PROXY_CORE}`;

export const WORKERS_SCENARIOS: readonly WorkersScenario[] = [
  { name: "c1", cores: C1_CORES, concurrency: 1, what: "1 worker, 1 core, load apart" },
  { name: "c2", cores: C2_CORES, concurrency: 2, what: "2 workers, 2 cores (wrk shares one)" },
  { name: "c2-1cpu", cores: C1_CORES, concurrency: 2, what: "2 workers on 1 core: per-worker overhead" },
];

export interface WorkersSample {
  readonly round: number;
  readonly scenario: string;
  readonly cores: string;
  readonly concurrency: number;
  readonly rps?: number;
  readonly cpuUsPerReq?: number;
  readonly errors?: number;
  /** Cores' worth of CPU other processes used during the measured run. */
  readonly otherCores?: number;
  /** Why the run has no figures. */
  readonly na?: string;
  readonly command?: string;
}

const THIS_TREE = new URL("..", import.meta.url).pathname;

function runFlagsOf(tree: string): string[] {
  const m = Deno.readTextFileSync(`${tree}/Makefile`).match(/^RUN_FLAGS := (.*)$/m);
  if (m === null) throw new Error(`Cannot find RUN_FLAGS in ${tree}/Makefile`);
  return m[1]!.trim().split(/\s+/);
}

function config(port: number, adminPort: number, originPort: number | undefined, reuseport: boolean): string {
  const route = originPort === undefined
    ? { match: { prefix: "/" }, direct_response: { status: 200, body: "ok" } }
    : { match: { prefix: "/" }, route: { cluster_name: "origin" } };
  return stringify({
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } },
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{ name: "all", domains: ["*"], routers: [route] }],
      }],
      listeners: [{
        name: "ingress",
        address: `127.0.0.1:${port}`,
        bind_port: true,
        reuseport,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: originPort === undefined ? [] : [{
        name: "origin",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: `127.0.0.1:${originPort}` }],
      }],
    },
  });
}

function wrkArgv(port: number, connections: number, seconds: number): string[] {
  return [
    "taskset",
    "-c",
    WRK_CORE,
    "wrk",
    "-t2",
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    `http://127.0.0.1:${port}/`,
  ];
}

function serving(port: number): () => Promise<boolean> {
  return async () => (await httpStatus(port, "/", 1000)) === 200;
}

async function wrk(argv: string[]) {
  const [cmd, ...args] = argv as [string, ...string[]];
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return parseWrk(new TextDecoder().decode(out.stdout));
}

async function measure(
  ctx: WorkersSettings,
  s: WorkersScenario,
  round: number,
  tree: string,
  originPort: number | undefined,
  reuseport: boolean,
): Promise<WorkersSample> {
  const base = { round, scenario: s.name, cores: s.cores, concurrency: s.concurrency };
  const port = freePort();
  const adminPort = freePort();
  const path = `${ctx.dir}/workers-${s.name}.yaml`;
  await Deno.writeTextFile(path, config(port, adminPort, originPort, reuseport));
  const argv = [
    "taskset",
    "-c",
    s.cores,
    DENO,
    "run",
    ...runFlagsOf(tree),
    `${tree}/main.ts`,
    "serve",
    "--concurrency",
    String(s.concurrency),
    path,
  ];
  ctx.commands.set(`workers meshctl ${s.name}`, argv.join(" "));
  const mesh: Server = start(`meshctl-workers-${s.name}`, argv, { cwd: tree });
  try {
    const notReady = await waitReady(mesh, serving(port), READY_TIMEOUT_MS);
    if (notReady !== undefined) return { ...base, na: `not serving (${notReady})` };
    await wrk(wrkArgv(port, ctx.opts.workerConnections, ctx.opts.warmupS)); // JIT, pools
    const load = wrkArgv(port, ctx.opts.workerConnections, ctx.opts.durationS);
    const noise = new NoiseMeter();
    const cpu0 = treeCpuMicros(mesh.pid);
    const r = await wrk(load);
    const cpu1 = treeCpuMicros(mesh.pid);
    const otherCores = round2(noise.otherCores());
    if (r === undefined || r.requests === 0) return { ...base, na: "no wrk summary", otherCores };
    return {
      ...base,
      rps: r.rps,
      cpuUsPerReq: (cpu1 - cpu0) / r.requests,
      errors: r.socketErrors + r.non2xx,
      otherCores,
      command: load.join(" "),
    };
  } finally {
    await mesh.stop();
  }
}

/** Runs every scenario once per round, interleaved (c1 c2 c2-1cpu c1 c2 …). */
export async function runWorkers(
  ctx: WorkersSettings,
  options: WorkersOptions = {},
): Promise<WorkersSample[]> {
  const tree = options.tree ?? THIS_TREE;
  const scenarios = WORKERS_SCENARIOS.filter((s) =>
    options.only === undefined || options.only.includes(s.name)
  );
  let originPort: number | undefined;
  let origin: Server | undefined;
  if (options.origin) {
    originPort = freePort();
    const src = `${ctx.dir}/workers-origin.ts`;
    await Deno.writeTextFile(
      src,
      `Deno.serve({ hostname: "127.0.0.1", port: ${originPort}, onListen() {} }, () => new Response("ok"));`,
    );
    origin = start("workers origin", ["taskset", "-c", WRK_CORE, DENO, "run", "-A", src]);
    ctx.commands.set("workers origin", origin.argv.join(" "));
    const notReady = await waitReady(origin, serving(originPort), READY_TIMEOUT_MS);
    if (notReady !== undefined) throw new Error(`workers origin not serving (${notReady})`);
  }
  const samples: WorkersSample[] = [];
  try {
    for (let round = 1; round <= ctx.opts.rounds; round++) {
      for (const s of scenarios) {
        const r = await measure(ctx, s, round, tree, originPort, options.reuseport ?? false);
        samples.push(r);
        console.log(
          r.na === undefined
            ? `workers round ${round} ${s.name}: ${Math.round(r.rps!)} req/s, ${
              r.cpuUsPerReq!.toFixed(1)
            } µs CPU/req, other cores ${r.otherCores}`
            : `workers round ${round} ${s.name}: n/a (${r.na})`,
        );
      }
    }
  } finally {
    await origin?.stop();
  }
  return samples;
}

interface WorkersRow {
  readonly scenario: WorkersScenario;
  readonly rps: ReturnType<typeof spread>;
  /** req/s ÷ c1's req/s of the same round. */
  readonly rpsRatio: ReturnType<typeof spread>;
  readonly cpu: ReturnType<typeof spread>;
  /** CPU µs/req ÷ c1's of the same round. */
  readonly cpuRatio: ReturnType<typeof spread>;
  readonly errors: number;
  readonly runs: number;
}

function rows(samples: readonly WorkersSample[]): WorkersRow[] {
  const c1 = (round: number) => samples.find((x) => x.round === round && x.scenario === "c1" && !x.na);
  return WORKERS_SCENARIOS.filter((s) => samples.some((x) => x.scenario === s.name)).map((s) => {
    const ok = samples.filter((x) => x.scenario === s.name && x.na === undefined);
    return {
      scenario: s,
      rps: spread(ok.map((x) => x.rps)),
      rpsRatio: spread(ok.map((x) => x.rps! / (c1(x.round)?.rps ?? NaN))),
      cpu: spread(ok.map((x) => x.cpuUsPerReq)),
      cpuRatio: spread(ok.map((x) => x.cpuUsPerReq! / (c1(x.round)?.cpuUsPerReq ?? NaN))),
      errors: ok.reduce((n, x) => n + (x.errors ?? 0), 0),
      runs: ok.length,
    };
  });
}

/** The issue's figures: scaling 1 → 2 workers and CPU per request (reported; no threshold was set). */
export function workersTargets(samples: readonly WorkersSample[]): Target[] {
  const c2 = rows(samples).find((r) => r.scenario.name === "c2");
  return [
    {
      name: "workers: req/s with 2 workers ÷ 1 worker (HTTP/1.1, direct_response)",
      measured: fmtRatio(c2?.rpsRatio),
      verdict: "reported",
    },
    {
      name: "workers: CPU µs/req with 2 workers ÷ 1 worker (issue 13: unchanged)",
      measured: fmtRatio(c2?.cpuRatio),
      verdict: "reported",
    },
  ];
}

/** The family's part of the Commands section. */
export function workersCommands(ctx: WorkersSettings, samples: readonly WorkersSample[]): string[] {
  const load = samples.find((s) => s.command)?.command ?? "(not run)";
  return [
    "# workers: meshctl with --concurrency 1 / 2, a direct_response route (configs in the temp dir)",
    ...WORKERS_SCENARIOS.map((s) => ctx.commands.get(`workers meshctl ${s.name}`)).filter((c) =>
      c !== undefined
    ),
    ...(ctx.commands.has("workers origin") ? [ctx.commands.get("workers origin")!] : []),
    `# workers load: a warm-up with the same command and -d${ctx.opts.warmupS}s, then`,
    load,
  ];
}

/** The family's section of RESULTS.md. */
export function workersSections(ctx: WorkersSettings, samples: readonly WorkersSample[]): string[] {
  const o = ctx.opts;
  const lines: string[] = [];
  lines.push("## Workers across cores: `--concurrency 1` vs `2` (HTTP/1.1)");
  lines.push("");
  lines.push(
    `wrk \`-t2 -c${o.workerConnections}\` keep-alive, closed loop, pinned to core ${WRK_CORE}, against a ` +
      "`direct_response` route (no origin competes for the cores). With 2 cores there is none left for wrk " +
      "once meshctl has both, so `c2` shares core " +
      `${WRK_CORE} with wrk: its ratio to \`c1\` is a lower bound on the scaling. \`c2-1cpu\` squeezes 2 ` +
      "workers onto one core: its CPU µs/req against `c1` is what a second worker costs. Scenarios are " +
      "interleaved within each round and ratios are taken to `c1` of the same round. CPU µs/req = " +
      "Δ(utime+stime+cutime+cstime) of meshctl's process tree (every thread: the workers too) ÷ requests.",
  );
  lines.push("");
  lines.push("| scenario | pinning | req/s | × c1 | CPU µs/req | × c1 | errors | runs |");
  lines.push("|---|---|---|---|---|---|---|---|");
  for (const r of rows(samples)) {
    const s = r.scenario;
    lines.push(
      `| ${s.name} (${s.what}) | meshctl \`--concurrency ${s.concurrency}\` on core${
        s.cores.includes(",") ? "s" : ""
      } ${s.cores}, wrk on core ${WRK_CORE} | ${fmtSpread(r.rps)} | ${fmtRatio(r.rpsRatio)} | ${
        fmtSpread(r.cpu)
      } | ${fmtRatio(r.cpuRatio)} | ${r.errors} | ${r.runs} |`,
    );
  }
  const na = samples.filter((s) => s.na !== undefined);
  if (na.length > 0) {
    lines.push("");
    lines.push(`n/a runs: ${na.map((s) => `${s.scenario} r${s.round}: ${s.na}`).join("; ")}.`);
  }
  return lines;
}
