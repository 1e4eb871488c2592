/**
 * The validated, immutable configuration snapshot. Field names follow MOSN's v2 schema; values are
 * normalized (durations in milliseconds, addresses parsed, defaults filled). The raw YAML/JSON is
 * parsed and validated into this shape by `loadConfig`; every consumer reads only this.
 */
import type { LogFormat, LogLevel, SocketAddress } from "../core/mod.ts";
import type { RETRY_CONDITIONS } from "./schema.ts";

export interface ConfigSnapshot {
  readonly servers: readonly ServerConfig[];
  readonly clusters: readonly ClusterConfig[];
  readonly admin: AdminConfig;
  readonly limits: LimitsConfig;
  /** MOSN's `tracing` block as configured; meshctl records no spans (validation warns when enabled). */
  readonly tracing: TracingConfig;
  /**
   * Configuration from an xDS control plane (the bootstrap's `dynamic_resources`, with `node`); undefined
   * for a file-only config. `servers` and `clusters` then hold what the file itself defines (the static
   * part: `static_resources.clusters` are merged into `clusters`), which xDS adds to.
   */
  readonly xds?: XdsBootstrapConfig;
  /**
   * The sidecar registry API (`extends[]` entry `dubbo_registry` with `enable: true`); undefined when
   * absent or disabled.
   */
  readonly registry?: RegistryConfig;
  /** Where the snapshot came from (file path), for config_dump and logs. */
  readonly source: string;
  /** The original document as parsed (after key normalization), for /api/v1/config_dump. */
  readonly raw: unknown;
}

/** MOSN's `dubbo_registry` extension, defaults filled (see `config/schema.ts` for each field). */
export interface RegistryConfig {
  /** The provider port `pub` publishes (server_port); undefined when `serverListener` is set instead. */
  readonly serverPort: number | undefined;
  /** Publish this listener's bound port instead of a fixed one (meshctl addition). */
  readonly serverListener: string | undefined;
  /** Where the API binds: default 127.0.0.1:22222. */
  readonly apiAddress: SocketAddress;
  /** The IP published in provider and consumer URLs (default 127.0.0.1). */
  readonly advertiseIp: string;
  readonly sessionTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxRequestBodyBytes: number;
  readonly maxServices: number;
}

/** MOSN `tracing`: accepted and kept, not acted on. */
export interface TracingConfig {
  readonly enable: boolean;
  readonly driver: string | undefined;
}

/** Process-wide limits (meshctl extension `limits`). */
export interface LimitsConfig {
  /** Bytes held in incomplete frames across all connections; 0 = unlimited. Default 256 MiB. */
  readonly maxBufferedBytes: number;
  /** Largest ca_cert / cert_chain / private_key file read at load (bytes). Default 1 MiB. */
  readonly maxPemFileBytes: number;
  /** Slots of the workers' shared limit table (read at start). Default 16384. */
  readonly sharedCounterSlots: number;
}

export interface AdminConfig {
  readonly address: SocketAddress; // default 127.0.0.1:34901
}

export interface ServerConfig {
  readonly defaultLogLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly gracefulTimeoutMs: number; // drain timeout, default 30 s
  readonly routers: readonly RouterConfig[];
  readonly listeners: readonly ListenerConfig[];
}

// === Listeners ===

