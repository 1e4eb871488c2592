/**
 * The registry backend `serve` uses for the sidecar registry API: ZooKeeper (`registry/zk`), with the
 * session and connect timeouts of the `dubbo_registry` entry, counting into the server's stats.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import type { RegistryConfig } from "../config/mod.ts";
import { type RegistryConnector, ZkConnector } from "../registry/mod.ts";
import type { StatsRegistry } from "../stats/mod.ts";

export function createRegistryConnector(
  config: RegistryConfig,
  logger: Logger,
): (stats: StatsRegistry) => RegistryConnector {
  return (stats) =>
    new ZkConnector({
      registry: stats,
      logger,
      sessionTimeoutMs: config.sessionTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
    });
}
