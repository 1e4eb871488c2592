import {
  type LogLevel,
  parseAddress,
  parseDuration,
  parsePortList,
  type SocketAddress,
} from "../core/mod.ts";
import type { SemanticResult } from "./_semantics.ts";
import { LIMIT_DEFAULTS, REGISTRY_DEFAULTS } from "./defaults.ts";
import type { DubboRegistryDocument } from "./schema.ts";
export { LIMIT_DEFAULTS } from "./defaults.ts";
import type { ValidationContext } from "./context.ts";
import { resolveDownstream, resolveUpstream } from "./_protocols.ts";
import type { ConfigDocument, ProxyDocument, TcpProxyDocument } from "./schema.ts";
import { ADS_CLIENT_DEFAULTS, DEFAULT_INITIAL_FETCH_TIMEOUT_MS, envoyClusterHttp2 } from "./_xds_check.ts";
import type {
  AccessLogConfig,
  ClusterConfig,
  ConfigSnapshot,
  DnsResolverConfig,
  HashPolicyConfig,
  HeaderValueOption,
  HealthCheckConfig,
  Http2OptionsConfig,
  LbType,
  ListenerConfig,
  NetworkFilterConfig,
  OutlierDetectionConfig,
  PortRangeConfig,
  RegistryConfig,
  RouteActionConfig,
  RouteConfig,
  RouterConfig,
  ServerConfig,
  TlsContextConfig,
  VirtualHostConfig,
  XdsBootstrapConfig,
} from "./types.ts";

type Server = NonNullable<ConfigDocument["servers"]>[number];
type EnvoyClusterDoc = NonNullable<NonNullable<ConfigDocument["static_resources"]>["clusters"]>[number];
type RouterDoc = NonNullable<Server["routers"]>[number];
type VirtualHostDoc = NonNullable<RouterDoc["virtual_hosts"]>[number];
type RouteDoc = NonNullable<VirtualHostDoc["routers"]>[number];
type ListenerDoc = NonNullable<Server["listeners"]>[number];
type ClusterDoc = NonNullable<NonNullable<ConfigDocument["cluster_manager"]>["clusters"]>[number];
type HeaderEditsDoc = Pick<
  RouterDoc,
  | "request_headers_to_add"
  | "request_headers_to_remove"
  | "response_headers_to_add"
  | "response_headers_to_remove"
>;

const DEFAULT_ADMIN: SocketAddress = { hostname: "127.0.0.1", port: 34901 };

type Http2OptionsDoc = NonNullable<ProxyDocument["http2_protocol_options"]>;

function http2Options(d: Http2OptionsDoc | undefined): Http2OptionsConfig {
  return {
    initialStreamWindowSize: d?.initial_stream_window_size ?? 256 * 1024,
    initialConnectionWindowSize: d?.initial_connection_window_size ?? 16 * 1024 * 1024,
    maxFrameSize: d?.max_frame_size ?? 16 * 1024,
    hpackTableSize: d?.hpack_table_size ?? 4096,
    maxHeaderListSize: d?.max_header_list_size ?? 64 * 1024,
    maxConcurrentStreams: d?.max_concurrent_streams ?? 0,
  };
}
/** MOSN's default access log format. */
export const DEFAULT_ACCESS_LOG_FORMAT =
  "%start_time% %request_received_duration% %response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address% %downstream_local_address% %downstream_remote_address% %upstream_host%";

/**
 * Builds the immutable snapshot from a document that passed validation: durations in ms, addresses
 * parsed, defaults filled, matcher header names lowercased. Deep-frozen, `raw` included.
 */
export function buildSnapshot(
  doc: ConfigDocument,
  source: string,
  ctx: ValidationContext,
  semantic: SemanticResult,
): ConfigSnapshot {
  const admin = doc.admin?.address.socket_address;
  return deepFreeze({
    servers: (doc.servers ?? []).map((s, si) => server(s, `servers[${si}]`, ctx, semantic)),
    clusters: [
      ...(doc.cluster_manager?.clusters ?? []).map((c, i) =>
        cluster(c, semantic.clusterTls.get(`cluster_manager.clusters[${i}]`))
      ),
      ...(doc.static_resources?.clusters ?? []).map((c, i) =>
        envoyCluster(c, semantic.clusterTls.get(`static_resources.clusters[${i}]`))
      ),
    ],
    ...(doc.dynamic_resources === undefined ? {} : { xds: xdsBootstrap(doc) }),
    ...registrySnapshot(doc),
    admin: { address: admin ? { hostname: admin.address, port: admin.port_value } : DEFAULT_ADMIN },
    limits: {
      maxBufferedBytes: doc.limits?.max_buffered_bytes ?? LIMIT_DEFAULTS.maxBufferedBytes,
      maxPemFileBytes: doc.limits?.max_pem_file_bytes ?? LIMIT_DEFAULTS.maxPemFileBytes,
      sharedCounterSlots: doc.limits?.shared_counter_slots ?? LIMIT_DEFAULTS.sharedCounterSlots,
    },
    tracing: { enable: doc.tracing?.enable ?? false, driver: doc.tracing?.driver },
    source,
    raw: structuredClone(doc),
  });
}

