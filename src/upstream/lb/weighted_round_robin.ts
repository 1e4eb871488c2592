import { EdfScheduler } from "./_edf.ts";
import { weightedRandomHealthy, weightsAreEqual } from "./_healthy.ts";
import { RoundRobinLoadBalancer } from "./round_robin.ts";
import type { LbHost, LoadBalancer, LoadBalancerOptions } from "./types.ts";

/**
 * LB_WEIGHTED_ROUNDROBIN: earliest-deadline-first over host weights, as MOSN; plain round robin when
 * all weights are equal. Unhealthy hosts' turns are skipped, so healthy hosts keep their relative
 * shares; after one pass of skips it falls back to a weighted random healthy host.
 */
export class WeightedRoundRobinLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly LbHost[];
  readonly #random: () => number;
  readonly #edf: EdfScheduler | undefined;
  readonly #plain: RoundRobinLoadBalancer | undefined;
  readonly #weight: (i: number) => number;

  constructor(hosts: readonly LbHost[], opts: LoadBalancerOptions = {}) {
    this.#hosts = hosts;
    this.#random = opts.random ?? Math.random;
    this.#weight = (i) => hosts[i]!.weight;
    if (weightsAreEqual(hosts)) this.#plain = new RoundRobinLoadBalancer(hosts, opts);
    else this.#edf = new EdfScheduler(hosts.map((h) => h.weight));
  }

  choose(): LbHost | undefined {
    if (this.#plain !== undefined) return this.#plain.choose();
    const hosts = this.#hosts;
    for (let tries = 0; tries < hosts.length; tries++) {
      const host = hosts[this.#edf!.next(this.#weight)]!;
      if (host.healthy) return host;
    }
    return weightedRandomHealthy(hosts, this.#random);
  }
}
