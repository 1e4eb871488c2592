/**
 * The downstream (server) side of an HTTP/2 connection: h2c with prior knowledge (the client preface),
 * requests validated as RFC 9113 §8.3.1 requires, one ServerStream per request, responses, trailers and
 * interim responses, gRPC-shaped local replies, the two-step GOAWAY of a graceful drain.
 */
import { ProxyError } from "../../core/mod.ts";
import type {
  BodyReceiver,
  CodecOptions,
  ConnectionIO,
  HeaderMap,
  ResponseHead,
  ServerConnection,
  ServerConnectionHandler,
  ServerStream,
} from "../types.ts";
import { CLIENT_PREFACE, ErrorCode, errorCodeName, type GoawayFrame } from "./_frames.ts";
import { H2Connection, StreamEnd } from "./_connection.ts";
import type { H2Stream } from "./_stream.ts";
import { RequestFields, TrailerFields } from "./_fields.ts";
import type { Http2RequestHead } from "./head.ts";
import { encodeGrpcMessage, grpcStatusFor } from "./_grpc.ts";

const PREFACE_LENGTH = CLIENT_PREFACE.length;
/** GOAWAY's "no stream will be refused yet" (§6.8: the first step of a graceful shutdown). */
const MAX_STREAM_ID = 0x7fffffff;
/** The drain PING's payload, to tell its ACK apart. */
const DRAIN_PING = new TextEncoder().encode("mshdrain");
/** How long a drain waits for the client's PING ACK before the final GOAWAY anyway. */
const DRAIN_PING_TIMEOUT_MS = 1000;
/** How long a stream whose response is complete keeps reading the rest of its request (see #linger). */
export const REQUEST_LINGER_MS = 1000;

const RESOLVED: Promise<void> = Promise.resolve();
const utf8 = new TextEncoder();

/**
 * Failures whose messages name upstream addresses or internal state: a client is told the kind only (as
 * the plain-HTTP local reply's body is), the log and stats keep the detail.
 */
const OPAQUE_KINDS: ReadonlySet<string> = new Set([
  "connect_failure",
  "upstream_reset",
  "upstream_protocol_error",
  "internal",
]);

function grpcMessageFor(error: ProxyError): string {
  return OPAQUE_KINDS.has(error.kind) ? error.kind.replaceAll("_", " ") : error.message;
}

