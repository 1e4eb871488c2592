import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  type ConfigSnapshot,
  DEFAULT_VALIDATION_CONTEXT,
  formatConfigError,
  parseConfigText,
} from "../../config/mod.ts";
import { makeTestPki } from "../../../tests/_peers/certs.ts";
import {
  convertXdsResources,
  type DecodedAny,
  decodeResource,
  encodeResource,
  mosnDocument,
  TYPE_URL,
  type XdsResources,
} from "../mod.ts";
import {
  outboundListener,
  REVIEWS,
  REVIEWS_V2,
  reviewsCluster,
  reviewsEndpoints,
  routerFilter,
  routes9080,
  T,
} from "./_istio_fixtures.ts";

const RESPONSE = "type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse";

/** As a control plane sends them: one DiscoveryResponse per type, encoded; decoded back from the bytes. */
function overTheWire(typeUrl: string, resources: Record<string, unknown>[]): DecodedAny[] {
  const bytes = encodeResource(RESPONSE, {
    version_info: "1",
    nonce: "n1",
    type_url: typeUrl,
    resources: resources.map((r) => ({ "@type": typeUrl, ...r })),
  });
  const response = decodeResource(RESPONSE, bytes);
  return (response.resources ?? []) as DecodedAny[];
}

function wire(r: {
  listeners?: Record<string, unknown>[];
  routes?: Record<string, unknown>[];
  clusters?: Record<string, unknown>[];
  endpoints?: Record<string, unknown>[];
}): XdsResources {
  return {
    listeners: overTheWire(TYPE_URL.listener, r.listeners ?? []),
    routes: overTheWire(TYPE_URL.route, r.routes ?? []),
    clusters: overTheWire(TYPE_URL.cluster, r.clusters ?? []),
    endpoints: overTheWire(TYPE_URL.endpoint, r.endpoints ?? []),
  };
}

/** Converts and validates; fails with the converter's and the validator's messages. */
function snapshotOf(resources: XdsResources): ConfigSnapshot {
  const converted = convertXdsResources(resources);
  assertEquals(converted.errors, []);
  const result = parseConfigText(JSON.stringify(mosnDocument(converted)), "xds.json");
  assertEquals(result.errors.map(formatConfigError), []);
  return result.snapshot!;
}

