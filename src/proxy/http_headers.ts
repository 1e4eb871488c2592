import type { HeaderMap, RequestHead } from "../codec/mod.ts";

/** Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/**
 * Removes hop-by-hop headers, plus those the Connection header names. On an Upgrade (WebSocket) the
 * `Upgrade` and `Connection: upgrade` pair must survive, or the handshake cannot complete.
 */
export function stripHopByHop(headers: HeaderMap, keepUpgrade: boolean): void {
  const connection = headers.get("connection");
  if (connection !== undefined) {
    for (const token of connection.split(",")) {
      const name = token.trim().toLowerCase();
      if (name.length > 0 && name !== "upgrade" && name !== "close" && name !== "keep-alive") headers.delete(name);
    }
  }
  const upgrade = keepUpgrade ? headers.get("upgrade") : undefined;
  for (let i = 0; i < HOP_BY_HOP.length; i++) {
    if (headers.has(HOP_BY_HOP[i]!)) headers.delete(HOP_BY_HOP[i]!);
  }
  if (upgrade !== undefined) {
    headers.set("upgrade", upgrade);
    headers.set("connection", "upgrade");
  }
}

/** Prepares an HTTP request for the upstream: hop-by-hop removal and X-Forwarded-For/-Proto. */
export function prepareHttpRequest(head: RequestHead, remoteIp: string): void {
  const h = head.headers;
  const upgrading = h.has("upgrade");
  // Keep the body framing the codec needs to know: chunked stays chunked upstream (re-framed by the codec).
  stripHopByHop(h, upgrading);
  const xff = h.get("x-forwarded-for");
  h.set("x-forwarded-for", xff === undefined ? remoteIp : `${xff}, ${remoteIp}`);
  if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", "http");
}
