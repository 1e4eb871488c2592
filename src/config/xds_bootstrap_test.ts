import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { type ConfigError, loadConfigFile, parseConfigText } from "./mod.ts";

/** An xDS-only bootstrap, line numbers fixed: tests replace single lines. */
const BOOT = `dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
      - envoy_grpc: { cluster_name: xds-grpc }
    set_node_on_first_message_only: true
  lds_config: { ads: {}, initial_fetch_timeout: 20s }
  cds_config: { ads: {}, resource_api_version: V3 }
static_resources:
  clusters:
    - name: xds-grpc
      type: STRICT_DNS
      connect_timeout: 1s
      lb_policy: RANDOM
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: istiod.istio-system.svc, port_value: 15010 } } }
      http2_protocol_options: {}
node:
  id: sidecar~10.1.2.3~app-7d9.default~default.svc.cluster.local
  cluster: app.default
  metadata: { NAMESPACE: default, ISTIO_VERSION: "1.22.0" }
  locality: { region: eu, zone: eu-1a }
`;

/** BOOT with 1-based line `n` replaced by `text` (which may span lines). */
function at(n: number, text: string): string {
  const lines = BOOT.split("\n");
  lines[n - 1] = text;
  return lines.join("\n");
}

function problems(text: string): { errors: string[]; warnings: string[] } {
  const r = parseConfigText(text, "b.yaml");
  const show = (e: ConfigError) => `${e.line}:${e.col} ${e.path}: ${e.message}`;
  return { errors: r.errors.map(show), warnings: r.warnings.map(show) };
}

function errorsOf(text: string): string[] {
  return problems(text).errors;
}

Deno.test("an xDS bootstrap without servers builds snapshot.xds and converts the Envoy cluster", () => {
  const { snapshot, errors, warnings } = parseConfigText(BOOT, "b.yaml");
  assertEquals(errors, []);
  assertEquals(warnings, []);
  ok(snapshot);
  assertEquals(snapshot.servers, []);
  assertEquals(snapshot.xds, {
    adsCluster: "xds-grpc",
    adsAuthority: undefined,
    node: {
      id: "sidecar~10.1.2.3~app-7d9.default~default.svc.cluster.local",
      cluster: "app.default",
      metadata: { NAMESPACE: "default", ISTIO_VERSION: "1.22.0" },
      locality: { region: "eu", zone: "eu-1a", subZone: "" },
      userAgentName: undefined,
      userAgentVersion: undefined,
      clientFeatures: [],
    },
    initialFetchTimeoutMs: 20_000,
    subscribeLds: true,
    subscribeCds: true,
    maxReceiveMessageBytes: 16 * 1024 * 1024,
    keepaliveIntervalMs: 30_000,
    keepaliveTimeoutMs: 10_000,
    ignoreFilters: [],
  });
  ok(Object.isFrozen(snapshot.xds) && Object.isFrozen(snapshot.xds!.node.metadata));
  const c = snapshot.clusters[0]!;
  equal(c.name, "xds-grpc");
  equal(c.type, "STRICT_DNS");
  equal(c.lbType, "LB_RANDOM");
  equal(c.connectTimeoutMs, 1000);
  assertEquals(c.hosts, [{
    address: { hostname: "istiod.istio-system.svc", port: 15010 },
    weight: 1,
    tlsDisable: false,
    priority: 0,
  }]);
  equal(c.tls, undefined);
});