export interface ListenerConfig {
  readonly name: string;
  readonly address: SocketAddress;
  readonly bindPort: boolean;
  readonly accessLogs: readonly AccessLogConfig[];
  /** The one filter chain's network filters, in order (`proxy`, `tcp_proxy`). */
  readonly networkFilters: readonly NetworkFilterConfig[];
  readonly streamFilters: readonly StreamFilterConfig[];
  readonly connectionIdleTimeoutMs: number | undefined;
  /** Open connections accepted at once; 0 = unlimited. Default 10000. */
  readonly maxConnections: number;
  /** Write high-water mark per downstream connection (bytes). Default 1 MiB. */
  readonly perConnBufferLimitBytes: number;
  /**
   * The filter chain's `tls_context` / `tls_context_set`, in order (the first is the default when the
   * client sends no SNI or an unknown one). Empty: the listener is plaintext.
   */
  readonly tlsContexts: readonly TlsContextConfig[];
  /**
   * MOSN `inspector`: TLS and plaintext on one port, told apart by the first byte. True only when
   * `tlsContexts` is not empty (without a context validation warns and the listener is plaintext).
   */
  readonly inspector: boolean;
  /** A TLS handshake must finish within this (meshctl extension `tls_handshake_timeout`, default 10 s; 0: no limit). */
  readonly tlsHandshakeTimeoutMs: number;
  /**
   * While draining, a connection with nothing in flight is closed once it has read nothing for this long
   * (meshctl extension `drain_idle_grace`, default 1 s; 0: at once). The drain timeout bounds it.
   */
  readonly drainIdleGraceMs: number;
  /**
   * MOSN `reuseport`: bind with SO_REUSEPORT so a new meshctl can bind the address while this one drains
   * (restart without downtime). Default false: a second process on the address fails loudly.
   */
  readonly reusePort: boolean;
}

// === TLS ===

/**
 * PEM material as configured: inline (`path` undefined) or read from a file at load time. The snapshot
 * carries the text so it is self-contained; a change to the file is picked up by a reload. Validation has
 * parsed it: `pem` holds only the blocks that matter, as written (CERTIFICATE blocks for ca_cert and
 * cert_chain, leaf first; the one private key block for private_key), certificates within their validity
 * and the key matching the leaf.
 */
export interface PemSource {
  /** The file as an absolute path (a relative one is resolved against the config file's directory). */
  readonly path: string | undefined;
  readonly pem: string;
}

export type TlsVersion = "TLSv1.2" | "TLSv1.3";

/**
 * A StringMatcher (Envoy's `match_subject_alt_names`, meshctl extension on MOSN's tls_context): one of the
 * fields; matched against every SAN of the peer certificate (DNS, URI, IP, email).
 */
export type SanMatcherConfig =
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "suffix"; readonly value: string }
  | { readonly kind: "contains"; readonly value: string }
  | { readonly kind: "regex"; readonly value: string }; // RE2 syntax, checked at load

/**
 * MOSN's `tls_context` (pkg/config/v2/tls.go), validated; only contexts with `status: true` are kept.
 * Client auth follows MOSN's GetClientAuth: verify_client + require_client_cert = require and verify;
 * verify_client = verify if given; require_client_cert alone = request, unverified (Go's RequestClientCert).
 */
export interface TlsContextConfig {
  /** Listener: extra name this context answers to in SNI. Cluster: the SNI and the name verified. */
  readonly serverName: string | undefined;
  /** Trust roots: client certificates (listener), server certificates (cluster; unset = system roots). */
  readonly caCert: PemSource | undefined;
  readonly certChain: PemSource | undefined;
  readonly privateKey: PemSource | undefined;
  readonly verifyClient: boolean;
  readonly requireClientCert: boolean;
  /** Cluster: do not verify the server certificate at all (MOSN insecure_skip). */
  readonly insecureSkip: boolean;
  /** Undefined: the stack's default (TLS 1.2 .. 1.3; 1.0 and 1.1 are not offered by the TLS stack). */
  readonly minVersion: TlsVersion | undefined;
  readonly maxVersion: TlsVersion | undefined;
  /** ALPN protocols offered, in preference order (MOSN `alpn`, comma separated); empty = derived. */
  readonly alpn: readonly string[];
  /** Peer SANs, any of which must match (empty: any verified certificate). */
  readonly matchSubjectAltNames: readonly SanMatcherConfig[];
  /** Where in the config this context is (data path), for stats and log messages. */
  readonly configPath: string;
}

export interface AccessLogConfig {
  readonly path: string; // "stdout", "stderr" or a file path
  readonly format: string; // MOSN %variable% format
  /** Bytes of lines buffered for a slow disk before new lines are dropped. Default 1 MiB. */
  readonly bufferLimitBytes: number;
}

export type NetworkFilterConfig = ProxyFilterConfig | TcpProxyFilterConfig;

