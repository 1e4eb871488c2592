/**
 * Server (downstream) side of the HTTP/1.1 codec.
 *
 * One stream at a time: the next pipelined request is not parsed until the previous response has ended
 * (and its request body has been read), so responses are always in request order and `activeStreams` is
 * 0 or 1. Bytes of later requests stay in the caller's read buffer meanwhile (feed returns a promise).
 */
import { type Clock, ProxyError, systemClock } from "../../core/mod.ts";
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
import { headerCountLimit, headLimit } from "./_options.ts";
import { info, parseRequestHead, parseTrailers } from "./_parse.ts";
import { EMPTY, MessageReader, type ReaderOwner, S_HEAD } from "./_reader.ts";
import { defaultReason, seen, statusLine, writeFields, Writer } from "./_writer.ts";
import { Http1Headers } from "./headers.ts";
import { stripHopByHop } from "./_hop_by_hop.ts";
import type { Http1RequestHead } from "./head.ts";
import { Http1ResponseHead } from "./head.ts";

// Response framing.
const R_NONE = 0, R_LENGTH = 1, R_CHUNKED = 2, R_CLOSE = 3, R_TUNNEL = 4;
// Response progress.
const RES_IDLE = 0, RES_STARTED = 1, RES_ENDED = 2;

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");
const utf8 = new TextEncoder();
/**
 * After a local reply that ends the connection (400, 408, 431 …): how long the connection stays half-closed,
 * reading and discarding, for the client to close first (Envoy's delayed_close_timeout, 1 s by default).
 * Closing at once with request bytes still unread makes the kernel answer with a RST, which can destroy the
 * reply in the client's receive buffer before it reads it.
 */
export const LOCAL_REPLY_CLOSE_DELAY_MS = 1000;

/** A short text body for a local reply of this kind. */
export function localReplyBody(kind: string): string {
  return kind.replaceAll("_", " ") + "\n";
}

export class Http1ServerStream implements ServerStream {
  readonly id: number;
  readonly request: Http1RequestHead;
  readonly headOnly: boolean;
  readonly upgrade: string | undefined;
  #conn: Http1ServerConnection;

  constructor(conn: Http1ServerConnection, id: number, request: Http1RequestHead, headOnly: boolean) {
    this.#conn = conn;
    this.id = id;
    this.request = request;
    this.headOnly = headOnly;
    this.upgrade = request.upgrade;
  }

  setBodyReceiver(receiver: BodyReceiver): void {
    this.#conn._setReceiver(this, receiver);
  }
  sendInformational(head: ResponseHead): Promise<void> {
    if (head.status < 100 || head.status >= 200 || head.status === 101) {
      return Promise.reject(new RangeError(`Cannot send ${head.status} as an interim response`));
    }
    return this.#conn._sendResponse(this, head, false); // 1xx go out at once and leave the stream open
  }
  sendResponse(head: ResponseHead, endStream: boolean): Promise<void> {
    return this.#conn._sendResponse(this, head, endStream);
  }
  sendData(chunk: Uint8Array, endStream: boolean): Promise<void> {
    return this.#conn._sendData(this, chunk, endStream);
  }
  sendTrailers(trailers: HeaderMap): Promise<void> {
    return this.#conn._sendTrailers(this, trailers);
  }
  sendLocalReply(error: ProxyError, body?: string): Promise<void> {
    return this.#conn._sendLocalReply(this, error, body);
  }
  reset(error: ProxyError): void {
    this.#conn._reset(this, error);
  }
}

const resolved: Promise<void> = Promise.resolve();

export class Http1ServerConnection implements ServerConnection, ReaderOwner {
  #io: ConnectionIO;
  #handler: ServerConnectionHandler;
  #reader: MessageReader;
  #w: Writer;
  #maxHeaders: number;
  #nextId = 1;
  #closed = false;
  #draining = false;

