/**
 * A minimal raw HTTP/2 client for hostile-input tests: frames are built by hand (RFC 9113 §4.1 layout),
 * so a test can send exactly the malformed sequence it means to; frames from the peer are parsed and
 * waited for with time bounds (`expectGoaway(code)`, `expectRstStream(id, code)`, `expectResponse(id)`).
 *
 * HPACK (RFC 7541) is kept out of the way: requests are encoded as literal fields without indexing and
 * without Huffman (valid for any decoder, no table state), and the client announces
 * SETTINGS_HEADER_TABLE_SIZE 0 so the peer's answers use no dynamic table either; then `:status`, which
 * RFC 9113 §8.3 puts first, is decodable with the static table and the Huffman codes of digits alone.
 * Other response fields are left encoded (`Frame.payload`).
 * @module
 */

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
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

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

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(FrameType).map(([k, v]) => [v, k]),
);
const CODE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ErrorCode).map(([k, v]) => [v, k]),
);

/** "PROTOCOL_ERROR (0x1)" */
export function errorCodeName(code: number): string {
  return `${CODE_NAMES[code] ?? "UNKNOWN"} (0x${code.toString(16)})`;
}

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
}

/** "HEADERS flags=0x4 stream=1 length=12" */
export function describeFrame(f: Frame): string {
  const name = TYPE_NAMES[f.type] ?? `type 0x${f.type.toString(16)}`;
  let extra = "";
  if (f.type === FrameType.GOAWAY && f.payload.length >= 8) extra = ` ${errorCodeName(decodeGoaway(f).code)}`;
  if (f.type === FrameType.RST_STREAM && f.payload.length >= 4) {
    extra = ` ${errorCodeName(decodeRstStream(f))}`;
  }
  return `${name} flags=0x${f.flags.toString(16)} stream=${f.streamId} length=${f.payload.length}${extra}`;
}

// === building frames ===

export interface EncodeOptions {
  /** Declare this length in the frame header instead of the payload's (for length-mismatch tests). */
  length?: number;
  /** Set the reserved bit of the stream id. */
  reservedBit?: boolean;
}

/** One frame: the 9-byte header (length, type, flags, stream id) and the payload. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = new Uint8Array(),
  options: EncodeOptions = {},
): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  const length = options.length ?? payload.length;
  out[0] = (length >>> 16) & 0xff;
  out[1] = (length >>> 8) & 0xff;
  out[2] = length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(
    5,
    ((streamId & 0x7fffffff) | (options.reservedBit ? 0x80000000 : 0)) >>> 0,
  );
  out.set(payload, 9);
  return out;
}

export interface Priority {
  dependsOn: number;
  /** 1–256 (sent as weight − 1). */
  weight: number;
  exclusive?: boolean;
}

function priorityBytes(p: Priority): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, ((p.dependsOn & 0x7fffffff) | (p.exclusive ? 0x80000000 : 0)) >>> 0);
  out[4] = p.weight - 1;
  return out;
}

/** `body` with a pad-length byte before and `padLength` zero bytes after (§6.1). */
function padded(body: Uint8Array, padLength: number): Uint8Array {
  return concatBytes([Uint8Array.of(padLength), body, new Uint8Array(padLength)]);
}

export function dataFrame(
  streamId: number,
  data: Uint8Array | string,
  options: { endStream?: boolean; padLength?: number } = {},
): Uint8Array {
  let payload = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let flags = options.endStream ? Flag.END_STREAM : 0;
  if (options.padLength !== undefined) {
    payload = padded(payload, options.padLength);
    flags |= Flag.PADDED;
  }
  return encodeFrame(FrameType.DATA, flags, streamId, payload);
}

export interface HeadersFrameOptions {
  endStream?: boolean;
  /** Default true; false leaves the block open for CONTINUATION frames. */
  endHeaders?: boolean;
  priority?: Priority;
  padLength?: number;
}

/** HEADERS carrying an already-encoded HPACK block (see {@linkcode encodeHeaderBlock}). */
export function headersFrame(
  streamId: number,
  block: Uint8Array,
  options: HeadersFrameOptions = {},
): Uint8Array {
  let flags = (options.endStream ? Flag.END_STREAM : 0) |
    (options.endHeaders === false ? 0 : Flag.END_HEADERS);
  let payload = block;
  if (options.priority !== undefined) {
    payload = concatBytes([priorityBytes(options.priority), payload]);
    flags |= Flag.PRIORITY;
  }
  if (options.padLength !== undefined) {
    payload = padded(payload, options.padLength);
    flags |= Flag.PADDED;
  }
  return encodeFrame(FrameType.HEADERS, flags, streamId, payload);
}

