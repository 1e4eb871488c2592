/**
 * The HTTP/2 frame layer (RFC 9113 §4–§6): constants, parsing one complete frame, serializing frames.
 *
 * It knows frames, not streams: every rule here depends only on a frame's own bytes and the local
 * SETTINGS_MAX_FRAME_SIZE (plus, optionally, which role sent it). Rules that need stream or connection
 * state (idle streams, CONTINUATION sequencing, window overflow, the first frame being SETTINGS) belong to
 * the connection built on top.
 *
 * Parsing is allocation-free: `parseFrame` fills a reused `ParsedFrame` with numbers and offsets into the
 * caller's buffer (no payload copy, no subarray) and returns it typed as the `Frame` union, or returns one
 * of a fixed set of preallocated `FrameError`s saying connection error or stream error and the code
 * (§5.4). Frames are found in the byte stream by `FrameReader` (`../xprotocol/`), whose `FrameSink`
 * delegates `frameLength` here.
 *
 * Serializing goes through `FrameWriter`, which encodes frames back to back into one shared slab and hands
 * them to the socket as one write on `flush()`, so the many small frames one read produces (SETTINGS ACK,
 * WINDOW_UPDATEs, response heads) cost one syscall; large DATA payloads are written as their own chunk,
 * uncopied.
 */
import type { MatchResult } from "../types.ts";
import { readU16, readU32, utf8Length, writeString, writeU16, writeU32 } from "../xprotocol/mod.ts";

// === Constants ===

/** Frame types (§6). `UNKNOWN` stands for every other wire type, which §4.1 says to ignore. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
  /** Not a wire value: an extension or unknown type; the wire value is in `wireType`. */
  UNKNOWN: -1,
} as const;
export type FrameType = typeof FrameType[keyof typeof FrameType];

const TYPE_NAMES = [
  "DATA",
  "HEADERS",
  "PRIORITY",
  "RST_STREAM",
  "SETTINGS",
  "PUSH_PROMISE",
  "PING",
  "GOAWAY",
  "WINDOW_UPDATE",
  "CONTINUATION",
];

/** "HEADERS", or "UNKNOWN(0xa)" for a wire type this layer does not know. */
export function frameTypeName(wireType: number): string {
  return TYPE_NAMES[wireType] ?? `UNKNOWN(0x${wireType.toString(16)})`;
}

/** Frame flags (§6). END_STREAM and ACK share a bit; which one it is depends on the type. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** The flags each known type defines; §4.1: the others are ignored on receipt and never sent. */
const DEFINED_FLAGS = [
  Flag.END_STREAM | Flag.PADDED, // DATA
  Flag.END_STREAM | Flag.END_HEADERS | Flag.PADDED | Flag.PRIORITY, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  Flag.ACK, // SETTINGS
  Flag.END_HEADERS | Flag.PADDED, // PUSH_PROMISE
  Flag.ACK, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  Flag.END_HEADERS, // CONTINUATION
];

/** Error codes (§7), for RST_STREAM and GOAWAY. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

const ERROR_NAMES = Object.keys(ErrorCode);

/** "PROTOCOL_ERROR"; unknown codes (§7: no special behaviour) as "0x1f". */
export function errorCodeName(code: number): string {
  return ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** SETTINGS identifiers (§6.5.2). Others are ignored on receipt. */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;
export type SettingId = typeof SettingId[keyof typeof SettingId];

/** Bytes in a frame header (§4.1). */
export const FRAME_HEADER_LENGTH = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value and lower bound: every peer accepts frames this large. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** The largest SETTINGS_MAX_FRAME_SIZE allowed, 2^24-1: the 24-bit length field's maximum. */
export const MAX_FRAME_SIZE_LIMIT = 0xffffff;
/** The largest flow-control window, 2^31-1 (§6.9.1). */
export const MAX_WINDOW_SIZE = 0x7fffffff;
/** SETTINGS_INITIAL_WINDOW_SIZE's initial value, also the connection window's (§6.9.2). */
export const DEFAULT_INITIAL_WINDOW_SIZE = 65535;
/** SETTINGS_HEADER_TABLE_SIZE's initial value. */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;

/** The values of the settings §6.5.2 defines. "Unlimited" is `Infinity`. */
export interface Settings {
  headerTableSize: number;
  enablePush: boolean;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
}

/** Every setting's initial value (§6.5.2), in force until the peer's SETTINGS says otherwise. */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  headerTableSize: DEFAULT_HEADER_TABLE_SIZE,
  enablePush: true,
  maxConcurrentStreams: Infinity,
  initialWindowSize: DEFAULT_INITIAL_WINDOW_SIZE,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxHeaderListSize: Infinity,
});

/** Allowed [min, max] of each defined setting (§6.5.2); indexed by id. */
export const SETTING_RANGES: Readonly<Record<SettingId, readonly [number, number]>> = Object.freeze(
  {
    [SettingId.HEADER_TABLE_SIZE]: [0, 0xffffffff],
    [SettingId.ENABLE_PUSH]: [0, 1],
    [SettingId.MAX_CONCURRENT_STREAMS]: [0, 0xffffffff],
    [SettingId.INITIAL_WINDOW_SIZE]: [0, MAX_WINDOW_SIZE],
    [SettingId.MAX_FRAME_SIZE]: [DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_LIMIT],
    [SettingId.MAX_HEADER_LIST_SIZE]: [0, 0xffffffff],
  } as const,
);