Deno.test("Envoy's defaults for a static cluster: STATIC, ROUND_ROBIN, 5s connect, 15s initial fetch", () => {
  const text = `dynamic_resources:
  ads_config: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: cp } }] }
  cds_config: { ads: {} }
static_resources:
  clusters:
    - name: cp
      hosts: [{ socket_address: { address: 127.0.0.1, port_value: 18000 } }]
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 65536 } }
      circuit_breakers: { thresholds: [{ max_requests: 7 }] }
node: { id: test-id, cluster: test-cluster }
`;
  const { snapshot, errors, warnings } = parseConfigText(text, "b.yaml");
  assertEquals(errors, []);
  assertEquals(warnings, []);
  const c = snapshot!.clusters[0]!;
  assertEquals([c.type, c.lbType, c.connectTimeoutMs], ["SIMPLE", "LB_ROUNDROBIN", 5000]);
  assertEquals(c.hosts[0]!.address, { hostname: "127.0.0.1", port: 18000 });
  equal(c.http2.initialStreamWindowSize, 65536);
  equal(c.circuitBreakers.maxRequests, 7);
  equal(c.circuitBreakers.maxConnections, 1024);
  assertEquals(
    [snapshot!.xds!.initialFetchTimeoutMs, snapshot!.xds!.subscribeLds, snapshot!.xds!.subscribeCds],
    [15_000, false, true],
  );
});

Deno.test("servers with dynamic_resources is mixed mode: a route may name a cluster CDS will bring", () => {
  const text = BOOT + `servers:
  - routers:
      - router_config_name: r
        virtual_hosts:
          - name: v
            domains: ["*"]
            routers: [{ match: { prefix: / }, route: { cluster_name: "outbound|9080||reviews.default.svc.cluster.local" } }]
    listeners:
      - address: 127.0.0.1:0
        filter_chains: [{ filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }] }]
`;
  const { snapshot, errors, warnings } = parseConfigText(text, "b.yaml");
  assertEquals(errors, []);
  assertEquals(warnings.map((w) => `${w.line}:${w.col} ${w.message}`), [
    '32:70 unknown cluster "outbound|9080||reviews.default.svc.cluster.local": not in this file, so it must ' +
    "come from CDS (until then its requests fail)",
  ]);
  equal(snapshot!.servers[0]!.listeners.length, 1);
  ok(snapshot!.xds);
  // Without cds_config the same route is an error, as in a file config.
  const noCds = text.replace("  cds_config: { ads: {}, resource_api_version: V3 }\n", "");
  assertEquals(errorsOf(noCds), [
    '31:70 servers[0].routers[0].virtual_hosts[0].routers[0].route.cluster_name: unknown cluster "outbound|9080||reviews.default.svc.cluster.local"',
  ]);
});

Deno.test("a config with neither servers nor dynamic_resources is an error", () => {
  assertEquals(errorsOf("admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }\n"), [
    '1:1 servers: missing required field "servers" (a config without dynamic_resources gets its listeners ' +
    "from servers)",
  ]);
});

Deno.test("ads_config: api_type GRPC only, V3 only, exactly one envoy_grpc service", () => {
  assertEquals(errorsOf(at(3, "    api_type: REST")), [
    '3:15 dynamic_resources.ads_config.api_type: "REST" is not supported yet (supported: GRPC)',
  ]);
  assertEquals(errorsOf(at(3, "    api_type: DELTA_GRPC")), [
    '3:15 dynamic_resources.ads_config.api_type: "DELTA_GRPC" is not supported yet (supported: GRPC)',
  ]);
  assertEquals(errorsOf(at(4, "    transport_api_version: V2")), [
    '4:28 dynamic_resources.ads_config.transport_api_version: "V2" is not supported yet (supported: V3)',
  ]);
  assertEquals(errorsOf(at(6, "      - google_grpc: { target_uri: 'istiod:15010', stat_prefix: x }")), [
    '6:9 dynamic_resources.ads_config.grpc_services[0].envoy_grpc: missing required field "envoy_grpc"',
    "6:22 dynamic_resources.ads_config.grpc_services[0].google_grpc: google_grpc is not supported yet (use " +
    "envoy_grpc with a static cluster)",
  ]);
  assertEquals(
    errorsOf(
      at(6, "      - envoy_grpc: { cluster_name: xds-grpc }\n      - envoy_grpc: { cluster_name: xds-grpc }"),
    ),
    [
      "6:7 dynamic_resources.ads_config.grpc_services: must have at most 1 item",
    ],
  );
  assertEquals(errorsOf(at(6, "    grpc_services: []").replace("    grpc_services:\n", "")), [
    "5:20 dynamic_resources.ads_config.grpc_services: must not be empty",
  ]);
});

