import { splitHostPort } from "./_host_port.ts";

/** Wildcard suffixes of one port: one map, probed by distinct suffix length, longest first. */
interface SuffixSet<T> {
  readonly bySuffix: Map<string, T>;
  lengths: number[];
}

/**
 * Finds the virtual host for a request's host, with MOSN's priorities:
 * exact `host:port` > exact `host` (any port) > `*suffix:port` (longest suffix first) >
 * `*suffix` (any port, longest first) > the default `*`.
 *
 * A domain without a port, or with port `*`, matches every port. `*.example.com` matches
 * `a.example.com` but not `example.com`; `*:8080` matches any host on port 8080. Lookups are map
 * probes, one per distinct wildcard suffix length; no per-request scan of the domains.
 */
export class VirtualHostIndex<T> {
  /** Key: canonical `host:port` (`[v6]:port`). */
  readonly #exactWithPort = new Map<string, T>();
  readonly #exactAnyPort = new Map<string, T>();
  readonly #wildcardWithPort = new Map<string, SuffixSet<T>>();
  readonly #wildcardAnyPort: SuffixSet<T> = { bySuffix: new Map(), lengths: [] };
  #default: T | undefined;
  #onlyDefault = true;

  /** Adds a domain; throws RangeError for a malformed or repeated domain. */
  add(domain: string, value: T, where: string): void {
    const lower = domain.toLowerCase();
    const [host, rawPort] = splitHostPort(lower);
    const port = rawPort === "*" ? "" : rawPort;
    if (host === "") throw new RangeError(`Cannot use domain "${domain}" in ${where}: the host is empty`);
    const star = host.indexOf("*");
    if (host === "*" && port === "") {
      if (this.#default !== undefined) throw duplicate(domain, where);
      this.#default = value;
      return;
    }
    this.#onlyDefault = false;
    if (star < 0) {
      if (port === "") {
        if (this.#exactAnyPort.has(host)) throw duplicate(domain, where);
        this.#exactAnyPort.set(host, value);
      } else {
        const key = canonical(host, port);
        if (this.#exactWithPort.has(key)) throw duplicate(domain, where);
        this.#exactWithPort.set(key, value);
      }
      return;
    }
    if (star !== 0 || host.indexOf("*", 1) >= 0) {
      throw new RangeError(`Cannot use domain "${domain}" in ${where}: "*" may only start the host`);
    }
    const suffix = host.slice(1);
    let set = this.#wildcardAnyPort;
    if (port !== "") {
      set = this.#wildcardWithPort.get(port) ?? { bySuffix: new Map(), lengths: [] };
      this.#wildcardWithPort.set(port, set);
    }
    if (set.bySuffix.has(suffix)) throw duplicate(domain, where);
    set.bySuffix.set(suffix, value);
    if (!set.lengths.includes(suffix.length)) {
      set.lengths = [...set.lengths, suffix.length].sort((a, b) => b - a);
    }
  }

  /** The entry for a request host (lowercase, optional port); an empty host gets the default. */
  find(hostPort: string): T | undefined {
    if (this.#onlyDefault || hostPort === "") return this.#default;
    let host = hostPort;
    let port = "";
    const colon = hostPort.indexOf(":");
    if (colon >= 0 || hostPort.charCodeAt(0) === 0x5b) {
      [host, port] = splitHostPort(hostPort);
    }
    if (port !== "") {
      const hit = this.#exactWithPort.get(
        colon >= 0 && hostPort.lastIndexOf(":") === colon ? hostPort : canonical(host, port),
      );
      if (hit !== undefined) return hit;
    }
    const exact = this.#exactAnyPort.get(host);
    if (exact !== undefined) return exact;
    if (port !== "") {
      const set = this.#wildcardWithPort.get(port);
      if (set !== undefined) {
        const hit = findSuffix(set, host);
        if (hit !== undefined) return hit;
      }
    }
    return findSuffix(this.#wildcardAnyPort, host) ?? this.#default;
  }
}

function findSuffix<T>(set: SuffixSet<T>, host: string): T | undefined {
  const lengths = set.lengths;
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i]!;
    if (len >= host.length) continue;
    const hit = set.bySuffix.get(len === 0 ? "" : host.slice(host.length - len));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function canonical(host: string, port: string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function duplicate(domain: string, where: string): RangeError {
  return new RangeError(`Cannot use domain "${domain}" twice in ${where}`);
}
