/**
 * The upstream (client) side of an HTTP/2 connection (h2c with prior knowledge): many streams on one
 * connection within the server's SETTINGS_MAX_CONCURRENT_STREAMS, requests from any protocol's head,
 * responses validated (§8.3.2), 1xx interim responses, trailers. A GOAWAY makes the connection take no
 * new streams and marks the streams above its last id retryable: the server never processed them.
 *
 * A stream gets its id when its request head is sent, not when it is opened: ids must reach the server
 * in increasing order (§5.1.1), and streams opened together may send their heads in any order. Until
 * then a stream counts against the capacity but has no id (0) and nothing of it is on the wire.
 */
import { ProxyError } from "../../core/mod.ts";
import type {
  ClientConnection,
  ClientConnectionHandler,
  ClientStream,
  CodecOptions,
  ConnectionIO,
  HeaderMap,
  RequestHead,
  ResponseReceiver,
} from "../types.ts";
import { CLIENT_PREFACE, ErrorCode, errorCodeName, type GoawayFrame } from "./_frames.ts";
import { H2Connection } from "./_connection.ts";
import type { H2Stream } from "./_stream.ts";
import { ResponseFields, TrailerFields } from "./_fields.ts";
import { Http2RequestHead } from "./head.ts";

const MAX_STREAM_ID = 0x7fffffff;
/**
 * Streams allowed until the server's SETTINGS say (the RFC's initial value is "unlimited"; §6.5.2 suggests
 * at least 100). `capacityKnown` is false meanwhile, so a pool can open fewer: a stream past a lower limit
 * would be refused.
 */
const ASSUMED_MAX_STREAMS = 100;
const RESOLVED: Promise<void> = Promise.resolve();

export class Http2ClientConnection extends H2Connection implements ClientConnection {
  readonly #handler: ClientConnectionHandler;
  #nextId = 1;
  readonly #fields = new ResponseFields();
  readonly #trailers = new TrailerFields();
  readonly #receivers = new Map<number, ResponseReceiver>();
  /** `io.bytesSubmitted` before each stream's HEADERS: a stream whose bytes never left is resendable. */
  readonly #marks = new Map<number, number>();
  /** Streams that asked for a HEAD (no body follows their response head). */
  readonly #heads = new Set<number>();
  /** Streams opened whose request head was not sent yet (no id yet). */
  readonly #unstarted = new Set<Http2ClientStream>();

  constructor(io: ConnectionIO, handler: ClientConnectionHandler, options: CodecOptions) {
    super(io, options, "client");
    this.#handler = handler;
    void io.write(CLIENT_PREFACE); // §3.4: the preface, then our SETTINGS
    this.sendPreamble();
  }

  get reusable(): boolean {
    return !this.closed && this.goawayReceived === undefined && this.#nextId <= MAX_STREAM_ID;
  }

  get capacityKnown(): boolean {
    return this.remoteSettingsSeen;
  }

  override get activeStreams(): number {
    return this.streams.size + this.#unstarted.size;
  }

  get streamCapacity(): number {
    if (!this.reusable) return 0;
    let max = this.remoteSettingsSeen ? this.remote.maxConcurrentStreams : ASSUMED_MAX_STREAMS;
    const own = this.options.http2.maxConcurrentStreams;
    if (own > 0 && own < max) max = own;
    const left = max - this.activeStreams;
    return left > 0 ? left : 0;
  }

  feed(data: Uint8Array): void | Promise<void> {
    return this.feedFrames(data);
  }

  onEof(): void {
    this.closeWith(new ProxyError("upstream_reset", "upstream", "upstream closed the connection"));
  }

  newStream(receiver: ResponseReceiver): ClientStream {
    if (this.streamCapacity <= 0) {
      throw new ProxyError(
        "upstream_reset",
        "upstream",
        this.reusable ? "no stream capacity left on this connection" : "connection takes no new streams",
        { retryable: true },
      );
    }
    const cs = new Http2ClientStream(this, receiver);
    this.#unstarted.add(cs);
    return cs;
  }