export function continuationFrame(
  streamId: number,
  block: Uint8Array,
  options: { endHeaders?: boolean } = {},
): Uint8Array {
  return encodeFrame(
    FrameType.CONTINUATION,
    options.endHeaders === false ? 0 : Flag.END_HEADERS,
    streamId,
    block,
  );
}

export function priorityFrame(streamId: number, priority: Priority): Uint8Array {
  return encodeFrame(FrameType.PRIORITY, 0, streamId, priorityBytes(priority));
}

export function rstStreamFrame(streamId: number, code: number): Uint8Array {
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, u32(code));
}

/** SETTINGS with `[identifier, value]` pairs, or an empty ACK. */
export function settingsFrame(
  settings: [number, number][] = [],
  options: { ack?: boolean } = {},
): Uint8Array {
  const payload = new Uint8Array(6 * settings.length);
  const dv = new DataView(payload.buffer);
  settings.forEach(([id, value], i) => {
    dv.setUint16(6 * i, id);
    dv.setUint32(6 * i + 2, value >>> 0);
  });
  return encodeFrame(FrameType.SETTINGS, options.ack ? Flag.ACK : 0, 0, payload);
}

/** PING with 8 bytes of opaque data (default 0…7). */
export function pingFrame(
  data: Uint8Array = Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 7),
  options: { ack?: boolean } = {},
): Uint8Array {
  return encodeFrame(FrameType.PING, options.ack ? Flag.ACK : 0, 0, data);
}

export function goawayFrame(lastStreamId: number, code: number, debug = ""): Uint8Array {
  return encodeFrame(
    FrameType.GOAWAY,
    0,
    0,
    concatBytes([u32(lastStreamId & 0x7fffffff), u32(code), new TextEncoder().encode(debug)]),
  );
}

export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, u32(increment));
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

// === HPACK, the smallest valid subset ===

