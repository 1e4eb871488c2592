/** The downstream (server) side of a dubbo connection: calls become streams, heartbeats are answered here. */
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
import { afterFeed, BUFFER_BUDGET_EXHAUSTED, FrameReader, type FrameSink } from "../xprotocol/mod.ts";
import {
  HEADER_BYTES,
  httpToDubboStatus,
  STATUS_BAD_REQUEST,
  STATUS_THREADPOOL_EXHAUSTED,
} from "./constants.ts";
import { type DubboCounters, dubboCounters } from "./counters.ts";
import {
  decodeDubboRequest,
  dubboFrameLength,
  type DubboRequestHead,
  DubboResponseHead,
  encodeForeignResponse,
  encodeHeartbeatResponse,
  encodeStatusResponse,
  frameErrorMessage,
  idNumber,
  isEvent,
  isReadonlyEvent,
  isRequest,
  isTwoWay,
  readIdHigh,
  readIdLow,
} from "./frame.ts";

export class DubboServerConnection implements ServerConnection, FrameSink {
  readonly #io: ConnectionIO;
  readonly #handler: ServerConnectionHandler;
  readonly #reader: FrameReader;
  readonly #maxHeaderBytes: number;
  readonly #maxStreams: number;
  readonly #counters: DubboCounters | undefined;
  /**
   * Calls in flight, as an intrusive list (`prev`/`next` on each stream), as bolt's server keeps them: a
   * Set that every call enters and leaves rebuilds a young backing store each scavenge copies.
   */
  #first: DubboServerStream | undefined;
  #count = 0;
  #draining = false;
  #done = false;
  /** Frames meshctl does not act on: responses and readonly events from a client. */
  ignoredFrames = 0;

  constructor(io: ConnectionIO, handler: ServerConnectionHandler, options: CodecOptions) {
    this.#io = io;
    this.#handler = handler;
    this.#maxHeaderBytes = options.maxHeaderBytes;
    this.#maxStreams = options.maxConcurrentStreams;
    this.#counters = dubboCounters(options.stats);
    this.#reader = new FrameReader(this, HEADER_BYTES, options.maxFrameBytes, options.bufferBudget);
  }

  get activeStreams(): number {
    return this.#count;
  }

  get awaitingHead(): boolean {
    return this.#reader.buffered > 0;
  }

  get headsReceived(): number {
    return this.#reader.framesRead;
  }

