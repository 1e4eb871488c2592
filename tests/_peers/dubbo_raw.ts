/**
 * Dubbo 2.x wire format for tests, from raw bytes: header constants and fields, request and response
 * frames encoded the way dubbo2.js and a Java provider put them on the wire (hessian2 bodies through
 * hessian.js `EncoderV2`/`DecoderV2`), a frame reader over a `Deno.Conn`, and a raw client for bulk and
 * hostile tests (send any bytes, read whole frames, wait for the close).
 *
 * Header (16 bytes, big-endian): magic DA BB | flag (0x80 request, 0x40 two-way, 0x20 event, low 5 bits
 * serialization id, 2 = hessian2) | status (responses) | request id u64 | body length u32.
 * @module
 */
import { Buffer } from "node:buffer";
import hessian from "hessian.js";
import { connectLocal, fromHex, toHex, waitClosed, writeAll } from "./bolt_raw.ts";

export { connectLocal, fromHex, toHex, waitClosed, writeAll };

export const HEADER_LENGTH = 16;
export const MAGIC_HIGH = 0xda;
export const MAGIC_LOW = 0xbb;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWO_WAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;
/** Hessian2's serialization id (`Hessian2Serialization.getContentTypeId()`). */
export const HESSIAN2 = 2;
/** Dubbo's default payload limit (`Constants.DEFAULT_PAYLOAD`, 8 MiB): a bigger frame is refused. */
export const DEFAULT_PAYLOAD = 8 * 1024 * 1024;

/** Response statuses (`org.apache.dubbo.remoting.exchange.Response`). */
export const Status = {
  OK: 20,
  CLIENT_TIMEOUT: 30,
  SERVER_TIMEOUT: 31,
  BAD_REQUEST: 40,
  BAD_RESPONSE: 50,
  SERVICE_NOT_FOUND: 60,
  SERVICE_ERROR: 70,
  SERVER_ERROR: 80,
  CLIENT_ERROR: 90,
  SERVER_THREADPOOL_EXHAUSTED_ERROR: 100,
} as const;

/** The first value of an OK response body (`DubboCodec.RESPONSE_*`); the attachment forms since 2.6.3. */
export const ResponseFlag = {
  WITH_EXCEPTION: 0,
  VALUE: 1,
  NULL_VALUE: 2,
  WITH_EXCEPTION_WITH_ATTACHMENTS: 3,
  VALUE_WITH_ATTACHMENTS: 4,
  NULL_VALUE_WITH_ATTACHMENTS: 5,
} as const;

/** The dubbo (protocol) version dubbo2.js and Dubbo 2.7 send by default. */
export const DUBBO_VERSION = "2.0.2";

/** A hessian-typed value in hessian.js's `{ $class, $ }` form. */
export interface JavaArg {
  $class: string;
  $: unknown;
}

export function str(s: string): JavaArg {
  return { $class: "java.lang.String", $: s };
}

export function int(n: number): JavaArg {
  return { $class: "int", $: n };
}

export function long(n: number): JavaArg {
  return { $class: "long", $: n };
}

// === hessian.js, narrowed to what is used here ===

interface HessianEncoder {
  write(value: unknown): HessianEncoder;
  get(): Buffer;
}

interface HessianDecoder {
  read(withType?: boolean): unknown;
  readInt(): number;
  byteBuffer: { position(): number; limit?(): number };
}

interface HessianModule {
  EncoderV2: new () => HessianEncoder;
  DecoderV2: new (buf: Buffer) => HessianDecoder;
}

const hessian2 = hessian as unknown as HessianModule;

/** The hessian2 encoding of each value, one after the other. */
export function hessianEncode(...values: unknown[]): Uint8Array {
  const enc = new hessian2.EncoderV2();
  for (const v of values) enc.write(v);
  return new Uint8Array(enc.get());
}

/** A hessian2 reader over `bytes` (values in order; throws on malformed or missing input). */
export class HessianReader {
  readonly #dec: HessianDecoder;
  readonly #length: number;

  constructor(bytes: Uint8Array) {
    this.#dec = new hessian2.DecoderV2(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.#length = bytes.byteLength;
  }

  /** True when every byte was read. */
  get done(): boolean {
    return this.#dec.byteBuffer.position() >= this.#length;
  }

  /** The next value, plain (`withType` false) or in `{ $class, $ }` form. */
  read(withType = false): unknown {
    if (this.done) throw new RangeError("Cannot read past the end of the hessian2 body");
    return this.#checked(this.#dec.read(withType));
  }

