/**
 * Large buffers reused across connections (MOSN's IoBuffer pool): a connection takes one while data
 * flows and gives it back as soon as a read comes back short, so steady-state traffic allocates none and
 * idle connections hold none. At most `maxFree` wait in the pool, so a burst's buffers are not kept.
 */
export class BufferPool {
  readonly size: number;
  #free: Uint8Array[] = [];
  #maxFree: number;

  constructor(size = 64 * 1024, maxFree = 128) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  give(buf: Uint8Array): void {
    if (buf.length === this.size && this.#free.length < this.#maxFree) this.#free.push(buf);
  }

  get free(): number {
    return this.#free.length;
  }
}

export const readBuffers: BufferPool = new BufferPool();
