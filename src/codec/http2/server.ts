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
import { H2Connection } from "./_connection.ts";
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

const RESOLVED: Promise<void> = Promise.resolve();
const utf8 = new TextEncoder();

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

  get awaitingHead(): boolean {
    return (this.#prefaceLeft > 0 && this.#prefaceLeft < PREFACE_LENGTH) || this.frameInProgress;
  }

  get headsReceived(): number {
    return this.framesRead;
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
    if (started && (this.#prefaceLeft > 0 || !this.remoteSettingsSeen || this.frameInProgress)) {
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

  protected onStreamGone(_stream: H2Stream): void {
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
    if ((id & 1) === 0 || id <= this.lastPeerStreamId) {
      // §5.1.1: a client opens odd, ever-increasing stream ids; anything else (a closed stream's id
      // again, or an even one) is a connection error.
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
    const trailers = decoded === "ok" && endStream ? t.build() : undefined;
    if (trailers === undefined) {
      // A second HEADERS must carry trailers and end the stream (§8.1).
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "malformed trailers"),
      );
    }
    if (s.expectedLength >= 0 && s.receivedLength !== s.expectedLength) {
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "content-length mismatch"),
      );
    }
    s.closeRemote();
    s.push(trailers, true);
    this.afterRemoteEnd(s);
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

  /**
   * Our response's END_STREAM went out: a request body still coming is no longer wanted (§8.1:
   * RST_STREAM NO_ERROR), so the stream closes now either way.
   */
  protected override afterLocalEnd(s: H2Stream): void {
    if (!s.remoteClosed && this.streams.has(s.id)) {
      this.sendRst(s.id, ErrorCode.NO_ERROR);
      s.state = 3;
      s.dropInbound();
      this.forgetStream(s);
      return;
    }
    super.afterLocalEnd(s);
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
          encodeGrpcMessage(body ?? error.message),
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
