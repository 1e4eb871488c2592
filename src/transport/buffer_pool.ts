/**
 * Read buffers reused across connections (MOSN's IoBuffer pool): a connection takes one when it starts
 * reading and gives it back when it closes, so steady-state traffic allocates no read buffers.
 */
export class BufferPool {
  readonly size: number;
  #free: Uint8Array[] = [];
  #maxFree: number;

  constructor(size = 64 * 1024, maxFree = 512) {
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
