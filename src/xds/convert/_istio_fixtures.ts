/**
 * Istio-shaped Envoy v3 resources (as istiod sends for the bookinfo `reviews` service), in the decoder's
 * plain-object form: encodeResource turns them into the wire bytes a control plane sends.
 */
export const T = {
  hcm:
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  tcpProxy: "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
  upstreamTls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  downstreamTls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
  httpOptions: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  fault: "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
  /** Outside meshctl's descriptor (Istio puts it in every sidecar HCM). */
  cors: "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors",
} as const;

export const REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";
export const REVIEWS_V2 = "outbound|9080|v2|reviews.default.svc.cluster.local";

export const routerFilter = () => ({
  name: "envoy.filters.http.router",
  typed_config: { "@type": T.router },
});

export const outboundListener = () => ({
  name: "0.0.0.0_9080",
  address: { socket_address: { address: "0.0.0.0", port_value: 9080 } },
  traffic_direction: "OUTBOUND",
  filter_chains: [{
    filters: [{
      name: "envoy.filters.network.http_connection_manager",
      typed_config: {
        "@type": T.hcm,
        stat_prefix: "outbound_0.0.0.0_9080",
        codec_type: "AUTO",
        rds: { route_config_name: "9080", config_source: { ads: {}, resource_api_version: "V3" } },
        use_remote_address: { value: false },
        stream_idle_timeout: { seconds: 300 },
        upgrade_configs: [{ upgrade_type: "websocket" }],
        http_filters: [routerFilter()],
      },
    }],
  }],
});

export const routes9080 = () => ({
  name: "9080",
  validate_clusters: { value: false },
  virtual_hosts: [{
    name: "reviews.default.svc.cluster.local:9080",
    domains: [
      "reviews.default.svc.cluster.local",
      "reviews.default.svc.cluster.local:9080",
      "reviews",
      "reviews:9080",
    ],
    routes: [
      {
        name: "v2-for-jason",
        match: {
          prefix: "/",
          headers: [{ name: "end-user", string_match: { exact: "jason" } }],
        },
        route: {
          cluster: REVIEWS_V2,
          timeout: { seconds: 0, nanos: 500_000_000 },
          retry_policy: {
            retry_on: "connect-failure,refused-stream,5xx",
            num_retries: { value: 2 },
            per_try_timeout: { seconds: 1 },
            retriable_status_codes: [503],
          },
        },
        request_headers_to_add: [{ header: { key: "x-canary", value: "v2" }, append: { value: false } }],
      },
      {
        name: "split",
        match: { path: "/reviews/0" },
        route: {
          weighted_clusters: {
            clusters: [{ name: REVIEWS, weight: { value: 90 } }, { name: REVIEWS_V2, weight: { value: 10 } }],
          },
          prefix_rewrite: "/r",
          host_rewrite_literal: "reviews.internal",
        },
      },
      {
        name: "health",
        match: { safe_regex: { regex: "/health(z)?" } },
        direct_response: { status: 200, body: { inline_string: "ok" } },
      },
      {
        name: "old",
        match: { prefix: "/old" },
        redirect: { host_redirect: "new.example", path_redirect: "/new", response_code: "FOUND" },
      },
      {
        name: "default",
        match: { prefix: "/" },
        route: {
          cluster: REVIEWS,
          timeout: { seconds: 0 },
          max_stream_duration: { grpc_timeout_header_max: { seconds: 0 } },
        },
      },
    ],
  }],
});

export const reviewsCluster = (name = REVIEWS) => ({
  name,
  type: "EDS",
  eds_cluster_config: { service_name: name, eds_config: { ads: {}, resource_api_version: "V3" } },
  connect_timeout: { seconds: 10 },
  lb_policy: "LEAST_REQUEST",
  circuit_breakers: {
    thresholds: [{
      max_connections: { value: 4294967295 >>> 12 },
      max_pending_requests: { value: 1000 },
      max_requests: { value: 2000 },
      max_retries: { value: 3 },
    }],
  },
  metadata: { filter_metadata: {} },
});

