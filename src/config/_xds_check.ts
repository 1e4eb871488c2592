/**
 * The semantic checks of the xDS bootstrap (`dynamic_resources`, `static_resources`, `node`): ADS only,
 * the ADS cluster defined in the file, Envoy clusters convertible to meshctl's (their TLS too), Istio's node
 * id form.
 */
import { didYouMean, parseDuration, parseIp } from "../core/mod.ts";
import type { Loose, Reporter } from "./_semantics.ts";
import type {
  ApiConfigSourceDocument,
  ConfigDocument,
  ConfigSourceDocument,
  EnvoyClusterDocument,
  TlsContextDocument,
  UpstreamTlsContextDocument,
} from "./schema.ts";
import { checkTlsContext, type TlsEnv } from "./tls.ts";
import type { TlsContextConfig } from "./types.ts";

type Doc = Loose<ConfigDocument>;
type EnvoyClusterDoc = Loose<EnvoyClusterDocument>;
type ApiConfigSourceDoc = Loose<ApiConfigSourceDocument>;
type ConfigSourceDoc = Loose<ConfigSourceDocument>;

/** The one typed_extension_protocol_options entry meshctl reads. */
export const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** Envoy's default `initial_fetch_timeout`. */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;
/** The ADS client's limits and keepalive when the bootstrap does not set them (Istio's agent uses these). */
export const ADS_CLIENT_DEFAULTS = {
  maxReceiveMessageBytes: 16 * 1024 * 1024,
  keepaliveIntervalMs: 30_000,
  keepaliveTimeoutMs: 10_000,
} as const;

/** MOSN/Envoy blocks meshctl accepts so their configs load, and says they do nothing. */
export function checkAcceptedUnused(doc: Doc, warn: Reporter["warn"]): void {
  const unused: [keyof Doc, string][] = [
    ["metrics", "MOSN's metrics sinks are not implemented: stats are served by the admin API (/stats)"],
    ["pprof", "MOSN's Go profiler does not apply to meshctl"],
    ["layered_runtime", "meshctl has no Envoy runtime: layered_runtime (and any RTDS in it) is not used"],
  ];
  for (const [key, why] of unused) {
    const v = doc[key];
    if (v !== undefined && v !== null && typeof v === "object" && Object.keys(v).length > 0) {
      warn(key, `${why} (accepted)`);
    }
  }
}

/** Envoy clusters in `static_resources`: what the conversion to meshctl's clusters cannot express. */
export function checkStaticClusters(doc: Doc, reporter: Reporter): void {
  const ads = doc.dynamic_resources?.ads_config?.grpc_services?.[0]?.envoy_grpc?.cluster_name;
  doc.static_resources?.clusters?.forEach((c, i) => {
    if (!c) return;
    const path = `static_resources.clusters[${i}]`;
    checkEnvoyCluster(c, path, reporter);
    checkKeepalive(c, path, c.name === ads, reporter);
  });
}

/** Envoy's HTTP/2 connection_keepalive: meshctl's gRPC client to the control plane pings; nothing else does. */
function checkKeepalive(c: EnvoyClusterDoc, path: string, isAds: boolean, reporter: Reporter): void {
  const direct = c.http2_protocol_options?.connection_keepalive;
  const keepalive = direct ?? envoyClusterHttp2(c)?.connection_keepalive;
  if (keepalive === undefined) return;
  const at = direct !== undefined
    ? `${path}.http2_protocol_options.connection_keepalive`
    : `${path}.typed_extension_protocol_options.${HTTP_PROTOCOL_OPTIONS}.explicit_http_config.` +
      "http2_protocol_options.connection_keepalive";
  if (!isAds) {
    reporter.error(
      at,
      "connection_keepalive is supported on the ADS cluster only (meshctl's upstream HTTP/2 sends no PINGs)",
    );
    return;
  }
  for (const key of ["interval", "timeout"] as const) {
    const v = keepalive[key];
    const ms = typeof v === "string" ? parseDuration(v) : v;
    if (ms !== undefined && ms < 1) {
      reporter.error(`${at}.${key}`, "must be at least 1ms (Envoy's minimum)");
    }
  }
}