Deno.test("Istio-shaped LDS/RDS/CDS/EDS from wire bytes convert into a snapshot the validator accepts", () => {
  const resources = wire({
    listeners: [outboundListener()],
    routes: [routes9080()],
    clusters: [reviewsCluster(REVIEWS), reviewsCluster(REVIEWS_V2)],
    endpoints: [reviewsEndpoints(REVIEWS), reviewsEndpoints(REVIEWS_V2)],
  });
  const snap = snapshotOf(resources);
  const { warnings } = convertXdsResources(resources);
  assertEquals(warnings.filter((w) => w.startsWith(`ClusterLoadAssignment "${REVIEWS}"`)), [
    `ClusterLoadAssignment "${REVIEWS}": endpoints[0].lb_endpoints[1].load_balancing_weight: 1000 clamped to 128 (MOSN's largest host weight)`,
  ]);
  // The locality at priority 1 is the failover level: its host keeps the priority.

  const [listener] = snap.servers[0]!.listeners;
  assertEquals([listener!.name, listener!.address.hostname, listener!.address.port], [
    "0.0.0.0_9080",
    "0.0.0.0",
    9080,
  ]);
  const proxy = listener!.networkFilters[0]!;
  ok(proxy.type === "proxy");
  assertEquals(
    [proxy.routerConfigName, proxy.autoDetect, proxy.useRemoteAddress, proxy.streamIdleTimeoutMs],
    [
      "9080",
      true,
      false,
      300_000,
    ],
  );

  const router = snap.servers[0]!.routers.find((r) => r.routerConfigName === "9080")!;
  const vh = router.virtualHosts[0]!;
  assertEquals(vh.domains, [
    "reviews.default.svc.cluster.local",
    "reviews.default.svc.cluster.local:9080",
    "reviews",
    "reviews:9080",
  ]);
  const [jason, split, health, old, fallback] = vh.routers;
  assertEquals(jason!.match.prefix, "/");
  assertEquals(jason!.match.headers, [{ name: "end-user", value: "jason", regex: false }]);
  assertEquals(jason!.route!.clusterName, REVIEWS_V2);
  assertEquals(jason!.route!.timeoutMs, 500);
  assertEquals(jason!.route!.retryPolicy, {
    retryOn: true,
    retryTimeoutMs: 1000,
    numRetries: 2,
    statusCodes: [503],
    conditions: new Set(["connect-failure", "refused-stream", "5xx"]),
    backOff: { baseMs: 25, maxMs: 250 },
  });
  assertEquals(jason!.route!.requestHeadersToAdd, [{ key: "x-canary", value: "v2", append: false }]);
  // Envoy upstreams speak HTTP/1.1 unless the cluster says otherwise; the route carries it (MOSN has no cluster protocol).
  assertEquals(jason!.route!.upstreamProtocol, "Http1");
  // Envoy's exact path is case-sensitive; MOSN's `path` is not, so it becomes an anchored regex.
  assertEquals(split!.match.regex, "^/reviews/0$");
  assertEquals(split!.route!.weightedClusters, [{ name: REVIEWS, weight: 90 }, {
    name: REVIEWS_V2,
    weight: 10,
  }]);
  // Envoy's prefix_rewrite on an exact path swaps the whole path: a regex rewrite of exactly that path here
  // (MOSN's prefix_rewrite only rewrites prefix and case-insensitive path routes).
  assertEquals(split!.route!.prefixRewrite, undefined);
  assertEquals(split!.route!.regexRewrite, { pattern: "^/reviews/0$", substitution: "/r" });
  assertEquals(split!.route!.hostRewrite, "reviews.internal");
  assertEquals(split!.route!.timeoutMs, 15_000, "Envoy's default route timeout");
  assertEquals(health!.match.regex, "^(?:/health(z)?)$");
  assertEquals(health!.directResponse, { status: 200, body: "ok" });
  assertEquals(old!.redirect, { responseCode: 302, hostRedirect: "new.example", pathRedirect: "/new" });
  assertEquals(fallback!.route!.clusterName, REVIEWS);
  assertEquals(fallback!.route!.timeoutMs, 0, "Istio's timeout 0s: none");

  const reviews = snap.clusters.find((c) => c.name === REVIEWS)!;
  assertEquals(reviews.type, "SIMPLE");
  assertEquals(reviews.lbType, "LB_LEAST_REQUEST");
  assertEquals(reviews.connectTimeoutMs, 10_000);
  // UNHEALTHY and DRAINING left out; weight 1000 clamped to MOSN's 128; priority 1 kept as the failover.
  assertEquals(reviews.hosts.map((h) => [`${h.address.hostname}:${h.address.port}`, h.weight, h.priority]), [
    ["10.0.0.1:9080", 1, 0],
    ["10.0.0.2:9080", 128, 0],
    ["10.1.0.1:9080", 1, 1],
  ]);
  assertEquals(reviews.circuitBreakers.maxPendingRequests, 1000);
  assertEquals(reviews.circuitBreakers.maxRequests, 2000);
  assertEquals(reviews.circuitBreakers.maxRetries, 3);
});

Deno.test("an EDS cluster takes its endpoints by service_name, and one without a CLA gets 0 hosts and is reported", () => {
  const cluster = {
    ...reviewsCluster(REVIEWS),
    eds_cluster_config: { service_name: "reviews-eds", eds_config: { ads: {} } },
  };
  const converted = convertXdsResources(wire({
    clusters: [cluster, reviewsCluster(REVIEWS_V2)],
    endpoints: [reviewsEndpoints("reviews-eds"), reviewsEndpoints(REVIEWS)],
  }));
  assertEquals(converted.errors, []);
  assertEquals(converted.missingEndpoints, [REVIEWS_V2]);
  const byService = converted.clusters[0]!.hosts as { address: string; priority?: number }[];
  assertEquals(byService.map((h) => [h.address, h.priority ?? 0]), [
    ["10.0.0.1:9080", 0],
    ["10.0.0.2:9080", 0],
    ["10.1.0.1:9080", 1],
  ]);
  assertEquals(converted.clusters[1]!.hosts, []);
});