  // State of the one current stream (request being read and/or response being written).
  #stream: Http1ServerStream | null = null;
  #receiver: BodyReceiver | null = null;
  /** Resolves a data() call waiting for setBodyReceiver. */
  #receiverWait: (() => void) | null = null;
  /** Resolves the parse gate waiting for the response to end. */
  #headWait: (() => void) | null = null;
  #reqDone = true;
  #bodySeen = false;
  #continueSent = false;
  /** The response ended before the body was wanted: drop the rest of the body. */
  #discard = false;
  #tunnel = false;
  #tunnelAfterBody = false;
  #res = RES_IDLE;
  #framing = R_NONE;
  #closeAfter = false;
  #closeNow: () => void;
  readonly #clock: Clock;
  /** Half-closed after a local reply, waiting for the client's EOF (LOCAL_REPLY_CLOSE_DELAY_MS at most). */
  #lingerTimer: ReturnType<Clock["setTimeout"]> | undefined;
  #lingering = false;

  constructor(io: ConnectionIO, handler: ServerConnectionHandler, options: CodecOptions) {
    this.#io = io;
    this.#handler = handler;
    this.#reader = new MessageReader(this, headLimit(options));
    this.#w = new Writer(io);
    this.#maxHeaders = headerCountLimit(options);
    this.#closeNow = () => this.#close();
    this.#clock = options.clock ?? systemClock;
  }

  get activeStreams(): number {
    return this.#stream === null ? 0 : 1;
  }

  get awaitingHead(): boolean {
    return this.#reader.headStarted;
  }

  get headsReceived(): number {
    return this.#nextId - 1;
  }

  abort(error: ProxyError): void {
    this.#replyAndClose(error);
  }