  /** hessian.js reads a value cut short by the end of the buffer without complaint: refuse it. */
  #checked<T>(value: T): T {
    if (this.#dec.byteBuffer.position() > this.#length) {
      throw new RangeError("Cannot read a hessian2 value cut short by the end of the body");
    }
    return value;
  }

  /** The next value, which must be a string (or null when `nullable`). */
  readString(what: string, nullable = false): string | null {
    const v = this.read();
    if (typeof v === "string" || (nullable && v === null)) return v as string | null;
    throw new TypeError(`Cannot read ${what}: expected a string, got ${JSON.stringify(v)}`);
  }

  readInt(): number {
    if (this.done) throw new RangeError("Cannot read past the end of the hessian2 body");
    return this.#checked(this.#dec.readInt());
  }
}

// === Frames ===

export interface FrameHeader {
  flag: number;
  status: number;
  id: bigint;
  bodyLength: number;
  isRequest: boolean;
  twoWay: boolean;
  event: boolean;
  serialization: number;
}

/** The 16-byte header at the start of `frame`; throws on a short buffer or wrong magic. */
export function parseHeader(frame: Uint8Array): FrameHeader {
  if (frame.length < HEADER_LENGTH) throw new RangeError(`Cannot parse a ${frame.length}-byte dubbo header`);
  if (frame[0] !== MAGIC_HIGH || frame[1] !== MAGIC_LOW) {
    throw new SyntaxError(`Cannot parse dubbo header: magic ${toHex(frame.subarray(0, 2))}`);
  }
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const flag = frame[2]!;
  return {
    flag,
    status: frame[3]!,
    id: dv.getBigUint64(4),
    bodyLength: dv.getUint32(12),
    isRequest: (flag & FLAG_REQUEST) !== 0,
    twoWay: (flag & FLAG_TWO_WAY) !== 0,
    event: (flag & FLAG_EVENT) !== 0,
    serialization: flag & SERIALIZATION_MASK,
  };
}

/** A frame: header (magic, flag, status, id, body length) then `body`. */
export function encodeFrame(flag: number, status: number, id: bigint | number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  const dv = new DataView(out.buffer);
  out[0] = MAGIC_HIGH;
  out[1] = MAGIC_LOW;
  out[2] = flag;
  out[3] = status;
  dv.setBigUint64(4, BigInt(id));
  dv.setUint32(12, body.length);
  out.set(body, HEADER_LENGTH);
  return out;
}

export function frameId(frame: Uint8Array): bigint {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getBigUint64(4);
}

/** A copy of `frame` with its request id set to `id`. */
export function withId(frame: Uint8Array, id: bigint | number): Uint8Array {
  const out = frame.slice();
  new DataView(out.buffer).setBigUint64(4, BigInt(id));
  return out;
}

export function frameStatus(frame: Uint8Array): number {
  return frame[3]!;
}

export function frameBody(frame: Uint8Array): Uint8Array {
  return frame.subarray(HEADER_LENGTH);
}

export interface RequestOptions {
  id: bigint | number;
  /** The dubbo protocol version, the first body field. Default "2.0.2". */
  dubboVersion?: string;
  /** The interface (the body's path). */
  service: string;
  /** Service version; dubbo2.js writes `undefined` as hessian null. */
  version?: string | null;
  method: string;
  args?: JavaArg[];
  /**
   * Attachments (an untyped hessian map, keys sorted as hessian.js writes them). By default those
   * dubbo2.js's DirectlyDubbo sends: path, interface, version ("0.0.0" when none), group (when set),
   * application "dubbo2.js"; `attachments` are merged over them. `null` writes a hessian null instead.
   */
  attachments?: Record<string, unknown> | null;
  group?: string;
  /** Replace the default attachments instead of merging over them. */
  onlyAttachments?: boolean;
  /** Default true; false = oneway (no reply expected). */
  twoWay?: boolean;
  /** Serialization id in the flag byte. Default 2 (hessian2); the body is hessian2 whatever this says. */
  serialization?: number;
}

/**
 * The parameter-type descriptor dubbo2.js (and Java's `ReflectUtils.getDesc`) writes for `args`:
 * primitives as one letter, objects as `Lpkg/Name;`, arrays prefixed with `[`.
 */
export function parameterDesc(args: readonly JavaArg[]): string {
  const primitive: Record<string, string> = {
    void: "V",
    boolean: "Z",
    byte: "B",
    char: "C",
    double: "D",
    float: "F",
    int: "I",
    long: "J",
    short: "S",
  };
  let desc = "";
  for (const arg of args) {
    let type = arg.$class;
    while (type.startsWith("[")) {
      desc += "[";
      type = type.slice(1);
    }
    desc += primitive[type] ?? `L${type.replaceAll(".", "/")};`;
  }
  return desc;
}

