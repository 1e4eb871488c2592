import { ok } from "node:assert/strict";
import { runConformance } from "./_conformance.ts";
import { loadBalancerNames } from "./mod.ts";

/** Balancers whose picks follow host weights; the others ignore weights, as MOSN's do. */
const WEIGHT_AWARE: ReadonlySet<string> = new Set(["LB_WEIGHTED_ROUNDROBIN", "LB_LEAST_REQUEST"]);

Deno.test("loadBalancerNames() lists the MOSN balancers", () => {
  for (
    const name of ["LB_RANDOM", "LB_ROUNDROBIN", "LB_WEIGHTED_ROUNDROBIN", "LB_LEAST_REQUEST", "LB_MAGLEV"]
  ) {
    ok(loadBalancerNames().includes(name), name);
  }
});

for (const name of loadBalancerNames()) runConformance(name, { weightAware: WEIGHT_AWARE.has(name) });
