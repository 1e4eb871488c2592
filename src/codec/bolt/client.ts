/** The upstream (client) side of a bolt connection: allocates request ids and matches responses. */
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
  closeAndResetStreams,
  FrameReader,
  type FrameSink,
  StreamMap,
  type StreamTimeoutSink,
  unsentSince,
} from "../xprotocol/mod.ts";
import {
  CMD_GOAWAY,
  CMD_HEARTBEAT,
  CMD_REQUEST,
  CODEC_HESSIAN2,
  MAX_HEADER_BYTES,
  STATUS_SUCCESS,
  TYPE_REQUEST,
} from "./constants.ts";
import {
  BoltFrameDecoder,
  boltFrameLength,
  BoltRequestHead,
  BoltResponseHead,
  type BoltVersion,
  decodeBoltFrame,
  encodeBoltFrame,
  encodeHeartbeatRequest,
  encodeHeartbeatResponse,
  encodeStatusResponse,
  frameErrorMessage,
} from "./frame.ts";

/** How long a keepalive heartbeat waits for its answer unless extend_config says otherwise. */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 3000;

export class BoltClientConnection
  implements ClientConnection, FrameSink, StreamTimeoutSink<BoltClientStream> {
  readonly #io: ConnectionIO;
  readonly #handler: ClientConnectionHandler;
  readonly #version: BoltVersion;
  readonly #reader: FrameReader;
  readonly #streams: StreamMap<BoltClientStream>;
  readonly #maxHeaderBytes: number;
  readonly #heartbeatTimeoutMs: number;
  readonly #decoder: BoltFrameDecoder;
  #reusable = true;
  #closed = false;
  /** Responses whose id matched no pending stream (late after a reset/timeout, or a confused peer). */
  unknownResponses = 0;

  /** @param version the bolt version of frames this side builds itself (heartbeats, non-bolt heads). */
  constructor(
    io: ConnectionIO,
    handler: ClientConnectionHandler,
    options: CodecOptions,
    version: BoltVersion,
  ) {
    this.#io = io;
    this.#handler = handler;
    this.#version = version;
    this.#maxHeaderBytes = Math.min(options.maxHeaderBytes, 0xffff);
    this.#reader = new FrameReader(this, MAX_HEADER_BYTES, options.maxFrameBytes, options.bufferBudget);
    this.#streams = new StreamMap(this, { clock: options.clock });
    this.#decoder = new BoltFrameDecoder(options.stats);
    const t = options.extend["heartbeat_timeout_ms"];
    this.#heartbeatTimeoutMs = typeof t === "number" && t > 0 ? t : DEFAULT_HEARTBEAT_TIMEOUT_MS;
  }

  get activeStreams(): number {
    return this.#streams.size;
  }

  get reusable(): boolean {
    return this.#reusable;
  }

  /** Bolt has no stream limit of its own: the proxy's circuit breakers bound it. */
  get streamCapacity(): number {
    return this.#reusable && !this.#closed ? Infinity : 0;
  }

  feed(data: Uint8Array): void | Promise<void> {
    try {
      return this.#reader.push(data);
    } catch (cause) {
      this.#fail(new ProxyError("internal", "internal", "bolt client receiver failed", { cause }));
    }
  }

  onEof(): void {
    this.#fail(new ProxyError("upstream_reset", "upstream", "upstream closed the connection"));
  }

  newStream(receiver: ResponseReceiver): BoltClientStream {
    if (this.#closed || !this.#reusable) {
      throw new ProxyError("upstream_reset", "upstream", "bolt connection takes no new requests", {
        retryable: true,
      });
    }
    const id = this.#streams.allocate();
    const stream = new BoltClientStream(this, id, receiver);
    this.#streams.set(id, stream);
    return stream;
  }

  /** Sends a heartbeat; its response (cmd 0) reaches `receiver`, or onReset(timeout) after the deadline. */
  heartbeat(receiver: ResponseReceiver): BoltClientStream | undefined {
    if (this.#closed) return undefined;
    const id = this.#streams.allocate();
    const stream = new BoltClientStream(this, id, receiver);
    this.#streams.set(id, stream, this.#heartbeatTimeoutMs);
    this.#io.write(encodeHeartbeatRequest(this.#version, id)).catch(ignore);
    return stream;
  }

  // === FrameSink ===

  frameLength(buf: Uint8Array, off: number, end: number): number {
    return boltFrameLength(buf, off, end, this.#maxHeaderBytes);
  }

  onFrameError(code: number): void {
    this.#fail(new ProxyError("upstream_protocol_error", "upstream", frameErrorMessage(code)));
  }

  onFrame(frame: Uint8Array): void | Promise<void> {
    const head = this.#decoder.decode(frame);
    if (typeof head === "string") {
      return this.#fail(new ProxyError("upstream_protocol_error", "upstream", head));
    }
    if (head instanceof BoltResponseHead) {
      const stream = this.#streams.take(head.requestId);
      if (stream === undefined) {
        this.unknownResponses++;
        return;
      }
      // Not awaited: one slow downstream must not stall every stream sharing this upstream connection
      // (head-of-line blocking). Downstream congestion is handled on the downstream's own socket.
      void stream.receiver.onResponse(head, true);
      return;
    }
    if (head.cmdCode === CMD_GOAWAY) {
      this.#unusable(
        new ProxyError("upstream_reset", "upstream", "upstream sent a bolt GoAway", { retryable: true }),
      );
    } else if (head.cmdCode === CMD_HEARTBEAT && !head.oneway) {
      this.#io.write(encodeHeartbeatResponse(head.version, head.requestId)).catch(ignore);
    }
  }

  // === StreamTimeoutSink (heartbeats only: the proxy times requests itself) ===

  onStreamTimeout(_id: number, stream: BoltClientStream): void {
    stream.receiver.onReset(new ProxyError("timeout", "upstream", "bolt heartbeat timed out"));
  }

  // === used by BoltClientStream ===

  get closed(): boolean {
    return this.#closed;
  }

  /** Frame for a request head that did not come from a bolt downstream. */
  encodeForeign(head: RequestHead, id: number): Uint8Array {
    const timeout = head.frameTimeoutMs ?? -1;
    return encodeBoltFrame(
      this.#version,
      TYPE_REQUEST,
      CMD_REQUEST,
      id,
      CODEC_HESSIAN2,
      0,
      timeout,
      undefined,
      head.headers,
      undefined,
    );
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

  forget(id: number): BoltClientStream | undefined {
    return this.#streams.take(id);
  }

  #unusable(reason: ProxyError): void {
    if (!this.#reusable) return;
    this.#reusable = false;
    this.#handler.onUnusable(reason);
  }

  /**
   * Closes the connection: every pending stream is reset. A stream whose request bytes never left this
   * host is marked retryable (it provably did not reach the server); the rest may have been executed
   * and must never be sent again automatically.
   */
  #fail(error: ProxyError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.stop();
    this.#unusable(error);
    closeAndResetStreams(this.#io, this.#streams.drain(), error);
  }
}

/** One upstream request, identified by the id its connection allocated. */
export class BoltClientStream implements ClientStream {
  readonly id: number;
  readonly receiver: ResponseReceiver;
  readonly #conn: BoltClientConnection;
  /** Where this stream's request starts in the socket's output; undefined before it was written. */
  #mark: number | undefined;
  #written = false;

  constructor(conn: BoltClientConnection, id: number, receiver: ResponseReceiver) {
    this.#conn = conn;
    this.id = id;
    this.receiver = receiver;
  }

  /**
   * Writes the request as this stream's id: a BoltRequestHead's own frame patched in place (re-encoded if
   * its headers changed), any other head as a fresh bolt request with its headers and no content.
   * A oneway request ends at once: the receiver gets a synthetic success response after the write.
   */
  /** The request was never handed to the socket, or none of its bytes left this host. */
  get unsent(): boolean {
    return !this.#written || (this.#mark !== undefined && this.#conn.unsentSince(this.#mark));
  }

  /**
   * Never rejects (callers do not await requests one by one): a request that cannot go out is reported
   * to the receiver's onReset instead, asynchronously so the caller is not re-entered.
   */
  sendRequest(head: RequestHead, _endStream: boolean): Promise<void> {
    if (this.#conn.closed) {
      this.#conn.forget(this.id);
      return this.#failLater(
        new ProxyError("upstream_reset", "upstream", "bolt connection is closed", { retryable: true }),
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = head instanceof BoltRequestHead
        ? head.encode(this.id)
        : this.#conn.encodeForeign(head, this.id);
    } catch (cause) {
      this.#conn.forget(this.id);
      return this.#failLater(new ProxyError("internal", "internal", "cannot encode bolt request", { cause }));
    }
    this.#mark = this.#conn.outputMark;
    this.#written = true;
    const written = this.#conn.write(bytes);
    if (head instanceof BoltRequestHead && head.oneway) return this.#onewaySent(written, head.version);
    return written;
  }

  async #onewaySent(written: Promise<void>, version: BoltVersion): Promise<void> {
    await written;
    if (this.#conn.forget(this.id) === undefined) return;
    const ack = encodeStatusResponse(version, this.id, STATUS_SUCCESS);
    await this.receiver.onResponse(decodeBoltFrame(ack) as BoltResponseHead, true);
  }

  /** Bolt requests are single frames: the body travels inside the head's frame. */
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
