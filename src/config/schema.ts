/**
 * The config schema meshctl implements: MOSN v2 field names, written once. The validator walks it and
 * `meshctl schema` prints it as JSON Schema. Fields MOSN has and meshctl lacks are listed as
 * `unsupported(...)` so they are reported by name instead of being dropped or "did-you-mean"-ed.
 */
import { type Static, Type } from "@sinclair/typebox";
import {
  address,
  bool,
  duration,
  filterItem,
  freeMap,
  ignored,
  int,
  intOneOf,
  ipAddress,
  list,
  oneOf,
  Opt,
  portText,
  regex,
  struct,
  text,
  unsupported,
} from "./_kit.ts";

export const CLUSTER_TYPES = ["SIMPLE", "STRICT_DNS"] as const;
export const UNSUPPORTED_CLUSTER_TYPES = ["STATIC", "DYNAMIC", "EDS", "ORIGINAL_DST"] as const;
/** Highest host `priority` accepted (Envoy has no fixed limit; this bounds the per-level arrays). */
export const MAX_HOST_PRIORITY = 127;
export const DNS_LOOKUP_FAMILIES = ["V4_ONLY", "V6_ONLY"] as const;
export const LB_TYPES = [
  "LB_RANDOM",
  "LB_ROUNDROBIN",
  "LB_WEIGHTED_ROUNDROBIN",
  "LB_LEAST_REQUEST",
  "LB_MAGLEV",
] as const;
export const UNSUPPORTED_LB_TYPES = [
  "LB_LEAST_CONNECTION",
  "LB_REQUEST_ROUNDROBIN",
  "LB_PEAK_EWMA",
  "LB_ORIGINAL_DST",
] as const;
/** MOSN's level names; FATAL maps to error and TRACE to debug. */
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] as const;

// === Routing ===

const HeaderValueOption = struct("A header to add", {
  header: struct("Header name and value", {
    key: text("Header name"),
    value: text("Header value"),
  }),
  append: Opt(bool("Append to an existing value instead of replacing it (default true)")),
});

const headerEdits = {
  request_headers_to_add: Opt(list("Headers added to the request", HeaderValueOption)),
  request_headers_to_remove: Opt(list("Header names removed from the request", text("Header name"))),
  response_headers_to_add: Opt(list("Headers added to the response", HeaderValueOption)),
  response_headers_to_remove: Opt(list("Header names removed from the response", text("Header name"))),
};

const HeaderMatcher = struct("Matches one request header (name `method` = HTTP method)", {
  name: text("Header name (matched case-insensitively)"),
  value: text("Exact value, or a regex when `regex` is true"),
  regex: Opt(bool("Treat `value` as an unanchored RE2 regex")),
});

const QueryParameterMatcher = struct(
  "meshctl extension (Envoy's query_parameters): one query parameter that must match",
  {
    name: text("Parameter name (case-sensitive); its first occurrence is compared, percent-decoded"),
    value: Opt(
      text("Exact value, or a regex when `regex` is true; without it the parameter must be present"),
    ),
    regex: Opt(bool("Treat `value` as an unanchored RE2 regex")),
  },
);

const RouteMatch = struct(
  "Which requests this route takes; at most one of prefix/path/regex/connect_matcher",
  {
    prefix: Opt(text("Path prefix (case-sensitive)")),
    path: Opt(text("Exact path (case-insensitive)")),
    regex: Opt(regex("Unanchored path regex")),
    connect_matcher: Opt(struct(
      "meshctl extension (Envoy's name): match CONNECT requests, which have no path and no other matcher takes",
      {},
    )),
    headers: Opt(list("Headers that must all match", HeaderMatcher)),
    query_parameters: Opt(list("Query parameters that must all match", QueryParameterMatcher)),
    variables: Opt(unsupported()),
    dsl_expressions: Opt(unsupported()),
  },
);

/** Envoy's retry_on conditions meshctl honours (`retry_conditions`), each as Envoy documents it. */
export const RETRY_CONDITIONS = [
  "5xx",
  "gateway-error",
  "reset",
  "connect-failure",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "envoy-ratelimited",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
] as const;

const RetryPolicy = struct("Retries", {
  retry_on: Opt(bool("Retry on 5xx / listed status codes, connection failure and per-try timeout")),
  retry_timeout: Opt(duration("Per-try timeout")),
  num_retries: Opt(int("Number of retries", 0)),
  status_codes: Opt(list("Status codes to retry on (default: any 5xx)", int("Status code", 100, 599))),
  retry_conditions: Opt(list(
    "meshctl extension (Envoy's retry_on): when set, retry exactly on these Envoy conditions instead of " +
      "retry_on/status_codes' MOSN meaning (retriable-status-codes reads status_codes)",
    oneOf("An Envoy retry condition", RETRY_CONDITIONS),
  )),
  retriable_headers: Opt(list(
    "meshctl extension (Envoy's name): response headers that make a response retriable (retriable-headers)",
    HeaderMatcher,
  )),
  retry_back_off: Opt(struct(
    "meshctl extension (Envoy's name): jittered exponential back-off between retries (default: 0-10 ms)",
    {
      base_interval: duration("First retry waits up to this (Envoy's default 25ms)"),
      max_interval: Opt(duration("Longest wait (default 10 × base_interval)")),
    },
  )),
  host_selection_retry_max_attempts: Opt(int(
    "meshctl extension (Envoy's previous_hosts predicate): picks per retry to find a host not tried yet " +
      "(0 = no preference)",
    0,
    100,
  )),
});

const HashPolicy = struct("Hash key for LB_MAGLEV; exactly one of header/source_ip/cookie", {
  header: Opt(struct("Hash a request header", { key: text("Header name") })),
  source_ip: Opt(struct("Hash the client IP", {})),
  cookie: Opt(struct("Hash a cookie", {
    name: text("Cookie name"),
    path: Opt(unsupported("cookie generation")),
    ttl: Opt(unsupported("cookie generation")),
  })),
});

const WeightedCluster = struct("One weighted cluster", {
  cluster: struct("Cluster and weight", {
    name: text("Cluster name"),
    weight: int("Relative weight", 1),
    metadata_match: Opt(unsupported("subsets")),
  }),
});

const RouteAction = struct("Forward to a cluster: exactly one of cluster_name/weighted_clusters", {
  cluster_name: Opt(text("Upstream cluster")),
  weighted_clusters: Opt(list("Split traffic by weight", WeightedCluster, { minItems: 1 })),
  timeout: Opt(duration("Whole-request timeout (default 60s)")),
  idle_timeout: Opt(duration(
    "meshctl extension (Envoy's name): this route's stream idle timeout, replacing the proxy's " +
      "stream_idle_timeout (0 disables)",
  )),
  retry_policy: Opt(RetryPolicy),
  hash_policy: Opt(list("Hash keys for LB_MAGLEV (default: source IP)", HashPolicy)),
  upstream_protocol: Opt(text(
    'Protocol towards the cluster: a protocol name, or "Auto" for the request\'s own (default: the ' +
      "proxy's upstream_protocol, else the request's own)",
  )),
  prefix_rewrite: Opt(text("Replace the matched prefix")),
  regex_rewrite: Opt(struct("Rewrite the path by regex", {
    pattern: struct("The pattern", { regex: regex("RE2 regex", { submatches: true }) }),
    substitution: text("Replacement (\\1 for groups)"),
  })),
  host_rewrite: Opt(text("Replace the Host header")),
  upgrade_configs: Opt(list(
    "meshctl extension (Envoy's name): how upgrades on this route are handled",
    struct("One upgrade type", {
      upgrade_type: oneOf("The upgrade (only CONNECT; WebSocket upgrades pass through as they are)", [
        "CONNECT",
      ], { caseInsensitive: true }),
      enabled: Opt(bool("Accept this upgrade on the route (default true)")),
      connect_config: Opt(struct(
        "Terminate CONNECT here: answer 200 and relay the stream's bytes over TCP to the cluster host " +
          "(without it, CONNECT is forwarded to the upstream as a request)",
        {},
      )),
    }),
  )),
  ...headerEdits,
  metadata_match: Opt(unsupported("subsets")),
  cluster_header: Opt(unsupported()),
  cluster_variable: Opt(unsupported()),
  auto_host_rewrite: Opt(unsupported()),
  auto_host_rewrite_header: Opt(unsupported()),
});

