/**
 * Bolt frames: length sniffing, decoding into request/response heads that keep the raw frame, and
 * encoding. v1 and v2 share one field order; v2 adds ver1 after the protocol byte and a switch byte
 * after codec, so every field after `proto` shifts by one (up to codec) or two (after it).
 *
 * A v2 frame with ver1 2 whose switch byte has its CRC bit (bit 0) set ends with a CRC-32 of every byte
 * before it, from the protocol code to the end of the content, big-endian: SOFA bolt's
 * `RpcCommandDecoderV2`/`EncoderV2` (`ProtocolSwitch.CRC_SWITCH_INDEX`, `CrcUtil.crc32`). Such frames are
 * checked on receipt (a mismatch is a protocol error, counted as `bolt_crc32_mismatch_total`) and their
 * CRC is written again on every send, since the request id meshctl rewrites is covered by it.
 */
import zlib from "node:zlib";
import type { Counter, Scope } from "../../stats/mod.ts";
import type { HeaderMap, RequestHead, ResponseHead } from "../types.ts";
import {
  BUFFER_BUDGET_EXHAUSTED,
  decodeString,
  KvHeaderMap,
  readI32,
  readU16,
  readU32,
  utf8Length,
  writeString,
  writeU16,
  writeU32,
} from "../xprotocol/mod.ts";
import {
  boltStatusToHttp,
  CMD_GOAWAY,
  CMD_HEARTBEAT,
  CMD_REQUEST,
  CMD_RESPONSE,
  CODEC_HESSIAN2,
  MAX_HEADER_MAP_BYTES,
  PROTOCOL_V1,
  PROTOCOL_V2,
  STATUS_SUCCESS,
  SWITCH_CRC,
  TYPE_ONEWAY,
  TYPE_REQUEST,
  TYPE_RESPONSE,
  VER1_CRC,
  VER1_PLAIN,
} from "./constants.ts";

export type BoltVersion = 1 | 2;

/** frameLength error codes (negative, as FrameSink wants). */
export const ERR_UNKNOWN_PROTOCOL = -1;
export const ERR_UNKNOWN_TYPE = -2;
export const ERR_UNSUPPORTED_VER1 = -3;
export const ERR_HEADER_TOO_LARGE = -4;

/** Human-readable reason for a frameLength error code. */
export function frameErrorMessage(code: number): string {
  switch (code) {
    case ERR_UNKNOWN_PROTOCOL:
      return "unknown bolt protocol code";
    case ERR_UNKNOWN_TYPE:
      return "unknown bolt command type";
    case ERR_UNSUPPORTED_VER1:
      return "unsupported boltv2 ver1 (expected 1, or 2 for frames that may carry a CRC32)";
    case ERR_HEADER_TOO_LARGE:
      return "bolt header map larger than the configured limit";
    case BUFFER_BUDGET_EXHAUSTED:
      return "the process-wide buffer budget cannot hold this partial bolt frame";
    default:
      return "bolt frame larger than the configured limit";
  }
}

/** CRC-32 (java.util.zip.CRC32's) of `b[start, end)`, unsigned. zlib's native one: ~50× the JS tables. */
export function crc32(b: Uint8Array, start = 0, end = b.length): number {
  return (zlib as unknown as { crc32(data: Uint8Array): number }).crc32(b.subarray(start, end)) >>> 0;
}

/** True when a v2 frame with these ver1 and switch bytes ends with a CRC-32 (SOFA bolt's rule). */
export function hasCrc32(ver1: number, switchCode: number): boolean {
  return ver1 === VER1_CRC && (switchCode & SWITCH_CRC) !== 0;
}

/** Header size for a version and command type. */
function headerSize(version: BoltVersion, type: number): number {
  return (type === TYPE_RESPONSE ? 20 : 22) + (version === 2 ? 2 : 0);
}

/**
 * Total length of the frame at `buf[off]`, 0 when more bytes are needed, < 0 on garbage.
 * In every layout the header ends with classLen u16, headerLen u16, contentLen u32.
 */
