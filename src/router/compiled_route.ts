import type { RequestHead } from "../codec/mod.ts";
import type {
  HashPolicyConfig,
  RedirectConfig,
  RetryPolicyConfig,
  RouteConfig,
  WeightedClusterConfig,
} from "../config/mod.ts";
import { HeaderMatcher } from "./_header_matcher.ts";
import { QueryMatcher } from "./_query_matcher.ts";
import { type HeaderEdits, HeaderOps } from "./_header_ops.ts";
import { compileRouteRegex } from "./_regex.ts";
import type { HeaderMap } from "../codec/mod.ts";
import { AUTO_PROTOCOL, type Re2, type Re2Template } from "../core/mod.ts";

/** Header that keeps the request path as it was before a prefix or regex rewrite (MOSN's name). */
export const ORIGINAL_PATH_HEADER = "x-mosn-original-path";

/** What a matched route does. */
export type RouteKind = "route" | "direct_response" | "redirect";

/** A direct response's status and body. */
export interface DirectResponse {
  readonly status: number;
  readonly body: string;
}

const PATH = 0;
const PREFIX = 1;
const REGEX = 2;
/** No path matcher: MOSN's RPC rule (`pkg/router/rpc_rule.go`), headers only. */
const ANY = 3;
/** `connect_matcher`: CONNECT requests only, which no other kind matches. */
const CONNECT = 4;

/** The header MOSN's RPC rule compares by value when it is a route's only matcher. */
export const RPC_SERVICE_HEADER = "service";
/** The service value that matches any service in that comparison. */
export const ANY_SERVICE = ".*";

/** A CONNECT tunnel request (extended CONNECT, RFC 8441, has a path and routes like any request). */
export function isConnect(head: RequestHead): boolean {
  return head.method === "CONNECT" && head.path === "" && head.kind === "http";
}

const REDIRECT_CODES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const SCHEME = /^[a-z][a-z0-9.+-]*$/;
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * One route of a virtual host, compiled once from its config: the match criteria (path, prefix or
 * regex plus header conditions), the action, and the header edits of route, virtual host and router
 * flattened into one list per direction.
 */
export class CompiledRoute {
  readonly kind: RouteKind;
  /** `cluster_name`; "" when only weighted clusters (or no route action) are configured. */
  readonly clusterName: string;
  readonly weightedClusters: readonly WeightedClusterConfig[];
  readonly timeoutMs: number;
  /** Envoy's route idle_timeout (replaces the proxy's stream idle timeout); undefined = the proxy's. */
  readonly idleTimeoutMs: number | undefined;
  readonly retryPolicy: RetryPolicyConfig | undefined;
  readonly hashPolicy: readonly HashPolicyConfig[];
  readonly upstreamProtocol: string | undefined;
  /** What a CONNECT routed here becomes: forwarded as a request, terminated (TCP relay), or refused. */
  readonly connect: "forward" | "terminate" | undefined;
  readonly directResponse: DirectResponse | undefined;
  /** The redirect rule, response code checked and scheme lowercased. */
  readonly redirect: RedirectConfig | undefined;

  readonly #pathKind: number;
  readonly #matchValue: string;
  readonly #matchRegex: Re2 | undefined;
  readonly #headers: HeaderMatcher;
  /** Envoy's query_parameters; undefined when the route has none (the common case costs nothing). */
  readonly #query: QueryMatcher | undefined;
  /** MOSN's RPC "fast match": the one `service` matcher's value, compared as a string; else undefined. */
  readonly #service: string | undefined;
  readonly #cumulativeWeights: Float64Array;
  readonly #totalWeight: number;
  readonly #prefixRewrite: string | undefined;
  readonly #regexRewrite: Re2 | undefined;
  readonly #substitution: Re2Template | undefined;
  readonly #hostRewrite: string | undefined;
  readonly #requestOps: HeaderOps;
  readonly #responseOps: HeaderOps;