/** The client connection preface (§3.4): "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24 bytes. */
export const CLIENT_PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

// === Errors ===

/**
 * What a malformed frame means (§5.4): a connection error (GOAWAY with `code`, then close) or a stream
 * error (RST_STREAM with `code` on the frame's stream, which `ParsedFrame.streamId` still names).
 * The connection may always escalate a stream error to a connection error (§5.4), and must when the
 * stream is idle, since RST_STREAM cannot be sent on an idle stream (§6.4).
 *
 * Only a fixed set exists, created once: parsing never allocates, even for a peer sending garbage.
 */
export class FrameError {
  readonly code: ErrorCode;
  readonly scope: "connection" | "stream";
  /** Fit for GOAWAY debug data and logs. */
  readonly message: string;

  constructor(code: ErrorCode, scope: "connection" | "stream", message: string) {
    this.code = code;
    this.scope = scope;
    this.message = message;
  }

  get connection(): boolean {
    return this.scope === "connection";
  }

  toString(): string {
    return `${this.scope} error ${errorCodeName(this.code)}: ${this.message}`;
  }
}

function connectionError(code: ErrorCode, message: string): FrameError {
  return new FrameError(code, "connection", message);
}

const { PROTOCOL_ERROR, FRAME_SIZE_ERROR, FLOW_CONTROL_ERROR } = ErrorCode;

/** Every error parseFrame returns, keyed for tests and documentation. */
export const FRAME_ERRORS = {
  /** §4.2: a frame that can alter connection state (field block, SETTINGS, stream 0) is too large. */
  tooLargeConnection: connectionError(
    FRAME_SIZE_ERROR,
    "Cannot accept a frame larger than SETTINGS_MAX_FRAME_SIZE",
  ),
  /** §4.2: any other frame (DATA, PRIORITY, RST_STREAM, WINDOW_UPDATE, unknown on a stream). */
  tooLargeStream: new FrameError(
    FRAME_SIZE_ERROR,
    "stream",
    "Cannot accept a frame larger than SETTINGS_MAX_FRAME_SIZE",
  ),
  dataStream0: connectionError(PROTOCOL_ERROR, "Cannot accept DATA on stream 0"),
  /** §4.2: a PADDED DATA frame too short to hold its Pad Length. */
  dataTooShort: new FrameError(FRAME_SIZE_ERROR, "stream", "Cannot read the Pad Length of an empty DATA"),
  dataPadding: connectionError(PROTOCOL_ERROR, "Cannot accept DATA padding as long as its payload"),
  headersStream0: connectionError(PROTOCOL_ERROR, "Cannot accept HEADERS on stream 0"),
  headersTooShort: connectionError(FRAME_SIZE_ERROR, "Cannot read the padding or priority fields of HEADERS"),
  headersPadding: connectionError(PROTOCOL_ERROR, "Cannot accept HEADERS padding longer than its payload"),
  priorityStream0: connectionError(PROTOCOL_ERROR, "Cannot accept PRIORITY on stream 0"),
  priorityLength: new FrameError(FRAME_SIZE_ERROR, "stream", "Cannot accept PRIORITY whose length is not 5"),
  rstStream0: connectionError(PROTOCOL_ERROR, "Cannot accept RST_STREAM on stream 0"),
  rstLength: connectionError(FRAME_SIZE_ERROR, "Cannot accept RST_STREAM whose length is not 4"),
  settingsStream: connectionError(PROTOCOL_ERROR, "Cannot accept SETTINGS on a stream other than 0"),
  settingsAckLength: connectionError(FRAME_SIZE_ERROR, "Cannot accept a SETTINGS ACK with a payload"),
  settingsLength: connectionError(
    FRAME_SIZE_ERROR,
    "Cannot accept SETTINGS whose length is not a multiple of 6",
  ),
  settingsEnablePush: connectionError(PROTOCOL_ERROR, "Cannot accept SETTINGS_ENABLE_PUSH other than 0 or 1"),
  /** §6.5.2: a server must not enable push; a client treats 1 from a server as an error. */
  settingsServerPush: connectionError(PROTOCOL_ERROR, "Cannot accept SETTINGS_ENABLE_PUSH 1 from a server"),
  settingsWindow: connectionError(
    FLOW_CONTROL_ERROR,
    "Cannot accept SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
  ),
  settingsFrameSize: connectionError(
    PROTOCOL_ERROR,
    "Cannot accept SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1",
  ),
  /** §8.4: only servers push. */
  pushFromClient: connectionError(PROTOCOL_ERROR, "Cannot accept PUSH_PROMISE from a client"),
  pushStream0: connectionError(PROTOCOL_ERROR, "Cannot accept PUSH_PROMISE on stream 0"),
  pushTooShort: connectionError(FRAME_SIZE_ERROR, "Cannot read the Promised Stream ID of PUSH_PROMISE"),
  pushPadding: connectionError(PROTOCOL_ERROR, "Cannot accept PUSH_PROMISE padding longer than its payload"),
  /** §5.1.1: stream 0 cannot be opened. */
  pushPromised0: connectionError(PROTOCOL_ERROR, "Cannot accept PUSH_PROMISE promising stream 0"),
  pingStream: connectionError(PROTOCOL_ERROR, "Cannot accept PING on a stream other than 0"),
  pingLength: connectionError(FRAME_SIZE_ERROR, "Cannot accept PING whose length is not 8"),
  goawayStream: connectionError(PROTOCOL_ERROR, "Cannot accept GOAWAY on a stream other than 0"),
  goawayLength: connectionError(FRAME_SIZE_ERROR, "Cannot accept GOAWAY shorter than 8 bytes"),
  windowUpdateLength: connectionError(FRAME_SIZE_ERROR, "Cannot accept WINDOW_UPDATE whose length is not 4"),
  windowUpdateZeroConnection: connectionError(PROTOCOL_ERROR, "Cannot accept a WINDOW_UPDATE increment of 0"),
  windowUpdateZeroStream: new FrameError(
    PROTOCOL_ERROR,
    "stream",
    "Cannot accept a WINDOW_UPDATE increment of 0",
  ),
  continuationStream0: connectionError(PROTOCOL_ERROR, "Cannot accept CONTINUATION on stream 0"),
} as const;

