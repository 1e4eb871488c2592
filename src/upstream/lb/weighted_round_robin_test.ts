import { deepStrictEqual } from "node:assert/strict";
import { makeHosts } from "./_conformance.ts";
import { WeightedRoundRobinLoadBalancer } from "./weighted_round_robin.ts";

Deno.test("WeightedRoundRobinLoadBalancer.choose() interleaves smoothly by weight (EDF)", () => {
  const hosts = makeHosts([1, 2, 4]);
  const lb = new WeightedRoundRobinLoadBalancer(hosts, { random: () => 0 });
  const seq = Array.from({ length: 14 }, () => hosts.indexOf(lb.choose()!));
  // Every window of 7 picks holds host 2 four times, host 1 twice, host 0 once.
  deepStrictEqual(seq, [2, 1, 2, 2, 0, 1, 2, 2, 1, 2, 2, 0, 1, 2]);
});

Deno.test("WeightedRoundRobinLoadBalancer.choose() is plain round robin with equal weights", () => {
  const hosts = makeHosts([3, 3, 3]);
  const lb = new WeightedRoundRobinLoadBalancer(hosts, { random: () => 0 });
  deepStrictEqual(Array.from({ length: 4 }, () => hosts.indexOf(lb.choose()!)), [0, 1, 2, 0]);
});

Deno.test("WeightedRoundRobinLoadBalancer.choose() survives a heavy unhealthy host", () => {
  const hosts = makeHosts([128, 1, 1]);
  hosts[0]!.healthy = false;
  const lb = new WeightedRoundRobinLoadBalancer(hosts, { random: () => 0.75 });
  for (let i = 0; i < 1000; i++) deepStrictEqual(lb.choose()!.healthy, true);
});