  /**
   * @param config the route as configured
   * @param outer header edits of the enclosing levels, innermost first (virtual host, router)
   * @param where a description for error messages, e.g. `router "r1" virtual host "vh" route 2`
   */
  constructor(
    config: RouteConfig,
    outer: { request: HeaderEdits[]; response: HeaderEdits[] },
    where: string,
  ) {
    const m = config.match;
    if (m.connect) {
      this.#pathKind = CONNECT;
      this.#matchValue = "";
    } else if (m.path) {
      this.#pathKind = PATH;
      this.#matchValue = m.path;
    } else if (m.prefix) {
      this.#pathKind = PREFIX;
      this.#matchValue = m.prefix;
    } else if (m.regex) {
      this.#pathKind = REGEX;
      this.#matchValue = m.regex;
      this.#matchRegex = compileRouteRegex(m.regex, where);
    } else {
      this.#pathKind = ANY;
      this.#matchValue = "";
    }
    this.#headers = new HeaderMatcher(m.headers, where, { httpRule: this.#pathKind !== ANY });
    this.#query = m.queryParameters?.length ? new QueryMatcher(m.queryParameters, where) : undefined;
    const only = m.headers.length === 1 ? m.headers[0]! : undefined;
    this.#service = this.#pathKind === ANY && only?.name === RPC_SERVICE_HEADER && only.value !== "" &&
        this.#query === undefined
      ? only.value
      : undefined;

    const action = config.route;
    this.kind = config.directResponse ? "direct_response" : config.redirect ? "redirect" : "route";
    this.clusterName = action?.clusterName ?? "";
    this.weightedClusters = action?.weightedClusters ?? [];
    this.timeoutMs = action?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.idleTimeoutMs = action?.idleTimeoutMs;
    this.retryPolicy = action?.retryPolicy;
    this.hashPolicy = action?.hashPolicy ?? [];
    this.upstreamProtocol = action?.upstreamProtocol || undefined;
    this.connect = action?.connect;
    this.directResponse = config.directResponse
      ? Object.freeze({ status: config.directResponse.status, body: config.directResponse.body })
      : undefined;
    this.redirect = config.redirect ? checkRedirect(config.redirect, where) : undefined;

    this.#cumulativeWeights = new Float64Array(this.weightedClusters.length);
    let total = 0;
    this.weightedClusters.forEach((c, i) => {
      if (!(c.weight >= 0)) {
        throw new RangeError(`Cannot use weight ${c.weight} of cluster "${c.name}" in ${where}`);
      }
      total += c.weight;
      this.#cumulativeWeights[i] = total;
    });
    this.#totalWeight = total;

    this.#prefixRewrite = action?.prefixRewrite || undefined;
    if (this.#prefixRewrite === undefined && action?.regexRewrite?.pattern) {
      this.#regexRewrite = compileRouteRegex(action.regexRewrite.pattern, where, { submatches: true });
      this.#substitution = this.#regexRewrite.template(action.regexRewrite.substitution);
    }
    this.#hostRewrite = action?.hostRewrite || undefined;

    const own = {
      request: { add: action?.requestHeadersToAdd ?? [], remove: action?.requestHeadersToRemove ?? [] },
      response: { add: action?.responseHeadersToAdd ?? [], remove: action?.responseHeadersToRemove ?? [] },
    };
    this.#requestOps = new HeaderOps([own.request, ...outer.request]);
    this.#responseOps = new HeaderOps([own.response, ...outer.response]);
  }

