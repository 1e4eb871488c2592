import { randomHealthy } from "./_healthy.ts";
import type { LbHost, LoadBalancer, LoadBalancerOptions } from "./types.ts";

/** LB_RANDOM: uniform over the healthy hosts; weights are ignored, as in MOSN. */
export class RandomLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly LbHost[];
  readonly #random: () => number;

  constructor(hosts: readonly LbHost[], opts: LoadBalancerOptions = {}) {
    this.#hosts = hosts;
    this.#random = opts.random ?? Math.random;
  }

  choose(): LbHost | undefined {
    return randomHealthy(this.#hosts, this.#random);
  }
}
