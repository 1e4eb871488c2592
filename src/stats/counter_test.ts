import assert from "node:assert/strict";
import { Counter } from "./counter.ts";

Deno.test("Counter.inc() adds 1 by default and n when given", () => {
  const c = new Counter();
  assert.deepEqual(c.value, 0);
  c.inc();
  c.inc(41);
  assert.deepEqual(c.value, 42);
});
