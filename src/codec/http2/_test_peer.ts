/**
 * Test doubles for the HTTP/2 connection tests: a raw peer that builds frames with `FrameWriter` and
 * `HpackEncoder` (tested on their own in `_frames_test.ts` / `hpack_test.ts`) and reads what a connection
 * wrote with `parseFrame` and `HpackDecoder`, keeping HPACK state in both directions as a real peer does;
 * recording handlers and receivers; harnesses that start a server or client connection on a
 * `FakeConnectionIO` with the handshake done.
 */
import type { ProxyError } from "../../core/mod.ts";
import { concat, FakeConnectionIO } from "../_test_io.ts";
import {
  type BodyReceiver,
  type ClientConnectionHandler,
  type CodecOptions,
  defaultCodecOptions,
  type HeaderMap,
  type Http2Options,
  type ResponseHead,
  type ResponseReceiver,
  type ServerConnectionHandler,
  type ServerStream,
} from "../types.ts";
import {
  CLIENT_PREFACE,
  errorCodeName,
  FRAME_HEADER_LENGTH,
  FrameError,
  FrameType,
  frameTypeName,
  FrameWriter,
  MAX_FRAME_SIZE_LIMIT,
  ParsedFrame,
  parseFrame,
  type Settings,
} from "./_frames.ts";
import { HpackBuffer, HpackDecoder, HpackEncoder, type Indexing } from "./hpack.ts";
import { Http2ServerConnection } from "./server.ts";
import { Http2ClientConnection } from "./client.ts";

export { CLIENT_PREFACE };

const te = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const RESOLVED: Promise<void> = Promise.resolve();

/** A field to encode: name, value and optionally how (default: the encoder's policy). */
export type Field = readonly [string, string] | readonly [string, string, Indexing];

/** Waits one macrotask, so every promise chain (and the codec's microtask flush) has run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** Codec options for tests: defaults with `http2` fields and anything else overridden. */
export function h2Options(
  overrides: Partial<Omit<CodecOptions, "http2">> & { http2?: Partial<Http2Options> } = {},
): CodecOptions {
  const { http2, ...rest } = overrides;
  return { ...defaultCodecOptions, ...rest, http2: { ...defaultCodecOptions.http2, ...http2 } };
}

// === Building frames ===

