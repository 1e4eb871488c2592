import assert from "node:assert/strict";
import { Histogram } from "./histogram.ts";

function assertWithin(actual: number, expected: number, relative: number): void {
  const err = Math.abs(actual - expected) / expected;
  assert.ok(
    err <= relative,
    `${actual} is not within ${relative * 100}% of ${expected} (${(err * 100).toFixed(3)}%)`,
  );
}

/** Deterministic PRNG so failures reproduce. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

Deno.test("Histogram.record() tracks p99 within 2%", () => {
  const rand = mulberry32(7);
  const h = new Histogram();
  const values: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    // log-uniform from 0.1ms to 10s: every octave of the bucket layout gets exercised
    const v = 0.1 * 10 ** (rand() * 5);
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99, 0.999]) assertWithin(h.quantile(q), exactQuantile(values, q), 0.02);
  assertWithin(h.p99, exactQuantile(values, 0.99), 0.02);
});

Deno.test("Histogram.quantile() stays within 2% for single values across the whole range", () => {
  for (let v = 0.002; v < 3_600_000; v *= 1.37) {
    const h = new Histogram();
    h.record(v * 0.999);
    h.record(v);
    h.record(v * 1.001);
    assertWithin(h.p50, v, 0.02);
  }
});

Deno.test("Histogram keeps exact count, sum, min and max", () => {
  const h = new Histogram();
  for (const v of [3, 1.5, 250, 0.25]) h.record(v);
  assert.equal(h.count, 4);
  assert.equal(h.sum, 254.75);
  assert.equal(h.min, 0.25);
  assert.equal(h.max, 250);
  assert.equal(h.quantile(0), 0.25);
  assert.equal(h.quantile(1), 250);
});

Deno.test("Histogram reports zeros when empty", () => {
  const h = new Histogram();
  assert.deepEqual(h.snapshot(), {
    count: 0,
    sum: 0,
    min: 0,
    max: 0,
    p50: 0,
    p75: 0,
    p90: 0,
    p95: 0,
    p99: 0,
    p999: 0,
  });
});

Deno.test("Histogram.record() clamps negatives to 0, ignores NaN and saturates past an hour", () => {
  const h = new Histogram();
  h.record(-5);
  h.record(NaN);
  assert.equal(h.count, 1);
  assert.equal(h.min, 0);
  h.record(10 * 3_600_000);
  assert.equal(h.max, 36_000_000);
  assert.equal(h.quantile(1), 36_000_000);
});

Deno.test("Histogram.quantile() rejects q outside 0..1", () => {
  assert.throws(() => new Histogram().quantile(1.5), RangeError);
});

Deno.test("Histogram.reset() forgets everything", () => {
  const h = new Histogram();
  h.record(5);
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.p99, 0);
});
