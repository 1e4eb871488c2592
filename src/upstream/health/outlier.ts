import type { Clock, Logger } from "../../core/mod.ts";
import type { OutlierDetectionConfig } from "../../config/mod.ts";
import type { Counter, Gauge, Scope } from "../../stats/mod.ts";
import type { EjectionType, HostHealth, IntervalCounts } from "./host_health.ts";

export type { IntervalCounts };

export type { EjectionType } from "./host_health.ts";

/** A failure of meshctl's own attempt, not an answer of the host's (Envoy's local-origin errors). */
export type LocalOriginFailure = "connect_failure" | "timeout" | "reset";

const EJECTION_TYPES: readonly EjectionType[] = [
  "consecutive_5xx",
  "consecutive_gateway_failure",
  "consecutive_local_origin_failure",
  "success_rate",
  "local_origin_success_rate",
  "failure_percentage",
  "local_origin_failure_percentage",
];

/** Per cluster (`upstream` scope): Envoy's outlier_detection.* names with meshctl's `_total` for counters. */
export class OutlierStats {
  readonly ejectionsActive: Gauge;
  readonly ejectionsEnforcedTotal: Counter;
  /** Ejections the max_ejection_percent cap refused. */
  readonly ejectionsOverflow: Counter;
  readonly enforced: Record<EjectionType, Counter>;
  readonly detected: Record<EjectionType, Counter>;

  constructor(scope: Scope) {
    this.ejectionsActive = scope.gauge("outlier_detection_ejections_active");
    this.ejectionsEnforcedTotal = scope.counter("outlier_detection_ejections_enforced_total");
    this.ejectionsOverflow = scope.counter("outlier_detection_ejections_overflow");
    const enforced = {} as Record<EjectionType, Counter>;
    const detected = {} as Record<EjectionType, Counter>;
    for (const t of EJECTION_TYPES) {
      enforced[t] = scope.counter(`outlier_detection_ejections_enforced_${t}_total`);
      detected[t] = scope.counter(`outlier_detection_ejections_detected_${t}_total`);
    }
    this.enforced = enforced;
    this.detected = detected;
  }
}

export interface OutlierDetectorOptions {
  readonly clock: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
  readonly clusterName?: string;
  /** Counts one ejection of a host (its `outlier_ejections_total`). */
  readonly onHostEjected?: (h: HostHealth) => void;
  /** Called after any host's ejection state changed (the cluster recomputes its priority load). */
  readonly onChange?: () => void;
  /**
   * A worker of `--concurrency N`: a detected outlier is reported here instead of ejected; the main
   * thread decides (enforcement, cap, ejection time) and broadcasts. The sweep then neither unejects nor
   * lowers multipliers (the main thread's sweep does), and no stats are kept here (the main thread's).
   */
  readonly report?: (h: HostHealth, type: EjectionType) => void;
  /**
   * With `report`: each interval's results, for the main thread to judge success rate and failure
   * percentage over every worker's traffic summed (hosts with no result this interval are left out; not
   * called when none had any). The worker then judges neither itself.
   */
  readonly reportInterval?: (counts: readonly IntervalCounts[]) => void;
}

/**
 * Envoy's passive outlier detection for one cluster. Consecutive-error ejection runs inline as results
 * arrive (`onResponse`, `onLocalOriginFailure`: O(1), no allocation); every `interval` a sweep unejects
 * hosts whose time is up, lowers the ejection multiplier of hosts that stayed in, and runs success-rate
 * and failure-percentage ejection over that interval's results. Ejection time = base × multiplier
 * (+1 per ejection), capped at max_ejection_time, plus up to max_ejection_time_jitter. At most
 * max_ejection_percent of the hosts are ejected at once (always_eject_one_host lets the first through).
 */
export class OutlierDetector {
  readonly config: OutlierDetectionConfig;
  readonly stats: OutlierStats;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #opts: OutlierDetectorOptions;
  #hosts: readonly HostHealth[] = [];
  #timer: ReturnType<Clock["setInterval"]> | undefined;
  #stopped = false;

  constructor(config: OutlierDetectionConfig, stats: OutlierStats, opts: OutlierDetectorOptions) {
    this.config = config;
    this.stats = stats;
    this.#clock = opts.clock;
    this.#random = opts.random ?? Math.random;
    this.#opts = opts;
  }

  /** The hosts the cluster has now (the cap and the success-rate statistics are over these). */
  setHosts(hosts: readonly HostHealth[]): void {
    this.#hosts = hosts;
    this.#updateActive();
  }

  start(): void {
    if (this.#timer === undefined) {
      this.#timer = this.#clock.setInterval(() => this.sweep(), this.config.intervalMs);
    }
  }

  /** No more sweeps, and no more ejections from late results (the cluster drained). */
  stop(): void {
    this.#clock.clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopped = true;
  }