const Route = struct("One route; exactly one of route/direct_response/redirect", {
  match: Opt(RouteMatch),
  route: Opt(RouteAction),
  direct_response: Opt(struct("Answer locally", {
    status: int("Status code", 100, 599),
    body: Opt(text("Response body")),
  })),
  redirect: Opt(struct("Answer with a redirect", {
    response_code: Opt(intOneOf("Redirect status (default 301)", [301, 302, 303, 307, 308])),
    path_redirect: Opt(text("New path")),
    host_redirect: Opt(text("New host")),
    scheme_redirect: Opt(text("New scheme")),
  })),
  metadata: Opt(unsupported("subsets")),
  per_filter_config: Opt(unsupported()),
  request_mirror_policies: Opt(unsupported()),
});

const VirtualHost = struct("A virtual host: requests whose host matches `domains`", {
  name: text("Virtual host name"),
  domains: list("Host names: exact, `*.suffix` or `*`", text("Domain"), { minItems: 1 }),
  routers: Opt(list("Routes, first match wins", Route)),
  include_request_attempt_count: Opt(bool(
    "meshctl extension (Envoy's name): send x-envoy-attempt-count (1 for the first try) to the upstream",
  )),
  require_tls: Opt(ignored("Unused by MOSN")),
  per_filter_config: Opt(unsupported()),
  ...headerEdits,
});

const RouterConfiguration = struct("A named route table", {
  router_config_name: text("Name referenced by proxy `router_config_name`"),
  virtual_hosts: Opt(list("Virtual hosts", VirtualHost)),
  router_configs: Opt(unsupported("routes from a directory")),
  ...headerEdits,
});

// === TLS ===

const pemField = (what: string) =>
  text(
    `${what}: PEM text (inline when it contains "-----BEGIN"), else the path of a PEM file; a relative ` +
      "path is resolved against the directory of the config file (MOSN: the process's working directory). " +
      "Read and checked when the config loads",
  );

/** A string field meshctl refuses when non-empty; the JSON Schema says so with maxLength 0. */
const mustBeEmpty = (description: string) =>
  Type.Unsafe<string>({ type: "string", maxLength: 0, description });

const SanMatcher = struct(
  "One subject alternative name matcher (Envoy's StringMatcher): exactly one of exact, prefix, suffix, " +
    "contains, safe_regex; matched against each DNS, URI, IP and email SAN of the peer's certificate",
  {
    exact: Opt(text("The SAN equals this")),
    prefix: Opt(text("The SAN starts with this")),
    suffix: Opt(text("The SAN ends with this")),
    contains: Opt(text("The SAN contains this")),
    safe_regex: Opt(struct("The whole SAN matches an RE2 regex (Envoy: anchored)", {
      regex: regex("RE2 regex"),
      google_re2: Opt(ignored("Envoy's engine choice; RE2 syntax is the only one")),
    })),
  },
);

const TlsContext = struct(
  "MOSN tls_context (pkg/config/v2/tls.go): used only with status: true ({} or status false = plaintext)",
  {
    status: Opt(bool("Turn this context on (default false: the context is ignored, as MOSN)")),
    type: Opt(mustBeEmpty(
      "MOSN's TLS extension hook (ConfigHooksFactory name): not supported, must be empty",
    )),
    server_name: Opt(text(
      "Listener: one more name this context is chosen for by SNI (besides its certificate's CN and DNS " +
        "SANs). Cluster: the SNI sent and the name the server certificate must carry (an IP address: no " +
        "SNI, the IP SAN is verified)",
    )),
    ca_cert: Opt(pemField(
      "Trust roots: client certificates must chain to them (listener, with verify_client); server " +
        "certificates (cluster; unset: the system roots)",
    )),
    cert_chain: Opt(pemField(
      "This side's certificate, leaf first (a listener needs one; a cluster's is " +
        "its client certificate)",
    )),
    private_key: Opt(pemField("The certificate's private key (unencrypted)")),
    verify_client: Opt(bool(
      "Listener: verify client certificates against ca_cert (with require_client_cert: a client must " +
        "send one; without: verified if given), as MOSN's GetClientAuth",
    )),
    require_client_cert: Opt(bool(
      "Listener: ask for a client certificate; without verify_client it is not verified (Go's " +
        "RequestClientCert: a warning)",
    )),
    insecure_skip: Opt(bool("Cluster: do not verify the server certificate at all")),
    cipher_suites: Opt(mustBeEmpty(
      "MOSN's colon list of cipher names: not supported, the TLS stack (rustls) cannot restrict cipher " +
        "suites (it offers TLS 1.3 and TLS 1.2 ECDHE AEAD suites only)",
    )),
    ecdh_curves: Opt(text(
      "MOSN's comma list (x25519, p256, p384, p521; any case): the TLS stack negotiates X25519, P-256 " +
        "and P-384 and cannot be restricted, so x25519/p256/p384 load with a warning and p521 is refused",
    )),
    min_version: Opt(text(
      "tls_auto, tlsv1_0, tlsv1_1, tlsv1_2 or tlsv1_3 (any case); the TLS stack offers TLS 1.2 and 1.3 " +
        "only, so tlsv1_0/tlsv1_1 mean TLS 1.2 (a warning)",
    )),
    max_version: Opt(text("tls_auto, tlsv1_2 or tlsv1_3 (any case); below TLS 1.2 is refused")),
    alpn: Opt(text(
      "Comma list of ALPN protocols offered, in preference order: h2, http/1.1, sofa (MOSN's names)",
    )),
    ticket: Opt(unsupported("session ticket keys: the TLS stack issues and rotates its own")),
    fall_back: Opt(unsupported("meshctl never falls back to plaintext when TLS cannot be set up")),
    extend_verify: Opt(unsupported("configuration of MOSN's TLS extension hooks (type)")),
    callbacks: Opt(unsupported("SDS certificate-update callbacks; SDS arrives with xDS")),
    sds_source: Opt(freeMap("MOSN's SDS certificate source: not supported (SDS arrives with xDS)")),
    match_subject_alt_names: Opt(list(
      "meshctl extension (Envoy's name): the peer certificate must carry a SAN matching one of these " +
        "(listener: needs verify_client; cluster: not with insecure_skip)",
      SanMatcher,
    )),
  },
);

// === Listeners ===

const HTTP2_OPTION_FIELDS = {
  initial_stream_window_size: Opt(int(
    "Bytes a peer may send on one stream before we read them: bounds what one stream can buffer " +
      "(default 262144)",
    65535,
    2147483647,
  )),
  initial_connection_window_size: Opt(
    int("The connection's receive window (default 16777216)", 65535, 2147483647),
  ),
  max_frame_size: Opt(int("Largest frame payload accepted (default 16384)", 16384, 16777215)),
  hpack_table_size: Opt(int("HPACK dynamic table the peer may use towards us (default 4096)", 0, 65536)),
  max_header_list_size: Opt(int(
    "Largest decoded header list (names + values + 32 per field; default 65536)",
    1024,
    16777216,
  )),
  max_concurrent_streams: Opt(int(
    "Streams one HTTP/2 connection may have in flight: on a listener it replaces the proxy's " +
      "max_concurrent_streams for HTTP/2 (SETTINGS_MAX_CONCURRENT_STREAMS); on a cluster it caps the " +
      "streams meshctl opens per upstream connection below the server's own limit (default: unset)",
    1,
    2147483647,
  )),
};