Deno.test("ads_config's cluster must be a cluster of the file", () => {
  assertEquals(errorsOf(at(6, "      - envoy_grpc: { cluster_name: xds-grcp }")), [
    '6:37 dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: unknown cluster "xds-grcp"; ' +
    'did you mean "xds-grpc"? (the ADS cluster must be defined in this file: static_resources.clusters or ' +
    "cluster_manager.clusters)",
  ]);
  // A cluster_manager cluster (MOSN's file form) serves as well.
  const file = BOOT.replace(/static_resources:[\s\S]*?(?=node:)/, "") +
    "cluster_manager:\n  clusters:\n    - { name: xds-grpc, hosts: [{ address: 127.0.0.1:15010 }] }\n";
  const r = parseConfigText(file, "b.yaml");
  assertEquals(r.errors, []);
  equal(r.snapshot!.xds!.adsCluster, "xds-grpc");
});

Deno.test("refresh_delay and cluster_names are accepted with a warning; an ADS cluster without HTTP/2 warns", () => {
  const text = at(7, "    refresh_delay: 1s\n    cluster_names: [xxx]").replace(
    "      http2_protocol_options: {}\n",
    "",
  );
  const { errors, warnings } = problems(text);
  assertEquals(errors, []);
  assertEquals(warnings, [
    "7:20 dynamic_resources.ads_config.refresh_delay: refresh_delay is not used: meshctl is event-driven, it " +
    "applies what the control plane pushes and never re-requests on a timer (MOSN does)",
    "8:20 dynamic_resources.ads_config.cluster_names: cluster_names (Envoy v2's REST field) is not used: the " +
    "control plane is reached through grpc_services",
    "13:13 static_resources.clusters[0].name: the ADS cluster does not set http2_protocol_options: gRPC needs " +
    "HTTP/2, which meshctl speaks to it anyway (Envoy wants it set)",
  ]);
});

Deno.test("lds_config / cds_config must be ADS", () => {
  assertEquals(errorsOf(at(8, "  lds_config: { path: /etc/lds.yaml }")), [
    "8:15 dynamic_resources.lds_config: needs ads: {}: meshctl takes listeners over ADS only",
    "8:23 dynamic_resources.lds_config.path: path is not supported yet (resources from files)",
  ]);
  const other = at(
    9,
    "  cds_config:\n    api_config_source: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: other } }] }",
  );
  assertEquals(errorsOf(other), [
    "10:88 dynamic_resources.cds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name: only ADS " +
    'is supported: this names cluster "other", ads_config names "xds-grpc" (use ads: {})',
  ]);
  assertEquals(
    errorsOf(
      at(
        9,
        "  cds_config: { ads: {}, api_config_source: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: xds-grpc } }] } }",
      ),
    ),
    [
      "9:15 dynamic_resources.cds_config: set either ads or api_config_source, not both",
    ],
  );
  assertEquals(errorsOf(at(9, "  cds_config: { ads: {}, resource_api_version: V2 }")), [
    '9:48 dynamic_resources.cds_config.resource_api_version: "V2" is not supported yet (supported: V3)',
  ]);
  // ads: {} without ads_config has no stream to ride on: one error, at dynamic_resources.
  const noAds = BOOT.replace(/ {2}ads_config:[\s\S]*?(?= {2}lds_config)/, "");
  assertEquals(errorsOf(noAds), [
    "2:3 dynamic_resources: needs ads_config: meshctl takes listeners and clusters over ADS only (one gRPC stream)",
  ]);
});

