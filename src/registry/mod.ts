/**
 * Service registries: publish this sidecar's services and discover providers (ZooKeeper, in Dubbo's and
 * SOFA RPC's layouts). The module's one door.
 * @module
 */
export type * from "./types.ts";