const Http2ProtocolOptions = struct(
  "meshctl extension (Envoy's http2_protocol_options): the HTTP/2 settings this side advertises",
  HTTP2_OPTION_FIELDS,
);

/** Envoy core.v3.KeepaliveSettings: HTTP/2 PINGs; meshctl sends them on the ADS connection only. */
const KeepaliveSettings = struct(
  "Envoy core.v3.KeepaliveSettings: HTTP/2 PINGs on the connection (meshctl: the ADS cluster only)",
  {
    interval: Opt(duration("Time between PINGs (default 30s, as Istio's agent)")),
    timeout: Opt(duration("A PING unanswered this long drops the connection and reconnects (default 10s)")),
    interval_jitter: Opt(ignored("Jitter on the interval (gRPC pings at a fixed interval)")),
    connection_idle_interval: Opt(unsupported("PINGs only after idle time")),
  },
);

/** An Envoy cluster's http2_protocol_options: the HTTP/2 settings plus connection_keepalive. */
const EnvoyHttp2ProtocolOptions = struct(
  "Envoy's http2_protocol_options: the HTTP/2 settings this side advertises; connection_keepalive on the " +
    "ADS cluster only",
  { ...HTTP2_OPTION_FIELDS, connection_keepalive: Opt(KeepaliveSettings) },
);

const ProxyConfig = struct("`proxy` network filter", {
  downstream_protocol: Opt(
    text('Protocol(s) accepted: a name, a comma list, "Auto" (default) or legacy "X"'),
  ),
  upstream_protocol: Opt(text(
    'Protocol towards the clusters where a route does not say: a protocol name, or "Auto" (the default) ' +
      "for the request's own protocol. MOSN reads only the route's upstream_protocol; meshctl uses this " +
      "one as the fallback",
  )),
  router_config_name: text("Route table from servers[].routers"),
  fallback_for_unknown_protocol: Opt(bool("Hand unrecognized connections to the next filter (tcp_proxy)")),
  extend_config: Opt(freeMap(
    "Per-protocol options, flat or under the protocol's name: legacy X uses {sub_protocol}, Http1 " +
      "{max_header_size, max_header_count}; MOSN's Http2 {http2_use_stream} is accepted and changes nothing " +
      "(meshctl always streams HTTP/2 and gRPC bodies)",
  )),
  request_headers_timeout: Opt(duration(
    "meshctl extension (Envoy's name): close a connection whose request head (HTTP) or frame (RPC) " +
      "started and did not complete within this (default 10s; 0 disables)",
  )),
  stream_idle_timeout: Opt(duration(
    "meshctl extension (Envoy's name): end a stream with no body bytes moving either way for this long " +
      "(default 5m; 0 disables)",
  )),
  max_concurrent_streams: Opt(int(
    "meshctl extension: streams one downstream connection may have in flight; more are refused in the " +
      "protocol's terms, e.g. bolt THREADPOOL_BUSY (default 1024; 0 = unlimited)",
    0,
  )),
  normalize_path: Opt(bool(
    "meshctl extension (Envoy's name): normalize the path before filters and routing, as Envoy does " +
      "(RFC 3986 dot segments removed, \\ as /, %-escaped unreserved characters decoded); the upstream gets " +
      "the normalized path (default false)",
  )),
  generate_request_id: Opt(bool(
    "meshctl extension (Envoy's name): add an x-request-id (UUID v4) to requests that have none " +
      "(default false)",
  )),
  server_header_transformation: Opt(oneOf(
    "meshctl extension (Envoy's name): the response `server` header: OVERWRITE sets server_name, " +
      "APPEND_IF_ABSENT only when the upstream sent none, PASS_THROUGH leaves it (default PASS_THROUGH)",
    ["OVERWRITE", "APPEND_IF_ABSENT", "PASS_THROUGH"],
  )),
  server_name: Opt(text('meshctl extension (Envoy\'s name): the server header value (default "envoy")')),
  use_remote_address: Opt(bool(
    "meshctl extension (Envoy's name): the connection's peer is the client: append it to " +
      "X-Forwarded-For and set X-Forwarded-Proto from the connection (default true)",
  )),
  http2_protocol_options: Opt(Http2ProtocolOptions),
  xff_num_trusted_hops: Opt(int(
    "meshctl extension (Envoy's name): trusted proxies in front of meshctl; with at least one, their " +
      "X-Forwarded-Proto is kept (default 0)",
    0,
  )),
  name: Opt(ignored("Filter instance name")),
  validate_clusters: Opt(ignored("Unused by MOSN")),
  router_handler_name: Opt(unsupported()),
  concurrency_num: Opt(unsupported()),
  transparent_proxy: Opt(unsupported()),
});

const CidrRange = struct("An address range, as Go's net.ParseCIDR reads `address/length`", {
  address: text("IPv4 or IPv6 address; host bits may be set (127.0.0.1 with length 24 is 127.0.0.0/24)"),
  length: int("Prefix length: 0..32 for IPv4, 0..128 for IPv6", 0, 128),
});

const portList = (what: string) =>
  text(
    `${what} ports: a comma list of ports and ranges, e.g. "8080" or "1-1023,8080" (MOSN's Go field ` +
      "name; an empty list matches nothing)",
  );

/**
 * MOSN's StreamRoute has no JSON tags, so MOSN reads these keys by their Go field names (SourceAddrs…),
 * case-insensitively; `source_addrs` would be ignored by MOSN, so it is an unknown field here.
 */
const TcpProxyRoute = struct(
  "A route by connection addresses: taken when the client's address and port and the address and port it " +
    "connected to are each in the route's lists (MOSN's StreamRoute)",
  {
    cluster: text("Upstream cluster for the connections this route takes"),
    SourceAddrs: Opt(list("Client address ranges (an empty list matches nothing)", CidrRange)),
    SourcePort: Opt(portList("Client")),
    DestinationAddrs: Opt(list(
      "Ranges of the local address the client connected to (an empty list matches nothing)",
      CidrRange,
    )),
    DestinationPort: Opt(portList("Local (listener)")),
  },
);

const TcpProxyConfig = struct(
  "`tcp_proxy` network filter: `cluster`, or without it the first matching route",
  {
    cluster: Opt(text("Upstream cluster for every connection; when set, MOSN never consults routes")),
    routes: Opt(
      list("Used only without `cluster`: the first route that matches picks the cluster", TcpProxyRoute),
    ),
    idle_timeout: Opt(duration("Close after this long without traffic")),
    max_connect_attempts: Opt(int("Connect attempts (default 1)", 1)),
    stat_prefix: Opt(ignored("Stats prefix")),
    transparent_proxy: Opt(unsupported()),
  },
);

const NetworkFilter = filterItem("A network filter", { proxy: ProxyConfig, tcp_proxy: TcpProxyConfig });

const StreamFilter = struct("A stream filter", {
  type: text("Stream filter name"),
  config: Opt(freeMap("Filter config")),
});

const FilterChain = struct("The listener's filter chain", {
  filters: list("Network filters, in order", NetworkFilter, { minItems: 1 }),
  match: Opt(ignored("Unused by MOSN")),
  tls_context: Opt(TlsContext),
  tls_context_set: Opt(list(
    "Several TLS contexts (not with tls_context): chosen by SNI (certificate CN and DNS SANs, server_name), " +
      "then by ALPN, else the first enabled one",
    TlsContext,
  )),
});