  /** Streams opened and never started hear that they will not be: certainly unsent, so retryable. */
  #failUnstarted(message: string, cause?: ProxyError): void {
    if (this.#unstarted.size === 0) return;
    const streams = [...this.#unstarted];
    this.#unstarted.clear();
    for (const cs of streams) {
      cs.receiver.onReset(new ProxyError("upstream_reset", "upstream", message, { cause, retryable: true }));
    }
  }

  protected isIdle(id: number): boolean {
    return (id & 1) === 0 || id >= this.#nextId;
  }

  protected errorFor(code: number, message: string): ProxyError {
    return new ProxyError("upstream_protocol_error", "upstream", `${errorCodeName(code)}: ${message}`);
  }

  protected onPeerReset(stream: H2Stream, code: number): ProxyError | undefined {
    // §8.1: a server may answer before the request is complete, then reset it (NO_ERROR) to stop the
    // rest; the response is whole, so the receiver has nothing to hear.
    if (stream.remoteClosed) return undefined;
    // REFUSED_STREAM (§8.7): the server did not process it, so another connection may carry it.
    return new ProxyError(
      "upstream_reset",
      "upstream",
      `upstream reset the stream (${errorCodeName(code)})`,
      {
        retryable: code === ErrorCode.REFUSED_STREAM || this.#unsent(stream.id),
      },
    );
  }

  protected override streamErrorFor(stream: H2Stream, error: ProxyError): ProxyError {
    if (!this.#unsent(stream.id)) return error;
    return new ProxyError("upstream_reset", "upstream", error.message, { cause: error, retryable: true });
  }

  /**
   * No byte of the stream's request left this host. Without byte counts on the IO (no mark) every
   * written byte may have arrived.
   */
  #unsent(id: number): boolean {
    const mark = this.#marks.get(id);
    const written = this.io.bytesWritten;
    return mark !== undefined && written !== undefined && written <= mark;
  }

  protected onGoaway(f: GoawayFrame): void {
    const first = this.goawayReceived === undefined;
    this.goawayReceived = f;
    if (first) {
      this.#handler.onUnusable(
        new ProxyError("upstream_reset", "upstream", "upstream sent GOAWAY", { retryable: true }),
      );
    }
    // §6.8: streams above the last id were not processed and will not be: retry them elsewhere.
    this.#failUnstarted("upstream GOAWAY before this stream");
    for (const s of [...this.streams.values()]) {
      if (s.id <= f.lastStreamId) continue;
      s.state = 3;
      s.dropInbound();
      this.forgetStream(s);
      s.sink?.onReset(
        new ProxyError("upstream_reset", "upstream", "upstream GOAWAY before this stream", {
          retryable: true,
        }),
      );
    }
    if (this.streams.size === 0) this.closeWith(undefined);
  }

  protected override onMoreStreams(): void {
    this.#handler.onCapacity?.();
  }

  protected onStreamGone(stream: H2Stream): void {
    this.#receivers.delete(stream.id);
    this.#marks.delete(stream.id);
    this.#heads.delete(stream.id);
    if (this.goawayReceived !== undefined && this.streams.size === 0) this.closeWith(undefined);
  }

  protected onClosed(error: ProxyError | undefined): void {
    this.#failUnstarted(error?.message ?? "connection closed", error);
    this.#handler.onUnusable(error ?? new ProxyError("upstream_reset", "upstream", "connection closed"));
  }