export class Http2ServerConnection extends H2Connection implements ServerConnection {
  readonly #handler: ServerConnectionHandler;
  /** Bytes of the client preface still expected. */
  #prefaceLeft = PREFACE_LENGTH;
  readonly #fields = new RequestFields();
  readonly #trailers = new TrailerFields();
  /** 0: serving; 1: first GOAWAY sent, waiting for the PING ACK; 2: final GOAWAY sent. */
  #drainStep = 0;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(io: ConnectionIO, handler: ServerConnectionHandler, options: CodecOptions) {
    super(io, options, "server");
    this.#handler = handler;
    this.sendPreamble(); // the server connection preface is its SETTINGS (§3.4)
  }

  /**
   * The request header timeout runs while a header block is incomplete, or a frame is while no stream is
   * open (a slowloris HEADERS). A long upload's partial DATA frames are the stream idle timeout's business.
   */
  get awaitingHead(): boolean {
    return (this.#prefaceLeft > 0 && this.#prefaceLeft < PREFACE_LENGTH) || this.blockInProgress ||
      (this.partialFrame && this.streams.size === 0);
  }

  /** Header blocks completed: PING, SETTINGS or WINDOW_UPDATE frames are no progress on a head. */
  get headsReceived(): number {
    return this.blocksReceived;
  }

  get readsAreActivity(): boolean {
    return false;
  }

  closeIdle(): void {
    if (this.closed) return;
    this.goaway(this.lastPeerStreamId, ErrorCode.NO_ERROR, "idle timeout");
    this.closeWith(undefined);
  }

  feed(data: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    if (this.#prefaceLeft > 0) {
      const at = PREFACE_LENGTH - this.#prefaceLeft;
      const n = Math.min(this.#prefaceLeft, data.length);
      for (let i = 0; i < n; i++) {
        if (data[i] !== CLIENT_PREFACE[at + i]) {
          return this.connectionError(ErrorCode.PROTOCOL_ERROR, "invalid connection preface");
        }
      }
      this.#prefaceLeft -= n;
      if (n === data.length) return;
      data = data.subarray(n);
    }
    return this.feedFrames(data);
  }

  /**
   * EOF inside the preface (the 24 octets and the SETTINGS frame after them) or inside a frame or field
   * block is a truncated message: a protocol error. Between frames it is a close; streams still open are
   * reset.
   */
  onEof(): void {
    if (this.closed) return;
    const started = this.#prefaceLeft < PREFACE_LENGTH;
    if (
      started &&
      (this.#prefaceLeft > 0 || !this.remoteSettingsSeen || this.partialFrame || this.blockInProgress)
    ) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, "connection closed inside a frame");
    }
    this.closeWith(new ProxyError("downstream_reset", "downstream", "client closed the connection"));
  }

  drain(): void {
    if (this.closed || this.#drainStep > 0) return;
    // §6.8: announce the shutdown without refusing anything yet, then, once the client has surely seen
    // it (its PING ACK), name the last stream we will process.
    this.#drainStep = 1;
    this.goaway(MAX_STREAM_ID, ErrorCode.NO_ERROR, "draining");
    this.writer.ping(false, DRAIN_PING);
    this.scheduleFlush();
    this.#drainTimer = this.clock.setTimeout(() => this.#finalGoaway(), DRAIN_PING_TIMEOUT_MS);
  }

  abort(error: ProxyError): void {
    if (this.closed) return;
    this.goaway(this.lastPeerStreamId, ErrorCode.NO_ERROR, error.message);
    this.closeWith(error);
  }

  protected override onPingAck(payload: Uint8Array): void {
    if (this.#drainStep !== 1 || payload.length !== 8) return;
    for (let i = 0; i < 8; i++) if (payload[i] !== DRAIN_PING[i]) return;
    this.#finalGoaway();
  }

  #finalGoaway(): void {
    this.clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    if (this.closed || this.#drainStep === 2) return;
    this.#drainStep = 2;
    this.goaway(this.lastPeerStreamId, ErrorCode.NO_ERROR, "draining");
    if (this.streams.size === 0) this.closeWith(undefined);
  }

  protected isIdle(id: number): boolean {
    return (id & 1) === 0 || id > this.lastPeerStreamId;
  }

  protected errorFor(code: number, message: string): ProxyError {
    return new ProxyError("downstream_protocol_error", "downstream", `${errorCodeName(code)}: ${message}`);
  }

  protected onPeerReset(_stream: H2Stream, code: number): ProxyError {
    return new ProxyError(
      "downstream_reset",
      "downstream",
      `client reset the stream (${errorCodeName(code)})`,
    );
  }

  protected onGoaway(_f: GoawayFrame): void {
    // The client is going away: it opens no more streams; those in flight finish.
  }

  protected onStreamGone(stream: H2Stream): void {
    if (stream.lingerTimer !== undefined) {
      this.clock.clearTimeout(stream.lingerTimer);
      stream.lingerTimer = undefined;
    }
    if (this.#drainStep === 2 && this.streams.size === 0) this.closeWith(undefined);
  }

  protected onClosed(error: ProxyError | undefined): void {
    this.clock.clearTimeout(this.#drainTimer);
    const k = error?.kind;
    if (error !== undefined && (k === "downstream_protocol_error" || k === "overflow" || k === "internal")) {
      this.#handler.onProtocolError(error);
    }
  }

  protected onFieldBlock(
    id: number,
    buf: Uint8Array,
    start: number,
    end: number,
    endStream: boolean,
  ): void | Promise<void> {
    const s = this.streams.get(id);
    if (s !== undefined) return this.#trailerBlock(s, buf, start, end, endStream);
    if (this.resetByUs(id)) {
      // Trailers the client sent before it saw our reset: decoded (HPACK state) and dropped.
      this.#trailers.reset();
      this.decodeBlock(buf, start, end, this.#trailers);
      return;
    }
    const closed = this.howClosed(id);
    if (closed !== undefined) return this.#headersOnClosed(id, closed, buf, start, end);
    if ((id & 1) === 0 || id <= this.lastPeerStreamId) {
      // §5.1.1: a client opens odd, ever-increasing stream ids; anything else (an id it skipped, one
      // closed too long ago to remember, or an even one) is a connection error.
      return this.connectionError(
        ErrorCode.PROTOCOL_ERROR,
        `HEADERS on stream ${id}, which cannot be opened`,
      );
    }
    this.lastPeerStreamId = id;
    const fields = this.#fields;
    fields.reset();
    const decoded = this.decodeBlock(buf, start, end, fields); // always: HPACK state must stay in sync
    if (decoded === "closed") return;
    if (this.#drainStep === 2 && id > this.goawaySentLastId) return; // §6.8: after our last id, ignored
    if (decoded === "too-large") return this.#refuse(id, ErrorCode.REFUSED_STREAM, true);
    if (this.streams.size >= this.local.maxConcurrentStreams) {
      this.#handler.onStreamRefused?.();
      return this.#refuse(id, ErrorCode.REFUSED_STREAM, false);
    }
    const head = fields.build();
    if (head === undefined) return this.#refuse(id, ErrorCode.PROTOCOL_ERROR, false); // malformed (§8.1.1)
    const st = this.newStreamState(id);
    st.headReceived = true;
    st.expectedLength = head.contentLength;
    if (endStream) {
      st.closeRemote();
      if (head.contentLength > 0) return this.#refuse(id, ErrorCode.PROTOCOL_ERROR, false); // §8.1.1
    }
    this.streams.set(id, st);
    this.countStreamOpened();
    return this.#handler.onRequest(new Http2ServerStream(this, st, head, endStream));
  }

  /**
   * HEADERS on a stream that closed lately (§5.1 "closed"): after the client's END_STREAM that is a
   * connection error STREAM_CLOSED; after its RST_STREAM a stream error STREAM_CLOSED (the block is decoded
   * first: the HPACK table must stay in sync).
   */
  #headersOnClosed(id: number, how: StreamEnd, buf: Uint8Array, start: number, end: number): void {
    if (how === StreamEnd.ENDED) {
      return this.connectionError(ErrorCode.STREAM_CLOSED, `HEADERS on stream ${id}, which has ended`);
    }
    this.#trailers.reset();
    if (this.decodeBlock(buf, start, end, this.#trailers) === "closed") return;
    if (this.resetFlood()) return; // answering them costs a write each
    this.sendRst(id, ErrorCode.STREAM_CLOSED);
  }

  /** Refuses a stream that was never handed to the proxy: RST_STREAM (or a 431 for an oversized head). */
  #refuse(id: number, code: number, tooLarge: boolean): void {
    if (this.resetFlood()) return; // a peer making us refuse streams at this rate is a rapid reset
    this.counters?.refusedStreams.inc();
    if (tooLarge) {
      // §10.5.1: tell the client why; the stream then ends from our side.
      this.writeBlock(id, [":status", "431"], undefined, true, false);
    }
    this.sendRst(id, tooLarge ? ErrorCode.NO_ERROR : code);
  }

  #trailerBlock(s: H2Stream, buf: Uint8Array, start: number, end: number, endStream: boolean): void {
    const t = this.#trailers;
    t.reset();
    const decoded = this.decodeBlock(buf, start, end, t);
    if (decoded === "closed") return;
    if (s.remoteClosed) {
      return this.resetStream(
        s,
        ErrorCode.STREAM_CLOSED,
        this.errorFor(ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM"),
      );
    }
    this.endWithTrailers(s, decoded === "ok" && endStream ? t.build() : undefined);
  }

  // === used by Http2ServerStream ===

  /** @internal */
  _block(
    s: H2Stream,
    pseudo: readonly (string | undefined)[],
    headers: HeaderMap | undefined,
    end: boolean,
  ): Promise<void> {
    return this.sendBlock(s, pseudo, headers, end, true);
  }

  /** @internal */
  _data(s: H2Stream, chunk: Uint8Array, end: boolean): Promise<void> {
    if (this.closed || !this.streams.has(s.id)) return RESOLVED;
    return this.sendData(s, chunk, end);
  }

  /** Some of our side went out: when that was its END_STREAM and the request is still open, linger. */
  protected override afterLocalEnd(s: H2Stream): void {
    if (s.localClosed && !s.remoteClosed) return this.#linger(s);
    super.afterLocalEnd(s);
  }

  /**
   * The response is complete, the request is not: the rest of it is no longer wanted (§8.1). Instead of
   * resetting at once, the stream stays half-closed (local) a moment, so that what the client already
   * sent is still held to the rules — content-length, trailers, windows — and a request that ends soon
   * closes cleanly. Its DATA is dropped and never credited, so the client can send no more than its
   * window; once that is spent, or after REQUEST_LINGER_MS, RST_STREAM NO_ERROR tells it to stop.
   */
  #linger(s: H2Stream): void {
    if (s.discarding || !this.streams.has(s.id)) return;
    s.discard();
    if (s.recvWindow <= 0) return this.stopInbound(s);
    s.lingerTimer = this.clock.setTimeout(() => {
      s.lingerTimer = undefined;
      this.stopInbound(s);
    }, REQUEST_LINGER_MS);
  }

  /** @internal */
  _reset(s: H2Stream, code: number): void {
    this.resetStream(s, code, undefined);
  }
}

/** One request on an HTTP/2 connection. */
export class Http2ServerStream implements ServerStream {
  readonly id: number;
  readonly request: Http2RequestHead;
  readonly headOnly: boolean;
  readonly #conn: Http2ServerConnection;
  readonly #s: H2Stream;
  #responded = false;
  #continueSent = false;

  constructor(conn: Http2ServerConnection, s: H2Stream, request: Http2RequestHead, headOnly: boolean) {
    this.#conn = conn;
    this.#s = s;
    this.id = s.id;
    this.request = request;
    this.headOnly = headOnly;
  }

  setBodyReceiver(receiver: BodyReceiver): void {
    const s = this.#s;
    if (
      this.request.expectContinue && !this.#continueSent && !this.#responded && !s.remoteClosed &&
      s.receivedLength === 0
    ) {
      // The body is wanted now: tell the client to send it (RFC 9110 §10.1.1).
      this.#continueSent = true;
      void this.#conn._block(s, [":status", "100"], undefined, false);
    }
    s.setSink(receiver);
  }

  sendInformational(head: ResponseHead): Promise<void> {
    if (head.status < 100 || head.status >= 200 || head.status === 101) {
      return Promise.reject(new RangeError(`Cannot send ${head.status} as an interim response`));
    }
    if (this.#responded || (head.status === 100 && this.#continueSent)) return RESOLVED;
    if (head.status === 100) this.#continueSent = true;
    return this.#conn._block(this.#s, [":status", String(head.status)], head.headers, false);
  }

  sendResponse(head: ResponseHead, endStream: boolean): Promise<void> {
    if (this.#responded) {
      return Promise.reject(new ProxyError("internal", "internal", "Cannot send a second response head"));
    }
    this.#responded = true;
    return this.#conn._block(this.#s, [":status", String(head.status)], head.headers, endStream);
  }

  sendData(chunk: Uint8Array, endStream: boolean): Promise<void> {
    return this.#conn._data(this.#s, chunk, endStream);
  }

  sendTrailers(trailers: HeaderMap): Promise<void> {
    return this.#conn._block(this.#s, [], trailers, true);
  }

  /**
   * Replies in HTTP terms, or for a gRPC request in gRPC's: HTTP 200 with the status in a trailers-only
   * response (grpc-status, grpc-message), which is what gRPC clients read.
   */
  sendLocalReply(error: ProxyError, body?: string): Promise<void> {
    if (this.#responded) {
      this.reset(error);
      return RESOLVED;
    }
    this.#responded = true;
    if (this.request.grpc) {
      return this.#conn._block(
        this.#s,
        [
          ":status",
          "200",
          "content-type",
          "application/grpc",
          "grpc-status",
          String(grpcStatusFor(error.kind)),
          "grpc-message",
          encodeGrpcMessage(body ?? grpcMessageFor(error)),
        ],
        undefined,
        true,
      );
    }
    const bytes = utf8.encode(body ?? error.kind.replaceAll("_", " ") + "\n");
    void this.#conn._block(
      this.#s,
      [
        ":status",
        String(error.status),
        "content-type",
        "text/plain; charset=utf-8",
        "content-length",
        String(bytes.length),
      ],
      undefined,
      false,
    );
    return this.#conn._data(this.#s, bytes, true);
  }

  reset(error: ProxyError): void {
    const timeout = error.kind === "timeout" || error.kind === "request_timeout";
    this.#conn._reset(this.#s, timeout ? ErrorCode.CANCEL : ErrorCode.INTERNAL_ERROR);
  }
}
