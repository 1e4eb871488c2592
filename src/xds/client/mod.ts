/**
 * The SotW ADS client (protocol only; what resources mean is the integrator's `decode` + `apply`).
 * @module
 */
export { ADS_DEFAULTS, AdsClient, TYPE_URL } from "./ads_client.ts";
export type {
  AdsClientOptions,
  AdsDescription,
  AdsObserver,
  AdsTypeDescription,
  ApplyHook,
  ApplyResult,
  DecodeResource,
  NackRecord,
} from "./ads_client.ts";
export { protobufDecode } from "./_protos.ts";