Deno.test("clusters that routes name and no Cluster gave are reported (the validator refuses them)", () => {
  const converted = convertXdsResources(
    wire({ routes: [routes9080()], clusters: [reviewsCluster(REVIEWS)] }),
  );
  assertEquals(converted.errors, []);
  assertEquals(converted.unknownClusters, [REVIEWS_V2]);
  const result = parseConfigText(JSON.stringify(mosnDocument(converted)), "xds.json");
  ok(result.errors.map(formatConfigError).some((e) => e.includes(`unknown cluster "${REVIEWS_V2}"`)));
});

Deno.test("an HCM's RDS name that no RouteConfiguration gave is reported as missing", () => {
  const converted = convertXdsResources(wire({ listeners: [outboundListener()] }));
  assertEquals(converted.errors, []);
  assertEquals(converted.missingRoutes, ["9080"]);
});

Deno.test("tcp_proxy, STATIC and STRICT_DNS clusters, inline route_config and HTTP/2 upstreams convert", () => {
  const h2Cluster = {
    name: "grpc-backend",
    type: "STATIC",
    lb_policy: "ROUND_ROBIN",
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": T.httpOptions,
        explicit_http_config: {
          http2_protocol_options: {
            max_concurrent_streams: { value: 100 },
            initial_stream_window_size: { value: 1 << 20 },
          },
        },
      },
    },
    load_assignment: {
      cluster_name: "grpc-backend",
      endpoints: [{
        lb_endpoints: [{
          endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 50051 } } },
        }],
      }],
    },
  };
  const dnsCluster = {
    name: "db",
    type: "STRICT_DNS",
    lb_policy: "RING_HASH",
    dns_lookup_family: "V4_ONLY",
    dns_refresh_rate: { seconds: 30 },
    load_assignment: {
      cluster_name: "db",
      endpoints: [{
        lb_endpoints: [{
          endpoint: { address: { socket_address: { address: "db.example", port_value: 5432 } } },
        }],
      }],
    },
  };
  const inline = {
    name: "0.0.0.0_50051",
    address: { socket_address: { address: "0.0.0.0", port_value: 50051 } },
    filter_chains: [{
      filters: [{
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
          "@type": T.hcm,
          codec_type: "HTTP2",
          route_config: {
            virtual_hosts: [{
              name: "all",
              domains: ["*"],
              routes: [{ match: { prefix: "/" }, route: { cluster: "grpc-backend" } }],
            }],
          },
          http_filters: [routerFilter()],
        },
      }],
    }],
  };
  const tcp = {
    name: "0.0.0.0_5432",
    address: { socket_address: { address: "::", port_value: 5432 } },
    filter_chains: [{
      filters: [{
        name: "envoy.filters.network.tcp_proxy",
        typed_config: {
          "@type": T.tcpProxy,
          stat_prefix: "db",
          cluster: "db",
          idle_timeout: { seconds: 3600 },
        },
      }],
    }],
  };
  const snap = snapshotOf(wire({ listeners: [inline, tcp], clusters: [h2Cluster, dnsCluster] }));
  const [grpcListener, tcpListener] = snap.servers[0]!.listeners;
  const proxy = grpcListener!.networkFilters[0]!;
  ok(proxy.type === "proxy");
  // An unnamed inline table gets a name from its place, for the proxy to refer to.
  const inlineName = "0.0.0.0_50051#filter_chains[0].filters[0].typed_config.route_config";
  assertEquals([proxy.downstreamProtocols, proxy.routerConfigName], [["Http2"], inlineName]);
  const route = snap.servers[0]!.routers.find((r) => r.routerConfigName === inlineName)!.virtualHosts[0]!
    .routers[0]!;
  assertEquals(route.route!.upstreamProtocol, "Http2");
  const tcpFilter = tcpListener!.networkFilters[0]!;
  ok(tcpFilter.type === "tcp_proxy");
  assertEquals([tcpFilter.cluster, tcpFilter.idleTimeoutMs], ["db", 3_600_000]);
  assertEquals(tcpListener!.address.hostname, "::");
  const grpc = snap.clusters.find((c) => c.name === "grpc-backend")!;
  assertEquals([grpc.type, grpc.lbType, grpc.hosts.length], ["SIMPLE", "LB_ROUNDROBIN", 1]);
  assertEquals([grpc.http2.maxConcurrentStreams, grpc.http2.initialStreamWindowSize], [100, 1 << 20]);
  const db = snap.clusters.find((c) => c.name === "db")!;
  assertEquals([db.type, db.lbType, db.dnsLookupFamily, db.dnsRefreshRateMs], [
    "STRICT_DNS",
    "LB_MAGLEV",
    "V4_ONLY",
    30_000,
  ]);
});

