/**
 * Envoy's v3 protos for the ADS client: the generated, checked-in descriptor (`src/xds/_protos/envoy_v3.json`,
 * `make xds-protos`) that the converter decodes with too. No .proto file is read at run time, so the
 * compiled binary needs no node_modules and no file permission for it.
 * @module
 */
import * as protoLoader from "@grpc/proto-loader";
import type protobuf from "protobufjs";
import { XDS_PROTO_ROOT } from "../convert/decode.ts";

/**
 * How messages map to JS objects: proto field names (snake_case, as Envoy's JSON and the converter use),
 * 64-bit integers as strings (exact), enums by name, oneofs named. The same for the gRPC (de)serializers.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

export interface AdsProtos {
  /** Every loaded message type, for decoding resources (`root.lookupType(name)`). */
  readonly root: protobuf.Root;
  /** For `@grpc/grpc-js`: the ADS service and its DiscoveryRequest/Response (de)serializers. */
  readonly packageDefinition: protoLoader.PackageDefinition;
}

let cached: AdsProtos | undefined;

/** Built once per process from the descriptor. */
export function adsProtos(): AdsProtos {
  if (cached) return cached;
  const root = XDS_PROTO_ROOT;
  cached = { root, packageDefinition: protoLoader.fromJSON(root.toJSON(), LOADER_OPTIONS) };
  return cached;
}

/** The protobuf type name of a type URL ("type.googleapis.com/envoy.config.cluster.v3.Cluster" → "envoy.config.cluster.v3.Cluster"). */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

/**
 * A `decode(typeUrl, bytes)` for tests and until the converter's own decoder lands: protobufjs decoding
 * into plain objects with `LOADER_OPTIONS`' conventions. Throws on bytes that are not that message.
 */
export function protobufDecode(typeUrl: string, bytes: Uint8Array): Record<string, unknown> {
  const type = adsProtos().root.lookupType(typeNameOf(typeUrl));
  return type.toObject(type.decode(bytes), { longs: String, enums: String, oneofs: true }) as Record<
    string,
    unknown
  >;
}

/** Encodes a plain object as `typeUrl`'s message (for the test control plane). */
export function protobufEncode(typeUrl: string, value: Record<string, unknown>): Uint8Array {
  const type = adsProtos().root.lookupType(typeNameOf(typeUrl));
  // fromObject, not verify(): verify rejects enum names, which fromObject maps to numbers.
  return type.encode(type.fromObject(value)).finish();
}