function checkEnvoyCluster(c: EnvoyClusterDoc, path: string, reporter: Reporter): void {
  const type = c.type ?? "STATIC";
  if (type === "LOGICAL_DNS") {
    reporter.warn(
      `${path}.type`,
      "LOGICAL_DNS is resolved as STRICT_DNS: meshctl balances over every address the name resolves to " +
        "(Envoy connects to the first one only)",
    );
  }
  if (c.hosts !== undefined && c.load_assignment !== undefined) {
    reporter.error(`${path}.load_assignment`, "set either hosts or load_assignment, not both");
  }
  const addresses: [string | undefined, string][] = [
    ...(c.hosts ?? []).map((h, hi): [string | undefined, string] => [
      h?.socket_address?.address,
      `${path}.hosts[${hi}].socket_address.address`,
    ]),
    ...(c.load_assignment?.endpoints ?? []).flatMap((e, ei) =>
      (e?.lb_endpoints ?? []).map((lb, li): [string | undefined, string] => [
        lb?.endpoint?.address?.socket_address?.address,
        `${path}.load_assignment.endpoints[${ei}].lb_endpoints[${li}].endpoint.address.socket_address.address`,
      ])
    ),
  ];
  // An invalid type is reported already; its STATIC default must not add errors about the hosts.
  const typeKnown = c.type !== undefined || reporter.hasError?.(`${path}.type`) !== true;
  for (const [address, p] of addresses) {
    if (address === undefined || !typeKnown) continue;
    if (type === "STATIC" && parseIp(address) === undefined) {
      reporter.error(
        p,
        `"${address}" is not an IP address: a STATIC cluster needs IPs (use type STRICT_DNS for a name)`,
      );
    }
  }
  c.load_assignment?.endpoints?.forEach((e, ei) => {
    if (e?.priority !== undefined && e.priority !== 0) {
      reporter.error(
        `${path}.load_assignment.endpoints[${ei}].priority`,
        `priority ${e.priority} is not supported yet: meshctl has no priority failover (only 0)`,
      );
    }
  });
  const typed = c.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS];
  if (typed !== undefined && c.http2_protocol_options !== undefined) {
    reporter.error(
      `${path}.http2_protocol_options`,
      `set either http2_protocol_options or typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS}"], not ` +
        "both (Envoy refuses both too)",
    );
  }
  if (typed !== undefined && typed.explicit_http_config === undefined) {
    reporter.error(
      `${path}.typed_extension_protocol_options.${HTTP_PROTOCOL_OPTIONS}`,
      "needs explicit_http_config with http2_protocol_options (the only upstream protocol setting meshctl reads)",
    );
  }
}

/** Whether an Envoy cluster asks for HTTP/2 to its hosts (either of Envoy's two ways). */
export function envoyClusterHttp2(c: EnvoyClusterDoc): Loose<EnvoyClusterDocument["http2_protocol_options"]> {
  return c.http2_protocol_options ??
    c.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS]?.explicit_http_config?.http2_protocol_options;
}

/**
 * `dynamic_resources` and `node`: servers or dynamic_resources must be present; ADS only, through a
 * cluster of this file; lds_config / cds_config over that ADS; Istio's node id form.
 */
