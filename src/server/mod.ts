/**
 * The composition root: turns a config snapshot into running listeners, clusters and the admin server.
 * @module
 */
// A type here, a value through `loadServer()`: with --concurrency N ≥ 2 the main thread never runs the data
// path (the workers do), so it does not load it.
export type { Server } from "./server.ts";
/** The in-process `Server` (`--concurrency 1`), loaded on demand. */
export async function loadServer(): Promise<typeof import("./server.ts").Server> {
  return (await import("./server.ts")).Server;
}
export type { BoundAddresses, ReloadSummary, ServerOptions, ServingTarget } from "./server.ts";
export type { Runtime } from "./runtime.ts";
export { validationContext } from "./validation_context.ts";
export { ConfigReloader, logConfigWarnings } from "./config_reloader.ts";
export { createXdsRuntime, XdsRuntime } from "./xds_runtime.ts";
export type { XdsRuntimeOptions } from "./xds_runtime.ts";
export type { ConfigReloaderOptions, ReloadCause } from "./config_reloader.ts";
// Types only: `createRegistryRuntime` loads the registry (ZooKeeper client, registry API) when a config
// enables it.
export type { RegistryRuntime, RegistryRuntimeOptions } from "./registry_runtime.ts";
export { createRegistryRuntime } from "./registry_connector.ts";

export { WorkerPool } from "./workers.ts";
export type { WorkerPoolOptions } from "./workers.ts";
