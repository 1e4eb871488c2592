/**
 * xDS: live configuration from a control plane (Envoy v3 ADS). Layer 2: imports core, config and stats only.
 * @module
 */
export * from "./client/mod.ts";

// === convert (src/xds/convert): Envoy v3 protobuf → MOSN config document ===
export type { DecodedAny } from "./convert/decode.ts";
export {
  decodeResource,
  encodeResource,
  isKnownTypeUrl,
  TYPE_URL,
  XDS_PROTO_ROOT,
  XdsDecodeError,
  xdsResourceName,
} from "./convert/decode.ts";
export type { ConvertedXds, ConvertOptions, XdsResources } from "./convert/convert.ts";
export { ConversionNotes, MAX_REMEMBERED_NOTES } from "./convert/notes.ts";
export {
  convertXdsResources,
  edsServiceName,
  ENVOY_DEFAULT_ROUTE_TIMEOUT,
  MOSN_MAX_HOST_WEIGHT,
  mosnDocument,
} from "./convert/convert.ts";
// === end convert ===
