/**
 * Service registries: publish this sidecar's services and discover providers (ZooKeeper, in Dubbo's and
 * SOFA RPC's layouts). The module's one door.
 * @module
 */
export type * from "./types.ts";
export {
  DEFAULT_PROVIDER_WEIGHT,
  dubboConsumerUrl,
  dubboProviderUrl,
  interfacePathProblem,
  javaUrlDecode,
  javaUrlEncode,
  layoutRoot,
  parseProviderNode,
  parseRegistryUrl,
  providerMatches,
  registryNodePath,
  registryRolePath,
  sofaConsumerUrl,
  sofaProviderUrl,
} from "./url.ts";
export type { DubboUrlOptions, ParsedRegistryUrl, RegistryUrlBase, SofaUrlOptions } from "./url.ts";
export { SESSION_STATE_CODE, ZK_DEFAULTS, ZkConnector, ZkRegistryClient } from "./zk/client.ts";
export type { ZkClientDescription, ZkClientOptions, ZkConnectorOptions, ZkObserver } from "./zk/client.ts";
export { parseZkAddress } from "./zk/address.ts";
export type { ZkAddress } from "./zk/address.ts";
