/**
 * Earliest-deadline-first scheduler over item indexes (the EDF of MOSN and Envoy): each item's next
 * deadline is the current time plus 1/weight, ties broken by insertion order. Picking n times gives
 * each item a share proportional to its weight, smoothly interleaved.
 */
export class EdfScheduler {
  readonly #heap: Int32Array;
  readonly #deadline: Float64Array;
  readonly #order: Float64Array;
  #seq = 0;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.#heap = new Int32Array(n);
    this.#deadline = new Float64Array(n);
    this.#order = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.#heap[i] = i;
      this.#deadline[i] = 1 / weights[i]!;
      this.#order[i] = this.#seq++;
    }
    for (let i = (n >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  /** The item with the earliest deadline; it is rescheduled at now + 1/weight(item). */
  next(weight: (item: number) => number): number {
    const item = this.#heap[0]!;
    const now = this.#deadline[item]!;
    const w = weight(item);
    this.#deadline[item] = now + (w > 0 ? 1 / w : Number.MAX_SAFE_INTEGER);
    this.#order[item] = this.#seq++;
    this.#siftDown(0);
    return item;
  }

  #less(a: number, b: number): boolean {
    const da = this.#deadline[a]!;
    const db = this.#deadline[b]!;
    return da < db || (da === db && this.#order[a]! < this.#order[b]!);
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.#less(heap[r]!, heap[l]!) ? r : l;
      if (!this.#less(heap[c]!, heap[i]!)) return;
      const t = heap[i]!;
      heap[i] = heap[c]!;
      heap[c] = t;
      i = c;
    }
  }
}