/** The enabled `dubbo_registry` entry (validation allows at most one), defaults filled. */
function registrySnapshot(doc: ConfigDocument): { registry?: RegistryConfig } {
  const entry = (doc.extends ?? []).find((e) =>
    e.type === "dubbo_registry" && (e.config as DubboRegistryDocument | undefined)?.enable === true
  );
  if (entry === undefined) return {};
  const c = entry.config as DubboRegistryDocument;
  const d = REGISTRY_DEFAULTS;
  return {
    registry: {
      serverPort: c.server_port,
      serverListener: c.server_listener,
      apiAddress: { hostname: c.api_address ?? d.apiAddress, port: c.api_port ?? d.apiPort },
      advertiseIp: c.advertise_ip ?? d.advertiseIp,
      sessionTimeoutMs: msOr(c.session_timeout, d.sessionTimeoutMs),
      connectTimeoutMs: msOr(c.connect_timeout, d.connectTimeoutMs),
      maxRequestBodyBytes: c.max_request_body_bytes ?? d.maxRequestBodyBytes,
      maxServices: c.max_services ?? d.maxServices,
    },
  };
}

function ms(d: string | number | undefined): number | undefined {
  if (d === undefined) return undefined;
  return typeof d === "number" ? d : parseDuration(d);
}

function msOr(d: string | number | undefined, fallback: number): number {
  return ms(d) ?? fallback;
}

function addr(text: string): SocketAddress {
  const a = parseAddress(text);
  if (a === undefined) throw new RangeError(`Cannot parse validated address "${text}"`);
  return a;
}

function logLevel(level: string | undefined): LogLevel {
  switch (level) {
    case "TRACE":
    case "DEBUG":
      return "debug";
    case "WARN":
      return "warn";
    case "ERROR":
    case "FATAL":
      return "error";
    default:
      return "info";
  }
}

function server(s: Server, path: string, ctx: ValidationContext, semantic: SemanticResult): ServerConfig {
  return {
    defaultLogLevel: logLevel(s.default_log_level),
    logFormat: "text",
    gracefulTimeoutMs: msOr(s.graceful_timeout, 30_000),
    routers: (s.routers ?? []).map((r) => router(r, ctx)),
    listeners: (s.listeners ?? []).map((l, li) =>
      listener(l, ctx, semantic.listenerTls.get(`${path}.listeners[${li}]`) ?? [])
    ),
  };
}

function headerEdits(d: HeaderEditsDoc) {
  const add = (list: HeaderEditsDoc["request_headers_to_add"]): HeaderValueOption[] =>
    (list ?? []).map((h) => ({ key: h.header.key, value: h.header.value, append: h.append ?? true }));
  return {
    requestHeadersToAdd: add(d.request_headers_to_add),
    responseHeadersToAdd: add(d.response_headers_to_add),
    requestHeadersToRemove: d.request_headers_to_remove ?? [],
    responseHeadersToRemove: d.response_headers_to_remove ?? [],
  };
}

function router(r: RouterDoc, ctx: ValidationContext): RouterConfig {
  return {
    routerConfigName: r.router_config_name,
    virtualHosts: (r.virtual_hosts ?? []).map((v) => virtualHost(v, ctx)),
    ...headerEdits(r),
  };
}

function virtualHost(v: VirtualHostDoc, ctx: ValidationContext): VirtualHostConfig {
  return {
    name: v.name,
    domains: v.domains,
    routers: (v.routers ?? []).map((r) => route(r, ctx)),
    ...(v.include_request_attempt_count ? { includeRequestAttemptCount: true } : {}),
    ...headerEdits(v),
  };
}

