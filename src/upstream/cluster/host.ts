import type { LbHost } from "../lb/mod.ts";
import type { ConnectionPool } from "../pool/types.ts";
import type { Counter, Gauge, Scope } from "../../stats/mod.ts";

/** Per-host counters (MOSN's upstream stats with cluster and host labels). */
export interface HostStats {
  readonly requestTotal: Counter;
  readonly requestActive: Gauge;
  readonly connectionTotal: Counter;
  readonly connectionActive: Gauge;
  readonly connectionConFail: Counter;
  readonly responseSuccess: Counter;
  readonly responseFailed: Counter;
}

export function hostStats(scope: Scope): HostStats {
  return {
    requestTotal: scope.counter("request_total"),
    requestActive: scope.gauge("request_active"),
    connectionTotal: scope.counter("connection_total"),
    connectionActive: scope.gauge("connection_active"),
    connectionConFail: scope.counter("connection_con_fail"),
    responseSuccess: scope.counter("response_success"),
    responseFailed: scope.counter("response_failed"),
  };
}

/** An upstream endpoint: what the load balancer picks, plus its pools per protocol. */
export class Host implements LbHost {
  readonly address: string;
  readonly hostname: string;
  readonly port: number;
  readonly weight: number;
  /** The name configured for it (a STRICT_DNS name before resolution): SNI when TLS has no server_name. */
  readonly name: string;
  /** MOSN `tls_disable`: plaintext to this host even when its cluster has a TLS context. */
  readonly tlsDisable: boolean;
  healthy = true;
  activeRequests = 0;
  readonly stats: HostStats;
  readonly pools = new Map<string, ConnectionPool>();

  constructor(
    hostname: string,
    port: number,
    weight: number,
    stats: HostStats,
    options: { name?: string; tlsDisable?: boolean } = {},
  ) {
    this.hostname = hostname;
    this.port = port;
    this.weight = weight;
    this.name = options.name ?? hostname;
    this.tlsDisable = options.tlsDisable ?? false;
    this.address = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    this.stats = stats;
  }

  closePools(): void {
    for (const p of this.pools.values()) p.drain();
  }
}
