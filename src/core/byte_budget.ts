/**
 * A process-wide cap on bytes held for incomplete input (RPC frames, and later HTTP/2 bodies) across all
 * connections. Each connection is capped on its own too, but many connections each just under their cap
 * could still exhaust memory; the budget bounds the sum. A connection that cannot reserve what it needs
 * is failed (its bytes are released), everyone else keeps going.
 */
export class ByteBudget {
  /** Bytes; 0 = unlimited. A reload may change it (what is held stays held). */
  limit: number;
  #used = 0;
  #peak = 0;
  /** Reservations refused because the budget was exhausted. */
  refused = 0;

  /** @param limit bytes; 0 = unlimited. */
  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** The most bytes ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Takes `n` bytes from the budget; false (nothing taken) when that would exceed the limit. */
  tryReserve(n: number): boolean {
    if (this.limit > 0 && this.#used + n > this.limit) {
      this.refused++;
      return false;
    }
    this.#used += n;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return true;
  }

  release(n: number): void {
    this.#used -= n;
  }
}

/** Default process-wide budget for incomplete frames: 256 MiB (`limits.max_buffered_bytes`). */
export const DEFAULT_BUFFER_BUDGET_BYTES = 256 * 1024 * 1024;