export const reviewsEndpoints = (name = REVIEWS) => ({
  cluster_name: name,
  endpoints: [
    {
      locality: { region: "us-east1", zone: "us-east1-b" },
      lb_endpoints: [
        {
          endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 9080 } } },
          load_balancing_weight: { value: 1 },
        },
        {
          endpoint: { address: { socket_address: { address: "10.0.0.2", port_value: 9080 } } },
          load_balancing_weight: { value: 1000 },
        },
        {
          endpoint: { address: { socket_address: { address: "10.0.0.3", port_value: 9080 } } },
          health_status: "UNHEALTHY",
        },
        {
          endpoint: { address: { socket_address: { address: "10.0.0.4", port_value: 9080 } } },
          health_status: "DRAINING",
        },
      ],
      load_balancing_weight: { value: 3 },
    },
    {
      locality: { region: "us-west1" },
      priority: 1,
      lb_endpoints: [{
        endpoint: { address: { socket_address: { address: "10.1.0.1", port_value: 9080 } } },
      }],
    },
  ],
});

// === What istiod 1.2x really sends a sidecar ===
// Field sets taken from Envoy config dumps of Istio sidecars (istioctl's test data: a bookinfo sidecar's
// listeners, routes, clusters and endpoints, Istio 1.18-1.21) and trimmed to one service each; names are
// ours. Types meshctl's descriptor does not hold (Wasm, istio.stats' PluginConfig, ALPN, RBAC, SDS-only
// bits) travel packed, as a control plane sends them.

const s = (seconds: number, nanos = 0) => ({ seconds, nanos });

/** Outside meshctl's descriptor: sent packed, decoded as `{"@type"}` only. */
export const ISTIO_TYPES = {
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  stats: "type.googleapis.com/stats.PluginConfig",
  alpn: "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig",
  grpcStats: "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
  metadataExchange: "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
  uuid: "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
  rawBuffer: "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  tlsInspector: "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  httpInspector: "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
  previousHosts: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
} as const;

/**
 * What dynamic_resources.ignore_filters is for: Istio's telemetry filters in every sidecar, and its CORS
 * filter (settings-free: policies come per route, which meshctl refuses, so skipping it changes nothing).
 */
export const ISTIO_TELEMETRY_FILTERS = [
  "istio.metadata_exchange",
  "envoy.filters.http.grpc_stats",
  "istio.alpn",
  "istio.stats",
  "envoy.filters.http.cors",
];

/** The HTTP filters istiod puts in a sidecar's outbound HCM, in its order. */
export const istiodHttpFilters = () => [
  { name: "istio.metadata_exchange", typed_config: { "@type": ISTIO_TYPES.wasm } },
  { name: "envoy.filters.http.grpc_stats", typed_config: { "@type": ISTIO_TYPES.grpcStats } },
  { name: "istio.alpn", typed_config: { "@type": ISTIO_TYPES.alpn } },
  { name: "envoy.filters.http.fault", typed_config: { "@type": T.fault } },
  { name: "envoy.filters.http.cors", typed_config: { "@type": T.cors } },
  { name: "istio.stats", typed_config: { "@type": ISTIO_TYPES.stats } },
  routerFilter(),
];

/** The outbound HCM for port 9080 (RDS "9080"), as istiod builds it. */
export const istiodOutboundHcm = () => ({
  "@type": T.hcm,
  stat_prefix: "outbound_0.0.0.0_9080",
  rds: {
    config_source: { ads: {}, initial_fetch_timeout: s(0), resource_api_version: "V3" },
    route_config_name: "9080",
  },
  http_filters: istiodHttpFilters(),
  tracing: {
    client_sampling: { value: 100 },
    random_sampling: { value: 1 },
    overall_sampling: { value: 100 },
  },
  use_remote_address: { value: false },
  upgrade_configs: [{ upgrade_type: "websocket" }],
  stream_idle_timeout: s(0),
  normalize_path: { value: true },
  request_id_extension: { typed_config: { "@type": ISTIO_TYPES.uuid } },
  path_with_escaped_slashes_action: "KEEP_UNCHANGED",
});