export function boltFrameLength(buf: Uint8Array, off: number, end: number, maxHeaderBytes: number): number {
  const avail = end - off;
  if (avail < 1) return 0;
  const proto = buf[off];
  let hdr: number;
  if (proto === PROTOCOL_V1) {
    if (avail < 2) return 0;
    const type = buf[off + 1];
    if (type > TYPE_ONEWAY) return ERR_UNKNOWN_TYPE;
    hdr = headerSize(1, type);
  } else if (proto === PROTOCOL_V2) {
    if (avail < 3) return 0;
    const ver1 = buf[off + 1];
    if (ver1 !== VER1_PLAIN && ver1 !== VER1_CRC) return ERR_UNSUPPORTED_VER1;
    const type = buf[off + 2];
    if (type > TYPE_ONEWAY) return ERR_UNKNOWN_TYPE;
    hdr = headerSize(2, type);
  } else {
    return ERR_UNKNOWN_PROTOCOL;
  }
  if (avail < hdr) return 0;
  const headerLen = readU16(buf, off + hdr - 6);
  if (headerLen > maxHeaderBytes) return ERR_HEADER_TOO_LARGE;
  const crc = proto === PROTOCOL_V2 && hasCrc32(buf[off + 1]!, buf[off + 11]!) ? 4 : 0;
  return hdr + readU16(buf, off + hdr - 8) + headerLen + readU32(buf, off + hdr - 4) + crc;
}

/**
 * The header map in `b[start, end)`, checked now and decoded only when read (KvHeaderMap's raw mode:
 * lookups scan the frame's bytes); undefined when an entry overruns it.
 */
function decodeHeaderMap(b: Uint8Array, start: number, end: number): KvHeaderMap | undefined {
  return KvHeaderMap.fromLengthPrefixed(b, start, end);
}

/** Fields shared by request and response heads; offsets into `frame`. */
abstract class BoltHead {
  /** The whole frame as received; `encode` patches its id in place. */
  frame: Uint8Array;
  readonly version: BoltVersion;
  /** 0 response, 1 request, 2 oneway. */
  readonly type: number;
  readonly cmdCode: number;
  /** The id the frame arrived with. */
  readonly requestId: number;
  /** Serialization of the content (1 = hessian2). */
  readonly codec: number;
  /** v2 switch byte (0 in v1); bit 0 asks for a CRC-32 when ver1 is 2. */
  readonly switchCode: number;
  /** v2 ver1 byte: 1, or 2 when the frame may carry a CRC-32 (1 in v1, which has none). */
  readonly ver1: number;
  /** The frame ends with a CRC-32 of the bytes before it. */
  readonly crc32: boolean;
  readonly headers: KvHeaderMap;
  readonly #hdr: number;
  readonly #classLen: number;
  readonly #headerLen: number;

  constructor(frame: Uint8Array, version: BoltVersion, headers: KvHeaderMap) {
    this.frame = frame;
    this.version = version;
    const s = version - 1;
    this.type = frame[1 + s];
    this.cmdCode = readU16(frame, 2 + s);
    this.requestId = readU32(frame, 5 + s);
    this.codec = frame[9 + s];
    this.switchCode = version === 2 ? frame[11] : 0;
    this.ver1 = version === 2 ? frame[1] : VER1_PLAIN;
    this.crc32 = version === 2 && hasCrc32(this.ver1, this.switchCode);
    this.#hdr = headerSize(version, this.type);
    this.#classLen = readU16(frame, this.#hdr - 8);
    this.#headerLen = readU16(frame, this.#hdr - 6);
    this.headers = headers;
  }

  /** Offset of the request id (5 in v1, 6 in v2). */
  get idOffset(): number {
    return this.version === 2 ? 6 : 5;
  }

