import type { LbHost, LoadBalancer, LoadBalancerOptions } from "./types.ts";

/**
 * LB_ROUNDROBIN: hosts in list order from a random start, weights ignored (MOSN). An unhealthy host's
 * turn passes to the next, and the cursor moves past it, so healthy hosts keep equal shares.
 */
export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly LbHost[];
  #next: number;

  constructor(hosts: readonly LbHost[], opts: LoadBalancerOptions = {}) {
    this.#hosts = hosts;
    this.#next = hosts.length === 0 ? 0 : Math.floor((opts.random ?? Math.random)() * hosts.length);
  }

  choose(): LbHost | undefined {
    const hosts = this.#hosts;
    const n = hosts.length;
    for (let tries = 0; tries < n; tries++) {
      const host = hosts[this.#next]!;
      this.#next = this.#next + 1 === n ? 0 : this.#next + 1;
      if (host.healthy) return host;
    }
    return undefined;
  }
}
