/**
 * What istiod 1.2x sends a sidecar (`_istio_fixtures.ts` istiod*), through the converter: each field's
 * fate — converted (and the converted config behaves), accepted without effect, or a NACK naming the
 * resource and the field path.
 */
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  type ConfigSnapshot,
  formatConfigError,
  parseConfigText,
  type ProxyFilterConfig,
} from "../../config/mod.ts";
import { compileRouteTable } from "../../router/mod.ts";
import { type RequestHead, SimpleHeaderMap } from "../../codec/mod.ts";
import {
  type ConvertOptions,
  convertXdsResources,
  type DecodedAny,
  decodeResource,
  encodeResource,
  mosnDocument,
  TYPE_URL,
  type XdsResources,
} from "../mod.ts";
import * as F from "./_istio_fixtures.ts";

const RESPONSE = "type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse";
const over = (typeUrl: string, resources: object[]) =>
  (decodeResource(
    RESPONSE,
    encodeResource(RESPONSE, {
      version_info: "1",
      nonce: "n",
      type_url: typeUrl,
      resources: resources.map((r) => ({ "@type": typeUrl, ...r })),
    }),
  ).resources ?? []) as DecodedAny[];
const wire = (r: { listeners?: object[]; routes?: object[]; clusters?: object[]; endpoints?: object[] }) => ({
  listeners: over(TYPE_URL.listener, r.listeners ?? []),
  routes: over(TYPE_URL.route, r.routes ?? []),
  clusters: over(TYPE_URL.cluster, r.clusters ?? []),
  endpoints: over(TYPE_URL.endpoint, r.endpoints ?? []),
});

/** Everything istiod sent one bookinfo sidecar (trimmed): outbound HTTP and TCP, inbound, the specials. */
const everything = () =>
  wire({
    listeners: [F.istiodOutboundListener(), F.istiodTcpListener(), F.istiodInboundListener()],
    routes: [F.istiodRoute9080(), F.istiodFaultCorsRoute()],
    clusters: [
      F.istiodEdsCluster(),
      F.istiodDestinationRuleCluster(),
      F.istiodBlackHole(),
      F.istiodPassthrough(),
      F.istiodInboundCluster(),
    ],
    endpoints: [F.istiodEndpoints(), F.istiodEndpoints(F.REVIEWS_V2)],
  });

const TELEMETRY: ConvertOptions = { ignoreFilters: F.ISTIO_TELEMETRY_FILTERS };
const HCM = "filter_chains[0].filters[0].typed_config";
const unknown = (where: string, name: string, type: string) =>
  `${where}: ${name} (${type}) is not supported (skip it with is_optional: true, or list it in dynamic_resources.ignore_filters)`;

/** What meshctl cannot do for a real sidecar, whatever the options: listener capture, ORIGINAL_DST, SDS. */
const STRUCTURAL_NACKS = [
  `Listener "0.0.0.0_9080": listener_filters is not supported`,
  `Listener "0.0.0.0_9080": listener_filters_timeout is not supported`,
  `Listener "0.0.0.0_9080": continue_on_listener_filters_timeout is not supported`,
  `Listener "0.0.0.0_9080": default_filter_chain is not supported`,
  `Listener "0.0.0.0_9080": filter_chains[0].filter_chain_match is not supported`,
  `Listener "virtualInbound": listener_filters is not supported`,
  `Listener "virtualInbound": listener_filters_timeout is not supported`,
  `Listener "virtualInbound": continue_on_listener_filters_timeout is not supported`,
  `Listener "virtualInbound": filter_chains: exactly one filter chain is supported (got 2)`,
  `Listener "virtualInbound": filter_chains[0].filter_chain_match is not supported`,
  `Listener "virtualInbound": ${HCM}.forward_client_cert_details is not supported`,
  `Listener "virtualInbound": ${HCM}.set_current_client_cert_details is not supported`,
  `RouteConfiguration "9081": virtual_hosts[0].routes[0].typed_per_filter_config is not supported`,
  `Cluster "${F.REVIEWS}": transport_socket_matches[0].transport_socket: only raw_buffer is supported here (no TLS chosen by endpoint metadata)`,
  `Cluster "PassthroughCluster": type: ORIGINAL_DST is not supported`,
  `Cluster "PassthroughCluster": lb_policy: CLUSTER_PROVIDED is not supported`,
  `Cluster "inbound|9080||": cleanup_interval is not supported`,
  `Cluster "inbound|9080||": upstream_bind_config is not supported`,
  `Cluster "inbound|9080||": type: ORIGINAL_DST is not supported`,
  `Cluster "inbound|9080||": lb_policy: CLUSTER_PROVIDED is not supported`,
];

