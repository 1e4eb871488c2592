import assert from "node:assert/strict";
import { StreamMap } from "./stream_map.ts";
import { KvHeaderMap } from "./kv_header_map.ts";

Deno.test("StreamMap.allocate() counts up and skips ids in use", () => {
  const m = new StreamMap<string>();
  assert.equal(m.allocate(), 1);
  m.set(2, "busy");
  assert.equal(m.allocate(), 3);
});

Deno.test("StreamMap.allocate() wraps past 2^32-1 to 1, skipping 0 and busy ids", () => {
  const m = new StreamMap<string>(undefined, 0xfffffffd);
  m.set(0xffffffff, "busy");
  m.set(1, "busy");
  assert.equal(m.allocate(), 0xfffffffe);
  assert.equal(m.allocate(), 2);
});

Deno.test("StreamMap deadlines call the sink once and drain() clears the timer", async () => {
  const timedOut: number[] = [];
  const m = new StreamMap<string>({ onStreamTimeout: (id) => void timedOut.push(id) });
  m.set(1, "a", 10);
  m.set(2, "b", 40);
  m.set(3, "c");
  await new Promise((ok) => setTimeout(ok, 25));
  assert.deepEqual(timedOut, [1]);
  assert.equal(m.size, 2);
  assert.equal(m.take(2), "b");
  await new Promise((ok) => setTimeout(ok, 30));
  assert.deepEqual(timedOut, [1]);
  m.set(4, "d", 60_000);
  assert.deepEqual(m.drain(), ["c", "d"]);
  assert.equal(m.size, 0);
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
