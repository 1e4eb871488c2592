import nodeAssert from "node:assert/strict";
import { DeadlineQueue } from "./deadline_queue.ts";
import { FakeClock } from "./fake_clock.ts";

/** Counts clock reads, to see which paths read the clock. */
class CountingClock extends FakeClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

function setup(resolutionMs = 5) {
  const clock = new FakeClock();
  return { clock, q: new DeadlineQueue({ resolutionMs, clock }) };
}

Deno.test("DeadlineQueue.add() fires after the duration, in order, on one shared timer that stops when empty", () => {
  const { clock, q } = setup();
  const fired: string[] = [];
  q.add(40, () => fired.push("b"));
  q.add(20, () => fired.push("a"));
  q.add(40, () => fired.push("c"));
  nodeAssert.equal(clock.pending, 1, "one timer for every deadline");
  clock.tick(19);
  nodeAssert.deepEqual(fired, []);
  clock.tick(1);
  nodeAssert.deepEqual(fired, ["a"]);
  clock.tick(19);
  nodeAssert.deepEqual(fired, ["a"]);
  clock.tick(1);
  nodeAssert.deepEqual(fired, ["a", "b", "c"]);
  nodeAssert.equal(q.pending, 0);
  nodeAssert.equal(clock.pending, 0, "the tick timer stopped");
});

Deno.test("DeadlineQueue.add() fires at the first tick at or after the deadline", () => {
  const { clock, q } = setup(10);
  const at: number[] = [];
  q.add(12, () => at.push(clock.now()));
  clock.tick(19);
  nodeAssert.deepEqual(at, []);
  clock.tick(1);
  nodeAssert.deepEqual(at, [20]);
});

Deno.test("DeadlineQueue.add() reads no clock while its timer runs (so may fire up to one resolution early)", () => {
  const clock = new CountingClock();
  const q = new DeadlineQueue({ resolutionMs: 10, clock });
  clock.tick(3);
  q.add(100, () => {});
  nodeAssert.equal(clock.reads, 1, "the first add starts the timer and reads the clock");
  for (let i = 0; i < 1000; i++) q.add(100, () => {}).cancel();
  nodeAssert.equal(clock.reads, 1, "no read per add while the timer runs");
  clock.tick(10); // the tick at 13 reads the clock once
  nodeAssert.equal(clock.reads, 2);
  clock.tick(4); // now 17, the last tick saw 13
  const at: number[] = [];
  q.add(10, () => at.push(clock.now()));
  nodeAssert.equal(clock.reads, 2);
  clock.tick(6);
  nodeAssert.deepEqual(at, [23], "measured from the last tick (13), not from 17");
});

Deno.test("DeadlineQueue.add() measures from the current time once its timer has stopped", () => {
  const { clock, q } = setup();
  q.add(5, () => {});
  clock.tick(5);
  nodeAssert.equal(clock.pending, 0);
  clock.tick(1000); // idle: no timer, so nothing refreshes the queue's idea of now
  const at: number[] = [];
  q.add(10, () => at.push(clock.now()));
  clock.tick(9);
  nodeAssert.deepEqual(at, []);
  clock.tick(1);
  nodeAssert.deepEqual(at, [1015]);
});

Deno.test("DeadlineQueue cancel() prevents firing, also for entries behind the head", () => {
  const { clock, q } = setup();
  const fired: number[] = [];
  const d1 = q.add(15, () => fired.push(1));
  q.add(15, () => fired.push(2));
  const d3 = q.add(15, () => fired.push(3));
  d1.cancel();
  d3.cancel();
  d3.cancel();
  clock.tick(15);
  nodeAssert.deepEqual(fired, [2]);
  nodeAssert.equal(q.pending, 0);
  nodeAssert.equal(clock.pending, 0);
});

Deno.test("DeadlineQueue survives a throwing handler", () => {
  const { clock, q } = setup();
  let ran = false;
  q.add(5, () => {
    throw new Error("boom");
  });
  q.add(5, () => ran = true);
  clock.tick(5); // would throw here if the queue let the handler's error through
  nodeAssert.ok(ran);
  nodeAssert.equal(q.pending, 0);
});

Deno.test("DeadlineQueue compacts cancelled entries held behind a live one", () => {
  const { clock, q } = setup();
  let fired = 0;
  const slow = q.add(60_000, () => fired++); // a slow request at the head
  for (let i = 0; i < 5000; i++) q.add(60_000, () => fired++).cancel();
  nodeAssert.equal(q.pending, 5001);
  clock.tick(5); // a tick compacts: the 5000 cancelled entries are gone, the live one stays
  nodeAssert.equal(q.pending, 1);
  q.add(15, () => fired += 10);
  clock.tick(15);
  nodeAssert.equal(fired, 10);
  slow.cancel();
  clock.tick(5); // the cancelled head is dropped and the timer stops
  nodeAssert.equal(q.pending, 0);
  nodeAssert.equal(clock.pending, 0);
  nodeAssert.equal(fired, 10);
});

Deno.test("DeadlineQueue.addTarget() tells the target which of its deadlines passed, in order with add()", () => {
  const { clock, q } = setup();
  const fired: string[] = [];
  const target = { onDeadline: (tag: number) => fired.push(`t${tag}`) };
  q.addTarget(20, target, 1);
  q.add(20, () => fired.push("fn"));
  const cancelled = q.addTarget(20, target, 2);
  q.addTarget(30, target, 3);
  cancelled.cancel();
  clock.tick(20);
  nodeAssert.deepEqual(fired, ["t1", "fn"]);
  clock.tick(10);
  nodeAssert.deepEqual(fired, ["t1", "fn", "t3"]);
  nodeAssert.equal(q.pending, 0);
});

Deno.test("DeadlineQueue: a handler that re-arms the same duration as the queue's last entry fires again (the stream idle re-arm)", () => {
  const { clock, q } = setup();
  const fired: number[] = [];
  const rearm = () => {
    fired.push(clock.now());
    if (fired.length < 3) q.add(100, rearm);
  };
  q.add(100, rearm);
  clock.tick(100);
  nodeAssert.deepEqual(fired, [100]);
  nodeAssert.equal(q.pending, 1, "the re-armed deadline is queued");
  nodeAssert.equal(clock.pending, 1, "still one tick timer, not a second one");
  clock.tick(100);
  clock.tick(100);
  nodeAssert.deepEqual(fired, [100, 200, 300]);
  nodeAssert.equal(q.pending, 0);
  nodeAssert.equal(clock.pending, 0, "the tick timer stopped");
});
