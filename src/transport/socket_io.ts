import type { ConnectionIO } from "../codec/mod.ts";

/**
 * A socket the codecs write through. Writes issued while one is in flight are batched and go out as one
 * `write` syscall when it completes (write coalescing), so a response head and a small body, or many RPC
 * responses finishing together, cost one syscall. Callers must keep `data` unchanged until the returned
 * promise settles (they await it before reusing their buffers), which lets the first write skip a copy.
 *
 * Writes never reject: after a failure or close the data is dropped and `closed` is true; the read loop
 * sees the failure too and tears the connection down. A rejected promise nobody awaited would crash Deno.
 */
const RESOLVED = Promise.resolve();

export class SocketIO implements ConnectionIO {
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Called once when the socket is closed, by either side. */
  onClose: (() => void) | undefined;
  bytesWritten = 0;

  #conn: Deno.Conn;
  #closed = false;
  #writing = false;
  #queue: Uint8Array[] = [];
  #queueBytes = 0;
  #batch: Promise<void> | undefined;
  #inFlight: Uint8Array | undefined;
  #joinBuf: Uint8Array = new Uint8Array(0);
  /** Settles when the write (or batch) in flight is done. */
  #current: Promise<void> = RESOLVED;
  #resolveBatch: (() => void) | undefined;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.remoteAddress = formatNetAddr(conn.remoteAddr);
    this.localAddress = formatNetAddr(conn.localAddr);
  }

  get conn(): Deno.Conn {
    return this.#conn;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get writing(): boolean {
    return this.#writing;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#closed || data.length === 0) return RESOLVED;
    if (!this.#writing) {
      this.#writing = true;
      return this.#current = this.#writeNow(data);
    }
    this.#queue.push(data);
    this.#queueBytes += data.length;
    this.#batch ??= new Promise<void>((resolve) => this.#resolveBatch = resolve);
    return this.#batch;
  }

  // Plain promise callbacks rather than an async loop: an async function per write costs ~800 bytes of
  // garbage (its promise, the await's, the generator frame) on the hottest path there is.
  #writeNow(chunk: Uint8Array): Promise<void> {
    this.#inFlight = chunk;
    return this.#conn.write(chunk).then(this.#onWritten, this.#onFailed);
  }

  readonly #onWritten = (n: number): void | Promise<void> => {
    const chunk = this.#inFlight!;
    if (n < chunk.length) return this.#writeNow(chunk.subarray(n)); // partial write: finish it first
    this.bytesWritten += chunk.length;
    this.#inFlight = undefined;
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
    this.#inFlight = undefined;
    this.close(); // the read loop sees it too and tears the connection down
  };

  /**
   * Joins queued writes into one. The join buffer is reused batch after batch (only one write is ever in
   * flight, and the next batch is built after it completed), so coalescing costs a memcpy, not an
   * allocation per batch.
   */
  #takeQueue(): Uint8Array {
    const q = this.#queue;
    const total = this.#queueBytes;
    let out: Uint8Array;
    if (q.length === 1) out = q[0]!;
    else {
      if (this.#joinBuf.length < total) {
        this.#joinBuf = new Uint8Array(Math.max(total, this.#joinBuf.length * 2, 16384));
      }
      out = this.#joinBuf.subarray(0, total);
      let off = 0;
      for (let i = 0; i < q.length; i++) {
        out.set(q[i]!, off);
        off += q[i]!.length;
      }
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
    this.#resolveBatch?.();
    this.#batch = undefined;
    this.#resolveBatch = undefined;
    this.onClose?.();
  }

  /** Closes once every write already issued is out (a GoAway or a last response must not be cut off). */
  closeAfterWrites(): void {
    if (this.#closed) return;
    if (!this.#writing) return this.close();
    this.#current.then(() => this.closeAfterWrites());
  }

  /** Half-close: tells the peer we're done writing (tunnels); keeps reading. */
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

export function formatNetAddr(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : "unknown";
}
