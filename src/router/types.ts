import type { RequestHead } from "../codec/mod.ts";
import type { CompiledRoute, RouteKind } from "./compiled_route.ts";

/** A virtual host as compiled: its routes in config order. */
export interface CompiledVirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly CompiledRoute[];
  /** Envoy's include_request_attempt_count: the proxy sends x-envoy-attempt-count upstream. */
  readonly includeRequestAttemptCount: boolean;
}

/** The result of routing one request. The same frozen object is returned for every match of a route. */
export interface RouteMatch {
  readonly kind: RouteKind;
  readonly vhost: CompiledVirtualHost;
  readonly route: CompiledRoute;
}

/** An immutable, compiled router config (`router_config_name`). */
export interface RouteTable {
  readonly name: string;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  /** The virtual host for a request host (lowercase, optional port), or undefined. */
  findVirtualHost(host: string): CompiledVirtualHost | undefined;
  /** The first route of the request's virtual host that matches, or undefined (→ 404). */
  match(head: RequestHead): RouteMatch | undefined;
}
