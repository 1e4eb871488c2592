/** The downstream (server) side of a bolt connection: v1 and v2 frames may be mixed. */
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
  CMD_GOAWAY,
  CMD_HEARTBEAT,
  CMD_REQUEST,
  httpToBoltStatus,
  MAX_HEADER_BYTES,
  STATUS_SUCCESS,
  STATUS_THREADPOOL_BUSY,
  TYPE_RESPONSE,
} from "./constants.ts";
import {
  BoltFrameDecoder,
  boltFrameLength,
  BoltRequestHead,
  BoltResponseHead,
  type BoltVersion,
  encodeGoAway,
  encodeReply,
  frameErrorMessage,
} from "./frame.ts";

export class BoltServerConnection implements ServerConnection, FrameSink {
  readonly #io: ConnectionIO;
  readonly #handler: ServerConnectionHandler;
  readonly #reader: FrameReader;
  readonly #maxHeaderBytes: number;
  readonly #goAway: boolean;
  readonly #maxStreams: number;
  readonly #decoder: BoltFrameDecoder;
  /** Heartbeats become streams for a `healthcheck` filter (CodecOptions.deliverHealthChecks). */
  readonly #deliverHealthChecks: boolean;
  /**
   * Streams in flight, as an intrusive list (`prev`/`next` on each stream): adding and removing one costs
   * two pointer writes, where a Set's table churned ~40 B of garbage per request.
   */
  #first: BoltServerStream | undefined;
  #count = 0;
  #draining = false;
  #done = false;
  /** Frames meshctl does not act on (responses from a client, GoAway from a client). */
  ignoredFrames = 0;

