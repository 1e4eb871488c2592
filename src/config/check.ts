export type { Loose, Report, Reporter, SemanticResult } from "./_semantics.ts";
import {
  checkRe2,
  didYouMean,
  parseAddress,
  parseCidr,
  parsePortList,
  type SocketAddress,
} from "../core/mod.ts";
import {
  type FilterProblem,
  MOSN_NETWORK_FILTERS,
  MOSN_STREAM_FILTERS,
  type ValidationContext,
} from "./context.ts";
import { resolveDownstream, resolveUpstream } from "./_protocols.ts";
import type { ConfigDocument, TcpProxyDocument } from "./schema.ts";
import { LIMIT_DEFAULTS, REGISTRY_ROUTER_NAME, REGISTRY_SOFA_ROUTER_NAME } from "./defaults.ts";
import { checkClusterHealth } from "./_health_check.ts";
import { checkExtends } from "./_registry_check.ts";
import type { Loose, Report, Reporter, SemanticResult } from "./_semantics.ts";
import type { TlsContextConfig } from "./types.ts";
import { checkTlsContext, type TlsEnv, type TlsOutcome } from "./tls.ts";
import {
  checkAcceptedUnused,
  checkStaticClusters,
  checkStaticClusterTls,
  checkXdsBootstrap,
} from "./_xds_check.ts";

type Doc = Loose<ConfigDocument>;
type Server = NonNullable<NonNullable<Doc["servers"]>[number]>;
type RouterConf = NonNullable<NonNullable<Server["routers"]>[number]>;
type Route = NonNullable<
  NonNullable<NonNullable<NonNullable<RouterConf["virtual_hosts"]>[number]>["routers"]>[number]
>;
type Listener = NonNullable<NonNullable<Server["listeners"]>[number]>;
type ClusterDoc = NonNullable<NonNullable<NonNullable<Doc["cluster_manager"]>["clusters"]>[number]>;
type TcpProxyDoc = Loose<TcpProxyDocument>;

const SCHEMA_FILTERS = ["proxy", "tcp_proxy"];

/** Where the checked config's files are and when it is checked (certificate validity). */
export interface CheckOptions {
  /** The config file's directory: relative certificate paths resolve against it. */
  readonly configDir: string;
  /** Default: now. */
  readonly nowMs?: number;
}

/**
 * The semantic pass: cross references (routes → clusters, proxies → route tables), uniqueness,
 * address clashes, protocol and filter names, the one-of rules, TLS contexts and their certificates;
 * and the warnings (see `ConfigWarning`). Runs even after structural errors, skipping whatever is
 * missing, so one run reports everything.
 */
