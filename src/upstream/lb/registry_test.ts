import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { makeHosts } from "./_conformance.ts";
import { loadBalancerNames, newLoadBalancer, registerLoadBalancer } from "./registry.ts";

Deno.test("newLoadBalancer() rejects an unknown name with a suggestion", () => {
  throws(
    () => newLoadBalancer("LB_ROUNDROBN", []),
    /Cannot find load balancer "LB_ROUNDROBN"; did you mean "LB_ROUNDROBIN"\?/,
  );
});

Deno.test("registerLoadBalancer() adds a factory that newLoadBalancer() builds", () => {
  const hosts = makeHosts([1, 1]);
  registerLoadBalancer("TEST_FIRST", (hs) => ({ choose: () => hs.find((h) => h.healthy) }));
  ok(loadBalancerNames().includes("TEST_FIRST"));
  strictEqual(newLoadBalancer("TEST_FIRST", hosts).choose(), hosts[0]);
  deepStrictEqual(loadBalancerNames().slice(0, 5), [
    "LB_RANDOM",
    "LB_ROUNDROBIN",
    "LB_WEIGHTED_ROUNDROBIN",
    "LB_LEAST_REQUEST",
    "LB_MAGLEV",
  ]);
});
