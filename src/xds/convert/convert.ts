/**
 * Envoy v3 resources (decoded by decode.ts) → a MOSN-shaped config document: `servers[0].listeners` and
 * `routers`, `cluster_manager.clusters`, exactly what a user would write, so the one validator
 * (src/config parseConfigText/validateConfig) turns it into the ConfigSnapshot. xDS never patches state.
 *
 * Every field is either converted, accepted as having no effect here (IGNORED lists, each with why), or an
 * error naming the resource and the field path: nothing is dropped silently. All errors of one call are
 * collected, so one NACK names every problem of a response.
 */
import { MAX_HOST_PRIORITY, RETRY_CONDITIONS } from "../../config/mod.ts";
import type { DecodedAny } from "./decode.ts";

type Obj = Record<string, unknown>;

export interface XdsResources {
  readonly listeners: readonly DecodedAny[];
  readonly routes: readonly DecodedAny[];
  readonly clusters: readonly DecodedAny[];
  readonly endpoints: readonly DecodedAny[];
}

export interface ConvertedXds {
  /** MOSN listeners, for `servers[0].listeners`. */
  readonly listeners: Obj[];
  /** MOSN route tables (RDS and inline HCM route_config), for `servers[0].routers`. */
  readonly routers: Obj[];
  /** MOSN clusters, for `cluster_manager.clusters`. */
  readonly clusters: Obj[];
  /** EDS names a cluster needs and no ClusterLoadAssignment gave: those clusters got 0 hosts. */
  readonly missingEndpoints: string[];
  /** RDS names listeners refer to that no RouteConfiguration gave. */
  readonly missingRoutes: string[];
  /**
   * Clusters routes and tcp_proxy filters name that no Cluster gave (nor, maybe, the bootstrap). Envoy
   * accepts such routes and answers 503; src/config's validator refuses them ("unknown cluster").
   */
  readonly unknownClusters: string[];
  /** One line per problem: `Kind "name": field.path: what`. Non-empty = NACK. */
  readonly errors: string[];
  /** Converted but approximated (same form): weights clamped, lower priorities left out, ring hash as Maglev. */
  readonly warnings: string[];
  /**
   * Filters left out (same form, ending in the filter's name and why: `is_optional` or `ignore_filters`):
   * the integrator logs each once and counts them. Never silent, never an error.
   */
  readonly skippedFilters: string[];
}

/** How a conversion treats what meshctl does not implement. */
export interface ConvertOptions {
  /**
   * `dynamic_resources.ignore_filters` (XdsBootstrapConfig.ignoreFilters): HTTP filters, listener network
   * filters and cluster filters by name that are skipped (reported in `skippedFilters`) instead of NACKed.
   */
  readonly ignoreFilters?: readonly string[];
}

/** MOSN host weights are 1..128 (src/config schema); Envoy's are 1..2^32-1, so larger ones are clamped. */
export const MOSN_MAX_HOST_WEIGHT = 128;
/** Envoy's route timeout when a route does not set one (MOSN's own default is 60 s). */
export const ENVOY_DEFAULT_ROUTE_TIMEOUT = "15s";

const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
const DOWNSTREAM_TLS_TYPE =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const UPSTREAM_TLS_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const HTTP_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const UUID_REQUEST_ID_TYPE = "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig";
const RAW_BUFFER_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

/** What a conversion found: errors (NACK) and warnings (converted, but approximated: say so in logs). */
interface Report {
  readonly errors: string[];
  readonly warnings: string[];
  readonly skipped: string[];
  readonly ignoreFilters: ReadonlySet<string>;
}