const E = FRAME_ERRORS;

// === Parsing ===

/** What parseFrame checks frames against. */
export interface FrameLimits {
  /**
   * The largest payload accepted: this endpoint's SETTINGS_MAX_FRAME_SIZE (2^14 until it sends one; while a
   * change is unacknowledged, the larger of the old and new values). Larger frames are FRAME_SIZE_ERRORs.
   */
  readonly maxFrameSize: number;
  /**
   * Which role sent the frames, when known: a server sending SETTINGS_ENABLE_PUSH 1 (§6.5.2) or a client
   * sending PUSH_PROMISE (§8.4) is then a connection error. Unset, neither is checked.
   */
  readonly sender?: "client" | "server";
}

interface FrameHeader {
  /** The wire type byte (also for UNKNOWN frames). */
  readonly wireType: number;
  /** The flags the type defines (§4.1: the others are ignored); all of them for an UNKNOWN frame. */
  readonly flags: number;
  /** The stream identifier, reserved bit cleared (§4.1). */
  readonly streamId: number;
  /** Payload length from the header, padding included: what DATA costs in flow control (§6.9). */
  readonly length: number;
  /** The buffer the frame was parsed from; offsets below point into it. */
  readonly buf: Uint8Array;
  /** Offset of the frame header's first byte. */
  readonly offset: number;
}

/** Offsets of the part of the payload that carries content, padding and fixed fields excluded. */
interface FrameContent {
  readonly start: number;
  readonly end: number;
}

/** RFC 7540 priority fields (deprecated by RFC 9113 §5.3.2): parsed, for the connection to ignore. */
interface PriorityFields {
  readonly exclusive: boolean;
  readonly dependency: number;
  /** 1..256 (the wire value plus one). */
  readonly weight: number;
}

export interface DataFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.DATA;
  /** Padding bytes after the data (the Pad Length byte itself not counted). */
  readonly padLength: number;
  readonly endStream: boolean;
}

export interface HeadersFrame extends FrameHeader, FrameContent, PriorityFields {
  readonly type: typeof FrameType.HEADERS;
  readonly padLength: number;
  readonly endStream: boolean;
  readonly endHeaders: boolean;
  /** The PRIORITY flag was set (the priority fields are meaningful). */
  readonly hasPriority: boolean;
}

export interface PriorityFrame extends FrameHeader, PriorityFields {
  readonly type: typeof FrameType.PRIORITY;
}

export interface RstStreamFrame extends FrameHeader {
  readonly type: typeof FrameType.RST_STREAM;
  /** Possibly a code §7 does not define (no special behaviour). */
  readonly errorCode: number;
}

export interface SettingsFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.SETTINGS;
  readonly ack: boolean;
  /** Settings in the frame, unknown identifiers included; all values are valid. */
  readonly settingsCount: number;
  settingId(i: number): number;
  settingValue(i: number): number;
}

export interface PushPromiseFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.PUSH_PROMISE;
  readonly padLength: number;
  readonly endHeaders: boolean;
  readonly promisedStreamId: number;
}

export interface PingFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.PING;
  readonly ack: boolean;
}

export interface GoawayFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.GOAWAY;
  readonly lastStreamId: number;
  readonly errorCode: number;
}

export interface WindowUpdateFrame extends FrameHeader {
  readonly type: typeof FrameType.WINDOW_UPDATE;
  /** 1..2^31-1. */
  readonly increment: number;
}

export interface ContinuationFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.CONTINUATION;
  readonly endHeaders: boolean;
}

/** A frame of a type this layer does not know: to be ignored (§4.1, §5.5), except mid field block. */
export interface UnknownFrame extends FrameHeader, FrameContent {
  readonly type: typeof FrameType.UNKNOWN;
}

/** A parsed frame; `type` narrows it. Content offsets (`start`/`end`) point into `buf`. */
export type Frame =
  | DataFrame
  | HeadersFrame
  | PriorityFrame
  | RstStreamFrame
  | SettingsFrame
  | PushPromiseFrame
  | PingFrame
  | GoawayFrame
  | WindowUpdateFrame
  | ContinuationFrame
  | UnknownFrame;

const EMPTY = new Uint8Array(0);

/**
 * The reused record parseFrame fills (one per connection). It has every field of every frame type, so it
 * keeps one shape; read it through the `Frame` union parseFrame returns. Fields the type does not use
 * are left over from earlier frames. It points into the parsed buffer: valid while that buffer is.
 */
