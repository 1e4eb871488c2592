/**
 * Upstream: clusters, hosts, load balancers and connection pools.
 * @module
 */
export { Cluster } from "./cluster/cluster.ts";
export type { ClusterStats } from "./cluster/cluster.ts";
export { ClusterManager } from "./cluster/cluster_manager.ts";
export { Host } from "./cluster/host.ts";
export type { HostStats } from "./cluster/host.ts";
export { HealthStore } from "./health/mod.ts";
export type {
  EjectionType,
  HealthRole,
  HostHealthUpdate,
  IntervalCounts,
  LocalOriginFailure,
  UnhealthyReason,
} from "./health/mod.ts";
export type { ConnectionPool, PoolWaiter, UpstreamConnection } from "./pool/types.ts";

export { connectWithTimeout, dialUpstream } from "./pool/dial.ts";
export { loadBalancerNames, newLoadBalancer, registerLoadBalancer } from "./lb/mod.ts";