  /** A response head from the host (RPC statuses already mapped to HTTP-like ones). */
  onResponse(h: HostHealth, status: number): void {
    const c = this.config;
    h.intervalRequests++;
    if (!c.splitExternalLocalOriginErrors) h.consecutiveLocalOriginFailure = 0;
    if (status < 500) {
      h.consecutive5xx = 0;
      h.consecutiveGatewayFailure = 0;
      return;
    }
    h.intervalFailures++;
    if (status >= 502 && status <= 504) {
      if (++h.consecutiveGatewayFailure >= c.consecutiveGatewayFailure) {
        h.consecutiveGatewayFailure = 0;
        this.#detected(h, "consecutive_gateway_failure", c.enforcingConsecutiveGatewayFailure);
      }
    } else h.consecutiveGatewayFailure = 0;
    if (++h.consecutive5xx >= c.consecutive5xx) {
      h.consecutive5xx = 0;
      this.#detected(h, "consecutive_5xx", c.enforcingConsecutive5xx);
    }
  }

  /**
   * meshctl's attempt failed on its own side: connect failure, timeout, reset. Unless
   * split_external_local_origin_errors, Envoy counts these as 503 (504 for a timeout).
   */
  onLocalOriginFailure(h: HostHealth, kind: LocalOriginFailure): void {
    const c = this.config;
    if (!c.splitExternalLocalOriginErrors) return this.onResponse(h, kind === "timeout" ? 504 : 503);
    h.intervalLocalRequests++;
    h.intervalLocalFailures++;
    if (++h.consecutiveLocalOriginFailure >= c.consecutiveLocalOriginFailure) {
      h.consecutiveLocalOriginFailure = 0;
      this.#detected(h, "consecutive_local_origin_failure", c.enforcingConsecutiveLocalOriginFailure);
    }
  }

  /** With split errors: the attempt reached the host (a response came), a local-origin success. */
  onLocalOriginSuccess(h: HostHealth): void {
    if (!this.config.splitExternalLocalOriginErrors) return;
    h.intervalLocalRequests++;
    h.consecutiveLocalOriginFailure = 0;
  }

  /** An active health check passed: unejects the host unless successful_active_health_check_uneject_host is off. */
  onActiveCheckSuccess(h: HostHealth): void {
    if (!h.ejected || !this.config.successfulActiveHealthCheckUnejectHost) return;
    this.#uneject(h);
    h.resetOutlierCounts();
  }

  /**
   * The main thread of `--concurrency N`: a worker detected `type` on its own traffic to `h`. Decided
   * as a local detection is: enforcing_* %, the max_ejection_percent cap, the growing ejection time.
   */
  onDetectedElsewhere(h: HostHealth, type: EjectionType): void {
    const c = this.config;
    const enforcing: Record<EjectionType, number> = {
      consecutive_5xx: c.enforcingConsecutive5xx,
      consecutive_gateway_failure: c.enforcingConsecutiveGatewayFailure,
      consecutive_local_origin_failure: c.enforcingConsecutiveLocalOriginFailure,
      success_rate: c.enforcingSuccessRate,
      local_origin_success_rate: c.enforcingLocalOriginSuccessRate,
      failure_percentage: c.enforcingFailurePercentage,
      local_origin_failure_percentage: c.enforcingFailurePercentageLocalOrigin,
    };
    this.#detected(h, type, enforcing[type]);
  }

  /**
   * The main thread of `--concurrency N`: a worker's results of its last interval, added to this
   * interval's so the next sweep judges success rate and failure percentage over the whole process.
   * Results for hosts this detector does not have are skipped (returned: how many).
   */
  addIntervalCounts(counts: readonly IntervalCounts[]): number {
    let skipped = 0;
    // Per worker per interval, over up to every host: by address, not a scan per row.
    const byAddress = new Map(this.#hosts.map((x) => [x.address, x]));
    for (const r of counts) {
      const h = byAddress.get(r.address);
      if (h === undefined) {
        skipped++;
        continue;
      }
      h.intervalRequests += r.requests;
      h.intervalFailures += r.failures;
      h.intervalLocalRequests += r.localRequests;
      h.intervalLocalFailures += r.localFailures;
    }
    return skipped;
  }

  /** One interval's work (the timer calls it; tests call it on a fake clock). */
  sweep(): void {
    const now = this.#clock.now();
    if (this.#opts.report === undefined) {
      for (const h of this.#hosts) {
        if (h.ejected) {
          if (now >= h.ejectedUntilMs) this.#uneject(h);
        } else if (h.ejectionMultiplier > 0) h.ejectionMultiplier--;
      }
    }
    const toMain = this.#opts.reportInterval;
    if (toMain !== undefined) {
      const counts: IntervalCounts[] = [];
      for (const h of this.#hosts) {
        if (h.intervalRequests === 0 && h.intervalLocalRequests === 0) continue;
        counts.push({
          address: h.address,
          requests: h.intervalRequests,
          failures: h.intervalFailures,
          localRequests: h.intervalLocalRequests,
          localFailures: h.intervalLocalFailures,
        });
        h.intervalRequests = h.intervalFailures = 0;
        h.intervalLocalRequests = h.intervalLocalFailures = 0;
      }
      if (counts.length > 0) toMain(counts);
      return;
    }
    const c = this.config;
    this.#successRate(false, c.enforcingSuccessRate, "success_rate");
    this.#failurePercentage(false, c.enforcingFailurePercentage, "failure_percentage");
    if (c.splitExternalLocalOriginErrors) {
      this.#successRate(true, c.enforcingLocalOriginSuccessRate, "local_origin_success_rate");
      this.#failurePercentage(
        true,
        c.enforcingFailurePercentageLocalOrigin,
        "local_origin_failure_percentage",
      );
    }
    for (const h of this.#hosts) {
      h.intervalRequests = h.intervalFailures = 0;
      h.intervalLocalRequests = h.intervalLocalFailures = 0;
    }
  }