Deno.test("DownstreamTlsContext and UpstreamTlsContext become MOSN tls_contexts the validator loads", async () => {
  const pki = await makeTestPki();
  const listener = outboundListener();
  (listener.filter_chains[0] as Record<string, unknown>).transport_socket = {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": T.downstreamTls,
      require_client_certificate: { value: true },
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
        tls_certificates: [{
          certificate_chain: { inline_string: pki.server.cert },
          private_key: { inline_string: pki.server.key },
        }],
        validation_context: {
          trusted_ca: { filename: pki.ca.certPath },
          match_subject_alt_names: [{ prefix: "spiffe://cluster.local/ns/default/" }],
        },
        alpn_protocols: ["h2", "http/1.1"],
      },
    },
  };
  const cluster = {
    ...reviewsCluster(REVIEWS),
    transport_socket: {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": T.upstreamTls,
        sni: "server.test",
        common_tls_context: {
          tls_certificates: [{
            certificate_chain: { filename: pki.client.certPath },
            private_key: { filename: pki.client.keyPath },
          }],
          validation_context: { trusted_ca: { inline_string: pki.ca.cert } },
          alpn_protocols: ["h2"],
        },
      },
    },
  };
  const snap = snapshotOf(wire({
    listeners: [listener],
    routes: [routes9080()],
    clusters: [cluster, reviewsCluster(REVIEWS_V2)],
    endpoints: [reviewsEndpoints(REVIEWS)],
  }));
  const down = snap.servers[0]!.listeners[0]!.tlsContexts[0]!;
  assertEquals([down.verifyClient, down.requireClientCert, down.minVersion, down.maxVersion], [
    true,
    true,
    "TLSv1.2",
    "TLSv1.3",
  ]);
  assertEquals(down.alpn, ["h2", "http/1.1"]);
  assertEquals(down.matchSubjectAltNames, [{ kind: "prefix", value: "spiffe://cluster.local/ns/default/" }]);
  assertEquals(down.caCert!.path, pki.ca.certPath);
  ok(down.certChain!.pem.includes("BEGIN CERTIFICATE"));
  const up = snap.clusters.find((c) => c.name === REVIEWS)!.tls!;
  assertEquals([up.serverName, up.insecureSkip, up.certChain!.path, up.alpn], [
    "server.test",
    false,
    pki.client.certPath,
    ["h2"],
  ]);
  ok(up.caCert!.pem.includes("BEGIN CERTIFICATE"));
});

Deno.test("inline TLS data that is not PEM is refused, never read as a file path", () => {
  const cluster = {
    ...reviewsCluster(REVIEWS),
    transport_socket: {
      name: "tls",
      typed_config: {
        "@type": T.upstreamTls,
        common_tls_context: { validation_context: { trusted_ca: { inline_string: "/etc/shadow" } } },
      },
    },
  };
  const converted = convertXdsResources(wire({ clusters: [cluster] }));
  assertEquals(converted.errors, [
    `Cluster "${REVIEWS}": transport_socket.typed_config.common_tls_context.validation_context.trusted_ca: inline data is not PEM (no -----BEGIN line)`,
  ]);
});

