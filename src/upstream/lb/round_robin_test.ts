import { deepStrictEqual } from "node:assert/strict";
import { makeHosts } from "./_conformance.ts";
import { RoundRobinLoadBalancer } from "./round_robin.ts";

const addresses = (lb: RoundRobinLoadBalancer, n: number) =>
  Array.from({ length: n }, () => lb.choose()!.address);

Deno.test("RoundRobinLoadBalancer.choose() cycles in list order from the random start", () => {
  const hosts = makeHosts([1, 5, 1]);
  deepStrictEqual(addresses(new RoundRobinLoadBalancer(hosts, { random: () => 0 }), 7), [
    "10.0.0.1:8080",
    "10.0.0.2:8080",
    "10.0.0.3:8080",
    "10.0.0.1:8080",
    "10.0.0.2:8080",
    "10.0.0.3:8080",
    "10.0.0.1:8080",
  ]);
  deepStrictEqual(addresses(new RoundRobinLoadBalancer(hosts, { random: () => 0.5 }), 3), [
    "10.0.0.2:8080",
    "10.0.0.3:8080",
    "10.0.0.1:8080",
  ]);
});

Deno.test("RoundRobinLoadBalancer.choose() skips an unhealthy host without doubling its neighbour", () => {
  const hosts = makeHosts([1, 1, 1, 1]);
  hosts[1]!.healthy = false;
  deepStrictEqual(addresses(new RoundRobinLoadBalancer(hosts, { random: () => 0 }), 6), [
    "10.0.0.1:8080",
    "10.0.0.3:8080",
    "10.0.0.4:8080",
    "10.0.0.1:8080",
    "10.0.0.3:8080",
    "10.0.0.4:8080",
  ]);
});
