import type { StreamConn } from "../core/mod.ts";
import type { ConnectionIO } from "../codec/mod.ts";
import { BufferPool } from "./buffer_pool.ts";
import { type BatchedWriter, holdForBatch, inWriteBatch } from "./write_batch.ts";

/**
 * A socket the codecs write through. Writes issued while one is in flight are batched and go out as one
 * `write` syscall when it completes (write coalescing), so a response head and a small body, or many RPC
 * responses finishing together, cost one syscall. Callers must keep `data` unchanged until the returned
 * promise settles (they await it before reusing their buffers), which lets the first write skip a copy.
 *
 * Writes never reject: after a failure or close the data is dropped and `closed` is true; the read loop
 * sees the failure too and tears the connection down. A rejected promise nobody awaited would crash Deno.
 *
 * Output is bounded (Envoy's watermark model): above `highWaterMark` queued bytes the socket is
 * `congested` and producers stop reading whoever feeds it until `drained()`; above `maxQueuedBytes` the
 * peer is not reading at all and the socket is closed (`onOverflow`), so a stalled reader costs bounded
 * memory.
 */
const RESOLVED = Promise.resolve();

export interface SocketIOOptions {
  /** Queued output above this makes the socket `congested` (default 1 MiB, Envoy's buffer limit). */
  readonly highWaterMark?: number;
  /** Queued output above this closes the socket: the peer stopped reading (default 16 × highWaterMark). */
  readonly maxQueuedBytes?: number;
  /** Told once when the socket is closed for exceeding `maxQueuedBytes`. */
  readonly onOverflow?: () => void;
}

export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * Batches are joined in pooled buffers instead of one kept per connection: a connection that coalesced a
 * burst once must not hold the memory for the rest of its (idle) life.
 */
const joinBuffers = new BufferPool(64 * 1024, 64);

/** Small batches in a row after which a connection's oversized join buffer is released. */
const BIG_JOIN_KEEP = 64;

export class SocketIO implements ConnectionIO, BatchedWriter {
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Called once when the socket is closed, by either side. */
  onClose: (() => void) | undefined;
  /** Bytes the kernel accepted (partial writes included). */
  bytesWritten = 0;
  /** Bytes handed to `write()` and accepted for writing, over the socket's life. */
  bytesSubmitted = 0;

  #conn: StreamConn;
  #closed = false;
  #writing = false;
  #queue: Uint8Array[] = [];
  #queueBytes = 0;
  /** Bytes submitted and not yet written: the queue plus what is left of the write in flight. */
  #pending = 0;
  readonly #highWater: number;
  readonly #maxQueued: number;
  readonly #onOverflow: (() => void) | undefined;
  #drainWaiters: (() => void)[] | undefined;
  #batch: Promise<void> | undefined;
  #inFlight: Uint8Array | undefined;
  /** The pooled join buffer the write in flight lives in, given back once written. */
  #joinBuf: Uint8Array | undefined;
  /**
   * Batches larger than a pooled buffer (a multiplexed upstream carrying hundreds of streams) reuse this
   * one while they keep coming; after a run of small batches the burst is over and it is let go.
   */
  #bigJoin: Uint8Array | undefined;
  #smallBatches = 0;
  /** Settles when the write (or batch) in flight is done. */
  #current: Promise<void> = RESOLVED;
  #resolveBatch: (() => void) | undefined;

  constructor(conn: StreamConn, options: SocketIOOptions = {}) {
    this.#conn = conn;
    this.remoteAddress = formatNetAddr(conn.remoteAddr);
    this.localAddress = formatNetAddr(conn.localAddr);
    this.#highWater = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#maxQueued = options.maxQueuedBytes ?? 16 * this.#highWater;
    this.#onOverflow = options.onOverflow;
  }

  get conn(): StreamConn {
    return this.#conn;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get writing(): boolean {
    return this.#writing;
  }

  /** Bytes submitted and not yet accepted by the kernel. */
  get queuedBytes(): number {
    return this.#pending;
  }

  /** More than `highWaterMark` bytes wait: stop producing into this socket until `drained()`. */
  get congested(): boolean {
    return this.#pending > this.#highWater;
  }

