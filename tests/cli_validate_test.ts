import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { ROOT, runMeshctl } from "./_util.ts";

Deno.test("meshctl validate prints one ok line per valid file and exits 0", async () => {
  const r = await runMeshctl([
    "validate",
    "config/meshctl.yaml",
    "config/mosn_examples/proxy-fallback-example_config.json",
  ]);
  assertEquals(r.stderr.trim(), "");
  assertEquals(
    r.stdout,
    "config/meshctl.yaml: ok (3 listeners, 2 clusters, 3 routers)\n" +
      "config/mosn_examples/proxy-fallback-example_config.json: ok (1 listener, 2 clusters, 1 router)\n",
  );
  assertEquals(r.code, 0);
});

Deno.test("meshctl validate accepts every example config", async () => {
  const files = [...walkConfigs(`${ROOT}config`)].map((f) => f.slice(ROOT.length)).sort();
  assertEquals(files.length > 10, true);
  const r = await runMeshctl(["validate", ...files]);
  // No errors. Warnings: MOSN's dubbo examples enable tracing, which meshctl does not do, its tcpproxy
  // sample names routes its cluster makes unused, and its protocol-auto TLS pair restricts the key-exchange
  // groups (which the TLS stack cannot do) and sets verify_client on a cluster (a listener's setting). MOSN's
  // xDS bootstraps carry blocks meshctl does not use (metrics, pprof, layered_runtime, cluster_names) and the
  // Istio one has no node (MOSN takes it from flags).
  const tracing =
    'tracing: warning: tracing is not implemented in meshctl: no spans are recorded or reported (driver "SOFATracer" is accepted so the config loads)';
  const curves =
    'ecdh_curves "P256" cannot be honoured: the TLS stack negotiates X25519, P-256 and P-384 and cannot be restricted (accepted so MOSN configs load)';
  assertEquals(r.stderr.trim().split("\n"), [
    `config/mosn_examples/dubbo_client_config.json:75:14: ${tracing}`,
    `config/mosn_examples/dubbo_server_config.json:75:14: ${tracing}`,
    'config/mosn_examples/tcpproxy-sample_config.json:19:31: servers[0].listeners[0].filter_chains[0].filters[0].config.routes: warning: routes are never consulted: every connection goes to cluster "serverCluster", as in MOSN (leave cluster out to pick the cluster by address)',
    "config/mosn_examples/tls/protocol-auto-sample_tls_client_config.json:56:23: cluster_manager.clusters[0].tls_context.verify_client: warning: verify_client has no effect on a cluster: client certificates are a listener's setting (a cluster sends its cert_chain when the server asks for one)",
    `config/mosn_examples/tls/protocol-auto-sample_tls_client_config.json:57:21: cluster_manager.clusters[0].tls_context.ecdh_curves: warning: ${curves}`,
    `config/mosn_examples/tls/protocol-auto-sample_tls_server_config.json:33:23: servers[0].listeners[0].filter_chains[0].tls_context.ecdh_curves: warning: ${curves}`,
    "config/mosn_examples/xds/istio152_mosn_xds.json:2:24: dynamic_resources: warning: no node.id: control planes tell proxies apart by it (go-control-plane caches by it, istiod refuses a connection without one)",
    "config/mosn_examples/xds/istio152_mosn_xds.json:11:24: dynamic_resources.ads_config.cluster_names: warning: cluster_names (Envoy v2's REST field) is not used: the control plane is reached through grpc_services",
    "config/mosn_examples/xds/istio152_mosn_xds.json:36:14: metrics: warning: MOSN's metrics sinks are not implemented: stats are served by the admin API (/stats) (accepted)",
    "config/mosn_examples/xds/istio152_mosn_xds.json:57:11: pprof: warning: MOSN's Go profiler does not apply to meshctl (accepted)",
    "config/mosn_examples/xds/xds-server-sample_config.json:78:22: layered_runtime: warning: meshctl has no Envoy runtime: layered_runtime (and any RTDS in it) is not used (accepted)",
  ]);
  const ok = r.stdout.trim().split("\n");
  assertEquals(ok.length, files.length);
  assertEquals(
    ok.filter((l) => !/: ok \(\d+ listeners?, \d+ clusters?, \d+ routers?(; \d+ warnings?)?\)$/.test(l)),
    [],
  );
  assertEquals(r.code, 0);
});

