/**
 * meshctl's CPU per request to a TLS upstream, by TLS stack: wrk (core 0) → meshctl plain HTTP listener
 * → nginx (meshctl and nginx on core 1), keep-alive both sides, "hello" bodies. Each round runs, in turn:
 *
 * - `plaintext`: the cluster without tls_context (the baseline);
 * - `node:tls`: tls_context with ca_cert (UpstreamTls runs it on node:tls, NodeSocketConn);
 * - `Deno.startTls`: tls_context without ca_cert (system roots: UpstreamTls runs it on Deno.startTls;
 *   the test CA joins the roots through DENO_CERT).
 *
 * A fresh meshctl per run; CPU is utime+stime from /proc over the run ÷ requests. Reports each run and
 * the medians. Certificates are made per run with the openssl CLI (tests/_peers/certs.ts).
 *
 *   deno run -A bench/tls_upstream_ab.ts [--rounds 5] [--duration 5] [--connections 10] [--cpu-prof DIR]
 */
import { parseArgs } from "node:util";
import { makeTestPki } from "../tests/_peers/certs.ts";
import { abRounds, median } from "./_ab.ts";
import { meshctlArgv, PROXY_CORE } from "./_harness.ts";
import { freePort, installSignalHandlers, sleep, start, stopAll } from "./_proc.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "10" },
    "cpu-prof": { type: "string" },
  },
});
const rounds = Number(args.values.rounds);
const durationS = Number(args.values.duration);
const connections = Number(args.values.connections);
const cpuProfDir = args.values["cpu-prof"];

installSignalHandlers();
const pki = await makeTestPki();
const dir = await Deno.makeTempDir({ prefix: "meshctl-tls-bench-" });
const plainPort = freePort();
const tlsPort = freePort();
const user = Deno.uid() === 0 ? "user root;\n" : "";
await Deno.writeTextFile(
  `${dir}/nginx.conf`,
  `${user}worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log; daemon off;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 10000000; ssl_protocols TLSv1.2 TLSv1.3;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${plainPort}; location / { return 200 "hello"; } }
  server {
    listen 127.0.0.1:${tlsPort} ssl; ssl_certificate ${pki.server.certPath};
    ssl_certificate_key ${pki.server.keyPath}; location / { return 200 "hello"; }
  }
}
`,
);

interface Scenario {
  readonly name: string;
  readonly port: number;
  readonly tls: Record<string, unknown> | undefined;
  readonly env?: Record<string, string>;
}

const ONLY = Deno.env.get("TLS_BENCH_ONLY");
const SCENARIOS: Scenario[] = ([
  { name: "plaintext", port: plainPort, tls: undefined },
  { name: "node:tls", port: tlsPort, tls: { status: true, ca_cert: pki.ca.certPath } },
  { name: "Deno.startTls", port: tlsPort, tls: { status: true }, env: { DENO_CERT: pki.ca.certPath } },
] satisfies Scenario[]).filter((s) => ONLY === undefined || s.name === ONLY);

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
        type: "STRICT_DNS", // host "localhost": the name both stacks verify
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: `localhost:${s.port}` }],
        ...(s.tls === undefined ? {} : { tls_context: s.tls }),
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
    meshctl: (s, path, round) => ({
      argv: meshctlArgv(path, cpuProfDir, `${s.name}-${round}`),
      env: { NO_COLOR: "1", ...(s.env ?? {}) },
    }),
  });
} finally {
  await nginx.stop();
  await stopAll();
  await pki.remove();
  await Deno.remove(dir, { recursive: true });
}

const base = median(results.get("plaintext") ?? [NaN]);
console.log(`\nmedians over ${rounds} rounds, ${connections} connections, ${durationS} s each:`);
for (const [name, xs] of results) {
  const m = median(xs);
  const extra = name === "plaintext" ? "" : `  (+${(m - base).toFixed(1)} µs over plaintext)`;
  console.log(`  ${name.padEnd(14)} ${m.toFixed(1).padStart(6)} µs CPU/request${extra}`);
}