export class ParsedFrame {
  type: FrameType = FrameType.UNKNOWN;
  wireType = 0;
  flags = 0;
  streamId = 0;
  length = 0;
  buf: Uint8Array = EMPTY;
  offset = 0;
  start = 0;
  end = 0;
  padLength = 0;
  exclusive = false;
  dependency = 0;
  weight = 0;
  errorCode = 0;
  lastStreamId = 0;
  increment = 0;
  promisedStreamId = 0;
  settingsCount = 0;

  get endStream(): boolean {
    return (this.flags & Flag.END_STREAM) !== 0;
  }

  get endHeaders(): boolean {
    return (this.flags & Flag.END_HEADERS) !== 0;
  }

  get ack(): boolean {
    return (this.flags & Flag.ACK) !== 0;
  }

  get hasPriority(): boolean {
    return (this.flags & Flag.PRIORITY) !== 0;
  }

  settingId(i: number): number {
    return readU16(this.buf, this.start + 6 * i);
  }

  settingValue(i: number): number {
    return readU32(this.buf, this.start + 6 * i + 2);
  }
}

/**
 * The length of the frame starting at `buf[off]`, header included (9 + the 24-bit length), once its 9
 * header bytes are in `buf[off, end)`; 0 before. `FrameSink.frameLength` for `FrameReader`, built with
 * `headerBytes` = FRAME_HEADER_LENGTH. Its `maxFrameBytes` decides what an oversized frame costs:
 * 9 + the local SETTINGS_MAX_FRAME_SIZE rejects it unread, as a connection error (which §5.4 always
 * allows); 9 + MAX_FRAME_SIZE_LIMIT reads it so that parseFrame can answer DATA with a stream error.
 */
export function frameLength(buf: Uint8Array, off: number, end: number): number {
  if (end - off < FRAME_HEADER_LENGTH) return 0;
  return FRAME_HEADER_LENGTH + ((buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2]);
}

/**
 * Whether `buf[off, end)` starts with the client connection preface (§3.4): "match" once all 24 bytes
 * are there, "again" while what is there is a prefix of it, "fail" at the first byte that differs (a
 * connection error of type PROTOCOL_ERROR, or not HTTP/2 at all).
 */
export function matchClientPreface(buf: Uint8Array, off: number, end: number): MatchResult {
  const n = Math.min(end - off, CLIENT_PREFACE.length);
  for (let i = 0; i < n; i++) {
    if (buf[off + i] !== CLIENT_PREFACE[i]) return "fail";
  }
  return n === CLIENT_PREFACE.length ? "match" : "again";
}

/**
 * Parses the complete frame at `buf[off]` (header and payload within `buf[off, end)`; bytes after it are
 * not looked at) into `into`, and returns it typed by its `type`, or the error RFC 9113 prescribes.
 * Nothing is copied: content is `buf[frame.start, frame.end)`.
 *
 * On an error, `into` still holds the header fields (type, flags, stream, length), so a connection can
 * reset the right stream and still count a bad DATA frame against its window (§6.9). Pass one `into` per
 * connection: the default allocates a record per call.
 *
 * @throws {RangeError} when `buf[off, end)` holds less than the whole frame (a caller bug).
 */
