import type { RequestHead } from "../codec/mod.ts";

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