Deno.test("an UpstreamTlsContext without a validation context does not verify, as in Envoy", () => {
  const cluster = {
    ...reviewsCluster(REVIEWS),
    transport_socket: { name: "tls", typed_config: { "@type": T.upstreamTls, sni: "reviews" } },
  };
  const converted = convertXdsResources(wire({ clusters: [cluster] }));
  assertEquals(converted.errors, []);
  assertEquals(converted.clusters[0]!.tls_context, {
    status: true,
    insecure_skip: true,
    server_name: "reviews",
  });
});

Deno.test("every unsupported field of a response is an error naming the resource and the field path", () => {
  const listener = outboundListener();
  const hcm = listener.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>;
  hcm.http_filters = [
    {
      name: "envoy.filters.http.lua",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua" },
    },
    routerFilter(),
  ];
  const withInspector = { ...listener, listener_filters: [{ name: "envoy.filters.listener.tls_inspector" }] };
  const routes = routes9080();
  const vh = routes.virtual_hosts[0]! as Record<string, unknown>;
  (vh.routes as Record<string, unknown>[])[0]!.match = {
    prefix: "/",
    query_parameters: [{ name: "debug", string_match: { exact: "1" } }],
    runtime_fraction: { default_value: { numerator: 50 } },
  };
  vh.cors = { allow_origin_string_match: [{ exact: "https://a.example" }] };
  const cluster = { ...reviewsCluster(REVIEWS), type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED" };
  const endpoints = {
    ...reviewsEndpoints(REVIEWS_V2),
    policy: { drop_overloads: [{ category: "lb", drop_percentage: { numerator: 5 } }] },
  };
  (routes.virtual_hosts[0]!.routes[1]!.route as Record<string, unknown>).max_stream_duration = {
    max_stream_duration: { seconds: 5 },
  };
  const eds = {
    ...reviewsCluster(REVIEWS_V2),
    health_checks: [{
      timeout: { seconds: 1 },
      interval: { seconds: 5 },
      tcp_health_check: {},
      no_traffic_interval: { seconds: 60 },
    }],
  };
  const converted = convertXdsResources(wire({
    listeners: [withInspector],
    routes: [routes],
    clusters: [cluster, eds],
    endpoints: [endpoints],
  }));
  // The cors filter's type is not in meshctl's descriptor: it stays packed and is reported by name.
  assertEquals(
    converted.errors.sort(),
    [
      `Cluster "${REVIEWS_V2}": health_checks[0].no_traffic_interval is not supported`,
      `Cluster "${REVIEWS}": lb_policy: CLUSTER_PROVIDED is not supported`,
      `Cluster "${REVIEWS}": type: ORIGINAL_DST is not supported`,
      `Listener "0.0.0.0_9080": filter_chains[0].filters[0].typed_config.http_filters[0]: envoy.filters.http.lua (type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua) is not supported (skip it with is_optional: true, or list it in dynamic_resources.ignore_filters)`,
      `Listener "0.0.0.0_9080": listener_filters is not supported`,
      `RouteConfiguration "9080": virtual_hosts[0].cors is not supported`,
      `RouteConfiguration "9080": virtual_hosts[0].routes[0].match.runtime_fraction is not supported`,
      `RouteConfiguration "9080": virtual_hosts[0].routes[1].route.max_stream_duration.max_stream_duration: only 0s (none) is supported`,
      `RouteConfiguration "9080": virtual_hosts[0].routes[1].route.max_stream_duration.grpc_timeout_header_max: only 0s is supported (grpc-timeout honoured, uncapped)`,
      `ClusterLoadAssignment "${REVIEWS_V2}": policy.drop_overloads is not supported`,
    ].sort(),
  );
});

Deno.test("envoy.filters.http.router must be the last http filter, and an HCM without it is refused", () => {
  const twice = outboundListener();
  const hcm = twice.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>;
  hcm.http_filters = [routerFilter(), routerFilter()];
  const none = { ...outboundListener(), name: "none" };
  (none.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>).http_filters = [];
  const converted = convertXdsResources(wire({ listeners: [twice, none] }));
  assertEquals(converted.errors, [
    `Listener "0.0.0.0_9080": filter_chains[0].filters[0].typed_config.http_filters[0]: envoy.filters.http.router must be the last http filter`,
    `Listener "none": filter_chains[0].filters[0].typed_config.http_filters: needs envoy.filters.http.router last`,
  ]);
});

Deno.test("routes to clusters of different protocols in one weighted split are refused", () => {
  const h2 = {
    ...reviewsCluster(REVIEWS_V2),
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": T.httpOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
  const converted = convertXdsResources(
    wire({ routes: [routes9080()], clusters: [reviewsCluster(REVIEWS), h2] }),
  );
  assertEquals(converted.errors, [
    `RouteConfiguration "9080": virtual_hosts[0].routes[1].route.weighted_clusters: clusters speak different protocols (Http1, Http2): not supported`,
  ]);
});

Deno.test("mosnDocument puts the bootstrap's static listeners, routers and clusters first", () => {
  const converted = convertXdsResources(
    wire({ clusters: [reviewsCluster(REVIEWS)], endpoints: [reviewsEndpoints()] }),
  );
  const base = {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    servers: [{ default_log_level: "WARN", listeners: [], routers: [] }],
    cluster_manager: {
      clusters: [{ name: "xds-grpc", type: "SIMPLE", hosts: [{ address: "127.0.0.1:15010" }] }],
    },
  };
  const result = parseConfigText(JSON.stringify(mosnDocument(converted, base)), "xds.json");
  assertEquals(result.errors.map(formatConfigError), []);
  assertEquals(result.snapshot!.clusters.map((c) => c.name), ["xds-grpc", REVIEWS]);
  assertEquals(result.snapshot!.servers[0]!.defaultLogLevel, "warn");
});

Deno.test("envoy.filters.http.fault becomes MOSN's fault stream filter; Istio's empty one adds nothing", () => {
  const listener = outboundListener();
  const hcm = listener.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>;
  hcm.http_filters = [
    { name: "envoy.filters.http.fault", typed_config: { "@type": T.fault } },
    {
      name: "envoy.filters.http.fault",
      typed_config: {
        "@type": T.fault,
        delay: { fixed_delay: { seconds: 2 }, percentage: { numerator: 50 } },
        abort: { http_status: 503, percentage: { numerator: 10, denominator: "TEN_THOUSAND" } },
      },
    },
    routerFilter(),
  ];
  const converted = convertXdsResources(wire({
    listeners: [listener],
    routes: [routes9080()],
    clusters: [reviewsCluster(REVIEWS), reviewsCluster(REVIEWS_V2)],
  }));
  assertEquals(converted.errors, []);
  assertEquals(converted.listeners[0]!.stream_filters, [{
    type: "fault",
    config: { delay: { fixed_delay: "2000ms", percentage: 50 }, abort: { status: 503, percentage: 0.1 } },
  }]);
  // The stream filter registry lives above config/; the server passes its names in.
  const ctx = { ...DEFAULT_VALIDATION_CONTEXT, streamFilters: ["fault"] };
  const result = parseConfigText(JSON.stringify(mosnDocument(converted)), "xds.json", ctx);
  assertEquals(result.errors.map(formatConfigError), []);
  assertEquals(result.snapshot!.servers[0]!.listeners[0]!.streamFilters.map((f) => f.type), ["fault"]);
});

Deno.test("a fault filter with header-driven or gRPC faults is refused by field", () => {
  const listener = outboundListener();
  const hcm = listener.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>;
  hcm.http_filters = [
    {
      name: "envoy.filters.http.fault",
      typed_config: { "@type": T.fault, abort: { grpc_status: 14 }, max_active_faults: { value: 1 } },
    },
    routerFilter(),
  ];
  const converted = convertXdsResources(wire({ listeners: [listener] }));
  const at = 'Listener "0.0.0.0_9080": filter_chains[0].filters[0].typed_config.http_filters[0].typed_config';
  assertEquals(converted.errors, [
    `${at}.max_active_faults is not supported`,
    `${at}.abort.grpc_status is not supported`,
    `${at}.abort: needs http_status`,
  ]);
});

Deno.test("outlier_detection, health_checks, the panic threshold and EDS priorities reach meshctl's cluster health settings", () => {
  const cluster = {
    ...reviewsCluster(REVIEWS),
    outlier_detection: {
      consecutive_5xx: { value: 3 },
      consecutive_gateway_failure: { value: 2 },
      enforcing_consecutive_gateway_failure: { value: 100 },
      interval: { seconds: 2 },
      base_ejection_time: { seconds: 15 },
      max_ejection_percent: { value: 50 },
      split_external_local_origin_errors: true,
      successful_active_health_check_uneject_host: { value: false },
    },
    health_checks: [{
      timeout: { nanos: 500_000_000 },
      interval: { seconds: 3 },
      unhealthy_threshold: { value: 2 },
      healthy_threshold: { value: 1 },
      http_health_check: {
        path: "/healthz",
        host: "reviews.local",
        expected_statuses: [{ start: 200, end: 300 }],
      },
    }],
    common_lb_config: { healthy_panic_threshold: { value: 30 } },
  };
  const endpoints = { ...reviewsEndpoints(REVIEWS), policy: { overprovisioning_factor: { value: 200 } } };
  const converted = convertXdsResources(wire({ clusters: [cluster], endpoints: [endpoints] }));
  assertEquals(converted.errors, []);
  ok(converted.warnings.some((w) => w.includes("health_checks[0]: hosts start healthy")));
  const result = parseConfigText(JSON.stringify(mosnDocument(converted)), "xds.json");
  assertEquals(result.errors.map(formatConfigError), []);
  const c = result.snapshot!.clusters.find((x) => x.name === REVIEWS)!;
  const o = c.outlierDetection!;
  assertEquals(
    [o.consecutive5xx, o.consecutiveGatewayFailure, o.enforcingConsecutiveGatewayFailure, o.intervalMs],
    [3, 2, 100, 2000],
  );
  assertEquals([o.baseEjectionTimeMs, o.maxEjectionPercent], [15_000, 50]);
  const h = c.healthCheck!;
  assertEquals([h.serviceName, h.protocol, h.timeoutMs, h.intervalMs], [REVIEWS, "Http1", 500, 3000]);
  assertEquals([h.unhealthyThreshold, h.healthyThreshold], [2, 1]);
  assertEquals([h.http!.path, h.http!.domain], ["/healthz", "reviews.local"]);
  assertEquals(h.http!.codes.map((r) => [r.start, r.end]), [[200, 299]], "Envoy's end is exclusive");
  assertEquals([c.healthyPanicThresholdPercent, c.overprovisioningFactorPercent], [30, 200]);
  assertEquals(c.hosts.filter((x) => x.priority === 1).length, 1);
});

Deno.test("health checks meshctl cannot run the same way are refused by field", () => {
  const converted = convertXdsResources(wire({
    clusters: [
      {
        ...reviewsCluster(REVIEWS),
        health_checks: [{ timeout: { seconds: 1 }, interval: { seconds: 1 }, grpc_health_check: {} }],
      },
      {
        ...reviewsCluster(REVIEWS_V2),
        health_checks: [{
          timeout: { seconds: 1 },
          interval: { seconds: 1 },
          tcp_health_check: { send: { text: "0a" } },
        }],
        common_lb_config: { locality_weighted_lb_config: {} },
      },
    ],
  }));
  assertEquals(
    converted.errors.sort(),
    [
      `Cluster "${REVIEWS_V2}": common_lb_config.locality_weighted_lb_config is not supported`,
      `Cluster "${REVIEWS_V2}": health_checks[0].tcp_health_check.send is not supported`,
      `Cluster "${REVIEWS}": health_checks[0]: needs http_health_check or tcp_health_check (others are not supported)`,
      `Cluster "${REVIEWS}": health_checks[0].grpc_health_check is not supported`,
    ].sort(),
  );
});