function route(r: RouteDoc, ctx: ValidationContext): RouteConfig {
  const m = r.match;
  return {
    match: {
      ...(m?.prefix === undefined ? {} : { prefix: m.prefix }),
      ...(m?.path === undefined ? {} : { path: m.path }),
      ...(m?.regex === undefined ? {} : { regex: m.regex }),
      ...(m?.connect_matcher === undefined ? {} : { connect: true }),
      headers: (m?.headers ?? []).map((h) => ({
        name: h.name.toLowerCase(),
        value: h.value,
        regex: h.regex ?? false,
      })),
      ...(m?.query_parameters === undefined ? {} : {
        queryParameters: m.query_parameters.map((q) => ({
          name: q.name,
          value: q.value,
          regex: q.regex ?? false,
        })),
      }),
    },
    ...(r.route === undefined ? {} : { route: action(r.route, ctx) }),
    ...(r.direct_response === undefined
      ? {}
      : { directResponse: { status: r.direct_response.status, body: r.direct_response.body ?? "" } }),
    ...(r.redirect === undefined ? {} : {
      redirect: {
        responseCode: r.redirect.response_code ?? 301,
        ...(r.redirect.path_redirect === undefined ? {} : { pathRedirect: r.redirect.path_redirect }),
        ...(r.redirect.host_redirect === undefined ? {} : { hostRedirect: r.redirect.host_redirect }),
        ...(r.redirect.scheme_redirect === undefined ? {} : { schemeRedirect: r.redirect.scheme_redirect }),
      },
    }),
  };
}

/** Envoy's rule: CONNECT is forwarded when its upgrade is enabled, terminated with `connect_config`. */
function connectOf(
  upgrades: NonNullable<RouteDoc["route"]>["upgrade_configs"],
): { connect?: "forward" | "terminate" } {
  const c = upgrades?.find((u) => u.upgrade_type.toUpperCase() === "CONNECT");
  if (c === undefined || c.enabled === false) return {};
  return { connect: c.connect_config === undefined ? "forward" : "terminate" };
}

function action(a: NonNullable<RouteDoc["route"]>, ctx: ValidationContext): RouteActionConfig {
  const rp = a.retry_policy;
  const up = a.upstream_protocol === undefined
    ? undefined
    : resolveUpstream(a.upstream_protocol, undefined, ctx);
  const retryTimeoutMs = ms(rp?.retry_timeout);
  return {
    ...(a.cluster_name === undefined ? {} : { clusterName: a.cluster_name }),
    weightedClusters: (a.weighted_clusters ?? []).map((w) => ({
      name: w.cluster.name,
      weight: w.cluster.weight,
    })),
    timeoutMs: msOr(a.timeout, 60_000),
    ...(a.idle_timeout === undefined ? {} : { idleTimeoutMs: ms(a.idle_timeout) }),
    ...(rp === undefined ? {} : {
      retryPolicy: {
        retryOn: rp.retry_on ?? false,
        retryTimeoutMs,
        numRetries: rp.num_retries ?? 0,
        statusCodes: rp.status_codes ?? [],
        ...(rp.retry_conditions === undefined ? {} : { conditions: new Set(rp.retry_conditions) }),
        ...(rp.retriable_headers === undefined ? {} : {
          retriableHeaders: rp.retriable_headers.map((h) => ({
            name: h.name.toLowerCase(),
            value: h.value,
            regex: h.regex ?? false,
          })),
        }),
        ...(rp.retry_back_off === undefined ? {} : {
          backOff: {
            baseMs: ms(rp.retry_back_off.base_interval)!,
            maxMs: ms(rp.retry_back_off.max_interval) ?? 10 * ms(rp.retry_back_off.base_interval)!,
          },
        }),
        ...(rp.host_selection_retry_max_attempts
          ? { hostSelectionAttempts: rp.host_selection_retry_max_attempts }
          : {}),
      },
    }),
    hashPolicy: (a.hash_policy ?? []).map((h): HashPolicyConfig =>
      h.header
        ? { type: "header", key: h.header.key }
        : h.cookie
        ? { type: "cookie", name: h.cookie.name }
        : { type: "source_ip" }
    ),
    ...(up?.ok ? { upstreamProtocol: up.value } : {}),
    ...(a.prefix_rewrite === undefined ? {} : { prefixRewrite: a.prefix_rewrite }),
    ...(a.regex_rewrite === undefined ? {} : {
      regexRewrite: { pattern: a.regex_rewrite.pattern.regex, substitution: a.regex_rewrite.substitution },
    }),
    ...(a.host_rewrite === undefined ? {} : { hostRewrite: a.host_rewrite }),
    ...connectOf(a.upgrade_configs),
    ...headerEdits(a),
  };
}