  /** Resolves once queued output fell to half the high-water mark (or the socket closed). */
  drained(): Promise<void> {
    if (this.#closed || this.#pending <= this.#highWater >> 1) return RESOLVED;
    return new Promise<void>((resolve) => (this.#drainWaiters ??= []).push(resolve));
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed || data.length === 0) return RESOLVED;
    this.#pending += data.length;
    if (this.#pending > this.#maxQueued) {
      // The peer reads nothing while we keep producing for it: bounded memory beats waiting forever.
      this.close();
      this.#onOverflow?.();
      return RESOLVED;
    }
    this.bytesSubmitted += data.length;
    if (!this.#writing) {
      this.#writing = true;
      // Inside a write batch (one read's worth of work) the bytes wait for the batch's end, so
      // everything written to this socket meanwhile leaves in the same syscall (see write_batch.ts).
      if (!inWriteBatch()) return this.#current = this.#writeNow(data);
      holdForBatch(this);
    }
    this.#queue.push(data);
    this.#queueBytes += data.length;
    this.#batch ??= new Promise<void>((resolve) => this.#resolveBatch = resolve);
    return this.#batch;
  }

  /** The write batch ended: send what it held (nothing when the socket closed meanwhile). */
  flushBatch(): void {
    if (this.#closed || this.#queue.length === 0) return;
    const resolve = this.#resolveBatch!;
    const batch = this.#takeQueue();
    this.#batch = undefined;
    this.#resolveBatch = undefined;
    this.#current = this.#writeNow(batch).then(resolve);
  }

  // Plain promise callbacks rather than an async loop: an async function per write costs ~800 bytes of
  // garbage (its promise, the await's, the generator frame) on the hottest path there is.
  #writeNow(chunk: Uint8Array): Promise<void> {
    this.#inFlight = chunk;
    return this.#conn.write(chunk).then(this.#onWritten, this.#onFailed);
  }

  readonly #onWritten = (n: number): void | Promise<void> => {
    const chunk = this.#inFlight!;
    this.bytesWritten += n;
    if (!this.#closed) this.#pending -= n; // close() already dropped the count
    // Producers resume as soon as the queue is low, not only once a large chunk is fully out.
    if (this.#drainWaiters !== undefined && this.#pending <= this.#highWater >> 1) this.#wakeDrainWaiters();
    if (n < chunk.length) return this.#writeNow(chunk.subarray(n)); // partial write: finish it first
    this.#releaseInFlight();
    if (this.#closed) return;
    if (this.#queue.length === 0) {
      this.#writing = false;
      return;
    }
    const resolve = this.#resolveBatch!;
    const batch = this.#takeQueue();
    this.#batch = undefined;
    this.#resolveBatch = undefined;
    this.#current = this.#writeNow(batch).then(resolve);
  };

  readonly #onFailed = (): void => {
    this.#releaseInFlight();
    this.close(); // the read loop sees it too and tears the connection down
  };

  #releaseInFlight(): void {
    if (this.#joinBuf !== undefined) joinBuffers.give(this.#joinBuf);
    this.#inFlight = undefined;
    this.#joinBuf = undefined;
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters!;
    this.#drainWaiters = undefined;
    for (let i = 0; i < waiters.length; i++) waiters[i]!();
  }

  /**
   * Joins queued writes into one. Chunks that sit end to end in one buffer (the RPC frames of one read,
   * forwarded in order from the frame reader's slab) are merged as a view, without copying; when the
   * whole queue is one such run it goes out as it is. Otherwise the runs are copied into a pooled buffer
   * when the batch fits one (only one write is ever in flight, and the next batch is built after it
   * completed), so coalescing costs a memcpy, not an allocation per batch, and no memory stays with the
   * connection once the burst is over.
   */
  #takeQueue(): Uint8Array {
    const q = this.#queue;
    const total = this.#queueBytes;
    let out: Uint8Array;
    if (q.length === 1) out = q[0]!;
    else if (contiguous(q)) {
      const first = q[0]!;
      out = new Uint8Array(first.buffer, first.byteOffset, total);
    } else {
      if (total <= joinBuffers.size) {
        this.#joinBuf = joinBuffers.take();
        out = this.#joinBuf.subarray(0, total);
        if (this.#bigJoin !== undefined && ++this.#smallBatches >= BIG_JOIN_KEEP) this.#bigJoin = undefined;
      } else {
        if (this.#bigJoin === undefined || this.#bigJoin.length < total) {
          this.#bigJoin = new Uint8Array(Math.max(total, 2 * (this.#bigJoin?.length ?? 0)));
        }
        this.#smallBatches = 0;
        out = this.#bigJoin.subarray(0, total);
      }
      copyRuns(q, out);
    }
    q.length = 0;
    this.#queueBytes = 0;
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writing = false;
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime
    }
    this.#queue = [];
    this.#queueBytes = 0;
    this.#pending = 0; // dropped: a closed socket is never congested
    this.#resolveBatch?.();
    this.#batch = undefined;
    this.#resolveBatch = undefined;
    if (this.#drainWaiters !== undefined) this.#wakeDrainWaiters();
    this.onClose?.();
  }

  /** Closes once every write already issued is out (a GoAway or a last response must not be cut off). */
  closeAfterWrites(): void {
    if (this.#closed) return;
    if (!this.#writing) return this.close();
    this.#current.then(() => this.closeAfterWrites());
  }

  /** Half-close: tells the peer we're done writing (tunnels, lingering close); keeps reading. */
  async closeWrite(): Promise<void> {
    if (this.#closed) return;
    while (this.#writing && !this.#closed) await this.#current;
    try {
      await this.#conn.closeWrite();
    } catch {
      // peer already gone
    }
  }
}

/** True when every chunk starts where the one before it ends, in the same buffer. */
function contiguous(q: Uint8Array[]): boolean {
  let prev = q[0]!;
  for (let i = 1; i < q.length; i++) {
    const c = q[i]!;
    if (c.buffer !== prev.buffer || c.byteOffset !== prev.byteOffset + prev.length) return false;
    prev = c;
  }
  return true;
}

/** Copies the chunks into `out` back to back, one `set` per run of end-to-end chunks. */
function copyRuns(q: Uint8Array[], out: Uint8Array): void {
  let off = 0;
  let i = 0;
  while (i < q.length) {
    const first = q[i]!;
    let len = first.length;
    let j = i + 1;
    while (j < q.length) {
      const c = q[j]!;
      if (c.buffer !== first.buffer || c.byteOffset !== first.byteOffset + len) break;
      len += c.length;
      j++;
    }
    out.set(j === i + 1 ? first : new Uint8Array(first.buffer, first.byteOffset, len), off);
    off += len;
    i = j;
  }
}

export function formatNetAddr(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : "unknown";
}
