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
  healthy = true;
  activeRequests = 0;
  readonly stats: HostStats;
  readonly pools = new Map<string, ConnectionPool>();

  constructor(hostname: string, port: number, weight: number, stats: HostStats) {
    this.hostname = hostname;
    this.port = port;
    this.weight = weight;
    this.address = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    this.stats = stats;
  }

  closePools(): void {
    for (const p of this.pools.values()) p.drain();
  }
}
