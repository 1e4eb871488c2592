/**
 * Dubbo frames: length sniffing, heads that keep the raw frame, and the few frames meshctl writes itself
 * (heartbeat answers, status replies).
 *
 * Request ids are u64 on the wire. Each side keeps them its own way (ids are mapped per connection):
 * the downstream side keeps the client's 8 bytes as two u32 halves and writes them back unchanged into
 * the response; the upstream side allocates u32 ids (high word 0) with `StreamMap`, as bolt does.
 */
import type { RequestHead, ResponseHead } from "../types.ts";
import { BUFFER_BUDGET_EXHAUSTED, KvHeaderMap, readU32, writeU32 } from "../xprotocol/mod.ts";
import { DubboHeaderMap } from "./headers.ts";
import {
  BODY_LENGTH_OFFSET,
  dubboStatusToHttp,
  FLAG_EVENT,
  FLAG_OFFSET,
  FLAG_REQUEST,
  FLAG_TWO_WAY,
  HEADER_BYTES,
  HEADER_TIMEOUT,
  httpToDubboStatus,
  ID_OFFSET,
  MAGIC_HIGH,
  MAGIC_LOW,
  RESPONSE_NULL_VALUE,
  SERIALIZATION_HESSIAN2,
  SERIALIZATION_MASK,
  STATUS_OFFSET,
  STATUS_OK,
} from "./constants.ts";
import { Hessian2Error } from "./hessian2.ts";
import { SCAN_METHOD, scanInvocation, scanValue } from "./invocation.ts";

/** frameLength error code (negative, as FrameSink wants). */
export const ERR_BAD_MAGIC = -1;

/** Human-readable reason for a frameLength error code. */
export function frameErrorMessage(code: number): string {
  switch (code) {
    case ERR_BAD_MAGIC:
      return "not a dubbo frame (magic is not 0xdabb)";
    case BUFFER_BUDGET_EXHAUSTED:
      return "the process-wide buffer budget cannot hold this partial dubbo frame";
    default:
      return "dubbo frame larger than the configured limit";
  }
}

/**
 * Total length of the frame at `buf[off]`, 0 when more bytes are needed, < 0 on garbage. The magic is
 * checked as soon as its bytes arrive, so foreign bytes fail without waiting for a whole header.
 */
export function dubboFrameLength(buf: Uint8Array, off: number, end: number): number {
  const avail = end - off;
  if (avail < 1) return 0;
  if (buf[off] !== MAGIC_HIGH) return ERR_BAD_MAGIC;
  if (avail < 2) return 0;
  if (buf[off + 1] !== MAGIC_LOW) return ERR_BAD_MAGIC;
  if (avail < HEADER_BYTES) return 0;
  return HEADER_BYTES + readU32(buf, off + BODY_LENGTH_OFFSET);
}

/** Where the 64-bit id sits: high and low u32 halves. */
export function readIdHigh(frame: Uint8Array): number {
  return readU32(frame, ID_OFFSET);
}

export function readIdLow(frame: Uint8Array): number {
  return readU32(frame, ID_OFFSET + 4);
}

function writeId(frame: Uint8Array, high: number, low: number): void {
  writeU32(frame, ID_OFFSET, high);
  writeU32(frame, ID_OFFSET + 4, low);
}

/**
 * The id as a number, for `ServerStream.id`. proxy/ never reads stream ids (they are for codecs and
 * logs), so above 2^53 the low bits are lost only in what a log would print.
 */
export function idNumber(high: number, low: number): number {
  return high * 0x1_0000_0000 + low;
}

/**
 * A decoded dubbo call. The proxy forwards `frame` with only the id patched: header edits are not
 * re-encoded (as MOSN: the headers are read from the body, which meshctl never rewrites).
 */
export class DubboRequestHead implements RequestHead {
  readonly protocol = "dubbo";
  readonly kind = "rpc";
  method: string;
  path = "";
  query = "";
  host = "";
  /** Read from the frame when asked (see headers.ts). */
  readonly headers: DubboHeaderMap;
  /** The `timeout` attachment (ms), which caps the route timeout. */
  readonly deadlineMs: number | undefined;
  /** The whole frame as received; `encode` patches its id in place. */
  readonly frame: Uint8Array;
  /** The id as the client sent it, in u32 halves (kept apart: `frame`'s id is patched upstream). */
  readonly idHigh: number;
  readonly idLow: number;

