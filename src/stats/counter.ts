/**
 * A monotonically increasing count. Callers keep the object and call `inc()` on the hot path:
 * it is one field update, with no lookup and no allocation.
 */
export class Counter {
  #value = 0;

  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.#value += n;
  }

  get value(): number {
    return this.#value;
  }
}