/** Outbound listener 0.0.0.0_9080: HTTP chain by ALPN sniffing, TCP passthrough by default. */
export const istiodOutboundListener = () => ({
  name: "0.0.0.0_9080",
  address: { socket_address: { address: "0.0.0.0", port_value: 9080 } },
  filter_chains: [{
    filter_chain_match: { transport_protocol: "raw_buffer", application_protocols: ["http/1.1", "h2c"] },
    filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: istiodOutboundHcm() }],
  }],
  default_filter_chain: {
    name: "PassthroughFilterChain",
    filters: [
      { name: "istio.stats", typed_config: { "@type": ISTIO_TYPES.stats } },
      {
        name: "envoy.filters.network.tcp_proxy",
        typed_config: {
          "@type": T.tcpProxy,
          stat_prefix: "PassthroughCluster",
          cluster: "PassthroughCluster",
        },
      },
    ],
  },
  listener_filters: [
    { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": ISTIO_TYPES.tlsInspector } },
    { name: "envoy.filters.listener.http_inspector", typed_config: { "@type": ISTIO_TYPES.httpInspector } },
  ],
  listener_filters_timeout: s(0),
  continue_on_listener_filters_timeout: true,
  traffic_direction: "OUTBOUND",
  bind_to_port: { value: false },
});

/** The same outbound HTTP listener reduced to what meshctl serves: one chain, bound (no iptables capture). */
export const istiodOutboundListenerBound = () => ({
  name: "0.0.0.0_9080",
  address: { socket_address: { address: "127.0.0.1", port_value: 9080 } },
  filter_chains: [{
    filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: istiodOutboundHcm() }],
  }],
  traffic_direction: "OUTBOUND",
});

/** A TCP service's outbound listener: istio.stats then tcp_proxy. */
export const istiodTcpListener = () => ({
  name: "10.96.0.1_443",
  address: { socket_address: { address: "10.96.0.1", port_value: 443 } },
  filter_chains: [{
    filters: [
      { name: "istio.stats", typed_config: { "@type": ISTIO_TYPES.stats } },
      {
        name: "envoy.filters.network.tcp_proxy",
        typed_config: {
          "@type": T.tcpProxy,
          stat_prefix: "outbound|443||kubernetes.default.svc.cluster.local",
          cluster: "outbound|443||kubernetes.default.svc.cluster.local",
        },
      },
    ],
  }],
  traffic_direction: "OUTBOUND",
  bind_to_port: { value: false },
});

/** virtualInbound (15006): original-destination capture, one chain per port and transport. */
export const istiodInboundListener = () => ({
  name: "virtualInbound",
  address: { socket_address: { address: "0.0.0.0", port_value: 15006 } },
  listener_filters: [
    {
      name: "envoy.filters.listener.original_dst",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
      },
    },
  ],
  listener_filters_timeout: s(0),
  traffic_direction: "INBOUND",
  continue_on_listener_filters_timeout: true,
  filter_chains: [
    {
      name: "0.0.0.0_9080",
      filter_chain_match: { destination_port: { value: 9080 }, transport_protocol: "raw_buffer" },
      filters: [{
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
          "@type": T.hcm,
          stat_prefix: "inbound_0.0.0.0_9080",
          route_config: {
            name: "inbound|9080||",
            virtual_hosts: [{
              name: "inbound|http|9080",
              domains: ["*"],
              routes: [{
                name: "default",
                match: { prefix: "/" },
                route: {
                  cluster: "inbound|9080||",
                  timeout: s(0),
                  max_stream_duration: { max_stream_duration: s(0), grpc_timeout_header_max: s(0) },
                },
                decorator: { operation: "reviews.default.svc.cluster.local:9080/*" },
              }],
            }],
            validate_clusters: { value: false },
          },
          http_filters: istiodHttpFilters(),
          server_name: "istio-envoy",
          use_remote_address: { value: false },
          forward_client_cert_details: "APPEND_FORWARD",
          set_current_client_cert_details: { subject: { value: true }, dns: true, uri: true },
          upgrade_configs: [{ upgrade_type: "websocket" }],
          stream_idle_timeout: s(0),
          normalize_path: { value: true },
          request_id_extension: { typed_config: { "@type": ISTIO_TYPES.uuid } },
          path_with_escaped_slashes_action: "KEEP_UNCHANGED",
        },
      }],
    },
    {
      name: "virtualInbound-blackhole",
      filter_chain_match: { destination_port: { value: 15006 } },
      filters: [{
        name: "envoy.filters.network.tcp_proxy",
        typed_config: { "@type": T.tcpProxy, stat_prefix: "BlackHoleCluster", cluster: "BlackHoleCluster" },
      }],
    },
  ],
});