export interface ProxyFilterConfig {
  readonly type: "proxy";
  /** Protocol names the listener accepts: one, several (comma list), or every registered one for Auto. */
  readonly downstreamProtocols: readonly string[];
  /** True when `Auto` (or a list) was configured: sniff the first bytes. */
  readonly autoDetect: boolean;
  /**
   * `upstream_protocol`: a protocol name, or `AUTO_PROTOCOL` ("Auto"), which like an unset one means the
   * request's own protocol. A route's `upstream_protocol` takes precedence.
   */
  readonly upstreamProtocol: string | undefined;
  readonly routerConfigName: string;
  readonly fallbackForUnknownProtocol: boolean;
  /** Per-protocol options, e.g. { Http1: { max_header_size } }. */
  readonly extendConfig: Readonly<Record<string, unknown>>;
  /** A started request head / frame must complete within this; 0 disables. Default 10 s. */
  readonly requestHeadersTimeoutMs: number;
  /** No body bytes either way for this long ends a stream; 0 disables. Default 5 min. */
  readonly streamIdleTimeoutMs: number;
  /** Streams in flight per downstream connection; 0 = unlimited. Default 1024. */
  readonly maxConcurrentStreams: number;
  /** Envoy's use_remote_address. Default true. */
  readonly useRemoteAddress: boolean;
  /** Envoy's xff_num_trusted_hops. Default 0. */
  readonly xffNumTrustedHops: number;
  /** Envoy's normalize_path: RFC 3986 normalization before filters and routing. Default false. */
  readonly normalizePath: boolean;
  /** Envoy's generate_request_id: x-request-id added when absent. Default false (MOSN). */
  readonly generateRequestId: boolean;
  /** Envoy's server_header_transformation + server_name; undefined = PASS_THROUGH (MOSN). */
  readonly serverHeader:
    | { readonly mode: "OVERWRITE" | "APPEND_IF_ABSENT"; readonly name: string }
    | undefined;
  /** HTTP/2 settings for downstream connections. */
  readonly http2: Http2OptionsConfig;
}

/** `http2_protocol_options` (meshctl extension, Envoy's names), defaults filled. */
export interface Http2OptionsConfig {
  readonly initialStreamWindowSize: number; // default 256 KiB
  readonly initialConnectionWindowSize: number; // default 16 MiB
  readonly maxFrameSize: number; // default 16384
  readonly hpackTableSize: number; // default 4096
  readonly maxHeaderListSize: number; // default 64 KiB
  /** 0 = unset: the proxy's max_concurrent_streams (listener) / the server's limit (cluster). */
  readonly maxConcurrentStreams: number;
}

export interface TcpProxyFilterConfig {
  readonly type: "tcp_proxy";
  /** Every connection goes here when set; routes are then never consulted (MOSN). */
  readonly cluster: string | undefined;
  /** Without `cluster`: the first route whose four lists all match the connection picks the cluster. */
  readonly routes: readonly TcpProxyRouteConfig[];
  readonly idleTimeoutMs: number | undefined;
  readonly maxConnectAttempts: number; // default 1
}

/** An `address/length` range as configured (validated; compiled by the tcp_proxy). */
export interface CidrRangeConfig {
  readonly address: string;
  readonly length: number;
}

/** An inclusive port range. */
export interface PortRangeConfig {
  readonly min: number;
  readonly max: number;
}

/**
 * A tcp_proxy route (MOSN's StreamRoute): matches when the client's address is in `sourceAddrs`, its port
 * in `sourcePorts`, the address it connected to in `destinationAddrs` and that port in `destinationPorts`.
 * An empty list matches nothing, as in MOSN.
 */
export interface TcpProxyRouteConfig {
  readonly cluster: string;
  readonly sourceAddrs: readonly CidrRangeConfig[];
  readonly sourcePorts: readonly PortRangeConfig[];
  readonly destinationAddrs: readonly CidrRangeConfig[];
  readonly destinationPorts: readonly PortRangeConfig[];
}

