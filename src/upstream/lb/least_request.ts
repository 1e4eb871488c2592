import { EdfScheduler } from "./_edf.ts";
import { weightsAreEqual } from "./_healthy.ts";
import type { LbHost, LoadBalancer, LoadBalancerOptions } from "./types.ts";

/**
 * LB_LEAST_REQUEST, as MOSN: with equal weights, the power of `choiceCount` random choices (default 2),
 * keeping the sampled healthy host with the fewest active requests; with unequal weights,
 * earliest-deadline-first where a host's weight is weight / (activeRequests + 1).
 */
export class LeastRequestLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly LbHost[];
  readonly #random: () => number;
  readonly #choices: number;
  readonly #edf: EdfScheduler | undefined;
  readonly #weight: (i: number) => number;

  constructor(hosts: readonly LbHost[], opts: LoadBalancerOptions = {}) {
    const choices = opts.choiceCount ?? 2;
    if (!Number.isInteger(choices) || choices < 1) {
      throw new RangeError(`Cannot use choice_count ${choices}: it must be an integer of at least 1`);
    }
    this.#hosts = hosts;
    this.#random = opts.random ?? Math.random;
    this.#choices = choices;
    this.#weight = (i) => hosts[i]!.weight / (hosts[i]!.activeRequests + 1);
    if (!weightsAreEqual(hosts)) this.#edf = new EdfScheduler(hosts.map((h) => h.weight));
  }

  choose(): LbHost | undefined {
    const hosts = this.#hosts;
    const n = hosts.length;
    if (this.#edf !== undefined) {
      for (let tries = 0; tries < n; tries++) {
        const host = hosts[this.#edf.next(this.#weight)]!;
        if (host.healthy) return host;
      }
      return this.#leastHealthy();
    }
    // Rounds of `choices` samples; unhealthy samples are ignored, so the pick is among healthy hosts.
    for (let round = 0; round < n; round++) {
      let best: LbHost | undefined;
      for (let c = 0; c < this.#choices; c++) {
        const host = hosts[Math.floor(this.#random() * n)]!;
        if (host.healthy && (best === undefined || host.activeRequests < best.activeRequests)) best = host;
      }
      if (best !== undefined) return best;
    }
    return this.#leastHealthy();
  }

  #leastHealthy(): LbHost | undefined {
    let best: LbHost | undefined;
    for (const h of this.#hosts) {
      if (h.healthy && (best === undefined || h.activeRequests < best.activeRequests)) best = h;
    }
    return best;
  }
}
