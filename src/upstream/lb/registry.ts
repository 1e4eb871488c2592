import { didYouMean } from "../../core/mod.ts";
import { LeastRequestLoadBalancer } from "./least_request.ts";
import { MaglevLoadBalancer } from "./maglev.ts";
import { RandomLoadBalancer } from "./random.ts";
import { RoundRobinLoadBalancer } from "./round_robin.ts";
import type { LbHost, LoadBalancer, LoadBalancerFactory, LoadBalancerOptions } from "./types.ts";
import { WeightedRoundRobinLoadBalancer } from "./weighted_round_robin.ts";

const factories = new Map<string, LoadBalancerFactory>();

/** Registers (or replaces) a balancer under its `lb_type` name. */
export function registerLoadBalancer(name: string, factory: LoadBalancerFactory): void {
  factories.set(name, factory);
}

/** Builds the balancer registered as `lbType`; throws RangeError for an unknown name. */
export function newLoadBalancer(
  lbType: string,
  hosts: readonly LbHost[],
  opts: LoadBalancerOptions = {},
): LoadBalancer {
  const factory = factories.get(lbType);
  if (factory === undefined) {
    const hint = didYouMean(lbType, factories.keys());
    throw new RangeError(`Cannot find load balancer "${lbType}"${hint ? `; did you mean "${hint}"?` : ""}`);
  }
  return factory(hosts, opts);
}

/** Every registered `lb_type` name, in registration order. */
export function loadBalancerNames(): string[] {
  return [...factories.keys()];
}

registerLoadBalancer("LB_RANDOM", (hosts, opts) => new RandomLoadBalancer(hosts, opts));
registerLoadBalancer("LB_ROUNDROBIN", (hosts, opts) => new RoundRobinLoadBalancer(hosts, opts));
registerLoadBalancer(
  "LB_WEIGHTED_ROUNDROBIN",
  (hosts, opts) => new WeightedRoundRobinLoadBalancer(hosts, opts),
);
registerLoadBalancer("LB_LEAST_REQUEST", (hosts, opts) => new LeastRequestLoadBalancer(hosts, opts));
registerLoadBalancer("LB_MAGLEV", (hosts, opts) => new MaglevLoadBalancer(hosts, opts));