  feed(data: Uint8Array): void | Promise<void> {
    let r: void | Promise<void>;
    try {
      r = this.#reader.push(data);
    } catch (cause) {
      // A handler threw: fail this connection only, never the read loop.
      this.#fail(new ProxyError("internal", "internal", "dubbo server handler failed", { cause }));
      return;
    }
    return afterFeed(this.#io, r);
  }

  abort(error: ProxyError): void {
    this.#close(error);
  }

  onEof(): void {
    if (this.#done) return;
    if (this.#reader.buffered > 0) {
      this.#fail(protocolError("truncated dubbo frame at end of stream"));
      return;
    }
    this.#close(new ProxyError("downstream_reset", "downstream", "downstream closed the connection"));
  }

  /** Dubbo has no GOAWAY: in-flight calls finish, then the connection closes (as bolt without GoAway). */
  drain(): void {
    if (this.#draining || this.#done) return;
    this.#draining = true;
    if (this.#count === 0) this.#close(undefined);
  }

  // === FrameSink ===

  frameLength(buf: Uint8Array, off: number, end: number): number {
    return dubboFrameLength(buf, off, end);
  }

  onFrameError(code: number): void {
    this.#fail(
      code === BUFFER_BUDGET_EXHAUSTED
        ? new ProxyError("overflow", "downstream", frameErrorMessage(code))
        : protocolError(frameErrorMessage(code)),
    );
  }

  onFrame(frame: Uint8Array): void | Promise<void> {
    if (!isRequest(frame)) {
      this.ignoredFrames++; // no request of ours asked for it
      return;
    }
    if (isEvent(frame)) return this.#onEvent(frame);
    const head = decodeDubboRequest(frame, this.#maxHeaderBytes);
    if (typeof head === "string") return this.#badRequest(frame, head);
    if (this.#maxStreams > 0 && this.#count >= this.#maxStreams) return this.#refuse(head);
    const stream = new DubboServerStream(this, head);
    this.#link(stream);
    return this.#handler.onRequest(stream);
  }

  /** Heartbeats are answered here, never forwarded; a oneway one (no two-way flag) gets nothing. */
  #onEvent(frame: Uint8Array): void {
    if (isReadonlyEvent(frame)) {
      this.ignoredFrames++; // a provider's word; a client has nothing to make readonly here
      return;
    }
    if (isTwoWay(frame)) {
      this.#io.write(encodeHeartbeatResponse(readIdHigh(frame), readIdLow(frame))).catch(ignore);
    }
    this.#handler.onHeartbeat?.();
  }

  /** Over max_concurrent_streams: answered THREADPOOL_EXHAUSTED at once, as a busy dubbo provider would. */
  #refuse(head: DubboRequestHead): void {
    this.#handler.onStreamRefused?.();
    if (head.oneway) return;
    const reply = encodeStatusResponse(
      head.idHigh,
      head.idLow,
      STATUS_THREADPOOL_EXHAUSTED,
      "503|too many requests in flight on this connection (max_concurrent_streams)",
    );
    this.#io.write(reply).catch(ignore);
  }

  /**
   * A whole frame whose body cannot be routed: a two-way call is answered BAD_REQUEST with the reason
   * (what a dubbo provider answers an undecodable request), then the connection closes.
   */
  #badRequest(frame: Uint8Array, message: string): void {
    this.#counters?.decodeErrors.inc();
    const reply = isTwoWay(frame)
      ? encodeStatusResponse(readIdHigh(frame), readIdLow(frame), STATUS_BAD_REQUEST, `400|${message}`)
      : undefined;
    this.#fail(protocolError(message), reply);
  }

  // === used by DubboServerStream ===

  /** Writes a stream's last frame (if any) and forgets the stream. */
  finish(stream: DubboServerStream, bytes: Uint8Array | undefined): Promise<void> {
    this.#unlink(stream);
    const written = bytes !== undefined && !this.#io.closed ? this.#io.write(bytes) : Promise.resolve();
    if (this.#draining && this.#count === 0) {
      return written.finally(() => this.#close(undefined));
    }
    return written;
  }

  #link(s: DubboServerStream): void {
    s.linked = true;
    s.next = this.#first;
    if (this.#first !== undefined) this.#first.prev = s;
    this.#first = s;
    this.#count++;
  }

  #unlink(s: DubboServerStream): void {
    if (!s.linked) return;
    s.linked = false;
    if (s.prev !== undefined) s.prev.next = s.next;
    else this.#first = s.next;
    if (s.next !== undefined) s.next.prev = s.prev;
    s.prev = s.next = undefined;
    this.#count--;
  }

  /** Forgets every call in flight and returns them in arrival order. */
  #unlinkAll(): DubboServerStream[] {
    const streams: DubboServerStream[] = [];
    for (let s = this.#first; s !== undefined; s = s.next) streams.push(s);
    streams.reverse(); // the list is newest first
    for (const s of streams) {
      s.prev = s.next = undefined;
      s.linked = false;
    }
    this.#first = undefined;
    this.#count = 0;
    return streams;
  }

  /** Reports a protocol error and closes; `reply` goes out first (close() would drop it if queued). */
  #fail(error: ProxyError, reply?: Uint8Array): void {
    if (this.#done) return;
    this.#reader.stop();
    // Bad bytes only: an exhausted budget and a handler's bug have counters of their own upstream of here.
    if (error.kind === "downstream_protocol_error") this.#counters?.protocolErrors.inc();
    this.#handler.onProtocolError(error);
    if (reply === undefined) return this.#close(error);
    // Nothing more is read or answered; the socket closes once the reply is written (or by abort()).
    this.#done = true;
    this.#resetStreams(error);
    const close = () => this.#io.close();
    this.#io.write(reply).then(close, close);
  }

  /** Closes the socket (even while a last reply is pending); with `error`, in-flight streams hear onReset. */
  #close(error: ProxyError | undefined): void {
    this.#io.close();
    if (this.#done) return;
    this.#done = true;
    this.#reader.stop();
    if (error !== undefined) this.#resetStreams(error);
    else this.#unlinkAll();
  }

  #resetStreams(error: ProxyError): void {
    for (const s of this.#unlinkAll()) s.abort(error);
  }
}

/** One downstream call. The frame is the whole request: `headOnly` is always true. */
export class DubboServerStream implements ServerStream {
  /** The client's id as a number (see `idNumber`: exact up to 2^53; the wire keeps all 64 bits). */
  readonly id: number;
  readonly request: DubboRequestHead;
  readonly headOnly = true;
  readonly #conn: DubboServerConnection;
  #receiver: BodyReceiver | undefined;
  #ended = false;
  /** The connection's list of calls in flight (see DubboServerConnection). */
  prev: DubboServerStream | undefined;
  next: DubboServerStream | undefined;
  linked = false;

  constructor(conn: DubboServerConnection, request: DubboRequestHead) {
    this.#conn = conn;
    this.request = request;
    this.id = idNumber(request.idHigh, request.idLow);
  }

  /** Kept only to report resets: there are no body events (the frame carried the whole request). */
  setBodyReceiver(receiver: BodyReceiver): void {
    this.#receiver = receiver;
  }

  /**
   * Sends `head` as this call's response. A DubboResponseHead goes out raw with the client's id bytes
   * patched back (header edits are not re-encoded); a head from another protocol becomes a dubbo
   * response (2xx: success with no value, else a status reply). Oneway calls get nothing.
   */
  sendResponse(head: ResponseHead, _endStream: boolean): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    if (this.request.oneway) return this.#conn.finish(this, undefined);
    const { idHigh, idLow } = this.request;
    const bytes = head instanceof DubboResponseHead
      ? head.encode(idHigh, idLow)
      : encodeForeignResponse(head, idHigh, idLow);
    return this.#conn.finish(this, bytes);
  }

  /** Dubbo has no interim responses. */
  sendInformational(_head: ResponseHead): Promise<void> {
    return Promise.resolve();
  }

  /** Dubbo responses are single frames: body bytes travel inside the response head's frame. */
  sendData(_chunk: Uint8Array, _endStream: boolean): Promise<void> {
    return Promise.resolve();
  }

  sendTrailers(_trailers: HeaderMap): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Replies in dubbo's terms, as MOSN's hijack: the status mapped from the local code (protocols.md)
   * and a hessian2 string body `"<code>|<message>"`. A oneway call gets nothing.
   */
  sendLocalReply(error: ProxyError, body?: string): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    if (this.request.oneway) return this.#conn.finish(this, undefined);
    const code = error.status;
    const bytes = encodeStatusResponse(
      this.request.idHigh,
      this.request.idLow,
      httpToDubboStatus(code),
      `${code}|${body ?? error.message}`,
    );
    return this.#conn.finish(this, bytes);
  }

  /** Multiplexed: forgets just this stream; the client sees no response for it. */
  reset(_error: ProxyError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#conn.finish(this, undefined);
  }

  /** The connection went away before this stream ended. */
  abort(error: ProxyError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#receiver?.onReset(error);
  }
}

function protocolError(message: string): ProxyError {
  return new ProxyError("downstream_protocol_error", "downstream", message);
}

function ignore(): void {}