const AccessLog = struct("An access log", {
  log_path: text('"stdout", "stderr" or a file path'),
  log_format: Opt(text("MOSN %variable% format")),
  log_buffer_limit_bytes: Opt(int(
    "meshctl extension: lines waiting for a slow disk beyond this many bytes are dropped and counted " +
      "(accesslog dropped_total), never blocking the proxy (default 1048576)",
    1024,
  )),
});

const Listener = struct("A listener", {
  name: Opt(text("Listener name (default: the address)")),
  address: address('"host:port" or "tcp://host:port"'),
  bind_port: Opt(bool("Bind the address (default true)")),
  type: Opt(oneOf("ingress/egress label", ["ingress", "egress"], { caseInsensitive: true })),
  network: Opt(oneOf("Transport", ["tcp"], { caseInsensitive: true, unsupported: ["udp", "unix"] })),
  access_logs: Opt(list("Access logs", AccessLog)),
  filter_chains: list("Exactly one filter chain", FilterChain, { minItems: 1, maxItems: 1 }),
  stream_filters: Opt(list("Stream filters, in order", StreamFilter)),
  connection_idle_timeout: Opt(
    duration("Close downstream connections idle this long (default 90s, as MOSN; 0 disables)"),
  ),
  max_connections: Opt(int(
    "meshctl extension: open connections this listener accepts; more are closed at once and counted " +
      "(default 10000; 0 = unlimited)",
    0,
  )),
  per_conn_buffer_limit_bytes: Opt(int(
    "Output a downstream connection may queue before meshctl stops reading its requests; 16× this " +
      "closes it (default 1048576)",
    1024,
  )),
  log_path: Opt(ignored("Old per-listener log path")),
  log_level: Opt(ignored("Old per-listener log level")),
  reuseport: Opt(bool(
    "Bind with SO_REUSEPORT (MOSN; default false): another meshctl may bind the same address, so a new " +
      "process can take over while this one drains. Off, a second process fails with address in use",
  )),
  use_original_dst: Opt(unsupported()),
  listener_filters: Opt(unsupported()),
  inspector: Opt(bool(
    "With a TLS context: accept TLS and plaintext connections on the one port, told apart by the first " +
      "byte (MOSN)",
  )),
  tls_handshake_timeout: Opt(duration(
    "meshctl extension: close a connection whose TLS handshake has not finished within this " +
      "(default 10s; 0 disables)",
  )),
  drain_idle_grace: Opt(duration(
    "meshctl extension: while draining, close a connection once it has had no request in flight and " +
      "read nothing for this long (a request may already be on its way; default 1s; 0 closes idle ones " +
      "at once); graceful_timeout still bounds the drain",
  )),
});

const Server = struct("A server: log settings, route tables and listeners", {
  default_log_level: Opt(oneOf("Log level", LOG_LEVELS, { caseInsensitive: true })),
  default_log_path: Opt(ignored('Log destination; meshctl logs to stderr ("stdout"/"stderr" accepted)')),
  graceful_timeout: Opt(duration("Drain timeout on shutdown (default 30s)")),
  routers: Opt(list("Route tables", RouterConfiguration)),
  listeners: Opt(list("Listeners", Listener)),
  mosn_server_name: Opt(ignored("Server name")),
  global_log_roller: Opt(ignored("Log rotation")),
  processor: Opt(ignored("GOMAXPROCS")),
  use_netpoll_mode: Opt(ignored("Go netpoll")),
});

// === Clusters ===

const Host = struct("An upstream host", {
  address: address('"host:port"'),
  hostname: Opt(text("Label for stats and logs")),
  weight: Opt(int("Weight 1..128 (default 1)", 1, 128)),
  tls_disable: Opt(bool("Plaintext to this host even when the cluster has a TLS context (MOSN)")),
  priority: Opt(int(
    "meshctl extension (Envoy's EDS priority): 0 is the highest; traffic spills to higher numbers as lower " +
      "ones lose health (default 0)",
    0,
    MAX_HOST_PRIORITY,
  )),
  metadata: Opt(unsupported("subsets")),
});

const StatusRange = struct("Accepted statuses, inclusive (MOSN CodeRange)", {
  start: int("First status", 100, 599),
  end: int("Last status", 100, 599),
});

const HealthCheck = struct(
  "Active health checks of every host (MOSN); only with a service_name, as MOSN",
  {
    protocol: Opt(
      text(
        '"Http1": an HTTP request (check_config.http_check_config); bolt/boltv2: a heartbeat; else TCP connect',
      ),
    ),
    timeout: Opt(duration("Deadline of each check (default 1s)")),
    interval: Opt(duration("Between one check's end and the next (default 15s)")),
    interval_jitter: Opt(duration("Random 0..this added to each interval and the first check (default 5ms)")),
    initial_delay_seconds: Opt(duration("Before a host's first check, plus jitter (default 0s; MOSN 1s)")),
    healthy_threshold: Opt(int("Consecutive successes that bring a host back (default 1)", 1)),
    unhealthy_threshold: Opt(int("Consecutive failures that take a host out (default 1)", 1)),
    service_name: Opt(text("Stats label; MOSN runs no checks without it")),
    check_config: Opt(struct("Protocol settings", {
      http_check_config: Opt(struct("HTTP check (protocol Http1)", {
        port: Opt(int("Port to check (default: the host's)", 0, 65535)),
        timeout: Opt(duration("This check's own deadline; the shorter of it and timeout applies")),
        path: Opt(text('Request path and query (default "/")')),
        method: Opt(text("Request method (default GET)")),
        scheme: Opt(oneOf('Only "http" (default)', ["http"], { unsupported: ["https"] })),
        domain: Opt(text("Host header (default: the host's address)")),
        codes: Opt(list("Accepted statuses (default 200 only)", StatusRange)),
      })),
    })),
    event_log_path: Opt(unsupported("health check event log")),
    common_callbacks: Opt(unsupported()),
  },
);

const percent = (d: string) => Opt(int(`${d} (percent 0..100)`, 0, 100));
const OutlierDetection = struct(
  "meshctl extension: Envoy's cluster outlier_detection (passive ejection), Envoy's field names and defaults",
  {
    consecutive_5xx: Opt(
      int("5xx responses (and local-origin failures unless split) in a row (default 5)", 1),
    ),
    consecutive_gateway_failure: Opt(
      int("502/503/504 (and local-origin failures unless split) in a row (default 5)", 1),
    ),
    consecutive_local_origin_failure: Opt(int(
      "With split_external_local_origin_errors: connect failures, timeouts, resets in a row (default 5)",
      1,
    )),
    interval: Opt(duration("Between ejection sweeps: success rate, unejection (default 10s)")),
    base_ejection_time: Opt(duration("Ejection time × times ejected (default 30s)")),
    max_ejection_time: Opt(
      duration("Cap on the ejection time (default 300s, or base_ejection_time if longer)"),
    ),
    max_ejection_time_jitter: Opt(duration("Random 0..this added to each ejection (default 0s)")),
    max_ejection_percent: percent("Most of the cluster ejected at once (default 10)"),
    always_eject_one_host: Opt(
      bool("Eject one host even when max_ejection_percent allows none (default false)"),
    ),
    enforcing_consecutive_5xx: percent("Chance a consecutive_5xx outlier is ejected (default 100)"),
    enforcing_consecutive_gateway_failure: percent("Chance a gateway-failure outlier is ejected (default 0)"),
    enforcing_consecutive_local_origin_failure: percent(
      "Chance a local-origin outlier is ejected (default 100)",
    ),
    enforcing_success_rate: percent("Chance a success-rate outlier is ejected (default 100)"),
    enforcing_local_origin_success_rate: percent("Same for local-origin success rate (default 100)"),
    success_rate_minimum_hosts: Opt(int("Hosts with enough volume for success-rate ejection (default 5)", 1)),
    success_rate_request_volume: Opt(int("Requests per interval for a host to count (default 100)", 1)),
    success_rate_stdev_factor: Opt(int("Threshold = mean − stdev × this/1000 (default 1900)", 0)),
    failure_percentage_threshold: percent("Failure share that ejects (default 85)"),
    enforcing_failure_percentage: percent("Chance a failure-percentage outlier is ejected (default 0)"),
    enforcing_failure_percentage_local_origin: percent("Same for local-origin failures (default 0)"),
    failure_percentage_minimum_hosts: Opt(int("Hosts needed for failure-percentage ejection (default 5)", 1)),
    failure_percentage_request_volume: Opt(int("Requests per interval for a host to count (default 50)", 1)),
    split_external_local_origin_errors: Opt(bool(
      "Count connect failures, timeouts and resets apart from responses (default false)",
    )),
    successful_active_health_check_uneject_host: Opt(bool(
      "A passing active health check unejects the host (default true)",
    )),
    monitors: Opt(unsupported()),
    detect_degraded_hosts: Opt(unsupported()),
  },
);

