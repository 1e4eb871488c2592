/**
 * The little URL handling the in-memory backend and the API need until `url.ts` (the ZooKeeper backend's
 * Java-compatible codec) lands: Java `URLEncoder` encoding of node names, and reading a provider URL.
 * @module
 */
import type { ProviderInstance } from "./types.ts";

/** Java's `URLEncoder.encode(s, "UTF-8")`: space → `+`, `*-._` and alphanumerics kept, the rest %XX. */
export function javaUrlEncode(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/** Java's `URLDecoder.decode`: `+` is a space. */
export function javaUrlDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

/** Dubbo's and SOFA's default provider weight. */
export const DEFAULT_WEIGHT = 100;

/** A provider URL (`dubbo://host:port/path?query`) as a ProviderInstance; undefined when unreadable. */
export function providerOf(url: string): ProviderInstance | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(\[[^\]]+\]|[^/:?]+):(\d{1,5})(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const params = new Map<string, string>();
  for (const pair of (m[5] ?? "").split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const [k, v] = eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
    try {
      params.set(javaUrlDecode(k), javaUrlDecode(v));
    } catch {
      return undefined;
    }
  }
  const w = Number(params.get("weight"));
  const weight = Number.isInteger(w) && w > 0 ? w : DEFAULT_WEIGHT;
  return { host: m[2]!.replace(/^\[|\]$/g, ""), port, weight, url, params };
}