  /** Envoy's success-rate ejection: below mean − stdev × factor/1000 among hosts with enough volume. */
  #successRate(local: boolean, enforcing: number, type: EjectionType): void {
    const c = this.config;
    const rates: [HostHealth, number][] = [];
    for (const h of this.#hosts) {
      const n = local ? h.intervalLocalRequests : h.intervalRequests;
      if (n < c.successRateRequestVolume) continue;
      const failed = local ? h.intervalLocalFailures : h.intervalFailures;
      rates.push([h, 100 * (n - failed) / n]);
    }
    if (rates.length < c.successRateMinimumHosts || rates.length === 0) return;
    const mean = rates.reduce((a, [, r]) => a + r, 0) / rates.length;
    const variance = rates.reduce((a, [, r]) => a + (r - mean) ** 2, 0) / rates.length;
    const threshold = mean - Math.sqrt(variance) * (c.successRateStdevFactor / 1000);
    for (const [h, r] of rates) if (r < threshold) this.#detected(h, type, enforcing);
  }

  /** Envoy's failure-percentage ejection: failure share ≥ the threshold, among hosts with enough volume. */
  #failurePercentage(local: boolean, enforcing: number, type: EjectionType): void {
    const c = this.config;
    if (enforcing === 0) return;
    const eligible: [HostHealth, number][] = [];
    for (const h of this.#hosts) {
      const n = local ? h.intervalLocalRequests : h.intervalRequests;
      if (n < c.failurePercentageRequestVolume) continue;
      eligible.push([h, 100 * (local ? h.intervalLocalFailures : h.intervalFailures) / n]);
    }
    if (eligible.length < c.failurePercentageMinimumHosts) return;
    for (const [h, p] of eligible) if (p >= c.failurePercentageThreshold) this.#detected(h, type, enforcing);
  }

  #detected(h: HostHealth, type: EjectionType, enforcingPercent: number): void {
    if (h.ejected || this.#stopped) return;
    const report = this.#opts.report;
    if (report !== undefined) {
      // Only events cross threads, never a request: the count reached its threshold in this worker
      // (reported even when not enforced: the main thread counts it as detected).
      report(h, type);
      return;
    }
    this.stats.detected[type].inc();
    if (enforcingPercent <= 0 || this.#random() * 100 >= enforcingPercent) return;
    const total = this.#hosts.length;
    const active = this.#countEjected();
    const allowed = total > 0 && 100 * (active + 1) / total <= this.config.maxEjectionPercent;
    if (!allowed && !(this.config.alwaysEjectOneHost && active === 0)) {
      this.stats.ejectionsOverflow.inc();
      return;
    }
    const c = this.config;
    h.ejectionMultiplier++;
    const ms = Math.min(
      c.baseEjectionTimeMs * h.ejectionMultiplier,
      Math.max(c.maxEjectionTimeMs, c.baseEjectionTimeMs),
    );
    const jitter = c.maxEjectionTimeJitterMs > 0 ? Math.floor(this.#random() * c.maxEjectionTimeJitterMs) : 0;
    h.ejectedUntilMs = this.#clock.now() + ms + jitter;
    h.setEjected(true);
    this.stats.enforced[type].inc();
    this.stats.ejectionsEnforcedTotal.inc();
    this.#opts.onHostEjected?.(h);
    this.#updateActive();
    this.#opts.logger?.info("outlier detection ejected a host", {
      cluster: this.#opts.clusterName,
      host: h.address,
      type,
      ejection_ms: ms + jitter,
    });
    this.#opts.onChange?.();
  }

  #uneject(h: HostHealth): void {
    h.setEjected(false);
    h.consecutive5xx = h.consecutiveGatewayFailure = h.consecutiveLocalOriginFailure = 0;
    this.#updateActive();
    this.#opts.logger?.info("outlier detection returned a host", {
      cluster: this.#opts.clusterName,
      host: h.address,
    });
    this.#opts.onChange?.();
  }

  #countEjected(): number {
    let n = 0;
    for (const h of this.#hosts) if (h.ejected) n++;
    return n;
  }

  #updateActive(): void {
    if (this.#opts.report !== undefined) return; // the main thread's gauge
    this.stats.ejectionsActive.set(this.#countEjected());
  }
}
