import { cidrContains, type CidrRange, parseCidr, parseIp } from "../core/mod.ts";
import type { CidrRangeConfig, PortRangeConfig, TcpProxyFilterConfig } from "../config/mod.ts";

/** The two ends of a downstream connection, as the socket reports them. */
export interface ConnectionEnds {
  readonly remote: { readonly hostname: string; readonly port: number };
  readonly local: { readonly hostname: string; readonly port: number };
}

interface CompiledTcpRoute {
  readonly cluster: string;
  readonly sourceAddrs: readonly CidrRange[];
  readonly sourcePorts: readonly PortRangeConfig[];
  readonly destinationAddrs: readonly CidrRange[];
  readonly destinationPorts: readonly PortRangeConfig[];
}

/**
 * Which cluster a tcp_proxy connection goes to, exactly as MOSN's stream proxy picks it
 * (`GetRouteFromEntries`): `cluster` when it is set, for every connection; else the first route whose
 * SourceAddrs and SourcePort hold the client's address and port and whose DestinationAddrs and
 * DestinationPort hold the address and port the client connected to. An empty list holds nothing, and
 * port 0 is in no list. Undefined when no route matches (MOSN closes the connection: no route).
 */
export class TcpRouteTable {
  readonly #cluster: string | undefined;
  readonly #routes: readonly CompiledTcpRoute[];

  /** Throws RangeError ("Cannot …") for a range validation would have refused. */
  constructor(config: Pick<TcpProxyFilterConfig, "cluster" | "routes">) {
    this.#cluster = config.cluster;
    this.#routes = config.routes.map((r) => ({
      cluster: r.cluster,
      sourceAddrs: r.sourceAddrs.map(compileRange),
      sourcePorts: r.sourcePorts,
      destinationAddrs: r.destinationAddrs.map(compileRange),
      destinationPorts: r.destinationPorts,
    }));
  }

  /** The cluster for a connection, or undefined when nothing takes it. */
  clusterFor(ends: ConnectionEnds): string | undefined {
    if (this.#cluster !== undefined) return this.#cluster;
    if (this.#routes.length === 0) return undefined;
    const remote = parseIp(ends.remote.hostname);
    const local = parseIp(ends.local.hostname);
    if (remote === undefined || local === undefined) return undefined;
    for (const r of this.#routes) {
      if (
        inAny(r.sourceAddrs, remote) && inPorts(r.sourcePorts, ends.remote.port) &&
        inAny(r.destinationAddrs, local) && inPorts(r.destinationPorts, ends.local.port)
      ) return r.cluster;
    }
    return undefined;
  }
}

function compileRange(c: CidrRangeConfig): CidrRange {
  const r = parseCidr(c.address, c.length);
  if (typeof r === "string") {
    throw new RangeError(`Cannot use tcp_proxy range ${c.address}/${c.length}: ${r}`);
  }
  return r;
}

function inAny(ranges: readonly CidrRange[], ip: Uint8Array): boolean {
  for (const r of ranges) if (cidrContains(r, ip)) return true;
  return false;
}

function inPorts(ranges: readonly PortRangeConfig[], port: number): boolean {
  if (port === 0) return false;
  for (const r of ranges) if (port >= r.min && port <= r.max) return true;
  return false;
}