export function parseFrame(
  buf: Uint8Array,
  off: number,
  end: number,
  limits: FrameLimits,
  into: ParsedFrame = new ParsedFrame(),
): Frame | FrameError {
  if (end - off < FRAME_HEADER_LENGTH) throw new RangeError("Cannot parse a frame from fewer than 9 bytes");
  const length = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
  const p = off + FRAME_HEADER_LENGTH;
  const e = p + length;
  if (e > end) throw new RangeError(`Cannot parse a frame of ${length} bytes from ${end - p} bytes`);
  const wireType = buf[off + 3];
  const streamId = readU32(buf, off + 5) & 0x7fffffff;
  const known = wireType < TYPE_NAMES.length;
  const flags = known ? buf[off + 4] & DEFINED_FLAGS[wireType] : buf[off + 4];
  into.type = known ? wireType as FrameType : FrameType.UNKNOWN;
  into.wireType = wireType;
  into.flags = flags;
  into.streamId = streamId;
  into.length = length;
  into.buf = buf;
  into.offset = off;
  into.start = p;
  into.end = e;
  into.padLength = 0;
  const f = into as unknown as Frame;

  if (length > limits.maxFrameSize) {
    // §4.2: connection error for frames that can alter connection state, else the stream's.
    const connectionWide = streamId === 0 || wireType === FrameType.HEADERS ||
      wireType === FrameType.PUSH_PROMISE || wireType === FrameType.CONTINUATION ||
      wireType === FrameType.SETTINGS;
    return connectionWide ? E.tooLargeConnection : E.tooLargeStream;
  }

  switch (wireType) {
    case FrameType.DATA: {
      if (streamId === 0) return E.dataStream0; // §6.1
      if ((flags & Flag.PADDED) === 0) return f;
      if (length < 1) return E.dataTooShort; // §4.2: too small for its mandatory Pad Length
      const pad = buf[p];
      if (pad >= length) return E.dataPadding; // §6.1
      into.padLength = pad;
      into.start = p + 1;
      into.end = e - pad;
      return f;
    }
    case FrameType.HEADERS: {
      if (streamId === 0) return E.headersStream0; // §6.2
      const padded = (flags & Flag.PADDED) !== 0;
      const fixed = (padded ? 1 : 0) + ((flags & Flag.PRIORITY) !== 0 ? 5 : 0);
      if (length < fixed) return E.headersTooShort; // §4.2, a field-block frame: connection error
      const pad = padded ? buf[p] : 0;
      // §6.2 (as DATA): the padding must leave room for the fields before it.
      if (pad > length - fixed) return E.headersPadding;
      if ((flags & Flag.PRIORITY) !== 0) readPriority(into, buf, padded ? p + 1 : p);
      else noPriority(into);
      into.padLength = pad;
      into.start = p + fixed;
      into.end = e - pad;
      return f;
    }
    case FrameType.PRIORITY:
      if (streamId === 0) return E.priorityStream0; // §6.3
      if (length !== 5) return E.priorityLength; // §6.3: a stream error
      readPriority(into, buf, p);
      return f;
    case FrameType.RST_STREAM:
      if (streamId === 0) return E.rstStream0; // §6.4
      if (length !== 4) return E.rstLength; // §6.4: a connection error
      into.errorCode = readU32(buf, p);
      return f;
    case FrameType.SETTINGS:
      return parseSettings(into, buf, p, e, flags, streamId, length, limits);
    case FrameType.PUSH_PROMISE: {
      if (limits.sender === "client") return E.pushFromClient; // §8.4
      if (streamId === 0) return E.pushStream0; // §6.6
      const padded = (flags & Flag.PADDED) !== 0;
      const fixed = padded ? 5 : 4;
      if (length < fixed) return E.pushTooShort; // §4.2
      const pad = padded ? buf[p] : 0;
      if (pad > length - fixed) return E.pushPadding; // §6.6
      const promised = readU32(buf, p + fixed - 4) & 0x7fffffff;
      if (promised === 0) return E.pushPromised0; // §5.1.1
      into.promisedStreamId = promised;
      into.padLength = pad;
      into.start = p + fixed;
      into.end = e - pad;
      return f;
    }
    case FrameType.PING:
      if (streamId !== 0) return E.pingStream; // §6.7
      if (length !== 8) return E.pingLength; // §6.7
      return f;
    case FrameType.GOAWAY:
      if (streamId !== 0) return E.goawayStream; // §6.8
      if (length < 8) return E.goawayLength; // §4.2: too small for its mandatory fields
      into.lastStreamId = readU32(buf, p) & 0x7fffffff;
      into.errorCode = readU32(buf, p + 4);
      into.start = p + 8;
      return f;
    case FrameType.WINDOW_UPDATE: {
      if (length !== 4) return E.windowUpdateLength; // §6.9: a connection error, on any stream
      const increment = readU32(buf, p) & 0x7fffffff;
      // §6.9: a stream error, or a connection error for the connection's window.
      if (increment === 0) return streamId === 0 ? E.windowUpdateZeroConnection : E.windowUpdateZeroStream;
      into.increment = increment;
      return f;
    }
    case FrameType.CONTINUATION:
      if (streamId === 0) return E.continuationStream0; // §6.10
      return f;
    default:
      return f; // §4.1: unknown types are the caller's to discard
  }
}

function readPriority(into: ParsedFrame, buf: Uint8Array, at: number): void {
  const dep = readU32(buf, at);
  into.exclusive = dep >= 0x80000000;
  into.dependency = dep & 0x7fffffff;
  into.weight = buf[at + 4] + 1;
}

/** RFC 7540 §5.3.5's defaults, so a HEADERS frame without priority fields reads as having them. */
function noPriority(into: ParsedFrame): void {
  into.exclusive = false;
  into.dependency = 0;
  into.weight = 16;
}

function parseSettings(
  into: ParsedFrame,
  buf: Uint8Array,
  p: number,
  e: number,
  flags: number,
  streamId: number,
  length: number,
  limits: FrameLimits,
): Frame | FrameError {
  if (streamId !== 0) return E.settingsStream; // §6.5
  if ((flags & Flag.ACK) !== 0 && length !== 0) return E.settingsAckLength; // §6.5
  if (length % 6 !== 0) return E.settingsLength; // §6.5
  for (let i = p; i < e; i += 6) {
    const value = readU32(buf, i + 2);
    switch (readU16(buf, i)) {
      case SettingId.ENABLE_PUSH:
        if (value > 1) return E.settingsEnablePush;
        if (value === 1 && limits.sender === "server") return E.settingsServerPush;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW_SIZE) return E.settingsWindow;
        break;
      case SettingId.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) return E.settingsFrameSize;
        break;
        // HEADER_TABLE_SIZE, MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE take any u32; others are ignored.
    }
  }
  into.settingsCount = length / 6;
  return into as unknown as Frame;
}

/**
 * Applies a parsed SETTINGS frame to `settings` in order (§6.5.3: the last value of an id wins), ignoring
 * identifiers §6.5.2 does not define. A changed initialWindowSize adjusts every stream window by the
 * difference (§6.9.2): compare before and after.
 */
export function applySettings(settings: Settings, frame: SettingsFrame): void {
  const n = frame.settingsCount;
  for (let i = 0; i < n; i++) {
    const value = frame.settingValue(i);
    switch (frame.settingId(i)) {
      case SettingId.HEADER_TABLE_SIZE:
        settings.headerTableSize = value;
        break;
      case SettingId.ENABLE_PUSH:
        settings.enablePush = value === 1;
        break;
      case SettingId.MAX_CONCURRENT_STREAMS:
        settings.maxConcurrentStreams = value;
        break;
      case SettingId.INITIAL_WINDOW_SIZE:
        settings.initialWindowSize = value;
        break;
      case SettingId.MAX_FRAME_SIZE:
        settings.maxFrameSize = value;
        break;
      case SettingId.MAX_HEADER_LIST_SIZE:
        settings.maxHeaderListSize = value;
        break;
    }
  }
}

