/**
 * What health checking and outlier detection cost per request: wrk (core 0) → meshctl HTTP/1 listener
 * → nginx with three hosts (meshctl and nginx on core 1), keep-alive both sides, "hello" bodies. Each
 * round runs, in turn:
 *
 * - `before`: another meshctl tree (`--before DIR`, e.g. a `git archive` of the commit before the
 *   health work), no health settings; skipped without `--before`;
 * - `no health config`: this tree, no health settings (the priority balancer and an O(1) version check);
 * - `outlier + hc`: this tree with outlier_detection and a 1 s TCP health_check on every host (each
 *   response also goes through the host's outlier accounting).
 *
 * A fresh meshctl per run; CPU is utime+stime from /proc over the run ÷ requests; medians reported.
 *
 *   deno run -A bench/health_ab.ts [--rounds 5] [--duration 5] [--connections 10] [--before DIR]
 */
import { parseArgs } from "node:util";
import { DENO, LOAD_CORE, MAIN_TS, MESHCTL_FLAGS, PROXY_CORE, waitReady } from "./_harness.ts";
import { freePort, installSignalHandlers, run, sleep, start, stopAll, treeCpuMicros } from "./_proc.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    before: { type: "string" },
  },
});
const rounds = Number(args.values.rounds);
const durationS = Number(args.values.duration);
const connections = Number(args.values.connections);
const beforeDir = args.values.before;

installSignalHandlers();
const dir = await Deno.makeTempDir({ prefix: "meshctl-health-bench-" });
const ports = [freePort(), freePort(), freePort()];
const user = Deno.uid() === 0 ? "user root;\n" : "";
await Deno.writeTextFile(
  `${dir}/nginx.conf`,
  `${user}worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log; daemon off;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 10000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
${ports.map((p) => `  server { listen 127.0.0.1:${p}; location / { return 200 "hello"; } }`).join("\n")}
}
`,
);

interface Scenario {
  readonly name: string;
  readonly main: string;
  readonly cluster: Record<string, unknown>;
}

const HEALTH = {
  outlier_detection: { consecutive_5xx: 5, interval: "1s" },
  health_check: { service_name: "bench", interval: "1s", timeout: "500ms" },
};
const SCENARIOS: Scenario[] = [
  ...(beforeDir === undefined ? [] : [{ name: "before", main: `${beforeDir}/main.ts`, cluster: {} }]),
  { name: "no health config", main: MAIN_TS, cluster: {} },
  { name: "outlier + hc", main: MAIN_TS, cluster: HEALTH },
];

function config(s: Scenario, listenPort: number, adminPort: number): string {
  return JSON.stringify({
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } },
    servers: [{
      default_log_level: "ERROR",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [{ match: { prefix: "/" }, route: { cluster_name: "origin" } }],
        }],
      }],
      listeners: [{
        name: "ingress",
        address: `127.0.0.1:${listenPort}`,
        bind_port: true,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "origin",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: ports.map((p) => ({ address: `127.0.0.1:${p}` })),
        ...s.cluster,
      }],
    },
  });
}

const results = new Map<string, number[]>();
const nginx = start("nginx", ["nginx", "-c", `${dir}/nginx.conf`, "-p", dir], { core: PROXY_CORE });
try {
  await sleep(300);
  for (let round = 1; round <= rounds; round++) {
    for (const s of SCENARIOS) {
      const listenPort = freePort();
      const adminPort = freePort();
      const path = `${dir}/${s.name.replace(/\W/g, "_")}.json`;
      await Deno.writeTextFile(path, config(s, listenPort, adminPort));
      const mesh = start("meshctl", [DENO, "run", ...MESHCTL_FLAGS, s.main, "serve", path], {
        core: PROXY_CORE,
        env: { NO_COLOR: "1" },
      });
      try {
        const url = `http://127.0.0.1:${listenPort}/`;
        const notReady = await waitReady(mesh, async () => {
          const r = await fetch(url).catch(() => undefined);
          await r?.body?.cancel();
          return r?.status === 200;
        }, 8000);
        if (notReady !== undefined) throw new Error(`${s.name}: ${notReady}\n${mesh.output()}`);
        await run(["wrk", "-t1", `-c${connections}`, "-d1s", url], 10_000, { core: LOAD_CORE }); // warm-up
        const before = treeCpuMicros(mesh.pid);
        const out = await run(
          ["wrk", "-t1", `-c${connections}`, `-d${durationS}s`, url],
          (durationS + 10) * 1000,
          {
            core: LOAD_CORE,
          },
        );
        const cpu = treeCpuMicros(mesh.pid) - before;
        const n = Number(/(\d+) requests in/.exec(out.output)?.[1] ?? 0);
        const errors = /Non-2xx|Socket errors/.test(out.output) ? "  (errors!)" : "";
        if (n === 0 || errors !== "") {
          console.log(`${s.name}:\nwrk:\n${out.output}\nmeshctl:\n${mesh.output()}`);
        }
        const perRequest = cpu / n;
        (results.get(s.name) ?? results.set(s.name, []).get(s.name)!).push(perRequest);
        console.log(
          `round ${round} ${s.name.padEnd(17)} ${(n / durationS).toFixed(0).padStart(6)} req/s ` +
            `${perRequest.toFixed(1).padStart(6)} µs CPU/request${errors}`,
        );
      } finally {
        await mesh.stop();
      }
    }
  }
} finally {
  await nginx.stop();
  await stopAll();
  await Deno.remove(dir, { recursive: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\nmedians over ${rounds} rounds, ${connections} connections, ${durationS} s each:`);
for (const [name, xs] of results) {
  console.log(`  ${name.padEnd(17)} ${median(xs).toFixed(1).padStart(6)} µs CPU/request`);
}
