/**
 * HealthStore roles for `--concurrency N`: the authority (main thread) hands every flag change to its
 * broadcaster, including "forgotten" for a host that went while out; a follower (worker) applies the
 * main thread's decisions to the hosts it holds and to hosts it acquires later, keeping only unhealthy ones.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { HealthStore, type HostHealthUpdate } from "./host_health.ts";

Deno.test("HealthStore authority: each flag change is handed over once with both flags; a host released while out is forgotten as healthy", () => {
  const seen: HostHealthUpdate[] = [];
  const store = new HealthStore({ kind: "authority", onChange: (u) => seen.push(u) });
  const c = store.cluster("c");
  const h = c.acquire("10.0.0.1:80");
  h.setFailedActiveHc(true);
  h.setFailedActiveHc(true); // no change: nothing sent
  h.setEjected(true);
  assertEquals(seen.map((u) => [u.cluster, u.address, u.failedActiveHc, u.ejected]), [
    ["c", "10.0.0.1:80", true, false],
    ["c", "10.0.0.1:80", true, true],
  ]);
  assert(seen[0]!.sinceMs > 0 && h.sinceMs === seen[1]!.sinceMs);
  c.acquire("10.0.0.1:80"); // a second snapshot holds it too: releasing one keeps it
  c.release("10.0.0.1:80");
  assertEquals(seen.length, 2);
  c.release("10.0.0.1:80");
  assertEquals(seen.at(-1), { ...seen.at(-1)!, failedActiveHc: false, ejected: false });
  assertEquals(seen.length, 3);
});

Deno.test("HealthStore follower: the main thread's decision reaches held hosts and hosts acquired later; healthy ones are not kept", () => {
  const store = new HealthStore({ kind: "follower", reportOutlier: () => {}, reportInterval: () => {} });
  const c = store.cluster("c");
  const held = c.acquire("10.0.0.1:80");
  const v0 = c.version;
  const out = (address: string, ejected: boolean, failedActiveHc = false): HostHealthUpdate => ({
    cluster: "c",
    address,
    failedActiveHc,
    ejected,
    sinceMs: 1234,
  });
  store.applyRemote(out("10.0.0.1:80", true));
  assert(held.ejected && !held.healthy && held.sinceMs === 1234);
  assert(c.version > v0, "the cluster sees the change at its next pick");
  // Not held yet (a DNS answer or a snapshot this worker has not built): applied when it is acquired.
  store.applyRemote(out("10.0.0.2:80", false, true));
  const later = c.acquire("10.0.0.2:80");
  assert(later.failedActiveHc && !later.healthy);
  assertEquals(store.remoteCount, 2);
  // Unejected by the main thread: consecutive counts start over, as after a local unejection.
  held.consecutive5xx = 2;
  store.applyRemote(out("10.0.0.1:80", false));
  assert(held.healthy);
  assertEquals(held.consecutive5xx, 0);
  store.applyRemote(out("10.0.0.2:80", false));
  assertEquals(store.remoteCount, 0, "healthy hosts leave the table: it is bounded by the hosts out");
  // A follower broadcasts nothing and a cluster it never heard of is only remembered.
  store.applyRemote({ ...out("10.9.9.9:80", true), cluster: "other" });
  assertEquals(store.remoteCount, 1);
});