// === Serializing ===

/** Writes a 9-byte frame header at `buf[off]` (the reserved bit left unset, §4.1). */
export function writeFrameHeader(
  buf: Uint8Array,
  off: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  buf[off] = length >>> 16;
  buf[off + 1] = (length >>> 8) & 0xff;
  buf[off + 2] = length & 0xff;
  buf[off + 3] = type;
  buf[off + 4] = flags;
  writeU32(buf, off + 5, streamId & 0x7fffffff);
}

/** Where a FrameWriter's bytes go; `ConnectionIO` (a `SocketIO`) is one. */
export interface FrameOutput {
  /**
   * `data` must stay unchanged until the promise settles (FrameWriter never reuses bytes it wrote). The
   * promise must not reject, as SocketIO's never do: the writer does not wait for every write.
   */
  write(data: Uint8Array): Promise<void>;
}

/** DATA payloads at least this large are written as their own chunk, uncopied; smaller ones are copied. */
export const DATA_COPY_LIMIT = 8 * 1024;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Output memory shared by every FrameWriter: 64 KiB slabs handed out by bump allocation and never
 * rewound, so bytes a write still in flight points at are never overwritten and no writer tracks its
 * writes. A connection holds no output buffer of its own between flushes, so an idle one costs none.
 */
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabPos = 0;

const SETTING_FIELDS: readonly [SettingId, keyof Settings][] = [
  [SettingId.HEADER_TABLE_SIZE, "headerTableSize"],
  [SettingId.ENABLE_PUSH, "enablePush"],
  [SettingId.MAX_CONCURRENT_STREAMS, "maxConcurrentStreams"],
  [SettingId.INITIAL_WINDOW_SIZE, "initialWindowSize"],
  [SettingId.MAX_FRAME_SIZE, "maxFrameSize"],
  [SettingId.MAX_HEADER_LIST_SIZE, "maxHeaderListSize"],
];

/**
 * Encodes frames back to back and writes them as one chunk on `flush()`: the connection queues every
 * frame one read or one batch of responses produces, then flushes once. Frames keep their order on the
 * wire: a DATA payload of at least DATA_COPY_LIMIT bytes flushes what is held (its own header included)
 * and is written after it as a separate chunk without copying.
 *
 * Arguments that would put a frame on the wire the peer must reject throw a RangeError (a caller bug).
 */
export class FrameWriter {
  readonly #out: FrameOutput;
  #maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  /** Held (encoded, not yet written) bytes are #buf[#start, #end). */
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** #buf is this writer's own (a held run larger than a slab), not the shared slab. */
  #own = false;

  constructor(out: FrameOutput) {
    this.#out = out;
  }

  /** The peer's SETTINGS_MAX_FRAME_SIZE: no frame written is longer (field blocks and DATA are split). */
  get maxFrameSize(): number {
    return this.#maxFrameSize;
  }

  set maxFrameSize(size: number) {
    if (!(size >= DEFAULT_MAX_FRAME_SIZE && size <= MAX_FRAME_SIZE_LIMIT)) {
      throw new RangeError(`Cannot use a maximum frame size of ${size}: it must be in 2^14..2^24-1`);
    }
    this.#maxFrameSize = size;
  }

  /** Bytes encoded and not yet handed to the output. */
  get held(): number {
    return this.#end - this.#start;
  }

