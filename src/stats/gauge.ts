/** A value that goes up and down, e.g. active connections. Updates are one field write. */
export class Gauge {
  #value = 0;

  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.#value += n;
  }

  /** Subtracts `n` (default 1). */
  dec(n = 1): void {
    this.#value -= n;
  }

  set(v: number): void {
    this.#value = v;
  }

  get value(): number {
    return this.#value;
  }
}