/** Collects errors and warnings for one resource, each prefixed with the resource and the field path. */
class Problems {
  constructor(private readonly out: Report, private readonly resource: string) {}
  add(path: string, what: string): void {
    this.out.errors.push(`${this.resource}: ${path}: ${what}`);
  }
  warn(path: string, what: string): void {
    this.out.warnings.push(`${this.resource}: ${path}: ${what}`);
  }
  /**
   * A filter meshctl does not implement: skipped when `optional` (Envoy's is_optional) or named in
   * ignore_filters, else an error. Returns whether it was skipped.
   */
  unknownFilter(path: string, name: string, type: string | undefined, optional = false): void {
    const what = `${name}${type ? ` (${type})` : ""}`;
    if (optional || this.out.ignoreFilters.has(name)) {
      const why = optional ? "is_optional" : "listed in dynamic_resources.ignore_filters";
      this.out.skipped.push(`${this.resource}: ${path}: ${what} skipped (${why})`);
    } else {
      this.add(
        path,
        `${what} is not supported (skip it with is_optional: true, or list it in dynamic_resources.ignore_filters)`,
      );
    }
  }
  /**
   * Reports every set field of `obj` outside `handled` and `ignored` (the decoder's oneof markers are not
   * enumerable, so they are not seen).
   */
  fields(obj: Obj, path: string, handled: readonly string[], ignored: readonly string[] = []): void {
    for (const k of Object.keys(obj)) {
      if (k === "@type" || handled.includes(k) || ignored.includes(k)) continue;
      this.out.errors.push(`${this.resource}: ${join(path, k)} is not supported`);
    }
  }
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const obj = (v: unknown): Obj => (v && typeof v === "object" ? v as Obj : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v as Obj[] : []);
/** A wrapper (BoolValue, UInt32Value...) or undefined. */
const wrapped = <T>(v: unknown): T | undefined => (v === undefined ? undefined : (obj(v).value as T));

/** google.protobuf.Duration → a Go duration string MOSN reads ("250ms"); sub-millisecond rounds up. */
function duration(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const d = obj(v);
  const nanos = Number(d.seconds ?? 0) * 1e9 + Number(d.nanos ?? 0);
  return `${Math.ceil(nanos / 1e6)}ms`;
}

function resourceName(kind: string, r: Obj): string {
  return `${kind} ${JSON.stringify(String(r.name ?? r.cluster_name ?? ""))}`;
}

function socketAddress(p: Problems, path: string, address: unknown): string | undefined {
  const a = obj(address);
  p.fields(a, path, ["socket_address"]);
  const s = obj(a.socket_address);
  if (a.socket_address === undefined) {
    p.add(path, "only socket_address is supported");
    return undefined;
  }
  const sp = join(path, "socket_address");
  p.fields(s, sp, ["address", "port_value", "protocol"], ["ipv4_compat"]);
  if (s.protocol !== undefined && s.protocol !== "TCP") {
    p.add(join(sp, "protocol"), `${s.protocol} is not supported`);
  }
  const host = String(s.address ?? "");
  const port = Number(s.port_value ?? 0);
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** DataSource → MOSN's PEM field (inline text, or a file path); `pem` false: any inline text (a body). */
function dataSource(p: Problems, path: string, v: unknown, pem = true): string | undefined {
  const d = obj(v);
  p.fields(d, path, ["inline_string", "filename", "inline_bytes"]);
  if (d.filename !== undefined) return String(d.filename);
  const inline = d.inline_string !== undefined
    ? String(d.inline_string)
    : d.inline_bytes !== undefined
    ? new TextDecoder().decode(Uint8Array.from(d.inline_bytes as number[]))
    : undefined;
  if (inline !== undefined) {
    // MOSN reads a PEM field without "-----BEGIN" as a file path: inline text must not become one.
    if (!pem || inline.includes("-----BEGIN")) return inline;
    p.add(path, "inline data is not PEM (no -----BEGIN line)");
    return undefined;
  }
  p.add(path, "needs inline_string, inline_bytes or filename");
  return undefined;
}

const TLS_VERSIONS: Record<string, string> = {
  TLS_AUTO: "tls_auto",
  TLSv1_0: "tlsv1_0",
  TLSv1_1: "tlsv1_1",
  TLSv1_2: "tlsv1_2",
  TLSv1_3: "tlsv1_3",
};

function stringMatcher(p: Problems, path: string, m: Obj): Obj | undefined {
  p.fields(m, path, ["exact", "prefix", "suffix", "contains", "safe_regex"]);
  if (m.ignore_case) return undefined;
  for (const k of ["exact", "prefix", "suffix", "contains"]) if (m[k] !== undefined) return { [k]: m[k] };
  if (m.safe_regex !== undefined) {
    p.fields(obj(m.safe_regex), join(path, "safe_regex"), ["regex"], ["google_re2"]);
    return { safe_regex: { regex: obj(m.safe_regex).regex } };
  }
  return undefined;
}

/** CommonTlsContext (+ the side's own fields) → MOSN tls_context. */
function tlsContext(p: Problems, path: string, t: DecodedAny, side: "downstream" | "upstream"): Obj {
  const own = side === "downstream" ? ["require_client_certificate"] : ["sni"];
  p.fields(t, path, ["common_tls_context", ...own]);
  const out: Obj = { status: true };
  const cp = join(path, "common_tls_context");
  const c = obj(t.common_tls_context);
  p.fields(c, cp, ["tls_params", "tls_certificates", "validation_context", "alpn_protocols"]);
  if (c.tls_params !== undefined) {
    const tp = obj(c.tls_params);
    const pp = join(cp, "tls_params");
    p.fields(tp, pp, ["tls_minimum_protocol_version", "tls_maximum_protocol_version"]);
    if (tp.tls_minimum_protocol_version) {
      out.min_version = TLS_VERSIONS[String(tp.tls_minimum_protocol_version)];
    }
    if (tp.tls_maximum_protocol_version) {
      out.max_version = TLS_VERSIONS[String(tp.tls_maximum_protocol_version)];
    }
  }
  const certs = arr(c.tls_certificates);
  if (certs.length > 1) p.add(join(cp, "tls_certificates"), "more than one certificate is not supported");
  if (certs[0]) {
    const cert = certs[0];
    const pp = join(cp, "tls_certificates[0]");
    p.fields(cert, pp, ["certificate_chain", "private_key"]);
    out.cert_chain = dataSource(p, join(pp, "certificate_chain"), cert.certificate_chain);
    out.private_key = dataSource(p, join(pp, "private_key"), cert.private_key);
  }
  if (c.validation_context !== undefined) {
    const v = obj(c.validation_context);
    const vp = join(cp, "validation_context");
    p.fields(v, vp, ["trusted_ca", "match_subject_alt_names", "match_typed_subject_alt_names"]);
    if (v.trusted_ca !== undefined) out.ca_cert = dataSource(p, join(vp, "trusted_ca"), v.trusted_ca);
    // A typed SAN matcher restricted to one SAN type is narrower than meshctl's (any SAN type): refused.
    const sans: Obj[] = [];
    arr(v.match_subject_alt_names).forEach((m, i) => {
      const s = stringMatcher(p, `${vp}.match_subject_alt_names[${i}]`, m);
      if (s) sans.push(s);
      else {p.add(
          `${vp}.match_subject_alt_names[${i}]`,
          "needs exact, prefix, suffix, contains or safe_regex (no ignore_case)",
        );}
    });
    arr(v.match_typed_subject_alt_names).forEach((m, i) => {
      p.add(
        `${vp}.match_typed_subject_alt_names[${i}]`,
        `san_type ${m.san_type} is not supported (meshctl matches any SAN type: use match_subject_alt_names)`,
      );
    });
    if (sans.length) out.match_subject_alt_names = sans;
    if (side === "downstream" && v.trusted_ca !== undefined) out.verify_client = true;
  } else if (side === "upstream") {
    // Envoy without a validation context does not verify the server certificate.
    out.insecure_skip = true;
  }
  const alpn = (c.alpn_protocols as string[] | undefined) ?? [];
  if (alpn.length) out.alpn = alpn.join(",");
  if (side === "downstream" && wrapped<boolean>(t.require_client_certificate)) out.require_client_cert = true;
  if (side === "upstream" && t.sni) out.server_name = t.sni;
  return out;
}

function transportSocket(
  p: Problems,
  path: string,
  ts: unknown,
  side: "downstream" | "upstream",
): Obj | undefined {
  const t = obj(ts);
  p.fields(t, path, ["typed_config"], ["name"]);
  const tc = obj(t.typed_config) as DecodedAny;
  const want = side === "downstream" ? DOWNSTREAM_TLS_TYPE : UPSTREAM_TLS_TYPE;
  if (tc["@type"] !== want) {
    p.add(
      join(path, "typed_config"),
      `${tc["@type"] ?? "(none)"} is not supported (only ${want.split("/")[1]})`,
    );
    return undefined;
  }
  return tlsContext(p, join(path, "typed_config"), tc, side);
}

/** Envoy's Http2ProtocolOptions → meshctl's http2_protocol_options (the settings both sides advertise). */
const HTTP2_SETTINGS = [
  "hpack_table_size",
  "max_concurrent_streams",
  "initial_stream_window_size",
  "initial_connection_window_size",
];

function http2Options(p: Problems, path: string, v: unknown): Obj | undefined {
  const o = obj(v);
  p.fields(o, path, HTTP2_SETTINGS);
  const out: Obj = {};
  for (const k of HTTP2_SETTINGS) if (o[k] !== undefined) out[k] = wrapped(o[k]);
  return Object.keys(out).length ? out : undefined;
}

// === Listeners ===

const CODEC_TYPES: Record<string, string> = { AUTO: "Auto", HTTP1: "Http1", HTTP2: "Http2" };

/**
 * HttpConnectionManager fields accepted without effect, and why (docs/architecture.md has the same table):
 * none changes what reaches the upstream or the client.
 */
export const HCM_NO_EFFECT: Readonly<Record<string, string>> = {
  stat_prefix: "stats naming only (meshctl names stats by listener)",
  access_log:
    "Envoy access logs are not written (MOSN access_logs on the listener are); traffic is unchanged",
  tracing: "meshctl emits no spans; tracing headers the application sends pass through unchanged",
  request_id_extension: "UUID request-id options only steer trace sampling (meshctl does not trace)",
  preserve_external_request_id: "only matters when a request id is generated for an edge request",
};

/** Envoy's idle timeout of a downstream HTTP connection when common_http_protocol_options does not set one. */
export const ENVOY_DEFAULT_HTTP_IDLE_TIMEOUT = "3600000ms";

/** Envoy's own behaviours an HCM turns on or off: each is converted, or refused when meshctl differs. */
function hcmBehaviour(p: Problems, path: string, h: DecodedAny, config: Obj, listenerOut: Obj): void {
  if (wrapped<boolean>(h.normalize_path) === true) config.normalize_path = true;
  if (h.merge_slashes === true) {
    p.add(
      join(path, "merge_slashes"),
      "merging slashes is not implemented (meshctl routes the path as sent)",
    );
  }
  const escaped = String(h.path_with_escaped_slashes_action ?? "IMPLEMENTATION_SPECIFIC_DEFAULT");
  if (escaped !== "IMPLEMENTATION_SPECIFIC_DEFAULT" && escaped !== "KEEP_UNCHANGED") {
    p.add(
      join(path, "path_with_escaped_slashes_action"),
      `${escaped} is not supported (meshctl keeps %2F/%5C as sent)`,
    );
  }
  if (h.request_id_extension !== undefined) {
    const r = obj(h.request_id_extension);
    p.fields(r, join(path, "request_id_extension"), ["typed_config"]);
    const t = obj(r.typed_config) as DecodedAny;
    if (t["@type"] !== UUID_REQUEST_ID_TYPE) {
      p.add(join(path, "request_id_extension.typed_config"), `${t["@type"] ?? "(none)"} is not supported`);
    }
  }
  // Envoy's defaults differ from MOSN's here: a request id is generated, the server header overwritten.
  config.generate_request_id = wrapped<boolean>(h.generate_request_id) ?? true;
  config.server_header_transformation = String(h.server_header_transformation ?? "OVERWRITE");
  if (config.server_header_transformation !== "PASS_THROUGH") config.server_name = h.server_name || "envoy";
  if (h.http_protocol_options !== undefined) {
    p.fields(obj(h.http_protocol_options), join(path, "http_protocol_options"), []);
  }
  let idle: string | undefined = ENVOY_DEFAULT_HTTP_IDLE_TIMEOUT;
  if (h.common_http_protocol_options !== undefined) {
    const c = obj(h.common_http_protocol_options);
    p.fields(c, join(path, "common_http_protocol_options"), ["idle_timeout"]);
    if (c.idle_timeout !== undefined) idle = duration(c.idle_timeout);
  }
  // Envoy's HTTP connection idle timeout is the connection's: meshctl's listener connection_idle_timeout.
  listenerOut.connection_idle_timeout = idle;
}

/** Upgrades meshctl passes through unchanged (WebSocket), so accepting the config changes nothing. */
const PASS_THROUGH_UPGRADES = ["websocket"];

function httpConnectionManager(
  listenerName: string,
  p: Problems,
  path: string,
  h: DecodedAny,
  inlineRouters: Obj[],
  rdsNames: Set<string>,
  streamFilters: Obj[],
  listenerOut: Obj,
): Obj | undefined {
  p.fields(h, path, [
    "codec_type",
    "rds",
    "route_config",
    "http_filters",
    "use_remote_address",
    "xff_num_trusted_hops",
    "stream_idle_timeout",
    "request_headers_timeout",
    "upgrade_configs",
    "http2_protocol_options",
    "http_protocol_options",
    "common_http_protocol_options",
    "normalize_path",
    "merge_slashes",
    "path_with_escaped_slashes_action",
    "generate_request_id",
    "request_id_extension",
    "preserve_external_request_id",
    "server_header_transformation",
    "server_name",
  ], Object.keys(HCM_NO_EFFECT));
  const config: Obj = { downstream_protocol: CODEC_TYPES[String(h.codec_type ?? "AUTO")] };
  hcmBehaviour(p, path, h, config, listenerOut);
  if (!config.downstream_protocol) p.add(join(path, "codec_type"), `${h.codec_type} is not supported`);
  if (h.rds !== undefined) {
    const rds = obj(h.rds);
    // config_source says where RDS comes from; the ADS client fetches it over the one ADS stream.
    p.fields(rds, join(path, "rds"), ["route_config_name"], ["config_source"]);
    config.router_config_name = String(rds.route_config_name ?? "");
    rdsNames.add(String(rds.route_config_name ?? ""));
  } else if (h.route_config !== undefined) {
    const rc = obj(h.route_config) as DecodedAny;
    const table = routeConfiguration(p, join(path, "route_config"), rc);
    // Envoy lets an inline table go unnamed; MOSN's proxy needs a name to refer to it.
    if (!table.router_config_name) table.router_config_name = `${listenerName}#${path}.route_config`;
    inlineRouters.push(table);
    config.router_config_name = table.router_config_name;
  } else {
    p.add(path, "needs rds or route_config");
  }
  // Envoy runs http filters in order, the router last; meshctl's stream filters run before routing.
  const filters = arr(h.http_filters);
  let routerLast = false;
  filters.forEach((f, i) => {
    const fp = `${path}.http_filters[${i}]`;
    const type = obj(f.typed_config)["@type"] as string | undefined;
    const isRouter = type === ROUTER_TYPE || (type === undefined && f.name === "envoy.filters.http.router");
    if (f.disabled === true && !isRouter) {
      // Envoy leaves a disabled filter out unless a route enables it (typed_per_filter_config: refused).
      p.fields(f, fp, ["typed_config", "disabled", "is_optional"], ["name"]);
      return;
    }
    if (type === FAULT_TYPE) {
      p.fields(f, fp, ["typed_config"], ["name", "is_optional"]);
      const fault = faultFilter(p, join(fp, "typed_config"), obj(f.typed_config));
      if (fault) streamFilters.push(fault);
    } else if (!isRouter) {
      p.fields(f, fp, ["typed_config", "is_optional"], ["name"]);
      p.unknownFilter(fp, String(f.name ?? ""), type, f.is_optional === true);
    } else if (i !== filters.length - 1) {
      p.add(fp, "envoy.filters.http.router must be the last http filter");
    } else {
      routerLast = true;
      p.fields(f, fp, ["typed_config"], ["name"]);
      p.fields(obj(f.typed_config), join(fp, "typed_config"), []);
    }
  });
  if (!routerLast && !filters.some((f) => obj(f.typed_config)["@type"] === ROUTER_TYPE)) {
    p.add(join(path, "http_filters"), "needs envoy.filters.http.router last");
  }
  if (h.use_remote_address !== undefined) {
    config.use_remote_address = wrapped<boolean>(h.use_remote_address) ?? false;
  }
  if (h.xff_num_trusted_hops !== undefined) config.xff_num_trusted_hops = h.xff_num_trusted_hops;
  if (h.stream_idle_timeout !== undefined) config.stream_idle_timeout = duration(h.stream_idle_timeout);
  if (h.request_headers_timeout !== undefined) {
    config.request_headers_timeout = duration(h.request_headers_timeout);
  }
  arr(h.upgrade_configs).forEach((u, i) => {
    const up = `${path}.upgrade_configs[${i}]`;
    p.fields(u, up, ["upgrade_type", "enabled"]);
    if (!PASS_THROUGH_UPGRADES.includes(String(u.upgrade_type).toLowerCase())) {
      p.add(join(up, "upgrade_type"), `${u.upgrade_type} is not supported`);
    }
  });
  return config;
}

/** FractionalPercent → a percentage (MOSN's fault filter takes 0..100). An unset one is 0, as in Envoy. */
function percent(p: Problems, path: string, v: unknown): number {
  const f = obj(v);
  p.fields(f, path, ["numerator", "denominator"]);
  const per =
    { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[String(f.denominator ?? "HUNDRED")] ?? 100;
  return Math.min(100, (Number(f.numerator ?? 0) * 100) / per);
}

/**
 * Envoy's HTTPFault → MOSN's `fault` stream filter (fixed delay, HTTP abort, each for a share of
 * requests). Empty (Istio puts one in every sidecar HCM, faults come per route): nothing to add.
 */
function faultFilter(p: Problems, path: string, f: Obj): Obj | undefined {
  p.fields(f, path, ["delay", "abort"]);
  const config: Obj = {};
  if (f.delay !== undefined) {
    const d = obj(f.delay);
    const dp = join(path, "delay");
    p.fields(d, dp, ["fixed_delay", "percentage"]);
    if (d.fixed_delay === undefined) p.add(dp, "needs fixed_delay");
    config.delay = {
      fixed_delay: duration(d.fixed_delay) ?? "0ms",
      percentage: percent(p, join(dp, "percentage"), d.percentage),
    };
  }
  if (f.abort !== undefined) {
    const a = obj(f.abort);
    const ap = join(path, "abort");
    p.fields(a, ap, ["http_status", "percentage"]);
    if (a.http_status === undefined) p.add(ap, "needs http_status");
    config.abort = { status: a.http_status, percentage: percent(p, join(ap, "percentage"), a.percentage) };
  }
  return Object.keys(config).length ? { type: "fault", config } : undefined;
}

function tcpProxy(p: Problems, path: string, t: DecodedAny): Obj {
  p.fields(t, path, ["cluster", "idle_timeout", "max_connect_attempts"], ["stat_prefix"]);
  if (t.cluster === undefined) p.add(path, "needs cluster (weighted_clusters is not supported)");
  const config: Obj = { cluster: t.cluster };
  // Envoy's tcp_proxy idle_timeout defaults to 1 h (0 = none).
  config.idle_timeout = t.idle_timeout !== undefined
    ? duration(t.idle_timeout)
    : ENVOY_DEFAULT_HTTP_IDLE_TIMEOUT;
  if (t.max_connect_attempts !== undefined) config.max_connect_attempts = wrapped(t.max_connect_attempts);
  return config;
}

function listener(out: Report, l: DecodedAny, inlineRouters: Obj[], rdsNames: Set<string>): Obj {
  const p = new Problems(out, resourceName("Listener", l));
  p.fields(l, "", [
    "name",
    "address",
    "filter_chains",
    "traffic_direction",
    "per_connection_buffer_limit_bytes",
    "bind_to_port",
  ], ["stat_prefix", "metadata"]);
  const mosn: Obj = { name: l.name, address: socketAddress(p, "address", l.address) };
  if (l.traffic_direction === "INBOUND") mosn.type = "ingress";
  if (l.traffic_direction === "OUTBOUND") mosn.type = "egress";
  if (l.per_connection_buffer_limit_bytes !== undefined) {
    mosn.per_conn_buffer_limit_bytes = wrapped(l.per_connection_buffer_limit_bytes);
  }
  if (l.bind_to_port !== undefined) mosn.bind_port = wrapped<boolean>(l.bind_to_port) ?? false;
  const chains = arr(l.filter_chains);
  if (chains.length !== 1) {
    p.add("filter_chains", `exactly one filter chain is supported (got ${chains.length})`);
  }
  const chain = chains[0] ?? {};
  const streamFilters: Obj[] = [];
  const mosnChain: Obj = { filters: [] };
  p.fields(chain, "filter_chains[0]", ["filters", "transport_socket"], ["name", "metadata"]);
  if (chain.transport_socket !== undefined) {
    mosnChain.tls_context = transportSocket(
      p,
      "filter_chains[0].transport_socket",
      chain.transport_socket,
      "downstream",
    );
  }
  arr(chain.filters).forEach((f, i) => {
    const fp = `filter_chains[0].filters[${i}]`;
    p.fields(f, fp, ["typed_config"], ["name"]);
    const tc = obj(f.typed_config) as DecodedAny;
    if (tc["@type"] === HCM_TYPE) {
      const config = httpConnectionManager(
        String(l.name ?? ""),
        p,
        join(fp, "typed_config"),
        tc,
        inlineRouters,
        rdsNames,
        streamFilters,
        mosn,
      );
      (mosnChain.filters as Obj[]).push({ type: "proxy", config });
    } else if (tc["@type"] === TCP_PROXY_TYPE) {
      (mosnChain.filters as Obj[]).push({
        type: "tcp_proxy",
        config: tcpProxy(p, join(fp, "typed_config"), tc),
      });
    } else {
      p.unknownFilter(fp, String(f.name ?? ""), tc["@type"]);
    }
  });
  mosn.filter_chains = [mosnChain];
  if (streamFilters.length) mosn.stream_filters = streamFilters;
  return mosn;
}

// === Routes ===

/** RE2 text matching `s` literally. */
const quoteRegex = (s: string) => s.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
/** Text a Go-style substitution (the router's regex_rewrite) emits literally. */
const quoteTemplate = (s: string) => s.replace(/\$/g, "$$$$");

/**
 * Envoy's header value: `%VAR%` is a formatter (e.g. %DOWNSTREAM_REMOTE_ADDRESS%), `%%` a literal %.
 * meshctl sends values as written, so a formatter is refused and `%%` unescaped.
 */
function headerValue(p: Problems, path: string, v: unknown): string {
  const value = String(v ?? "");
  if (!value.includes("%")) return value;
  if (value.replace(/%%/g, "").includes("%")) {
    p.add(
      path,
      `Envoy's %…% formatters are not supported (${JSON.stringify(value)}; write %% for a literal %)`,
    );
  }
  return value.replace(/%%/g, "%");
}

function headerEdits(p: Problems, path: string, src: Obj, dst: Obj): void {
  for (const key of ["request_headers_to_add", "response_headers_to_add"]) {
    if (src[key] === undefined) continue;
    dst[key] = arr(src[key]).map((h, i) => {
      const hp = `${path ? path + "." : ""}${key}[${i}]`;
      p.fields(h, hp, ["header", "append", "append_action"]);
      const header = obj(h.header);
      p.fields(header, join(hp, "header"), ["key", "value"]);
      // Envoy: append defaults to true; append_action APPEND_IF_EXISTS_OR_ADD (default) / OVERWRITE_IF_EXISTS_OR_ADD.
      let append = wrapped<boolean>(h.append) ?? true;
      if (h.append_action === "OVERWRITE_IF_EXISTS_OR_ADD") append = false;
      else if (h.append_action !== undefined && h.append_action !== "APPEND_IF_EXISTS_OR_ADD") {
        p.add(join(hp, "append_action"), `${h.append_action} is not supported`);
      }
      return {
        header: { key: header.key, value: headerValue(p, join(hp, "header.value"), header.value) },
        append,
      };
    });
  }
  for (const key of ["request_headers_to_remove", "response_headers_to_remove"]) {
    if (src[key] !== undefined) dst[key] = src[key];
  }
}
const HEADER_EDIT_FIELDS = [
  "request_headers_to_add",
  "request_headers_to_remove",
  "response_headers_to_add",
  "response_headers_to_remove",
];

/** A type.matcher.v3.StringMatcher → an exact value or an anchored RE2 regex (meshctl's matcher forms). */
function stringMatch(p: Problems, path: string, m: Obj): { value: string; regex: boolean } | undefined {
  p.fields(m, path, ["exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"]);
  const ci = m.ignore_case === true ? "(?i)" : "";
  if (m.exact !== undefined) {
    return ci
      ? { value: `${ci}^${quoteRegex(String(m.exact))}$`, regex: true }
      : { value: String(m.exact), regex: false };
  }
  if (m.prefix !== undefined) return { value: `${ci}^${quoteRegex(String(m.prefix))}`, regex: true };
  if (m.suffix !== undefined) return { value: `${ci}${quoteRegex(String(m.suffix))}$`, regex: true };
  if (m.contains !== undefined) return { value: `${ci}${quoteRegex(String(m.contains))}`, regex: true };
  if (m.safe_regex !== undefined) {
    // Envoy ignores ignore_case for safe_regex (the regex says it).
    p.fields(obj(m.safe_regex), join(path, "safe_regex"), ["regex"], ["google_re2"]);
    return { value: `^(?:${obj(m.safe_regex).regex})$`, regex: true };
  }
  p.add(path, "needs exact, prefix, suffix, contains or safe_regex");
  return undefined;
}

function headerMatcher(p: Problems, path: string, h: Obj): Obj | undefined {
  p.fields(h, path, [
    "name",
    "exact_match",
    "prefix_match",
    "suffix_match",
    "contains_match",
    "safe_regex_match",
    "present_match",
    "string_match",
  ]);
  const name = h.name;
  if (h.exact_match !== undefined) return { name, value: h.exact_match };
  if (h.prefix_match !== undefined) {
    return { name, value: `^${quoteRegex(String(h.prefix_match))}`, regex: true };
  }
  if (h.suffix_match !== undefined) {
    return { name, value: `${quoteRegex(String(h.suffix_match))}$`, regex: true };
  }
  if (h.contains_match !== undefined) {
    return { name, value: quoteRegex(String(h.contains_match)), regex: true };
  }
  if (h.safe_regex_match !== undefined) {
    return { name, value: `^(?:${obj(h.safe_regex_match).regex})$`, regex: true };
  }
  if (h.present_match === true) return { name, value: "", regex: true };
  if (h.present_match === false) {
    p.add(join(path, "present_match"), "false (header absent) is not supported");
    return undefined;
  }
  if (h.string_match !== undefined) {
    const m = stringMatch(p, join(path, "string_match"), obj(h.string_match));
    return m ? { name, ...m } : undefined;
  }
  p.add(path, "needs one of exact/prefix/suffix/contains/safe_regex/present/string match");
  return undefined;
}

function queryMatcher(p: Problems, path: string, q: Obj): Obj | undefined {
  p.fields(q, path, ["name", "string_match", "present_match"]);
  if (q.present_match === true) return { name: q.name };
  if (q.string_match !== undefined) {
    const m = stringMatch(p, join(path, "string_match"), obj(q.string_match));
    return m ? { name: q.name, ...m } : undefined;
  }
  p.add(path, "needs string_match or present_match: true");
  return undefined;
}

/** How the route matched the path, for prefix_rewrite (Envoy replaces exactly that part). */
interface PathMatch {
  /** A case-sensitive `prefix`: MOSN's prefix_rewrite does what Envoy's does. */
  plainPrefix: boolean;
  /** Otherwise: an RE2 regex for the matched part of the path (the whole path for path/safe_regex). */
  matched: string;
}

function routeMatch(p: Problems, path: string, m: Obj, how: PathMatch): Obj {
  p.fields(m, path, [
    "prefix",
    "path",
    "safe_regex",
    "path_separated_prefix",
    "headers",
    "query_parameters",
    "case_sensitive",
    "grpc",
  ]);
  const caseSensitive = wrapped<boolean>(m.case_sensitive) ?? true;
  const ci = caseSensitive ? "" : "(?i)";
  const out: Obj = {};
  how.plainPrefix = false;
  // MOSN `path` is case-insensitive and `regex` unanchored: Envoy's case-sensitive exact path is an anchored regex.
  if (m.prefix !== undefined) {
    if (caseSensitive) {
      out.prefix = m.prefix;
      how.plainPrefix = true;
    } else out.regex = `(?i)^${quoteRegex(String(m.prefix))}`;
    how.matched = `${ci}^${quoteRegex(String(m.prefix))}`;
  } else if (m.path !== undefined) {
    if (caseSensitive) out.regex = `^${quoteRegex(String(m.path))}$`;
    else out.path = m.path;
    how.matched = `${ci}^${quoteRegex(String(m.path))}$`;
  } else if (m.safe_regex !== undefined) {
    p.fields(obj(m.safe_regex), join(path, "safe_regex"), ["regex"], ["google_re2"]);
    out.regex = `${ci}^(?:${obj(m.safe_regex).regex})$`;
    how.matched = String(out.regex);
  } else if (m.path_separated_prefix !== undefined) {
    // The prefix, then the end of the path or a "/" (Envoy; the query is not part of the path).
    const q = quoteRegex(String(m.path_separated_prefix));
    out.regex = `${ci}^${q}(?:/.*)?$`;
    how.matched = `${ci}^${q}`;
  } else {
    p.add(path, "needs prefix, path, safe_regex or path_separated_prefix");
  }
  const headers: Obj[] = [];
  arr(m.headers).forEach((h, i) => {
    const hm = headerMatcher(p, `${path}.headers[${i}]`, h);
    if (hm) headers.push(hm);
  });
  if (m.grpc !== undefined) {
    // Envoy's grpc match: content-type starts with application/grpc.
    p.fields(obj(m.grpc), join(path, "grpc"), []);
    headers.push({ name: "content-type", value: "^application/grpc", regex: true });
  }
  if (headers.length) out.headers = headers;
  const query: Obj[] = [];
  arr(m.query_parameters).forEach((q, i) => {
    const qm = queryMatcher(p, `${path}.query_parameters[${i}]`, q);
    if (qm) query.push(qm);
  });
  if (query.length) out.query_parameters = query;
  return out;
}

const PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";
/** Envoy's default retry back-off: 25 ms base, 10 × base max. */
const ENVOY_RETRY_BASE_MS = 25;

function retryPolicy(p: Problems, path: string, r: Obj): Obj {
  p.fields(r, path, [
    "retry_on",
    "num_retries",
    "per_try_timeout",
    "retriable_status_codes",
    "retry_host_predicate",
    "host_selection_retry_max_attempts",
    "retry_back_off",
    "retriable_headers",
  ]);
  const conditions: string[] = [];
  for (const cond of String(r.retry_on ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!(RETRY_CONDITIONS as readonly string[]).includes(cond)) {
      p.add(join(path, "retry_on"), `${cond} is not supported`);
    } else if (!conditions.includes(cond)) conditions.push(cond);
  }
  const out: Obj = { retry_on: true, retry_conditions: conditions };
  out.num_retries = wrapped<number>(r.num_retries) ?? 1; // Envoy's default
  if (r.per_try_timeout !== undefined) out.retry_timeout = duration(r.per_try_timeout);
  if (r.retriable_status_codes !== undefined) out.status_codes = r.retriable_status_codes;
  const predicates = arr(r.retry_host_predicate);
  predicates.forEach((h, i) => {
    const hp = `${path}.retry_host_predicate[${i}]`;
    p.fields(h, hp, ["typed_config"], ["name"]);
    if (h.name !== PREVIOUS_HOSTS) p.add(hp, `${h.name} is not supported (only ${PREVIOUS_HOSTS})`);
  });
  if (predicates.some((h) => h.name === PREVIOUS_HOSTS)) {
    // Envoy re-selects at most host_selection_retry_max_attempts times (default 1).
    const picks = Number(r.host_selection_retry_max_attempts ?? 1);
    out.host_selection_retry_max_attempts = Math.min(Math.max(picks, 1), 100);
    if (picks > 100) p.warn(join(path, "host_selection_retry_max_attempts"), `${picks} capped at 100`);
  }
  const b = obj(r.retry_back_off);
  if (r.retry_back_off !== undefined) {
    p.fields(b, join(path, "retry_back_off"), ["base_interval", "max_interval"]);
  }
  const base = duration(b.base_interval) ?? `${ENVOY_RETRY_BASE_MS}ms`;
  out.retry_back_off = {
    base_interval: base,
    max_interval: duration(b.max_interval) ?? `${10 * parseInt(base)}ms`,
  };
  if (r.retriable_headers !== undefined) {
    out.retriable_headers = arr(r.retriable_headers)
      .map((h, i) => headerMatcher(p, `${path}.retriable_headers[${i}]`, h))
      .filter((h) => h !== undefined);
  }
  return out;
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

/**
 * Envoy's regex_rewrite substitution (RE2 rewrite syntax: `\1` a group, `\\` a backslash) → the
 * router's Go-style template (`${1}`, `$$` a dollar).
 */
function regexSubstitution(p: Problems, path: string, sub: string): string {
  let out = "";
  for (let i = 0; i < sub.length; i++) {
    const c = sub[i]!;
    if (c === "$") out += "$$";
    else if (c !== "\\") out += c;
    else {
      const next = sub[i + 1];
      if (next !== undefined && next >= "0" && next <= "9") out += `\${${next}}`;
      else if (next === "\\") out += "\\";
      else p.add(path, `invalid escape \\${next ?? ""} (use \\0-\\9 or \\\\)`);
      i++;
    }
  }
  return out;
}

function routeAction(p: Problems, path: string, a: Obj, how: PathMatch): Obj {
  p.fields(a, path, [
    "cluster",
    "weighted_clusters",
    "timeout",
    "retry_policy",
    "prefix_rewrite",
    "host_rewrite_literal",
    "regex_rewrite",
    "hash_policy",
    "max_stream_duration",
    "max_grpc_timeout",
    "idle_timeout",
  ]);
  if (a.max_stream_duration !== undefined) {
    // meshctl always honours a request's grpc-timeout, uncapped: Envoy's grpc_timeout_header_max 0 (Istio sets it).
    const m = obj(a.max_stream_duration);
    const mp = join(path, "max_stream_duration");
    p.fields(m, mp, ["grpc_timeout_header_max", "max_stream_duration"]);
    if (m.grpc_timeout_header_max === undefined || duration(m.grpc_timeout_header_max) !== "0ms") {
      p.add(join(mp, "grpc_timeout_header_max"), "only 0s is supported (grpc-timeout honoured, uncapped)");
    }
    if (m.max_stream_duration !== undefined && duration(m.max_stream_duration) !== "0ms") {
      p.add(join(mp, "max_stream_duration"), "only 0s (none) is supported");
    }
  }
  if (a.max_grpc_timeout !== undefined && duration(a.max_grpc_timeout) !== "0ms") {
    p.add(join(path, "max_grpc_timeout"), "only 0s is supported (grpc-timeout honoured, uncapped)");
  }
  const out: Obj = { timeout: a.timeout !== undefined ? duration(a.timeout) : ENVOY_DEFAULT_ROUTE_TIMEOUT };
  if (a.idle_timeout !== undefined) out.idle_timeout = duration(a.idle_timeout);
  if (a.cluster !== undefined) out.cluster_name = a.cluster;
  else if (a.weighted_clusters !== undefined) {
    const w = obj(a.weighted_clusters);
    p.fields(w, join(path, "weighted_clusters"), ["clusters"], ["total_weight"]);
    const clusters: Obj[] = [];
    arr(w.clusters).forEach((c, i) => {
      p.fields(c, `${path}.weighted_clusters.clusters[${i}]`, ["name", "weight"]);
      const weight = wrapped<number>(c.weight) ?? 0;
      // A weight-0 cluster never gets traffic in Envoy; MOSN weights start at 1, so it is left out.
      if (weight > 0) clusters.push({ cluster: { name: c.name, weight } });
    });
    if (clusters.length === 0) {
      p.add(join(path, "weighted_clusters"), "needs a cluster with a weight above 0");
    }
    out.weighted_clusters = clusters;
  } else p.add(path, "needs cluster or weighted_clusters");
  if (a.retry_policy !== undefined) {
    out.retry_policy = retryPolicy(p, join(path, "retry_policy"), obj(a.retry_policy));
  }
  if (a.prefix_rewrite !== undefined) {
    if (how.plainPrefix) out.prefix_rewrite = a.prefix_rewrite;
    // Envoy swaps the matched part (the whole path for path/safe_regex): as a regex rewrite of exactly it.
    else if (how.matched) {
      out.regex_rewrite = {
        pattern: { regex: how.matched },
        substitution: quoteTemplate(String(a.prefix_rewrite)),
      };
    }
  }
  if (a.host_rewrite_literal !== undefined) out.host_rewrite = a.host_rewrite_literal;
  if (a.regex_rewrite !== undefined) {
    const rr = obj(a.regex_rewrite);
    const rp = join(path, "regex_rewrite");
    p.fields(rr, rp, ["pattern", "substitution"]);
    p.fields(obj(rr.pattern), join(rp, "pattern"), ["regex"], ["google_re2"]);
    out.regex_rewrite = {
      pattern: { regex: obj(rr.pattern).regex },
      substitution: regexSubstitution(p, join(rp, "substitution"), String(rr.substitution ?? "")),
    };
  }
  if (a.hash_policy !== undefined) {
    out.hash_policy = arr(a.hash_policy).map((h, i) => {
      const hp = `${path}.hash_policy[${i}]`;
      p.fields(h, hp, ["header", "connection_properties", "cookie"]);
      if (h.header !== undefined) {
        p.fields(obj(h.header), join(hp, "header"), ["header_name"]);
        return { header: { key: obj(h.header).header_name } };
      }
      if (h.connection_properties !== undefined) {
        p.fields(obj(h.connection_properties), join(hp, "connection_properties"), ["source_ip"]);
        return { source_ip: {} };
      }
      if (h.cookie !== undefined) {
        p.fields(obj(h.cookie), join(hp, "cookie"), ["name"]);
        return { cookie: { name: obj(h.cookie).name } };
      }
      return {};
    });
  }
  return out;
}

/** Route fields accepted without effect, and why (docs/architecture.md has the same table). */
export const ROUTE_NO_EFFECT: Readonly<Record<string, string>> = {
  name: "a label (stats, logs)",
  metadata: "read by Envoy's filters (Istio records the VirtualService it came from)",
  decorator: "the tracing span's operation name (meshctl does not trace)",
};

function route(p: Problems, path: string, r: Obj, vhostRetry: Obj | undefined): Obj {
  p.fields(
    r,
    path,
    ["match", "route", "direct_response", "redirect", ...HEADER_EDIT_FIELDS],
    Object.keys(ROUTE_NO_EFFECT),
  );
  const how: PathMatch = { plainPrefix: false, matched: "" };
  const out: Obj = { match: routeMatch(p, join(path, "match"), obj(r.match), how) };
  if (r.route !== undefined) {
    const action = routeAction(p, join(path, "route"), obj(r.route), how);
    // Envoy: a route's own retry policy replaces the virtual host's entirely.
    if (action.retry_policy === undefined && vhostRetry !== undefined) action.retry_policy = vhostRetry;
    out.route = action;
  } else if (r.direct_response !== undefined) {
    const d = obj(r.direct_response);
    p.fields(d, join(path, "direct_response"), ["status", "body"]);
    out.direct_response = { status: d.status };
    if (d.body !== undefined) {
      const body = dataSource(p, join(path, "direct_response.body"), d.body, false);
      if (obj(d.body).filename !== undefined) {
        p.add(join(path, "direct_response.body.filename"), "is not supported");
      } else out.direct_response = { status: d.status, body };
    }
  } else if (r.redirect !== undefined) {
    const d = obj(r.redirect);
    p.fields(d, join(path, "redirect"), [
      "host_redirect",
      "path_redirect",
      "scheme_redirect",
      "https_redirect",
      "response_code",
    ]);
    const red: Obj = {};
    if (d.host_redirect !== undefined) red.host_redirect = d.host_redirect;
    if (d.path_redirect !== undefined) red.path_redirect = d.path_redirect;
    if (d.scheme_redirect !== undefined) red.scheme_redirect = d.scheme_redirect;
    if (d.https_redirect === true) red.scheme_redirect = "https";
    red.response_code = REDIRECT_CODES[String(d.response_code ?? "MOVED_PERMANENTLY")];
    out.redirect = red;
  } else p.add(path, "needs route, direct_response or redirect");
  // Envoy edits headers at route level; MOSN puts them on the route action. Elsewhere they have no home.
  const edits: Obj = {};
  headerEdits(p, path, r, edits);
  if (Object.keys(edits).length) {
    if (out.route) Object.assign(out.route as Obj, edits);
    else p.add(path, "header edits on a direct_response or redirect route are not supported");
  }
  return out;
}

/** RouteConfiguration / VirtualHost fields accepted without effect, and why. */
export const ROUTE_CONFIG_NO_EFFECT: Readonly<Record<string, string>> = {
  validate_clusters:
    "a load-time check Envoy may skip; meshctl checks every named cluster (placeholders answer 502)",
  metadata: "read by Envoy's filters only",
  max_direct_response_body_size_bytes:
    "a load-time cap on direct_response bodies (inline bodies are bounded by the message size)",
};

function routeConfiguration(p: Problems, path: string, rc: DecodedAny): Obj {
  p.fields(rc, path, ["name", "virtual_hosts", ...HEADER_EDIT_FIELDS], Object.keys(ROUTE_CONFIG_NO_EFFECT));
  const out: Obj = { router_config_name: rc.name ?? "" };
  out.virtual_hosts = arr(rc.virtual_hosts).map((vh, i) => {
    const vp = `${path ? path + "." : ""}virtual_hosts[${i}]`;
    p.fields(vh, vp, [
      "name",
      "domains",
      "routes",
      "retry_policy",
      "include_request_attempt_count",
      "include_attempt_count_in_response",
      "require_tls",
      ...HEADER_EDIT_FIELDS,
    ], ["metadata"]);

    if (vh.include_attempt_count_in_response === true) {
      p.warn(
        join(vp, "include_attempt_count_in_response"),
        "x-envoy-attempt-count is not sent to the client",
      );
    }
    if (vh.require_tls !== undefined && vh.require_tls !== "NONE") {
      p.add(join(vp, "require_tls"), `${vh.require_tls} is not supported`);
    }
    const vhostRetry = vh.retry_policy === undefined
      ? undefined
      : retryPolicy(p, join(vp, "retry_policy"), obj(vh.retry_policy));
    const mosn: Obj = { name: vh.name, domains: vh.domains };
    if (vh.include_request_attempt_count === true) mosn.include_request_attempt_count = true;
    mosn.routers = arr(vh.routes).map((r, j) => route(p, `${vp}.routes[${j}]`, r, vhostRetry));
    headerEdits(p, vp, vh, mosn);
    return mosn;
  });
  headerEdits(p, path, rc, out);
  return out;
}

// === Clusters ===

const LB_POLICIES: Record<string, string> = {
  ROUND_ROBIN: "LB_ROUNDROBIN",
  LEAST_REQUEST: "LB_LEAST_REQUEST",
  RANDOM: "LB_RANDOM",
  MAGLEV: "LB_MAGLEV",
  // meshctl has no ring hash; Maglev keeps its contract (one key → one host, little movement when hosts
  // change) with a different key-to-host assignment.
  RING_HASH: "LB_MAGLEV",
};

/** The EDS name of a cluster: eds_cluster_config.service_name, else the cluster's name (xds.md bug 6). */
export function edsServiceName(cluster: DecodedAny): string {
  return String(obj(cluster.eds_cluster_config).service_name || cluster.name || "");
}

/**
 * ClusterLoadAssignment (or a cluster's load_assignment) → MOSN hosts, each with its locality's `priority`
 * (Envoy's priority levels: traffic spills to the next as one loses health, upstream/lb/priority.ts; the
 * CLA's `policy.overprovisioning_factor` is mapped by the caller). Locality weights are ignored (no
 * locality-weighted LB: every host is balanced by its own weight within its priority).
 * UNHEALTHY/DRAINING/TIMEOUT hosts are excluded.
 */
function hosts(p: Problems, path: string, cla: Obj): Obj[] {
  // named_endpoints: Envoy does not implement it either. policy: drop_overloads would drop traffic, so
  // it is refused; overprovisioning_factor weighs priorities (mapped by the caller).
  p.fields(cla, path, ["endpoints", "policy"], ["cluster_name", "named_endpoints"]);
  if (cla.policy !== undefined) {
    p.fields(obj(cla.policy), join(path, "policy"), ["overprovisioning_factor"]);
  }
  const out: Obj[] = [];
  // One locality (as Istio sends without locality LB) has nothing to weigh against: its weight is moot.
  const localitiesAt = new Map<number, number>();
  for (const l of arr(cla.endpoints)) {
    const prio = Number(l.priority ?? 0);
    localitiesAt.set(prio, (localitiesAt.get(prio) ?? 0) + 1);
  }
  arr(cla.endpoints).forEach((loc, i) => {
    const lp = `${path ? path + "." : ""}endpoints[${i}]`;
    p.fields(loc, lp, ["lb_endpoints", "priority"], ["locality", "load_balancing_weight", "metadata"]);
    const priority = Number(loc.priority ?? 0);
    if (priority > MAX_HOST_PRIORITY) {
      p.add(join(lp, "priority"), `${priority} is above ${MAX_HOST_PRIORITY}, the largest meshctl has`);
      return;
    }
    if (loc.load_balancing_weight !== undefined && localitiesAt.get(priority)! > 1) {
      p.warn(
        join(lp, "load_balancing_weight"),
        "locality weight ignored (hosts are balanced by their own weights)",
      );
    }
    arr(loc.lb_endpoints).forEach((e, j) => {
      const ep = `${lp}.lb_endpoints[${j}]`;
      p.fields(e, ep, ["endpoint", "health_status", "load_balancing_weight"], ["metadata"]);
      if (["UNHEALTHY", "DRAINING", "TIMEOUT"].includes(String(e.health_status))) return;
      if (e.health_status === "DEGRADED") {
        p.warn(
          join(ep, "health_status"),
          "DEGRADED is balanced as healthy (Envoy uses it only when too few are healthy)",
        );
      }
      const endpoint = obj(e.endpoint);
      p.fields(endpoint, join(ep, "endpoint"), ["address"], ["hostname", "health_check_config"]);
      const address = socketAddress(p, join(ep, "endpoint.address"), endpoint.address);
      const host: Obj = { address };
      if (endpoint.hostname) host.hostname = endpoint.hostname;
      if (priority !== 0) host.priority = priority;
      const weight = wrapped<number>(e.load_balancing_weight);
      if (weight !== undefined) host.weight = Math.min(Math.max(weight, 1), MOSN_MAX_HOST_WEIGHT);
      if (weight !== undefined && weight > MOSN_MAX_HOST_WEIGHT) {
        p.warn(
          join(ep, "load_balancing_weight"),
          `${weight} clamped to ${MOSN_MAX_HOST_WEIGHT} (MOSN's largest host weight)`,
        );
      }
      out.push(host);
    });
  });
  return out;
}

/** Cluster fields accepted without effect, and why (docs/architecture.md has the same table). */
export const CLUSTER_NO_EFFECT: Readonly<Record<string, string>> = {
  alt_stat_name: "stats naming only",
  metadata: "read by Envoy's filters (Istio's telemetry, subsets by metadata_match, which is refused)",
  track_cluster_stats: "extra stats only",
};

/** A transport_socket that is Envoy's raw_buffer: plaintext, what meshctl does without TLS. */
function isRawBuffer(ts: unknown): boolean {
  return (obj(obj(ts).typed_config) as DecodedAny)["@type"] === RAW_BUFFER_TYPE;
}

/** core.v3.HttpProtocolOptions of a cluster → MOSN idle_timeout / max_request_per_conn. */
function commonHttpOptions(p: Problems, path: string, o: Obj, mosn: Obj): void {
  p.fields(o, path, ["idle_timeout", "max_requests_per_connection"]);
  if (o.idle_timeout !== undefined) mosn.idle_timeout = duration(o.idle_timeout);
  if (o.max_requests_per_connection !== undefined) {
    mosn.max_request_per_conn = wrapped<number>(o.max_requests_per_connection);
  }
}

/** How a cluster speaks HTTP: its routes get this upstream_protocol (MOSN clusters carry no protocol). */
type UpstreamHttp = "Http1" | "Http2" | "Auto";

function cluster(
  out: Report,
  c: DecodedAny,
  claByName: Map<string, DecodedAny>,
  missing: Set<string>,
  protocols: Map<string, UpstreamHttp>,
): Obj {
  const p = new Problems(out, resourceName("Cluster", c));
  p.fields(c, "", [
    "name",
    "type",
    "eds_cluster_config",
    "connect_timeout",
    "lb_policy",
    "load_assignment",
    "circuit_breakers",
    "http2_protocol_options",
    "typed_extension_protocol_options",
    "transport_socket",
    "dns_lookup_family",
    "dns_refresh_rate",
    "least_request_lb_config",
    "common_lb_config",
    "filters",
    "transport_socket_matches",
    "max_requests_per_connection",
    "common_http_protocol_options",
    "outlier_detection",
    "health_checks",
  ], Object.keys(CLUSTER_NO_EFFECT));
  const mosn: Obj = { name: c.name };
  // Envoy's defaults where meshctl's differ: 5 s connect timeout, unlimited requests per connection, 1 h
  // idle upstream connections (the HttpProtocolOptions below may set the last two).
  mosn.connect_timeout = "5000ms";
  mosn.max_request_per_conn = 0;
  mosn.idle_timeout = ENVOY_DEFAULT_HTTP_IDLE_TIMEOUT;
  if (c.common_lb_config !== undefined) {
    // Istio sends it empty. The panic threshold is meshctl's too; what else it can hold (locality-weighted
    // LB, zone-aware routing, update merge window) balances differently from meshctl: refused by name.
    const lbc = obj(c.common_lb_config);
    p.fields(lbc, "common_lb_config", ["healthy_panic_threshold"]);
    if (lbc.healthy_panic_threshold !== undefined) {
      // envoy.type.v3.Percent (a double); meshctl's knob is whole percent.
      mosn.healthy_panic_threshold = Math.round(Number(obj(lbc.healthy_panic_threshold).value ?? 0));
    }
  }
  if (c.outlier_detection !== undefined) {
    mosn.outlier_detection = outlierDetection(p, "outlier_detection", obj(c.outlier_detection));
  }
  if (c.health_checks !== undefined) {
    const checks = arr(c.health_checks);
    if (checks.length > 1) p.add("health_checks", "more than one health check is not supported");
    else if (checks.length === 1) {
      mosn.health_check = healthCheck(p, "health_checks[0]", checks[0]!, String(c.name));
    }
  }
  arr(c.filters).forEach((f, i) => {
    p.fields(f, `filters[${i}]`, ["typed_config"], ["name"]);
    p.unknownFilter(`filters[${i}]`, String(f.name ?? ""), (obj(f.typed_config) as DecodedAny)["@type"]);
  });
  arr(c.transport_socket_matches).forEach((m, i) => {
    // Only plaintext for every endpoint is what meshctl does: TLS chosen by endpoint metadata is not.
    const mp = `transport_socket_matches[${i}]`;
    p.fields(m, mp, ["transport_socket"], ["name", "match"]);
    if (!isRawBuffer(m.transport_socket)) {
      p.add(
        join(mp, "transport_socket"),
        "only raw_buffer is supported here (no TLS chosen by endpoint metadata)",
      );
    }
  });
  if (c.max_requests_per_connection !== undefined) {
    mosn.max_request_per_conn = wrapped<number>(c.max_requests_per_connection);
  }
  if (c.common_http_protocol_options !== undefined) {
    commonHttpOptions(p, "common_http_protocol_options", obj(c.common_http_protocol_options), mosn);
  }
  const type = String(c.type ?? "STATIC");
  if (type === "EDS") {
    mosn.type = "SIMPLE";
    p.fields(obj(c.eds_cluster_config), "eds_cluster_config", ["service_name"], ["eds_config"]);
    const name = edsServiceName(c);
    const cla = claByName.get(name);
    if (cla) {
      mosn.hosts = hosts(new Problems(out, resourceName("ClusterLoadAssignment", cla)), "", cla);
      const factor = wrapped<number>(obj(cla.policy).overprovisioning_factor);
      if (factor !== undefined) mosn.overprovisioning_factor = factor;
    } else {
      missing.add(name);
      mosn.hosts = [];
    }
  } else if (type === "STATIC" || type === "STRICT_DNS") {
    mosn.type = type === "STATIC" ? "SIMPLE" : "STRICT_DNS";
    mosn.hosts = hosts(p, "load_assignment", obj(c.load_assignment));
    const factor = wrapped<number>(obj(obj(c.load_assignment).policy).overprovisioning_factor);
    if (factor !== undefined) mosn.overprovisioning_factor = factor;
  } else p.add("type", `${type} is not supported`);
  if (c.connect_timeout !== undefined) mosn.connect_timeout = duration(c.connect_timeout);
  const lb = String(c.lb_policy ?? "ROUND_ROBIN");
  mosn.lb_type = LB_POLICIES[lb];
  if (lb === "RING_HASH") {
    p.warn("lb_policy", "RING_HASH is balanced as LB_MAGLEV (meshctl has no ring hash)");
  }
  if (!mosn.lb_type) p.add("lb_policy", `${lb} is not supported`);
  if (
    mosn.lb_type === "LB_ROUNDROBIN" && (mosn.hosts as Obj[] | undefined)?.some((h) => h.weight !== undefined)
  ) {
    mosn.lb_type = "LB_WEIGHTED_ROUNDROBIN"; // Envoy's round robin honours weights
  }
  if (c.least_request_lb_config !== undefined) {
    const l = obj(c.least_request_lb_config);
    p.fields(l, "least_request_lb_config", ["choice_count"]);
    if (l.choice_count !== undefined) mosn.lbconfig = { choice_count: wrapped(l.choice_count) };
  }
  if (c.circuit_breakers !== undefined) {
    const cb = obj(c.circuit_breakers);
    p.fields(cb, "circuit_breakers", ["thresholds"]);
    arr(cb.thresholds).forEach((t, i) => {
      const tp = `circuit_breakers.thresholds[${i}]`;
      p.fields(
        t,
        tp,
        ["priority", "max_connections", "max_pending_requests", "max_requests", "max_retries"],
        ["track_remaining"],
      );
      if ((t.priority ?? "DEFAULT") !== "DEFAULT") return; // HIGH priority traffic: meshctl has none
      const th: Obj = {};
      for (const k of ["max_connections", "max_pending_requests", "max_requests", "max_retries"]) {
        if (t[k] !== undefined) th[k] = wrapped(t[k]);
      }
      mosn.circuit_breakers = [th];
    });
  }
  let protocol: UpstreamHttp = "Http1";
  let h2: Obj | undefined;
  if (c.http2_protocol_options !== undefined) {
    protocol = "Http2";
    h2 = http2Options(p, "http2_protocol_options", c.http2_protocol_options);
  }
  const ext = obj(c.typed_extension_protocol_options);
  for (const [key, v] of Object.entries(ext)) {
    const ep = `typed_extension_protocol_options["${key}"]`;
    const o = v as DecodedAny;
    if (key !== HTTP_OPTIONS_KEY || !o["@type"]?.endsWith(HTTP_OPTIONS_KEY)) {
      p.add(ep, `${o["@type"] ?? key} is not supported`);
      continue;
    }
    p.fields(o, ep, [
      "explicit_http_config",
      "use_downstream_protocol_config",
      "common_http_protocol_options",
    ]);
    if (o.common_http_protocol_options !== undefined) {
      commonHttpOptions(
        p,
        join(ep, "common_http_protocol_options"),
        obj(o.common_http_protocol_options),
        mosn,
      );
    }
    if (o.use_downstream_protocol_config !== undefined) {
      protocol = "Auto";
      const d = obj(o.use_downstream_protocol_config);
      const dp = join(ep, "use_downstream_protocol_config");
      p.fields(d, dp, ["http_protocol_options", "http2_protocol_options"]);
      if (d.http_protocol_options !== undefined) {
        p.fields(obj(d.http_protocol_options), join(dp, "http_protocol_options"), []);
      }
      if (d.http2_protocol_options !== undefined) {
        h2 = http2Options(p, join(dp, "http2_protocol_options"), d.http2_protocol_options) ?? h2;
      }
    }
    const explicit = obj(o.explicit_http_config);
    p.fields(explicit, join(ep, "explicit_http_config"), ["http_protocol_options", "http2_protocol_options"]);
    if (explicit.http_protocol_options !== undefined) {
      p.fields(
        obj(explicit.http_protocol_options),
        join(ep, "explicit_http_config.http_protocol_options"),
        [],
      );
    }
    if (explicit.http2_protocol_options !== undefined) {
      protocol = "Http2";
      h2 = http2Options(
        p,
        join(ep, "explicit_http_config.http2_protocol_options"),
        explicit.http2_protocol_options,
      );
    }
  }
  if (h2) mosn.http2_protocol_options = h2;
  protocols.set(String(c.name), protocol);
  if (c.transport_socket !== undefined && !isRawBuffer(c.transport_socket)) {
    mosn.tls_context = transportSocket(p, "transport_socket", c.transport_socket, "upstream");
  }
  if (c.dns_lookup_family !== undefined && type === "STRICT_DNS") {
    if (c.dns_lookup_family === "V4_ONLY" || c.dns_lookup_family === "V6_ONLY") {
      mosn.dns_lookup_family = c.dns_lookup_family;
    } else p.add("dns_lookup_family", `${c.dns_lookup_family} is not supported`);
  }
  if (c.dns_refresh_rate !== undefined) mosn.dns_refresh_rate = duration(c.dns_refresh_rate);
  return mosn;
}

/** Envoy's OutlierDetection fields meshctl implements under the same names (upstream/health/outlier.ts). */
const OUTLIER_COUNTS = [
  "consecutive_5xx",
  "consecutive_gateway_failure",
  "consecutive_local_origin_failure",
  "max_ejection_percent",
  "enforcing_consecutive_5xx",
  "enforcing_consecutive_gateway_failure",
  "enforcing_consecutive_local_origin_failure",
  "enforcing_success_rate",
  "enforcing_local_origin_success_rate",
  "success_rate_minimum_hosts",
  "success_rate_request_volume",
  "success_rate_stdev_factor",
  "failure_percentage_threshold",
  "enforcing_failure_percentage",
  "enforcing_failure_percentage_local_origin",
  "failure_percentage_minimum_hosts",
  "failure_percentage_request_volume",
] as const;
const OUTLIER_DURATIONS = ["interval", "base_ejection_time", "max_ejection_time", "max_ejection_time_jitter"];
const OUTLIER_FLAGS = ["split_external_local_origin_errors", "always_eject_one_host"] as const;

/** Cluster.outlier_detection → meshctl's `outlier_detection` (Envoy's names; wrappers unwrapped). */
function outlierDetection(p: Problems, path: string, o: Obj): Obj {
  p.fields(o, path, [
    ...OUTLIER_COUNTS,
    ...OUTLIER_DURATIONS,
    ...OUTLIER_FLAGS,
    "successful_active_health_check_uneject_host",
  ]);
  const out: Obj = {};
  for (const k of OUTLIER_COUNTS) if (o[k] !== undefined) out[k] = wrapped<number>(o[k]);
  for (const k of OUTLIER_DURATIONS) if (o[k] !== undefined) out[k] = duration(o[k]);
  for (const k of OUTLIER_FLAGS) if (o[k] !== undefined) out[k] = o[k] === true;
  const uneject = wrapped<boolean>(o.successful_active_health_check_uneject_host);
  if (uneject !== undefined) out.successful_active_health_check_uneject_host = uneject;
  return out;
}

/** Envoy's RequestMethod enum names that are HTTP methods (METHOD_UNSPECIFIED = GET). */
const HC_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/**
 * Cluster.health_checks[0] → MOSN's `health_check`: HTTP (path, host, method, expected statuses) or a plain
 * TCP connect. `service_name` is the cluster's name (MOSN runs no checks without one). Envoy's half-open
 * expected_statuses ranges become MOSN's inclusive ones. What would check differently (gRPC, TCP payloads,
 * per-state intervals, request headers) is refused by name.
 */
function healthCheck(p: Problems, path: string, h: Obj, cluster: string): Obj {
  p.fields(h, path, [
    "timeout",
    "interval",
    "interval_jitter",
    "initial_jitter",
    "unhealthy_threshold",
    "healthy_threshold",
    "http_health_check",
    "tcp_health_check",
  ], ["event_log_path", "always_log_health_check_failures", "reuse_connection"]);
  const out: Obj = { service_name: cluster };
  if (h.timeout !== undefined) out.timeout = duration(h.timeout);
  if (h.interval !== undefined) out.interval = duration(h.interval);
  if (h.interval_jitter !== undefined) out.interval_jitter = duration(h.interval_jitter);
  if (h.initial_jitter !== undefined) {
    // meshctl's first check waits initial_delay_seconds plus interval_jitter; Envoy's waits 0..initial_jitter.
    p.warn(join(path, "initial_jitter"), "the first check is spread by interval_jitter instead");
  }
  const unhealthy = wrapped<number>(h.unhealthy_threshold);
  if (unhealthy !== undefined) out.unhealthy_threshold = unhealthy;
  const healthy = wrapped<number>(h.healthy_threshold);
  if (healthy !== undefined) out.healthy_threshold = healthy;
  p.warn(path, "hosts start healthy (as MOSN); Envoy holds a new host out until its first check passes");
  if (h.http_health_check !== undefined) {
    const hp = join(path, "http_health_check");
    const http = obj(h.http_health_check);
    p.fields(http, hp, ["path", "host", "method", "expected_statuses"], ["codec_client_type"]);
    if (http.codec_client_type !== undefined && http.codec_client_type !== "HTTP1") {
      p.add(join(hp, "codec_client_type"), `${http.codec_client_type} is not supported (HTTP/1.1 checks)`);
    }
    const config: Obj = {};
    if (http.path !== undefined) config.path = http.path;
    if (http.host) config.domain = http.host;
    if (http.method !== undefined && http.method !== "METHOD_UNSPECIFIED") {
      if (HC_METHODS.includes(String(http.method))) config.method = http.method;
      else p.add(join(hp, "method"), `${http.method} is not supported`);
    }
    if (http.expected_statuses !== undefined) {
      config.codes = arr(http.expected_statuses).map((r, i) => {
        p.fields(r, join(hp, `expected_statuses[${i}]`), ["start", "end"]);
        return { start: Number(r.start ?? 0), end: Number(r.end ?? 0) - 1 };
      });
    }
    out.protocol = "Http1";
    out.check_config = { http_check_config: config };
  } else if (h.tcp_health_check !== undefined) {
    const tp = join(path, "tcp_health_check");
    p.fields(obj(h.tcp_health_check), tp, []); // send/receive payloads: meshctl checks the connect only
  } else p.add(path, "needs http_health_check or tcp_health_check (others are not supported)");
  return out;
}

/** Sets each route's upstream_protocol from its cluster (Envoy: HTTP/1.1 upstream unless configured). */
function applyUpstreamProtocols(out: Report, routers: Obj[], protocols: Map<string, UpstreamHttp>): void {
  for (const r of routers) {
    const p = new Problems(out, `RouteConfiguration ${JSON.stringify(String(r.router_config_name))}`);
    arr(r.virtual_hosts).forEach((vh, i) =>
      arr(vh.routers).forEach((rt, j) => {
        const action = rt.route as Obj | undefined;
        if (!action) return;
        const names = action.cluster_name !== undefined
          ? [String(action.cluster_name)]
          : arr(action.weighted_clusters).map((w) => String(obj(w.cluster).name));
        const found = [...new Set(names.map((n) => protocols.get(n)).filter((x) => x !== undefined))];
        if (found.length > 1) {
          p.add(
            `virtual_hosts[${i}].routes[${j}].route.weighted_clusters`,
            `clusters speak different protocols (${found.join(", ")}): not supported`,
          );
        } else if (found[0]) action.upstream_protocol = found[0];
      })
    );
  }
}

/**
 * Converts one complete set of accepted resources. Route tables keep RDS order, then inline ones; names
 * are not deduplicated here (the validator reports duplicates).
 */
export function convertXdsResources(resources: XdsResources, options: ConvertOptions = {}): ConvertedXds {
  const report: Report = {
    errors: [],
    warnings: [],
    skipped: [],
    ignoreFilters: new Set(options.ignoreFilters ?? []),
  };
  const inlineRouters: Obj[] = [];
  const rdsNames = new Set<string>();
  const listeners = resources.listeners.map((l) => listener(report, l, inlineRouters, rdsNames));
  const routers = resources.routes.map((rc) =>
    routeConfiguration(new Problems(report, resourceName("RouteConfiguration", rc)), "", rc)
  );
  const claByName = new Map(resources.endpoints.map((e) => [String(e.cluster_name), e]));
  const missing = new Set<string>();
  const protocols = new Map<string, UpstreamHttp>();
  const clusters = resources.clusters.map((c) => cluster(report, c, claByName, missing, protocols));
  const allRouters = [...routers, ...inlineRouters];
  applyUpstreamProtocols(report, allRouters, protocols);
  const have = new Set(routers.map((r) => String(r.router_config_name)));
  const referenced = new Set<string>();
  for (const r of allRouters) {
    for (const vh of arr(r.virtual_hosts)) {
      for (const rt of arr(vh.routers)) {
        const action = obj(rt.route);
        if (action.cluster_name !== undefined) referenced.add(String(action.cluster_name));
        for (const w of arr(action.weighted_clusters)) referenced.add(String(obj(w.cluster).name));
      }
    }
  }
  for (const l of listeners) {
    for (const f of arr(obj(arr(l.filter_chains)[0]).filters)) {
      if (f.type === "tcp_proxy" && obj(f.config).cluster !== undefined) {
        referenced.add(String(obj(f.config).cluster));
      }
    }
  }
  return {
    listeners,
    routers: allRouters,
    clusters,
    missingEndpoints: [...missing],
    missingRoutes: [...rdsNames].filter((n) => !have.has(n)),
    unknownClusters: [...referenced].filter((n) => !protocols.has(n)),
    errors: report.errors,
    warnings: report.warnings,
    skippedFilters: report.skipped,
  };
}

/**
 * A MOSN config document from converted resources plus the bootstrap's static parts (its servers[0]
 * listeners/routers and cluster_manager clusters come first). Feed it to src/config validateConfig /
 * parseConfigText(JSON.stringify(doc)).
 */
export function mosnDocument(converted: ConvertedXds, base: Obj = {}): Obj {
  const servers = arr(base.servers);
  const server0 = obj(servers[0]);
  const cm = obj(base.cluster_manager);
  return {
    ...base,
    servers: [
      {
        ...server0,
        routers: [...arr(server0.routers), ...converted.routers],
        listeners: [...arr(server0.listeners), ...converted.listeners],
      },
      ...servers.slice(1),
    ],
    cluster_manager: { ...cm, clusters: [...arr(cm.clusters), ...converted.clusters] },
  };
}
