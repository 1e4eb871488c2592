/**
 * The sidecar registry `serve` runs for an enabled `dubbo_registry` extend: `RegistryRuntime` over ZooKeeper
 * (`registry/zk`), with the session and connect timeouts of that entry, counting into the server's stats.
 * Loaded on demand (`createRegistryRuntime`): the registry module brings node-zookeeper-client and the
 * registry API server, which a meshctl without the extend never needs (~10 MiB RSS, `bench/rss_ab.ts`).
 * @module
 */
import type { Logger } from "../core/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import type { RegistryRuntime } from "./registry_runtime.ts";

/** Loads the registry modules and builds the runtime for `file` (its `registry` is set), not started. */
export async function createRegistryRuntime(file: ConfigSnapshot, logger: Logger): Promise<RegistryRuntime> {
  const config = file.registry;
  if (config === undefined) throw new Error("the config enables no registry");
  const [{ RegistryRuntime }, { ZkConnector }] = await Promise.all([
    import("./registry_runtime.ts"),
    import("../registry/mod.ts"),
  ]);
  return new RegistryRuntime({
    file,
    connector: (stats) =>
      new ZkConnector({
        registry: stats,
        logger,
        sessionTimeoutMs: config.sessionTimeoutMs,
        connectTimeoutMs: config.connectTimeoutMs,
      }),
    logger,
  });
}