  protected onFieldBlock(
    id: number,
    buf: Uint8Array,
    start: number,
    end: number,
    endStream: boolean,
  ): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) {
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, never opened`);
      }
      // A stream we reset: decode anyway, HPACK state must stay in sync.
      this.#trailers.reset();
      this.decodeBlock(buf, start, end, this.#trailers);
      return;
    }
    const r = this.#receivers.get(id)!;
    if (s.headReceived) return this.#trailerBlock(s, r, buf, start, end, endStream);
    const fields = this.#fields;
    fields.reset();
    const decoded = this.decodeBlock(buf, start, end, fields);
    if (decoded === "closed") return;
    const head = decoded === "ok" ? fields.build() : undefined;
    if (head === undefined || head.status === 101) {
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, fields.error ?? "malformed response head"),
      );
    }
    if (head.status < 200) {
      // §8.1: an interim response never ends the stream.
      if (endStream) {
        return this.resetStream(
          s,
          ErrorCode.PROTOCOL_ERROR,
          this.errorFor(ErrorCode.PROTOCOL_ERROR, "1xx with END_STREAM"),
        );
      }
      if (head.status !== 100) r.onInformational?.(head);
      return;
    }
    const bodiless = this.#heads.has(id) || head.status === 204 || head.status === 304;
    if (endStream && !bodiless && head.contentLength > 0) {
      // §8.1.1: content-length promises DATA the stream just said will not come.
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "content-length with an empty body"),
      );
    }
    s.headReceived = true;
    if (!bodiless) s.expectedLength = head.contentLength;
    if (endStream) s.closeRemote();
    // Not awaited: a slow consumer holds its own stream (its window), never the connection.
    void r.onResponse(head, endStream);
    if (endStream) this.afterRemoteEnd(s);
  }

  #trailerBlock(
    s: H2Stream,
    _r: ResponseReceiver,
    buf: Uint8Array,
    start: number,
    end: number,
    endStream: boolean,
  ): void {
    const t = this.#trailers;
    t.reset();
    const decoded = this.decodeBlock(buf, start, end, t);
    if (decoded === "closed") return;
    // Trailers after the server's END_STREAM are malformed too (its stream is closed for it).
    this.endWithTrailers(s, decoded === "ok" && endStream && !s.remoteClosed ? t.build() : undefined);
  }

  // === used by Http2ClientStream ===

  /**
   * Starts `cs`: its id is the next one, so ids go on the wire in increasing order (§5.1.1).
   * @internal
   */
  _start(cs: Http2ClientStream): H2Stream | undefined {
    // Not unstarted: reset by the proxy, or failed by GOAWAY or close (its receiver was told).
    if (!this.#unstarted.delete(cs)) return undefined;
    if (this.#nextId > MAX_STREAM_ID) {
      cs.receiver.onReset(
        new ProxyError("upstream_reset", "upstream", "stream ids exhausted", { retryable: true }),
      );
      return undefined;
    }
    const id = this.#nextId;
    this.#nextId += 2;
    this.lastLocalStreamId = id;
    const st = this.newStreamState(id);
    this.streams.set(id, st);
    this.#receivers.set(id, cs.receiver);
    st.setSink(cs.receiver);
    this.countStreamOpened();
    return st;
  }

  /**
   * A stream reset before its request was sent: nothing went out, nothing to reset on the wire.
   * @internal
   */
  _cancel(cs: Http2ClientStream): void {
    this.#unstarted.delete(cs);
  }

  /** @internal */
  _request(s: H2Stream, head: RequestHead, endStream: boolean): Promise<void> {
    if (this.closed || !this.streams.has(s.id)) return RESOLVED;
    const submitted = this.io.bytesSubmitted;
    if (submitted !== undefined) this.#marks.set(s.id, submitted);
    const authority = head.host !== "" ? head.host : head.headers.get("host");
    if (head.method === "HEAD") this.#heads.add(s.id);
    const connect = head.method === "CONNECT" &&
      !(head instanceof Http2RequestHead && head.connectProtocol !== undefined);
    const pseudo = connect ? [":method", "CONNECT", ":authority", authority] : [
      ":method",
      head.method,
      ":scheme",
      head instanceof Http2RequestHead && head.scheme !== "" ? head.scheme : "http",
      ":authority",
      authority,
      ":path",
      head.path === "" ? "/" : head.path + head.query,
      ":protocol",
      head instanceof Http2RequestHead ? head.connectProtocol : undefined,
    ];
    return this.sendBlock(s, pseudo, head.headers, endStream, true);
  }

  /** @internal */
  _data(s: H2Stream, chunk: Uint8Array, end: boolean): Promise<void> {
    if (this.closed || !this.streams.has(s.id)) return RESOLVED;
    return this.sendData(s, chunk, end);
  }

  /** @internal */
  _trailers(s: H2Stream, trailers: HeaderMap): Promise<void> {
    return this.sendBlock(s, [], trailers, true, false);
  }

  /** @internal */
  _reset(s: H2Stream): void {
    if (!this.streams.has(s.id)) return;
    this.sendRst(s.id, ErrorCode.CANCEL);
    s.state = 3;
    s.dropInbound();
    this.forgetStream(s);
  }
}

/** One request on an upstream HTTP/2 connection. */
export class Http2ClientStream implements ClientStream {
  /** @internal */
  readonly receiver: ResponseReceiver;
  readonly #conn: Http2ClientConnection;
  /** Set once the request head is sent. */
  #s: H2Stream | undefined;
  #started = false;
  #cancelled = false;

  constructor(conn: Http2ClientConnection, receiver: ResponseReceiver) {
    this.#conn = conn;
    this.receiver = receiver;
  }

  /** The stream id, allocated when the request head is sent; 0 before. */
  get id(): number {
    return this.#s?.id ?? 0;
  }

  sendRequest(head: RequestHead, endStream: boolean): Promise<void> {
    if (this.#cancelled) return RESOLVED; // reset first: nothing goes out
    if (this.#started) return Promise.reject(new RangeError("Cannot send a second request head"));
    this.#started = true;
    this.#s = this.#conn._start(this);
    return this.#s === undefined ? RESOLVED : this.#conn._request(this.#s, head, endStream);
  }

  sendData(chunk: Uint8Array, endStream: boolean): Promise<void> {
    return this.#s === undefined ? RESOLVED : this.#conn._data(this.#s, chunk, endStream);
  }

  sendTrailers(trailers: HeaderMap): Promise<void> {
    return this.#s === undefined ? RESOLVED : this.#conn._trailers(this.#s, trailers);
  }

  /** RST_STREAM CANCEL (none before the request head was sent); a late frame for it is ignored. */
  reset(_error: ProxyError): void {
    if (this.#s === undefined) {
      this.#cancelled = true;
      this.#conn._cancel(this);
    } else this.#conn._reset(this.#s);
  }
}