export function checkSemantics(
  doc: Doc,
  ctx: ValidationContext,
  reporter: Reporter,
  options: CheckOptions = { configDir: "." },
): SemanticResult {
  const report = reporter.error;
  const warn = reporter.warn;
  const tlsEnv: TlsEnv = {
    configDir: options.configDir,
    maxPemFileBytes: doc.limits?.max_pem_file_bytes ?? LIMIT_DEFAULTS.maxPemFileBytes,
    nowMs: options.nowMs ?? Date.now(),
    files: new Map(),
  };
  checkTracing(doc.tracing, warn);
  const registryEnabled = checkExtends(doc, reporter);
  checkAcceptedUnused(doc, warn);
  const clusters = new ClusterNames(doc.dynamic_resources?.cds_config !== undefined);
  uniqueNames(
    [
      ...(doc.cluster_manager?.clusters ?? []).map((
        c,
        i,
      ): [string | undefined, string] => [c?.name, `cluster_manager.clusters[${i}].name`]),
      ...(doc.static_resources?.clusters ?? []).map((
        c,
        i,
      ): [string | undefined, string] => [c?.name, `static_resources.clusters[${i}].name`]),
    ],
    "cluster",
    report,
    clusters,
  );
  checkStaticClusters(doc, reporter);
  checkXdsBootstrap(doc, clusters, reporter);
  doc.cluster_manager?.clusters?.forEach((c, i) =>
    c && checkClusterDns(c, `cluster_manager.clusters[${i}]`, report)
  );
  doc.cluster_manager?.clusters?.forEach((c, i) =>
    c && checkClusterHealth(c, `cluster_manager.clusters[${i}]`, reporter)
  );
  const servers = doc.servers ?? [];
  const routers = new Set<string>();
  uniqueNames(
    servers.flatMap((s, si) =>
      (s?.routers ?? []).map((r, ri): [string | undefined, string] => [
        r?.router_config_name,
        `servers[${si}].routers[${ri}].router_config_name`,
      ])
    ),
    "router_config_name",
    report,
    routers,
  );
  // The registry adds its routes to these routers, and creates them when the file does not (as MOSN does).
  if (registryEnabled) {
    routers.add(REGISTRY_ROUTER_NAME);
    routers.add(REGISTRY_SOFA_ROUTER_NAME);
  }
  servers.forEach((s, si) => {
    s?.routers?.forEach((r, ri) =>
      r && checkRouter(r, `servers[${si}].routers[${ri}]`, clusters, ctx, reporter)
    );
  });
  const listeners: [Listener, string][] = [];
  servers.forEach((s, si) =>
    s?.listeners?.forEach((l, li) => l && listeners.push([l, `servers[${si}].listeners[${li}]`]))
  );
  uniqueNames(
    listeners.map((
      [l, p],
    ): [string | undefined, string] => [l.name ?? l.address, `${p}.${l.name ? "name" : "address"}`]),
    "listener",
    report,
  );
  checkAddressClashes(listeners, report);
  for (const [l, p] of listeners) checkListener(l, p, clusters, routers, ctx, reporter);
  const listenerTls = new Map<string, readonly TlsContextConfig[]>();
  for (const [l, p] of listeners) listenerTls.set(p, checkListenerTls(l, p, tlsEnv, reporter));
  const clusterTls = checkClusterTls(doc, tlsEnv, reporter);
  for (const [path, tls] of checkStaticClusterTls(doc, tlsEnv, reporter)) clusterTls.set(path, tls);
  return { listenerTls, clusterTls };
}

/**
 * A listener's filter chain: `tls_context` or `tls_context_set` (MOSN refuses both), each context checked,
 * the enabled ones kept in order; `inspector` and `tls_handshake_timeout` mean nothing without one.
 */
function checkListenerTls(l: Listener, path: string, env: TlsEnv, reporter: Reporter): TlsContextConfig[] {
  const chainPath = `${path}.filter_chains[0]`;
  const chain = l.filter_chains?.[0];
  const single = chain?.tls_context;
  const set = chain?.tls_context_set ?? [];
  if (single !== undefined && set.length > 0) {
    reporter.error(
      `${chainPath}.tls_context_set`,
      "set either tls_context or tls_context_set, not both (MOSN refuses both too)",
    );
  }
  const entries: [NonNullable<typeof single>, string][] = set.length > 0
    ? set.flatMap((c, i) => (c ? [[c, `${chainPath}.tls_context_set[${i}]`]] : []))
    : single !== undefined
    ? [[single, `${chainPath}.tls_context`]]
    : [];
  const contexts: TlsContextConfig[] = [];
  let invalid = false;
  for (const [c, p] of entries) {
    const outcome = checkTlsContext(c, p, "listener", env, reporter);
    if (outcome.kind === "on") contexts.push(outcome.config);
    invalid ||= outcome.kind === "invalid";
  }
  if (contexts.length === 0 && !invalid) {
    const plain = "the listener has no enabled TLS context (status: true), so it is plaintext";
    if (l.inspector === true) {
      reporter.warn(`${path}.inspector`, `inspector does nothing: ${plain}`);
    }
    if (l.tls_handshake_timeout !== undefined) {
      reporter.warn(`${path}.tls_handshake_timeout`, `tls_handshake_timeout does nothing: ${plain}`);
    }
  }
  return contexts;
}

