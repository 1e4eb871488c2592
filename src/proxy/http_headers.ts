import type { HeaderMap, RequestHead } from "../codec/mod.ts";

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) the proxy removes. Framing headers (Connection, Keep-Alive,
 * Transfer-Encoding) are not listed: every codec owns its framing and drops them when it encodes
 * (see codec/types.ts), so deleting them here would be work done twice on every request.
 */
const HOP_BY_HOP = ["te", "trailer", "proxy-connection", "upgrade"];

/**
 * Removes hop-by-hop headers, plus those the Connection header names. On an Upgrade (WebSocket) the
 * `Upgrade` header must survive (the codec re-adds `Connection: upgrade`), or the handshake fails.
 */
export function stripHopByHop(headers: HeaderMap, keepUpgrade: boolean): void {
  const connection = headers.get("connection");
  if (connection !== undefined && connection.length > 10) { // longer than "keep-alive": may name headers
    for (const token of connection.split(",")) {
      const name = token.trim().toLowerCase();
      if (name.length > 0 && name !== "upgrade" && name !== "close" && name !== "keep-alive") {
        headers.delete(name);
      }
    }
  }
  for (let i = 0; i < HOP_BY_HOP.length; i++) {
    const name = HOP_BY_HOP[i]!;
    if (keepUpgrade && name === "upgrade") continue;
    if (headers.has(name)) headers.delete(name);
  }
}

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

/** Prepares an HTTP request for the upstream: hop-by-hop removal and X-Forwarded-For/-Proto. */
export function prepareHttpRequest(
  head: RequestHead,
  remoteIp: string,
  scheme: "http" | "https",
  policy: ForwardingPolicy,
): void {
  const h = head.headers;
  stripHopByHop(h, h.has("upgrade"));
  if (policy.useRemoteAddress) {
    const xff = h.get("x-forwarded-for");
    h.set("x-forwarded-for", xff === undefined ? remoteIp : `${xff}, ${remoteIp}`);
    if (policy.xffNumTrustedHops === 0 || !h.has("x-forwarded-proto")) h.set("x-forwarded-proto", scheme);
  } else if (!h.has("x-forwarded-proto")) {
    h.set("x-forwarded-proto", scheme);
  }
}
