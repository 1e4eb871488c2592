/**
 * The hot-path cost of a shared limit gauge: acquire + release (what a request does to `max_requests`),
 * on a `SharedGauge` over a SharedArrayBuffer against a plain field increment. Each iteration is 1000
 * pairs (divide by 1000 for ns/op). `deno bench src/core/shared_counters_bench.ts`
 */
import { SharedCounters } from "./shared_counters.ts";

const OPS = 1000;
const gauge = SharedCounters.create(16).gauge("cluster/a/requests");
const plain = { active: 0 };
let sink = 0;

Deno.bench(
  { name: "plain field: check + inc + dec ×1000", group: "gauge", baseline: true, n: 20_000 },
  () => {
    for (let i = 0; i < OPS; i++) {
      if (plain.active < 1024) plain.active++;
      sink += plain.active;
      plain.active--;
    }
  },
);

Deno.bench({ name: "SharedGauge (Atomics): tryAcquire + sub ×1000", group: "gauge", n: 20_000 }, () => {
  for (let i = 0; i < OPS; i++) {
    if (gauge.tryAcquire(1024)) {
      sink += 1;
      gauge.sub();
    }
  }
});

Deno.bench({ name: "SharedGauge (Atomics): load + add + sub ×1000", group: "gauge", n: 20_000 }, () => {
  for (let i = 0; i < OPS; i++) {
    if (gauge.value < 1024) gauge.add();
    sink += gauge.value;
    gauge.sub();
  }
});

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});

const local = SharedCounters.local().gauge("cluster/a/requests");
Deno.bench({ name: "LocalGauge (no workers): tryAcquire + sub ×1000", group: "gauge", n: 20_000 }, () => {
  for (let i = 0; i < OPS; i++) {
    if (local.tryAcquire(1024)) {
      sink += 1;
      local.sub();
    }
  }
});