  constructor(frame: Uint8Array, method: string, headers: DubboHeaderMap) {
    this.frame = frame;
    this.method = method;
    this.headers = headers;
    this.idHigh = readIdHigh(frame);
    this.idLow = readIdLow(frame);
    // An int attachment is what parseTimeout would read from its decimal text (int32: at most 2^31-1).
    const n = headers.intValue(HEADER_TIMEOUT);
    this.deadlineMs = n === undefined ? parseTimeout(headers.get(HEADER_TIMEOUT)) : n > 0 ? n : undefined;
  }

  /** Oneway calls (no two-way flag) get no response. */
  get oneway(): boolean {
    return (this.frame[FLAG_OFFSET]! & FLAG_TWO_WAY) === 0;
  }

  /** The frame to send upstream as `id` (u32; the high word is 0), patched in place. */
  encode(id: number): Uint8Array {
    writeId(this.frame, 0, id);
    return this.frame;
  }
}

/** A dubbo response; `status` is HTTP-like, `dubboStatus` the wire value. The body is not decoded. */
export class DubboResponseHead implements ResponseHead {
  status: number;
  reason?: string;
  readonly dubboStatus: number;
  /** The whole frame as received; `encode` patches its id in place. */
  readonly frame: Uint8Array;
  #headers: KvHeaderMap | undefined;

  constructor(frame: Uint8Array) {
    this.frame = frame;
    this.dubboStatus = frame[STATUS_OFFSET]!;
    this.status = dubboStatusToHttp(this.dubboStatus);
  }

  /** Empty (response attachments stay in the body) and, as on requests, edits are not re-encoded. */
  get headers(): KvHeaderMap {
    return this.#headers ??= new KvHeaderMap();
  }

  /** The frame to send downstream as the client's id, patched in place. */
  encode(idHigh: number, idLow: number): Uint8Array {
    writeId(this.frame, idHigh, idLow);
    return this.frame;
  }
}

/**
 * Decodes a call (a request frame without the event flag) for routing. Returns the error message when
 * the body is not a hessian2 invocation meshctl can read.
 */
export function decodeDubboRequest(frame: Uint8Array, maxHeaderBytes: number): DubboRequestHead | string {
  const serialization = frame[FLAG_OFFSET]! & SERIALIZATION_MASK;
  if (serialization !== SERIALIZATION_HESSIAN2) {
    return `dubbo serialization ${serialization} is not supported (hessian2 only)`;
  }
  let words: number;
  try {
    words = scanInvocation(frame, HEADER_BYTES, frame.length, maxHeaderBytes, scanScratch);
  } catch (e) {
    if (e instanceof Hessian2Error) return `malformed dubbo request body: ${e.message}`;
    throw e;
  }
  const own = scanScratch.slice(0, words); // one exact-size copy; the scratch keeps its capacity
  return new DubboRequestHead(
    frame,
    scanValue(frame, own, SCAN_METHOD),
    new DubboHeaderMap(frame, own),
  );
}

/** `scanInvocation`'s output for the call being decoded (decoding is synchronous). */
const scanScratch: number[] = [];

/** True for a request frame, false for a response. */
export function isRequest(frame: Uint8Array): boolean {
  return (frame[FLAG_OFFSET]! & FLAG_REQUEST) !== 0;
}

export function isEvent(frame: Uint8Array): boolean {
  return (frame[FLAG_OFFSET]! & FLAG_EVENT) !== 0;
}

export function isTwoWay(frame: Uint8Array): boolean {
  return (frame[FLAG_OFFSET]! & FLAG_TWO_WAY) !== 0;
}

/**
 * True for dubbo's readonly event: a provider that shuts down tells its consumers to send no more calls
 * on the connection (the event's data is the hessian2 string "R"; a heartbeat's is null).
 */
export function isReadonlyEvent(frame: Uint8Array): boolean {
  return frame.length === HEADER_BYTES + 2 && frame[HEADER_BYTES] === 0x01 &&
    frame[HEADER_BYTES + 1] === 0x52 &&
    (frame[FLAG_OFFSET]! & SERIALIZATION_MASK) === SERIALIZATION_HESSIAN2;
}