export interface StreamFilterConfig {
  readonly type: string;
  readonly config: Readonly<Record<string, unknown>>;
}

// === Routers ===

export interface RouterConfig {
  readonly routerConfigName: string;
  readonly virtualHosts: readonly VirtualHostConfig[];
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface VirtualHostConfig {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routers: readonly RouteConfig[];
  /** Envoy's include_request_attempt_count: x-envoy-attempt-count on upstream requests. */
  readonly includeRequestAttemptCount?: boolean;
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface HeaderValueOption {
  readonly key: string;
  readonly value: string;
  readonly append: boolean;
}

export interface HeaderMatcherConfig {
  readonly name: string; // lowercased; "method" matches the HTTP method
  readonly value: string;
  readonly regex: boolean;
}

/** A query parameter condition: its first occurrence, percent-decoded, equals/matches `value`. */
export interface QueryParameterMatcherConfig {
  readonly name: string;
  /** undefined: the parameter must be present (any value, empty included). */
  readonly value: string | undefined;
  readonly regex: boolean;
}

export interface RouteMatchConfig {
  readonly prefix?: string;
  readonly path?: string;
  readonly regex?: string;
  /** Matches CONNECT requests (authority only), which no path matcher takes. */
  readonly connect?: boolean;
  readonly headers: readonly HeaderMatcherConfig[];
  /** Envoy's query_parameters (meshctl extension); absent = none. */
  readonly queryParameters?: readonly QueryParameterMatcherConfig[];
}

export interface RouteConfig {
  readonly match: RouteMatchConfig;
  readonly route?: RouteActionConfig;
  readonly directResponse?: DirectResponseConfig;
  readonly redirect?: RedirectConfig;
}

export interface WeightedClusterConfig {
  readonly name: string;
  readonly weight: number;
}

/** An Envoy retry_on condition (`retry_conditions`). */
export type RetryCondition = typeof RETRY_CONDITIONS[number];

export interface RetryPolicyConfig {
  readonly retryOn: boolean;
  readonly retryTimeoutMs: number | undefined; // per try
  readonly numRetries: number;
  readonly statusCodes: readonly number[]; // empty = any 5xx
  /** Envoy's retry_on conditions; when set they replace retryOn/statusCodes' MOSN meaning. */
  readonly conditions?: ReadonlySet<RetryCondition>;
  /** Response headers that make a response retriable (`retriable-headers`). */
  readonly retriableHeaders?: readonly HeaderMatcherConfig[];
  /** Jittered exponential back-off; undefined = 0-10 ms. */
  readonly backOff?: { readonly baseMs: number; readonly maxMs: number };
  /** Envoy's previous_hosts predicate: picks per retry to avoid hosts already tried; 0 = none. */
  readonly hostSelectionAttempts?: number;
}

export type HashPolicyConfig =
  | { readonly type: "header"; readonly key: string }
  | { readonly type: "source_ip" }
  | { readonly type: "cookie"; readonly name: string };

export interface RouteActionConfig {
  readonly clusterName?: string;
  readonly weightedClusters: readonly WeightedClusterConfig[];
  readonly timeoutMs: number; // default 60 s (MOSN)
  /** Envoy's route idle_timeout: replaces the proxy's stream idle timeout; undefined = the proxy's. */
  readonly idleTimeoutMs?: number;
  readonly retryPolicy?: RetryPolicyConfig;
  readonly hashPolicy: readonly HashPolicyConfig[];
  /** A protocol name, or "Auto" (`AUTO_PROTOCOL`): the request's own, whatever the proxy says. */
  readonly upstreamProtocol?: string;
  readonly prefixRewrite?: string;
  readonly regexRewrite?: { readonly pattern: string; readonly substitution: string };
  readonly hostRewrite?: string;
  /** CONNECT handling: undefined = not accepted; "forward" = sent on as a request; "terminate" = TCP here. */
  readonly connect?: "forward" | "terminate";
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToRemove: readonly string[];
}

export interface DirectResponseConfig {
  readonly status: number;
  readonly body: string;
}

export interface RedirectConfig {
  readonly responseCode: number; // 301 default; 302/303/307/308
  readonly pathRedirect?: string;
  readonly hostRedirect?: string;
  readonly schemeRedirect?: string;
}

// === Clusters ===

export type ClusterType = "SIMPLE" | "STRICT_DNS";
export type LbType =
  | "LB_RANDOM"
  | "LB_ROUNDROBIN"
  | "LB_WEIGHTED_ROUNDROBIN"
  | "LB_LEAST_REQUEST"
  | "LB_MAGLEV";

/** Envoy's defaults (1024/1024/1024/3) unless configured; 0 = unlimited. */
export interface CircuitBreakersConfig {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface HostConfig {
  readonly address: SocketAddress;
  readonly hostname?: string;
  readonly weight: number; // 1..128, default 1
  /** MOSN `tls_disable`: plaintext to this host even when the cluster has a TLS context. */
  readonly tlsDisable: boolean;
  /**
   * meshctl extension (Envoy's `LocalityLbEndpoints.priority`): 0 is the highest priority; traffic spills
   * to higher numbers as lower ones lose health (overprovisioning factor). Default 0.
   */
  readonly priority: number;
}

/** An expected HTTP status range for an HTTP health check, inclusive both ends (MOSN `CodeRange`). */
export interface StatusRangeConfig {
  readonly start: number;
  readonly end: number;
}

/** MOSN `check_config.http_check_config`: what an HTTP health check sends and accepts. */
export interface HttpHealthCheckConfig {
  /** Port to check; undefined = the host's own port (MOSN: any port outside 1..65534 means the host's). */
  readonly port: number | undefined;
  /** Request path, query included. Default "/". */
  readonly path: string;
  /** Default GET. */
  readonly method: string;
  /** Host header; default the host's address. */
  readonly domain: string | undefined;
  /** Accepted statuses; empty = 200 only (MOSN). */
  readonly codes: readonly StatusRangeConfig[];
}

/** MOSN's cluster `health_check` (pkg/upstream/healthcheck), active checking of every host. */
export interface HealthCheckConfig {
  /** `service_name`: the checker's stats label; MOSN runs no checks without it (validation warns). */
  readonly serviceName: string;
  /** `protocol`: "Http1" → an HTTP request (`http`); anything else → a TCP connect. */
  readonly protocol: string;
  /** Each check's deadline. Default 1 s (MOSN); an HTTP check's own `timeout`, when shorter, wins. */
  readonly timeoutMs: number;
  /** Between the end of one check and the start of the next. Default 15 s (MOSN). */
  readonly intervalMs: number;
  /** A random 0..jitter added to every interval and to the first check. Default 5 ms (MOSN). */
  readonly intervalJitterMs: number;
  /** Before a host's first check (plus jitter). Default 0: checked at once (MOSN waits 1 s). */
  readonly initialDelayMs: number;
  /** Consecutive successes that bring an unhealthy host back. Default 1 (MOSN). */
  readonly healthyThreshold: number;
  /** Consecutive failures that take a healthy host out. Default 1 (MOSN). */
  readonly unhealthyThreshold: number;
  /** Set when `protocol` is Http1 (MOSN: Http1 without http_check_config falls back to TCP). */
  readonly http: HttpHealthCheckConfig | undefined;
}

/**
 * Envoy's `envoy.config.cluster.v3.OutlierDetection`, field for field with Envoy's defaults (MOSN has
 * none). Durations in ms; percentages 0..100; `successRateStdevFactor` is Envoy's ×1000 integer.
 */
export interface OutlierDetectionConfig {
  readonly consecutive5xx: number; // 5
  readonly consecutiveGatewayFailure: number; // 5
  readonly consecutiveLocalOriginFailure: number; // 5
  readonly intervalMs: number; // 10 s
  readonly baseEjectionTimeMs: number; // 30 s
  /** Default 300 s, or base_ejection_time when that is longer (Envoy). */
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number; // 0
  readonly maxEjectionPercent: number; // 10
  readonly alwaysEjectOneHost: boolean; // false
  readonly enforcingConsecutive5xx: number; // 100
  readonly enforcingConsecutiveGatewayFailure: number; // 0
  readonly enforcingConsecutiveLocalOriginFailure: number; // 100
  readonly enforcingSuccessRate: number; // 100
  readonly enforcingLocalOriginSuccessRate: number; // 100
  readonly successRateMinimumHosts: number; // 5
  readonly successRateRequestVolume: number; // 100
  readonly successRateStdevFactor: number; // 1900 (= 1.9)
  readonly failurePercentageThreshold: number; // 85
  readonly enforcingFailurePercentage: number; // 0
  readonly enforcingFailurePercentageLocalOrigin: number; // 0
  readonly failurePercentageMinimumHosts: number; // 5
  readonly failurePercentageRequestVolume: number; // 50
  /** false (Envoy): connect failures, timeouts and resets also count as 5xx / gateway failures. */
  readonly splitExternalLocalOriginErrors: boolean;
  readonly successfulActiveHealthCheckUnejectHost: boolean; // true
}

export interface KeepaliveConfig {
  readonly intervalMs: number; // default 15 s
  readonly timeoutMs: number; // default 3 s
  readonly maxFailures: number; // default 6
}

/** STRICT_DNS record type: A (V4_ONLY, MOSN's default) or AAAA (V6_ONLY). */
export type DnsLookupFamily = "V4_ONLY" | "V6_ONLY";

/**
 * Where a STRICT_DNS cluster resolves its names: the system resolver (no resolver fields set), the
 * `dns_resolvers` servers, or the name servers of a resolv.conf (`dns_resolver_file`/`_port`).
 */
export type DnsResolverConfig =
  | { readonly kind: "system" }
  | {
    readonly kind: "servers";
    readonly servers: readonly string[];
    readonly port: number; // default 53
    readonly timeoutMs: number; // per server, default 2 s
    readonly search: readonly string[];
    readonly ndots: number; // default 0
  }
  | {
    readonly kind: "file";
    readonly path: string; // default /etc/resolv.conf
    readonly port: number; // default 53
  };

export interface ClusterConfig {
  readonly name: string;
  readonly type: ClusterType;
  readonly lbType: LbType;
  readonly hosts: readonly HostConfig[];
  readonly connectTimeoutMs: number; // default 10 s
  readonly idleTimeoutMs: number | undefined;
  readonly maxRequestPerConn: number; // default 1024 (0 = unlimited)
  readonly circuitBreakers: CircuitBreakersConfig;
  readonly dnsRefreshRateMs: number; // STRICT_DNS, default 5 s
  readonly dnsLookupFamily: DnsLookupFamily; // STRICT_DNS, default V4_ONLY
  readonly dnsResolver: DnsResolverConfig; // STRICT_DNS, default the system resolver
  /** Connections per host for multiplexed protocols (bolt); default 1. */
  readonly maxConnectionsPerHost: number;
  readonly leastRequestChoiceCount: number; // default 2
  readonly keepalive: KeepaliveConfig | undefined;
  /** Write high-water mark per upstream connection (bytes). Default 1 MiB. */
  readonly connBufferLimitBytes: number;
  /** HTTP/2 settings for upstream connections. */
  readonly http2: Http2OptionsConfig;
  /**
   * TLS to the hosts: the cluster's `tls_context`, or `cluster_manager.tls_context` when
   * `cluster_manager_tls` is set (MOSN); undefined = plaintext.
   */
  readonly tls: TlsContextConfig | undefined;
  /** MOSN `health_check` with a `service_name`; undefined = no active checks. */
  readonly healthCheck: HealthCheckConfig | undefined;
  /** Envoy `outlier_detection`; undefined = no passive ejection. */
  readonly outlierDetection: OutlierDetectionConfig | undefined;
  /**
   * Envoy `common_lb_config.healthy_panic_threshold` (percent, default 50; 0 disables panic): a priority
   * level with fewer healthy hosts than this, while the levels together are not fully healthy, is
   * balanced over all of its hosts.
   */
  readonly healthyPanicThresholdPercent: number;
  /** Envoy `ClusterLoadAssignment.policy.overprovisioning_factor` (percent: 140 = 1.4, the default). */
  readonly overprovisioningFactorPercent: number;
}

// === xDS bootstrap ===

/**
 * How meshctl reaches its control plane and what it subscribes to (Envoy v3 bootstrap `dynamic_resources`,
 * as MOSN reads it). meshctl speaks ADS only: one state-of-the-world gRPC stream
 * (`envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`) carrying every type,
 * v3 type URLs, the node on each stream's first request only. RDS and EDS are not listed here: they are
 * subscribed to by name as LDS listeners and CDS clusters ask for them, over the same stream.
 */
export interface XdsBootstrapConfig {
  /**
   * The cluster whose hosts serve ADS (`ads_config.grpc_services[0].envoy_grpc.cluster_name`): always one
   * of `ConfigSnapshot.clusters` (a `static_resources` or `cluster_manager` cluster; validation checks it).
   * The client dials its hosts with gRPC, i.e. HTTP/2 whatever the cluster says, over TLS when that
   * cluster's `tls` is set (an Envoy `transport_socket` UpstreamTlsContext, or a MOSN `tls_context`: PEM
   * material read and checked, `insecureSkip` when Envoy's config has no trusted_ca), else plaintext.
   */
  readonly adsCluster: string;
  /** `envoy_grpc.authority`: the :authority of the ADS stream; undefined = the cluster name (Envoy). */
  readonly adsAuthority: string | undefined;
  /** Sent in the first DiscoveryRequest of every stream (and again after each reconnect), unchanged. */
  readonly node: XdsNodeConfig;
  /**
   * Envoy's `ConfigSource.initial_fetch_timeout` (lds_config / cds_config): how long readiness waits for
   * the first update of a subscribed type before going on without it. Default 15 s; 0 = wait for it.
   * meshctl uses one value for every type: when lds_config and cds_config differ, the longer one
   * (validation warns), 0 counting as longest.
   */
  readonly initialFetchTimeoutMs: number;
  /** `lds_config` is set: subscribe to every listener (wildcard LDS). */
  readonly subscribeLds: boolean;
  /** `cds_config` is set: subscribe to every cluster (wildcard CDS). */
  readonly subscribeCds: boolean;
  /**
   * `envoy_grpc.max_receive_message_length`: the largest DiscoveryResponse accepted; a larger one ends the
   * stream (counted: `xds{control_plane=ads}` `message_too_large`) and the client reconnects. Default 16 MiB.
   */
  readonly maxReceiveMessageBytes: number;
  /** The ADS cluster's `http2_protocol_options.connection_keepalive.interval`: HTTP/2 PINGs. Default 30 s. */
  readonly keepaliveIntervalMs: number;
  /** `connection_keepalive.timeout`: an unanswered PING drops the connection (then reconnect). Default 10 s. */
  readonly keepaliveTimeoutMs: number;
  /**
   * `dynamic_resources.ignore_filters`: filter names the converter skips (reported) instead of NACKing;
   * pass to `convertXdsResources(…, { ignoreFilters })`. Empty by default.
   */
  readonly ignoreFilters: readonly string[];
}

/** Envoy's `config.core.v3.Node`, as configured (proto3 field names in the doc comments). */
export interface XdsNodeConfig {
  /** `id` (1); "" when unset (validation warns: control planes key their config by it). */
  readonly id: string;
  /** `cluster` (2); "" when unset. */
  readonly cluster: string;
  /** `metadata` (3): a google.protobuf.Struct, as JSON; {} when unset. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `locality` (4); undefined when unset. */
  readonly locality: XdsLocalityConfig | undefined;
  /** `user_agent_name` (6); undefined = the client sends "meshctl". */
  readonly userAgentName: string | undefined;
  /** `user_agent_version` (7); undefined = the client sends meshctl's version. */
  readonly userAgentVersion: string | undefined;
  /** `client_features` (10), as configured (the client may add its own). */
  readonly clientFeatures: readonly string[];
}

export interface XdsLocalityConfig {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}
