import assert from "node:assert/strict";
import { Gauge } from "./gauge.ts";

Deno.test("Gauge.inc()/dec()/set() move the value both ways", () => {
  const g = new Gauge();
  g.inc();
  g.inc(4);
  g.dec();
  assert.deepEqual(g.value, 4);
  g.dec(10);
  assert.deepEqual(g.value, -6);
  g.set(7.5);
  assert.deepEqual(g.value, 7.5);
});