  /**
   * True when the request matches: `path` exactly but ignoring case, `prefix` case-sensitively,
   * `regex` anywhere in the path (unanchored), then every header condition. A route without a path
   * matcher is MOSN's RPC rule, for any request: when its only matcher is `service` (and not empty) it
   * takes a request whose `service` header is present, not empty, and equal to the value, or any service
   * when the value is `.*`; the matcher's `regex` flag is not read (MOSN's "fast match"). Otherwise every
   * header condition must hold, `method` being a header there. Query parameter conditions (Envoy's
   * `query_parameters`) must hold too.
   */
  matches(head: RequestHead): boolean {
    // A CONNECT names an authority, not a path (RFC 9110 §9.3.6): only connect_matcher takes it.
    if ((this.#pathKind === CONNECT) !== isConnect(head)) return false;
    if (this.#service !== undefined) {
      const service = head.headers.get(RPC_SERVICE_HEADER);
      return service !== undefined && service !== "" &&
        (service === this.#service || this.#service === ANY_SERVICE);
    }
    switch (this.#pathKind) {
      case PATH:
        if (!equalFold(head.path, this.#matchValue)) return false;
        break;
      case PREFIX:
        if (!head.path.startsWith(this.#matchValue)) return false;
        break;
      case REGEX:
        if (!this.#matchRegex!.test(head.path)) return false;
        break;
    }
    if (this.#query !== undefined && !this.#query.matches(head.query)) return false;
    return this.#headers.size === 0 || this.#headers.matches(head);
  }

  /**
   * The protocol to speak to the upstream: the route's `upstream_protocol`, else the proxy's
   * (`proxyDefault`); `Auto`, or neither set, means the request's own protocol, as MOSN's
   * `getUpstreamProtocol`. The cluster's pool for the request is the one for this protocol.
   */
  upstreamProtocolFor(head: RequestHead, proxyDefault: string | undefined): string {
    const p = this.upstreamProtocol ?? proxyDefault;
    return p === undefined || p === AUTO_PROTOCOL ? head.protocol : p;
  }

  /**
   * The upstream cluster: `cluster_name`, or one of the weighted clusters picked in proportion to
   * its weight using `random()` in [0, 1).
   */
  pickCluster(random: () => number = Math.random): string {
    const cumulative = this.#cumulativeWeights;
    if (cumulative.length === 0 || this.#totalWeight <= 0) return this.clusterName;
    const point = random() * this.#totalWeight;
    for (let i = 0; i < cumulative.length; i++) {
      if (point < cumulative[i]!) return this.weightedClusters[i]!.name;
    }
    return this.weightedClusters[cumulative.length - 1]!.name;
  }

  /**
   * Applies `prefix_rewrite` (the matched prefix, or the whole path of a `path` route, is replaced),
   * else `regex_rewrite` (Go `ReplaceAllString`: every match of the pattern replaced by the substitution,
   * `$1`/`${name}` syntax), saving the old path in `x-mosn-original-path`; then `host_rewrite` (head.host and, when
   * present, the `host` header). Returns true when the path changed.
   */
  rewrite(head: RequestHead): boolean {
    const path = head.path;
    let rewritten: string | undefined;
    if (this.#prefixRewrite !== undefined) {
      if (this.#pathKind === PREFIX && path.startsWith(this.#matchValue)) {
        rewritten = this.#prefixRewrite + path.slice(this.#matchValue.length);
      } else if (this.#pathKind === PATH && equalFold(path, this.#matchValue)) {
        rewritten = this.#prefixRewrite;
      }
    } else if (this.#regexRewrite !== undefined) {
      const out = this.#regexRewrite.replaceAll(path, this.#substitution!);
      if (out !== path) rewritten = out;
    }
    if (rewritten !== undefined) {
      head.headers.set(ORIGINAL_PATH_HEADER, path);
      head.path = rewritten;
    }
    if (this.#hostRewrite !== undefined) {
      head.host = this.#hostRewrite;
      if (head.headers.has("host")) head.headers.set("host", this.#hostRewrite);
    }
    return rewritten !== undefined;
  }

  /** Route, then virtual host, then router `request_headers_to_add` / `_to_remove`. */
  applyRequestHeaders(headers: HeaderMap): void {
    if (this.#requestOps.size !== 0) this.#requestOps.apply(headers);
  }

  /** Route, then virtual host, then router `response_headers_to_add` / `_to_remove`. */
  applyResponseHeaders(headers: HeaderMap): void {
    if (this.#responseOps.size !== 0) this.#responseOps.apply(headers);
  }

  /**
   * The `Location` of a redirect route: configured scheme/host/path, else the request's, plus the
   * request's query. When the scheme changes, a port that is the other scheme's default is dropped.
   * @param scheme the scheme the request arrived with
   */
  redirectLocation(head: RequestHead, scheme = "http"): string {
    const r = this.redirect;
    const target = r?.schemeRedirect || scheme;
    let host = r?.hostRedirect || head.host;
    const path = r?.pathRedirect || head.path;
    if (target !== scheme) {
      const colon = host.lastIndexOf(":");
      const port = colon >= 0 && host.indexOf("]", colon) < 0 ? host.slice(colon + 1) : "";
      if ((target === "http" && port === "443") || (target === "https" && port === "80")) {
        host = host.slice(0, colon);
      }
    }
    const slash = path === "" || path.charCodeAt(0) === 0x2f ? "" : "/";
    return `${target}://${host}${slash}${path}${head.query}`;
  }
}

function checkRedirect(r: RedirectConfig, where: string): RedirectConfig {
  const responseCode = r.responseCode || 301;
  if (!REDIRECT_CODES.has(responseCode)) {
    throw new RangeError(
      `Cannot redirect with response code ${responseCode} in ${where}: use 301, 302, 303, 307 or 308`,
    );
  }
  const schemeRedirect = r.schemeRedirect?.toLowerCase() || undefined;
  if (schemeRedirect !== undefined && !SCHEME.test(schemeRedirect)) {
    throw new RangeError(`Cannot redirect to scheme "${r.schemeRedirect}" in ${where}`);
  }
  const out: { -readonly [K in keyof RedirectConfig]: RedirectConfig[K] } = { responseCode };
  if (r.pathRedirect) out.pathRedirect = r.pathRedirect;
  if (r.hostRedirect) out.hostRedirect = r.hostRedirect;
  if (schemeRedirect !== undefined) out.schemeRedirect = schemeRedirect;
  return Object.freeze(out);
}

/** ASCII case-insensitive equality without allocating; falls back to toLowerCase beyond ASCII. */
function equalFold(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x > 0x7f || y > 0x7f) return a.toLowerCase() === b.toLowerCase();
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}
