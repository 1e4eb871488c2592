/**
 * Protocol-independent pieces of MOSN's XProtocol engine, shared by the framed RPC codecs (bolt, dubbo):
 * frame accumulation across reads, pending-stream maps with id allocation and deadlines, a header map
 * that tracks edits, and big-endian byte helpers.
 * @module
 */
export { BUFFER_BUDGET_EXHAUSTED, FRAME_TOO_LARGE, FrameReader } from "./frame_reader.ts";
export type { FrameSink } from "./frame_reader.ts";
export { StreamMap } from "./stream_map.ts";
export type { StreamMapOptions, StreamTimeoutSink } from "./stream_map.ts";
export { KvHeaderMap } from "./kv_header_map.ts";
export { afterFeed, closeAndResetStreams, unsentSince } from "./connection_life.ts";
export type { PendingUpstreamStream } from "./connection_life.ts";
export {
  decodeString,
  readI32,
  readU16,
  readU32,
  utf8Length,
  writeString,
  writeU16,
  writeU32,
} from "./bytes.ts";
