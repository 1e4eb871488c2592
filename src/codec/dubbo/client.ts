/** The upstream (client) side of a dubbo connection: allocates request ids and matches responses. */
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
import {
  BUFFER_BUDGET_EXHAUSTED,
  closeAndResetStreams,
  FrameReader,
  type FrameSink,
  StreamMap,
  unsentSince,
} from "../xprotocol/mod.ts";
import { HEADER_BYTES, STATUS_SERVICE_NOT_FOUND } from "./constants.ts";
import { type DubboCounters, dubboCounters } from "./counters.ts";
import {
  dubboFrameLength,
  DubboRequestHead,
  DubboResponseHead,
  encodeHeartbeatResponse,
  encodeStatusResponse,
  frameErrorMessage,
  isEvent,
  isReadonlyEvent,
  isRequest,
  isTwoWay,
  onewayAck,
  readIdHigh,
  readIdLow,
} from "./frame.ts";

export class DubboClientConnection implements ClientConnection, FrameSink {
  readonly #io: ConnectionIO;
  readonly #handler: ClientConnectionHandler;
  readonly #reader: FrameReader;
  readonly #streams: StreamMap<DubboClientStream>;
  readonly #counters: DubboCounters | undefined;
  #reusable = true;
  #closed = false;
  /** Responses whose id matched no pending stream (late after a reset or timeout, or a confused peer). */
  unknownResponses = 0;
  /** Frames meshctl does not act on: event responses (it sends no heartbeats) and calls from providers. */
  ignoredFrames = 0;

  constructor(io: ConnectionIO, handler: ClientConnectionHandler, options: CodecOptions) {
    this.#io = io;
    this.#handler = handler;
    this.#reader = new FrameReader(this, HEADER_BYTES, options.maxFrameBytes, options.bufferBudget);
    this.#streams = new StreamMap(undefined, { clock: options.clock });
    this.#counters = dubboCounters(options.stats);
  }

  get activeStreams(): number {
    return this.#streams.size;
  }

  get reusable(): boolean {
    return this.#reusable;
  }

  /** Dubbo has no stream limit of its own: the proxy's circuit breakers bound it. */
  get streamCapacity(): number {
    return this.#reusable && !this.#closed ? Infinity : 0;
  }

  feed(data: Uint8Array): void | Promise<void> {
    try {
      return this.#reader.push(data);
    } catch (cause) {
      this.#fail(new ProxyError("internal", "internal", "dubbo client receiver failed", { cause }));
    }
  }

  onEof(): void {
    if (this.#closed) return;
    if (this.#reader.buffered > 0) {
      this.#counters?.protocolErrors.inc();
      this.#fail(new ProxyError("upstream_reset", "upstream", "upstream closed the connection mid-frame"));
      return;
    }
    this.#fail(new ProxyError("upstream_reset", "upstream", "upstream closed the connection"));
  }

  newStream(receiver: ResponseReceiver): DubboClientStream {
    if (this.#closed || !this.#reusable) {
      throw new ProxyError("upstream_reset", "upstream", "dubbo connection takes no new requests", {
        retryable: true,
      });
    }
    const id = this.#streams.allocate();
    const stream = new DubboClientStream(this, id, receiver);
    this.#streams.set(id, stream);
    return stream;
  }

  // === FrameSink ===

  frameLength(buf: Uint8Array, off: number, end: number): number {
    return dubboFrameLength(buf, off, end);
  }

  onFrameError(code: number): void {
    if (code !== BUFFER_BUDGET_EXHAUSTED) this.#counters?.protocolErrors.inc();
    this.#fail(new ProxyError("upstream_protocol_error", "upstream", frameErrorMessage(code)));
  }

  onFrame(frame: Uint8Array): void {
    if (isRequest(frame)) return this.#onProviderRequest(frame);
    if (isEvent(frame)) {
      this.ignoredFrames++; // a heartbeat answer: meshctl sends no heartbeats upstream (as MOSN)
      return;
    }
    // Ids this side allocated have a zero high word: anything else answers no request of ours.
    const stream = readIdHigh(frame) === 0 ? this.#streams.take(readIdLow(frame)) : undefined;
    if (stream === undefined) {
      this.unknownResponses++;
      this.#counters?.unknownResponses.inc();
      return;
    }
    // Not awaited: one slow downstream must not stall every stream sharing this upstream connection.
    void stream.receiver.onResponse(new DubboResponseHead(frame), true);
  }

  /**
   * A provider's heartbeat is answered; its readonly event (it is shutting down) stops new calls on this
   * connection while those in flight finish. A call from a provider (a dubbo callback) is answered
   * SERVICE_NOT_FOUND: meshctl exports no services to its upstreams.
   */
  #onProviderRequest(frame: Uint8Array): void {
    const idHigh = readIdHigh(frame);
    const idLow = readIdLow(frame);
    if (isEvent(frame) && isReadonlyEvent(frame)) {
      this.#counters?.readonlyEvents.inc();
      this.#unusable(
        new ProxyError("upstream_reset", "upstream", "upstream sent a dubbo readonly event", {
          retryable: true,
        }),
      );
      return;
    }
    if (isEvent(frame)) {
      if (isTwoWay(frame)) this.#io.write(encodeHeartbeatResponse(idHigh, idLow)).catch(ignore);
      return;
    }
    this.ignoredFrames++;
    if (!isTwoWay(frame)) return;
    const reply = encodeStatusResponse(
      idHigh,
      idLow,
      STATUS_SERVICE_NOT_FOUND,
      "404|meshctl takes no calls from its upstreams",
    );
    this.#io.write(reply).catch(ignore);
  }

  // === used by DubboClientStream ===

  get closed(): boolean {
    return this.#closed;
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#io.write(bytes);
  }

  /** Where the next written byte starts in the socket's output, if the IO counts (see ConnectionIO). */
  get outputMark(): number | undefined {
    return this.#io.bytesSubmitted;
  }

  /** True when no byte from `mark` on has been accepted by the kernel. */
  unsentSince(mark: number): boolean {
    return unsentSince(this.#io, mark);
  }

  forget(id: number): DubboClientStream | undefined {
    return this.#streams.take(id);
  }

  #unusable(reason: ProxyError): void {
    if (!this.#reusable) return;
    this.#reusable = false;
    this.#handler.onUnusable(reason);
  }

  /**
   * Closes the connection: every pending stream is reset. A stream whose request bytes never left this
   * host is marked retryable (it provably did not reach the provider); the rest may have run and must
   * never be sent again automatically.
   */
  #fail(error: ProxyError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.stop();
    this.#unusable(error);
    closeAndResetStreams(this.#io, this.#streams.drain(), error);
  }
}

