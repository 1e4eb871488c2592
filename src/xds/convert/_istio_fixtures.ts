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
