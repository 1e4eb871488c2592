/**
 * The registry backend `serve` uses for the sidecar registry API, built from the config's timeouts.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import type { RegistryConfig } from "../config/mod.ts";
import { MemoryRegistry, type RegistryConnector } from "../registry/mod.ts";

export function createRegistryConnector(config: RegistryConfig, logger: Logger): Promise<RegistryConnector> {
  // TODO(issue 12): the ZooKeeper backend (registry/zk) replaces this once merged.
  logger.warn("registry: no ZooKeeper backend in this build; pub/sub stay in this process", {
    session_timeout_ms: config.sessionTimeoutMs,
  });
  return Promise.resolve(new MemoryRegistry());
}
