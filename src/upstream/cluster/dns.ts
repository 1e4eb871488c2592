/**
 * Name resolution for STRICT_DNS clusters: the system resolver by default, or the name servers that
 * `dns_resolvers` lists or a resolv.conf names (`dns_resolver_file`/`dns_resolver_port`), as MOSN.
 */
import { lookup } from "node:dns/promises";
import type { DnsLookupFamily, DnsResolverConfig } from "../../config/mod.ts";

/** Resolves a host name to IP addresses; rejects with a short, stable reason when it cannot. */
export interface DnsResolver {
  resolve(name: string): Promise<string[]>;
}

/** The resolver a cluster's config asks for. */
export function newDnsResolver(config: DnsResolverConfig, family: DnsLookupFamily): DnsResolver {
  const type = family === "V6_ONLY" ? "AAAA" : "A";
  switch (config.kind) {
    case "system":
      return new SystemResolver(family === "V6_ONLY" ? 6 : 4);
    case "servers":
      return { resolve: (name) => askServers(name, config, type) };
    case "file":
      return new ResolvConfResolver(config.path, config.port, type);
  }
}

/**
 * True for an IPv4 or IPv6 literal: a host MOSN does not resolve. A validated address has a colon in
 * its host part only when it is IPv6 (`[v6]:port`).
 */
export function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/**
 * getaddrinfo(3) through `node:dns`. It is what `Deno.connect` itself uses to dial a name, so /etc/hosts,
 * nsswitch.conf and every resolv.conf option apply exactly as they do to a SIMPLE host given by name (and
 * as Go's resolver does when MOSN dials one). `Deno.resolveDns` reads /etc/hosts and resolv.conf itself
 * but not nsswitch.conf. Measured: ~15 ms for the first lookup, 0.1–0.5 ms after, nothing at a 5 s
 * refresh; it needs `--allow-net`, which the binary has (see README).
 */
class SystemResolver implements DnsResolver {
  readonly #family: 4 | 6;

  constructor(family: 4 | 6) {
    this.#family = family;
  }

  async resolve(name: string): Promise<string[]> {
    try {
      const found = await lookup(name, { all: true, family: this.#family });
      return found.map((a) => a.address);
    } catch (e) {
      const code = (e as { code?: string }).code;
      const record = this.#family === 6 ? "IPv6" : "IPv4";
      // getaddrinfo's message names the code only; say what it means.
      throw new Error(
        code === "ENOTFOUND" || code === "ENODATA"
          ? `the system resolver found no ${record} address`
          : `the system resolver failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}

/** The name servers of a resolv.conf, read at every resolution (so edits apply), at a given port. */
class ResolvConfResolver implements DnsResolver {
  readonly #path: string;
  readonly #port: number;
  readonly #type: "A" | "AAAA";

  constructor(path: string, port: number, type: "A" | "AAAA") {
    this.#path = path;
    this.#port = port;
    this.#type = type;
  }

  async resolve(name: string): Promise<string[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (e) {
      throw new Error(`cannot read ${this.#path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const conf = parseResolvConf(text);
    if (conf.servers.length === 0) throw new Error(`${this.#path} lists no nameserver`);
    return await askServers(name, { ...conf, port: this.#port }, this.#type);
  }
}

export interface NameServers {
  readonly servers: readonly string[];
  readonly port: number;
  readonly timeoutMs: number;
  readonly search: readonly string[];
  readonly ndots: number;
}

/**
 * MOSN's loop: each server in turn, each candidate name in turn, the first answer with addresses wins;
 * a server that times out is not asked the remaining names.
 */
async function askServers(name: string, ns: NameServers, type: "A" | "AAAA"): Promise<string[]> {
  let reason = "no name server to ask";
  for (const server of ns.servers) {
    const at = server.includes(":") ? `[${server}]:${ns.port}` : `${server}:${ns.port}`;
    for (const candidate of candidateNames(name, ns.search, ns.ndots)) {
      try {
        const found = await Deno.resolveDns(candidate, type, {
          nameServer: { ipAddr: server, port: ns.port },
          signal: AbortSignal.timeout(ns.timeoutMs),
        });
        if (found.length > 0) return found;
        reason = `no ${type} record from ${at}`;
      } catch (e) {
        if (isTimeout(e)) {
          reason = `${at} did not answer within ${ns.timeoutMs / 1000}s`;
          break;
        }
        // NotFound covers NXDOMAIN, SERVFAIL and an empty answer alike.
        reason = e instanceof Deno.errors.NotFound
          ? `no ${type} record from ${at}`
          : `${at}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }
  throw new Error(reason);
}

function isTimeout(e: unknown): boolean {
  return (e instanceof Error && e.name === "TimeoutError") || e instanceof Deno.errors.TimedOut;
}

/**
 * The names to ask for `name`, as MOSN's DNS client lists them: a name ending in "." as is; otherwise
 * the name first when it has at least `ndots` dots, then each search domain appended, the name last
 * when it has fewer.
 */
export function candidateNames(name: string, search: readonly string[], ndots: number): string[] {
  if (name.endsWith(".")) return [name];
  const dots = name.split(".").length - 1;
  const searched = search.map((s) => `${name}.${s.replace(/^\.|\.$/g, "")}`);
  return dots >= ndots ? [name, ...searched] : [...searched, name];
}

/**
 * The lines of a resolv.conf(5) MOSN's client reads: `nameserver`, `domain`/`search` (the last one
 * wins) and `options ndots:N timeout:N`, with resolv.conf's defaults (ndots 1, timeout 5 s).
 */
export function parseResolvConf(text: string): Omit<NameServers, "port"> {
  const servers: string[] = [];
  let search: string[] = [];
  let ndots = 1;
  let timeoutMs = 5000;
  for (const line of text.split("\n")) {
    const [key, ...args] = line.replace(/[#;].*/, "").trim().split(/\s+/);
    if (key === "nameserver" && args[0] !== undefined) servers.push(args[0]);
    else if (key === "domain" && args[0] !== undefined) search = [args[0]];
    else if (key === "search") search = args;
    else if (key === "options") {
      for (const opt of args) {
        const [k, v] = opt.split(":");
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) continue;
        if (k === "ndots") ndots = Math.min(n, 15);
        else if (k === "timeout") timeoutMs = Math.max(n, 1) * 1000;
      }
    }
  }
  return { servers, search, ndots, timeoutMs };
}