export function checkXdsBootstrap(doc: Doc, clusters: ReadonlySet<string>, reporter: Reporter): void {
  const dyn = doc.dynamic_resources;
  if (doc.servers === undefined && dyn === undefined) {
    reporter.error(
      "servers",
      'missing required field "servers" (a config without dynamic_resources gets its listeners from servers)',
    );
  }
  if (dyn === undefined) {
    if (doc.node !== undefined) {
      reporter.warn("node", "node is sent only to an xDS control plane: unused without dynamic_resources");
    }
    return;
  }
  checkIgnoreFilters(dyn.ignore_filters, reporter);
  const ads = dyn.ads_config;
  const adsPath = "dynamic_resources.ads_config";
  let adsCluster: string | undefined;
  if (ads === undefined) {
    reporter.error(
      "dynamic_resources",
      "needs ads_config: meshctl takes listeners and clusters over ADS only (one gRPC stream)",
    );
  } else {
    adsCluster = checkApiConfigSource(ads, adsPath, reporter);
    if (adsCluster !== undefined && !clusters.has(adsCluster)) {
      const hint = didYouMean(adsCluster, clusters);
      reporter.error(
        `${adsPath}.grpc_services[0].envoy_grpc.cluster_name`,
        `unknown cluster "${adsCluster}"${
          hint ? `; did you mean "${hint}"?` : ""
        } (the ADS cluster must be ` +
          "defined in this file: static_resources.clusters or cluster_manager.clusters)",
      );
      adsCluster = undefined;
    }
    ads.cluster_names?.forEach((_, i) => {
      if (i === 0) {
        reporter.warn(
          `${adsPath}.cluster_names`,
          "cluster_names (Envoy v2's REST field) is not used: the control plane is reached through " +
            "grpc_services",
        );
      }
    });
    if (adsCluster !== undefined) checkAdsCluster(doc, adsCluster, reporter);
  }
  const sources: [ConfigSourceDoc | undefined, string][] = [
    [dyn.lds_config, "dynamic_resources.lds_config"],
    [dyn.cds_config, "dynamic_resources.cds_config"],
  ];
  for (const [source, path] of sources) {
    if (source !== undefined) checkConfigSource(source, path, ads !== undefined, adsCluster, reporter);
  }
  if (ads !== undefined && dyn.lds_config === undefined && dyn.cds_config === undefined) {
    reporter.warn(
      adsPath,
      "ads_config alone subscribes to nothing: add lds_config: {ads: {}} and/or cds_config: {ads: {}}",
    );
  }
  const lds = dyn.lds_config?.initial_fetch_timeout;
  const cds = dyn.cds_config?.initial_fetch_timeout;
  if (lds !== undefined && cds !== undefined && lds !== cds) {
    reporter.warn(
      "dynamic_resources.cds_config.initial_fetch_timeout",
      "lds_config and cds_config set different initial_fetch_timeouts: meshctl uses one for every type, the " +
        "longer (0, no timeout, counting as longest)",
    );
  }
  checkNode(doc.node, reporter);
}

/** An ADS api config source; returns the cluster it names (undefined when it names none). */
function checkApiConfigSource(s: ApiConfigSourceDoc, path: string, reporter: Reporter): string | undefined {
  if (s.refresh_delay !== undefined) {
    reporter.warn(
      `${path}.refresh_delay`,
      "refresh_delay is not used: meshctl is event-driven, it applies what the control plane pushes and " +
        "never re-requests on a timer (MOSN does)",
    );
  }
  return s.grpc_services?.[0]?.envoy_grpc?.cluster_name;
}

function checkConfigSource(
  s: ConfigSourceDoc,
  path: string,
  haveAds: boolean,
  adsCluster: string | undefined,
  reporter: Reporter,
): void {
  const type = path.endsWith("lds_config") ? "listeners" : "clusters";
  if (s.ads !== undefined && s.api_config_source !== undefined) {
    reporter.error(path, "set either ads or api_config_source, not both");
    return;
  }
  if (s.ads === undefined && s.api_config_source === undefined) {
    reporter.error(path, `needs ads: {}: meshctl takes ${type} over ADS only`);
    return;
  }
  if (!haveAds) return; // "needs ads_config" is reported at dynamic_resources
  const api = s.api_config_source;
  if (api === undefined) return;
  const apiPath = `${path}.api_config_source`;
  const cluster = checkApiConfigSource(api, apiPath, reporter);
  // A config source naming the ADS cluster is read as ADS: one stream for every type, which is what such a
  // control plane serves (go-control-plane's sample), rather than a second, separate stream.
  if (cluster !== undefined && adsCluster !== undefined && cluster !== adsCluster) {
    reporter.error(
      `${apiPath}.grpc_services[0].envoy_grpc.cluster_name`,
      `only ADS is supported: this names cluster "${cluster}", ads_config names "${adsCluster}" (use ads: {})`,
    );
  }
}

/** The ADS cluster: gRPC needs HTTP/2 and at least one host. */
function checkAdsCluster(doc: Doc, name: string, reporter: Reporter): void {
  const index = doc.static_resources?.clusters?.findIndex((c) => c?.name === name) ?? -1;
  if (index >= 0) {
    const c = doc.static_resources!.clusters![index]!;
    const path = `static_resources.clusters[${index}]`;
    if (envoyClusterHttp2(c) === undefined) {
      reporter.warn(
        `${path}.name`,
        "the ADS cluster does not set http2_protocol_options: gRPC needs HTTP/2, which meshctl speaks to it " +
          "anyway (Envoy wants it set)",
      );
    }
    const hosts = (c.hosts?.length ?? 0) +
      (c.load_assignment?.endpoints ?? []).reduce((n, e) => n + (e?.lb_endpoints?.length ?? 0), 0);
    if (hosts === 0) {
      reporter.warn(`${path}.name`, "the ADS cluster has no hosts: meshctl cannot reach the control plane");
    }
    return;
  }
  const fileIndex = doc.cluster_manager?.clusters?.findIndex((c) => c?.name === name) ?? -1;
  const fileCluster = doc.cluster_manager?.clusters?.[fileIndex];
  if (fileCluster !== undefined && (fileCluster.hosts?.length ?? 0) === 0) {
    reporter.warn(
      `cluster_manager.clusters[${fileIndex}].name`,
      "the ADS cluster has no hosts: meshctl cannot reach the control plane",
    );
  }
}

