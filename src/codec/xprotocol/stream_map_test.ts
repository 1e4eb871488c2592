import assert from "node:assert/strict";
import { FakeClock } from "../../core/mod.ts";
import { StreamMap } from "./stream_map.ts";
import { KvHeaderMap } from "./kv_header_map.ts";

Deno.test("StreamMap.allocate() counts up and skips ids in use", () => {
  const m = new StreamMap<string>();
  assert.equal(m.allocate(), 1);
  m.set(2, "busy");
  assert.equal(m.allocate(), 3);
});

Deno.test("StreamMap.allocate() wraps past 2^32-1 to 1, skipping 0 and busy ids", () => {
  const m = new StreamMap<string>(undefined, { lastId: 0xfffffffd });
  m.set(0xffffffff, "busy");
  m.set(1, "busy");
  assert.equal(m.allocate(), 0xfffffffe);
  assert.equal(m.allocate(), 2);
});

function timed() {
  const clock = new FakeClock();
  const timedOut: [number, string, number][] = [];
  const m: StreamMap<string> = new StreamMap<string>({
    onStreamTimeout(id, value) {
      assert.equal(m.get(id), undefined, "the sink hears of a stream already removed");
      timedOut.push([id, value, clock.now()]);
    },
  }, { clock });
  return { clock, timedOut, m };
}

Deno.test("StreamMap.set() with a timeout tells the sink once, at the deadline, with the entry removed", () => {
  const { clock, timedOut, m } = timed();
  m.set(1, "a", 10);
  m.set(2, "b", 40);
  m.set(3, "c");
  assert.equal(clock.pending, 1, "one timer for the map");
  clock.tick(9);
  assert.deepEqual(timedOut, []);
  clock.tick(1);
  assert.deepEqual(timedOut, [[1, "a", 10]]);
  assert.equal(m.size, 2);
  clock.tick(30);
  assert.deepEqual(timedOut, [[1, "a", 10], [2, "b", 40]]);
  clock.tick(60_000);
  assert.equal(timedOut.length, 2, "no deadline for 3, and none fires twice");
  assert.equal(m.get(3), "c");
  assert.equal(clock.pending, 0, "the timer stops with no deadline left");
});

Deno.test("StreamMap.set() with an earlier deadline re-arms the timer for it", () => {
  const { clock, timedOut, m } = timed();
  m.set(1, "late", 100);
  m.set(2, "early", 10);
  assert.equal(clock.pending, 1);
  clock.tick(10);
  assert.deepEqual(timedOut, [[2, "early", 10]]);
  clock.tick(90);
  assert.deepEqual(timedOut, [[2, "early", 10], [1, "late", 100]]);
});

Deno.test("StreamMap.take() before the deadline means no timeout, and the last one stops the timer", () => {
  const { clock, timedOut, m } = timed();
  m.set(1, "a", 10);
  m.set(2, "b", 40);
  clock.tick(5);
  assert.equal(m.take(1), "a");
  assert.equal(clock.pending, 1, "2 still has a deadline");
  assert.equal(m.take(2), "b");
  assert.equal(clock.pending, 0);
  clock.tick(60_000);
  assert.deepEqual(timedOut, []);
});

Deno.test("StreamMap.drain() returns every stream and stops the timer", () => {
  const { clock, timedOut, m } = timed();
  m.set(3, "c");
  m.set(4, "d", 60_000);
  assert.deepEqual(m.drain(), ["c", "d"]);
  assert.equal(m.size, 0);
  assert.equal(clock.pending, 0);
  clock.tick(60_000);
  assert.deepEqual(timedOut, []);
});

Deno.test("KvHeaderMap looks names up case-insensitively and tracks edits", () => {
  const h = new KvHeaderMap(["Service", "x"], ["svc", "1"]);
  assert.equal(h.get("service"), "svc");
  assert.equal(h.has("SERVICE"), true);
  assert.equal(h.dirty, false);
  h.set("service", "svc");
  assert.equal(h.dirty, false); // same value: no edit
  h.add("Y", "2");
  assert.equal(h.dirty, true);
  assert.equal(h.get("y"), "2");
  h.delete("x");
  const seen: string[] = [];
  h.forEach((v, k) => seen.push(`${k}=${v}`));
  assert.deepEqual(seen, ["Service=svc", "Y=2"]);
  assert.equal(h.size, 2);
});

Deno.test("StreamMap keeps every stream through growth, slot collisions and id wrap (against a Map)", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const m = new StreamMap<string>(undefined, { lastId: 0xffffff00 });
  const model = new Map<number, string>();
  for (let step = 0; step < 20_000; step++) {
    const r = rand();
    if (r < 0.45) {
      const id = m.allocate();
      assert.equal(model.has(id), false, "allocate() never hands out a live id");
      assert.notEqual(id, 0);
      m.set(id, `v${step}`);
      model.set(id, `v${step}`);
    } else if (r < 0.5) {
      // An id set from outside, colliding with allocated ones modulo any table size.
      const id = (Math.floor(rand() * 64) * 4096 + 5) >>> 0;
      m.set(id, `x${step}`);
      model.set(id, `x${step}`);
    } else if (model.size > 0) {
      // Mostly the oldest (a window), sometimes a random one (a straggler stays behind).
      const ids = [...model.keys()];
      const id = rand() < 0.8 ? ids[0]! : ids[Math.floor(rand() * ids.length)]!;
      assert.equal(m.take(id), model.get(id));
      model.delete(id);
      assert.equal(m.take(id), undefined);
    }
    if (step % 997 === 0) {
      assert.equal(m.size, model.size);
      for (const [id, v] of model) assert.equal(m.get(id), v);
    }
  }
  assert.deepEqual(m.drain().sort(), [...model.values()].sort());
  assert.equal(m.size, 0);
  assert.equal(m.get(m.allocate()), undefined);
});

Deno.test("StreamMap.set() replaces a value under an id, in its slot or in the overflow", () => {
  const m = new StreamMap<string>();
  m.set(1, "a");
  m.set(17, "b"); // 1 and 17 share a slot of a 16-slot table
  m.set(17, "b2");
  m.set(1, "a2");
  assert.equal(m.size, 2);
  assert.equal(m.take(1), "a2");
  m.set(17, "b3");
  assert.equal(m.get(17), "b3");
  assert.equal(m.size, 1);
});