/** Istio's default retry policy (every route without a VirtualService retry section). */
export const istioDefaultRetry = () => ({
  retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
  num_retries: { value: 2 },
  retry_host_predicate: [{
    name: "envoy.retry_host_predicates.previous_hosts",
    typed_config: { "@type": ISTIO_TYPES.previousHosts },
  }],
  host_selection_retry_max_attempts: 5,
  retriable_status_codes: [503],
});

const noGrpcCap = () => ({ max_stream_duration: s(0), grpc_timeout_header_max: s(0) });

/**
 * RDS "9080" for a VirtualService on reviews: header and query matches, a weighted split, retries,
 * timeouts, rewrites, header edits; then the catch-all allow_any virtual host to PassthroughCluster.
 */
export const istiodRoute9080 = () => ({
  name: "9080",
  virtual_hosts: [
    {
      name: "reviews.default.svc.cluster.local:9080",
      domains: [
        "reviews.default.svc.cluster.local",
        "reviews",
        "reviews.default.svc",
        "reviews.default",
        "10.96.12.7",
      ],
      routes: [
        {
          name: "jason",
          match: {
            prefix: "/",
            case_sensitive: { value: true },
            headers: [{ name: "end-user", string_match: { exact: "jason" } }],
          },
          route: {
            cluster: REVIEWS_V2,
            timeout: s(0, 500_000_000),
            retry_policy: {
              retry_on: "gateway-error,connect-failure,refused-stream",
              num_retries: { value: 3 },
              per_try_timeout: s(2),
              retry_host_predicate: [{
                name: "envoy.retry_host_predicates.previous_hosts",
                typed_config: { "@type": ISTIO_TYPES.previousHosts },
              }],
              host_selection_retry_max_attempts: 5,
            },
            max_stream_duration: noGrpcCap(),
          },
          request_headers_to_add: [{ header: { key: "x-canary", value: "v2" }, append: { value: false } }],
          response_headers_to_remove: ["x-internal"],
          metadata: {
            filter_metadata: {
              istio: {
                config: "/apis/networking.istio.io/v1alpha3/namespaces/default/virtual-service/reviews",
              },
            },
          },
          decorator: { operation: "reviews.default.svc.cluster.local:9080/*" },
        },
        {
          name: "canary-query",
          match: {
            path_separated_prefix: "/api",
            query_parameters: [{ name: "canary", string_match: { exact: "true" } }],
          },
          route: {
            cluster: REVIEWS_V2,
            timeout: s(0),
            prefix_rewrite: "/v2/api",
            retry_policy: istioDefaultRetry(),
            max_stream_duration: noGrpcCap(),
          },
        },
        {
          name: "split",
          match: { path: "/reviews/0", case_sensitive: { value: true } },
          route: {
            weighted_clusters: {
              clusters: [{ name: REVIEWS, weight: { value: 90 } }, {
                name: REVIEWS_V2,
                weight: { value: 10 },
              }],
              total_weight: { value: 100 },
            },
            timeout: s(3),
            prefix_rewrite: "/r/0",
            host_rewrite_literal: "reviews.internal",
            retry_policy: istioDefaultRetry(),
            max_stream_duration: noGrpcCap(),
          },
        },
        {
          name: "regex",
          match: { safe_regex: { regex: "/ratings/([0-9]+)" } },
          route: {
            cluster: REVIEWS,
            timeout: s(0),
            regex_rewrite: { pattern: { regex: "^/ratings/([0-9]+)$" }, substitution: "/r/\\1" },
            retry_policy: istioDefaultRetry(),
            max_stream_duration: noGrpcCap(),
          },
        },
        {
          name: "default",
          match: { prefix: "/" },
          route: {
            cluster: REVIEWS,
            timeout: s(0),
            retry_policy: istioDefaultRetry(),
            max_stream_duration: noGrpcCap(),
          },
          decorator: { operation: "reviews.default.svc.cluster.local:9080/*" },
        },
      ],
      include_request_attempt_count: true,
    },
    {
      name: "allow_any",
      domains: ["*"],
      routes: [{
        name: "allow_any",
        match: { prefix: "/" },
        route: { cluster: "PassthroughCluster", timeout: s(0), max_stream_duration: noGrpcCap() },
      }],
      include_request_attempt_count: true,
    },
  ],
  validate_clusters: { value: false },
  max_direct_response_body_size_bytes: { value: 1048576 },
});