Deno.test("an api_config_source naming the ADS cluster is ADS; differing initial_fetch_timeouts warn, the longer wins", () => {
  const text = at(
    9,
    "  cds_config:\n    initial_fetch_timeout: 0s\n" +
      "    api_config_source: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: xds-grpc } }] }",
  );
  const { snapshot, errors, warnings } = parseConfigText(text, "b.yaml");
  assertEquals(errors, []);
  assertEquals(warnings.map((w) => `${w.line}:${w.col} ${w.path}`), [
    "10:28 dynamic_resources.cds_config.initial_fetch_timeout",
  ]);
  equal(snapshot!.xds!.subscribeCds, true);
  equal(snapshot!.xds!.initialFetchTimeoutMs, 0);
});

Deno.test("the ADS client's knobs: envoy_grpc.max_receive_message_length, the ADS cluster's connection_keepalive (ADS only, ≥ 1ms)", () => {
  const text = at(6, "      - envoy_grpc: { cluster_name: xds-grpc, max_receive_message_length: 65536 }")
    .replace(
      "      http2_protocol_options: {}",
      "      http2_protocol_options: { connection_keepalive: { interval: 5s, timeout: 2s } }",
    );
  const { snapshot, errors, warnings } = parseConfigText(text, "b.yaml");
  assertEquals([errors, warnings], [[], []]);
  assertEquals(
    [
      snapshot!.xds!.maxReceiveMessageBytes,
      snapshot!.xds!.keepaliveIntervalMs,
      snapshot!.xds!.keepaliveTimeoutMs,
    ],
    [65536, 5_000, 2_000],
  );
  // Envoy's typed_extension_protocol_options form works the same.
  const typed = BOOT.replace(
    "      http2_protocol_options: {}",
    "      typed_extension_protocol_options:\n" +
      "        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n" +
      '          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n' +
      "          explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: 7s } } }",
  );
  const t = parseConfigText(typed, "b.yaml");
  assertEquals(t.errors, []);
  assertEquals([t.snapshot!.xds!.keepaliveIntervalMs, t.snapshot!.xds!.keepaliveTimeoutMs], [7_000, 10_000]);
  // Envoy's 0 = unlimited is refused: every limit is explicit.
  assertEquals(
    errorsOf(at(6, "      - envoy_grpc: { cluster_name: xds-grpc, max_receive_message_length: 0 }")),
    [
      "6:75 dynamic_resources.ads_config.grpc_services[0].envoy_grpc.max_receive_message_length: 0 is out of range; expected 1..2147483647",
    ],
  );
  assertEquals(
    errorsOf(BOOT.replace(
      "      http2_protocol_options: {}",
      "      http2_protocol_options: { connection_keepalive: { interval: 0s } }",
    )),
    [
      "20:67 static_resources.clusters[0].http2_protocol_options.connection_keepalive.interval: must be at least 1ms (Envoy's minimum)",
    ],
  );
  const other = BOOT.replace(
    "node:",
    "    - name: other\n      http2_protocol_options: { connection_keepalive: { interval: 5s } }\n" +
      "      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: " +
      "{ address: 127.0.0.1, port_value: 1 } } } }] }] }\nnode:",
  );
  assertEquals(errorsOf(other), [
    "22:55 static_resources.clusters[1].http2_protocol_options.connection_keepalive: connection_keepalive is supported on the ADS cluster only (meshctl's upstream HTTP/2 sends no PINGs)",
  ]);
});

