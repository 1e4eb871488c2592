import type { HeaderMap } from "../types.ts";

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) an HTTP/1 head loses when it is decoded, so every head the proxy
 * sees carries end-to-end fields only, whatever protocol the other side speaks. Connection, Keep-Alive and
 * Transfer-Encoding are not listed: the codec reads them for its own framing and never re-encodes them.
 * `TE: trailers` alone survives: it is the one TE an HTTP/2 upstream may receive (gRPC needs it).
 */
const HOP_BY_HOP = ["trailer", "proxy-connection", "upgrade"];

/**
 * Removes hop-by-hop headers and those the Connection header names. On an Upgrade (WebSocket) the
 * `Upgrade` header survives (the codec re-adds `Connection: upgrade`), or the handshake fails.
 */
export function stripHopByHop(headers: HeaderMap, keepUpgrade: boolean): void {
  const connection = headers.get("connection");
  if (connection !== undefined && !isPlainConnection(connection)) {
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
  const te = headers.get("te");
  if (te !== undefined && te.trim().toLowerCase() !== "trailers") headers.delete("te");
}

/** "close" or "keep-alive" alone (the common case) name no other header: skip the split. */
function isPlainConnection(v: string): boolean {
  if (v.length !== 5 && v.length !== 10) return false;
  const l = v.toLowerCase();
  return l === "close" || l === "keep-alive";
}