/** Per-route fault and CORS (a VirtualService with fault/corsPolicy): typed_per_filter_config and cors. */
export const istiodFaultCorsRoute = () => ({
  name: "9081",
  virtual_hosts: [{
    name: "ratings:9081",
    domains: ["ratings"],
    routes: [{
      match: { prefix: "/" },
      route: { cluster: REVIEWS, timeout: s(0) },
      typed_per_filter_config: {
        "envoy.filters.http.fault": {
          "@type": T.fault,
          abort: { http_status: 503, percentage: { numerator: 10 } },
        },
        "envoy.filters.http.cors": {
          "@type": "type.googleapis.com/envoy.config.route.v3.CorsPolicy",
          allow_origin_string_match: [{ exact: "https://a.example" }],
        },
      },
    }],
  }],
});

const ISTIO_CB = () => ({
  thresholds: [{
    max_connections: { value: 4294967295 },
    max_pending_requests: { value: 4294967295 },
    max_requests: { value: 4294967295 },
    max_retries: { value: 4294967295 },
    track_remaining: true,
  }],
});

/** mTLS by endpoint label (auto mTLS): SDS certificates, picked when the endpoint says tlsMode istio. */
const autoMtls = (sni: string) => [
  {
    name: "tlsMode-istio",
    match: { tlsMode: "istio" },
    transport_socket: {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": T.upstreamTls,
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
          alpn_protocols: ["istio-peer-exchange", "istio"],
          tls_certificate_sds_secret_configs: [{ name: "default", sds_config: { ads: {} } }],
        },
        sni,
      },
    },
  },
  {
    name: "tlsMode-disabled",
    match: {},
    transport_socket: {
      name: "envoy.transport_sockets.raw_buffer",
      typed_config: { "@type": ISTIO_TYPES.rawBuffer },
    },
  },
];

/** An outbound EDS cluster as istiod sends it with no DestinationRule. */
export const istiodEdsCluster = (name = REVIEWS, { mtls = true } = {}) => ({
  name,
  type: "EDS",
  eds_cluster_config: {
    eds_config: { ads: {}, initial_fetch_timeout: s(0), resource_api_version: "V3" },
    service_name: name,
  },
  connect_timeout: s(10),
  lb_policy: "LEAST_REQUEST",
  circuit_breakers: ISTIO_CB(),
  common_lb_config: {},
  metadata: {
    filter_metadata: {
      istio: {
        default_original_port: 9080,
        services: [{ host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }],
      },
    },
  },
  filters: [{ name: "istio.metadata_exchange", typed_config: { "@type": ISTIO_TYPES.metadataExchange } }],
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": T.httpOptions,
      common_http_protocol_options: { idle_timeout: s(3600) },
      use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    },
  },
  ...(mtls ? { transport_socket_matches: autoMtls(`outbound_.9080_._.${name.split("|")[3]}`) } : {}),
});