Deno.test("meshctl validate reports every error at once with file:line:col", async () => {
  const r = await runMeshctl(["validate", "config/invalid/mistakes.yaml"]);
  const f = "config/invalid/mistakes.yaml";
  const route = "servers[0].routers[0].virtual_hosts[0].routers";
  const filters = "servers[0].listeners[0].filter_chains[0].filters[0].config";
  assertEquals(r.stdout, "");
  assertEquals(r.stderr.trim().split("\n"), [
    `${f}:3:24: servers[0].default_log_level: unknown value "VERBOSE"; expected one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`,
    `${f}:4:23: servers[0].graceful_timeout: expected a duration string like "30s" or "30ms" (MOSN reads bare numbers as nanoseconds)`,
    `${f}:11:17: ${route}[0]: a route takes only one of route, direct_response or redirect (got route, direct_response)`,
    `${f}:11:24: ${route}[0].match: match takes at most one of prefix, path, regex or connect_matcher (got prefix, path)`,
    `${f}:12:58: ${route}[0].route.timeout: invalid duration "5 seconds"; expected Go syntax like "1s", "500ms", "1m30s"`,
    `${f}:14:33: ${route}[1].match.regex: invalid regex "([a-z": missing closing ]: \`[a-z\``,
    `${f}:15:40: ${route}[1].route.cluster_name: unknown cluster "backnd"; did you mean "backend"?`,
    `${f}:17:44: ${route}[2].direct_response.status: 700 is out of range; expected 100..599`,
    `${f}:24:48: ${filters}.downstream_protocol: unknown protocol "Htp1"; did you mean "Http1"?`,
    `${f}:24:74: ${filters}.router_config_name: no router named "mian" in servers[].routers; did you mean "main"?`,
    `${f}:25:15: servers[0].listeners[1].name: duplicate listener "web" (also at servers[0].listeners[0].name)`,
    `${f}:26:18: servers[0].listeners[1].address: address "0.0.0.0:8080" is already used by servers[0].listeners[0]`,
    `${f}:30:25: servers[0].listeners[1].filter_chains[0].filters[0].config.router_config_name: missing required field "router_config_name"`,
    `${f}:34:16: cluster_manager.clusters[0].lb_type: unknown value "LB_RANDOMM"; did you mean "LB_RANDOM"?`,
    `${f}:35:7: cluster_manager.clusters[0].conect_timeout: unknown field "conect_timeout"; did you mean "connect_timeout"?`,
    `${f}:37:22: cluster_manager.clusters[0].hosts[0].address: invalid address "127.0.0.1"; expected "host:port" or "tcp://host:port"`,
    `${f}:37:41: cluster_manager.clusters[0].hosts[0].weight: 0 is out of range; expected 1..128`,
    `${f}:38:13: cluster_manager.clusters[1].name: duplicate cluster "backend" (also at cluster_manager.clusters[0].name)`,
    `${f}:39:49: cluster_manager.clusters[1].hosts[0].weight: 200 is out of range; expected 1..128`,
  ]);
  assertEquals(r.code, 1);
});

Deno.test("meshctl validate names each unsupported MOSN feature", async () => {
  const r = await runMeshctl(["validate", "config/invalid/unsupported.yaml"]);
  const f = "config/invalid/unsupported.yaml";
  assertEquals(r.stderr.trim().split("\n"), [
    `${f}:3:14: static_resources.listeners: listeners is not supported yet (use servers[].listeners)`,
    `${f}:4:10: tracing: warning: tracing is not implemented in meshctl: no spans are recorded or reported (driver "SOFATracer" is accepted so the config loads)`,
    `${f}:14:42: servers[0].routers[0].virtual_hosts[0].routers[0].request_mirror_policies: request_mirror_policies is not supported yet`,
    `${f}:19:54: servers[0].listeners[0].filter_chains[0].tls_context.sds_source: sds_source is not supported yet: certificates from SDS arrive with xDS`,
    `${f}:22:48: servers[0].listeners[0].filter_chains[0].filters[0].config.downstream_protocol: protocol "tars" is not supported yet (supported: Http1, Http2, bolt, boltv2, dubbo)`,
    `${f}:24:19: servers[0].listeners[0].stream_filters[0].type: stream filter "gzip" is not supported yet`,
    `${f}:29:13: cluster_manager.clusters[0].type: "STATIC" is not supported yet (supported: SIMPLE, STRICT_DNS)`,
    `${f}:30:16: cluster_manager.clusters[0].lb_type: "LB_LEAST_CONNECTION" is not supported yet (supported: LB_RANDOM, LB_ROUNDROBIN, LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST, LB_MAGLEV)`,
    `${f}:31:19: cluster_manager.clusters[0].slow_start: slow_start is not supported yet`,
    `${f}:32:25: cluster_manager.clusters[0].lb_subset_config: lb_subset_config is not supported yet`,
  ]);
  assertEquals(r.code, 1);
});

Deno.test("meshctl validate reports syntax errors, duplicate keys and missing files, checking every file", async () => {
  const r = await runMeshctl([
    "validate",
    "config/invalid/syntax_error.conf",
    "config/invalid/duplicate_keys.json",
    "config/nope.yaml",
    "config/meshctl.yaml",
  ]);
  assertEquals(r.stdout, "config/meshctl.yaml: ok (3 listeners, 2 clusters, 3 routers)\n");
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 3);
  assertMatch(lines[0]!, /^config\/invalid\/syntax_error\.conf:6:1: syntax error: /);
  assertEquals(
    lines[1],
    'config/invalid/duplicate_keys.json:9:22: cluster_manager.clusters[0].name: duplicate field "Name" (first set at 9:9)',
  );
  assertEquals(lines[2], "config/nope.yaml:1:1: cannot read the config: no such file");
  assertEquals(r.code, 1);
});