/** One upstream call, identified by the u32 id its connection allocated (sent with a zero high word). */
export class DubboClientStream implements ClientStream {
  readonly id: number;
  readonly receiver: ResponseReceiver;
  readonly #conn: DubboClientConnection;
  /** Where this stream's request starts in the socket's output; undefined before it was written. */
  #mark: number | undefined;
  #written = false;

  constructor(conn: DubboClientConnection, id: number, receiver: ResponseReceiver) {
    this.#conn = conn;
    this.id = id;
    this.receiver = receiver;
  }

  /** The request was never handed to the socket, or none of its bytes left this host. */
  get unsent(): boolean {
    return !this.#written || (this.#mark !== undefined && this.#conn.unsentSince(this.#mark));
  }

  /**
   * Writes the call's own frame with this stream's id patched in. A oneway call ends once written: the
   * receiver gets a synthetic success (nothing comes back on the wire). Only dubbo heads can be sent: a
   * request from another protocol has no invocation body to carry. Never rejects (callers do not await
   * requests one by one): failures reach the receiver's onReset, asynchronously.
   */
  sendRequest(head: RequestHead, _endStream: boolean): Promise<void> {
    if (this.#conn.closed) {
      this.#conn.forget(this.id);
      return this.#failLater(
        new ProxyError("upstream_reset", "upstream", "dubbo connection is closed", { retryable: true }),
      );
    }
    if (!(head instanceof DubboRequestHead)) {
      this.#conn.forget(this.id);
      return this.#failLater(
        new ProxyError(
          "internal",
          "internal",
          `cannot send a ${head.protocol} request to a dubbo upstream: only dubbo calls carry an invocation`,
        ),
      );
    }
    const bytes = head.encode(this.id);
    this.#mark = this.#conn.outputMark;
    this.#written = true;
    const written = this.#conn.write(bytes);
    if (head.oneway) return this.#onewaySent(written);
    return written;
  }

  /** A failed write needs nothing here: the connection fails and resets the stream if still pending. */
  #onewaySent(written: Promise<void>): Promise<void> {
    return written.then(() => {
      if (this.#conn.forget(this.id) === undefined) return;
      return this.receiver.onResponse(onewayAck(this.id), true);
    }, ignore);
  }

  /** Dubbo requests are single frames: the body travels inside the head's frame. */
  sendData(_chunk: Uint8Array, _endStream: boolean): Promise<void> {
    return Promise.resolve();
  }

  sendTrailers(_trailers: HeaderMap): Promise<void> {
    return Promise.resolve();
  }

  #failLater(error: ProxyError): Promise<void> {
    queueMicrotask(() => this.receiver.onReset(error));
    return Promise.resolve();
  }

  /** Forgets the id; a late response for it is counted as unknown and dropped. */
  reset(_error: ProxyError): void {
    this.#conn.forget(this.id);
  }
}

function ignore(): void {}