function listener(
  l: ListenerDoc,
  ctx: ValidationContext,
  tlsContexts: readonly TlsContextConfig[],
): ListenerConfig {
  const filters = l.filter_chains[0]?.filters ?? [];
  return {
    name: l.name ?? l.address,
    address: addr(l.address),
    bindPort: l.bind_port ?? true,
    accessLogs: (l.access_logs ?? []).map((a): AccessLogConfig => ({
      path: a.log_path,
      format: a.log_format ?? DEFAULT_ACCESS_LOG_FORMAT,
      bufferLimitBytes: a.log_buffer_limit_bytes ?? LIMIT_DEFAULTS.accessLogBufferBytes,
    })),
    networkFilters: filters.map((f) => networkFilter(f.type, f.config ?? {}, ctx)),
    streamFilters: (l.stream_filters ?? []).map((f) => ({ type: f.type, config: f.config ?? {} })),
    connectionIdleTimeoutMs: ms(l.connection_idle_timeout),
    maxConnections: l.max_connections ?? LIMIT_DEFAULTS.listenerMaxConnections,
    perConnBufferLimitBytes: l.per_conn_buffer_limit_bytes ?? LIMIT_DEFAULTS.bufferLimitBytes,
    tlsContexts,
    // Without a TLS context there is nothing to tell apart (validation warns).
    inspector: tlsContexts.length > 0 && l.inspector === true,
    tlsHandshakeTimeoutMs: msOr(l.tls_handshake_timeout, LIMIT_DEFAULTS.tlsHandshakeTimeoutMs),
    drainIdleGraceMs: msOr(l.drain_idle_grace, LIMIT_DEFAULTS.drainIdleGraceMs),
    reusePort: l.reuseport === true,
  };
}

function networkFilter(
  type: string,
  config: Record<string, unknown>,
  ctx: ValidationContext,
): NetworkFilterConfig {
  if (type === "tcp_proxy") {
    const c = config as TcpProxyDocument;
    return {
      type,
      cluster: c.cluster || undefined, // "" is Go's zero value: not set
      routes: (c.routes ?? []).map((r) => ({
        cluster: r.cluster,
        sourceAddrs: r.SourceAddrs ?? [],
        sourcePorts: ports(r.SourcePort),
        destinationAddrs: r.DestinationAddrs ?? [],
        destinationPorts: ports(r.DestinationPort),
      })),
      idleTimeoutMs: ms(c.idle_timeout),
      maxConnectAttempts: c.max_connect_attempts ?? 1,
    };
  }
  const c = config as ProxyDocument;
  const extend = c.extend_config ?? {};
  const down = resolveDownstream(c.downstream_protocol, extend, ctx);
  if (!down.ok) throw new RangeError(`Cannot resolve validated downstream_protocol: ${down.message}`);
  const up = c.upstream_protocol === undefined
    ? undefined
    : resolveUpstream(c.upstream_protocol, extend, ctx);
  return {
    type: "proxy",
    downstreamProtocols: down.value.protocols,
    autoDetect: down.value.autoDetect,
    upstreamProtocol: up?.ok ? up.value : undefined,
    routerConfigName: c.router_config_name,
    fallbackForUnknownProtocol: c.fallback_for_unknown_protocol ?? false,
    extendConfig: extend,
    requestHeadersTimeoutMs: msOr(c.request_headers_timeout, LIMIT_DEFAULTS.requestHeadersTimeoutMs),
    streamIdleTimeoutMs: msOr(c.stream_idle_timeout, LIMIT_DEFAULTS.streamIdleTimeoutMs),
    maxConcurrentStreams: c.max_concurrent_streams ?? LIMIT_DEFAULTS.maxConcurrentStreams,
    useRemoteAddress: c.use_remote_address ?? true,
    xffNumTrustedHops: c.xff_num_trusted_hops ?? 0,
    normalizePath: c.normalize_path ?? false,
    generateRequestId: c.generate_request_id ?? false,
    serverHeader: (c.server_header_transformation ?? "PASS_THROUGH") === "PASS_THROUGH" ? undefined : {
      mode: c.server_header_transformation as "OVERWRITE" | "APPEND_IF_ABSENT",
      name: c.server_name ?? "envoy",
    },
    http2: http2Options(c.http2_protocol_options),
  };
}