Deno.test("istiod's sidecar resources: by default every unknown filter is a NACK naming the resource and field path", () => {
  const c = convertXdsResources(everything());
  const filters = (listener: string) => [
    unknown(`Listener "${listener}": ${HCM}.http_filters[0]`, "istio.metadata_exchange", F.ISTIO_TYPES.wasm),
    unknown(
      `Listener "${listener}": ${HCM}.http_filters[1]`,
      "envoy.filters.http.grpc_stats",
      F.ISTIO_TYPES.grpcStats,
    ),
    unknown(`Listener "${listener}": ${HCM}.http_filters[2]`, "istio.alpn", F.ISTIO_TYPES.alpn),
    unknown(`Listener "${listener}": ${HCM}.http_filters[4]`, "envoy.filters.http.cors", F.T.cors),
    unknown(`Listener "${listener}": ${HCM}.http_filters[5]`, "istio.stats", F.ISTIO_TYPES.stats),
  ];
  const clusterFilter = (name: string) =>
    unknown(`Cluster "${name}": filters[0]`, "istio.metadata_exchange", F.ISTIO_TYPES.metadataExchange);
  assertEquals(
    c.errors.sort(),
    [
      ...STRUCTURAL_NACKS,
      ...filters("0.0.0.0_9080"),
      ...filters("virtualInbound"),
      unknown(`Listener "10.96.0.1_443": filter_chains[0].filters[0]`, "istio.stats", F.ISTIO_TYPES.stats),
      clusterFilter(F.REVIEWS),
      clusterFilter(F.REVIEWS_V2),
      clusterFilter("PassthroughCluster"),
    ].sort(),
  );
  assertEquals(c.skippedFilters, []);
  // Accepted as converting faithfully or without effect: fault (empty), router, tracing,
  // request_id_extension, normalize_path, metadata, decorators, validate_clusters, common_lb_config {}.
  assertEquals(c.warnings, []);
});

Deno.test("ignore_filters skips Istio's telemetry filters (each reported); what remains is structural", () => {
  const c = convertXdsResources(everything(), TELEMETRY);
  assertEquals(c.errors.sort(), [...STRUCTURAL_NACKS].sort());
  assertEquals(c.skippedFilters.length, 14);
  ok(c.skippedFilters.includes(
    `Listener "10.96.0.1_443": filter_chains[0].filters[0]: istio.stats (${F.ISTIO_TYPES.stats}) skipped (listed in dynamic_resources.ignore_filters)`,
  ));
  ok(c.skippedFilters.includes(
    `Cluster "${F.REVIEWS_V2}": filters[0]: istio.metadata_exchange (${F.ISTIO_TYPES.metadataExchange}) skipped (listed in dynamic_resources.ignore_filters)`,
  ));
});

Deno.test("an http filter marked is_optional is skipped and reported, as Envoy skips an unknown optional filter", () => {
  const l = F.istiodOutboundListenerBound();
  const hcm = l.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>;
  hcm.http_filters = [
    {
      name: "example.telemetry",
      is_optional: true,
      typed_config: { "@type": "type.googleapis.com/example.Telemetry" },
    },
    F.routerFilter(),
  ];
  const c = convertXdsResources(wire({ listeners: [l] }));
  assertEquals(c.errors, []);
  assertEquals(c.skippedFilters, [
    `Listener "0.0.0.0_9080": ${HCM}.http_filters[0]: example.telemetry (type.googleapis.com/example.Telemetry) skipped (is_optional)`,
  ]);
});

/** The part of istiod's output meshctl serves: a bound outbound listener, RDS, plaintext EDS clusters. */
function servable(): { snap: ConfigSnapshot; resources: XdsResources } {
  const resources = wire({
    listeners: [F.istiodOutboundListenerBound()],
    routes: [F.istiodRoute9080()],
    clusters: [
      F.istiodEdsCluster(F.REVIEWS, { mtls: false }),
      F.istiodDestinationRuleCluster(),
      F.istiodBlackHole(),
    ],
    endpoints: [F.istiodEndpoints(), F.istiodEndpoints(F.REVIEWS_V2, ["10.244.0.201"])],
  });
  const c = convertXdsResources(resources, TELEMETRY);
  assertEquals(c.errors, []);
  assertEquals(c.unknownClusters, ["PassthroughCluster"]);
  const doc = mosnDocument({
    ...c,
    clusters: [...c.clusters, {
      name: "PassthroughCluster",
      type: "SIMPLE",
      lb_type: "LB_ROUNDROBIN",
      hosts: [],
    }],
  });
  const r = parseConfigText(JSON.stringify(doc), "xds.json");
  assertEquals(r.errors.map(formatConfigError), []);
  return { snap: r.snapshot!, resources };
}

const request = (
  path: string,
  query = "",
  headers: Record<string, string> = {},
  host = "reviews",
): RequestHead => {
  const h = new SimpleHeaderMap();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  return { protocol: "Http1", kind: "http", method: "GET", path, query, host, headers: h };
};

