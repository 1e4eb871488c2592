import { ok, strictEqual } from "node:assert/strict";
import { makeHosts, seeded } from "./_conformance.ts";
import { MaglevLoadBalancer } from "./maglev.ts";
import type { LbHost } from "./types.ts";

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}@10.1.${i & 255}.${i >> 8}`);

function owners(lb: MaglevLoadBalancer): string[] {
  return KEYS.map((k) => lb.choose({ hashKey: k })!.address);
}

Deno.test("MaglevLoadBalancer.choose() sends the same key to the same host", () => {
  const hosts = makeHosts([1, 1, 1, 1, 1]);
  const a = new MaglevLoadBalancer(hosts, { random: seeded(1) });
  const b = new MaglevLoadBalancer(makeHosts([1, 1, 1, 1, 1]), { random: seeded(99) });
  for (const key of KEYS.slice(0, 500)) {
    const first = a.choose({ hashKey: key })!;
    strictEqual(a.choose({ hashKey: key }), first);
    strictEqual(b.choose({ hashKey: key })!.address, first.address);
  }
});

Deno.test("MaglevLoadBalancer.choose() spreads keys evenly over hosts", () => {
  const hosts = makeHosts(Array(10).fill(1));
  const count = new Map<string, number>();
  for (const a of owners(new MaglevLoadBalancer(hosts))) count.set(a, (count.get(a) ?? 0) + 1);
  strictEqual(count.size, 10);
  for (const [address, c] of count) ok(Math.abs(c / KEYS.length - 0.1) < 0.015, `${address}: ${c}`);
});

Deno.test("MaglevLoadBalancer.choose() moves about 1/N of keys when one of N hosts is removed", () => {
  const n = 10;
  const all = makeHosts(Array(n).fill(1));
  const before = owners(new MaglevLoadBalancer(all));
  const removed = all[4]!.address;
  const after = owners(new MaglevLoadBalancer(all.filter((h) => h.address !== removed)));
  let moved = 0;
  let movedElsewhere = 0;
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    if (before[i] !== removed) movedElsewhere++;
  }
  const share = moved / KEYS.length;
  ok(share > 0.08 && share < 0.14, `moved share ${share}`);
  ok(movedElsewhere / KEYS.length < 0.03, `keys not on the removed host that moved: ${movedElsewhere}`);
});

Deno.test("MaglevLoadBalancer.choose() spreads an unhealthy host's keys over the others", () => {
  const hosts: LbHost[] = makeHosts(Array(5).fill(1));
  const lb = new MaglevLoadBalancer(hosts);
  const before = owners(lb);
  hosts[0]!.healthy = false;
  const after = owners(lb);
  const takers = new Map<string, number>();
  for (let i = 0; i < KEYS.length; i++) {
    if (before[i] === hosts[0]!.address) takers.set(after[i]!, (takers.get(after[i]!) ?? 0) + 1);
    else strictEqual(after[i], before[i]);
  }
  strictEqual(takers.size, 4);
  const total = [...takers.values()].reduce((a, b) => a + b, 0);
  for (const [address, c] of takers) ok(Math.abs(c / total - 0.25) < 0.06, `${address}: ${c}/${total}`);
});

Deno.test("MaglevLoadBalancer.choose() picks a random healthy host without a hash key", () => {
  const hosts = makeHosts([1, 1, 1]);
  const lb = new MaglevLoadBalancer(hosts, { random: () => 0.99 });
  strictEqual(lb.choose(), hosts[2]);
  strictEqual(lb.choose({}), hosts[2]);
});