function ports(text: string | undefined): PortRangeConfig[] {
  const r = parsePortList(text ?? "");
  if (typeof r === "string") throw new RangeError(`Cannot parse validated port list "${text}": ${r}`);
  return r;
}

function cluster(c: ClusterDoc, tls: TlsContextConfig | undefined): ClusterConfig {
  const cb = c.circuit_breakers?.[0];
  return {
    name: c.name,
    type: c.type ?? "SIMPLE",
    lbType: c.lb_type ?? "LB_RANDOM",
    hosts: (c.hosts ?? []).map((h) => ({
      address: addr(h.address),
      ...(h.hostname === undefined ? {} : { hostname: h.hostname }),
      weight: h.weight ?? 1,
      tlsDisable: h.tls_disable ?? false,
      priority: h.priority ?? 0,
    })),
    connectTimeoutMs: msOr(c.connect_timeout, 10_000),
    idleTimeoutMs: ms(c.idle_timeout),
    maxRequestPerConn: c.max_request_per_conn ?? 1024,
    circuitBreakers: {
      maxConnections: cb?.max_connections ?? LIMIT_DEFAULTS.maxConnections,
      maxPendingRequests: cb?.max_pending_requests ?? LIMIT_DEFAULTS.maxPendingRequests,
      maxRequests: cb?.max_requests ?? LIMIT_DEFAULTS.maxRequests,
      maxRetries: cb?.max_retries ?? LIMIT_DEFAULTS.maxRetries,
    },
    dnsRefreshRateMs: msOr(c.dns_refresh_rate, 5_000),
    dnsLookupFamily: c.dns_lookup_family ?? "V4_ONLY",
    dnsResolver: dnsResolver(c),
    maxConnectionsPerHost: c.max_connections_per_host ?? 1,
    leastRequestChoiceCount: c.lbconfig?.choice_count ?? 2,
    keepalive: c.keepalive === undefined ? undefined : {
      intervalMs: msOr(c.keepalive.interval, 15_000),
      timeoutMs: msOr(c.keepalive.timeout, 3_000),
      maxFailures: c.keepalive.max_failures ?? 6,
    },
    connBufferLimitBytes: c.conn_buffer_limit_bytes ?? LIMIT_DEFAULTS.bufferLimitBytes,
    http2: http2Options(c.http2_protocol_options),
    tls,
    healthCheck: healthCheck(c.health_check),
    outlierDetection: outlierDetection(c.outlier_detection),
    healthyPanicThresholdPercent: c.healthy_panic_threshold ?? 50,
    overprovisioningFactorPercent: c.overprovisioning_factor ?? 140,
  };
}

/** MOSN's health_check with its defaults; none without a service_name (MOSN runs no checker then). */
function healthCheck(h: ClusterDoc["health_check"]): HealthCheckConfig | undefined {
  if (h === undefined || !h.service_name) return undefined;
  const protocol = h.protocol ?? "";
  const hc = h.check_config?.http_check_config;
  const httpTimeout = ms(hc?.timeout);
  const timeoutMs = msOr(h.timeout, 0) || 1_000;
  return {
    serviceName: h.service_name,
    protocol,
    timeoutMs: httpTimeout !== undefined && httpTimeout > 0 ? Math.min(timeoutMs, httpTimeout) : timeoutMs,
    intervalMs: msOr(h.interval, 0) || 15_000,
    intervalJitterMs: msOr(h.interval_jitter, 0) || 5,
    initialDelayMs: msOr(h.initial_delay_seconds, 0),
    healthyThreshold: h.healthy_threshold ?? 1,
    unhealthyThreshold: h.unhealthy_threshold ?? 1,
    http: protocol.toLowerCase() !== "http1" || hc === undefined ? undefined : {
      port: hc.port !== undefined && hc.port > 0 && hc.port < 65535 ? hc.port : undefined,
      path: hc.path || "/",
      method: (hc.method || "GET").toUpperCase(),
      domain: hc.domain || undefined,
      codes: (hc.codes ?? []).map((c) => ({ start: c.start, end: c.end })),
    },
  };
}

