/**
 * Load balancers by `lb_type` name over an immutable host list with live health and load fields.
 * Importing this module registers LB_RANDOM, LB_ROUNDROBIN, LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST
 * and LB_MAGLEV.
 * @module
 */
export type { LbContext, LbHost, LoadBalancer, LoadBalancerFactory, LoadBalancerOptions } from "./types.ts";
export { loadBalancerNames, newLoadBalancer, registerLoadBalancer } from "./registry.ts";
export { RandomLoadBalancer } from "./random.ts";
export { RoundRobinLoadBalancer } from "./round_robin.ts";
export { WeightedRoundRobinLoadBalancer } from "./weighted_round_robin.ts";
export { LeastRequestLoadBalancer } from "./least_request.ts";
export { MAGLEV_BIG_M, MAGLEV_SMALL_M, MaglevLoadBalancer } from "./maglev.ts";
export { computePriorityLoad, PriorityBalancer } from "./priority.ts";
export type { PriorityBalancerOptions, PriorityLoad } from "./priority.ts";
