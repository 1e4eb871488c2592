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

/** Prepares an HTTP request for the upstream: hop-by-hop removal and X-Forwarded-For/-Proto. */
export function prepareHttpRequest(head: RequestHead, remoteIp: string): void {
  const h = head.headers;
  stripHopByHop(h, h.has("upgrade"));
  const xff = h.get("x-forwarded-for");
  h.set("x-forwarded-for", xff === undefined ? remoteIp : `${xff}, ${remoteIp}`);
  if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", "http");
}