/** Envoy's OutlierDetection with Envoy's defaults. */
function outlierDetection(o: ClusterDoc["outlier_detection"]): OutlierDetectionConfig | undefined {
  if (o === undefined) return undefined;
  const baseEjectionTimeMs = msOr(o.base_ejection_time, 30_000);
  return {
    consecutive5xx: o.consecutive_5xx ?? 5,
    consecutiveGatewayFailure: o.consecutive_gateway_failure ?? 5,
    consecutiveLocalOriginFailure: o.consecutive_local_origin_failure ?? 5,
    intervalMs: msOr(o.interval, 10_000),
    baseEjectionTimeMs,
    maxEjectionTimeMs: ms(o.max_ejection_time) ?? Math.max(300_000, baseEjectionTimeMs),
    maxEjectionTimeJitterMs: msOr(o.max_ejection_time_jitter, 0),
    maxEjectionPercent: o.max_ejection_percent ?? 10,
    alwaysEjectOneHost: o.always_eject_one_host ?? false,
    enforcingConsecutive5xx: o.enforcing_consecutive_5xx ?? 100,
    enforcingConsecutiveGatewayFailure: o.enforcing_consecutive_gateway_failure ?? 0,
    enforcingConsecutiveLocalOriginFailure: o.enforcing_consecutive_local_origin_failure ?? 100,
    enforcingSuccessRate: o.enforcing_success_rate ?? 100,
    enforcingLocalOriginSuccessRate: o.enforcing_local_origin_success_rate ?? 100,
    successRateMinimumHosts: o.success_rate_minimum_hosts ?? 5,
    successRateRequestVolume: o.success_rate_request_volume ?? 100,
    successRateStdevFactor: o.success_rate_stdev_factor ?? 1900,
    failurePercentageThreshold: o.failure_percentage_threshold ?? 85,
    enforcingFailurePercentage: o.enforcing_failure_percentage ?? 0,
    enforcingFailurePercentageLocalOrigin: o.enforcing_failure_percentage_local_origin ?? 0,
    failurePercentageMinimumHosts: o.failure_percentage_minimum_hosts ?? 5,
    failurePercentageRequestVolume: o.failure_percentage_request_volume ?? 50,
    splitExternalLocalOriginErrors: o.split_external_local_origin_errors ?? false,
    successfulActiveHealthCheckUnejectHost: o.successful_active_health_check_uneject_host ?? true,
  };
}

/** Envoy's lb_policy names → meshctl's (MOSN's) balancers. */
const ENVOY_LB: Readonly<Record<string, LbType>> = {
  ROUND_ROBIN: "LB_ROUNDROBIN",
  LEAST_REQUEST: "LB_LEAST_REQUEST",
  RANDOM: "LB_RANDOM",
  MAGLEV: "LB_MAGLEV",
};

/**
 * An Envoy v3 cluster from static_resources, with Envoy's defaults where they differ from MOSN's
 * (STATIC, ROUND_ROBIN, 5 s connect timeout). LOGICAL_DNS is resolved as STRICT_DNS (validation warns).
 */
function envoyCluster(c: EnvoyClusterDoc, tls: TlsContextConfig | undefined): ClusterConfig {
  const cb = c.circuit_breakers?.thresholds?.[0];
  const hosts: { address: { address: string; port_value: number }; hostname?: string; weight: number }[] = [
    ...(c.hosts ?? []).map((h) => ({ address: h.socket_address, weight: 1 })),
    ...(c.load_assignment?.endpoints ?? []).flatMap((e) =>
      (e.lb_endpoints ?? []).map((lb) => ({
        address: lb.endpoint.address.socket_address,
        hostname: lb.endpoint.hostname,
        weight: lb.load_balancing_weight ?? 1,
      }))
    ),
  ];
  return {
    name: c.name,
    type: (c.type ?? "STATIC") === "STATIC" ? "SIMPLE" : "STRICT_DNS",
    lbType: ENVOY_LB[c.lb_policy ?? "ROUND_ROBIN"] ?? "LB_ROUNDROBIN",
    hosts: hosts.map((h) => ({
      address: { hostname: h.address.address, port: h.address.port_value },
      ...(h.hostname === undefined ? {} : { hostname: h.hostname }),
      weight: h.weight,
      tlsDisable: false,
      priority: 0,
    })),
    connectTimeoutMs: msOr(c.connect_timeout, 5_000),
    idleTimeoutMs: undefined,
    maxRequestPerConn: c.max_requests_per_connection ?? 1024,
    circuitBreakers: {
      maxConnections: cb?.max_connections ?? LIMIT_DEFAULTS.maxConnections,
      maxPendingRequests: cb?.max_pending_requests ?? LIMIT_DEFAULTS.maxPendingRequests,
      maxRequests: cb?.max_requests ?? LIMIT_DEFAULTS.maxRequests,
      maxRetries: cb?.max_retries ?? LIMIT_DEFAULTS.maxRetries,
    },
    dnsRefreshRateMs: msOr(c.dns_refresh_rate, 5_000),
    dnsLookupFamily: c.dns_lookup_family ?? "V4_ONLY",
    dnsResolver: { kind: "system" },
    maxConnectionsPerHost: 1,
    leastRequestChoiceCount: 2,
    keepalive: undefined,
    connBufferLimitBytes: c.per_connection_buffer_limit_bytes ?? LIMIT_DEFAULTS.bufferLimitBytes,
    http2: http2Options(envoyClusterHttp2(c) as Http2OptionsDoc | undefined),
    tls,
    healthCheck: undefined,
    outlierDetection: undefined,
    healthyPanicThresholdPercent: 50,
    overprovisioningFactorPercent: 140,
  };
}