/** How many arguments a descriptor declares (`ReflectUtils.desc2classArray(desc).length`). */
export function countParameters(desc: string): number {
  let n = 0;
  for (let i = 0; i < desc.length; i++) {
    const c = desc[i]!;
    if (c === "[") continue;
    if (c === "L") {
      const end = desc.indexOf(";", i);
      if (end < 0) throw new SyntaxError(`Cannot parse parameter descriptor ${JSON.stringify(desc)}`);
      i = end;
    } else if (!"VZBCDFIJS".includes(c)) {
      throw new SyntaxError(`Cannot parse parameter descriptor ${JSON.stringify(desc)}`);
    }
    n++;
  }
  return n;
}

/** The hessian2 request body, field for field as dubbo2.js's `DubboEncoder.encodeBody` writes it. */
export function encodeRequestBody(o: Omit<RequestOptions, "id" | "twoWay" | "serialization">): Uint8Array {
  const args = o.args ?? [];
  const version = o.version === undefined ? null : o.version;
  let attachments: unknown = null;
  if (o.attachments !== null) {
    const base: Record<string, unknown> = o.onlyAttachments ? {} : {
      path: o.service,
      interface: o.service,
      version: version || "0.0.0",
      ...(o.group ? { group: o.group } : {}),
      application: "dubbo2.js",
    };
    attachments = { $class: "java.util.HashMap", $: { ...base, ...(o.attachments ?? {}) } };
  }
  return hessianEncode(
    o.dubboVersion ?? DUBBO_VERSION,
    o.service,
    version,
    o.method,
    parameterDesc(args),
    ...args,
    attachments,
  );
}

/** A whole request frame (flag request | two-way | serialization). */
export function encodeRequest(o: RequestOptions): Uint8Array {
  const flag = FLAG_REQUEST | (o.twoWay === false ? 0 : FLAG_TWO_WAY) | (o.serialization ?? HESSIAN2);
  return encodeFrame(flag, 0, o.id, encodeRequestBody(o));
}

/** A heartbeat request: event, body hessian null (`N`), as Dubbo's HeartbeatTimerTask and dubbo2.js send. */
export function encodeHeartbeat(id: bigint | number, twoWay = true): Uint8Array {
  return encodeFrame(
    FLAG_REQUEST | (twoWay ? FLAG_TWO_WAY : 0) | FLAG_EVENT | HESSIAN2,
    0,
    id,
    hessianEncode(null),
  );
}

/** The heartbeat response a Dubbo provider sends: flag 0x22 (event, hessian2), status 20, body `N`. */
export function encodeHeartbeatResponse(id: bigint | number): Uint8Array {
  return encodeFrame(FLAG_EVENT | HESSIAN2, Status.OK, id, hessianEncode(null));
}

/** An error response (status ≠ 20): the body is the error message as a hessian string. */
export function encodeErrorResponse(id: bigint | number, status: number, message: string): Uint8Array {
  return encodeFrame(HESSIAN2, status, id, hessianEncode(message));
}

export type ResponseResult =
  | { kind: "value"; value: unknown }
  | { kind: "null" }
  | { kind: "exception"; exception: unknown };

/** An OK response: the result flag, the value or exception, and attachments when `attachments` is set. */
export function encodeOkResponse(
  id: bigint | number,
  result: ResponseResult,
  attachments?: Record<string, unknown>,
): Uint8Array {
  const withAttachments = attachments !== undefined;
  const values: unknown[] = [];
  switch (result.kind) {
    case "value":
      values.push(withAttachments ? ResponseFlag.VALUE_WITH_ATTACHMENTS : ResponseFlag.VALUE, result.value);
      break;
    case "null":
      values.push(withAttachments ? ResponseFlag.NULL_VALUE_WITH_ATTACHMENTS : ResponseFlag.NULL_VALUE);
      break;
    case "exception":
      values.push(
        withAttachments ? ResponseFlag.WITH_EXCEPTION_WITH_ATTACHMENTS : ResponseFlag.WITH_EXCEPTION,
        result.exception,
      );
      break;
  }
  if (withAttachments) values.push({ $class: "java.util.HashMap", $: attachments });
  return encodeFrame(HESSIAN2, Status.OK, id, hessianEncode(...values));
}

/**
 * A Java exception as Hessian serializes a Throwable (class name, then its fields detailMessage, cause,
 * stackTrace, suppressedExceptions); hessian.js decodes it as an Error with that message.
 */
