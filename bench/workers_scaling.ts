/**
 * Workers across cores: meshctl's HTTP/1.1 throughput and CPU per request at `--concurrency 1` vs `2` (and
 * 2 workers squeezed onto one core, to see the per-worker overhead), wrk closed loop over keep-alive
 * connections, a `direct_response` route so no origin competes for the cores. Rounds are interleaved;
 * medians with min–max.
 *
 *   deno run -A bench/workers_scaling.ts [--rounds 3] [--duration 10] [--connections 64] [--reuseport]
 *     [--tree DIR] [--origin] [--only c1,c2,c2-1cpu]
 *
 * Pinning: with 2 cores there is no core left for wrk once meshctl has both, so the scenarios are
 *   c1      meshctl --concurrency 1 on core 1, wrk on core 0          (1 proxy core, load apart)
 *   c2      meshctl --concurrency 2 on cores 0,1, wrk on core 0       (2 proxy cores, wrk shares core 0)
 *   c2-1cpu meshctl --concurrency 2 on core 1, wrk on core 0          (2 workers, 1 core: worker overhead)
 * On a machine with ≥ 3 cores give wrk its own: MESHCTL_CORES_C2=1,2 WRK_CORE=0.
 * `--tree DIR` runs another checkout's main.ts and Makefile RUN_FLAGS (`git archive <commit> | tar -x -C
 * DIR`); `--reuseport` sets the listener's reuseport (the socket path a worker uses); `--origin` proxies to
 * a Deno origin on the wrk core instead of direct_response.
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { freePort, installSignalHandlers, sleep, start, stopAll, treeCpuMicros } from "./_proc.ts";
import { DENO, parseWrk } from "./_harness.ts";
import { fmtSpread, spread } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    reuseport: { type: "boolean", default: false },
    tree: { type: "string" },
    origin: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION_S = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const TREE = values.tree ?? new URL("..", import.meta.url).pathname;
const WRK_CORE = Deno.env.get("WRK_CORE") ?? "0";
const C1_CORES = Deno.env.get("MESHCTL_CORES_C1") ?? "1";
const C2_CORES = Deno.env.get("MESHCTL_CORES_C2") ?? "0,1";

const runFlags = Deno.readTextFileSync(`${TREE}/Makefile`).match(/^RUN_FLAGS := (.*)$/m)![1]!.trim().split(
  /\s+/,
);

interface Scenario {
  readonly name: string;
  readonly cores: string;
  readonly concurrency: number;
}
const SCENARIOS: Scenario[] = [
  { name: "c1", cores: C1_CORES, concurrency: 1 },
  { name: "c2", cores: C2_CORES, concurrency: 2 },
  { name: "c2-1cpu", cores: C1_CORES, concurrency: 2 },
].filter((s) => values.only === undefined || values.only.split(",").includes(s.name));

installSignalHandlers();
const dir = await Deno.makeTempDir({ prefix: "meshctl-workers-bench-" });

let originPort: number | undefined;
if (values.origin) {
  originPort = freePort();
  const src = `${dir}/origin.ts`;
  await Deno.writeTextFile(
    src,
    `Deno.serve({ hostname: "127.0.0.1", port: ${originPort}, onListen() {} }, () => new Response("ok"));`,
  );
  start("origin", ["taskset", "-c", WRK_CORE, DENO, "run", "-A", src]);
  await sleep(1000);
}

function config(port: number, adminPort: number): string {
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
        reuseport: values.reuseport,
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

async function wrk(port: number, seconds: number) {
  const out = await new Deno.Command("taskset", {
    args: [
      "-c",
      WRK_CORE,
      "wrk",
      "-t2",
      `-c${CONNECTIONS}`,
      `-d${seconds}s`,
      "--latency",
      `http://127.0.0.1:${port}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return parseWrk(new TextDecoder().decode(out.stdout));
}

async function once(s: Scenario): Promise<{ rps: number; cpuUsPerReq: number; errors: number }> {
  const port = freePort();
  const adminPort = freePort();
  const path = `${dir}/${s.name}.yaml`;
  await Deno.writeTextFile(path, config(port, adminPort));
  const mesh = start(`meshctl-${s.name}`, [
    "taskset",
    "-c",
    s.cores,
    DENO,
    "run",
    ...runFlags,
    `${TREE}/main.ts`,
    "serve",
    "--concurrency",
    String(s.concurrency),
    path,
  ], { cwd: TREE });
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://127.0.0.1:${adminPort}/ready`).then((r) =>
        r.body?.cancel().then(() => r.ok)
      )
        .catch(() => false);
      if (ok) break;
      if (mesh.hasExited()) throw new Error(`meshctl exited: ${mesh.output()}`);
      await sleep(100);
    }
    await wrk(port, 2); // warm-up: JIT, pools
    const cpu0 = treeCpuMicros(mesh.pid);
    const r = await wrk(port, DURATION_S);
    const cpu1 = treeCpuMicros(mesh.pid);
    if (r === undefined) throw new Error("no wrk summary");
    return { rps: r.rps, cpuUsPerReq: (cpu1 - cpu0) / r.requests, errors: r.socketErrors + r.non2xx };
  } finally {
    await mesh.stop();
  }
}

try {
  const results = new Map<string, { rps: number[]; cpu: number[]; errors: number }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of SCENARIOS) {
      const r = await once(s);
      const acc = results.get(s.name) ?? { rps: [], cpu: [], errors: 0 };
      acc.rps.push(r.rps);
      acc.cpu.push(r.cpuUsPerReq);
      acc.errors += r.errors;
      results.set(s.name, acc);
      console.error(
        `round ${round + 1} ${s.name}: ${Math.round(r.rps)} req/s, ${r.cpuUsPerReq.toFixed(1)} µs CPU/req`,
      );
    }
  }
  const base = spread(results.get("c1")?.rps ?? [])?.median ?? NaN;
  console.log(
    `\n| scenario | meshctl cores | req/s | × c1 | CPU µs/req | errors |\n|---|---|---|---|---|---|`,
  );
  for (const s of SCENARIOS) {
    const r = results.get(s.name)!;
    const rps = spread(r.rps);
    console.log(
      `| ${s.name} | ${s.cores} | ${fmtSpread(rps)} | ${((rps?.median ?? NaN) / base).toFixed(2)} | ${
        fmtSpread(spread(r.cpu))
      } | ${r.errors} |`,
    );
  }
  console.log(
    `\nwrk -t2 -c${CONNECTIONS} on core ${WRK_CORE}, ${DURATION_S}s × ${ROUNDS} rounds, ${
      originPort === undefined ? "direct_response" : "Deno origin"
    }, reuseport ${values.reuseport}, tree ${TREE}`,
  );
} finally {
  await stopAll();
  await Deno.remove(dir, { recursive: true });
}