  /** Returns where n more bytes go in #buf (contiguous with what is held), moving held bytes if needed. */
  #reserve(n: number): number {
    const end = this.#end;
    if (
      this.#own ? end + n <= this.#buf.length : this.#buf === slab && slabPos === end && end + n <= SLAB_SIZE
    ) {
      // Nothing was allocated after the held bytes: grow in place.
    } else {
      const held = end - this.#start;
      let buf: Uint8Array;
      let at: number;
      if (held + n > SLAB_SIZE) {
        // A huge field block gets a buffer of its own (with room for a few more frames), so it does not
        // replace the shared slab and pin that much memory after it is written.
        buf = new Uint8Array(held + n + 16 * 1024);
        at = 0;
        this.#own = true;
      } else {
        if (slabPos + held + n > SLAB_SIZE) {
          slab = new Uint8Array(SLAB_SIZE);
          slabPos = 0;
        }
        buf = slab;
        at = slabPos;
        this.#own = false;
      }
      if (held > 0) buf.set(this.#buf.subarray(this.#start, end), at);
      this.#buf = buf;
      this.#start = at;
      this.#end = at + held;
    }
    const at = this.#end;
    this.#end = at + n;
    if (!this.#own) slabPos = this.#end;
    return at;
  }

  /** Hands everything held to the output as one write. Resolves when it is written. */
  flush(): Promise<void> {
    const start = this.#start;
    const end = this.#end;
    if (end === start) return RESOLVED;
    const chunk = this.#buf.subarray(start, end);
    // Forget the buffer: a writer must not keep a slab (or its own buffer) alive while idle.
    this.#buf = EMPTY;
    this.#start = this.#end = 0;
    this.#own = false;
    return this.#out.write(chunk);
  }

  /**
   * SETTINGS with the given values, in identifier order (§6.5); omitted ones are not sent. "Unlimited"
   * (Infinity) cannot be sent: it is every peer's initial value, so omit it.
   */
  settings(values: Partial<Readonly<Settings>> = {}): void {
    let n = 0;
    for (const [id, name] of SETTING_FIELDS) {
      const v = values[name];
      if (v === undefined) continue;
      const value = typeof v === "boolean" ? +v : v;
      const [min, max] = SETTING_RANGES[id];
      if (!(Number.isInteger(value) && value >= min && value <= max)) {
        throw new RangeError(
          `Cannot send SETTINGS ${name} ${value}: it must be an integer in ${min}..${max}`,
        );
      }
      n++;
    }
    const at = this.#reserve(FRAME_HEADER_LENGTH + 6 * n);
    const buf = this.#buf;
    writeFrameHeader(buf, at, 6 * n, FrameType.SETTINGS, 0, 0);
    let p = at + FRAME_HEADER_LENGTH;
    for (const [id, name] of SETTING_FIELDS) {
      const v = values[name];
      if (v === undefined) continue;
      writeU16(buf, p, id);
      writeU32(buf, p + 2, typeof v === "boolean" ? +v : v);
      p += 6;
    }
  }

  /** An empty SETTINGS with ACK (§6.5.3), once the peer's settings are applied. */
  settingsAck(): void {
    const at = this.#reserve(FRAME_HEADER_LENGTH); // first: reserving may move #buf
    writeFrameHeader(this.#buf, at, 0, FrameType.SETTINGS, Flag.ACK, 0);
  }

  /** PING with the 8 opaque bytes at `data[off]` (§6.7); an answer sets `ack` and echoes the payload. */
  ping(ack: boolean, data: Uint8Array, off = 0): void {
    if (data.length - off < 8) throw new RangeError("Cannot send PING without 8 bytes of opaque data");
    const at = this.#reserve(FRAME_HEADER_LENGTH + 8);
    const buf = this.#buf;
    writeFrameHeader(buf, at, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
    for (let i = 0; i < 8; i++) buf[at + FRAME_HEADER_LENGTH + i] = data[off + i];
  }

  /** GOAWAY (§6.8); `debug` (UTF-8 for a string) is cut to fit one frame. */
  goaway(lastStreamId: number, code: number, debug: Uint8Array | string = ""): void {
    const room = this.#maxFrameSize - 8;
    if (typeof debug === "string") {
      const n = utf8Length(debug);
      if (n <= room) {
        const at = this.#goawayHeader(lastStreamId, code, n); // before reading #buf: reserving may move it
        writeString(this.#buf, at, debug);
        return;
      }
      debug = new TextEncoder().encode(debug); // rare: cut the bytes, not the string
    }
    const n = Math.min(debug.length, room);
    const at = this.#goawayHeader(lastStreamId, code, n);
    this.#buf.set(n === debug.length ? debug : debug.subarray(0, n), at);
  }

  /** Reserves a GOAWAY with `n` bytes of debug data, writes all but those; returns where they go. */
  #goawayHeader(lastStreamId: number, code: number, n: number): number {
    const at = this.#reserve(FRAME_HEADER_LENGTH + 8 + n);
    const buf = this.#buf;
    writeFrameHeader(buf, at, 8 + n, FrameType.GOAWAY, 0, 0);
    writeU32(buf, at + 9, lastStreamId & 0x7fffffff);
    writeU32(buf, at + 13, code);
    return at + 17;
  }

  /** RST_STREAM (§6.4). */
  rstStream(streamId: number, code: number): void {
    if (streamId <= 0) throw new RangeError("Cannot send RST_STREAM on stream 0");
    const at = this.#reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.#buf, at, 4, FrameType.RST_STREAM, 0, streamId);
    writeU32(this.#buf, at + 9, code);
  }

  /** WINDOW_UPDATE (§6.9) for a stream, or for the connection on stream 0. */
  windowUpdate(streamId: number, increment: number): void {
    if (!(increment >= 1 && increment <= MAX_WINDOW_SIZE)) {
      throw new RangeError(`Cannot send a WINDOW_UPDATE increment of ${increment}: it must be in 1..2^31-1`);
    }
    const at = this.#reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.#buf, at, 4, FrameType.WINDOW_UPDATE, 0, streamId);
    writeU32(this.#buf, at + 9, increment);
  }

  /** PRIORITY (§6.3, deprecated); `weight` 1..256. */
  priority(streamId: number, dependency: number, weight: number, exclusive: boolean): void {
    if (streamId <= 0) throw new RangeError("Cannot send PRIORITY on stream 0");
    const at = this.#reserve(FRAME_HEADER_LENGTH + 5);
    const buf = this.#buf;
    writeFrameHeader(buf, at, 5, FrameType.PRIORITY, 0, streamId);
    writeU32(buf, at + 9, (dependency & 0x7fffffff) | (exclusive ? 0x80000000 : 0));
    buf[at + 13] = (weight - 1) & 0xff;
  }

  /**
   * A field block (from the HPACK encoder) as HEADERS, followed by CONTINUATION frames when it is larger
   * than maxFrameSize; END_HEADERS is on the last frame, END_STREAM on the HEADERS frame (§6.2, §6.10).
   * The frames are written together (nothing may come between them, §6.10).
   */
  headers(streamId: number, block: Uint8Array, endStream: boolean, padLength = 0): void {
    if (streamId <= 0) throw new RangeError("Cannot send HEADERS on stream 0");
    const first = this.#padded(FrameType.HEADERS, padLength);
    this.#fieldBlock(
      FrameType.HEADERS,
      endStream ? Flag.END_STREAM : 0,
      streamId,
      -1,
      block,
      first,
      padLength,
    );
  }

  /** PUSH_PROMISE (§6.6) reserving `promisedStreamId`, split into CONTINUATION frames like headers(). */
  pushPromise(streamId: number, promisedStreamId: number, block: Uint8Array, padLength = 0): void {
    if (streamId <= 0 || promisedStreamId <= 0) throw new RangeError("Cannot send PUSH_PROMISE for stream 0");
    const first = this.#padded(FrameType.PUSH_PROMISE, padLength) - 4;
    this.#fieldBlock(FrameType.PUSH_PROMISE, 0, streamId, promisedStreamId, block, first, padLength);
  }

  /** Room for content in the first frame of a (possibly padded) frame type. */
  #padded(type: number, padLength: number): number {
    if (!(padLength >= 0 && padLength <= 255)) {
      throw new RangeError(`Cannot pad ${frameTypeName(type)} with ${padLength} bytes: at most 255`);
    }
    return this.#maxFrameSize - (padLength > 0 ? 1 + padLength : 0);
  }

  #fieldBlock(
    type: number,
    flags: number,
    streamId: number,
    promised: number,
    block: Uint8Array,
    firstRoom: number,
    padLength: number,
  ): void {
    const max = this.#maxFrameSize;
    const total = block.length;
    const fixed = (padLength > 0 ? 1 : 0) + (promised > 0 ? 4 : 0);
    const firstLen = Math.min(total, firstRoom);
    const rest = total - firstLen;
    const continuations = rest === 0 ? 0 : Math.ceil(rest / max);
    let at = this.#reserve(
      FRAME_HEADER_LENGTH + fixed + firstLen + padLength + continuations * FRAME_HEADER_LENGTH + rest,
    );
    const buf = this.#buf;
    if (padLength > 0) flags |= Flag.PADDED;
    if (continuations === 0) flags |= Flag.END_HEADERS;
    writeFrameHeader(buf, at, fixed + firstLen + padLength, type, flags, streamId);
    at += FRAME_HEADER_LENGTH;
    if (padLength > 0) buf[at++] = padLength;
    if (promised > 0) {
      writeU32(buf, at, promised & 0x7fffffff);
      at += 4;
    }
    buf.set(firstLen === total ? block : block.subarray(0, firstLen), at);
    at += firstLen;
    if (padLength > 0) {
      buf.fill(0, at, at + padLength);
      at += padLength;
    }
    for (let done = firstLen; done < total;) {
      const n = Math.min(max, total - done);
      const last = done + n === total;
      writeFrameHeader(buf, at, n, FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, streamId);
      at += FRAME_HEADER_LENGTH;
      buf.set(block.subarray(done, done + n), at);
      at += n;
      done += n;
    }
  }

  /**
   * `chunk` as DATA frames of at most maxFrameSize (each padded by `padLength` when given), END_STREAM on
   * the last (§6.1). Flow control is the caller's: it sends no more than the windows allow.
   *
   * Frames under DATA_COPY_LIMIT are copied and held; larger ones flush what is held and go out as their
   * own write, uncopied. Resolves once `chunk` may be reused: at once when it was copied.
   */
  data(streamId: number, chunk: Uint8Array, endStream: boolean, padLength = 0): Promise<void> {
    if (streamId <= 0) throw new RangeError("Cannot send DATA on stream 0");
    const room = this.#padded(FrameType.DATA, padLength);
    const total = chunk.length;
    let done = 0;
    let written = RESOLVED;
    do {
      const n = Math.min(room, total - done);
      const last = done + n === total;
      const flags = (last && endStream ? Flag.END_STREAM : 0) | (padLength > 0 ? Flag.PADDED : 0);
      const copy = n < DATA_COPY_LIMIT;
      const head = FRAME_HEADER_LENGTH + (padLength > 0 ? 1 : 0);
      let at = this.#reserve(copy ? head + n + padLength : head);
      const buf = this.#buf;
      writeFrameHeader(buf, at, n + (padLength > 0 ? 1 + padLength : 0), FrameType.DATA, flags, streamId);
      at += FRAME_HEADER_LENGTH;
      if (padLength > 0) buf[at++] = padLength;
      if (copy) {
        if (n > 0) buf.set(n === total ? chunk : chunk.subarray(done, done + n), at);
        at += n;
      } else {
        void this.flush();
        written = this.#out.write(n === total ? chunk : chunk.subarray(done, done + n));
        if (padLength > 0) at = this.#reserve(padLength);
      }
      if (padLength > 0) this.#buf.fill(0, at, at + padLength);
      done += n;
    } while (done < total);
    return written;
  }

  /** Any frame, e.g. an extension type (§5.5), with `payload` copied. No checks beyond the length. */
  frame(type: number, flags: number, streamId: number, payload: Uint8Array = EMPTY): void {
    if (payload.length > this.#maxFrameSize) {
      throw new RangeError(
        `Cannot send a ${payload.length}-byte frame: the peer accepts ${this.#maxFrameSize}`,
      );
    }
    const at = this.#reserve(FRAME_HEADER_LENGTH + payload.length);
    writeFrameHeader(this.#buf, at, payload.length, type, flags, streamId);
    this.#buf.set(payload, at + FRAME_HEADER_LENGTH);
  }
}
