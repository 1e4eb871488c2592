import type { RequestHead } from "../codec/mod.ts";
import type { PeerIdentity } from "../tls/mod.ts";

/** How X-Forwarded-For / -Proto are treated (Envoy's HTTP connection manager semantics). */
export interface ForwardingPolicy {
  /**
   * Envoy's `use_remote_address`: the connection's peer is the client. Its address is appended to
   * X-Forwarded-For and X-Forwarded-Proto is set from the connection (a client cannot claim "https").
   * When false, meshctl sits behind a trusted proxy: X-Forwarded-For passes through untouched and
   * X-Forwarded-Proto is only filled in when missing.
   */
  readonly useRemoteAddress: boolean;
  /**
   * Envoy's `xff_num_trusted_hops`: trusted proxies in front of meshctl. With `useRemoteAddress` and at
   * least one trusted hop, the X-Forwarded-Proto those proxies set is kept.
   */
  readonly xffNumTrustedHops: number;
}

/** The sidecar default: nothing in front of meshctl is trusted. */
export const DEFAULT_FORWARDING: ForwardingPolicy = { useRemoteAddress: true, xffNumTrustedHops: 0 };

/**
 * Sets X-Forwarded-For/-Proto on an HTTP request for the upstream. Hop-by-hop headers are already gone:
 * codecs drop them when they decode a head (see codec/types.ts `RequestHead`).
 */
export function prepareHttpRequest(
  head: RequestHead,
  remoteIp: string,
  scheme: "http" | "https",
  policy: ForwardingPolicy,
): void {
  const h = head.headers;
  if (policy.useRemoteAddress) {
    const xff = h.get("x-forwarded-for");
    h.set("x-forwarded-for", xff === undefined ? remoteIp : `${xff}, ${remoteIp}`);
    if (policy.xffNumTrustedHops === 0 || !h.has("x-forwarded-proto")) h.set("x-forwarded-proto", scheme);
  } else if (!h.has("x-forwarded-proto")) {
    h.set("x-forwarded-proto", scheme);
  }
}

/** Envoy's header for the client certificate a TLS listener verified. */
export const XFCC_HEADER = "x-forwarded-client-cert";

/**
 * A verified client certificate as one element of Envoy's `x-forwarded-client-cert`
 * (`forward_client_cert_details: SANITIZE_SET` with subject, URI and DNS): `Hash=<sha256 hex>;
 * Subject="<RFC 2253>";URI=<first URI SAN>;DNS=<each DNS SAN>`. Values with `,;="` or spaces are quoted.
 */
export function clientCertDetails(peer: PeerIdentity): string {
  let s = `Hash=${peer.sha256};Subject="${escapeQuoted(peer.subject)}"`;
  if (peer.uriSans.length > 0) s += `;URI=${xfccValue(peer.uriSans[0]!)}`;
  for (const dns of peer.dnsSans) s += `;DNS=${xfccValue(dns)}`;
  return s;
}

function escapeQuoted(v: string): string {
  return v.replace(/["\\]/g, (c) => `\\${c}`);
}

function xfccValue(v: string): string {
  return /[,;=" ]/.test(v) ? `"${escapeQuoted(v)}"` : v;
}

/**
 * On TLS listeners: drops a client-supplied `x-forwarded-client-cert` and sets the verified certificate's,
 * before routing, so route header matchers can select on the identity and the upstream sees it.
 */
export function setClientCertHeader(head: RequestHead, details: string | undefined): void {
  head.headers.delete(XFCC_HEADER);
  if (details !== undefined) head.headers.set(XFCC_HEADER, details);
}

/** What applyEnvoyRequestBehaviour needs (ProxyContext.envoyHttp). */
export interface EnvoyRequestBehaviour {
  readonly normalizePath: boolean;
  readonly generateRequestId: boolean;
}

/**
 * Envoy's HCM request behaviours: `normalize_path` (see normalizePath) and `generate_request_id` (an
 * x-request-id UUID v4 when the request has none). False: the path cannot be normalized (→ 400).
 */
export function applyEnvoyRequestBehaviour(head: RequestHead, b: EnvoyRequestBehaviour): boolean {
  if (b.normalizePath) {
    const path = normalizePath(head.path);
    if (path === undefined) return false;
    head.path = path;
  }
  if (b.generateRequestId && !head.headers.has("x-request-id")) {
    head.headers.set("x-request-id", crypto.randomUUID());
  }
  return true;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Envoy's `normalize_path` (its Chromium-derived canonicalizer, for what changes routing): `\` is `/`,
 * %-escapes of unreserved characters are decoded (so `%2e` is a dot), then RFC 3986 §5.2.4 dot segments
 * are removed (`/a/./b/../c` → `/a/c`, never above the root). Other escapes and repeated slashes stay.
 * A path that does not start with `/` (`*`, an authority) is returned unchanged; undefined for a
 * malformed %-escape, which Envoy refuses (400).
 */
export function normalizePath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 0x2f && path.charCodeAt(0) !== 0x5c) return path;
  if (!/[.%\\]/.test(path)) return path;
  let p = path.replaceAll("\\", "/");
  if (p.includes("%")) {
    let out = "";
    for (let i = 0; i < p.length; i++) {
      const c = p[i]!;
      if (c !== "%") {
        out += c;
        continue;
      }
      const hex = p.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      const ch = String.fromCharCode(parseInt(hex, 16));
      out += UNRESERVED.test(ch) ? ch : `%${hex}`;
      i += 2;
    }
    p = out;
  }
  const segments = p.split("/");
  const kept: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === "." || s === "..") {
      if (s === "..") kept.pop();
      if (last) kept.push(""); // "/a/.." is "/", "/a/." is "/a/"
      continue;
    }
    kept.push(s);
  }
  return `/${kept.join("/")}`;
}
