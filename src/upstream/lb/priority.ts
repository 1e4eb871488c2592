import { newLoadBalancer } from "./registry.ts";
import type { LbContext, LbHost, LoadBalancer, LoadBalancerOptions } from "./types.ts";

/** What a level's balancer sees in panic: the host, always healthy, with its live load. */
class PanicView implements LbHost {
  readonly host: LbHost;
  readonly healthy = true;
  constructor(host: LbHost) {
    this.host = host;
  }
  get address(): string {
    return this.host.address;
  }
  get weight(): number {
    return this.host.weight;
  }
  get activeRequests(): number {
    return this.host.activeRequests;
  }
}

export interface PriorityLoad {
  /** Percent of traffic per level, summing to 100 (Envoy's "priority load"). */
  readonly loads: readonly number[];
  /** Per level: balanced over all its hosts, healthy or not (Envoy's per-priority panic). */
  readonly panic: readonly boolean[];
  /** Envoy's normalized total health, 0..100. */
  readonly normalizedTotalHealth: number;
}

/**
 * Envoy's priority load: a level's health is min(100, overprovisioning × healthy / total) (integer
 * percent, 140 = factor 1.4); levels take traffic in order, each up to its health, scaled by the total
 * health when that is under 100. A level is in panic when the total is under 100 and the level's own
 * healthy share is under the panic threshold; with no health anywhere, level 0 takes everything, in panic.
 */
export function computePriorityLoad(
  healthy: readonly number[],
  total: readonly number[],
  overprovisioningPercent: number,
  panicThresholdPercent: number,
): PriorityLoad {
  const n = total.length;
  const health = total.map((t, i) =>
    t === 0 ? 0 : Math.min(100, Math.floor(overprovisioningPercent * healthy[i]! / t))
  );
  const normalizedTotalHealth = Math.min(100, health.reduce((a, b) => a + b, 0));
  const inPanic = (i: number) => {
    const share = total[i] === 0 ? 0 : 100 * healthy[i]! / total[i]!;
    return share < panicThresholdPercent;
  };
  if (normalizedTotalHealth === 0) {
    const loads = new Array<number>(n).fill(0);
    loads[0] = 100;
    // Nothing is healthy: level 0 over all its hosts, unless panic is off (then no host at all).
    return { loads, panic: loads.map((_, i) => i === 0 && panicThresholdPercent > 0), normalizedTotalHealth };
  }
  const loads: number[] = [];
  let left = 100;
  for (let i = 0; i < n; i++) {
    const l = Math.min(left, Math.floor(health[i]! * 100 / normalizedTotalHealth));
    loads.push(l);
    left -= l;
  }
  if (left > 0) {
    // Rounding: the remainder goes to the first level with health (Envoy).
    const first = health.findIndex((h) => h > 0);
    loads[first] = loads[first]! + left;
  }
  const panic = loads.map((_, i) => normalizedTotalHealth < 100 && inPanic(i));
  return { loads, panic, normalizedTotalHealth };
}

export interface PriorityBalancerOptions extends LoadBalancerOptions {
  readonly lbType: string;
  /** Envoy healthy_panic_threshold, percent (0 = never panic). */
  readonly panicThresholdPercent: number;
  /** Envoy overprovisioning_factor, percent (140 = 1.4). */
  readonly overprovisioningFactorPercent: number;
}

/**
 * A cluster's hosts by priority level, each level with its own balancer of the cluster's `lb_type`, and
 * the priority load and panic state above them. `refresh()` recomputes those from the hosts' health
 * (the owner calls it when health changed); `choose()` is then a random draw over the levels (skipped
 * when one level takes everything) and that level's balancer, over all its hosts when in panic.
 */
export class PriorityBalancer implements LoadBalancer {
  readonly #levels: readonly (readonly LbHost[])[];
  readonly #lbs: LoadBalancer[];
  readonly #panicLbs: (LoadBalancer | undefined)[];
  readonly #opts: PriorityBalancerOptions;
  readonly #random: () => number;
  #state: PriorityLoad;
  /** The one level taking 100 %, or -1 when traffic is split. */
  #only = 0;
  /** Cumulative loads, for the draw when split. */
  #cumulative: number[] = [];
  /** Picks made in panic (Envoy's lb_healthy_panic). */
  panicPicks = 0;

  /** @param levels hosts per priority, index = priority (empty levels allowed) */
  constructor(levels: readonly (readonly LbHost[])[], opts: PriorityBalancerOptions) {
    this.#levels = levels.length === 0 ? [[]] : levels;
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
    this.#lbs = this.#levels.map((hosts) => newLoadBalancer(opts.lbType, hosts, opts));
    this.#panicLbs = this.#levels.map(() => undefined);
    this.#state = this.refresh();
  }

  get state(): PriorityLoad {
    return this.#state;
  }

  /** Recomputes priority load and panic from the hosts' current health. */
  refresh(): PriorityLoad {
    const healthy = this.#levels.map((hosts) => {
      let n = 0;
      for (const h of hosts) if (h.healthy) n++;
      return n;
    });
    const total = this.#levels.map((hosts) => hosts.length);
    this.#state = computePriorityLoad(
      healthy,
      total,
      this.#opts.overprovisioningFactorPercent,
      this.#opts.panicThresholdPercent,
    );
    this.#only = this.#state.loads.indexOf(100);
    let sum = 0;
    this.#cumulative = this.#state.loads.map((l) => (sum += l));
    return this.#state;
  }

  choose(ctx?: LbContext): LbHost | undefined {
    let level = this.#only;
    if (level < 0) {
      const point = this.#random() * 100;
      const c = this.#cumulative;
      level = 0;
      while (level < c.length - 1 && point >= c[level]!) level++;
    }
    if (!this.#state.panic[level]) return this.#lbs[level]!.choose(ctx);
    this.panicPicks++;
    let lb = this.#panicLbs[level];
    if (lb === undefined) {
      lb = newLoadBalancer(this.#opts.lbType, this.#levels[level]!.map((h) => new PanicView(h)), this.#opts);
      this.#panicLbs[level] = lb;
    }
    const view = lb.choose(ctx) as PanicView | undefined;
    return view?.host;
  }
}