/**
 * Each cluster's TLS: its own `tls_context`, or with `cluster_manager_tls` the cluster manager's (MOSN then
 * never reads the cluster's own); a host's `tls_disable` takes that host out of it.
 */
function checkClusterTls(doc: Doc, env: TlsEnv, reporter: Reporter): Map<string, TlsContextConfig> {
  const out = new Map<string, TlsContextConfig>();
  const shared = doc.cluster_manager?.tls_context;
  const sharedOutcome: TlsOutcome = shared === undefined
    ? { kind: "off" }
    : checkTlsContext(shared, "cluster_manager.tls_context", "cluster", env, reporter);
  let sharedUsed = false;
  doc.cluster_manager?.clusters?.forEach((c, i) => {
    if (!c) return;
    const path = `cluster_manager.clusters[${i}]`;
    let outcome: TlsOutcome;
    if (c.cluster_manager_tls === true) {
      sharedUsed = true;
      outcome = sharedOutcome;
      if (c.tls_context?.status === true) {
        reporter.warn(
          `${path}.tls_context`,
          "this tls_context is ignored: with cluster_manager_tls the cluster uses cluster_manager.tls_context " +
            "(MOSN)",
        );
      }
      if (sharedOutcome.kind === "off") {
        reporter.warn(
          `${path}.cluster_manager_tls`,
          "cluster_manager.tls_context is not enabled (status: true), so this cluster dials in plaintext",
        );
      }
    } else {
      outcome = c.tls_context === undefined
        ? { kind: "off" }
        : checkTlsContext(c.tls_context, `${path}.tls_context`, "cluster", env, reporter);
    }
    if (outcome.kind === "on") out.set(path, outcome.config);
    if (outcome.kind === "off") {
      c.hosts?.forEach((h, hi) => {
        if (h?.tls_disable === true) {
          reporter.warn(
            `${path}.hosts[${hi}].tls_disable`,
            "tls_disable does nothing: the cluster has no enabled TLS context, so every host is plaintext",
          );
        }
      });
    }
  });
  if (sharedOutcome.kind === "on" && !sharedUsed) {
    reporter.warn(
      "cluster_manager.tls_context",
      "cluster_manager.tls_context is unused: no cluster sets cluster_manager_tls: true",
    );
  }
  return out;
}

function uniqueNames(
  entries: [string | undefined, string][],
  what: string,
  report: Report,
  into: Set<string> = new Set(),
): void {
  const first = new Map<string, string>();
  for (const [name, path] of entries) {
    if (name === undefined) continue;
    const prev = first.get(name);
    if (prev !== undefined) report(path, `duplicate ${what} "${name}" (also at ${prev})`);
    else first.set(name, path);
    into.add(name);
  }
}

/** meshctl does not trace: an enabled `tracing` block loads, and says it does nothing. */
function checkTracing(t: Doc["tracing"], warn: Report): void {
  if (t?.enable !== true) return;
  if (t.driver === undefined) {
    warn("tracing.enable", "tracing is enabled without a driver; MOSN leaves tracing off in that case");
    return;
  }
  warn(
    "tracing",
    `tracing is not implemented in meshctl: no spans are recorded or reported (driver "${t.driver}" ` +
      "is accepted so the config loads)",
  );
}

function checkRouter(
  r: RouterConf,
  path: string,
  clusters: ClusterNames,
  ctx: ValidationContext,
  reporter: Reporter,
): void {
  const report = reporter.error;
  const domains = new Map<string, string>();
  r.virtual_hosts?.forEach((vh, vi) => {
    vh?.domains?.forEach((d, di) => {
      if (d === undefined) return;
      const p = `${path}.virtual_hosts[${vi}].domains[${di}]`;
      const key = d.toLowerCase();
      const prev = domains.get(key);
      if (prev !== undefined) report(p, `domain "${d}" is already served by ${prev}`);
      else domains.set(key, `${path}.virtual_hosts[${vi}]`);
    });
    vh?.routers?.forEach((route, i) => {
      if (route) checkRoute(route, `${path}.virtual_hosts[${vi}].routers[${i}]`, clusters, ctx, reporter);
    });
  });
}