  /** The class name bytes (e.g. com.alipay.sofa.rpc.core.request.SofaRequest). */
  get classBytes(): Uint8Array {
    return this.frame.subarray(this.#hdr, this.#hdr + this.#classLen);
  }

  get className(): string {
    return decodeString(this.frame, this.#hdr, this.#hdr + this.#classLen);
  }

  /** The serialized content (a view into `frame`, without the CRC-32 trailer). */
  get content(): Uint8Array {
    const end = this.frame.length - (this.crc32 ? 4 : 0);
    return this.frame.subarray(this.#hdr + this.#classLen + this.#headerLen, end);
  }

  /**
   * Writes `id` into the frame in place and returns the frame (the unchanged-frame fast path); a CRC-32
   * trailer is written again, since the id is among the bytes it covers.
   */
  patchId(id: number): Uint8Array {
    const f = this.frame;
    writeU32(f, this.idOffset, id);
    if (this.crc32) writeU32(f, f.length - 4, crc32(f, 0, f.length - 4));
    return f;
  }
}

/** A decoded bolt request (or heartbeat/GoAway); the proxy forwards `frame` with only the id patched. */
export class BoltRequestHead extends BoltHead implements RequestHead {
  readonly protocol: "bolt" | "boltv2";
  readonly kind = "rpc";
  method: string;
  path = "";
  query = "";
  host = "";
  /**
   * The raw timeout field (ms): > 0 a deadline, 0 = use the route's timeout, < 0 = no timer (MOSN).
   * `frameTimeoutMs` is set only for > 0, so the proxy falls back to the route for both 0 and < 0;
   * check `timeout < 0` to skip the timer altogether.
   */
  readonly timeout: number;
  readonly frameTimeoutMs: number | undefined;

  constructor(frame: Uint8Array, version: BoltVersion, headers: KvHeaderMap) {
    super(frame, version, headers);
    this.protocol = version === 2 ? "boltv2" : "bolt";
    this.timeout = readI32(frame, version === 2 ? 12 : 10);
    this.frameTimeoutMs = this.timeout > 0 ? this.timeout : undefined;
    // SOFA Java puts the method in sofa_head_method_name; others use `method`.
    this.method = headers.get("method") ?? headers.get("sofa_head_method_name") ?? "";
  }

  /** Oneway requests get no response. */
  get oneway(): boolean {
    return this.type === TYPE_ONEWAY;
  }

  get heartbeat(): boolean {
    return this.cmdCode === CMD_HEARTBEAT;
  }

  /** A bolt heartbeat is the protocol's health check (`RequestHead.healthCheck`). */
  get healthCheck(): boolean {
    return this.cmdCode === CMD_HEARTBEAT;
  }

  /**
   * The bytes to send upstream as `id`: the original frame patched in place when the headers are
   * unchanged, else a freshly encoded frame (`frame` itself stays as received).
   */
  encode(id: number): Uint8Array {
    if (!this.headers.dirty) return this.patchId(id);
    return encodeBoltFrame(
      this.version,
      this.type,
      this.cmdCode,
      id,
      this.codec,
      this.switchCode,
      this.timeout,
      this.classBytes,
      this.headers,
      this.content,
      this.ver1,
    );
  }
}

/** A decoded bolt response; `status` is HTTP-like, `boltStatus` the wire value. */
export class BoltResponseHead extends BoltHead implements ResponseHead {
  /** HTTP-like status for stats and access logs (0→200, 4→503, 7→504, 16→502, else 500). */
  status: number;
  reason?: string;
  /** The raw bolt response status. */
  readonly boltStatus: number;

  constructor(frame: Uint8Array, version: BoltVersion, headers: KvHeaderMap) {
    super(frame, version, headers);
    this.boltStatus = readU16(frame, version === 2 ? 12 : 10);
    this.status = boltStatusToHttp(this.boltStatus);
  }

  /**
   * The bytes to send downstream as `id` in `version`: the original frame with the id patched when
   * nothing changed, else a re-encoded frame (headers edited, or the downstream speaks the other version).
   */
  encode(id: number, version: BoltVersion = this.version): Uint8Array {
    if (!this.headers.dirty && version === this.version) return this.patchId(id);
    return encodeBoltFrame(
      version,
      TYPE_RESPONSE,
      this.cmdCode,
      id,
      this.codec,
      this.switchCode,
      this.boltStatus,
      this.classBytes,
      this.headers,
      this.content,
      version === this.version ? this.ver1 : VER1_PLAIN,
    );
  }
}

/** Why a complete frame cannot be decoded. */
type DecodeFailure = "malformed" | "crc32";

function decodeFrame(frame: Uint8Array): BoltRequestHead | BoltResponseHead | DecodeFailure {
  const version: BoltVersion = frame[0] === PROTOCOL_V2 ? 2 : 1;
  if (version === 2 && hasCrc32(frame[1]!, frame[11]!)) {
    const end = frame.length - 4;
    if (crc32(frame, 0, end) !== readU32(frame, end)) return "crc32";
  }
  const type = frame[version];
  const hdr = headerSize(version, type);
  const start = hdr + readU16(frame, hdr - 8);
  const headers = decodeHeaderMap(frame, start, start + readU16(frame, hdr - 6));
  if (headers === undefined) return "malformed";
  return type === TYPE_RESPONSE
    ? new BoltResponseHead(frame, version, headers)
    : new BoltRequestHead(frame, version, headers);
}

/**
 * Decodes a complete frame (as FrameReader delivers it); undefined when the header map is malformed or
 * the CRC-32 does not match ({@link BoltFrameDecoder} tells which).
 */
export function decodeBoltFrame(frame: Uint8Array): BoltRequestHead | BoltResponseHead | undefined {
  const head = decodeFrame(frame);
  return typeof head === "string" ? undefined : head;
}

/**
 * A connection's decoder of complete frames: the head, or the protocol error to fail the connection with.
 * CRC-32 mismatches are counted in the codec's scope (`bolt_crc32_mismatch_total`).
 */
export class BoltFrameDecoder {
  readonly #crcMismatch: Counter | undefined;

  constructor(stats: Scope | undefined) {
    this.#crcMismatch = stats?.counter("bolt_crc32_mismatch_total");
  }

  decode(frame: Uint8Array): BoltRequestHead | BoltResponseHead | string {
    const head = decodeFrame(frame);
    if (head === "malformed") return "malformed bolt header map";
    if (head === "crc32") {
      this.#crcMismatch?.inc();
      const end = frame.length - 4;
      return `bolt v2 CRC32 mismatch: the frame carries 0x${hex32(readU32(frame, end))}, its bytes give 0x${
        hex32(crc32(frame, 0, end))
      }`;
    }
    return head;
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** True for the command codes meshctl understands in a request frame. */
export function isKnownRequestCmd(cmd: number): boolean {
  return cmd === CMD_REQUEST || cmd === CMD_HEARTBEAT || cmd === CMD_GOAWAY;
}

/** True for the command codes meshctl understands in a response frame. */
export function isKnownResponseCmd(cmd: number): boolean {
  return cmd === CMD_RESPONSE || cmd === CMD_HEARTBEAT;
}

function headerMapSize(headers: HeaderMap | undefined): number {
  if (headers === undefined || headers.size === 0) return 0;
  let size = 0;
  headers.forEach((v, k) => {
    size += 8 + utf8Length(k) + utf8Length(v);
  });
  return size;
}

/**
 * Encodes a whole frame. `timeoutOrStatus` is the timeout for requests and the status for responses.
 * A v2 frame gets `ver1` (default 1), and a CRC-32 trailer when ver1 is 2 and `switchCode` has the CRC
 * bit. Throws RangeError when the header map exceeds 65535 bytes (its length field is a u16).
 */
export function encodeBoltFrame(
  version: BoltVersion,
  type: number,
  cmdCode: number,
  id: number,
  codec: number,
  switchCode: number,
  timeoutOrStatus: number,
  classBytes: Uint8Array | undefined,
  headers: HeaderMap | undefined,
  content: Uint8Array | undefined,
  ver1: number = VER1_PLAIN,
): Uint8Array {
  const hdr = headerSize(version, type);
  const crc = version === 2 && hasCrc32(ver1, switchCode);
  const classLen = classBytes?.length ?? 0;
  const headerLen = headerMapSize(headers);
  if (headerLen > MAX_HEADER_MAP_BYTES) {
    throw new RangeError(
      `Cannot encode a bolt header map of ${headerLen} bytes (max ${MAX_HEADER_MAP_BYTES})`,
    );
  }
  if (classLen > 0xffff) throw new RangeError(`Cannot encode a bolt class name of ${classLen} bytes`);
  const contentLen = content?.length ?? 0;
  const bodyEnd = hdr + classLen + headerLen + contentLen;
  const b = new Uint8Array(bodyEnd + (crc ? 4 : 0));
  const s = version - 1;
  b[0] = version === 2 ? PROTOCOL_V2 : PROTOCOL_V1;
  if (version === 2) b[1] = ver1;
  b[1 + s] = type;
  writeU16(b, 2 + s, cmdCode);
  b[4 + s] = 1; // ver2
  writeU32(b, 5 + s, id);
  b[9 + s] = codec;
  if (version === 2) b[11] = switchCode;
  if (type === TYPE_RESPONSE) writeU16(b, 10 + 2 * s, timeoutOrStatus);
  else writeU32(b, 10 + 2 * s, timeoutOrStatus);
  writeU16(b, hdr - 8, classLen);
  writeU16(b, hdr - 6, headerLen);
  writeU32(b, hdr - 4, contentLen);
  let off = hdr;
  if (classBytes !== undefined) {
    b.set(classBytes, off);
    off += classLen;
  }
  if (headerLen > 0) {
    headers!.forEach((v, k) => {
      const kStart = off + 4;
      const kEnd = writeString(b, kStart, k);
      writeU32(b, off, kEnd - kStart);
      const vEnd = writeString(b, kEnd + 4, v);
      writeU32(b, kEnd, vEnd - kEnd - 4);
      off = vEnd;
    });
  }
  if (content !== undefined) b.set(content, off);
  if (crc) writeU32(b, bodyEnd, crc32(b, 0, bodyEnd));
  return b;
}

/** A heartbeat request (type 1, cmd 0, timeout -1, no body). */
export function encodeHeartbeatRequest(version: BoltVersion, id: number): Uint8Array {
  return encodeBoltFrame(
    version,
    TYPE_REQUEST,
    CMD_HEARTBEAT,
    id,
    CODEC_HESSIAN2,
    0,
    -1,
    undefined,
    undefined,
    undefined,
  );
}

/** The heartbeat answer MOSN sends: cmd 0, status 0, same id, no body (20 bytes v1, 22 v2). */
export function encodeHeartbeatResponse(version: BoltVersion, id: number): Uint8Array {
  return encodeBoltFrame(
    version,
    TYPE_RESPONSE,
    CMD_HEARTBEAT,
    id,
    CODEC_HESSIAN2,
    0,
    STATUS_SUCCESS,
    undefined,
    undefined,
    undefined,
  );
}

/** A GoAway request (v1 only: type 1, cmd 100). */
export function encodeGoAway(id: number): Uint8Array {
  return encodeBoltFrame(
    1,
    TYPE_REQUEST,
    CMD_GOAWAY,
    id,
    CODEC_HESSIAN2,
    0,
    -1,
    undefined,
    undefined,
    undefined,
  );
}

/** A locally generated RPC response (cmd 2, codec hessian2) carrying only a status. */
export function encodeStatusResponse(
  version: BoltVersion,
  id: number,
  status: number,
  headers?: HeaderMap,
): Uint8Array {
  return encodeBoltFrame(
    version,
    TYPE_RESPONSE,
    CMD_RESPONSE,
    id,
    CODEC_HESSIAN2,
    0,
    status,
    undefined,
    headers,
    undefined,
  );
}

/**
 * A reply meshctl builds itself to `request`, carrying only `status`: a heartbeat ack (cmd 0, no header
 * map, as SOFA bolt's HeartbeatAckCommand) to a heartbeat, else an RPC response (cmd 2) with `headers`.
 * Codec hessian2; a v2 reply mirrors the request's ver1 and switch byte, so a client that sent CRC-32
 * frames gets one.
 */
export function encodeReply(request: BoltRequestHead, status: number, headers?: HeaderMap): Uint8Array {
  const heartbeat = request.heartbeat;
  return encodeBoltFrame(
    request.version,
    TYPE_RESPONSE,
    heartbeat ? CMD_HEARTBEAT : CMD_RESPONSE,
    request.requestId,
    CODEC_HESSIAN2,
    request.switchCode,
    status,
    undefined,
    heartbeat ? undefined : headers,
    undefined,
    request.ver1,
  );
}