/** An HPACK integer with an `prefixBits`-bit prefix, the first byte's high bits set to `pattern`. */
function hpackInt(value: number, prefixBits: number, pattern: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [pattern | value];
  const out = [pattern | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function hpackString(s: string): number[] {
  const bytes = new TextEncoder().encode(s);
  return [...hpackInt(bytes.length, 7, 0x00), ...bytes]; // H = 0: no Huffman
}

/**
 * Encodes fields as "literal header field without indexing — new name" (RFC 7541 §6.2.2): no table
 * state, no Huffman. Names go as given (HTTP/2 wants them lowercase; a test may break that on purpose).
 */
export function encodeHeaderBlock(fields: [string, string][]): Uint8Array {
  const out: number[] = [];
  for (const [name, value] of fields) out.push(0x00, ...hpackString(name), ...hpackString(value));
  return Uint8Array.from(out);
}

export interface RequestBlockOptions {
  method?: string;
  path?: string;
  scheme?: string;
  /** Omitted when undefined. */
  authority?: string;
  /** Regular fields after the pseudo-header fields. */
  headers?: [string, string][];
}

/** The HPACK block of a request: `:method`, `:scheme`, `:path`, `:authority`, then `headers`. */
export function requestBlock(o: RequestBlockOptions = {}): Uint8Array {
  const fields: [string, string][] = [
    [":method", o.method ?? "GET"],
    [":scheme", o.scheme ?? "http"],
    [":path", o.path ?? "/"],
  ];
  if (o.authority !== undefined) fields.push([":authority", o.authority]);
  return encodeHeaderBlock([...fields, ...(o.headers ?? [])]);
}

/** RFC 7541 Appendix A: static-table indexes 8–14 are `:status` with these values. */
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/** Huffman codes of '0'–'9' (RFC 7541 Appendix B): `[code, bit length]`. */
const HUFFMAN_DIGITS: [number, number][] = [
  [0x0, 5],
  [0x1, 5],
  [0x2, 5],
  [0x19, 6],
  [0x1a, 6],
  [0x1b, 6],
  [0x1c, 6],
  [0x1d, 6],
  [0x1e, 6],
  [0x1f, 6],
];

/** Decodes a Huffman string of digits only; undefined if any other symbol is in it. */
function huffmanDigits(bytes: Uint8Array): string | undefined {
  let bits = 0;
  let nbits = 0;
  let out = "";
  let i = 0;
  for (;;) {
    while (nbits < 6 && i < bytes.length) {
      bits = (bits << 8) | bytes[i++]!;
      nbits += 8;
    }
    if (nbits === 0) return out;
    let matched = false;
    for (let d = 0; d < 10 && !matched; d++) {
      const [code, len] = HUFFMAN_DIGITS[d]!;
      if (nbits >= len && ((bits >>> (nbits - len)) & ((1 << len) - 1)) === code) {
        out += String(d);
        nbits -= len;
        bits &= (1 << nbits) - 1;
        matched = true;
      }
    }
    if (!matched) {
      // What is left must be the EOS padding: fewer than 8 one-bits.
      return nbits < 8 && bits === (1 << nbits) - 1 ? out : undefined;
    }
  }
}

/**
 * The `:status` of a response header block, or undefined when it is not the first field or is encoded
 * in a way this subset does not read (dynamic-table references: see the module doc).
 */
export function decodeStatus(block: Uint8Array): number | undefined {
  let i = 0;
  const int = (prefixBits: number): number => {
    const max = (1 << prefixBits) - 1;
    let v = block[i++]! & max;
    if (v < max) return v;
    let m = 0;
    let b: number;
    do {
      b = block[i++]!;
      v += (b & 0x7f) * 2 ** m;
      m += 7;
    } while (b & 0x80);
    return v;
  };
  while (i < block.length && (block[i]! & 0xe0) === 0x20) int(5); // dynamic table size updates
  if (i >= block.length) return undefined;
  const first = block[i]!;
  if (first & 0x80) return STATIC_STATUS[int(7)];
  const nameIndex = (first & 0xc0) === 0x40 ? int(6) : int(4);
  if (STATIC_STATUS[nameIndex] === undefined) return undefined;
  const huffman = (block[i]! & 0x80) !== 0;
  const len = int(7);
  const raw = block.subarray(i, i + len);
  const text = huffman ? huffmanDigits(raw) : new TextDecoder().decode(raw);
  return text !== undefined && /^\d{3}$/.test(text) ? Number(text) : undefined;
}

// === reading frames ===

/** Splits complete frames off the front of `buf`; `rest` is an incomplete tail. */
export function parseFrames(buf: Uint8Array): { frames: Frame[]; rest: Uint8Array } {
  const frames: Frame[] = [];
  let off = 0;
  while (buf.length - off >= 9) {
    const length = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
    if (buf.length - off < 9 + length) break;
    const dv = new DataView(buf.buffer, buf.byteOffset + off);
    frames.push({
      type: buf[off + 3]!,
      flags: buf[off + 4]!,
      streamId: dv.getUint32(5) & 0x7fffffff,
      payload: buf.slice(off + 9, off + 9 + length),
    });
    off += 9 + length;
  }
  return { frames, rest: buf.slice(off) };
}

export function decodeGoaway(f: Frame): { lastStreamId: number; code: number; debug: string } {
  const dv = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
  return {
    lastStreamId: dv.getUint32(0) & 0x7fffffff,
    code: dv.getUint32(4),
    debug: new TextDecoder().decode(f.payload.subarray(8)),
  };
}

export function decodeRstStream(f: Frame): number {
  return new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength).getUint32(0);
}

export function decodeSettings(f: Frame): [number, number][] {
  const dv = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
  const out: [number, number][] = [];
  for (let i = 0; i + 6 <= f.payload.length; i += 6) out.push([dv.getUint16(i), dv.getUint32(i + 2)]);
  return out;
}

/** The header block fragment of a HEADERS frame, without padding and priority fields. */
export function headerBlockOf(f: Frame): Uint8Array {
  let p = f.payload;
  let pad = 0;
  if (f.flags & Flag.PADDED) {
    pad = p[0]!;
    p = p.subarray(1);
  }
  if (f.type === FrameType.HEADERS && f.flags & Flag.PRIORITY) p = p.subarray(5);
  return p.subarray(0, p.length - pad);
}

/** The data of a DATA frame, without padding. */
export function dataOf(f: Frame): Uint8Array {
  if (!(f.flags & Flag.PADDED)) return f.payload;
  return f.payload.subarray(1, f.payload.length - f.payload[0]!);
}

// === the client ===

export interface RawConnectOptions {
  hostname?: string;
  /** Send the preface and the SETTINGS below on connect. Default true. */
  preface?: boolean;
  /** The first SETTINGS' entries. Default `[[HEADER_TABLE_SIZE, 0]]` (see the module doc). */
  settings?: [number, number][];
  /** ACK every SETTINGS the peer sends, as RFC 9113 §6.5.3 requires. Default true. */
  ackSettings?: boolean;
}

export interface RawResponse {
  status: number | undefined;
  /** The response header block (HEADERS + CONTINUATION fragments joined). */
  block: Uint8Array;
  /** DATA received on the stream up to END_STREAM. */
  body: Uint8Array;
  /** Trailer blocks after the body (still HPACK-encoded). */
  trailerBlocks: Uint8Array[];
  /** 1xx statuses before the final response. */
  informational: number[];
}

const DEFAULT_WAIT_MS = 3000;

/** A raw HTTP/2 connection: `send()` bytes, and wait for frames the peer sends. */
export class H2RawClient {
  readonly #conn: Deno.TcpConn;
  readonly #ackSettings: boolean;
  /** Everything received, in order. */
  readonly received: Frame[] = [];
  readonly #unread: Frame[] = [];
  readonly #waiters = new Set<() => void>();
  #closed = false;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn, ackSettings: boolean) {
    this.#conn = conn;
    this.#ackSettings = ackSettings;
    this.#reading = this.#readLoop();
  }

  /** Connects to `port` (127.0.0.1) and, by default, sends the preface and SETTINGS. */
  static async connect(port: number, options: RawConnectOptions = {}): Promise<H2RawClient> {
    const conn = await Deno.connect({ hostname: options.hostname ?? "127.0.0.1", port });
    conn.setNoDelay(true);
    const client = new H2RawClient(conn, options.ackSettings ?? true);
    if (options.preface ?? true) {
      await client.send(PREFACE, settingsFrame(options.settings ?? [[Setting.HEADER_TABLE_SIZE, 0]]));
    }
    return client;
  }

  /** The peer closed the connection (or `close()` was called). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes the bytes of each argument in order, as one write. */
  async send(...chunks: Uint8Array[]): Promise<void> {
    const bytes = concatBytes(chunks);
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /** GET `path` on `streamId` (HEADERS with END_STREAM). */
  get(streamId: number, path = "/", authority = "raw.test"): Promise<void> {
    return this.send(headersFrame(streamId, requestBlock({ path, authority }), { endStream: true }));
  }

  /**
   * The next frame not yet taken that matches `match` (taking it), waiting up to `timeoutMs`. Rejects
   * when the peer closes first or time runs out, listing what did arrive.
   */
  nextFrame(
    match: (f: Frame) => boolean = () => true,
    what = "a frame",
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.#unread.findIndex(match);
        if (i >= 0) {
          finish();
          resolve(this.#unread.splice(i, 1)[0]!);
        } else if (this.#closed) {
          finish();
          reject(new Error(`connection closed before ${what}; received: ${this.#summary()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${what} within ${timeoutMs} ms; received: ${this.#summary()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits for a GOAWAY; when `code` is given, fails unless the GOAWAY carries it. */
  async expectGoaway(
    code?: number,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<{ lastStreamId: number; code: number; debug: string }> {
    const what = code === undefined ? "GOAWAY" : `GOAWAY ${errorCodeName(code)}`;
    const g = decodeGoaway(await this.nextFrame((f) => f.type === FrameType.GOAWAY, what, timeoutMs));
    if (code !== undefined && g.code !== code) {
      throw new Error(
        `expected ${what}, got GOAWAY ${errorCodeName(g.code)} "${g.debug}"; received: ${this.#summary()}`,
      );
    }
    return g;
  }

  /** Waits for RST_STREAM on `streamId`; when `code` is given, fails unless it carries it. */
  async expectRstStream(streamId: number, code?: number, timeoutMs = DEFAULT_WAIT_MS): Promise<number> {
    const what = `RST_STREAM on stream ${streamId}${code === undefined ? "" : ` ${errorCodeName(code)}`}`;
    const got = decodeRstStream(
      await this.nextFrame(
        (f) => f.type === FrameType.RST_STREAM && f.streamId === streamId,
        what,
        timeoutMs,
      ),
    );
    if (code !== undefined && got !== code) {
      throw new Error(`expected ${what}, got ${errorCodeName(got)}; received: ${this.#summary()}`);
    }
    return got;
  }

  /** Waits for a PING ACK and returns its opaque data. */
  async expectPingAck(timeoutMs = DEFAULT_WAIT_MS): Promise<Uint8Array> {
    const f = await this.nextFrame(
      (f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0,
      "PING ACK",
      timeoutMs,
    );
    return f.payload;
  }

  /**
   * Reads the response on `streamId` to its END_STREAM: 1xx blocks, the final header block, DATA, and
   * trailer blocks. Rejects on RST_STREAM, GOAWAY or close. Sends no WINDOW_UPDATE: a body larger than
   * the window stalls (a test opening the window sends them).
   */
  async expectResponse(streamId: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    const onStream = (f: Frame) =>
      f.streamId === streamId || f.type === FrameType.GOAWAY ||
      (f.type === FrameType.RST_STREAM && f.streamId === streamId);
    const res: RawResponse = {
      status: undefined,
      block: new Uint8Array(),
      body: new Uint8Array(),
      trailerBlocks: [],
      informational: [],
    };
    const body: Uint8Array[] = [];
    for (;;) {
      const f = await this.nextFrame(
        onStream,
        `the response on stream ${streamId}`,
        Math.max(1, deadline - Date.now()),
      );
      if (f.type === FrameType.RST_STREAM || f.type === FrameType.GOAWAY) {
        throw new Error(`stream ${streamId}: ${describeFrame(f)}; received: ${this.#summary()}`);
      }
      if (f.type === FrameType.DATA) {
        body.push(dataOf(f));
      } else if (f.type === FrameType.HEADERS) {
        let block = headerBlockOf(f);
        let end = (f.flags & Flag.END_HEADERS) !== 0;
        while (!end) {
          const c = await this.nextFrame(
            (x) => x.type === FrameType.CONTINUATION && x.streamId === streamId,
            `CONTINUATION on stream ${streamId}`,
            Math.max(1, deadline - Date.now()),
          );
          block = concatBytes([block, c.payload]);
          end = (c.flags & Flag.END_HEADERS) !== 0;
        }
        const status = decodeStatus(block);
        if (res.status !== undefined) res.trailerBlocks.push(block);
        else if (status !== undefined && status < 200) res.informational.push(status);
        else {
          res.status = status;
          res.block = block;
        }
      }
      if (f.flags & Flag.END_STREAM && (f.type === FrameType.DATA || f.type === FrameType.HEADERS)) break;
    }
    res.body = concatBytes(body);
    return res;
  }

  /** Resolves once the peer has closed the connection; rejects after `timeoutMs`. */
  async expectClosed(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    await this.nextFrame(() => false, "nothing", timeoutMs).catch((e: Error) => {
      if (!this.#closed) {
        throw new Error(`connection still open after ${timeoutMs} ms; received: ${this.#summary()}`);
      }
      return e;
    });
  }

  /** Closes the connection and waits for the reader to stop. */
  async close(): Promise<void> {
    if (!this.#closed) {
      try {
        this.#conn.close();
      } catch {
        // closed by the peer meanwhile
      }
    }
    await this.#reading;
  }

  #summary(): string {
    return this.received.length === 0 ? "nothing" : this.received.map(describeFrame).join(", ");
  }

  async #readLoop(): Promise<void> {
    let pending: Uint8Array = new Uint8Array();
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        const { frames, rest } = parseFrames(concatBytes([pending, buf.subarray(0, n)]));
        pending = rest;
        for (const f of frames) {
          this.received.push(f);
          this.#unread.push(f);
          if (this.#ackSettings && f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)) {
            await this.send(settingsFrame([], { ack: true })).catch(() => {});
          }
        }
        this.#notify();
      }
    } catch {
      // reset by the peer, or closed by close()
    }
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#notify();
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
