/**
 * The gRPC unary call of the benchmark: one length-prefixed message each way (gRPC over HTTP/2: a 1-byte
 * compressed flag, a 4-byte big-endian length, then the protobuf message). The messages are a protobuf
 * `{ string name = 1; }`, written out by hand so no proto compiler is needed.
 */

/** gRPC method path the load generator calls; the origin answers any gRPC path the same way. */
export const GRPC_PATH = "/meshctl.bench.Echo/Unary";

/** One protobuf message with field 1 (length-delimited) = `text`, framed as one gRPC message. */
export function grpcMessage(text: string): Uint8Array {
  const value = new TextEncoder().encode(text);
  if (value.length > 127) throw new RangeError("Cannot frame a name longer than 127 bytes");
  const proto = new Uint8Array([0x0a, value.length, ...value]); // tag: field 1, wire type 2
  const out = new Uint8Array(5 + proto.length);
  new DataView(out.buffer).setUint32(1, proto.length); // out[0] = 0: not compressed
  out.set(proto, 5);
  return out;
}

/** The request message (12 bytes: 5 of framing, 7 of protobuf). */
export const GRPC_REQUEST: Uint8Array = grpcMessage("hello");
/** The reply message (15 bytes). */
export const GRPC_REPLY: Uint8Array = grpcMessage("hi, bench");