function checkRoute(
  route: Route,
  path: string,
  clusters: ClusterNames,
  ctx: ValidationContext,
  reporter: Reporter,
): void {
  const report = reporter.error;
  const actions = (["route", "direct_response", "redirect"] as const).filter((k) => route[k] !== undefined);
  if (actions.length !== 1) {
    report(
      path,
      actions.length === 0
        ? "a route needs one of route, direct_response or redirect"
        : `a route takes only one of route, direct_response or redirect (got ${actions.join(", ")})`,
    );
  }
  const m = route.match;
  if (m) {
    const kinds = (["prefix", "path", "regex", "connect_matcher"] as const).filter((k) => m[k] !== undefined);
    if (kinds.length > 1) {
      report(
        `${path}.match`,
        `match takes at most one of prefix, path, regex or connect_matcher (got ${kinds.join(", ")})`,
      );
    }
    m.headers?.forEach((h, i) => {
      if (h?.regex && h.value !== undefined) {
        const problem = checkRe2(h.value);
        if (problem) report(`${path}.match.headers[${i}].value`, `invalid regex "${h.value}": ${problem}`);
      }
    });
    m.query_parameters?.forEach((q, i) => {
      const qp = `${path}.match.query_parameters[${i}]`;
      if (q?.regex && q.value === undefined) report(`${qp}.regex`, "regex needs a value to match");
      if (q?.regex && q.value !== undefined) {
        const problem = checkRe2(q.value);
        if (problem) report(`${qp}.value`, `invalid regex "${q.value}": ${problem}`);
      }
    });
    // MOSN's RPC rule (pkg/router/rpc_rule.go): a path-less route whose one matcher is named `service`
    // compares by value, ".*" meaning any service; its `regex` flag is never read.
    const only = m.headers?.length === 1 ? m.headers[0] : undefined;
    // MOSN reads an empty prefix, path or regex as none, so such a route is an RPC rule too.
    const pathless = !m.prefix && !m.path && !m.regex && m.connect_matcher === undefined;
    if (pathless && only?.name === "service" && only.regex === true && only.value !== ".*" && only.value) {
      reporter.warn(
        `${path}.match.headers[0].regex`,
        `regex is ignored here: a route whose only matcher is "service" compares the service by value, ` +
          `as MOSN does ("${only.value}" matches only a service named exactly so; ".*" matches any)`,
      );
    }
  }
  const a = route.route;
  if (m?.connect_matcher !== undefined && a !== undefined) {
    const connect = a.upgrade_configs?.find((u) => u?.upgrade_type?.toUpperCase() === "CONNECT");
    if (connect === undefined || connect.enabled === false) {
      report(
        `${path}.match.connect_matcher`,
        "a route for CONNECT needs route.upgrade_configs with upgrade_type CONNECT (add connect_config: {} " +
          "to terminate the tunnel here)",
      );
    }
  }
  if (a) {
    const p = `${path}.route`;
    const hasName = a.cluster_name !== undefined;
    const hasWeighted = a.weighted_clusters !== undefined;
    if (hasName && hasWeighted) report(p, "set either cluster_name or weighted_clusters, not both");
    else if (!hasName && !hasWeighted) report(p, "a route needs cluster_name or weighted_clusters");
    if (a.cluster_name !== undefined) checkCluster(a.cluster_name, `${p}.cluster_name`, clusters, reporter);
    a.retry_policy?.retriable_headers?.forEach((h, i) => {
      if (h?.regex && h.value !== undefined) {
        const problem = checkRe2(h.value);
        if (problem) {
          report(`${p}.retry_policy.retriable_headers[${i}].value`, `invalid regex "${h.value}": ${problem}`);
        }
      }
    });
    a.weighted_clusters?.forEach((w, i) => {
      const name = w?.cluster?.name;
      if (name !== undefined) {
        checkCluster(name, `${p}.weighted_clusters[${i}].cluster.name`, clusters, reporter);
      }
    });
    if (a.upstream_protocol !== undefined) {
      const r = resolveUpstream(a.upstream_protocol, undefined, ctx);
      if (!r.ok) report(`${p}.upstream_protocol`, r.message);
    }
    a.hash_policy?.forEach((h, i) => {
      if (!h) return;
      const n = [h.header, h.source_ip, h.cookie].filter((x) => x !== undefined).length;
      if (n !== 1) {
        report(`${p}.hash_policy[${i}]`, "a hash policy needs exactly one of header, source_ip or cookie");
      }
    });
  }
  const rd = route.redirect;
  if (
    rd && rd.path_redirect === undefined && rd.host_redirect === undefined && rd.scheme_redirect === undefined
  ) {
    report(
      `${path}.redirect`,
      "a redirect needs at least one of path_redirect, host_redirect or scheme_redirect",
    );
  }
}

