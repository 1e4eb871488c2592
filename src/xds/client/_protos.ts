/**
 * Envoy's v3 protos for the ADS client, loaded in this one place so the lead can switch it to the generated,
 * checked-in descriptor (`src/xds/_protos/`, protobufjs JSON) once it lands: `deno compile`'s binary cannot
 * read node_modules' .proto files at run time. Today this reads them from `@grpc/grpc-js-xds`'s `deps/`.
 *
 * Needs `--allow-read` of node_modules. Not `--allow-sys=uid`: imports are resolved here (statSync over the
 * include dirs), not by proto-loader's `loadSync`, whose fs use is what wants it.
 * @module
 */
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

const DEPS = new URL("../../../node_modules/@grpc/grpc-js-xds/deps/", import.meta.url).pathname;
const INCLUDE_DIRS = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => DEPS + d);

/** ADS itself plus the four resource types the client subscribes to (their closure is ~71 files). */
const ENTRY_FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
];

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

/** Loads once per process (0.1–0.3 s). */
export function adsProtos(): AdsProtos {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith("/")) return target;
    for (const dir of INCLUDE_DIRS) {
      const full = `${dir}/${target}`;
      try {
        Deno.statSync(full);
        return full;
      } catch { /* next include dir */ }
    }
    return target; // protobufjs' bundled google/protobuf/*.proto
  };
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  const packageDefinition = protoLoader.fromJSON(root.toJSON(), LOADER_OPTIONS);
  cached = { root, packageDefinition };
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