/** `dynamic_resources` + `node`, validated: ADS through a cluster of this file. */
function xdsBootstrap(doc: ConfigDocument): XdsBootstrapConfig {
  const dyn = doc.dynamic_resources!;
  const grpc = dyn.ads_config!.grpc_services[0]!.envoy_grpc!;
  const timeouts = [dyn.lds_config, dyn.cds_config].flatMap((s) =>
    s === undefined ? [] : [msOr(s.initial_fetch_timeout, DEFAULT_INITIAL_FETCH_TIMEOUT_MS)]
  );
  const node = doc.node;
  const adsCluster = doc.static_resources?.clusters?.find((c) => c.name === grpc.cluster_name);
  const keepalive = adsCluster === undefined
    ? undefined
    : envoyClusterHttp2(adsCluster)?.connection_keepalive;
  return {
    adsCluster: grpc.cluster_name,
    adsAuthority: grpc.authority,
    node: {
      id: node?.id ?? "",
      cluster: node?.cluster ?? "",
      metadata: node?.metadata ?? {},
      locality: node?.locality === undefined ? undefined : {
        region: node.locality.region ?? "",
        zone: node.locality.zone ?? "",
        subZone: node.locality.sub_zone ?? "",
      },
      userAgentName: node?.user_agent_name,
      userAgentVersion: node?.user_agent_version,
      clientFeatures: node?.client_features ?? [],
    },
    // One timer for every type: the longest wins, 0 (no timeout) longest of all.
    initialFetchTimeoutMs: timeouts.length === 0
      ? DEFAULT_INITIAL_FETCH_TIMEOUT_MS
      : timeouts.includes(0)
      ? 0
      : Math.max(...timeouts),
    subscribeLds: dyn.lds_config !== undefined,
    subscribeCds: dyn.cds_config !== undefined,
    maxReceiveMessageBytes: grpc.max_receive_message_length ?? ADS_CLIENT_DEFAULTS.maxReceiveMessageBytes,
    keepaliveIntervalMs: msOr(keepalive?.interval, ADS_CLIENT_DEFAULTS.keepaliveIntervalMs),
    keepaliveTimeoutMs: msOr(keepalive?.timeout, ADS_CLIENT_DEFAULTS.keepaliveTimeoutMs),
    ignoreFilters: dyn.ignore_filters ?? [],
  };
}

/** MOSN's choice: dns_resolvers.servers if any, else a resolv.conf; meshctl adds the system resolver. */
function dnsResolver(c: ClusterDoc): DnsResolverConfig {
  const r = c.dns_resolvers;
  if (r?.servers !== undefined) {
    return {
      kind: "servers",
      servers: r.servers,
      port: Number(r.port || "53"),
      timeoutMs: (r.timeout || 2) * 1000,
      search: r.search ?? [],
      ndots: r.ndots ?? 0,
    };
  }
  // "" is Go's zero value: not set.
  if (c.dns_resolver_file || c.dns_resolver_port) {
    return {
      kind: "file",
      path: c.dns_resolver_file || "/etc/resolv.conf",
      port: Number(c.dns_resolver_port || "53"),
    };
  }
  return { kind: "system" };
}

/** Freezes a value and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
