import type { HistogramRaw, HistogramSnapshot } from "./types.ts";

/*
 * Log-linear buckets over integer microseconds (HDR style): values below 64µs get one bucket per µs,
 * then every power of two is split into 32 equal buckets, up to 2^32µs (~71.6 minutes). A bucket is
 * at most 1/32 of its lower bound wide, so reporting its midpoint is within 1/64 (~1.6%) of any value
 * in it. 896 buckets, 3.5 KiB per histogram, allocated once.
 */
const SUB_BITS = 5;
const SUB_COUNT = 1 << SUB_BITS; // 32 buckets per power of two
const LINEAR_LIMIT = SUB_COUNT * 2; // [0, 64µs) one bucket per µs
const MAX_MICROS = 0xffff_ffff;
const BUCKET_COUNT = (32 - SUB_BITS) * SUB_COUNT; // 896

function bucketIndex(ms: number): number {
  const us = ms * 1000;
  const x = us >= MAX_MICROS ? MAX_MICROS : us >>> 0;
  if (x < LINEAR_LIMIT) return x;
  const shift = 31 - Math.clz32(x) - SUB_BITS; // >= 1
  return (shift << SUB_BITS) + (x >>> shift);
}

/** Midpoint of bucket `i`, in milliseconds. */
function bucketMidpoint(i: number): number {
  if (i < LINEAR_LIMIT) return (i + 0.5) / 1000;
  const shift = (i >>> SUB_BITS) - 1;
  const width = 2 ** shift;
  const low = (i - (shift << SUB_BITS)) * width;
  return (low + width / 2) / 1000;
}

/**
 * A latency distribution in milliseconds (any non-negative unit works) from 1µs to about an hour,
 * with quantiles within ~2% relative error. `record()` does not allocate; quantiles are computed on read.
 */
export class Histogram {
  readonly #buckets = new Uint32Array(BUCKET_COUNT);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;

  /** Adds one observation. Negative values count as 0; NaN is ignored. */
  record(ms: number): void {
    if (!(ms >= 0)) {
      if (ms < 0) ms = 0;
      else return;
    }
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
    this.#buckets[bucketIndex(ms)]!++;
  }

  get count(): number {
    return this.#count;
  }
  get sum(): number {
    return this.#sum;
  }
  /** Smallest value recorded, exact; 0 when empty. */
  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }
  /** Largest value recorded, exact; 0 when empty. */
  get max(): number {
    return this.#count === 0 ? 0 : this.#max;
  }
  get p50(): number {
    return this.quantile(0.5);
  }
  get p90(): number {
    return this.quantile(0.9);
  }
  get p99(): number {
    return this.quantile(0.99);
  }

  /**
   * The value at quantile `q` (0..1): the midpoint of the bucket holding that rank, clamped to
   * [min, max]. 0 when empty.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new RangeError(`Cannot compute quantile ${q}: expected 0..1`);
    const count = this.#count;
    if (count === 0) return 0;
    if (q === 0) return this.#min;
    if (q === 1) return this.#max;
    const rank = Math.max(1, Math.ceil(q * count));
    let seen = 0;
    const buckets = this.#buckets;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += buckets[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, bucketMidpoint(i)));
    }
    return this.#max;
  }

  /** Forgets every observation. */
  reset(): void {
    this.#buckets.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
  }

  /** The exact state (non-empty buckets only), for `mergeRaw` in another histogram. */
  exportRaw(): HistogramRaw {
    const buckets: [number, number][] = [];
    if (this.#count > 0) {
      const b = this.#buckets;
      for (let i = 0; i < BUCKET_COUNT; i++) if (b[i] !== 0) buckets.push([i, b[i]!]);
    }
    return { count: this.#count, sum: this.#sum, min: this.min, max: this.max, buckets };
  }

  /** Adds another histogram's observations (as `exportRaw` gave them): the result is exact. */
  mergeRaw(raw: HistogramRaw): void {
    if (raw.count === 0) return;
    const b = this.#buckets;
    for (const [i, n] of raw.buckets) if (i >= 0 && i < BUCKET_COUNT) b[i]! += n;
    this.#count += raw.count;
    this.#sum += raw.sum;
    if (raw.min < this.#min) this.#min = raw.min;
    if (raw.max > this.#max) this.#max = raw.max;
  }

  snapshot(): HistogramSnapshot {
    return {
      count: this.#count,
      sum: this.#sum,
      min: this.min,
      max: this.max,
      p50: this.quantile(0.5),
      p75: this.quantile(0.75),
      p90: this.quantile(0.9),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
    };
  }
}
