import type { ByteBudget, Logger, SharedCounters } from "../../core/mod.ts";
import type { ClusterConfig } from "../../config/mod.ts";
import type { StatsRegistry } from "../../stats/mod.ts";
import type { HealthStore } from "../health/mod.ts";
import { Cluster } from "./cluster.ts";

/** All clusters of a snapshot, by name. */
export class ClusterManager {
  #clusters = new Map<string, Cluster>();

  constructor(
    configs: readonly ClusterConfig[],
    registry: StatsRegistry,
    logger: Logger,
    budget?: ByteBudget,
    health?: HealthStore,
    limits?: SharedCounters,
  ) {
    try {
      for (const c of configs) {
        this.#clusters.set(
          c.name,
          new Cluster(c, registry, logger, {
            budget,
            ...(health ? { health } : {}),
            ...(limits ? { limits } : {}),
          }),
        );
      }
    } catch (e) {
      // A cluster that cannot be built (unusable TLS material) fails the whole set: the ones built
      // already must not keep DNS timers running for a runtime that never starts.
      this.close();
      throw e;
    }
  }

  get(name: string): Cluster | undefined {
    return this.#clusters.get(name);
  }

  get all(): Iterable<Cluster> {
    return this.#clusters.values();
  }

  drain(): void {
    for (const c of this.#clusters.values()) c.drain();
  }

  close(): void {
    for (const c of this.#clusters.values()) c.close();
  }
}
