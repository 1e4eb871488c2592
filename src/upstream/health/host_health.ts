/**
 * Health state of upstream hosts that outlives a config snapshot: a reload, an xDS update or a
 * registry change builds new `Cluster`s, and a host that stays (same cluster, same address) keeps
 * whether it failed its active checks, whether it is ejected, and the counts that lead there.
 */

/** Why a host is out of the load balancers (Envoy's health flags, the two meshctl sets). */
export type UnhealthyReason = "active_hc" | "outlier";

/** Envoy's ejection types, as they appear in the stats names. */
export type EjectionType =
  | "consecutive_5xx"
  | "consecutive_gateway_failure"
  | "consecutive_local_origin_failure"
  | "success_rate"
  | "local_origin_success_rate"
  | "failure_percentage"
  | "local_origin_failure_percentage";

/**
 * One host's health flags as the process-wide authority (the main thread of `--concurrency N`) decided
 * them: what it broadcasts to every worker. Both flags false = healthy (also: "forget this host").
 */
export interface HostHealthUpdate {
  readonly cluster: string;
  readonly address: string;
  readonly failedActiveHc: boolean;
  readonly ejected: boolean;
  /** Epoch ms of the change on the main thread (logs, measurements). */
  readonly sinceMs: number;
}

/**
 * How a `HealthStore` takes part in a multi-worker process. Absent (one thread): every cluster decides
 * its own hosts' health. `authority` (the main thread): decisions are made here, each change is handed
 * to `onChange` for broadcast. `follower` (a worker): no active checks and no ejection decisions; flags
 * come from `applyRemote`, and outlier detections go to `reportOutlier` for the main thread to decide.
 */
export type HealthRole =
  | { readonly kind: "authority"; readonly onChange: (update: HostHealthUpdate) => void }
  | {
    readonly kind: "follower";
    readonly reportOutlier: (cluster: string, address: string, type: EjectionType) => void;
    /** Once per outlier-detection interval: this worker's results per host (outlier.ts `IntervalCounts`). */
    readonly reportInterval: (cluster: string, counts: readonly IntervalCounts[]) => void;
  };

/** One host's health in one cluster, shared by every snapshot's `Host` for that address. */
export class HostHealth {
  readonly address: string;
  /** Envoy FAILED_ACTIVE_HC: crossed unhealthy_threshold; cleared after healthy_threshold successes. */
  failedActiveHc = false;
  /** Envoy FAILED_OUTLIER_CHECK: ejected by outlier detection until `ejectedUntilMs`. */
  ejected = false;
  /** Neither flag set: the load balancers may pick it. Kept as a field: read on every pick. */
  healthy = true;
  /** Epoch ms of the last flag change (0: never changed). */
  sinceMs = 0;

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

  /**
   * A worker: the main thread's decision for this host. Applied as one change; an unejection clears the
   * consecutive counts as a local one does, so the host starts afresh in every worker.
   */
  applyRemote(u: Pick<HostHealthUpdate, "failedActiveHc" | "ejected" | "sinceMs">): void {
    if (this.failedActiveHc === u.failedActiveHc && this.ejected === u.ejected) return;
    if (this.ejected && !u.ejected) {
      this.consecutive5xx = this.consecutiveGatewayFailure = this.consecutiveLocalOriginFailure = 0;
    }
    this.failedActiveHc = u.failedActiveHc;
    this.ejected = u.ejected;
    this.#changed(u.sinceMs);
  }

  #changed(sinceMs = Date.now()): void {
    this.healthy = !this.failedActiveHc && !this.ejected;
    this.sinceMs = sinceMs;
    this.#group.version++;
    this.#group.hostChanged(this);
  }
}

/** Every host's health of one cluster name, with a version that moves whenever any host's health does. */
export class ClusterHealth {
  readonly name: string;
  /** Bumped on every health change: clusters recompute priority loads when it moved (O(1) per pick). */
  version = 0;
  readonly #hosts = new Map<string, { health: HostHealth; refs: number }>();
  readonly #store: HealthStore | undefined;

  constructor(name = "", store?: HealthStore) {
    this.name = name;
    this.#store = store;
  }