const Thresholds = struct("Circuit breaker limits (Envoy's defaults when absent; 0 = unlimited)", {
  max_connections: Opt(int("Connections (default 1024)", 0)),
  max_pending_requests: Opt(int("Pending requests (default 1024)", 0)),
  max_requests: Opt(int("Active requests (default 1024)", 0)),
  max_retries: Opt(int("Active retries (default 3)", 0)),
});

const DnsResolvers = struct(
  "STRICT_DNS: ask these name servers instead of the system resolver; {} (MOSN's zero value) = not set",
  {
    servers: Opt(list(
      "Name server IP addresses, asked in order until one answers",
      ipAddress("IPv4 or IPv6 address, without a port (every server gets `port`)"),
      { minItems: 1 },
    )),
    port: Opt(portText('Port of every server (default "53"; a string, as in MOSN)')),
    timeout: Opt(
      int("Seconds to wait for each server's answer (default 2, as MOSN's DNS client; 0 = the default)", 0),
    ),
    search: Opt(list(
      "Search domains, each appended to the name and tried too: after the name as written when it has " +
        "at least `ndots` dots, before it otherwise",
      text("Domain"),
    )),
    ndots: Opt(int("Dots a name needs to be tried as written before the search domains (default 0)", 0)),
    attempts: Opt(ignored("MOSN's resolver asks each server once")),
  },
);

const Cluster = struct("An upstream cluster", {
  name: text("Cluster name"),
  type: Opt(
    oneOf("Discovery type (default SIMPLE)", CLUSTER_TYPES, { unsupported: UNSUPPORTED_CLUSTER_TYPES }),
  ),
  lb_type: Opt(oneOf("Load balancer (default LB_RANDOM)", LB_TYPES, { unsupported: UNSUPPORTED_LB_TYPES })),
  hosts: Opt(list("Hosts", Host)),
  connect_timeout: Opt(duration("Connect timeout (default 10s)")),
  idle_timeout: Opt(duration("Close idle upstream connections")),
  max_request_per_conn: Opt(int("Requests per connection (default 1024, 0 = unlimited)", 0)),
  circuit_breakers: Opt(list("Limits (MOSN reads the first element)", Thresholds, { maxItems: 1 })),
  dns_refresh_rate: Opt(duration("STRICT_DNS re-resolve interval (default 5s)")),
  conn_buffer_limit_bytes: Opt(int(
    "Output an upstream connection may queue before meshctl stops reading the downstreams feeding it; " +
      "16× this closes it (default 1048576)",
    1024,
  )),
  lbconfig: Opt(struct("Load balancer options", {
    choice_count: Opt(int("LB_LEAST_REQUEST choices (default 2)", 1)),
    active_request_bias: Opt(unsupported()),
  })),
  keepalive: Opt(struct("bolt heartbeats on idle upstream connections", {
    interval: Opt(duration("Heartbeat interval (default 15s)")),
    timeout: Opt(duration("Heartbeat timeout (default 3s)")),
    max_failures: Opt(int("Close after this many failures in a row (default 6)", 1)),
  })),
  http2_protocol_options: Opt(Http2ProtocolOptions),
  max_connections_per_host: Opt(
    int("meshctl extension: connections per host for multiplexed protocols (default 1)", 1),
  ),
  sub_type: Opt(ignored("Unused by MOSN")),
  health_check: Opt(HealthCheck),
  outlier_detection: Opt(OutlierDetection),
  healthy_panic_threshold: Opt(int(
    "meshctl extension (Envoy's common_lb_config.healthy_panic_threshold): below this healthy share a " +
      "priority level is balanced over all its hosts (percent, default 50; 0 = never)",
    0,
    100,
  )),
  overprovisioning_factor: Opt(int(
    "meshctl extension (Envoy's ClusterLoadAssignment overprovisioning_factor, percent): 140 = 1.4 (default)",
    100,
  )),
  lb_subset_config: Opt(unsupported()),
  original_dst_lb_config: Opt(unsupported()),
  slow_start: Opt(unsupported()),
  spec: Opt(unsupported()),
  cluster_manager_tls: Opt(bool(
    "Use cluster_manager.tls_context instead of this cluster's own tls_context (MOSN)",
  )),
  tls_context: Opt(TlsContext),
  dns_resolvers: Opt(DnsResolvers),
  dns_resolver_file: Opt(text(
    "STRICT_DNS without dns_resolvers: a resolv.conf whose nameserver, search and options lines to use " +
      '(default "/etc/resolv.conf" when dns_resolver_port is set; neither set: the system resolver)',
  )),
  dns_resolver_port: Opt(portText('STRICT_DNS: port of the dns_resolver_file name servers (default "53")')),
  dns_lookup_family: Opt(oneOf(
    "STRICT_DNS: V4_ONLY asks for A records, V6_ONLY for AAAA (default V4_ONLY, as MOSN)",
    DNS_LOOKUP_FAMILIES,
  )),
  respect_dns_ttl: Opt(unsupported("Deno.resolveDns reports no TTLs; dns_refresh_rate applies")),
});

// === xDS bootstrap (Envoy v3 bootstrap field names, as MOSN's pkg/config/v2 and pkg/istio read them) ===

/** Envoy's socket address: an IP or host name and a port (TCP only). */
const EnvoySocketAddress = struct("Envoy core.v3.SocketAddress", {
  address: text("IP address, or a host name for STRICT_DNS / LOGICAL_DNS clusters"),
  port_value: int("Port", 1, 65535),
  protocol: Opt(oneOf("Transport (default TCP)", ["TCP"], { unsupported: ["UDP"] })),
  ipv4_compat: Opt(ignored("IPv4-mapped IPv6 matching")),
  resolver_name: Opt(unsupported("custom resolvers")),
  named_port: Opt(unsupported("named ports")),
});

const EnvoyAddress = struct("Envoy core.v3.Address: a socket_address", {
  socket_address: EnvoySocketAddress,
  pipe: Opt(unsupported("Unix domain sockets")),
  envoy_internal_address: Opt(unsupported("Envoy internal listeners")),
});

/** Envoy's HealthStatus names; only the ones that mean "send traffic" are supported for static hosts. */
const HEALTH_STATUSES = ["UNKNOWN", "HEALTHY"] as const;