const ISTIO_NODE_TYPES = ["sidecar", "router"];

/** Control planes key config by node.id; istiod also parses it (`type~ip~id~domain`) and refuses bad ones. */
function checkNode(node: Doc["node"], reporter: Reporter): void {
  const id = node?.id;
  if (id === undefined || id === "") {
    reporter.warn(
      node === undefined ? "dynamic_resources" : "node",
      "no node.id: control planes tell proxies apart by it (go-control-plane caches by it, istiod refuses " +
        "a connection without one)",
    );
    return;
  }
  if (!id.includes("~")) return;
  const parts = id.split("~");
  const istiod = "istiod refuses it (expected type~ip~pod.namespace~namespace.svc.cluster.local)";
  if (parts.length !== 4) {
    reporter.warn("node.id", `"${id}" has ${parts.length} "~" parts, not 4: ${istiod}`);
    return;
  }
  if (!ISTIO_NODE_TYPES.includes(parts[0]!)) {
    reporter.warn("node.id", `node type "${parts[0]}" is neither sidecar nor router: ${istiod}`);
  }
  const ips = node?.metadata?.["INSTANCE_IPS"];
  if (parseIp(parts[1]!) === undefined && (typeof ips !== "string" || ips === "")) {
    reporter.warn(
      "node.id",
      `"${parts[1]}" is not an IP address and node.metadata has no INSTANCE_IPS: istiod cannot tell this ` +
        "proxy's address",
    );
  }
}

type UpstreamTlsDoc = Loose<UpstreamTlsContextDocument>;
type DataSourceDoc = { readonly filename?: string; readonly inline_string?: string } | undefined;

/** Envoy's TLS version names → MOSN's (which checkTlsContext reads). */
const MOSN_VERSION: Readonly<Record<string, string>> = {
  TLS_AUTO: "tls_auto",
  TLSv1_2: "tlsv1_2",
  TLSv1_3: "tlsv1_3",
};

/**
 * The TLS of each static_resources cluster (`transport_socket` envoy.transport_sockets.tls), by cluster path:
 * Envoy's UpstreamTlsContext read as the MOSN tls_context it amounts to, so one checker (`checkTlsContext`)
 * reads and verifies the certificates; its findings are reported at the Envoy fields. Envoy's meaning is
 * kept where it differs: no trusted_ca = the server certificate is not verified (a warning).
 */
export function checkStaticClusterTls(
  doc: Doc,
  env: TlsEnv,
  reporter: Reporter,
): Map<string, TlsContextConfig> {
  const out = new Map<string, TlsContextConfig>();
  doc.static_resources?.clusters?.forEach((c, i) => {
    const t = c?.transport_socket?.typed_config;
    if (t === undefined) return;
    const path = `static_resources.clusters[${i}]`;
    const tlsPath = `${path}.transport_socket.typed_config`;
    const mosn = mosnTlsContext(t, tlsPath, reporter);
    if (mosn === undefined) return;
    const outcome = checkTlsContext(mosn.doc, tlsPath, "cluster", env, {
      error: (p, m) => reporter.error(mosn.pathOf(p), m),
      warn: (p, m) => reporter.warn(mosn.pathOf(p), m),
    });
    if (outcome.kind === "on") out.set(path, outcome.config);
  });
  return out;
}

