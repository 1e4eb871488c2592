/**
 * The registry backend `serve` uses for the sidecar registry API, built from the config's timeouts.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import type { RegistryConfig } from "../config/mod.ts";
import { MemoryRegistry, type RegistryConnector } from "../registry/mod.ts";
import type { StatsRegistry } from "../stats/mod.ts";

export function createRegistryConnector(
  config: RegistryConfig,
  logger: Logger,
): (stats: StatsRegistry) => RegistryConnector {
  // TODO(issue 12): the ZooKeeper backend (registry/zk) replaces this once merged.
  return () => {
    logger.warn("registry: no ZooKeeper backend in this build; pub/sub stay in this process", {
      session_timeout_ms: config.sessionTimeoutMs,
    });
    return new MemoryRegistry();
  };
}
