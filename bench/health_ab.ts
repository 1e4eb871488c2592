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
import { abRounds, median } from "./_ab.ts";
import { DENO, MAIN_TS, MESHCTL_FLAGS, PROXY_CORE } from "./_harness.ts";
import { freePort, installSignalHandlers, sleep, start, stopAll } from "./_proc.ts";

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

let results = new Map<string, number[]>();
const nginx = start("nginx", ["nginx", "-c", `${dir}/nginx.conf`, "-p", dir], { core: PROXY_CORE });
try {
  await sleep(300);
  results = await abRounds({
    scenarios: SCENARIOS,
    rounds,
    durationS,
    connections,
    dir,
    config,
    meshctl: (s, path) => ({
      argv: [DENO, "run", ...MESHCTL_FLAGS, s.main, "serve", path],
      env: { NO_COLOR: "1" },
    }),
  });
} finally {
  await nginx.stop();
  await stopAll();
  await Deno.remove(dir, { recursive: true });
}

console.log(`\nmedians over ${rounds} rounds, ${connections} connections, ${durationS} s each:`);
for (const [name, xs] of results) {
  console.log(`  ${name.padEnd(17)} ${median(xs).toFixed(1).padStart(6)} µs CPU/request`);
}
