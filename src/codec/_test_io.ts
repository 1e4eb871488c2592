/** A fake ConnectionIO for codec tests: records every write (copied) and close. */
import type { ConnectionIO } from "./types.ts";

const latin1 = new TextDecoder("latin1");

export class FakeConnectionIO implements ConnectionIO {
  /** Copies of each write, in order. */
  readonly writes: Uint8Array[] = [];
  closed = false;
  closeCalls = 0;
  /** Writes issued after close() (a codec bug unless the close was in flight). */
  writesAfterClose = 0;
  readonly remoteAddress: string;
  /** Bytes handed to write(); and bytes "accepted by the kernel" (in manual mode, once settled). */
  bytesSubmitted = 0;
  bytesWritten = 0;
  /** Tests set it to simulate a socket above its high-water mark; `drain()` clears it. */
  congested = false;
  #manual: boolean;
  #pending: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];

  /** With `manual`, write promises settle only on `settleWrites()` (tests buffer reuse / backpressure). */
  constructor(options: { manual?: boolean; remoteAddress?: string } = {}) {
    this.#manual = options.manual ?? false;
    this.remoteAddress = options.remoteAddress ?? "127.0.0.1:40000";
  }

  write(data: Uint8Array): Promise<void> {
    if (this.closed) this.writesAfterClose++;
    this.writes.push(data.slice());
    this.bytesSubmitted += data.length;
    if (!this.#manual) {
      this.bytesWritten += data.length;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#pending.push(resolve));
  }

  drained(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Ends a simulated congestion: `drained()` promises resolve. */
  drain(): void {
    this.congested = false;
    for (const r of this.#drainWaiters.splice(0)) r();
  }

  /** In manual mode a write is in flight until settled; otherwise writes copy and finish at once. */
  get writing(): boolean {
    return this.#pending.length > 0;
  }

  settleWrites(): void {
    const p = this.#pending;
    this.#pending = [];
    this.bytesWritten = this.bytesSubmitted;
    for (const r of p) r();
  }

  close(): void {
    this.closed = true;
    this.closeCalls++;
  }

  /** All bytes written so far. */
  bytes(): Uint8Array {
    let n = 0;
    for (const w of this.writes) n += w.length;
    const out = new Uint8Array(n);
    let p = 0;
    for (const w of this.writes) {
      out.set(w, p);
      p += w.length;
    }
    return out;
  }

  /** All bytes written so far, as latin1 text. */
  text(): string {
    return latin1.decode(this.bytes());
  }

  /** Forgets recorded writes. */
  clear(): void {
    this.writes.length = 0;
  }
}

/** The bytes of `parts`, one after the other, in a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
