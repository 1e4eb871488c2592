/**
 * Envoy's priority load and panic threshold: the tables of Envoy's priority-level and panic-threshold
 * docs, and the balancer drawing levels by that load.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { computePriorityLoad, PriorityBalancer } from "./priority.ts";
import type { LbHost } from "./types.ts";

/** Two levels of 10 hosts, P1 all healthy: P0's healthy count → [load P0, load P1]. */
function twoLevels(p0Healthy: number): number[] {
  return [...computePriorityLoad([p0Healthy, 10], [10, 10], 140, 50).loads];
}

Deno.test("priority load: P0 keeps all traffic down to 72% healthy (factor 1.4), then spills to P1 (Envoy's table)", () => {
  assertEquals(twoLevels(10), [100, 0]);
  assertEquals(twoLevels(8), [100, 0]); // 80 × 1.4 = 112 → 100
  assertEquals(twoLevels(7), [98, 2]); // 70 × 1.4 = 98
  assertEquals(twoLevels(5), [70, 30]);
  assertEquals(twoLevels(1), [14, 86]);
  assertEquals(twoLevels(0), [0, 100]);
});

Deno.test("priority load: when the levels together are under 100 % health, loads are scaled to sum to 100", () => {
  // P0 20 % healthy (health 28), P1 20 % healthy (28): total 56 → 50 / 50.
  const s = computePriorityLoad([2, 2], [10, 10], 140, 50);
  assertEquals(s.normalizedTotalHealth, 56);
  assertEquals(s.loads, [50, 50]);
  assertEquals(s.loads.reduce((a, b) => a + b, 0), 100);
  // Rounding leftovers go to the first level with health.
  const r = computePriorityLoad([1, 1, 1], [3, 3, 3], 140, 0);
  assertEquals(r.loads.reduce((a, b) => a + b, 0), 100);
});

Deno.test("panic: a level under the threshold while total health < 100 takes all its hosts; total 100 disregards panic", () => {
  // One level, 40 % healthy: health 56 < 100 and 40 % < 50 % → panic.
  assertEquals(computePriorityLoad([4], [10], 140, 50).panic, [true]);
  // One level, 60 % healthy: health 84 < 100 but 60 % ≥ 50 % → no panic.
  assertEquals(computePriorityLoad([6], [10], 140, 50).panic, [false]);
  // P0 at 10 % but P1 fully healthy: total health 100 → nobody panics (traffic goes to P1 instead).
  const spill = computePriorityLoad([1, 10], [10, 10], 140, 50);
  assertEquals(spill.normalizedTotalHealth, 100);
  assertEquals(spill.panic, [false, false]);
  // Envoy's doc example: P0 20 %, P1 20 % (both under 50 %): both levels panic.
  assertEquals(computePriorityLoad([2, 2], [10, 10], 140, 50).panic, [true, true]);
  // Threshold 0 never panics.
  assertEquals(computePriorityLoad([1], [10], 140, 0).panic, [false]);
});

Deno.test("panic: with no healthy host anywhere, level 0 takes all traffic over all its hosts (unless panic is off)", () => {
  const s = computePriorityLoad([0, 0], [3, 3], 140, 50);
  assertEquals(s.loads, [100, 0]);
  assertEquals(s.panic, [true, false]);
  assertEquals(computePriorityLoad([0, 0], [3, 3], 140, 0).panic, [false, false]);
});

function hosts(prefix: string, n: number): LbHost[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `${prefix}${i}`,
    weight: 1,
    healthy: true,
    activeRequests: 0,
  }));
}

/** A deterministic [0,1) sequence. */
function seq(): () => number {
  let x = 0;
  return () => (x = (x + 0.618033988749895) % 1);
}

Deno.test("PriorityBalancer: all traffic to P0 while healthy; spill to P1 as P0 loses hosts; panic picks unhealthy hosts", () => {
  const p0 = hosts("a", 4);
  const p1 = hosts("b", 4);
  const lb = new PriorityBalancer([p0, p1], {
    lbType: "LB_ROUNDROBIN",
    panicThresholdPercent: 50,
    overprovisioningFactorPercent: 140,
    random: seq(),
  });
  const count = (n: number) => {
    const by = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const h = lb.choose();
      assert(h !== undefined);
      by.set(h.address[0]!, (by.get(h.address[0]!) ?? 0) + 1);
    }
    return by;
  };
  assertEquals(count(100).get("b"), undefined);
  // Two of four P0 hosts down: health 70 → 70 % of traffic to P0, 30 % to P1.
  p0[0]!.healthy = false;
  p0[1]!.healthy = false;
  lb.refresh();
  assertEquals(lb.state.loads, [70, 30]);
  const split = count(1000);
  assert(Math.abs(split.get("a")! - 700) < 50, `P0 took ${split.get("a")}`);
  // P0 picks never land on its unhealthy hosts.
  for (let i = 0; i < 200; i++) {
    const h = lb.choose()!;
    assert(h !== p0[0] && h !== p0[1]);
  }
  // Everything down: panic on P0, which then serves over all its hosts.
  for (const h of [...p0, ...p1]) h.healthy = false;
  lb.refresh();
  assertEquals(lb.state.panic, [true, false]);
  const before = lb.panicPicks;
  const picked = new Set<LbHost>();
  for (let i = 0; i < 8; i++) picked.add(lb.choose()!);
  assertEquals(picked, new Set(p0));
  assertEquals(lb.panicPicks - before, 8);
});

Deno.test("PriorityBalancer: one level in panic under the threshold balances over all hosts; above it only healthy ones", () => {
  const level = hosts("h", 10);
  const lb = new PriorityBalancer([level], {
    lbType: "LB_RANDOM",
    panicThresholdPercent: 50,
    overprovisioningFactorPercent: 140,
    random: seq(),
  });
  for (let i = 0; i < 6; i++) level[i]!.healthy = false; // 40 % healthy
  lb.refresh();
  assertEquals(lb.state.panic, [true]);
  let unhealthyPicks = 0;
  for (let i = 0; i < 200; i++) if (!lb.choose()!.healthy) unhealthyPicks++;
  assert(unhealthyPicks > 0, "panic mode must also pick unhealthy hosts");
  level[0]!.healthy = true; // 50 %: not under the threshold
  lb.refresh();
  assertEquals(lb.state.panic, [false]);
  for (let i = 0; i < 200; i++) assert(lb.choose()!.healthy);
});