Deno.test("static_resources: listeners are refused, Envoy clusters' unsupported parts are named", () => {
  assertEquals(errorsOf(at(10, "static_resources:\n  listeners: [{ name: l }]")), [
    "11:14 static_resources.listeners: listeners is not supported yet (use servers[].listeners)",
  ]);
  assertEquals(errorsOf(at(13, "      type: EDS")), [
    '13:13 static_resources.clusters[0].type: "EDS" is not supported yet (supported: STATIC, STRICT_DNS, LOGICAL_DNS)',
  ]);
  assertEquals(errorsOf(at(15, "      lb_policy: RING_HASH")), [
    '15:18 static_resources.clusters[0].lb_policy: "RING_HASH" is not supported yet (supported: ROUND_ROBIN, ' +
    "LEAST_REQUEST, RANDOM, MAGLEV)",
  ]);
  assertEquals(errorsOf(at(13, "      type: STATIC")), [
    '19:67 static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "istiod.istio-system.svc" is not an IP address: a STATIC cluster needs IPs (use type STRICT_DNS for a name)',
  ]);
  // TLS is the one transport socket (xds_tls_test.ts); it needs its UpstreamTlsContext.
  assertEquals(errorsOf(at(20, "      transport_socket: { name: envoy.transport_sockets.tls }")), [
    '20:25 static_resources.clusters[0].transport_socket.typed_config: missing required field "typed_config"',
  ]);
  assertEquals(errorsOf(at(18, "          - priority: 1\n            lb_endpoints:")), [
    "18:23 static_resources.clusters[0].load_assignment.endpoints[0].priority: priority 1 is not supported yet: " +
    "meshctl has no priority failover (only 0)",
  ]);
  const { warnings } = problems(at(13, "      type: LOGICAL_DNS"));
  assertEquals(warnings, [
    "13:13 static_resources.clusters[0].type: LOGICAL_DNS is resolved as STRICT_DNS: meshctl balances over " +
    "every address the name resolves to (Envoy connects to the first one only)",
  ]);
});

Deno.test("static_resources: hosts and load_assignment exclude each other; both HTTP/2 forms exclude each other", () => {
  assertEquals(
    errorsOf(
      at(15, "      lb_policy: RANDOM\n      hosts: [{ socket_address: { address: a.b, port_value: 1 } }]"),
    ),
    [
      "18:9 static_resources.clusters[0].load_assignment: set either hosts or load_assignment, not both",
    ],
  );
  const both = at(
    20,
    "      http2_protocol_options: {}\n      typed_extension_protocol_options:\n" +
      "        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n" +
      '          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n' +
      "          explicit_http_config: { http2_protocol_options: {} }",
  );
  assertEquals(errorsOf(both), [
    "20:31 static_resources.clusters[0].http2_protocol_options: set either http2_protocol_options or " +
    'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"], not both ' +
    "(Envoy refuses both too)",
  ]);
  assertEquals(
    errorsOf(
      at(
        20,
        "      typed_extension_protocol_options: { envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions: {} }",
      ),
    ),
    [
      '20:43 static_resources.clusters[0].typed_extension_protocol_options.envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions: unknown field "envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions"; did you mean "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"?',
    ],
  );
  // Cluster names are unique across static_resources and cluster_manager.
  assertEquals(
    errorsOf(
      BOOT + "cluster_manager:\n  clusters:\n    - { name: xds-grpc, hosts: [{ address: 127.0.0.1:1 }] }\n",
    ),
    [
      '12:13 static_resources.clusters[0].name: duplicate cluster "xds-grpc" (also at cluster_manager.clusters[0].name)',
    ],
  );
});

Deno.test("node: Istio's id form is checked (4 parts, sidecar or router, an IP); no id warns", () => {
  const warn = (id: string) => problems(at(22, `  id: ${id}`)).warnings;
  const form = "istiod refuses it (expected type~ip~pod.namespace~namespace.svc.cluster.local)";
  assertEquals(warn("sidecar~10.1.2.3~app.default"), [
    `22:7 node.id: "sidecar~10.1.2.3~app.default" has 3 "~" parts, not 4: ${form}`,
  ]);
  assertEquals(warn("gateway~10.1.2.3~gw.istio-system~istio-system.svc.cluster.local"), [
    `22:7 node.id: node type "gateway" is neither sidecar nor router: ${form}`,
  ]);
  assertEquals(warn("router~pod-ip~gw.ns~ns.svc.cluster.local"), [
    '22:7 node.id: "pod-ip" is not an IP address and node.metadata has no INSTANCE_IPS: istiod cannot tell ' +
    "this proxy's address",
  ]);
  assertEquals(warn("test-id"), []); // not Istio's form: go-control-plane's sample id
  assertEquals(problems(BOOT.replace(/node:[\s\S]*$/, "")).warnings, [
    "2:3 dynamic_resources: no node.id: control planes tell proxies apart by it (go-control-plane caches by " +
    "it, istiod refuses a connection without one)",
  ]);
});