export function javaException(message: string, className = "java.lang.RuntimeException"): JavaArg {
  return {
    $class: className,
    $: {
      detailMessage: { $class: "java.lang.String", $: message },
      cause: null,
      stackTrace: { $class: "[java.lang.StackTraceElement", $: [] },
      suppressedExceptions: { $class: "java.util.Collections$UnmodifiableRandomAccessList", $: [] },
    },
  };
}

export interface DecodedResponse {
  header: FrameHeader;
  /** Status 20, not an event: the result flag. */
  resultFlag?: number;
  value?: unknown;
  /** The decoded exception (hessian.js makes an Error of a `…Exception` class). */
  exception?: unknown;
  attachments?: Record<string, unknown>;
  /** Status ≠ 20: the error message. */
  errorMessage?: string;
  /** Events: the event data (null for a heartbeat). */
  eventData?: unknown;
}

/** Decodes a response frame as dubbo2.js / a Dubbo consumer would. */
export function decodeResponse(frame: Uint8Array): DecodedResponse {
  const header = parseHeader(frame);
  const body = frame.subarray(HEADER_LENGTH, HEADER_LENGTH + header.bodyLength);
  const r = new HessianReader(body);
  if (header.event) return { header, eventData: body.length === 0 ? null : r.read() };
  if (header.status !== Status.OK) return { header, errorMessage: String(r.read()) };
  const resultFlag = r.readInt();
  const out: DecodedResponse = { header, resultFlag };
  switch (resultFlag) {
    case ResponseFlag.VALUE:
    case ResponseFlag.VALUE_WITH_ATTACHMENTS:
      out.value = r.read();
      break;
    case ResponseFlag.WITH_EXCEPTION:
    case ResponseFlag.WITH_EXCEPTION_WITH_ATTACHMENTS:
      out.exception = r.read();
      break;
    case ResponseFlag.NULL_VALUE:
    case ResponseFlag.NULL_VALUE_WITH_ATTACHMENTS:
      break;
    default:
      throw new SyntaxError(`Cannot decode dubbo response: result flag ${resultFlag}`);
  }
  if (resultFlag >= ResponseFlag.WITH_EXCEPTION_WITH_ATTACHMENTS) {
    out.attachments = r.read() as Record<string, unknown>;
  }
  return out;
}

/** A request as a provider decodes it (`DecodeableRpcInvocation.decode`). */
export interface DecodedRequest {
  header: FrameHeader;
  dubboVersion: string;
  service: string;
  /** The body's version field ("" for null). */
  version: string;
  method: string;
  parameterTypes: string;
  args: unknown[];
  /** The attachments map (empty when it is hessian null). */
  attachments: Record<string, unknown>;
}

/**
 * Decodes a (non-event) hessian2 request body. Throws on anything a Dubbo provider could not decode:
 * another serialization, a truncated or malformed body, a field of the wrong type.
 */
export function decodeRequest(frame: Uint8Array): DecodedRequest {
  const header = parseHeader(frame);
  if (header.serialization !== HESSIAN2) {
    throw new TypeError(
      `Unexpected serialization id:${header.serialization} received from network, please check if the peer send the right id.`,
    );
  }
  const body = frame.subarray(HEADER_LENGTH, HEADER_LENGTH + header.bodyLength);
  if (body.length !== header.bodyLength) throw new RangeError("Cannot decode a truncated dubbo frame");
  const r = new HessianReader(body);
  const dubboVersion = r.readString("the dubbo version")!;
  const service = r.readString("the service path")!;
  const version = r.readString("the service version", true) ?? "";
  const method = r.readString("the method name")!;
  const parameterTypes = r.readString("the parameter types")!;
  const args: unknown[] = [];
  for (let i = countParameters(parameterTypes); i > 0; i--) args.push(r.read());
  // Java reads the attachments unconditionally (`in.readAttachments()`): a body that ends here is broken.
  const a = r.read();
  if (a !== null && (typeof a !== "object" || Array.isArray(a))) {
    throw new TypeError(`Cannot decode attachments: ${JSON.stringify(a)}`);
  }
  const attachments = (a ?? {}) as Record<string, unknown>;
  return { header, dubboVersion, service, version, method, parameterTypes, args, attachments };
}

// === Reading frames ===

/**
 * Reads whole dubbo frames (16-byte header + body length) from a connection. Bytes that do not start
 * with the magic are returned as they are by `next()` (a "frame" of everything buffered) so a test can
 * see them; callers that expect frames check `parseHeader`.
 */
