/**
 * Health state of upstream hosts that outlives a config snapshot: a reload, an xDS update or a
 * registry change builds new `Cluster`s, and a host that stays (same cluster, same address) keeps
 * whether it failed its active checks, whether it is ejected, and the counts that lead there.
 */

/** Why a host is out of the load balancers (Envoy's health flags, the two meshctl sets). */
export type UnhealthyReason = "active_hc" | "outlier";

/** One host's health in one cluster, shared by every snapshot's `Host` for that address. */
export class HostHealth {
  readonly address: string;
  /** Envoy FAILED_ACTIVE_HC: crossed unhealthy_threshold; cleared after healthy_threshold successes. */
  failedActiveHc = false;
  /** Envoy FAILED_OUTLIER_CHECK: ejected by outlier detection until `ejectedUntilMs`. */
  ejected = false;
  /** Neither flag set: the load balancers may pick it. Kept as a field: read on every pick. */
  healthy = true;

  // Active checks: consecutive results.
  checkSuccesses = 0;
  checkFailures = 0;

  // Outlier detection: consecutive results (reset by any success of their kind).
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  /** Envoy's ejection multiplier: +1 per ejection, −1 per interval spent healthy (never below 0). */
  ejectionMultiplier = 0;
  ejectedUntilMs = 0;
  /** Results this interval, for success-rate and failure-percentage ejection. */
  intervalRequests = 0;
  intervalFailures = 0;
  intervalLocalRequests = 0;
  intervalLocalFailures = 0;

  readonly #group: ClusterHealth;

  constructor(address: string, group: ClusterHealth) {
    this.address = address;
    this.#group = group;
  }

  /** The reasons it is unhealthy, in a fixed order; empty when healthy. */
  get reasons(): UnhealthyReason[] {
    const out: UnhealthyReason[] = [];
    if (this.failedActiveHc) out.push("active_hc");
    if (this.ejected) out.push("outlier");
    return out;
  }

  setFailedActiveHc(v: boolean): void {
    if (this.failedActiveHc === v) return;
    this.failedActiveHc = v;
    this.#changed();
  }

  setEjected(v: boolean): void {
    if (this.ejected === v) return;
    this.ejected = v;
    this.#changed();
  }

  /** Forget every outlier count (Envoy: a successful active check unejecting a host clears them). */
  resetOutlierCounts(): void {
    this.consecutive5xx = 0;
    this.consecutiveGatewayFailure = 0;
    this.consecutiveLocalOriginFailure = 0;
    this.intervalRequests = this.intervalFailures = 0;
    this.intervalLocalRequests = this.intervalLocalFailures = 0;
  }

  #changed(): void {
    this.healthy = !this.failedActiveHc && !this.ejected;
    this.#group.version++;
  }
}

/** Every host's health of one cluster name, with a version that moves whenever any host's health does. */
export class ClusterHealth {
  /** Bumped on every health change: clusters recompute priority loads when it moved (O(1) per pick). */
  version = 0;
  readonly #hosts = new Map<string, { health: HostHealth; refs: number }>();

  /** The health of `address`, shared with any other holder; release it when the host goes. */
  acquire(address: string): HostHealth {
    let e = this.#hosts.get(address);
    if (e === undefined) {
      e = { health: new HostHealth(address, this), refs: 0 };
      this.#hosts.set(address, e);
    }
    e.refs++;
    return e.health;
  }

  release(address: string): void {
    const e = this.#hosts.get(address);
    if (e === undefined) return;
    if (--e.refs <= 0) this.#hosts.delete(address);
  }

  get size(): number {
    return this.#hosts.size;
  }
}

/**
 * The health of every cluster by name, for the life of the process (the Server keeps one and hands it
 * to each Runtime). An entry lives while some cluster holds the host: a new snapshot acquires its hosts
 * before the old one releases them, so hosts that stay keep their state, and hosts that went are
 * forgotten.
 */
export class HealthStore {
  readonly #clusters = new Map<string, ClusterHealth>();

  cluster(name: string): ClusterHealth {
    let c = this.#clusters.get(name);
    if (c === undefined) {
      c = new ClusterHealth();
      this.#clusters.set(name, c);
    }
    return c;
  }

  /** Drops a cluster's entry once it holds no host (called by a cluster releasing its last one). */
  forgetIfEmpty(name: string): void {
    if (this.#clusters.get(name)?.size === 0) this.#clusters.delete(name);
  }

  /** Hosts tracked, over all clusters (tests: nothing leaks across reloads). */
  get hostCount(): number {
    let n = 0;
    for (const c of this.#clusters.values()) n += c.size;
    return n;
  }
}
