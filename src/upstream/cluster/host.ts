import type { LbHost } from "../lb/mod.ts";
import type { ConnectionPool } from "../pool/types.ts";
import type { Counter, Gauge, Scope } from "../../stats/mod.ts";
import {
  ClusterHealth,
  type HostHealth,
  type LocalOriginFailure,
  type OutlierDetector,
} from "../health/mod.ts";

/** Per-host counters (MOSN's upstream stats with cluster and host labels). */
export interface HostStats {
  readonly requestTotal: Counter;
  readonly requestActive: Gauge;
  readonly connectionTotal: Counter;
  readonly connectionActive: Gauge;
  readonly connectionConFail: Counter;
  readonly responseSuccess: Counter;
  readonly responseFailed: Counter;
  /** 1 while the load balancers may pick it. */
  readonly healthy: Gauge;
  /** 1 while out because active health checks failed (Envoy's FAILED_ACTIVE_HC). */
  readonly unhealthyActiveHc: Gauge;
  /** 1 while ejected by outlier detection (Envoy's FAILED_OUTLIER_CHECK). */
  readonly unhealthyOutlier: Gauge;
  readonly outlierEjections: Counter;
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
    healthy: scope.gauge("healthy"),
    unhealthyActiveHc: scope.gauge("unhealthy_active_hc"),
    unhealthyOutlier: scope.gauge("unhealthy_outlier"),
    outlierEjections: scope.counter("outlier_ejections_total"),
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
  /** Envoy's EDS priority (0 highest). */
  readonly priority: number;
  /** Shared with this address's Host in other snapshots of the cluster (see `HealthStore`). */
  readonly health: HostHealth;
  readonly #outlier: OutlierDetector | undefined;
  /** false in a worker of `--concurrency N`: the main thread publishes each host's health gauges once. */
  readonly #publishHealth: boolean;
  activeRequests = 0;
  readonly stats: HostStats;
  readonly pools = new Map<string, ConnectionPool>();

  constructor(
    hostname: string,
    port: number,
    weight: number,
    stats: HostStats,
    options: {
      name?: string;
      tlsDisable?: boolean;
      priority?: number;
      health?: HostHealth;
      outlier?: OutlierDetector;
      publishHealth?: boolean;
    } = {},
  ) {
    this.hostname = hostname;
    this.port = port;
    this.weight = weight;
    this.name = options.name ?? hostname;
    this.tlsDisable = options.tlsDisable ?? false;
    this.address = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    this.stats = stats;
    this.priority = options.priority ?? 0;
    this.health = options.health ?? new ClusterHealth().acquire(this.address);
    this.#outlier = options.outlier;
    this.#publishHealth = options.publishHealth ?? true;
    this.updateHealthStats();
  }

  /** Not failing active checks and not ejected: the load balancers may pick it (outside panic). */
  get healthy(): boolean {
    return this.health.healthy;
  }

  /**
   * The proxy's report of an attempt that got a response head: its status (RPC statuses mapped to
   * HTTP-like ones). Feeds outlier detection; O(1) and allocation-free.
   */
  reportResponse(status: number): void {
    const o = this.#outlier;
    if (o === undefined) return;
    o.onLocalOriginSuccess(this.health);
    o.onResponse(this.health, status);
  }

  /** The proxy's report of an attempt that failed on meshctl's side: connect failure, timeout, reset. */
  reportLocalFailure(kind: LocalOriginFailure): void {
    this.#outlier?.onLocalOriginFailure(this.health, kind);
  }

  updateHealthStats(): void {
    if (!this.#publishHealth) return;
    const h = this.health;
    this.stats.healthy.set(h.healthy ? 1 : 0);
    this.stats.unhealthyActiveHc.set(h.failedActiveHc ? 1 : 0);
    this.stats.unhealthyOutlier.set(h.ejected ? 1 : 0);
  }

  closePools(): void {
    for (const p of this.pools.values()) p.drain();
  }
}