Deno.test("MOSN's own xDS bootstraps validate, with warnings for what meshctl does not use", async () => {
  const dir = new URL("../../config/mosn_examples/xds/", import.meta.url).pathname;
  const istio = await loadConfigFile(`${dir}istio152_mosn_xds.json`);
  assertEquals(istio.errors, []);
  assertEquals(istio.warnings.map((w) => `${w.line}:${w.col} ${w.path}`), [
    "2:24 dynamic_resources",
    "11:24 dynamic_resources.ads_config.cluster_names",
    "36:14 metrics",
    "57:11 pprof",
  ]);
  const x = istio.snapshot!.xds!;
  assertEquals([x.adsCluster, x.subscribeLds, x.subscribeCds, x.initialFetchTimeoutMs], [
    "xds-grpc",
    true,
    true,
    15_000,
  ]);
  const cp = istio.snapshot!.clusters[0]!;
  assertEquals([cp.name, cp.type, cp.lbType], ["xds-grpc", "STRICT_DNS", "LB_RANDOM"]);
  assertEquals(cp.hosts[0]!.address, { hostname: "istio-pilot.istio-system.svc.cluster.local", port: 15010 });

  const sample = await loadConfigFile(`${dir}xds-server-sample_config.json`);
  assertEquals(sample.errors, []);
  assertEquals(sample.warnings.map((w) => `${w.line}:${w.col} ${w.path}`), ["78:22 layered_runtime"]);
  const s = sample.snapshot!;
  assertEquals(s.xds!.node.id, "test-id");
  assertEquals(s.xds!.node.cluster, "test-cluster");
  assertEquals(s.xds!.adsCluster, "xds_cluster");
  assertEquals(s.clusters[0]!.hosts[0]!.address, { hostname: "127.0.0.1", port: 9002 });
  equal(s.clusters[0]!.connectTimeoutMs, 1000);
  assertEquals(s.admin.address, { hostname: "127.0.0.1", port: 9003 });
});

Deno.test("dynamic_resources.ignore_filters: kept in snapshot.xds; implemented, empty, duplicate names refused with positions", () => {
  const good = parseConfigText(
    at(9, "  cds_config: { ads: {} }\n  ignore_filters: [istio.stats, istio.metadata_exchange]"),
    "b.yaml",
  );
  assertEquals(good.errors, []);
  assertEquals(good.snapshot!.xds!.ignoreFilters, ["istio.stats", "istio.metadata_exchange"]);
  assertEquals(parseConfigText(BOOT, "b.yaml").snapshot!.xds!.ignoreFilters, []);
  const bad = problems(
    at(
      9,
      "  cds_config: { ads: {} }\n  ignore_filters: [envoy.filters.http.router, x, x, '', envoy.filters.http.rbac]",
    ),
  );
  assertEquals(bad.errors, [
    "10:20 dynamic_resources.ignore_filters[0]: envoy.filters.http.router is implemented by meshctl: it cannot be ignored",
    "10:50 dynamic_resources.ignore_filters[2]: x is listed twice",
    "10:53 dynamic_resources.ignore_filters[3]: a filter name must not be empty",
  ]);
  ok(
    bad.warnings.some((w) =>
      w.includes("ignore_filters[4]: skipping envoy.filters.http.rbac drops the access control it enforces")
    ),
  );
});