export class DubboFrameReader {
  readonly #conn: Deno.Conn;
  readonly #maxBodyLength: number;
  #buf = new Uint8Array(0);
  #eof = false;
  #pending: Promise<Uint8Array | null> | undefined;

  /**
   * A header announcing a body over `maxBodyLength` (default unlimited) is returned alone, at once, so
   * the caller can refuse it without waiting for the body.
   */
  constructor(conn: Deno.Conn, options: { maxBodyLength?: number } = {}) {
    this.#conn = conn;
    this.#maxBodyLength = options.maxBodyLength ?? Infinity;
  }

  /** Bytes read but not yet returned. */
  get buffered(): number {
    return this.#buf.length;
  }

  /**
   * The next whole frame; null on EOF (or a reset); "timeout" when none arrived within `timeoutMs`
   * (the pending read is left running; close the connection when done).
   */
  async next(timeoutMs = 3000): Promise<Uint8Array | null | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const len = this.#frameLength();
      if (len > 0 && this.#buf.length >= len) {
        const frame = this.#buf.slice(0, len);
        this.#buf = this.#buf.slice(len);
        return frame;
      }
      if (this.#eof) return null;
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      if (await this.#read(left) === "timeout") return "timeout";
    }
  }

  #frameLength(): number {
    const b = this.#buf;
    if (b.length >= 2 && (b[0] !== MAGIC_HIGH || b[1] !== MAGIC_LOW)) return b.length;
    if (b.length < HEADER_LENGTH) return 0;
    const bodyLength = new DataView(b.buffer, b.byteOffset).getUint32(12);
    return bodyLength > this.#maxBodyLength ? HEADER_LENGTH : HEADER_LENGTH + bodyLength;
  }

  async #read(timeoutMs: number): Promise<"ok" | "timeout"> {
    if (this.#pending === undefined) {
      const chunk = new Uint8Array(65536);
      this.#pending = this.#conn.read(chunk).then((n) => (n === null ? null : chunk.slice(0, n)), () => null);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      this.#pending,
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (got === "timeout") return "timeout";
    this.#pending = undefined;
    if (got === null) this.#eof = true;
    else {
      const next = new Uint8Array(this.#buf.length + got.length);
      next.set(this.#buf);
      next.set(got, this.#buf.length);
      this.#buf = next;
    }
    return "ok";
  }
}

// === Raw client ===

/** One raw TCP connection speaking dubbo frames: for exact bytes, bulk pipelining and hostile input. */
export class DubboRawClient {
  readonly conn: Deno.TcpConn;
  readonly reader: DubboFrameReader;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.reader = new DubboFrameReader(conn);
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<DubboRawClient> {
    const conn = await connectLocal(port);
    conn.setNoDelay(true);
    return new DubboRawClient(conn);
  }

  /** Writes all of `bytes` (any bytes: whole frames, pieces of one, garbage). */
  send(bytes: Uint8Array): Promise<void> {
    return writeAll(this.conn, bytes);
  }

  /** The next whole frame, null on EOF, "timeout" after `timeoutMs`. */
  next(timeoutMs = 3000): Promise<Uint8Array | null | "timeout"> {
    return this.reader.next(timeoutMs);
  }

  /** The next frame, which must arrive within `timeoutMs`; throws otherwise. */
  async expectFrame(timeoutMs = 3000): Promise<Uint8Array> {
    const f = await this.next(timeoutMs);
    if (!(f instanceof Uint8Array)) throw new Error(`expected a dubbo frame, got ${f}`);
    return f;
  }

  /** Sends one frame and returns the next frame back (within `timeoutMs`). */
  async call(frame: Uint8Array, timeoutMs = 3000): Promise<Uint8Array> {
    await this.send(frame);
    return await this.expectFrame(timeoutMs);
  }

  /** Half-closes our side (the peer reads EOF). */
  closeWrite(): Promise<void> {
    return this.conn.closeWrite();
  }

  /** Whether the peer closes the connection within `timeoutMs` (any unread frames are discarded). */
  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()));
      if (f === null) return true;
      if (f === "timeout") return false;
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** Sends `frame` on a fresh connection and returns the first frame back (or null / "timeout"). */
export async function rawDubboCall(
  port: number,
  frame: Uint8Array,
  timeoutMs = 3000,
): Promise<Uint8Array | null | "timeout"> {
  const client = await DubboRawClient.connect(port);
  try {
    await client.send(frame);
    return await client.next(timeoutMs);
  } finally {
    client.close();
  }
}
