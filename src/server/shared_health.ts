/**
 * Host health shared across the workers of `--concurrency N` (N ≥ 2), Envoy's model: active health checks
 * and outlier ejection decisions run once per process, on the main thread; workers count their own
 * traffic and report outliers as events (never per request); every host health change is broadcast to
 * every worker, which applies it to its own hosts so that its load balancers exclude the same hosts at the
 * same time. With N = 1 none of this exists: each cluster decides for itself, in-process.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import type { StatsRegistry } from "../stats/mod.ts";
import {
  ClusterManager,
  type EjectionType,
  HealthStore,
  type HostHealthUpdate,
  type IntervalCounts,
} from "../upstream/mod.ts";

/**
 * The main thread's health authority. It builds the current snapshot's clusters as a worker does, but
 * only for their health: the same `Cluster` code runs the active checkers (hosts from the snapshot;
 * STRICT_DNS names resolved here too, on the cluster's own refresh timer) and the outlier detectors (fed
 * by the workers' reports; their sweeps uneject and lower multipliers). These clusters never carry a
 * request, so they open no upstream connection except the probes. Their stats (each host's health and
 * why, health_check and outlier_detection counters) are in the main registry: once per process.
 */
export class MainThreadHealth {
  readonly store: HealthStore;
  readonly #registry: StatsRegistry;
  readonly #logger: Logger;
  readonly #broadcast: (updates: readonly HostHealthUpdate[]) => void;
  #clusters: ClusterManager | undefined;
  /** Changes made in one turn of the event loop go out as one message per worker. */
  #pending: HostHealthUpdate[] = [];
  #stopped = false;
  /** Reports for a cluster or host this thread does not have (a DNS answer not seen here yet). */
  unknownReports = 0;

  constructor(
    registry: StatsRegistry,
    logger: Logger,
    broadcast: (updates: readonly HostHealthUpdate[]) => void,
  ) {
    this.#registry = registry;
    this.#logger = logger;
    this.#broadcast = broadcast;
    this.store = new HealthStore({ kind: "authority", onChange: (u) => this.#queue(u) });
  }

  /**
   * Runs `snapshot`'s clusters: the new ones acquire their hosts' health before the old ones release it,
   * so hosts that stay keep their state (as a reload in-process). A snapshot whose clusters cannot be
   * built here (the workers built them) keeps the previous ones, logged.
   */
  apply(snapshot: ConfigSnapshot): void {
    if (this.#stopped) return;
    let next: ClusterManager;
    try {
      next = new ClusterManager(snapshot.clusters, this.#registry, this.#logger, undefined, this.store);
    } catch (e) {
      this.#logger.error("cannot run health checks for the new config; keeping the previous", {
        error: String(e),
      });
      return;
    }
    const old = this.#clusters;
    this.#clusters = next;
    old?.close();
  }

  /** A worker's outlier detection found `address` of `cluster` over a threshold: decide and broadcast. */
  outlierDetected(cluster: string, address: string, type: EjectionType): void {
    if (this.#clusters?.get(cluster)?.onOutlierDetectedElsewhere(address, type) === true) return;
    this.unknownReports++;
    this.#logger.debug("outlier report for a host this thread does not run", {
      cluster,
      host: address,
      type,
    });
  }

  /** A worker's results of its last outlier-detection interval: judged with everyone's at the next sweep. */
  outlierInterval(cluster: string, counts: readonly IntervalCounts[]): void {
    const c = this.#clusters?.get(cluster);
    this.unknownReports += c === undefined ? counts.length : c.addOutlierIntervalCounts(counts);
  }

  stop(): void {
    this.#stopped = true;
    this.#clusters?.close();
    this.#clusters = undefined;
    this.#pending = [];
  }

  #queue(u: HostHealthUpdate): void {
    if (this.#stopped) return;
    if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
    this.#pending.push(u);
  }

  #flush(): void {
    const updates = this.#pending;
    this.#pending = [];
    if (updates.length > 0 && !this.#stopped) this.#broadcast(updates);
  }
}

/**
 * A worker's health store: flags come from the main thread (`applyRemote`); outlier detections (one
 * message per detection) and each interval's results (one message per cluster per interval) go to it,
 * never a message per request.
 */
export function followerHealthStore(report: {
  outlier: (cluster: string, address: string, type: EjectionType) => void;
  interval: (cluster: string, counts: readonly IntervalCounts[]) => void;
}): HealthStore {
  return new HealthStore({
    kind: "follower",
    reportOutlier: report.outlier,
    reportInterval: report.interval,
  });
}