Deno.test("istiod's outbound HCM converts to Envoy's behaviours: normalized paths, request ids, server header, 1 h idle", () => {
  const { snap } = servable();
  const listener = snap.servers[0]!.listeners[0]!;
  const proxy = listener.networkFilters[0] as ProxyFilterConfig;
  assertEquals(
    [
      proxy.normalizePath,
      proxy.generateRequestId,
      proxy.serverHeader,
      proxy.useRemoteAddress,
      proxy.streamIdleTimeoutMs,
    ],
    [true, true, { mode: "OVERWRITE", name: "envoy" }, false, 0],
  );
  assertEquals(listener.connectionIdleTimeoutMs, 3_600_000);
  assertEquals(proxy.routerConfigName, "9080");
});

Deno.test("istiod's VirtualService routes behave as in Envoy once converted: matches, rewrites, retries", () => {
  const { snap } = servable();
  const table = compileRouteTable(snap.servers[0]!.routers.find((r) => r.routerConfigName === "9080")!);
  const route = (head: RequestHead) => table.match(head)!.route;

  const jason = route(request("/anything", "", { "end-user": "jason" }));
  assertEquals([jason.clusterName, jason.timeoutMs], [F.REVIEWS_V2, 500]);
  assertEquals(jason.retryPolicy, {
    retryOn: true,
    retryTimeoutMs: 2000,
    numRetries: 3,
    statusCodes: [],
    conditions: new Set(["gateway-error", "connect-failure", "refused-stream"]),
    backOff: { baseMs: 25, maxMs: 250 },
    hostSelectionAttempts: 5,
  });
  assertEquals(table.match(request("/anything"))!.vhost.includeRequestAttemptCount, true);

  // path_separated_prefix "/api" + query canary=true; prefix_rewrite swaps exactly the matched prefix.
  const canary = request("/api/x", "?canary=true");
  assertEquals(route(canary).clusterName, F.REVIEWS_V2);
  route(canary).rewrite(canary);
  assertEquals(canary.path, "/v2/api/x");
  assertEquals(route(request("/api", "?canary=true")).clusterName, F.REVIEWS_V2);
  assertEquals(route(request("/apix", "?canary=true")).clusterName, F.REVIEWS, "not a path segment");
  assertEquals(route(request("/api/x", "?canary=false")).clusterName, F.REVIEWS, "query must match");

  // Exact path + weighted split; prefix_rewrite on an exact path replaces the whole path.
  const split = request("/reviews/0");
  const r = route(split);
  assertEquals(r.weightedClusters, [{ name: F.REVIEWS, weight: 90 }, { name: F.REVIEWS_V2, weight: 10 }]);
  assertEquals([r.pickCluster(() => 0.5), r.pickCluster(() => 0.95)], [F.REVIEWS, F.REVIEWS_V2]);
  r.rewrite(split);
  assertEquals([split.path, split.host], ["/r/0", "reviews.internal"]);
  assertEquals(route(request("/REVIEWS/0")).clusterName, F.REVIEWS, "case-sensitive: falls to default");

  // safe_regex + regex_rewrite with Envoy's \1.
  const rating = request("/ratings/42");
  route(rating).rewrite(rating);
  assertEquals(rating.path, "/r/42");

  // Istio's default retry policy on the catch-all route.
  const fallback = route(request("/other"));
  assertEquals(
    fallback.retryPolicy?.conditions,
    new Set(["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"]),
  );
  assertEquals([fallback.retryPolicy?.numRetries, fallback.retryPolicy?.statusCodes, fallback.timeoutMs], [
    2,
    [503],
    0,
  ]);
  assertEquals(table.match(request("/", "", {}, "example.com"))!.route.clusterName, "PassthroughCluster");
});

Deno.test("istiod's clusters: LEAST_REQUEST, Istio's unlimited circuit breakers, DestinationRule connection pool", () => {
  const { snap } = servable();
  const reviews = snap.clusters.find((c) => c.name === F.REVIEWS)!;
  assertEquals(
    [reviews.lbType, reviews.connectTimeoutMs, reviews.idleTimeoutMs, reviews.maxRequestPerConn],
    ["LB_LEAST_REQUEST", 10_000, 3_600_000, 0],
  );
  assertEquals(reviews.circuitBreakers, {
    maxConnections: 4294967295,
    maxPendingRequests: 4294967295,
    maxRequests: 4294967295,
    maxRetries: 4294967295,
  });
  assertEquals(reviews.hosts.map((h) => `${h.address.hostname}:${h.address.port}`), [
    "10.244.0.192:9080",
    "10.244.0.193:9080",
  ]);
  const dr = snap.clusters.find((c) => c.name === F.REVIEWS_V2)!;
  assertEquals([dr.connectTimeoutMs, dr.idleTimeoutMs, dr.maxRequestPerConn], [250, 30_000, 10]);
  assertEquals(dr.circuitBreakers, {
    maxConnections: 100,
    maxPendingRequests: 10,
    maxRequests: 200,
    maxRetries: 5,
  });
  const blackhole = snap.clusters.find((c) => c.name === "BlackHoleCluster")!;
  assertEquals([blackhole.hosts.length, blackhole.connectTimeoutMs], [0, 10_000]);
});

