/**
 * Envoy v3 protobuf ⇄ plain objects, from the checked-in descriptor (src/xds/_protos/envoy_v3.json, made
 * by `make xds-protos`): no .proto file is read at run time, so this works in the compiled binary.
 */
import protobuf from "protobufjs";
import descriptor from "../_protos/envoy_v3.json" with { type: "json" };

/** The Envoy v3 descriptor, field names as in the .proto files (snake_case). */
export const XDS_PROTO_ROOT: protobuf.Root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);
XDS_PROTO_ROOT.resolveAll();

const TYPE_URL_PREFIX = "type.googleapis.com/";

export const TYPE_URL = {
  listener: `${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`,
  route: `${TYPE_URL_PREFIX}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`,
  endpoint: `${TYPE_URL_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
} as const;

/** A resource's name: `cluster_name` for a ClusterLoadAssignment, `name` for the others. */
export function xdsResourceName(resource: DecodedAny): string {
  return String(
    resource["@type"].endsWith(".ClusterLoadAssignment") ? resource.cluster_name ?? "" : resource.name ?? "",
  );
}

/** What an `Any` becomes: its type URL under `@type`, then the message's own fields. */
export type DecodedAny = { "@type": string; [field: string]: unknown };

/** Thrown for a type URL the descriptor does not hold, or bytes that are not that message. */
export class XdsDecodeError extends Error {
  override name = "XdsDecodeError";
}

/**
 * toObject options: enum names, numbers for 64-bit ints, only fields that are set, oneof names; bytes stay
 * Uint8Array here (an Any's payload is decoded from them directly) and `unpack` makes the rest arrays.
 */
const TO_OBJECT: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  defaults: false,
  oneofs: true,
};

/** Message name (a type URL's last segment) → its type. */
const typesByName = new Map<string, protobuf.Type>();

function lookupType(typeUrl: string): protobuf.Type | undefined {
  const slash = typeUrl.lastIndexOf("/");
  if (slash < 0) return undefined;
  // Keyed by the message name (any URL prefix names the same type), and only names that resolve are
  // kept: a peer's URLs cannot grow the map past the descriptor's types.
  const name = typeUrl.slice(slash + 1);
  const cached = typesByName.get(name);
  if (cached) return cached;
  const found = name ? XDS_PROTO_ROOT.lookup(name) : null;
  // lookup() also finds short names in nested namespaces; a type URL must name the message in full.
  if (!(found instanceof protobuf.Type) || found.fullName !== `.${name}`) return undefined;
  typesByName.set(name, found);
  return found;
}

function typeOf(typeUrl: string): protobuf.Type {
  const found = lookupType(typeUrl);
  if (!found) {
    throw new XdsDecodeError(`unknown type URL ${JSON.stringify(typeUrl)}: meshctl does not decode it`);
  }
  return found;
}

/** Whether meshctl's descriptor holds this type URL's message (nested `Any`s of other types stay packed). */
export function isKnownTypeUrl(typeUrl: string): boolean {
  return lookupType(typeUrl) !== undefined;
}

/**
 * Decodes one resource (an `Any`'s type_url and value) into a plain object. Nested `Any`s (typed_config,
 * transport_socket) are unpacked by their own type URL; one whose type meshctl does not know becomes
 * `{"@type": url}` only, so the converter reports it by name instead of the whole resource failing as
 * undecodable. Oneof markers are non-enumerable properties (see `unpack`). An unknown top-level type URL or bytes that do not parse: XdsDecodeError.
 */
export function decodeResource(typeUrl: string, value: Uint8Array): DecodedAny {
  const type = typeOf(typeUrl);
  let message: protobuf.Message;
  try {
    message = type.decode(value);
  } catch (e) {
    throw new XdsDecodeError(`${typeUrl}: not a valid ${type.name}: ${(e as Error).message}`);
  }
  const out: DecodedAny = { "@type": typeUrl };
  // Descriptors, not a spread: the oneof markers are non-enumerable and must come along.
  return Object.defineProperties(
    out,
    Object.getOwnPropertyDescriptors(unpack(type, type.toObject(message, TO_OBJECT))),
  );
}

const ANY = ".google.protobuf.Any";

function unpackAny(any: Record<string, unknown>): DecodedAny {
  const url = String(any.type_url ?? "");
  if (!isKnownTypeUrl(url)) return { "@type": url };
  const bytes = any.value instanceof Uint8Array ? any.value : Uint8Array.from((any.value as number[]) ?? []);
  return decodeResource(url, bytes);
}

/** A message-typed field `unpack` descends into: its type, and whether it is an `Any` to decode. */
interface MessageField {
  readonly name: string;
  readonly type: protobuf.Type;
  readonly any: boolean;
  readonly map: boolean;
  readonly repeated: boolean;
}

/**
 * Per message type, what `unpack` visits (computed once: protobufjs' reflection getters such as
 * `fullName` walk the namespace on every call): oneof names, message-typed fields, bytes fields.
 */
interface UnpackPlan {
  readonly oneofs: readonly string[];
  readonly messages: readonly MessageField[];
  /** Kept as Uint8Array by toObject (cheap for Any payloads); turned into number arrays for the converter. */
  readonly bytes: readonly string[];
}
const plans = new Map<protobuf.Type, UnpackPlan>();

function planOf(type: protobuf.Type): UnpackPlan {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = {
      oneofs: type.oneofsArray.map((o) => o.name),
      messages: type.fieldsArray.filter((f) => f.resolvedType instanceof protobuf.Type).map((f) => ({
        name: f.name,
        type: f.resolvedType as protobuf.Type,
        any: f.resolvedType!.fullName === ANY,
        map: f.map,
        repeated: f.repeated,
      })),
      bytes: type.fieldsArray.filter((f) => f.type === "bytes").map((f) => f.name),
    };
    plans.set(type, plan);
  }
  return plan;
}

/**
 * Walks `obj` by its type and replaces every `Any` with its decoded form. Oneof markers (toObject's
 * `address: "socket_address"`, naming the member that is set) stay readable but not enumerable, so a walk
 * over the fields (the converter's unsupported-field check, JSON) sees only real fields.
 */
function unpack(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const plan = planOf(type);
  for (const name of plan.oneofs) {
    if (typeof obj[name] !== "string") continue;
    Object.defineProperty(obj, name, { value: obj[name], enumerable: false });
  }
  for (const name of plan.bytes) {
    const v = obj[name];
    if (v instanceof Uint8Array) obj[name] = Array.from(v);
    else if (Array.isArray(v)) obj[name] = v.map((b) => (b instanceof Uint8Array ? Array.from(b) : b));
  }
  for (const field of plan.messages) {
    const v = obj[field.name];
    if (v === undefined) continue;
    const sub = field.type;
    const one = field.any
      ? (x: unknown) => unpackAny(x as Record<string, unknown>)
      : (x: unknown) => unpack(sub, x as Record<string, unknown>);
    if (field.map) {
      const m = v as Record<string, unknown>;
      for (const k of Object.keys(m)) m[k] = one(m[k]);
    } else if (field.repeated) {
      obj[field.name] = (v as unknown[]).map(one);
    } else {
      obj[field.name] = one(v);
    }
  }
  return obj;
}

/**
 * Encodes a plain object (snake_case fields; `Any`s as `{"@type": url, ...fields}`, or `{"@type": url,
 * value: bytes}` for a type outside the descriptor) into protobuf bytes:
 * what a control plane sends. Tests and the ADS client's control-plane peers use it.
 */
export function encodeResource(typeUrl: string, obj: Record<string, unknown>): Uint8Array {
  const type = typeOf(typeUrl);
  const { "@type": _t, ...fields } = obj;
  return type.encode(type.fromObject(pack(type, fields))).finish();
}

/** Packs `{"@type": url, ...}` objects into `{type_url, value}` for fromObject. */
function pack(type: protobuf.Type, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const field of type.fieldsArray) {
    const v = out[field.name];
    const sub = field.resolvedType;
    if (v === undefined || !(sub instanceof protobuf.Type)) continue;
    const one = (x: unknown) => {
      const o = x as Record<string, unknown>;
      if (sub.fullName !== ANY) return pack(sub, o);
      const url = String(o["@type"]);
      // A type meshctl does not know is sent as given (`value`: its bytes), as a control plane may.
      if (!isKnownTypeUrl(url)) return { type_url: url, value: o.value ?? new Uint8Array() };
      return { type_url: url, value: encodeResource(url, o) };
    };
    if (field.map) {
      out[field.name] = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, one(x)]),
      );
    } else if (field.repeated) out[field.name] = (v as unknown[]).map(one);
    else out[field.name] = one(v);
  }
  return out;
}