const LbEndpoint = struct("Envoy endpoint.v3.LbEndpoint: one host", {
  endpoint: struct("The host", {
    address: EnvoyAddress,
    hostname: Opt(text("Label for stats and logs")),
    health_check_config: Opt(unsupported("active health checks")),
    additional_addresses: Opt(unsupported()),
  }),
  load_balancing_weight: Opt(
    int("Weight 1..128 (default 1; Envoy allows more, meshctl's balancers take 128)", 1, 128),
  ),
  health_status: Opt(oneOf("Static health (default UNKNOWN, which takes traffic)", HEALTH_STATUSES, {
    unsupported: ["UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"],
  })),
  metadata: Opt(unsupported("subsets")),
  endpoint_name: Opt(unsupported()),
});

const LoadAssignment = struct("Envoy endpoint.v3.ClusterLoadAssignment: the cluster's hosts, inline", {
  cluster_name: Opt(text("The cluster's name (Envoy ignores it for static clusters)")),
  endpoints: Opt(list(
    "Hosts by locality",
    struct("Envoy LocalityLbEndpoints", {
      locality: Opt(ignored("Locality (priority 0 only, no locality weighting yet)")),
      lb_endpoints: Opt(list("Hosts", LbEndpoint)),
      load_balancing_weight: Opt(ignored("Locality weight (no locality weighting yet)")),
      priority: Opt(
        int("Priority: only 0 (the default) is supported, meshctl has no failover priorities yet", 0),
      ),
      leds_cluster_locality_config: Opt(unsupported("LEDS")),
    }),
  )),
  policy: Opt(unsupported("overprovisioning and drop policies")),
  named_endpoints: Opt(unsupported()),
});

const EnvoyThresholds = struct("Envoy CircuitBreakers.Thresholds (Envoy's defaults when absent)", {
  priority: Opt(oneOf("Routing priority (meshctl has one: DEFAULT)", ["DEFAULT"], { unsupported: ["HIGH"] })),
  max_connections: Opt(int("Connections (default 1024)", 0)),
  max_pending_requests: Opt(int("Pending requests (default 1024)", 0)),
  max_requests: Opt(int("Active requests (default 1024)", 0)),
  max_retries: Opt(int("Active retries (default 3)", 0)),
  track_remaining: Opt(ignored("Remaining-capacity gauges")),
  max_connection_pools: Opt(unsupported()),
  retry_budget: Opt(unsupported("retry budgets")),
});