/**
 * MOSN reads dns_resolvers only when it lists servers, and dns_resolver_file/_port only when it does not:
 * a field the other choice makes dead is reported rather than silently ignored.
 */
function checkClusterDns(c: ClusterDoc, path: string, report: Report): void {
  const r = c.dns_resolvers;
  if (r === undefined) return;
  if (r.servers === undefined) {
    const set = Object.keys(r);
    if (set.length > 0) {
      report(
        `${path}.dns_resolvers`,
        `dns_resolvers sets ${set.join(", ")} but no servers; without servers MOSN ignores dns_resolvers`,
      );
    }
    return;
  }
  if (c.dns_resolver_file) {
    report(`${path}.dns_resolver_file`, "dns_resolver_file has no effect when dns_resolvers lists servers");
  }
  if (c.dns_resolver_port) {
    report(
      `${path}.dns_resolver_port`,
      "dns_resolver_port has no effect when dns_resolvers lists servers; set dns_resolvers.port",
    );
  }
}

/**
 * The cluster names a reference may use. With `cds_config`, clusters also arrive over CDS, so a name the
 * file does not define is a warning (requests to it fail until CDS delivers it), not an error.
 */
class ClusterNames extends Set<string> {
  constructor(readonly fromCds: boolean) {
    super();
  }
}

function checkCluster(name: string, path: string, clusters: ClusterNames, reporter: Reporter): void {
  if (clusters.has(name)) return;
  const hint = didYouMean(name, clusters);
  const unknown = `unknown cluster "${name}"${hint ? `; did you mean "${hint}"?` : ""}`;
  if (clusters.fromCds) {
    reporter.warn(
      path,
      `${unknown}: not in this file, so it must come from CDS (until then its requests fail)`,
    );
  } else reporter.error(path, unknown);
}

function checkAddressClashes(listeners: [Listener, string][], report: Report): void {
  const seen: [SocketAddress, string][] = [];
  for (const [l, p] of listeners) {
    const a = l.address === undefined ? undefined : parseAddress(l.address);
    // Port 0 asks the OS for a free port: every such listener gets its own, so they never clash.
    if (a === undefined || a.port === 0 || l.bind_port === false) continue;
    const clash = seen.find(([b]) =>
      b.port === a.port && (b.hostname === a.hostname || isWildcard(a.hostname) || isWildcard(b.hostname))
    );
    if (clash) report(`${p}.address`, `address "${l.address}" is already used by ${clash[1]}`);
    else seen.push([a, p]);
  }
}

function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