  /** @param goAway send a bolt GoAway on drain (extend_config enable_bolt_goaway; v1 only). */
  constructor(io: ConnectionIO, handler: ServerConnectionHandler, options: CodecOptions, goAway: boolean) {
    this.#io = io;
    this.#handler = handler;
    this.#maxHeaderBytes = Math.min(options.maxHeaderBytes, 0xffff);
    this.#reader = new FrameReader(this, MAX_HEADER_BYTES, options.maxFrameBytes, options.bufferBudget);
    this.#goAway = goAway;
    this.#maxStreams = options.maxConcurrentStreams;
    this.#decoder = new BoltFrameDecoder(options.stats);
    this.#deliverHealthChecks = options.deliverHealthChecks === true;
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
      this.#fail(new ProxyError("internal", "internal", "bolt server handler failed", { cause }));
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
      this.#fail(protocolError("truncated bolt frame at end of stream"));
      return;
    }
    this.#close(new ProxyError("downstream_reset", "downstream", "downstream closed the connection"));
  }

  drain(): void {
    if (this.#draining || this.#done) return;
    this.#draining = true;
    if (this.#goAway) {
      // The client stops sending once it reads the GoAway, but requests it sent before may still be on
      // their way: the listener closes the connection once it has stayed idle for drain_idle_grace.
      this.#io.write(encodeGoAway(0)).catch(ignore);
      return;
    }
    // No signal the client could see (v2, or GoAway off): close as soon as nothing is in flight.
    if (this.#count === 0) this.#close(undefined);
  }

  // === FrameSink ===

  frameLength(buf: Uint8Array, off: number, end: number): number {
    return boltFrameLength(buf, off, end, this.#maxHeaderBytes);
  }

  onFrameError(code: number): void {
    this.#fail(
      code === BUFFER_BUDGET_EXHAUSTED
        ? new ProxyError("overflow", "downstream", frameErrorMessage(code))
        : protocolError(frameErrorMessage(code)),
    );
  }

  onFrame(frame: Uint8Array): void | Promise<void> {
    const head = this.#decoder.decode(frame);
    if (typeof head === "string") return this.#fail(protocolError(head));
    if (head.type === TYPE_RESPONSE || !(head instanceof BoltRequestHead)) {
      this.ignoredFrames++;
      return;
    }
    if (head.cmdCode === CMD_HEARTBEAT && !this.#deliverHealthChecks) {
      if (!head.oneway) this.#io.write(encodeReply(head, STATUS_SUCCESS)).catch(ignore);
      this.#handler.onHeartbeat?.();
      return;
    }
    switch (head.cmdCode) {
      case CMD_HEARTBEAT: // a health check for the proxy (a healthcheck filter): a stream like any request
      case CMD_REQUEST: {
        if (this.#maxStreams > 0 && this.#count >= this.#maxStreams) return this.#refuse(head);
        const stream = new BoltServerStream(this, head);
        this.#link(stream);
        return this.#handler.onRequest(stream);
      }
      case CMD_GOAWAY:
        this.ignoredFrames++;
        return;
      default:
        return this.#fail(protocolError(`unknown bolt command code ${head.cmdCode}`));
    }
  }

  /** Over max_concurrent_streams: answered THREADPOOL_BUSY at once, as a busy SOFA server would. */
  #refuse(head: BoltRequestHead): void {
    this.#handler.onStreamRefused?.();
    if (head.oneway) return;
    this.#io.write(encodeReply(head, STATUS_THREADPOOL_BUSY)).catch(ignore);
  }

  // === used by BoltServerStream ===

  /** Writes a stream's last frame (if any) and forgets the stream. */
  finish(stream: BoltServerStream, bytes: Uint8Array | undefined): Promise<void> {
    this.#unlink(stream);
    const written = bytes !== undefined && !this.#io.closed ? this.#io.write(bytes) : Promise.resolve();
    if (this.#draining && !this.#goAway && this.#count === 0) {
      return written.finally(() => this.#close(undefined));
    }
    return written;
  }

  #link(s: BoltServerStream): void {
    s.linked = true;
    s.next = this.#first;
    if (this.#first !== undefined) this.#first.prev = s;
    this.#first = s;
    this.#count++;
  }

  #unlink(s: BoltServerStream): void {
    if (!s.linked) return;
    s.linked = false;
    if (s.prev !== undefined) s.prev.next = s.next;
    else this.#first = s.next;
    if (s.next !== undefined) s.next.prev = s.prev;
    s.prev = s.next = undefined;
    this.#count--;
  }

  #fail(error: ProxyError): void {
    if (this.#done) return;
    this.#reader.stop();
    this.#handler.onProtocolError(error);
    this.#close(error);
  }

  /** Closes the socket; with `error`, in-flight streams hear onReset. */
  #close(error: ProxyError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#reader.stop();
    const streams: BoltServerStream[] = [];
    for (let s = this.#first; s !== undefined; s = s.next) streams.push(s);
    streams.reverse(); // in arrival order, as they are reset
    for (const s of streams) {
      s.prev = s.next = undefined;
      s.linked = false;
    }
    this.#first = undefined;
    this.#count = 0;
    this.#io.close();
    if (error === undefined) return;
    for (const s of streams) s.abort(error);
  }
}

/** One downstream request. The frame is the whole request: `headOnly` is always true. */
export class BoltServerStream implements ServerStream {
  readonly id: number;
  readonly request: BoltRequestHead;
  readonly headOnly = true;
  readonly #conn: BoltServerConnection;
  #receiver: BodyReceiver | undefined;
  #ended = false;
  /** The connection's list of streams in flight (see BoltServerConnection). */
  prev: BoltServerStream | undefined;
  next: BoltServerStream | undefined;
  linked = false;

  constructor(conn: BoltServerConnection, request: BoltRequestHead) {
    this.#conn = conn;
    this.request = request;
    this.id = request.requestId;
  }

  /** Kept only to report resets: there are no body events (the frame carried the whole request). */
  setBodyReceiver(receiver: BodyReceiver): void {
    this.#receiver = receiver;
  }

  /**
   * Sends `head` as this request's response. A BoltResponseHead goes out raw with the id patched back
   * (re-encoded if its headers changed or the downstream speaks the other bolt version); any other
   * ResponseHead becomes a bolt response with its status mapped (a heartbeat ack for a heartbeat).
   * Oneway requests get nothing.
   */
  sendResponse(head: ResponseHead, _endStream: boolean): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    if (this.request.oneway) return this.#conn.finish(this, undefined);
    let bytes: Uint8Array;
    try {
      bytes = head instanceof BoltResponseHead
        ? head.encode(this.id, this.request.version)
        : encodeReply(this.request, httpToBoltStatus(head.status, this.request.version), head.headers);
    } catch {
      // The upstream's answer cannot be re-encoded (e.g. its headers grew past the u16 map length): the
      // client still gets an answer for its id rather than a timeout. Never rejects: multiplexed callers
      // do not await responses one by one.
      bytes = encodeReply(this.request, httpToBoltStatus(500, this.request.version));
    }
    return this.#conn.finish(this, bytes);
  }

  /** Bolt has no interim responses. */
  sendInformational(_head: ResponseHead): Promise<void> {
    return Promise.resolve();
  }

  /** Bolt responses are single frames: body bytes travel inside the response head's frame. */
  sendData(_chunk: Uint8Array, _endStream: boolean): Promise<void> {
    return Promise.resolve();
  }

  sendTrailers(_trailers: HeaderMap): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Replies with a bolt response (cmd 2, codec hessian2, no class or content) whose status maps the
   * error per protocols.md. `body` is not sent: bolt content is hessian, a plain string would not parse.
   */
  sendLocalReply(error: ProxyError, _body?: string): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ended = true;
    if (this.request.oneway) return this.#conn.finish(this, undefined);
    const v: BoltVersion = this.request.version;
    const status = httpToBoltStatus(error.status, v, error.kind === "downstream_protocol_error");
    return this.#conn.finish(this, encodeReply(this.request, status));
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