/** A header with `flag`, `status`, the id halves and the body length. */
function header(flag: number, status: number, idHigh: number, idLow: number, bodyLength: number): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES + bodyLength);
  b[0] = MAGIC_HIGH;
  b[1] = MAGIC_LOW;
  b[FLAG_OFFSET] = flag;
  b[STATUS_OFFSET] = status;
  writeId(b, idHigh, idLow);
  writeU32(b, BODY_LENGTH_OFFSET, bodyLength);
  return b;
}

/**
 * The answer to a heartbeat, as a Java dubbo provider writes it: flag 0x22 (event, hessian2), status
 * 20, the request's id, and the hessian2 null (`N`) a heartbeat carries — the same one byte dubbo2.js's
 * heartbeat request carries. (MOSN writes `N N`; a reader takes one value either way.)
 */
export function encodeHeartbeatResponse(idHigh: number, idLow: number): Uint8Array {
  const b = header(FLAG_EVENT | SERIALIZATION_HESSIAN2, STATUS_OK, idHigh, idLow, 1);
  b[HEADER_BYTES] = 0x4e;
  return b;
}

/**
 * A status reply meshctl writes itself (MOSN's hijack): flag 0x02 (response, hessian2), `status`, and
 * the body dubbo gives an error response, one hessian2 string — MOSN's `"<code>|<message>"`.
 */
export function encodeStatusResponse(
  idHigh: number,
  idLow: number,
  status: number,
  message: string,
): Uint8Array {
  const body = hessian2String(message);
  const b = header(SERIALIZATION_HESSIAN2, status, idHigh, idLow, body.length);
  b.set(body, HEADER_BYTES);
  return b;
}

/** A success with no value (RpcResult RESPONSE_NULL_VALUE): for heads from a protocol without a body dubbo can carry. */
export function encodeNullValueResponse(idHigh: number, idLow: number): Uint8Array {
  const b = header(SERIALIZATION_HESSIAN2, STATUS_OK, idHigh, idLow, 1);
  b[HEADER_BYTES] = 0x90 + RESPONSE_NULL_VALUE; // the hessian2 compact int
  return b;
}

/** The receiver's answer once a oneway call was written (nothing comes back on the wire). */
export function onewayAck(id: number): DubboResponseHead {
  return new DubboResponseHead(header(SERIALIZATION_HESSIAN2, STATUS_OK, 0, id, 0));
}

/** UTF-16 units per string chunk, as Java's Hessian2Output and hessian.js write them. */
const STRING_CHUNK = 0x8000;

/** `s` as a hessian2 string: compact forms when short, else `R` chunks and a final `S` (CESU-8). */
export function hessian2String(s: string): Uint8Array {
  const out: number[] = [];
  let rest = s;
  while (rest.length > STRING_CHUNK) {
    // A chunk must not end between the two halves of a surrogate pair.
    let n = STRING_CHUNK;
    const last = rest.charCodeAt(n - 1);
    if (last >= 0xd800 && last <= 0xdbff) n--;
    out.push(0x52, n >> 8, n & 0xff);
    cesu8(rest.slice(0, n), out);
    rest = rest.slice(n);
  }
  const n = rest.length;
  if (n <= 0x1f) out.push(n);
  else if (n <= 0x3ff) out.push(0x30 + (n >> 8), n & 0xff);
  else out.push(0x53, n >> 8, n & 0xff);
  cesu8(rest, out);
  return Uint8Array.from(out);
}

function cesu8(s: string, out: number[]): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
}

/** A timeout attachment in ms: a positive decimal integer up to 2^31-1, else none. */
function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined || text.length === 0 || text.length > 10) return undefined;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return v > 0 && v <= 0x7fffffff ? v : undefined;
}

/** The response a head from another protocol becomes: 2xx a success with no value, else a status reply. */
export function encodeForeignResponse(head: ResponseHead, idHigh: number, idLow: number): Uint8Array {
  const status = head.status;
  if (status >= 200 && status < 300) return encodeNullValueResponse(idHigh, idLow);
  return encodeStatusResponse(idHigh, idLow, httpToDubboStatus(status), `${status}|${head.reason ?? ""}`);
}
