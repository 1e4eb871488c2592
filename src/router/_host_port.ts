/**
 * Splits `host:port` the way Go's `net.SplitHostPort` does, but treats a missing port as "" instead of
 * an error. Brackets around an IPv6 literal are removed; a bare IPv6 address (several colons) is all host.
 */
export function splitHostPort(hostPort: string): [host: string, port: string] {
  if (hostPort.charCodeAt(0) === 0x5b /* [ */) {
    const end = hostPort.indexOf("]");
    if (end < 0) return [hostPort, ""];
    const host = hostPort.slice(1, end);
    return hostPort.charCodeAt(end + 1) === 0x3a /* : */ ? [host, hostPort.slice(end + 2)] : [host, ""];
  }
  const colon = hostPort.lastIndexOf(":");
  if (colon < 0 || hostPort.indexOf(":") !== colon) return [hostPort, ""];
  return [hostPort.slice(0, colon), hostPort.slice(colon + 1)];
}
