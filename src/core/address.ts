/** A parsed host:port. `hostname` keeps IPv6 brackets off. */
export interface SocketAddress {
  readonly hostname: string;
  readonly port: number;
}

/**
 * Parses "host:port", "[v6]:port" or a MOSN `tcp://host:port` address.
 * Returns undefined when it is not one.
 */
export function parseAddress(text: string): SocketAddress | undefined {
  let s = text.trim();
  const scheme = s.indexOf("://");
  if (scheme >= 0) {
    if (s.slice(0, scheme) !== "tcp") return undefined;
    s = s.slice(scheme + 3);
  }
  let hostname: string;
  let portText: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0 || s[close + 1] !== ":") return undefined;
    hostname = s.slice(1, close);
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(":");
    if (colon <= 0) return undefined;
    hostname = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (hostname.includes(":")) return undefined;
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535) return undefined;
  if (hostname.length === 0 || /[\s/]/.test(hostname)) return undefined;
  return { hostname, port };
}

export function formatAddress(a: SocketAddress): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}