function checkListener(
  l: Listener,
  path: string,
  clusters: ClusterNames,
  routers: Set<string>,
  ctx: ValidationContext,
  reporter: Reporter,
): void {
  const report = reporter.error;
  if (l.bind_port === false) {
    report(`${path}.bind_port`, "bind_port: false (virtual listeners) is not supported yet");
  }
  l.filter_chains?.forEach((chain, ci) => {
    const filters = chain?.filters ?? [];
    const types = filters.map((f) => f?.type);
    filters.forEach((f, fi) => {
      if (!f || f.type === undefined) return;
      const p = `${path}.filter_chains[${ci}].filters[${fi}]`;
      if (
        !checkFilterType(
          f.type,
          ctx.networkFilters,
          MOSN_NETWORK_FILTERS,
          "network filter",
          `${p}.type`,
          report,
        )
      ) return;
      if (!SCHEMA_FILTERS.includes(f.type)) {
        report(`${p}.type`, `network filter "${f.type}" has no config schema in meshctl`);
        return;
      }
      if (types.indexOf(f.type) !== fi) report(`${p}.type`, `only one ${f.type} filter per chain`);
      const config = f.config;
      if (config === undefined) return;
      if (f.type === "tcp_proxy") {
        checkTcpProxy(config as TcpProxyDoc, `${p}.config`, clusters, reporter);
        return;
      }
      // proxy
      const extend = config.extend_config as Readonly<Record<string, unknown>> | undefined;
      const down = resolveDownstream(config.downstream_protocol as string | undefined, extend, ctx);
      if (!down.ok) report(`${p}.config.downstream_protocol`, down.message);
      checkHttp2UseStream(extend, `${p}.config.extend_config`, report);
      if (typeof config.upstream_protocol === "string") {
        const up = resolveUpstream(config.upstream_protocol, extend, ctx);
        if (!up.ok) report(`${p}.config.upstream_protocol`, up.message);
      }
      const rcn = config.router_config_name;
      if (typeof rcn === "string" && !routers.has(rcn)) {
        const hint = didYouMean(rcn, routers);
        report(
          `${p}.config.router_config_name`,
          `no router named "${rcn}" in servers[].routers${hint ? `; did you mean "${hint}"?` : ""}`,
        );
      }
      const next = types[fi + 1];
      if (config.fallback_for_unknown_protocol === true && next === undefined) {
        report(
          `${p}.config.fallback_for_unknown_protocol`,
          "fallback needs a following filter (tcp_proxy) to hand the connection to",
        );
      }
      if (config.fallback_for_unknown_protocol !== true && next !== undefined) {
        report(
          `${path}.filter_chains[${ci}].filters[${fi + 1}]`,
          `${next} after proxy is never reached; set fallback_for_unknown_protocol: true on the proxy`,
        );
      }
    });
  });
  l.stream_filters?.forEach((f, i) => {
    if (f?.type !== undefined) {
      const known = checkFilterType(
        f.type,
        ctx.streamFilters,
        Object.fromEntries(MOSN_STREAM_FILTERS.map((n) => [n, ""])),
        "stream filter",
        `${path}.stream_filters[${i}].type`,
        report,
      );
      // The filter validates its own config (it lives in a higher layer; the context carries the check).
      if (known && ctx.checkStreamFilterConfig !== undefined) {
        const config = (f.config ?? {}) as Record<string, unknown>;
        const at = `${path}.stream_filters[${i}].config`;
        const { errors, warnings } = ctx.checkStreamFilterConfig(f.type, config, clusters);
        for (const e of errors) reportUnder(report, at, e);
        for (const w of warnings) reportUnder(reporter.warn, at, w);
      }
    }
  });
}

/**
 * MOSN's tcp_proxy (pkg/filter/network/streamproxy): `cluster` when set, for every connection; else the
 * first route whose SourceAddrs, SourcePort, DestinationAddrs and DestinationPort all hold the
 * connection's addresses, an empty list holding nothing. Routes MOSN would never consult are warned about.
 */
