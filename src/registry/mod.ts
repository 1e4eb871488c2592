/**
 * Service registries: publish this sidecar's services and discover providers (ZooKeeper, in Dubbo's and
 * SOFA RPC's layouts), and the sidecar API applications use for it (`api/`). The module's one door.
 * @module
 */
export type * from "./types.ts";
export { memoryNodePath, MemoryRegistry } from "./memory.ts";
export { RegistryApi } from "./api/registry_api.ts";
export type { RegistryApiOptions, RegistryView } from "./api/registry_api.ts";
export { serveRegistryApi } from "./api/server.ts";
export type { RegistryApiServer } from "./api/server.ts";
export { checkRegistryAddr, parseServiceRequest } from "./api/request.ts";
export type { ServiceRequest } from "./api/request.ts";
export { consumerUrl, providerUrl } from "./api/urls.ts";
export { DEFAULT_WEIGHT, javaUrlEncode, providerOf } from "./_url_codec.ts";
