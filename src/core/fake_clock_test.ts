import assert from "node:assert/strict";
import { FakeClock } from "./fake_clock.ts";

Deno.test("FakeClock.now() reads the start time and moves only on tick()", () => {
  const clock = new FakeClock(500);
  assert.equal(clock.now(), 500);
  assert.equal(clock.now(), 500);
  clock.tick(20);
  assert.equal(clock.now(), 520);
  clock.tick(0);
  assert.equal(clock.now(), 520);
  assert.throws(() => clock.tick(-1), RangeError);
  assert.throws(() => clock.tick(NaN), RangeError);
  assert.equal(clock.now(), 520);
});

Deno.test("FakeClock.tick() fires a timeout at its deadline, not before, and only once", () => {
  const clock = new FakeClock();
  const seen: number[] = [];
  clock.setTimeout(() => seen.push(clock.now()), 100);
  assert.equal(clock.tick(99), 0);
  assert.deepEqual(seen, []);
  assert.equal(clock.tick(1), 1);
  assert.deepEqual(seen, [100]);
  clock.tick(1000);
  assert.deepEqual(seen, [100]);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock.tick() fires in deadline order, ties in scheduling order, each at its own time", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const at = (name: string) => () => seen.push(`${name}@${clock.now()}`);
  clock.setTimeout(at("c"), 30);
  clock.setTimeout(at("a"), 10);
  clock.setTimeout(at("b1"), 20);
  clock.setTimeout(at("b2"), 20);
  clock.setTimeout(at("zero"), 0);
  assert.equal(clock.tick(50), 5);
  assert.deepEqual(seen, ["zero@0", "a@10", "b1@20", "b2@20", "c@30"]);
  assert.equal(clock.now(), 50);
});

Deno.test("FakeClock.tick() fires timers scheduled by callbacks within the same tick when due", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  clock.setTimeout(() => {
    seen.push(`outer@${clock.now()}`);
    clock.setTimeout(() => seen.push(`inner@${clock.now()}`), 5); // due at 15: inside this tick
    clock.setTimeout(() => seen.push(`late@${clock.now()}`), 50); // due at 60: after it
  }, 10);
  clock.setTimeout(() => seen.push(`other@${clock.now()}`), 15); // same deadline, scheduled earlier
  clock.tick(20);
  assert.deepEqual(seen, ["outer@10", "other@15", "inner@15"]);
  assert.equal(clock.pending, 1);
  clock.tick(40);
  assert.deepEqual(seen, ["outer@10", "other@15", "inner@15", "late@60"]);
});

Deno.test("FakeClock.clearTimeout() stops a timer, also from another timer's callback", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  const a = clock.setTimeout(() => seen.push("a"), 10);
  const b = clock.setTimeout(() => seen.push("b"), 20);
  clock.setTimeout(() => clock.clearTimeout(b), 15);
  clock.clearTimeout(a);
  clock.clearTimeout(a); // twice is fine
  clock.clearTimeout(undefined);
  assert.equal(clock.pending, 2);
  clock.tick(100);
  assert.deepEqual(seen, []);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock.setInterval() fires every period until cleared, even from its own callback", () => {
  const clock = new FakeClock();
  const seen: number[] = [];
  const id = clock.setInterval(() => {
    seen.push(clock.now());
    if (seen.length === 3) clock.clearInterval(id);
  }, 10);
  clock.tick(25);
  assert.deepEqual(seen, [10, 20]);
  clock.tick(100);
  assert.deepEqual(seen, [10, 20, 30]);
  assert.equal(clock.pending, 0);
});

Deno.test("FakeClock.setInterval() treats periods under 1 ms as 1 ms", () => {
  const clock = new FakeClock();
  let n = 0;
  const id = clock.setInterval(() => n++, 0);
  clock.tick(5);
  assert.equal(n, 5);
  clock.clearTimeout(id); // the id spaces are shared
  clock.tick(5);
  assert.equal(n, 5);
});

Deno.test("FakeClock.next() advances to the earliest timer and fires only that one", () => {
  const clock = new FakeClock();
  const seen: string[] = [];
  clock.setTimeout(() => seen.push("b"), 20);
  clock.setTimeout(() => seen.push("a1"), 10);
  clock.setTimeout(() => seen.push("a2"), 10);
  assert.equal(clock.next(), true);
  assert.deepEqual(seen, ["a1"]);
  assert.equal(clock.now(), 10);
  assert.equal(clock.next(), true);
  assert.equal(clock.next(), true);
  assert.deepEqual(seen, ["a1", "a2", "b"]);
  assert.equal(clock.now(), 20);
  assert.equal(clock.next(), false);
  assert.equal(clock.now(), 20);
});

Deno.test("FakeClock.runAll() fires everything, chains included, and refuses to spin on an interval", () => {
  const clock = new FakeClock();
  const seen: number[] = [];
  clock.setTimeout(() => {
    seen.push(clock.now());
    clock.setTimeout(() => seen.push(clock.now()), 1000);
  }, 10);
  assert.equal(clock.runAll(), 2);
  assert.deepEqual(seen, [10, 1010]);
  assert.equal(clock.now(), 1010);

  clock.setInterval(() => {}, 10);
  assert.throws(() => clock.runAll(50), RangeError);
  assert.equal(clock.now(), 1010 + 50 * 10);
});

Deno.test("FakeClock.tick() lets a callback's exception through and keeps the other timers", () => {
  const clock = new FakeClock();
  let ran = false;
  clock.setTimeout(() => {
    throw new Error("boom");
  }, 10);
  clock.setTimeout(() => ran = true, 20);
  assert.throws(() => clock.tick(30), /boom/);
  assert.equal(clock.now(), 10);
  assert.equal(clock.pending, 1);
  clock.tick(20);
  assert.equal(ran, true);
});
