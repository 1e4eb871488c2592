/**
 * The behaviour every registered load balancer must show. `lb_conformance_test.ts` runs it against
 * each name from `loadBalancerNames()`.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { newLoadBalancer } from "./registry.ts";
import type { LbContext, LbHost } from "./types.ts";

export interface ConformanceOptions {
  /** Picks should follow host weights (LB_WEIGHTED_ROUNDROBIN, LB_LEAST_REQUEST). */
  readonly weightAware: boolean;
}

/** A seeded PRNG (mulberry32) so every run sees the same sequence. */
export function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeHosts(weights: readonly number[]): LbHost[] {
  return weights.map((weight, i) => ({
    address: `10.0.0.${i + 1}:8080`,
    weight,
    healthy: true,
    activeRequests: 0,
  }));
}

/** Varies the hash key per pick so a consistent-hash balancer spreads; others ignore it. */
function ctx(i: number): LbContext {
  return { hashKey: `client-${i}` };
}

function counts(lbType: string, hosts: LbHost[], picks: number, seed = 1): Map<string, number> {
  const lb = newLoadBalancer(lbType, hosts, { random: seeded(seed) });
  const out = new Map<string, number>(hosts.map((h) => [h.address, 0]));
  for (let i = 0; i < picks; i++) {
    const h = lb.choose(ctx(i));
    ok(h, `${lbType} returned no host with healthy hosts present`);
    out.set(h.address, out.get(h.address)! + 1);
  }
  return out;
}

function assertShares(
  lbType: string,
  got: Map<string, number>,
  want: Map<string, number>,
  tolerance: number,
): void {
  const total = [...got.values()].reduce((a, b) => a + b, 0);
  for (const [address, share] of want) {
    const actual = (got.get(address) ?? 0) / total;
    ok(
      Math.abs(actual - share) <= tolerance,
      `${lbType}: ${address} got share ${actual.toFixed(4)}, want ${share.toFixed(4)} ± ${tolerance}`,
    );
  }
}

export function runConformance(lbType: string, opts: ConformanceOptions): void {
  Deno.test(`${lbType} choose() returns undefined without hosts`, () => {
    const lb = newLoadBalancer(lbType, [], { random: seeded(1) });
    strictEqual(lb.choose(), undefined);
    strictEqual(lb.choose({ hashKey: "k" }), undefined);
  });

  Deno.test(`${lbType} choose() returns undefined when no host is healthy`, () => {
    const hosts = makeHosts([1, 2, 3]);
    for (const h of hosts) h.healthy = false;
    const lb = newLoadBalancer(lbType, hosts, { random: seeded(1) });
    for (let i = 0; i < 50; i++) strictEqual(lb.choose(ctx(i)), undefined);
    strictEqual(lb.choose(), undefined);
  });

  Deno.test(`${lbType} choose() returns only healthy hosts, and sees health change live`, () => {
    const hosts = makeHosts([1, 1, 2, 3, 1]);
    hosts[1]!.healthy = false;
    hosts[3]!.healthy = false;
    const lb = newLoadBalancer(lbType, hosts, { random: seeded(2) });
    for (let i = 0; i < 2000; i++) ok(lb.choose(ctx(i))?.healthy);
    for (let i = 0; i < 2000; i++) ok(lb.choose()?.healthy);
    hosts[1]!.healthy = true;
    hosts[0]!.healthy = false;
    let sawRecovered = false;
    for (let i = 0; i < 2000; i++) {
      const h = lb.choose(ctx(i))!;
      ok(h.healthy);
      if (h === hosts[1]) sawRecovered = true;
    }
    ok(sawRecovered, "a host that became healthy is picked again");
  });

  Deno.test(`${lbType} choose() picks every healthy host over many picks`, () => {
    const hosts = makeHosts([1, 1, 1, 1, 1, 1, 1]);
    hosts[2]!.healthy = false;
    const got = counts(lbType, hosts, 5000);
    for (const h of hosts) {
      if (h.healthy) ok(got.get(h.address)! > 0, `${lbType} never picked ${h.address}`);
      else strictEqual(got.get(h.address), 0);
    }
  });

  Deno.test(`${lbType} choose() spreads evenly over equal-weight hosts, unhealthy ones skipped`, () => {
    const hosts = makeHosts([1, 1, 1, 1, 1]);
    hosts[1]!.healthy = false;
    const healthy = hosts.filter((h) => h.healthy);
    assertShares(
      lbType,
      counts(lbType, hosts, 40_000),
      new Map(healthy.map((h) => [h.address, 1 / healthy.length])),
      0.03,
    );
  });

  if (opts.weightAware) {
    Deno.test(`${lbType} choose() follows host weights, also with an unhealthy host`, () => {
      const hosts = makeHosts([1, 2, 3, 4]);
      assertShares(
        lbType,
        counts(lbType, hosts, 40_000),
        new Map(hosts.map((h) => [h.address, h.weight / 10])),
        0.01,
      );
      const skipping = makeHosts([1, 2, 3, 4]);
      skipping[3]!.healthy = false;
      assertShares(
        lbType,
        counts(lbType, skipping, 40_000),
        new Map(skipping.slice(0, 3).map((h) => [h.address, h.weight / 6])),
        0.02,
      );
    });
  }

  Deno.test(`${lbType} choose() is deterministic with an injected random`, () => {
    const run = () => {
      const hosts = makeHosts([1, 3, 2, 1]);
      hosts[2]!.healthy = false;
      const lb = newLoadBalancer(lbType, hosts, { random: seeded(42) });
      const seq: string[] = [];
      for (let i = 0; i < 200; i++) seq.push(lb.choose(i % 2 ? ctx(i) : undefined)!.address);
      return seq;
    };
    deepStrictEqual(run(), run());
  });
}
