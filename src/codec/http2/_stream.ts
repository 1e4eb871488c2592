/**
 * One HTTP/2 stream's state (RFC 9113 §5.1) and its two flow-control directions.
 *
 * Inbound: DATA payloads are views into frames the FrameReader copied out of the read buffer, so the
 * stream can hold them without another copy. They go to the consumer one at a time; a chunk's window
 * credit goes back to the peer (WINDOW_UPDATE) only once the consumer is done with it (its promise
 * settled). A slow consumer therefore stops its own stream at the window, never the connection.
 *
 * Outbound: `send` writes what the stream's and the connection's send windows allow and keeps the rest,
 * resolving the caller's promise once all of it went out (and a chunk written uncopied, once the socket
 * took it); WINDOW_UPDATEs resume it.
 */
import type { HeaderMap } from "../types.ts";
import type { ProxyError, TimerId } from "../../core/mod.ts";

const EMPTY = new Uint8Array(0);

/** §5.1 states meshctl distinguishes (idle and reserved streams are never objects). */
export const OPEN = 0;
export const HALF_CLOSED_LOCAL = 1;
export const HALF_CLOSED_REMOTE = 2;
export const CLOSED = 3;

/** What consumes a stream's inbound body: a server stream's BodyReceiver or a client stream's ResponseReceiver. */
export interface InboundSink {
  onData(chunk: Uint8Array, endStream: boolean): void | Promise<void>;
  onTrailers(trailers: HeaderMap): void | Promise<void>;
  onReset(error: ProxyError): void;
  onDropped?(): void;
}

/** A DATA payload still to be sent, with the promise of its `send`; or a field block ending the stream. */
interface PendingSend {
  chunk: Uint8Array;
  offset: number;
  end: boolean;
  resolve: () => void;
  /** Writes the trailers that end the stream, once the DATA before them is out. */
  block: (() => void) | undefined;
}

export class H2Stream {
  readonly id: number;
  state = OPEN;
  /** Bytes we may still send (the peer's window for this stream). */
  sendWindow: number;
  /** Bytes the peer may still send us before we return credit. */
  recvWindow: number;
  /** Consumed bytes whose credit is not returned yet (sent in batches of half a window). */
  recvUnacked = 0;
  /** Declared content-length of what arrives, -1 unknown; and what arrived so far. */
  expectedLength = -1;
  receivedLength = 0;
  /** The head has been delivered (for trailers vs head on the next HEADERS). */
  headReceived = false;
  /**
   * The rest of the inbound side is unwanted (our response is complete, §8.1): its frames are still
   * checked, but DATA and trailers are dropped and no window credit goes back for them.
   */
  discarding = false;
  /** How long a discarding stream may stay (the server's linger), while it runs. */
  lingerTimer: TimerId | undefined;
  /**
   * END_STREAM is written or queued behind DATA held for window: nothing more may be sent. The stream is
   * half-closed (local) only once it is written.
   */
  sendEnded = false;

  // Inbound, lazily allocated: most streams are a head and one chunk.
  #sink: InboundSink | undefined;
  #queue: (Uint8Array | HeaderMap)[] | undefined;
  #queueEnd = false;
  #busy = false;
  /** Bytes waiting in #queue (for the budget and for tests). */
  queuedBytes = 0;

  // Outbound.
  #pending: PendingSend[] | undefined;

  /** Called with the bytes of a chunk the consumer is done with. */
  readonly #credit: (stream: H2Stream, n: number) => void;

  constructor(
    id: number,
    sendWindow: number,
    recvWindow: number,
    credit: (stream: H2Stream, n: number) => void,
  ) {
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.#credit = credit;
  }

  get remoteClosed(): boolean {
    return this.state === HALF_CLOSED_REMOTE || this.state === CLOSED;
  }

  get localClosed(): boolean {
    return this.state === HALF_CLOSED_LOCAL || this.state === CLOSED;
  }

  /** The peer ended its side (END_STREAM). */
  closeRemote(): void {
    this.state = this.state === HALF_CLOSED_LOCAL || this.state === CLOSED ? CLOSED : HALF_CLOSED_REMOTE;
  }