Deno.test("meshctl validate lets any number of listeners and the admin API ask for port 0", async () => {
  const listener = (name: string, address: string) => `
      - name: ${name}
        address: ${address}
        filter_chains: [{ filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }] }]`;
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      file,
      `servers:
  - routers:
      - router_config_name: r
        virtual_hosts: [{ name: all, domains: ["*"], routers: [{ match: { prefix: / }, direct_response: { status: 200 } }] }]
    listeners:${listener("a", "127.0.0.1:0")}${listener("b", "127.0.0.1:0")}${listener("c", "0.0.0.0:0")}${
        listener("d", "127.0.0.1:7000")
      }${listener("e", "127.0.0.1:7000")}
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
`,
    );
    const r = await runMeshctl(["validate", file]);
    // Only the fixed port used twice clashes.
    assertEquals(r.stderr.trim().split("\n"), [
      `${file}:19:18: servers[0].listeners[4].address: address "127.0.0.1:7000" is already used by servers[0].listeners[3]`,
    ]);
    assertEquals(r.code, 1);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("meshctl validate prints warnings as FILE:LINE:COL: PATH: warning: and still exits 0", async () => {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      file,
      `servers:
  - listeners:
      - name: raw
        address: 127.0.0.1:0
        filter_chains: [{ filters: [{ type: tcp_proxy, config: { cluster: a, routes: [{ cluster: a }] } }] }]
cluster_manager: { clusters: [{ name: a, hosts: [{ address: 127.0.0.1:9 }] }] }
tracing: { enable: true, driver: Zipkin }
`,
    );
    const r = await runMeshctl(["validate", file]);
    assertEquals(r.stdout, `${file}: ok (1 listener, 1 cluster, 0 routers; 2 warnings)\n`);
    assertEquals(r.stderr.trim().split("\n"), [
      `${file}:5:86: servers[0].listeners[0].filter_chains[0].filters[0].config.routes: warning: routes are never consulted: every connection goes to cluster "a", as in MOSN (leave cluster out to pick the cluster by address)`,
      `${file}:7:10: tracing: warning: tracing is not implemented in meshctl: no spans are recorded or reported (driver "Zipkin" is accepted so the config loads)`,
    ]);
    assertEquals(r.code, 0);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("meshctl validate exits 2 on usage errors", async () => {
  const none = await runMeshctl(["validate"]);
  assertEquals(none.code, 2);
  assertMatch(none.stderr, /no config file given/);
  const flag = await runMeshctl(["validate", "--strict", "config/meshctl.yaml"]);
  assertEquals(flag.code, 2);
  assertMatch(flag.stderr, /unknown option "--strict"/);
  assertEquals(flag.stdout, "");
});

Deno.test("meshctl validate prints no colour when NO_COLOR is set or output is piped", async () => {
  const r = await runMeshctl(["validate", "config/invalid/syntax_error.conf"], { NO_COLOR: "" });
  assertEquals(r.stderr.includes("\x1b["), false);
});

Deno.test("meshctl schema prints a JSON Schema", async () => {
  const r = await runMeshctl(["schema"]);
  assertEquals(r.code, 0);
  const schema = JSON.parse(r.stdout);
  assertEquals(schema.$schema, "http://json-schema.org/draft-07/schema#");
  // servers is optional: an xDS bootstrap (dynamic_resources) may have none.
  assertEquals(schema.required, undefined);
  assertEquals(schema.properties.dynamic_resources.properties.ads_config.required, [
    "api_type",
    "grpc_services",
  ]);
  assertEquals(
    schema.properties.cluster_manager.properties.clusters.items.properties.lb_type.enum.includes("LB_MAGLEV"),
    true,
  );
});

function* walkConfigs(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "invalid") yield* walkConfigs(p);
    else if (e.isFile && /\.(ya?ml|json)$/.test(e.name)) yield p;
  }
}

Deno.test("meshctl validate checks an xDS bootstrap with positions: errors at the field, exit 1", async () => {
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(
      file,
      `dynamic_resources:
  ads_config: { api_type: DELTA_GRPC, grpc_services: [{ envoy_grpc: { cluster_name: xds } }] }
  lds_config: { ads: {} }
static_resources:
  clusters: [{ name: xds-grpc, hosts: [{ socket_address: { address: 127.0.0.1, port_value: 15010 } }] }]
node: { id: sidecar~10.0.0.1~app.default }
`,
    );
    const r = await runMeshctl(["validate", file]);
    assertEquals(r.stdout, "");
    assertEquals(r.stderr.trim().split("\n"), [
      `${file}:2:27: dynamic_resources.ads_config.api_type: "DELTA_GRPC" is not supported yet (supported: GRPC)`,
      `${file}:2:85: dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: unknown cluster "xds" (the ADS cluster must be defined in this file: static_resources.clusters or cluster_manager.clusters)`,
      `${file}:6:13: node.id: warning: "sidecar~10.0.0.1~app.default" has 3 "~" parts, not 4: istiod refuses it (expected type~ip~pod.namespace~namespace.svc.cluster.local)`,
    ]);
    assertEquals(r.code, 1);
  } finally {
    await Deno.remove(file);
  }
});