/** Frames a peer sends, as bytes; one HPACK encoder for the whole connection. */
export class FrameBuilder {
  readonly encoder: HpackEncoder;
  readonly #chunks: Uint8Array[] = [];
  readonly #writer = new FrameWriter({
    write: (d) => {
      this.#chunks.push(d.slice());
      return RESOLVED;
    },
  });
  readonly #hpackOut = new HpackBuffer();

  constructor(options: { huffman?: boolean } = {}) {
    this.encoder = new HpackEncoder({ huffman: options.huffman ?? true });
  }

  /** The largest frame the writer makes (the receiver's SETTINGS_MAX_FRAME_SIZE); CONTINUATION splits at it. */
  set maxFrameSize(n: number) {
    this.#writer.maxFrameSize = n;
  }

  /** An HPACK block for `fields` (the encoder's dynamic table advances, as on the wire). */
  block(fields: readonly Field[]): Uint8Array {
    this.#hpackOut.clear();
    this.encoder.begin(this.#hpackOut);
    for (const f of fields) this.encoder.field(f[0], f[1], f[2] ?? "auto");
    return this.encoder.end().slice();
  }

  /** Whatever `fn` writes with the FrameWriter, as bytes. */
  build(fn: (w: FrameWriter) => void): Uint8Array {
    fn(this.#writer);
    void this.#writer.flush();
    const out = concat(...this.#chunks);
    this.#chunks.length = 0;
    return out;
  }

  settings(values: Partial<Readonly<Settings>> = {}): Uint8Array {
    return this.build((w) => w.settings(values));
  }

  settingsAck(): Uint8Array {
    return this.build((w) => w.settingsAck());
  }

  /** HEADERS (+ CONTINUATION when larger than maxFrameSize) for `fields`, or for a ready block. */
  headers(
    streamId: number,
    fields: readonly Field[] | Uint8Array,
    endStream: boolean,
    padLength = 0,
  ): Uint8Array {
    const block = fields instanceof Uint8Array ? fields : this.block(fields);
    return this.build((w) => w.headers(streamId, block, endStream, padLength));
  }

  /** A GET request's HEADERS, fields after the pseudo-headers appended. */
  request(streamId: number, endStream = true, extra: readonly Field[] = [], method = "GET"): Uint8Array {
    return this.headers(streamId, requestFields(method, "/", extra), endStream);
  }

  data(streamId: number, body: Uint8Array | string, endStream: boolean, padLength = 0): Uint8Array {
    const bytes = typeof body === "string" ? te.encode(body) : body;
    return this.build((w) => void w.data(streamId, bytes, endStream, padLength));
  }

  rst(streamId: number, code: number): Uint8Array {
    return this.build((w) => w.rstStream(streamId, code));
  }

  windowUpdate(streamId: number, increment: number): Uint8Array {
    return this.build((w) => w.windowUpdate(streamId, increment));
  }

  ping(ack = false, payload: Uint8Array = te.encode("pingpong")): Uint8Array {
    return this.build((w) => w.ping(ack, payload));
  }

  goaway(lastStreamId: number, code: number, debug = ""): Uint8Array {
    return this.build((w) => w.goaway(lastStreamId, code, debug));
  }

  priority(streamId: number, dependency: number, weight = 16): Uint8Array {
    return this.build((w) => w.priority(streamId, dependency, weight, false));
  }

  /** Any frame, unchecked: for frames a well-behaved writer refuses to make. */
  raw(type: number, flags: number, streamId: number, payload: ArrayLike<number> = []): Uint8Array {
    return rawFrame(type, flags, streamId, payload);
  }
}

/** A frame from its header fields and payload, independent of FrameWriter and unchecked. */
export function rawFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: ArrayLike<number> = [],
  length = payload.length,
): Uint8Array {
  const b = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  b[0] = length >>> 16;
  b[1] = (length >>> 8) & 0xff;
  b[2] = length & 0xff;
  b[3] = type;
  b[4] = flags;
  new DataView(b.buffer).setUint32(5, streamId >>> 0);
  b.set(payload, FRAME_HEADER_LENGTH);
  return b;
}

/**
 * An HPACK block of literal fields without indexing, new names, no Huffman (RFC 7541 §6.2.2), written
 * octet by octet: for names an encoder would fix (uppercase) or values it would refuse.
 */
export function literalBlock(fields: readonly (readonly [string, string])[]): Uint8Array {
  const out: number[] = [];
  const int = (n: number) => {
    if (n < 127) return void out.push(n);
    out.push(127);
    for (n -= 127; n >= 128; n >>>= 7) out.push((n & 0x7f) | 0x80);
    out.push(n);
  };
  const str = (v: string) => {
    int(v.length);
    for (let i = 0; i < v.length; i++) out.push(v.charCodeAt(i) & 0xff);
  };
  for (const [name, value] of fields) {
    out.push(0x00);
    str(name);
    str(value);
  }
  return new Uint8Array(out);
}

/** Pseudo-header fields of a request (http, authority "example.com") followed by `extra`. */
export function requestFields(method: string, path: string, extra: readonly Field[] = []): Field[] {
  return [[":method", method], [":scheme", "http"], [":authority", "example.com"], [":path", path], ...extra];
}

/** The 4 bytes of a 32-bit value. */
export function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

// === Reading frames ===

/** One frame a connection wrote, copied out and decoded (HEADERS with their CONTINUATIONs as one). */
export interface WrittenFrame {
  type: number;
  /** "HEADERS", "GOAWAY", … for messages. */
  name: string;
  flags: number;
  streamId: number;
  length: number;
  /** Content (padding and fixed fields excluded); for GOAWAY the debug data. */
  payload: Uint8Array;
  endStream: boolean;
  ack: boolean;
  /** RST_STREAM and GOAWAY. */
  errorCode: number;
  lastStreamId: number;
  increment: number;
  settings: Map<number, number>;
  /** HEADERS: the decoded fields, [name, value, neverIndexed]; CONTINUATION frames are folded in. */
  fields: [string, string, boolean][];
  /** HEADERS: how many CONTINUATION frames followed. */
  continuations: number;
}

/** Parses a connection's output incrementally, decoding field blocks with one HPACK decoder. */
export class FrameParser {
  readonly decoder = new HpackDecoder({ maxHeaderListSize: 1 << 30 });
  #buf: Uint8Array = new Uint8Array(0);
  #prefaceLeft: number;
  readonly #parsed = new ParsedFrame();
  #open: WrittenFrame | undefined;
  #block: Uint8Array[] = [];

  /** `expectPreface`: the bytes start with the client connection preface (a client's output). */
  constructor(options: { expectPreface?: boolean } = {}) {
    this.#prefaceLeft = options.expectPreface ? CLIENT_PREFACE.length : 0;
  }

  /** Appends bytes and returns the frames completed by them. Throws on bytes that are not HTTP/2. */
  push(bytes: Uint8Array): WrittenFrame[] {
    this.#buf = concat(this.#buf, bytes);
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, this.#buf.length);
      const at = CLIENT_PREFACE.length - this.#prefaceLeft;
      for (let i = 0; i < n; i++) {
        if (this.#buf[i] !== CLIENT_PREFACE[at + i]) {
          throw new Error("the output does not start with the preface");
        }
      }
      this.#prefaceLeft -= n;
      this.#buf = this.#buf.slice(n);
    }
    const out: WrittenFrame[] = [];
    let p = 0;
    while (this.#buf.length - p >= FRAME_HEADER_LENGTH) {
      const b = this.#buf;
      const len = (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
      if (b.length - p < FRAME_HEADER_LENGTH + len) break;
      const f = parseFrame(b, p, p + FRAME_HEADER_LENGTH + len, {
        maxFrameSize: MAX_FRAME_SIZE_LIMIT,
      }, this.#parsed);
      p += FRAME_HEADER_LENGTH + len;
      if (f instanceof FrameError) throw new Error(`the connection wrote a bad frame: ${f}`);
      const w: WrittenFrame = {
        type: f.type === FrameType.UNKNOWN ? f.wireType : f.type,
        name: frameTypeName(f.wireType),
        flags: f.flags,
        streamId: f.streamId,
        length: f.length,
        payload: "start" in f ? b.slice(f.start, f.end) : new Uint8Array(0),
        endStream: false,
        ack: false,
        errorCode: 0,
        lastStreamId: 0,
        increment: 0,
        settings: new Map(),
        fields: [],
        continuations: 0,
      };
      switch (f.type) {
        case FrameType.DATA:
          w.endStream = f.endStream;
          break;
        case FrameType.HEADERS:
          w.endStream = f.endStream;
          if (f.endHeaders) this.#decode(w, [w.payload]);
          else {
            this.#open = w;
            this.#block = [w.payload];
            continue;
          }
          break;
        case FrameType.CONTINUATION: {
          const open = this.#open;
          if (open === undefined) throw new Error("the connection wrote CONTINUATION without HEADERS");
          open.continuations++;
          this.#block.push(w.payload);
          if (!f.endHeaders) continue;
          this.#open = undefined;
          this.#decode(open, this.#block);
          out.push(open);
          continue;
        }
        case FrameType.SETTINGS:
          w.ack = f.ack;
          for (let i = 0; i < f.settingsCount; i++) w.settings.set(f.settingId(i), f.settingValue(i));
          break;
        case FrameType.PING:
          w.ack = f.ack;
          break;
        case FrameType.RST_STREAM:
          w.errorCode = f.errorCode;
          break;
        case FrameType.GOAWAY:
          w.errorCode = f.errorCode;
          w.lastStreamId = f.lastStreamId;
          break;
        case FrameType.WINDOW_UPDATE:
          w.increment = f.increment;
          break;
      }
      if (this.#open !== undefined) throw new Error(`the connection wrote ${w.name} inside a field block`);
      out.push(w);
    }
    this.#buf = this.#buf.slice(p);
    return out;
  }

  /** Bytes of an incomplete frame at the end of what was pushed. */
  get pending(): number {
    return this.#buf.length;
  }

  #decode(w: WrittenFrame, parts: Uint8Array[]): void {
    const block = concat(...parts);
    this.decoder.decode(block, 0, block.length, {
      header: (name, value, neverIndexed) => void w.fields.push([name, value, neverIndexed]),
    });
  }
}

/** `frames` shown compactly for assertion messages: "SETTINGS, HEADERS(1, end), RST_STREAM(3, CANCEL)". */
export function describeFrames(frames: readonly WrittenFrame[]): string {
  return frames.map(describeFrame).join(", ");
}

export function describeFrame(f: WrittenFrame): string {
  switch (f.type) {
    case FrameType.RST_STREAM:
      return `RST_STREAM(${f.streamId}, ${errorCodeName(f.errorCode)})`;
    case FrameType.GOAWAY:
      return `GOAWAY(${f.lastStreamId}, ${errorCodeName(f.errorCode)})`;
    case FrameType.WINDOW_UPDATE:
      return `WINDOW_UPDATE(${f.streamId}, +${f.increment})`;
    case FrameType.SETTINGS:
    case FrameType.PING:
      return f.ack ? `${f.name}(ack)` : f.name;
    case FrameType.DATA:
    case FrameType.HEADERS:
      return `${f.name}(${f.streamId}${f.endStream ? ", end" : ""})`;
    default:
      return `${f.name}(${f.streamId})`;
  }
}

/** The decoded fields of a HEADERS frame as [name, value] pairs. */
export function fieldsOf(f: WrittenFrame | undefined): [string, string][] {
  if (f === undefined) throw new Error("no HEADERS frame");
  return f.fields.map(([n, v]) => [n, v]);
}

/** The value of field `name` in a HEADERS frame, or undefined. */
export function fieldOf(f: WrittenFrame | undefined, name: string): string | undefined {
  return f?.fields.find(([n]) => n === name)?.[1];
}

/** The bytes of DATA frames as latin1 text. */
export function textOf(frames: readonly WrittenFrame[]): string {
  return frames.filter((f) => f.type === FrameType.DATA).map((f) => latin1.decode(f.payload)).join("");
}

// === The peer: builds what it sends, reads what the connection wrote ===

/** The other end of a connection under test, on a FakeConnectionIO. */
export class RawPeer {
  readonly io: FakeConnectionIO;
  readonly out: FrameBuilder;
  readonly in: FrameParser;
  /** Every frame read so far. */
  readonly frames: WrittenFrame[] = [];
  #seen = 0;

  constructor(io: FakeConnectionIO, options: { readsClientOutput: boolean }) {
    this.io = io;
    this.out = new FrameBuilder();
    this.in = new FrameParser({ expectPreface: options.readsClientOutput });
  }

  /** Frames the connection wrote since the last call. */
  read(): WrittenFrame[] {
    const writes = this.io.writes;
    const fresh = writes.slice(this.#seen);
    this.#seen = writes.length;
    const frames = this.in.push(concat(...fresh));
    this.frames.push(...frames);
    return frames;
  }

  /** The single GOAWAY read since the last call, or undefined. */
  goaway(): WrittenFrame | undefined {
    return this.read().find((f) => f.type === FrameType.GOAWAY);
  }
}

// === Recorders ===

/** Records a request or response body; `hold` makes it a slow consumer (each chunk's promise waits). */
export class BodyRecorder implements BodyReceiver, ResponseReceiver {
  readonly chunks: string[] = [];
  readonly trailers: [string, string][][] = [];
  readonly resets: ProxyError[] = [];
  readonly heads: ResponseHead[] = [];
  readonly headEnds: boolean[] = [];
  readonly informational: ResponseHead[] = [];
  ended = false;
  /** While true, onData returns a promise the test settles with `release()`. */
  hold = false;
  readonly #waiting: (() => void)[] = [];

  get text(): string {
    return this.chunks.join("");
  }

  /** Chunks handed over whose promise has not settled. */
  get held(): number {
    return this.#waiting.length;
  }

  /** Settles the promises of held chunks (all of them, or the first `n`). */
  release(n = this.#waiting.length): void {
    for (const r of this.#waiting.splice(0, n)) r();
  }

  onInformational(head: ResponseHead): void {
    this.informational.push(head);
  }

  onResponse(head: ResponseHead, endStream: boolean): void {
    this.heads.push(head);
    this.headEnds.push(endStream);
    if (endStream) this.ended = true;
  }

  onData(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    this.chunks.push(latin1.decode(chunk));
    if (endStream) this.ended = true;
    if (!this.hold) return;
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  onTrailers(trailers: HeaderMap): void {
    const list: [string, string][] = [];
    trailers.forEach((v, n) => list.push([n, v]));
    this.trailers.push(list);
    this.ended = true;
  }

  onReset(error: ProxyError): void {
    this.resets.push(error);
  }
}

/** A server handler recording streams and errors; each stream's body goes to a BodyRecorder. */
export class ServerRecorder implements ServerConnectionHandler {
  readonly streams: ServerStream[] = [];
  readonly bodies: BodyRecorder[] = [];
  readonly protocolErrors: ProxyError[] = [];
  refused = 0;
  /** Set the body receiver at once (default); false leaves it to the test. */
  receiveBodies = true;
  /** What onRequest returns (backpressure), if anything. */
  onRequestResult: (() => void | Promise<void>) | undefined;

  onRequest(stream: ServerStream): void | Promise<void> {
    this.streams.push(stream);
    const body = new BodyRecorder();
    this.bodies.push(body);
    if (this.receiveBodies) stream.setBodyReceiver(body);
    return this.onRequestResult?.();
  }

  onProtocolError(error: ProxyError): void {
    this.protocolErrors.push(error);
  }

  onStreamRefused(): void {
    this.refused++;
  }

  /** The stream with id `id`. */
  stream(id: number): ServerStream {
    const s = this.streams.find((x) => x.id === id);
    if (s === undefined) throw new Error(`no server stream ${id}`);
    return s;
  }

  body(id: number): BodyRecorder {
    return this.bodies[this.streams.indexOf(this.stream(id))]!;
  }
}

export class ClientRecorder implements ClientConnectionHandler {
  readonly unusable: ProxyError[] = [];
  capacity = 0;
  onUnusable(reason: ProxyError): void {
    this.unusable.push(reason);
  }
  onCapacity(): void {
    this.capacity++;
  }
}

// === Harnesses ===

/** A server connection whose client (the peer) sent its preface and SETTINGS; the preamble is read. */
export interface ServerHarness {
  conn: Http2ServerConnection;
  peer: RawPeer;
  handler: ServerRecorder;
  io: FakeConnectionIO;
  /** Feeds bytes to the connection, then settles (not waiting on feed's backpressure promise). */
  send(...parts: Uint8Array[]): Promise<void>;
}

export interface StartServerOptions {
  /** The client's SETTINGS (default: none, all initial values). */
  clientSettings?: Partial<Readonly<Settings>>;
  /** The client acknowledges the server's SETTINGS (default true). */
  ack?: boolean;
  io?: FakeConnectionIO;
}

export async function startServer(
  options: CodecOptions = h2Options(),
  start: StartServerOptions = {},
): Promise<ServerHarness> {
  const io = start.io ?? new FakeConnectionIO();
  const handler = new ServerRecorder();
  const conn = new Http2ServerConnection(io, handler, options);
  const peer = new RawPeer(io, { readsClientOutput: false });
  const send = async (...parts: Uint8Array[]) => {
    void conn.feed(concat(...parts));
    await settle();
  };
  await send(CLIENT_PREFACE, peer.out.settings(start.clientSettings ?? {}));
  peer.read();
  // The server's SETTINGS reached the peer: it acknowledges them, as a client must.
  if (start.ack ?? true) await send(peer.out.settingsAck());
  return { conn, peer, handler, io, send };
}

/** A client connection whose server (the peer) sent its SETTINGS (unless `serverSettings` is null). */
export interface ClientHarness {
  conn: Http2ClientConnection;
  peer: RawPeer;
  handler: ClientRecorder;
  io: FakeConnectionIO;
  send(...parts: Uint8Array[]): Promise<void>;
}

export interface StartClientOptions {
  /** The server's SETTINGS; null: the server sends nothing yet (default: none, all initial values). */
  serverSettings?: Partial<Readonly<Settings>> | null;
  io?: FakeConnectionIO;
}

export async function startClient(
  options: CodecOptions = h2Options(),
  start: StartClientOptions = {},
): Promise<ClientHarness> {
  const io = start.io ?? new FakeConnectionIO();
  const handler = new ClientRecorder();
  const conn = new Http2ClientConnection(io, handler, options);
  const peer = new RawPeer(io, { readsClientOutput: true });
  const send = async (...parts: Uint8Array[]) => {
    void conn.feed(concat(...parts));
    await settle();
  };
  await settle();
  const settings = start.serverSettings === undefined ? {} : start.serverSettings;
  if (settings !== null) {
    await send(peer.out.settings(settings), peer.out.settingsAck());
    peer.read();
  }
  return { conn, peer, handler, io, send };
}