/**
 * A DestinationRule-shaped subset cluster: LEAST_REQUEST, connectionPool (tcp.maxConnections,
 * connectTimeout, http.http1MaxPendingRequests, http2MaxRequests, maxRequestsPerConnection, maxRetries,
 * idleTimeout), tls DISABLE (so plaintext, no transport_socket_matches).
 */
export const istiodDestinationRuleCluster = (name = REVIEWS_V2) => ({
  name,
  type: "EDS",
  eds_cluster_config: {
    eds_config: { ads: {}, initial_fetch_timeout: s(0), resource_api_version: "V3" },
    service_name: name,
  },
  connect_timeout: s(0, 250_000_000),
  lb_policy: "LEAST_REQUEST",
  circuit_breakers: {
    thresholds: [{
      max_connections: { value: 100 },
      max_pending_requests: { value: 10 },
      max_requests: { value: 200 },
      max_retries: { value: 5 },
      track_remaining: true,
    }],
  },
  common_lb_config: {},
  metadata: {
    filter_metadata: {
      istio: {
        config: "/apis/networking.istio.io/v1alpha3/namespaces/default/destination-rule/reviews",
        subset: "v2",
      },
    },
  },
  filters: [{ name: "istio.metadata_exchange", typed_config: { "@type": ISTIO_TYPES.metadataExchange } }],
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": T.httpOptions,
      common_http_protocol_options: { idle_timeout: s(30), max_requests_per_connection: { value: 10 } },
      use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    },
  },
});

/** BlackHoleCluster: STATIC with no endpoints (connections to it fail: 502/reset). */
export const istiodBlackHole = () => ({ name: "BlackHoleCluster", type: "STATIC", connect_timeout: s(10) });

/** PassthroughCluster: ORIGINAL_DST, forwarding to the address the application dialed. */
export const istiodPassthrough = () => ({
  name: "PassthroughCluster",
  type: "ORIGINAL_DST",
  connect_timeout: s(10),
  lb_policy: "CLUSTER_PROVIDED",
  circuit_breakers: ISTIO_CB(),
  filters: [{ name: "istio.metadata_exchange", typed_config: { "@type": ISTIO_TYPES.metadataExchange } }],
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": T.httpOptions,
      common_http_protocol_options: { idle_timeout: s(3600) },
      use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    },
  },
});

/** inbound|9080||: ORIGINAL_DST to the application, from 127.0.0.6. */
export const istiodInboundCluster = () => ({
  name: "inbound|9080||",
  type: "ORIGINAL_DST",
  connect_timeout: s(10),
  lb_policy: "CLUSTER_PROVIDED",
  circuit_breakers: ISTIO_CB(),
  cleanup_interval: s(60),
  upstream_bind_config: { source_address: { address: "127.0.0.6", port_value: 0 } },
  metadata: {
    filter_metadata: {
      istio: {
        services: [{ host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }],
      },
    },
  },
});

/** A ClusterLoadAssignment as istiod sends it (one locality, healthy endpoints labelled for auto mTLS). */
export const istiodEndpoints = (name = REVIEWS, ips = ["10.244.0.192", "10.244.0.193"]) => ({
  cluster_name: name,
  endpoints: [{
    locality: {},
    lb_endpoints: ips.map((ip) => ({
      endpoint: { address: { socket_address: { address: ip, port_value: 9080 } }, health_check_config: {} },
      health_status: "HEALTHY",
      metadata: {
        filter_metadata: {
          "envoy.transport_socket_match": { tlsMode: "istio" },
          istio: { workload: "reviews-v1;default;reviews;v1;Kubernetes" },
        },
      },
      load_balancing_weight: { value: 1 },
    })),
    load_balancing_weight: { value: ips.length },
  }],
  policy: { overprovisioning_factor: { value: 140 } },
});
