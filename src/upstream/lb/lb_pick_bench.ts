/** Pick cost per balancer over 16 hosts (one unhealthy), and Maglev table build time. */
import { makeHosts, seeded } from "./_conformance.ts";
import { loadBalancerNames, MaglevLoadBalancer, newLoadBalancer } from "./mod.ts";
import type { LbContext } from "./types.ts";

const weights = Array.from({ length: 16 }, (_, i) => 1 + (i % 4));
const keys: LbContext[] = Array.from({ length: 1024 }, (_, i) => ({ hashKey: `10.2.${i >> 8}.${i & 255}` }));

for (
  const name of ["LB_RANDOM", "LB_ROUNDROBIN", "LB_WEIGHTED_ROUNDROBIN", "LB_LEAST_REQUEST", "LB_MAGLEV"]
) {
  if (!loadBalancerNames().includes(name)) continue;
  for (const weighted of [false, true]) {
    const hosts = makeHosts(weighted ? weights : weights.map(() => 1));
    hosts[5]!.healthy = false;
    hosts.forEach((h, i) => h.activeRequests = i % 7);
    const lb = newLoadBalancer(name, hosts, { random: seeded(1) });
    let i = 0;
    Deno.bench({
      name: `${name} choose()${weighted ? " weighted" : ""}`,
      group: "pick",
      baseline: name === "LB_ROUNDROBIN" && !weighted,
      fn: () => void lb.choose(keys[i++ & 1023]),
    });
  }
}

const hosts100 = makeHosts(Array(100).fill(1));
Deno.bench({
  name: "LB_MAGLEV build, 100 hosts, M=65537",
  group: "build",
  fn: () => void new MaglevLoadBalancer(hosts100),
});