  /** The health of `address`, shared with any other holder; release it when the host goes. */
  acquire(address: string): HostHealth {
    let e = this.#hosts.get(address);
    if (e === undefined) {
      e = { health: new HostHealth(address, this), refs: 0 };
      this.#hosts.set(address, e);
      // A worker's new host starts from what the main thread last said about it (it may have been
      // checked or ejected there before this worker's snapshot or DNS answer had it).
      const known = this.#store?.remoteState(this.name, address);
      if (known !== undefined) e.health.applyRemote(known);
    }
    e.refs++;
    return e.health;
  }

  release(address: string): void {
    const e = this.#hosts.get(address);
    if (e === undefined) return;
    if (--e.refs > 0) return;
    this.#hosts.delete(address);
    // The authority forgets a host that went: workers must not keep it out if it comes back.
    if (!e.health.healthy) this.#store?.hostForgotten(this.name, address);
  }

  /** The entry of `address` if some cluster holds it. */
  get(address: string): HostHealth | undefined {
    return this.#hosts.get(address)?.health;
  }

  /** @internal HostHealth → its store's role (the authority broadcasts). */
  hostChanged(h: HostHealth): void {
    this.#store?.hostChanged(this.name, h);
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
  readonly role: HealthRole | undefined;
  readonly #clusters = new Map<string, ClusterHealth>();
  /**
   * A follower: the main thread's last word on every host it holds unhealthy, by cluster then address.
   * Healthy hosts are not kept, so this is bounded by the hosts the main thread has out.
   */
  readonly #remote = new Map<string, Map<string, HostHealthUpdate>>();

  constructor(role?: HealthRole) {
    this.role = role;
  }

  cluster(name: string): ClusterHealth {
    let c = this.#clusters.get(name);
    if (c === undefined) {
      c = new ClusterHealth(name, this);
      this.#clusters.set(name, c);
    }
    return c;
  }

  /** Drops a cluster's entry once it holds no host (called by a cluster releasing its last one). */
  forgetIfEmpty(name: string): void {
    if (this.#clusters.get(name)?.size === 0) this.#clusters.delete(name);
  }

  /** A follower: applies the main thread's decision to the host now (if held) and to any later holder. */
  applyRemote(u: HostHealthUpdate): void {
    let byAddress = this.#remote.get(u.cluster);
    if (u.failedActiveHc || u.ejected) {
      if (byAddress === undefined) this.#remote.set(u.cluster, byAddress = new Map());
      byAddress.set(u.address, u);
    } else if (byAddress !== undefined) {
      byAddress.delete(u.address);
      if (byAddress.size === 0) this.#remote.delete(u.cluster);
    }
    this.#clusters.get(u.cluster)?.get(u.address)?.applyRemote(u);
  }

  /** The main thread's last word on a host it holds unhealthy (followers only). */
  remoteState(cluster: string, address: string): HostHealthUpdate | undefined {
    return this.#remote.get(cluster)?.get(address);
  }

  /** Hosts the main thread holds unhealthy as this follower knows it (tests, bounds). */
  get remoteCount(): number {
    let n = 0;
    for (const m of this.#remote.values()) n += m.size;
    return n;
  }

  /** @internal */
  hostChanged(cluster: string, h: HostHealth): void {
    const r = this.role;
    if (r?.kind !== "authority") return;
    r.onChange({
      cluster,
      address: h.address,
      failedActiveHc: h.failedActiveHc,
      ejected: h.ejected,
      sinceMs: h.sinceMs,
    });
  }

  /** @internal */
  hostForgotten(cluster: string, address: string): void {
    const r = this.role;
    if (r?.kind !== "authority") return;
    r.onChange({ cluster, address, failedActiveHc: false, ejected: false, sinceMs: Date.now() });
  }

  /** Hosts tracked, over all clusters (tests: nothing leaks across reloads). */
  get hostCount(): number {
    let n = 0;
    for (const c of this.#clusters.values()) n += c.size;
    return n;
  }
}

/** One host's results over one outlier-detection interval in one worker. */
export interface IntervalCounts {
  readonly address: string;
  readonly requests: number;
  readonly failures: number;
  readonly localRequests: number;
  readonly localFailures: number;
}