  /** We ended our side (END_STREAM sent). */
  closeLocal(): void {
    this.state = this.state === HALF_CLOSED_REMOTE || this.state === CLOSED ? CLOSED : HALF_CLOSED_LOCAL;
  }

  // === inbound ===

  get sink(): InboundSink | undefined {
    return this.#sink;
  }

  /** Sets the consumer; what arrived before it is delivered now, in order. */
  setSink(sink: InboundSink): void {
    if (this.discarding) return; // too late: nothing more will be delivered
    this.#sink = sink;
    this.#pump();
  }

  /** Stops delivering: the consumer hears nothing more, and what arrives from now on is dropped. */
  discard(): void {
    const sink = this.#sink;
    this.discarding = true;
    this.#sink = undefined;
    this.dropInbound();
    sink?.onDropped?.();
  }

  /** A DATA payload (possibly empty, with END_STREAM) or trailers for the consumer. */
  push(item: Uint8Array | HeaderMap, end: boolean): void {
    if (this.discarding) return;
    if (this.#queue === undefined && this.#sink !== undefined && !this.#busy) {
      this.#deliver(item, end);
      return;
    }
    (this.#queue ??= []).push(item);
    if (item instanceof Uint8Array) this.queuedBytes += item.length;
    if (end) this.#queueEnd = true;
    this.#pump();
  }

  #pump(): void {
    const q = this.#queue;
    while (q !== undefined && q.length > 0 && this.#sink !== undefined && !this.#busy) {
      const item = q.shift()!;
      if (item instanceof Uint8Array) this.queuedBytes -= item.length;
      this.#deliver(item, q.length === 0 && this.#queueEnd);
    }
    if (q !== undefined && q.length === 0) this.#queue = undefined;
  }

  #deliver(item: Uint8Array | HeaderMap, end: boolean): void {
    const sink = this.#sink!;
    let r: void | Promise<void>;
    if (item instanceof Uint8Array) {
      r = sink.onData(item, end);
      const n = item.length;
      if (r === undefined) {
        if (n > 0) this.#credit(this, n);
        return;
      }
      this.#busy = true;
      r.then(() => this.#done(n), () => this.#done(n));
    } else {
      r = sink.onTrailers(item);
      if (r === undefined) return;
      this.#busy = true;
      r.then(() => this.#done(0), () => this.#done(0));
    }
  }

  #done(n: number): void {
    this.#busy = false;
    if (n > 0) this.#credit(this, n);
    this.#pump();
  }

  /** Drops what is queued (the stream was reset); returns the bytes dropped. */
  dropInbound(): number {
    const n = this.queuedBytes;
    this.#queue = undefined;
    this.queuedBytes = 0;
    return n;
  }

  // === outbound ===

  get sendPending(): boolean {
    return this.#pending !== undefined && this.#pending.length > 0;
  }

  /** Queues the rest of a DATA send the windows did not allow yet. */
  hold(chunk: Uint8Array, offset: number, end: boolean): Promise<void> {
    return new Promise<void>((resolve) =>
      (this.#pending ??= []).push({ chunk, offset, end, resolve, block: undefined })
    );
  }

  /** Queues the field block ending the stream (trailers) behind the held DATA. */
  holdBlock(write: () => void): Promise<void> {
    return new Promise<void>((resolve) =>
      (this.#pending ??= []).push({ chunk: EMPTY, offset: 0, end: true, resolve, block: write })
    );
  }

  /** The next held send, or undefined. */
  peekPending(): PendingSend | undefined {
    return this.#pending?.[0];
  }

  /** The next held send is all out: its promise settles now, or once `written` (an uncopied write) does. */
  shiftPending(written?: Promise<void>): void {
    const done = this.#pending!.shift()!;
    if (written === undefined) done.resolve();
    else written.then(done.resolve);
    if (this.#pending!.length === 0) this.#pending = undefined;
  }

  /** Resolves every held send (the stream was reset: the bytes will never go). */
  dropPending(): void {
    const p = this.#pending;
    this.#pending = undefined;
    if (p !== undefined) { for (const s of p) s.resolve(); }
  }
}
