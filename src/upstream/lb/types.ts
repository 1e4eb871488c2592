/** The view of an upstream host a load balancer sees. Health and load are live fields. */
export interface LbHost {
  readonly address: string;
  /** 1..128 (MOSN); only weight-aware balancers read it. */
  readonly weight: number;
  healthy: boolean;
  activeRequests: number;
}

/** Per-request input. The proxy computes `hashKey` from the route's hash_policy (header, cookie, source IP). */
export interface LbContext {
  hashKey?: string;
}

/** Picks a healthy host for one request; undefined when none is healthy. */
export interface LoadBalancer {
  choose(ctx?: LbContext): LbHost | undefined;
}

export interface LoadBalancerOptions {
  /** LB_LEAST_REQUEST: hosts sampled per pick. @default 2 */
  choiceCount?: number;
  /** Random source in [0, 1), injectable for deterministic tests. @default Math.random */
  random?: () => number;
}

/** Builds a balancer over a fixed host list; the owner builds a new one when the host set changes. */
export type LoadBalancerFactory = (hosts: readonly LbHost[], opts: LoadBalancerOptions) => LoadBalancer;
