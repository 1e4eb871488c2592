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

  write(data: Uint8Array): Promise<void> {
    if (this.#closed || data.length === 0) return RESOLVED;
    if (!this.#writing) {
      this.#writing = true;
      return this.#drain(data);
    }
    this.#queue.push(data);
    this.#queueBytes += data.length;
    this.#batch ??= new Promise<void>((resolve) => this.#resolveBatch = resolve);
    return this.#batch;
  }

  async #drain(first: Uint8Array): Promise<void> {
    let chunk = first;
    let done: (() => void) | undefined;
    try {
      for (;;) {
        let off = 0;
        while (off < chunk.length) off += await this.#conn.write(off === 0 ? chunk : chunk.subarray(off));
        this.bytesWritten += chunk.length;
        done?.();
        if (this.#queue.length === 0) break;
        chunk = this.#takeQueue();
        done = this.#resolveBatch;
        this.#batch = undefined;
        this.#resolveBatch = undefined;
      }
    } catch {
      done?.();
      this.close();
    } finally {
      this.#writing = false;
    }
  }

  #takeQueue(): Uint8Array {
    const q = this.#queue;
    const out = q.length === 1 ? q[0]! : concat(q, this.#queueBytes);
    this.#queue = [];
    this.#queueBytes = 0;
    return out;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
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

  /** Half-close: tells the peer we're done writing (tunnels); keeps reading. */
  async closeWrite(): Promise<void> {
    if (this.#closed) return;
    while (this.#writing) await this.#batch ?? Promise.resolve();
    try {
      await this.#conn.closeWrite();
    } catch {
      // peer already gone
    }
  }
}

const RESOLVED = Promise.resolve();

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function formatNetAddr(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : "unknown";
}