function checkTcpProxy(c: TcpProxyDoc, path: string, clusters: ClusterNames, reporter: Reporter): void {
  const report = reporter.error;
  if (c.cluster) checkCluster(c.cluster, `${path}.cluster`, clusters, reporter);
  const routes = c.routes ?? [];
  if (!c.cluster && routes.length === 0) {
    report(
      c.routes !== undefined ? `${path}.routes` : c.cluster !== undefined ? `${path}.cluster` : path,
      "a tcp_proxy needs a cluster, or routes to pick one by address",
    );
  }
  routes.forEach((r, i) => {
    if (!r) return;
    const p = `${path}.routes[${i}]`;
    if (r.cluster !== undefined) checkCluster(r.cluster, `${p}.cluster`, clusters, reporter);
    for (const key of ["SourceAddrs", "DestinationAddrs"] as const) {
      r[key]?.forEach((range, j) => {
        if (range?.address === undefined || range.length === undefined) return;
        const parsed = parseCidr(range.address, range.length);
        if (typeof parsed === "string") {
          const at = parsed.startsWith("prefix length") ? "length" : "address";
          report(`${p}.${key}[${j}].${at}`, parsed);
        }
      });
    }
    for (const key of ["SourcePort", "DestinationPort"] as const) {
      const text = r[key];
      if (text === undefined) continue;
      const parsed = parsePortList(text);
      if (typeof parsed === "string") report(`${p}.${key}`, `invalid port list "${text}": ${parsed}`);
    }
  });
  if (c.cluster && routes.length > 0) {
    reporter.warn(
      `${path}.routes`,
      `routes are never consulted: every connection goes to cluster "${c.cluster}", as in MOSN (leave ` +
        "cluster out to pick the cluster by address)",
    );
    return;
  }
  routes.forEach((r, i) => {
    if (!r) return;
    const missing = (["SourceAddrs", "SourcePort", "DestinationAddrs", "DestinationPort"] as const).filter(
      (k) => r[k] === undefined || r[k]!.length === 0,
    );
    if (missing.length === 0) return;
    reporter.warn(
      `${path}.routes[${i}]`,
      `this route never matches: MOSN takes a route only when SourceAddrs, SourcePort, DestinationAddrs ` +
        `and DestinationPort all hold the connection's addresses and ports, and an empty one holds none ` +
        `(empty here: ${missing.join(", ")}; "0.0.0.0" with length 0 and "1-65535" take any)`,
    );
  });
}

/**
 * MOSN's `http2_use_stream` (flat in extend_config, or under its `Http2` key): true streams HTTP/2 bodies
 * (gRPC needs it), false buffers whole messages, MOSN's default. meshctl always streams, so the key is
 * accepted with either value and changes nothing; a value of another type is a mistake MOSN would
 * silently read as false.
 */
function checkHttp2UseStream(
  extend: Readonly<Record<string, unknown>> | undefined,
  path: string,
  report: Report,
): void {
  const check = (holder: unknown, at: string) => {
    if (typeof holder !== "object" || holder === null) return;
    const v = (holder as Record<string, unknown>).http2_use_stream;
    if (v !== undefined && typeof v !== "boolean") {
      report(`${at}.http2_use_stream`, `http2_use_stream must be true or false, not ${JSON.stringify(v)}`);
    }
  };
  check(extend, path);
  check(extend?.Http2, `${path}.Http2`);
}

/** A filter's problem at its config, or at the field under it that it names. */
function reportUnder(report: Report, at: string, p: FilterProblem): void {
  if (typeof p === "string") report(at, p);
  else report(`${at}.${p.path}`, p.message);
}

/** True when `type` is registered; otherwise reports "not supported yet" (MOSN has it) or "unknown". */
function checkFilterType(
  type: string,
  registered: readonly string[],
  mosn: Readonly<Record<string, string>>,
  what: string,
  path: string,
  report: Report,
): boolean {
  if (registered.includes(type)) return true;
  if (type in mosn) {
    const hint = mosn[type];
    report(path, `${what} "${type}" is not supported yet${hint ? ` (${hint})` : ""}`);
    return false;
  }
  const suggestion = didYouMean(type, registered);
  const known = registered.length > 0
    ? `expected one of ${registered.join(", ")}`
    : `no ${what}s are registered`;
  report(path, `unknown ${what} "${type}"; ${suggestion ? `did you mean "${suggestion}"?` : known}`);
  return false;
}
