import type { LbHost } from "./types.ts";

/**
 * A host drawn uniformly from the healthy ones: one random probe, and on an unhealthy hit a second
 * draw among the healthy hosts only, so every healthy host keeps an equal share.
 */
export function randomHealthy(hosts: readonly LbHost[], random: () => number): LbHost | undefined {
  const n = hosts.length;
  if (n === 0) return undefined;
  const first = hosts[Math.floor(random() * n)]!;
  if (first.healthy) return first;
  let healthy = 0;
  for (let i = 0; i < n; i++) if (hosts[i]!.healthy) healthy++;
  if (healthy === 0) return undefined;
  let k = Math.floor(random() * healthy);
  for (let i = 0; i < n; i++) {
    const h = hosts[i]!;
    if (h.healthy && k-- === 0) return h;
  }
  return undefined;
}

/** A healthy host drawn in proportion to weight, or undefined. Linear; used only as a fallback. */
export function weightedRandomHealthy(hosts: readonly LbHost[], random: () => number): LbHost | undefined {
  let total = 0;
  for (const h of hosts) if (h.healthy) total += h.weight;
  if (total <= 0) return randomHealthy(hosts, random);
  let point = random() * total;
  let last: LbHost | undefined;
  for (const h of hosts) {
    if (!h.healthy) continue;
    last = h;
    point -= h.weight;
    if (point < 0) return h;
  }
  return last;
}

/** True when every host has the same weight (weight-aware balancers then take their plain path). */
export function weightsAreEqual(hosts: readonly LbHost[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== hosts[0]!.weight) return false;
  return true;
}
