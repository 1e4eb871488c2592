import nodeAssert from "node:assert/strict";
import { DeadlineQueue } from "./deadline_queue.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("DeadlineQueue.add() fires after the duration, in order, and stops its timer when empty", async () => {
  const q = new DeadlineQueue(5);
  const fired: string[] = [];
  const t0 = performance.now();
  q.add(40, () => fired.push("b"));
  q.add(20, () => fired.push("a"));
  q.add(40, () => fired.push("c"));
  await sleep(30);
  nodeAssert.deepEqual(fired, ["a"]);
  await sleep(30);
  nodeAssert.deepEqual(fired, ["a", "b", "c"]);
  nodeAssert.ok(performance.now() - t0 >= 40);
  nodeAssert.equal(q.pending, 0);
});

Deno.test("DeadlineQueue cancel() prevents firing, also for entries behind the head", async () => {
  const q = new DeadlineQueue(5);
  const fired: number[] = [];
  const d1 = q.add(15, () => fired.push(1));
  q.add(15, () => fired.push(2));
  const d3 = q.add(15, () => fired.push(3));
  d1.cancel();
  d3.cancel();
  d3.cancel();
  await sleep(40);
  nodeAssert.deepEqual(fired, [2]);
  nodeAssert.equal(q.pending, 0);
});

Deno.test("DeadlineQueue survives a throwing handler", async () => {
  const q = new DeadlineQueue(5);
  let ran = false;
  q.add(5, () => {
    throw new Error("boom");
  });
  q.add(5, () => ran = true);
  await sleep(30);
  nodeAssert.ok(ran);
});

Deno.test("DeadlineQueue compacts cancelled entries held behind a live one", async () => {
  const q = new DeadlineQueue(5);
  let fired = 0;
  const slow = q.add(60_000, () => fired++); // a slow request at the head
  for (let i = 0; i < 5000; i++) q.add(60_000, () => fired++).cancel();
  nodeAssert.equal(q.pending, 5001);
  await sleep(20); // a tick compacts: the 5000 cancelled entries are gone, the live one stays
  nodeAssert.equal(q.pending, 1);
  q.add(15, () => fired += 10);
  await sleep(40);
  nodeAssert.equal(fired, 10);
  slow.cancel();
  await sleep(20); // the cancelled head is dropped and the timer stops
  nodeAssert.equal(q.pending, 0);
  nodeAssert.equal(fired, 10);
});