Deno.test("header values with Envoy %…% formatters, bad RE2 substitutions and all-zero splits are NACKs naming the field", () => {
  const rc = {
    name: "r",
    virtual_hosts: [{
      name: "v",
      domains: ["*"],
      request_headers_to_add: [{ header: { key: "x-client", value: "%DOWNSTREAM_REMOTE_ADDRESS%" } }],
      response_headers_to_add: [{ header: { key: "x-pct", value: "100%%" } }],
      routes: [
        {
          match: { prefix: "/a" },
          route: { cluster: "c", regex_rewrite: { pattern: { regex: "a" }, substitution: "\\x" } },
        },
        {
          match: { prefix: "/b" },
          route: { weighted_clusters: { clusters: [{ name: "c", weight: { value: 0 } }] } },
        },
      ],
    }],
  };
  const c = convertXdsResources(wire({ routes: [rc] }));
  assertEquals(c.errors, [
    `RouteConfiguration "r": virtual_hosts[0].routes[0].route.regex_rewrite.substitution: invalid escape \\x (use \\0-\\9 or \\\\)`,
    `RouteConfiguration "r": virtual_hosts[0].routes[1].route.weighted_clusters: needs a cluster with a weight above 0`,
    `RouteConfiguration "r": virtual_hosts[0].request_headers_to_add[0].header.value: Envoy's %…% formatters are not supported ("%DOWNSTREAM_REMOTE_ADDRESS%"; write %% for a literal %)`,
  ]);
  assertEquals((c.routers[0]!.virtual_hosts as Record<string, unknown>[])[0]!.response_headers_to_add, [
    { header: { key: "x-pct", value: "100%" }, append: true },
  ]);
});

Deno.test("a virtual host's retry policy applies to its routes without one; a weight-0 cluster is left out", () => {
  const rc = {
    name: "r",
    virtual_hosts: [{
      name: "v",
      domains: ["*"],
      retry_policy: { retry_on: "5xx", num_retries: { value: 4 } },
      routes: [
        { match: { prefix: "/own" }, route: { cluster: "c", retry_policy: { retry_on: "reset" } } },
        {
          match: { prefix: "/" },
          route: {
            weighted_clusters: {
              clusters: [{ name: "c", weight: { value: 0 } }, { name: "d", weight: { value: 5 } }],
            },
          },
        },
      ],
    }],
  };
  const c = convertXdsResources(wire({ routes: [rc] }));
  assertEquals(c.errors, []);
  const routes = (c.routers[0]!.virtual_hosts as Record<string, unknown>[])[0]!.routers as Record<
    string,
    Record<string, unknown>
  >[];
  assertEquals((routes[0]!.route!.retry_policy as Record<string, unknown>).retry_conditions, ["reset"]);
  assertEquals(
    (routes[0]!.route!.retry_policy as Record<string, unknown>).num_retries,
    1,
    "Envoy's default, not the vhost's",
  );
  assertEquals((routes[1]!.route!.retry_policy as Record<string, unknown>).retry_conditions, ["5xx"]);
  assertEquals((routes[1]!.route!.retry_policy as Record<string, unknown>).num_retries, 4);
  assertEquals(routes[1]!.route!.weighted_clusters, [{ cluster: { name: "d", weight: 5 } }]);
});

Deno.test("endpoint health: UNHEALTHY/DRAINING/TIMEOUT left out, DEGRADED kept with a warning naming it", () => {
  const cla = F.istiodEndpoints(F.REVIEWS, ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"]);
  const statuses = ["HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"];
  cla.endpoints[0]!.lb_endpoints.forEach((e, i) => e.health_status = statuses[i]!);
  const c = convertXdsResources(
    wire({ clusters: [F.istiodEdsCluster(F.REVIEWS, { mtls: false })], endpoints: [cla] }),
    TELEMETRY,
  );
  assertEquals(c.errors, []);
  assertEquals((c.clusters[0]!.hosts as { address: string }[]).map((h) => h.address), [
    "10.0.0.1:9080",
    "10.0.0.5:9080",
  ]);
  assertEquals(c.warnings, [
    `ClusterLoadAssignment "${F.REVIEWS}": endpoints[0].lb_endpoints[4].health_status: DEGRADED is balanced as healthy (Envoy uses it only when too few are healthy)`,
  ]);
});