function mosnTlsContext(
  t: UpstreamTlsDoc,
  path: string,
  reporter: Reporter,
): { doc: Loose<TlsContextDocument>; pathOf: (mosnPath: string) => string } | undefined {
  const common = t.common_tls_context;
  const vc = common?.validation_context;
  const cert = common?.tls_certificates?.[0];
  const ctxPath = `${path}.common_tls_context`;
  const sources: [string, DataSourceDoc, string][] = [
    ["ca_cert", vc?.trusted_ca, `${ctxPath}.validation_context.trusted_ca`],
    ["cert_chain", cert?.certificate_chain, `${ctxPath}.tls_certificates[0].certificate_chain`],
    ["private_key", cert?.private_key, `${ctxPath}.tls_certificates[0].private_key`],
  ];
  const pem: Record<string, string> = {};
  const fields: Record<string, string> = {
    server_name: `${path}.sni`,
    alpn: `${ctxPath}.alpn_protocols`,
    min_version: `${ctxPath}.tls_params.tls_minimum_protocol_version`,
    max_version: `${ctxPath}.tls_params.tls_maximum_protocol_version`,
    match_subject_alt_names: `${ctxPath}.validation_context.match_subject_alt_names`,
    insecure_skip: `${ctxPath}.validation_context`,
  };
  let ok = true;
  for (const [field, source, sourcePath] of sources) {
    if (source === undefined) continue;
    const set = (["filename", "inline_string"] as const).filter((k) => source[k] !== undefined);
    if (set.length !== 1) {
      reporter.error(sourcePath, "needs exactly one of filename or inline_string");
      ok = false;
      continue;
    }
    pem[field] = source[set[0]!]!;
    fields[field] = `${sourcePath}.${set[0]}`;
  }
  if (!ok) return undefined;
  const verified = pem.ca_cert !== undefined;
  if (!verified && (vc?.match_subject_alt_names?.length ?? 0) > 0) {
    reporter.error(
      `${ctxPath}.validation_context.match_subject_alt_names`,
      "needs trusted_ca: without it the certificate is not verified, so its SANs prove nothing (Envoy " +
        "refuses this too)",
    );
    return undefined;
  }
  if (!verified) {
    reporter.warn(
      vc === undefined ? ctxPath : `${ctxPath}.validation_context`,
      "the server certificate is not verified: no validation_context.trusted_ca (Envoy's meaning); set one " +
        "to verify the control plane",
    );
  }
  const params = common?.tls_params;
  const doc: Loose<TlsContextDocument> = {
    status: true,
    ...(t.sni === undefined ? {} : { server_name: t.sni }),
    ...pem,
    insecure_skip: !verified,
    ...(params?.tls_minimum_protocol_version === undefined
      ? {}
      : { min_version: MOSN_VERSION[params.tls_minimum_protocol_version] }),
    ...(params?.tls_maximum_protocol_version === undefined
      ? {}
      : { max_version: MOSN_VERSION[params.tls_maximum_protocol_version] }),
    ...(common?.alpn_protocols === undefined ? {} : { alpn: common.alpn_protocols.join(",") }),
    ...(vc?.match_subject_alt_names === undefined
      ? {}
      : { match_subject_alt_names: vc.match_subject_alt_names }),
  };
  const pathOf = (mosnPath: string): string => {
    const rest = mosnPath.slice(path.length + 1);
    const field = rest.split(/[.[]/, 1)[0]!;
    const mapped = fields[field];
    return mapped === undefined ? mosnPath : mapped + rest.slice(field.length);
  };
  return { doc, pathOf };
}

/** Filters meshctl implements: skipping them would change what the resource means. */
const IMPLEMENTED_FILTERS = new Set([
  "envoy.filters.http.router",
  "envoy.filters.http.fault",
  "envoy.filters.network.http_connection_manager",
  "envoy.filters.network.tcp_proxy",
]);
/** Filters whose skipping removes access control: allowed (the operator's call), but said loudly. */
const SECURITY_FILTER = /rbac|authz|jwt|ext_authz|oauth|authn/i;

/** `dynamic_resources.ignore_filters`: names only, none meshctl implements, no duplicates. */
function checkIgnoreFilters(names: readonly (string | undefined)[] | undefined, reporter: Reporter): void {
  const seen = new Set<string>();
  names?.forEach((name, i) => {
    if (typeof name !== "string") return;
    const path = `dynamic_resources.ignore_filters[${i}]`;
    if (name === "") reporter.error(path, "a filter name must not be empty");
    else if (IMPLEMENTED_FILTERS.has(name)) {
      reporter.error(path, `${name} is implemented by meshctl: it cannot be ignored`);
    } else if (seen.has(name)) reporter.error(path, `${name} is listed twice`);
    else if (SECURITY_FILTER.test(name)) {
      reporter.warn(path, `skipping ${name} drops the access control it enforces`);
    }
    seen.add(name);
  });
}