const HttpProtocolOptions = struct(
  "Envoy's upstream HTTP options: only explicit_http_config.http2_protocol_options (HTTP/2 to the hosts, as " +
    "gRPC needs)",
  {
    "@type": oneOf("The Any type URL", [
      "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    ]),
    explicit_http_config: Opt(struct("One protocol to the hosts", {
      http2_protocol_options: Opt(EnvoyHttp2ProtocolOptions),
      http_protocol_options: Opt(unsupported("meshctl picks HTTP/1.1 per route (upstream_protocol)")),
      http3_protocol_options: Opt(unsupported("HTTP/3")),
    })),
    auto_config: Opt(unsupported("meshctl picks the protocol per route (upstream_protocol)")),
    use_downstream_protocol_config: Opt(
      unsupported("meshctl picks the protocol per route (upstream_protocol)"),
    ),
    common_http_protocol_options: Opt(unsupported()),
    upstream_http_protocol_options: Opt(unsupported()),
    http_filters: Opt(unsupported("upstream HTTP filters")),
  },
);

const DataSource = (what: string) =>
  struct(`${what} (Envoy core.v3.DataSource): exactly one of filename, inline_string`, {
    filename: Opt(text("A PEM file; a relative path is resolved against the directory of the config file")),
    inline_string: Opt(text("PEM text")),
    inline_bytes: Opt(unsupported("use inline_string")),
    environment_variable: Opt(unsupported("use filename or inline_string")),
  });

export const UPSTREAM_TLS_CONTEXT =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const ENVOY_TLS_VERSIONS = ["TLS_AUTO", "TLSv1_2", "TLSv1_3"] as const;

const UpstreamTlsContext = struct(
  "Envoy UpstreamTlsContext, with certificates from files or inline (no SDS)",
  {
    "@type": oneOf("The Any type URL", [UPSTREAM_TLS_CONTEXT]),
    sni: Opt(text(
      "The SNI sent; meshctl also verifies that the server certificate carries it (without sni: the host's " +
        "name or address), which Envoy does not",
    )),
    common_tls_context: Opt(struct("Certificates, trust and ALPN", {
      tls_params: Opt(struct("Protocol versions", {
        tls_minimum_protocol_version: Opt(
          oneOf("Lowest version (default TLS_AUTO: TLS 1.2)", ENVOY_TLS_VERSIONS, {
            unsupported: ["TLSv1_0", "TLSv1_1"],
          }),
        ),
        tls_maximum_protocol_version: Opt(
          oneOf("Highest version (default TLS_AUTO: TLS 1.3)", ENVOY_TLS_VERSIONS, {
            unsupported: ["TLSv1_0", "TLSv1_1"],
          }),
        ),
        cipher_suites: Opt(unsupported("the TLS stack cannot restrict cipher suites")),
        ecdh_curves: Opt(unsupported("the TLS stack cannot restrict key-exchange groups")),
      })),
      tls_certificates: Opt(list(
        "This side's certificate (mTLS to the control plane)",
        struct("A certificate and its key", {
          certificate_chain: DataSource("The certificate chain, leaf first"),
          private_key: DataSource("The private key (unencrypted)"),
        }),
        { maxItems: 1 },
      )),
      validation_context: Opt(struct(
        "How the server certificate is verified; without it Envoy, and so meshctl, does not verify it (a warning)",
        {
          trusted_ca: Opt(DataSource("Trust roots (unset: the system roots)")),
          match_subject_alt_names: Opt(
            list("The server certificate must carry a SAN matching one of these", SanMatcher),
          ),
          match_typed_subject_alt_names: Opt(unsupported("use match_subject_alt_names")),
          verify_certificate_spki: Opt(unsupported()),
          verify_certificate_hash: Opt(unsupported()),
          crl: Opt(unsupported("CRLs")),
        },
      )),
      alpn_protocols: Opt(list("ALPN protocols offered, in order (h2 for gRPC)", text("Protocol"))),
      tls_certificate_sds_secret_configs: Opt(unsupported("SDS")),
      validation_context_sds_secret_config: Opt(unsupported("SDS")),
      combined_validation_context: Opt(unsupported("SDS")),
    })),
    allow_renegotiation: Opt(unsupported()),
    max_session_keys: Opt(ignored("Session resumption cache size")),
  },
);

const TransportSocket = struct("Envoy core.v3.TransportSocket: TLS to the cluster's hosts", {
  name: oneOf("The transport socket", ["envoy.transport_sockets.tls"]),
  typed_config: UpstreamTlsContext,
});

export const ENVOY_CLUSTER_TYPES = ["STATIC", "STRICT_DNS", "LOGICAL_DNS"] as const;
export const ENVOY_LB_POLICIES = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "MAGLEV"] as const;

const EnvoyCluster = struct(
  "An Envoy v3 Cluster (static_resources.clusters), e.g. the control plane's own cluster; converted into a " +
    "cluster like cluster_manager's",
  {
    name: text("Cluster name (unique across static_resources and cluster_manager)"),
    type: Opt(oneOf(
      "Discovery type (default STATIC, as Envoy; LOGICAL_DNS is resolved as STRICT_DNS, a warning)",
      ENVOY_CLUSTER_TYPES,
      { unsupported: ["EDS", "ORIGINAL_DST"] },
    )),
    cluster_type: Opt(unsupported("custom cluster types")),
    connect_timeout: Opt(duration("Connect timeout (default 5s, as Envoy)")),
    lb_policy: Opt(oneOf("Load balancer (default ROUND_ROBIN, as Envoy)", ENVOY_LB_POLICIES, {
      unsupported: ["RING_HASH", "CLUSTER_PROVIDED", "LOAD_BALANCING_POLICY_CONFIG", "ORIGINAL_DST_LB"],
    })),
    hosts: Opt(
      list("Hosts (Envoy v2's field, which MOSN's bootstraps use; not with load_assignment)", EnvoyAddress),
    ),
    load_assignment: Opt(LoadAssignment),
    http2_protocol_options: Opt(EnvoyHttp2ProtocolOptions),
    typed_extension_protocol_options: Opt(struct("Protocol options by extension name", {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": Opt(HttpProtocolOptions),
    })),
    circuit_breakers: Opt(struct("Envoy circuit breakers", {
      thresholds: Opt(list("Limits (one, priority DEFAULT)", EnvoyThresholds, { maxItems: 1 })),
      per_host_thresholds: Opt(unsupported()),
    })),
    max_requests_per_connection: Opt(int("Requests per connection (default 1024, 0 = unlimited)", 0)),
    per_connection_buffer_limit_bytes: Opt(int(
      "Output an upstream connection may queue before meshctl stops reading the downstreams feeding it " +
        "(default 1048576)",
      1024,
    )),
    dns_refresh_rate: Opt(duration("STRICT_DNS re-resolve interval (default 5s)")),
    dns_lookup_family: Opt(oneOf("STRICT_DNS record type (default V4_ONLY)", DNS_LOOKUP_FAMILIES, {
      unsupported: ["AUTO", "V4_PREFERRED", "ALL"],
    })),
    respect_dns_ttl: Opt(unsupported("Deno.resolveDns reports no TTLs; dns_refresh_rate applies")),
    upstream_connection_options: Opt(ignored("TCP keepalive settings of upstream sockets")),
    alt_stat_name: Opt(ignored("Stats name")),
    common_lb_config: Opt(ignored("Panic threshold and locality weighting")),
    transport_socket: Opt(TransportSocket),
    eds_cluster_config: Opt(unsupported("EDS clusters come from CDS")),
    health_checks: Opt(unsupported("active health checks")),
    outlier_detection: Opt(unsupported("outlier detection")),
    lb_subset_config: Opt(unsupported("subsets")),
    metadata: Opt(unsupported()),
  },
);

const XDS_API_TYPE = "API type: GRPC (state of the world over one gRPC stream)";
const XDS_VERSION = "xDS transport version: V3 (the default; v2 is retired)";

const GrpcService = struct("Envoy core.v3.GrpcService: the control plane, through a cluster", {
  envoy_grpc: struct("Envoy's own gRPC client (the only kind meshctl has)", {
    cluster_name: text("The cluster whose hosts serve ADS: a static_resources or cluster_manager cluster"),
    authority: Opt(text("The :authority sent (default: the cluster name)")),
    max_receive_message_length: Opt(int(
      "Largest DiscoveryResponse accepted, bytes (default 16777216 = 16 MiB; Envoy's 0 = unlimited is " +
        "refused: a larger response ends the stream, counted as xds message_too_large, and it reconnects)",
      1,
      2147483647,
    )),
    retry_policy: Opt(unsupported("meshctl reconnects with its own jittered backoff")),
    skip_envoy_headers: Opt(ignored("meshctl sends no x-envoy-* headers on the ADS stream")),
  }),
  google_grpc: Opt(unsupported("use envoy_grpc with a static cluster")),
  timeout: Opt(ignored("Per-call timeout; the ADS stream is long-lived")),
  initial_metadata: Opt(unsupported("gRPC metadata on the ADS stream")),
  retry_policy: Opt(unsupported("meshctl reconnects with its own jittered backoff")),
});

const ApiConfigSource = struct("Envoy core.v3.ApiConfigSource: how to reach the control plane", {
  api_type: oneOf(XDS_API_TYPE, ["GRPC"], {
    unsupported: ["REST", "REST_LEGACY", "DELTA_GRPC", "AGGREGATED_GRPC", "AGGREGATED_DELTA_GRPC"],
  }),
  transport_api_version: Opt(oneOf(XDS_VERSION, ["V3"], { unsupported: ["V2", "AUTO"] })),
  grpc_services: list("Exactly one gRPC service", GrpcService, { minItems: 1, maxItems: 1 }),
  refresh_delay: Opt(duration("REST polling interval: unused, meshctl is event-driven (a warning)")),
  request_timeout: Opt(ignored("REST only")),
  rate_limit_settings: Opt(unsupported("client-side xDS rate limits")),
  set_node_on_first_message_only: Opt(bool(
    "Send the node on a stream's first request only; meshctl always does (Envoy's false resends it, which " +
      "control planes ignore)",
  )),
  cluster_names: Opt(list("MOSN's field: unused (a warning)", text("Cluster name"))),
  config_validators: Opt(unsupported()),
});

const ConfigSource = struct(
  "Envoy core.v3.ConfigSource: where this type's resources come from; meshctl takes them over ADS only: " +
    "ads: {}, or an api_config_source naming ads_config's cluster",
  {
    ads: Opt(struct("Over the ADS stream of dynamic_resources.ads_config", {})),
    api_config_source: Opt(ApiConfigSource),
    resource_api_version: Opt(
      oneOf("Resource version: V3 (the default)", ["V3"], { unsupported: ["V2", "AUTO"] }),
    ),
    initial_fetch_timeout: Opt(duration(
      "Readiness waits at most this long for the first update of this type (default 15s, as Envoy; 0 = " +
        "wait for it)",
    )),
    path: Opt(unsupported("resources from files")),
    path_config_source: Opt(unsupported("resources from files")),
    self: Opt(unsupported("use ads: {}")),
    authorities: Opt(unsupported("xDS federation")),
  },
);

const DynamicResources = struct(
  "Envoy bootstrap dynamic_resources: configuration from an xDS control plane",
  {
    ads_config: Opt(ApiConfigSource),
    lds_config: Opt(ConfigSource),
    cds_config: Opt(ConfigSource),
    lds_resources_locator: Opt(unsupported("xdstp:// locators")),
    cds_resources_locator: Opt(unsupported("xdstp:// locators")),
    default_config_source: Opt(unsupported()),
    ignore_filters: Opt(list(
      "meshctl extension: names of filters meshctl does not implement that xDS resources may carry and " +
        "that are skipped instead of NACKed (HTTP filters, listener network filters, cluster filters), e.g. " +
        "telemetry filters such as istio.stats; each skip is reported. Default: none (Envoy's rule: an " +
        "unknown filter is refused unless marked is_optional)",
      text("A filter name, as in the resource's `name`"),
    )),
  },
);

const StaticResources = struct("Envoy bootstrap static_resources", {
  clusters: Opt(list("Envoy v3 clusters known before xDS (the control plane's cluster)", EnvoyCluster)),
  listeners: Opt(unsupported("use servers[].listeners")),
  secrets: Opt(unsupported("SDS")),
});

const Node = struct("Envoy core.v3.Node: who this proxy is, sent to the control plane", {
  id: Opt(text(
    "Node id; istiod wants sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local (router for gateways)",
  )),
  cluster: Opt(text("Service cluster")),
  metadata: Opt(freeMap("Free-form metadata (istiod reads ISTIO_VERSION, NAMESPACE, INSTANCE_IPS, LABELS…)")),
  locality: Opt(struct("Where this proxy runs", {
    region: Opt(text("Region")),
    zone: Opt(text("Zone")),
    sub_zone: Opt(text("Sub-zone")),
  })),
  user_agent_name: Opt(text('Client name (default "meshctl")')),
  user_agent_version: Opt(text("Client version (default meshctl's)")),
  user_agent_build_version: Opt(ignored("Structured build version")),
  client_features: Opt(list("xDS client features announced", text("Feature name"))),
  extensions: Opt(ignored("Announced extensions")),
  listening_addresses: Opt(ignored("Deprecated in Envoy")),
  build_version: Opt(ignored("Deprecated in Envoy")),
});

/** The tracer drivers MOSN registers (pkg/trace: SOFATracer, Zipkin, jaeger, SkyWalking, otel, plugins). */
export const TRACING_DRIVERS = [
  "SOFATracer",
  "Zipkin",
  "jaeger",
  "SkyWalking",
  "otel",
  "PluginDriver",
] as const;

const Tracing = struct(
  "MOSN tracing, accepted so MOSN configs load: meshctl records no spans yet, and says so with a warning " +
    "(meshctl validate, and the log at serve start) when tracing is enabled",
  {
    enable: Opt(bool("Turn tracing on (MOSN needs a driver too)")),
    driver: Opt(oneOf("The tracer driver (MOSN's names, case-sensitive)", TRACING_DRIVERS)),
    config: Opt(freeMap("The driver's own config")),
    tracer: Opt(ignored("Deprecated in MOSN: use driver")),
  },
);

const Admin = struct("The admin API", {
  access_log_path: Opt(ignored("Envoy's admin access log")),
  address: struct("Where it listens", {
    socket_address: struct("Default 127.0.0.1:34901", {
      address: text("IP address"),
      port_value: int("Port", 0, 65535),
    }),
  }),
});

// === extends (MOSN pkg/config/v2 ExtendConfig: typed extension entries) ===

const DubboRegistry = struct(
  "MOSN's dubbo_registry extension: the sidecar pub/sub HTTP API (POST /pub /unpub /sub /unsub) over " +
    "ZooKeeper. meshctl additions are marked; every one has a default",
  {
    enable: Opt(bool("Start the API and the registry client (default false: the entry is only validated)")),
    server_port: Opt(int(
      "The port `pub` publishes as this sidecar's provider port: the listener that receives the calls for " +
        "the services published (MOSN: must equal that listener's port). Required unless server_listener",
      1,
      65535,
    )),
    server_listener: Opt(text(
      "meshctl addition: publish the port this listener (by name) is actually bound to instead of " +
        "server_port (so a listener on port 0 can be published)",
    )),
    api_port: Opt(int("Port of the pub/sub API (default 22222, as MOSN; 0 = the OS picks one)", 0, 65535)),
    log_path: Opt(ignored("MOSN's dubbo-go log directory: meshctl logs registry events in its own log")),
    api_address: Opt(ipAddress(
      "meshctl addition: interface the API binds (default 127.0.0.1; MOSN binds every interface, which " +
        "lets anyone who can reach the host publish services in this sidecar's name)",
    )),
    advertise_ip: Opt(ipAddress(
      "meshctl addition: the IP written into published provider and consumer URLs (MOSN: the host's IP). " +
        "Default 127.0.0.1, with a warning: providers on other hosts cannot reach it",
    )),
    session_timeout: Opt(duration(
      "meshctl addition: ZooKeeper session timeout asked for; the ensemble bounds it to 2–20 × its " +
        "tickTime. A dead sidecar's nodes vanish this long after it died (default 10s)",
    )),
    connect_timeout: Opt(duration(
      "meshctl addition: how long a pub/sub waits for the first ZooKeeper connection before answering " +
        "err_no 1 (default 5s, MOSN's registry timeout)",
    )),
    max_request_body_bytes: Opt(int(
      "meshctl addition: largest API request body; larger ones get HTTP 413 and err_no 1 (default 65536)",
      1024,
    )),
    max_services: Opt(int(
      "meshctl addition: services published plus services subscribed at once; more get err_no 1 " +
        "(default 1024)",
      1,
    )),
  },
);

/** `extends[]` entry types meshctl knows, with their config schema. */
export const EXTEND_TYPES = { dubbo_registry: DubboRegistry } as const;

const Extend = filterItem("An extension entry (MOSN ExtendConfig): {type, config}", EXTEND_TYPES);

export const ConfigSchema = struct("meshctl configuration (MOSN v2 schema)", {
  servers: Opt(list(
    "Servers (optional with dynamic_resources: listeners and routes then come from xDS, or from both)",
    Server,
    { minItems: 1 },
  )),
  cluster_manager: Opt(struct("Upstream clusters", {
    clusters: Opt(list("Clusters", Cluster)),
    clusters_configs: Opt(unsupported("clusters from a directory")),
    tls_context: Opt(TlsContext),
  })),
  admin: Opt(Admin),
  limits: Opt(struct("meshctl extension: process-wide limits", {
    max_buffered_bytes: Opt(int(
      "Bytes all connections together may hold in incomplete RPC frames; a connection that would " +
        "exceed it is closed and counted (default 268435456 = 256 MiB; 0 = unlimited)",
      0,
    )),
    max_pem_file_bytes: Opt(int(
      "Largest certificate or key file (ca_cert, cert_chain, private_key) read at load; a larger one is a " +
        "config error (default 1048576; a CA bundle is ~200 KiB)",
      4096,
    )),
    shared_counter_slots: Opt(int(
      "With workers (--concurrency ≥ 2): slots of the process-wide table circuit breakers (4 per cluster " +
        "name) and listener max_connections (1 per listener name) count in; a name keeps its slot for the " +
        "life of the process. Full: further names count per worker, logged and counted as " +
        "meta.limits.process.shared_counter_slots_exhausted_total. Read at start (default 16384)",
      16,
      1 << 20,
    )),
  })),
  dynamic_resources: Opt(DynamicResources),
  static_resources: Opt(StaticResources),
  tracing: Opt(Tracing),
  metrics: Opt(
    freeMap("MOSN's metrics sinks: accepted, not implemented (a warning): use the admin /stats endpoints"),
  ),
  pprof: Opt(freeMap("MOSN's Go profiler: accepted, not applicable to meshctl (a warning)")),
  layered_runtime: Opt(freeMap("Envoy runtime layers: accepted, meshctl has no runtime (a warning)")),
  plugin: Opt(unsupported()),
  third_part_codec: Opt(unsupported()),
  extends: Opt(list("Extensions (MOSN `extends`): today `dubbo_registry`, the pub/sub registry API", Extend)),
  wasm_global_plugins: Opt(unsupported()),
  node: Opt(Node),
  pid: Opt(ignored("PID file")),
  uds_dir: Opt(ignored("Hot-upgrade socket directory")),
  disable_upgrade: Opt(ignored("Hot upgrade switch")),
  close_graceful: Opt(ignored("Hot upgrade")),
  inherit_old_mosnconfig: Opt(ignored("Hot upgrade")),
});

/** The normalized document after the structural walk (canonical keys, values as written). */
export type ConfigDocument = Static<typeof ConfigSchema>;
export type ProxyDocument = Static<typeof ProxyConfig>;
export type TcpProxyDocument = Static<typeof TcpProxyConfig>;
export type DnsResolversDocument = Static<typeof DnsResolvers>;
export type TlsContextDocument = Static<typeof TlsContext>;
export type EnvoyClusterDocument = Static<typeof EnvoyCluster>;
export type ApiConfigSourceDocument = Static<typeof ApiConfigSource>;
export type ConfigSourceDocument = Static<typeof ConfigSource>;
export type DubboRegistryDocument = Static<typeof DubboRegistry>;
export type UpstreamTlsContextDocument = Static<typeof UpstreamTlsContext>;
