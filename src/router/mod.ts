/**
 * Routing: a router config compiled once into an immutable table that picks a virtual host by the
 * request's host and then the first matching route (MOSN semantics).
 * @module
 */
export { compileRouteTable } from "./compile_route_table.ts";
export { isConnect, ORIGINAL_PATH_HEADER } from "./compiled_route.ts";
export type { CompiledRoute, DirectResponse, RouteKind } from "./compiled_route.ts";
export type { CompiledVirtualHost, RouteMatch, RouteTable } from "./types.ts";