  feed(data: Uint8Array): void | Promise<void> {
    if (this.#closed) return;
    return this.#reader.feed(data);
  }

  onEof(): void {
    if (this.#lingering) return this.#close(); // the client read the local reply and closed
    if (this.#closed) return;
    if (this.#tunnel) {
      // The client finished its side of the tunnel; the proxy closes once the upstream side ends too.
      const r = this.#receiver;
      this.#reader.stop();
      if (r !== null) void r.onData(EMPTY, true);
      else this.#close();
      return;
    }
    if (this.#stream !== null && !this.#reqDone) {
      const err = new ProxyError(
        "downstream_reset",
        "downstream",
        "Cannot read the request body: client closed",
      );
      const r = this.#receiver;
      this.#close();
      if (r !== null) r.onReset(err);
      return;
    }
    if (this.#reader.buffered > 0 || this.#reader.state !== S_HEAD) {
      this.#close();
      this.#handler.onProtocolError(
        new ProxyError("downstream_protocol_error", "downstream", "Cannot parse a truncated request"),
      );
      return;
    }
    if (this.#stream !== null && this.#res !== RES_ENDED) {
      // Request complete, response not done: the client left (as nginx and Envoy read an EOF). Its
      // request is abandoned so it stops holding an upstream connection or a pending-queue slot.
      const r = this.#receiver;
      this.#close();
      r?.onReset(new ProxyError("downstream_reset", "downstream", "client closed before the response"));
      return;
    }
    this.#close();
  }

  /**
   * The in-flight response (or else the next one) says `Connection: close` and the connection closes
   * after it. A response whose head already went out without it has promised keep-alive: the client may
   * send its next request at once, so the connection stays open for that one, whose response says close
   * (closing after the promise made wrk see an EOF under drain). An idle connection stays open: a request
   * may already be on its way, so the listener closes it only once it has stayed idle for `drain_idle_grace`.
   */
  drain(): void {
    this.#draining = true;
    if (this.#stream !== null && this.#res === RES_IDLE) this.#closeAfter = true;
  }

  // === ReaderOwner ===

  beforeHead(): Promise<void> | undefined {
    if (this.#stream === null) return undefined;
    if (this.#res === RES_ENDED && this.#reqDone) {
      this.#streamDone();
      return undefined;
    }
    return new Promise<void>((resolve) => this.#headWait = resolve);
  }

  head(b: Uint8Array, start: number, end: number): void | Promise<void> {
    const req = parseRequestHead(b, start, end, this.#maxHeaders);
    if (req === null) {
      this.#reader.stop();
      this.fail(info.error === "header_too_large" ? "header_too_large" : "protocol", info.message);
      return;
    }
    const chunked = info.chunked;
    const contentLength = info.contentLength;
    if (info.hopByHop) stripHopByHop(req.headers, req.upgrade !== undefined);
    let headOnly = false;
    if (chunked) this.#reader.bodyChunked();
    else if (contentLength > 0) this.#reader.bodyLength(contentLength);
    else {
      this.#reader.bodyLength(0);
      headOnly = true;
    }
    const stream = new Http1ServerStream(this, this.#nextId++, req, headOnly);
    this.#stream = stream;
    this.#receiver = null;
    this.#reqDone = headOnly;
    this.#bodySeen = false;
    this.#continueSent = false;
    this.#discard = false;
    this.#tunnelAfterBody = false;
    this.#res = RES_IDLE;
    this.#framing = R_NONE;
    this.#closeAfter = !req.keepAlive || this.#draining;
    return this.#handler.onRequest(stream);
  }

  data(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    if (this.#closed) return;
    if (this.#tunnel) return this.#deliver(chunk, false);
    this.#bodySeen = true;
    if (this.#discard) {
      if (endStream) this.#requestEnded();
      return;
    }
    return this.#deliver(chunk, endStream);
  }

  trailers(b: Uint8Array, start: number, end: number): void | Promise<void> {
    const t = parseTrailers(b, start, end, this.#maxHeaders);
    if (t === null) {
      this.#reader.stop();
      this.fail(info.error === "header_too_large" ? "header_too_large" : "protocol", info.message);
      return;
    }
    if (this.#discard) {
      this.#requestEnded();
      return;
    }
    const r = this.#receiver;
    if (r === null) return this.#waitReceiver().then(() => this.#deliverTrailers(t));
    return this.#deliverTrailers(t);
  }

  fail(kind: "header_too_large" | "protocol", message: string): void {
    if (this.#closed) return;
    const err = new ProxyError(
      kind === "header_too_large" ? "header_too_large" : "downstream_protocol_error",
      "downstream",
      message,
    );
    this.#replyAndClose(err);
    this.#handler.onProtocolError(err);
  }

  /** Answers `err` in HTTP terms if no response started, else just closes; the request body is reset. */
  #replyAndClose(err: ProxyError): void {
    if (this.#closed) return;
    const r = this.#stream !== null && !this.#reqDone ? this.#receiver : null;
    if (this.#stream === null || this.#res === RES_IDLE) {
      // Nothing of a response is out: reply, then close.
      this.#reader.stop();
      this.#closeAfter = true;
      const p = this.#writeLocal(err.status, localReplyBody(err.kind), false);
      this.#res = RES_ENDED;
      p.then(this.#closeAfterReply, this.#closeNow);
      this.#markClosed();
    } else {
      this.#close();
    }
    if (r !== null) r.onReset(err);
  }

  // === body delivery ===

  #deliver(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    const r = this.#receiver;
    if (r === null) return this.#waitReceiver().then(() => this.#deliverLate(chunk, endStream));
    const p = r.onData(chunk, endStream);
    if (endStream && !this.#tunnel) this.#requestEnded();
    return p;
  }

  #deliverLate(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    if (this.#closed && !this.#tunnel) return;
    if (this.#receiver === null) {
      // Woken by the response ending first: the body is discarded.
      if (endStream) this.#requestEnded();
      return;
    }
    return this.#deliver(chunk, endStream);
  }

  #deliverTrailers(t: Http1Headers): void | Promise<void> {
    const r = this.#receiver;
    this.#requestEnded();
    if (r === null || this.#closed) return;
    return r.onTrailers(t);
  }

  #waitReceiver(): Promise<void> {
    return new Promise<void>((resolve) => this.#receiverWait = resolve);
  }

  #requestEnded(): void {
    this.#reqDone = true;
    if (this.#tunnelAfterBody) {
      this.#tunnel = true;
      this.#reader.raw();
    } else if (this.#res === RES_ENDED) {
      this.#streamDone();
    }
  }

  // === stream operations (called by Http1ServerStream) ===

  /** @internal */
  _setReceiver(stream: Http1ServerStream, receiver: BodyReceiver): void {
    if (stream !== this.#stream) return;
    this.#receiver = receiver;
    const req = stream.request;
    if (
      req.expectContinue && !this.#continueSent && !this.#bodySeen && !this.#reqDone &&
      this.#res === RES_IDLE &&
      !this.#closed
    ) {
      // The body is wanted now: tell the client to send it.
      this.#continueSent = true;
      void this.#io.write(CONTINUE).catch(() => {});
    }
    this.#wakeReceiver();
  }

  #wakeReceiver(): void {
    const w = this.#receiverWait;
    if (w !== null) {
      this.#receiverWait = null;
      w();
    }
  }

  /** @internal */
  _sendResponse(stream: ServerStream, head: ResponseHead, endStream: boolean): Promise<void> {
    if (stream !== this.#stream || this.#closed) return resolved;
    if (this.#res !== RES_IDLE) {
      return Promise.reject(new ProxyError("internal", "internal", "Cannot send a second response head"));
    }
    const req = (stream as Http1ServerStream).request;
    const status = head.status;
    const w = this.#w;
    if (status >= 100 && status < 200 && status !== 101) {
      // Interim responses (e.g. 103) go out at once; HTTP/1.0 clients do not understand them.
      if (req.minorVersion === 0 || (status === 100 && this.#continueSent)) return resolved;
      if (status === 100) this.#continueSent = true;
      this.#statusLine(status, head.reason);
      writeFields(w, head.headers, "");
      w.ensure(2);
      w.crlf();
      return w.flush();
    }
    this.#res = RES_STARTED;
    this.#statusLine(status, head.reason);
    writeFields(w, head.headers, "");
    let close = this.#closeAfter || seen.close || this.#draining;
    let framing: number;
    if (status === 101) {
      framing = R_TUNNEL;
      w.field("connection", "upgrade");
      if (!seen.upgrade && req.upgrade !== undefined) w.field("upgrade", req.upgrade);
    } else if (req.method === "CONNECT" && status >= 200 && status < 300) {
      // RFC 9110 §9.3.6: after a 2xx to CONNECT the connection is the tunnel (no framing, no fields).
      framing = R_TUNNEL;
    } else if (req.method === "HEAD" || status === 204 || status === 304) {
      framing = R_NONE;
    } else if (endStream) {
      framing = R_NONE;
      if (!seen.contentLength) w.field("content-length", "0");
    } else if (seen.contentLength) {
      framing = R_LENGTH;
    } else if (req.minorVersion >= 1) {
      framing = R_CHUNKED;
      w.field("transfer-encoding", "chunked");
    } else {
      framing = R_CLOSE;
      close = true;
    }
    if (framing !== R_TUNNEL) {
      if (close) w.field("connection", "close");
      else if (req.minorVersion === 0) w.field("connection", "keep-alive");
    }
    w.ensure(2);
    w.crlf();
    this.#framing = framing;
    this.#closeAfter = close;
    if (framing === R_TUNNEL) {
      // Both peers wait for the 101 before speaking the new protocol: write it now.
      const p = w.flush();
      if (this.#reqDone) {
        this.#tunnel = true;
        this.#reader.raw();
        this.#wakeHead();
      } else {
        this.#tunnelAfterBody = true;
      }
      return p;
    }
    if (endStream) return this.#endResponse(w.flush());
    return resolved; // held until the first data, so head + small body leave in one write
  }

  #statusLine(status: number, reason: string | undefined): void {
    const w = this.#w;
    if (reason === undefined || reason === defaultReason(status)) {
      const l = statusLine(status);
      w.ensure(l.length);
      w.bytes(l);
    } else {
      w.ensure(reason.length + 16);
      w.str("HTTP/1.1 " + status + " " + reason);
      w.crlf();
    }
  }

  /** @internal */
  _sendData(stream: ServerStream, chunk: Uint8Array, endStream: boolean): Promise<void> {
    if (stream !== this.#stream || this.#closed) return resolved;
    if (this.#res !== RES_STARTED) {
      return Promise.reject(
        new ProxyError("internal", "internal", "Cannot send data before the response head"),
      );
    }
    const w = this.#w;
    const n = chunk.length;
    let p: Promise<void>;
    switch (this.#framing) {
      case R_NONE:
        p = w.flush();
        break;
      case R_CHUNKED:
        if (n === 0 && !endStream) return w.chunk(chunk, false);
        p = w.chunk(chunk, endStream);
        break;
      default:
        // Content-Length, close-delimited and tunnel bytes go out as they are.
        p = w.raw(chunk);
        if (endStream && (this.#framing === R_CLOSE || this.#framing === R_TUNNEL)) this.#closeAfter = true;
    }
    if (endStream) return this.#endResponse(p);
    return p;
  }

  /** @internal */
  _sendTrailers(stream: ServerStream, trailers: HeaderMap): Promise<void> {
    if (stream !== this.#stream || this.#closed) return resolved;
    if (this.#res !== RES_STARTED) {
      return Promise.reject(
        new ProxyError("internal", "internal", "Cannot send trailers before the response head"),
      );
    }
    const w = this.#w;
    if (this.#framing === R_CHUNKED) {
      w.ensure(3);
      w.byte(48);
      w.crlf();
      writeFields(w, trailers, "");
      w.ensure(2);
      w.crlf();
    } else if (this.#framing === R_CLOSE) {
      this.#closeAfter = true;
    }
    // Other framings cannot carry trailers: they are dropped and the body just ends.
    return this.#endResponse(w.flush());
  }

  /** @internal */
  _sendLocalReply(stream: ServerStream, error: ProxyError, body?: string): Promise<void> {
    if (stream !== this.#stream || this.#closed) return resolved;
    if (this.#res !== RES_IDLE) {
      this.#close();
      return resolved;
    }
    if (
      error.kind === "downstream_protocol_error" || error.kind === "header_too_large" ||
      error.kind === "body_too_large"
    ) {
      this.#closeAfter = true;
    }
    const text = body ?? localReplyBody(error.kind);
    const headers = new Http1Headers();
    const bytes = utf8.encode(text);
    headers.add("content-type", "text/plain; charset=utf-8");
    headers.add("content-length", String(bytes.length));
    void this._sendResponse(stream, new Http1ResponseHead(error.status, headers), false);
    return this._sendData(stream, bytes, true);
  }

  /** @internal */
  _reset(stream: ServerStream, _error: ProxyError): void {
    if (stream !== this.#stream) return;
    this.#close();
  }

  // === connection lifecycle ===

  #endResponse(p: Promise<void>): Promise<void> {
    this.#res = RES_ENDED;
    if (
      !this.#reqDone && this.#stream !== null && this.#stream.request.expectContinue && !this.#continueSent &&
      !this.#bodySeen
    ) {
      // The client may or may not send the body it announced; the connection cannot be reused.
      this.#closeAfter = true;
    }
    if (this.#closeAfter) {
      this.#reader.stop();
      p.then(this.#closeNow, this.#closeNow);
      this.#markClosed();
      this.#streamDone(); // nothing more happens on this connection: no stream is active
      return p;
    }
    if (!this.#reqDone) {
      if (this.#receiver === null) {
        this.#discard = true;
        this.#wakeReceiver();
      }
      return p;
    }
    this.#streamDone();
    this.#wakeHead();
    return p;
  }

  /**
   * The stream is over both ways. Its receiver (the proxy's whole per-request state) is let go too: a
   * kept-alive connection waiting for its next request must not keep the last one alive.
   */
  #streamDone(): void {
    this.#stream = null;
    this.#receiver = null;
  }

  #wakeHead(): void {
    const h = this.#headWait;
    if (h !== null) {
      this.#headWait = null;
      h();
    }
  }

  /** Stops parsing and releases waiters; the socket itself is closed by the caller or after a write. */
  #markClosed(): void {
    this.#closed = true;
    this.#reader.stop();
    this.#wakeHead();
    this.#wakeReceiver();
  }

  #close(): void {
    this.#markClosed();
    if (this.#lingerTimer !== undefined) this.#clock.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.#lingering = false;
    this.#io.close();
  }

  /** The local reply is out: FIN, then read and drop until the client closes or the delay runs out. */
  readonly #closeAfterReply = (): void => {
    const io = this.#io as ConnectionIO & { closeWrite?(): Promise<void> };
    if (io.closeWrite === undefined || io.closed) return this.#close();
    this.#lingering = true;
    this.#lingerTimer = this.#clock.setTimeout(this.#closeNow, LOCAL_REPLY_CLOSE_DELAY_MS);
    void io.closeWrite();
  };

  /** A complete local reply (head + body) in one write; used for protocol errors. */
  #writeLocal(status: number, text: string, keepAlive: boolean): Promise<void> {
    const w = this.#w;
    const body = utf8.encode(text);
    this.#statusLine(status, undefined);
    w.field("content-type", "text/plain; charset=utf-8");
    w.field("content-length", String(body.length));
    w.field("connection", keepAlive ? "keep-alive" : "close");
    w.ensure(body.length + 2);
    w.crlf();
    w.bytes(body);
    return w.flush();
  }
}
