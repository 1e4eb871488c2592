/**
 * Service registries: publish this sidecar's services and discover providers (ZooKeeper, in Dubbo's and
 * SOFA RPC's layouts), and the sidecar API applications use for it (`api/`). The module's one door.
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
  SOFA_DEFAULT_VERSION,
  sofaConsumerUrl,
  sofaProviderUrl,
  sofaServiceName,
} from "./url.ts";
export type { DubboUrlOptions, ParsedRegistryUrl, RegistryUrlBase, SofaUrlOptions } from "./url.ts";
export { SESSION_STATE_CODE, ZK_DEFAULTS, ZkConnector, ZkRegistryClient } from "./zk/client.ts";
export type { ZkClientDescription, ZkClientOptions, ZkConnectorOptions, ZkObserver } from "./zk/client.ts";
export { parseZkAddress } from "./zk/address.ts";
export type { ZkAddress } from "./zk/address.ts";
export { memoryNodePath, MemoryRegistry } from "./memory.ts";
export { RegistryApi } from "./api/registry_api.ts";
export type { RegistryApiOptions, RegistryView, SubscribedRoute } from "./api/registry_api.ts";
export { serveRegistryApi } from "./api/server.ts";
export type { RegistryApiServer } from "./api/server.ts";
export { checkRegistryAddr, parseServiceRequest } from "./api/request.ts";
export type { ServiceRequest } from "./api/request.ts";
