/**
 * Cluster circuit breakers and pools, built from config text the way a snapshot builds them. Nothing here
 * dials: connection slots are taken with tryOpenConnection, which pools share.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { ProxyError, SharedCounters, silentLogger } from "../../core/mod.ts";
import { DEFAULT_VALIDATION_CONTEXT, parseConfigText } from "../../config/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { ExclusivePool } from "../pool/http1_pool.ts";
import { MultiplexPool } from "../pool/multiplex_pool.ts";
import type { PoolWaiter } from "../pool/types.ts";
import { Cluster, type ClusterOptions } from "./cluster.ts";

/** A SIMPLE cluster named "c" from a cluster document (hosts default to two unreachable ones). */
function cluster(doc: Record<string, unknown> = {}, options: ClusterOptions = {}): Cluster {
  const config = {
    // A config needs a server; a tcp_proxy listener is the smallest one.
    servers: [{
      listeners: [{
        address: "127.0.0.1:0",
        filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "c" } }] }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "c",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: "127.0.0.1:1" }, { address: "127.0.0.1:2" }],
        ...doc,
      }],
    },
  };
  const { snapshot, errors } = parseConfigText(
    JSON.stringify(config),
    "cluster_test.json",
    DEFAULT_VALIDATION_CONTEXT,
  );
  assertEquals(errors, []);
  return new Cluster(snapshot!.clusters[0]!, new StatsRegistry(), silentLogger, options);
}

/** A waiter that must not be called (these tests never let a connection come). */
const idleWaiter = (): PoolWaiter => ({
  onPoolReady: () => {
    throw new Error("no connection was expected");
  },
  onPoolFailure: () => {},
});

Deno.test("Cluster circuit breakers default to 1024 requests, connections and pending, and 3 retries", () => {
  const c = cluster();
  try {
    assertEquals(c.config.circuitBreakers, {
      maxConnections: 1024,
      maxPendingRequests: 1024,
      maxRequests: 1024,
      maxRetries: 3,
    });

    c.breakers.requests.add(1023);
    assert(c.canStartRequest(), "the 1024th request may start");
    c.breakers.requests.add();
    assert(!c.canStartRequest(), "not the 1025th");

    c.breakers.retries.add(2);
    assert(c.canRetry());
    c.breakers.retries.add();
    assert(!c.canRetry());

    const host = c.hosts[0]!;
    for (let i = 0; i < 1024; i++) assert(c.tryOpenConnection(host), `connection ${i + 1}`);
    assert(!c.canOpenConnection());
    assert(!c.tryOpenConnection(host), "the 1025th connection is refused");

    // With every connection slot taken, a pool queues requests up to max_pending_requests.
    const pool = c.pool(host, "Http1");
    const waiters = Array.from({ length: 1024 }, idleWaiter);
    for (const w of waiters) assertEquals(pool.acquire(w), undefined, "queued");
    assertEquals(c.stats.requestPendingActive.value, 1024);
    const over = pool.acquire(idleWaiter());
    assert(over instanceof ProxyError && over.kind === "overflow", "the 1025th pending request overflows");
    for (const w of waiters) pool.cancel(w);
    assertEquals(c.stats.requestPendingActive.value, 0);
  } finally {
    c.close();
  }
});

Deno.test("Cluster circuit breakers set to 0 are unlimited", () => {
  const c = cluster({
    circuit_breakers: [{ max_connections: 0, max_pending_requests: 0, max_requests: 0, max_retries: 0 }],
  });
  try {
    c.breakers.requests.add(1_000_000);
    assert(c.canStartRequest());
    c.breakers.retries.add(1_000_000);
    assert(c.canRetry());
    const host = c.hosts[0]!;
    for (let i = 0; i < 5000; i++) assert(c.tryOpenConnection(host));
    assert(c.canOpenConnection());
    assertEquals(c.stats.connectionOverflow.value, 0);
  } finally {
    c.close();
  }

  // max_pending_requests: 0 with the connection limit reached: every request waits, none overflows.
  const q = cluster({ circuit_breakers: [{ max_connections: 1, max_pending_requests: 0 }] });
  try {
    const host = q.hosts[0]!;
    assert(q.tryOpenConnection(host));
    const pool = q.pool(host, "Http1");
    const waiters = Array.from({ length: 3000 }, idleWaiter);
    for (const w of waiters) assertEquals(pool.acquire(w), undefined);
    assertEquals(q.stats.requestPendingActive.value, 3000);
    for (const w of waiters) pool.cancel(w);
  } finally {
    q.close();
  }
});

Deno.test("Cluster.tryOpenConnection() counts against max_connections; connectionClosed() frees the slot", () => {
  const c = cluster({ circuit_breakers: [{ max_connections: 2 }] });
  try {
    const h1 = c.hosts[0]!;
    const h2 = c.hosts[1]!;
    assert(c.tryOpenConnection(h1));
    assert(c.tryOpenConnection(h2));
    assertEquals(c.connections, 2);
    assertEquals(c.stats.connectionTotal.value, 2);
    assertEquals(c.stats.connectionActive.value, 2);
    assertEquals(h1.stats.connectionActive.value, 1);

    assert(!c.tryOpenConnection(h1), "over max_connections");
    assertEquals(c.stats.connectionOverflow.value, 1);
    assertEquals(c.connections, 2, "a refused connection is not counted");
    assertEquals(c.stats.connectionTotal.value, 2);
    assertEquals(h1.stats.connectionTotal.value, 1);

    c.connectionClosed(h1);
    assertEquals(c.connections, 1);
    assertEquals(c.stats.connectionActive.value, 1);
    assertEquals(h1.stats.connectionActive.value, 0);
    assert(c.canOpenConnection());
    assert(c.tryOpenConnection(h1), "the freed slot is usable");
    assertEquals(c.stats.connectionTotal.value, 3);
    assertEquals(c.stats.connectionOverflow.value, 1);
  } finally {
    c.close();
  }
});

Deno.test("Cluster.pool() creates one pool per (host, protocol), once", () => {
  const c = cluster();
  try {
    const [h1, h2] = [c.hosts[0]!, c.hosts[1]!];
    const http = c.pool(h1, "Http1");
    assert(http instanceof ExclusivePool, "HTTP/1 gets the exclusive pool");
    assert(c.pool(h1, "Http1") === http, "the same pool the second time");
    const bolt = c.pool(h1, "bolt");
    assert(bolt instanceof MultiplexPool, "a multiplexed codec gets the multiplexed pool");
    assert(c.pool(h1, "bolt") === bolt);
    const other = c.pool(h2, "Http1");
    assert(other !== http, "each host has its own");
    assertEquals(h1.pools.size, 2);
    assertEquals(h2.pools.size, 1);
    assertEquals(c.connections, 0, "making a pool dials nothing");
    let threw: unknown;
    try {
      c.pool(h1, "NoSuchProtocol");
    } catch (e) {
      threw = e;
    }
    assert(threw instanceof ProxyError, "an unknown protocol is a ProxyError");
    assertEquals(h1.pools.size, 2);
  } finally {
    c.close();
  }
});

Deno.test("Cluster circuit breakers count once for every worker that shares the slot table", () => {
  // Two workers' clusters of the same name: one owner table, one attached view of the same buffer.
  const owner = SharedCounters.create(64);
  const breakers = { circuit_breakers: [{ max_connections: 3, max_requests: 2, max_retries: 1 }] };
  const a = cluster(breakers, { limits: owner });
  const b = cluster(breakers, { limits: SharedCounters.attach(owner.table()) });
  try {
    assert(a.breakers.connections.shared && b.breakers.connections.shared);
    assert(a.tryOpenConnection(a.hosts[0]!));
    assert(a.tryOpenConnection(a.hosts[0]!));
    assert(b.tryOpenConnection(b.hosts[0]!), "the third connection, in the other worker");
    assert(!b.tryOpenConnection(b.hosts[0]!), "the fourth is refused although b holds one");
    assert(!a.canOpenConnection());
    assertEquals(b.stats.connectionOverflow.value, 1);
    a.connectionClosed(a.hosts[0]!);
    assert(b.canOpenConnection(), "a's close frees a slot for b");

    a.breakers.requests.add();
    b.breakers.requests.add();
    assert(!a.canStartRequest() && !b.canStartRequest(), "max_requests 2: one in each worker");
    b.breakers.retries.add();
    assert(!a.canRetry(), "max_retries 1 taken by the other worker");
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("SharedCounters: a name keeps its slot; a full table counts per worker and says so", () => {
  const owner = SharedCounters.create(2);
  const overflowed: string[] = [];
  owner.onOverflow = (name) => overflowed.push(name);
  const t1 = owner.assign(["cluster/a/requests", "cluster/b/requests"]);
  const t2 = owner.assign(["cluster/b/requests", "cluster/a/requests"]);
  assertEquals(t1.slots, t2.slots, "a reload in another order keeps every slot");
  const worker = SharedCounters.attach(t2);
  worker.gauge("cluster/a/requests").add(5);
  assertEquals(owner.gauge("cluster/a/requests").value, 5);
  const extra = owner.gauge("cluster/c/requests");
  assert(!extra.shared, "no slot left: a per-worker gauge");
  assertEquals([owner.overflowed, overflowed], [1, ["cluster/c/requests"]]);
  assert(extra.tryAcquire(1) && !extra.tryAcquire(1), "the fallback still enforces the limit locally");
});

Deno.test("with workers a pool that has no connection opens one past a full max_connections; alone it queues", () => {
  const breakers = { circuit_breakers: [{ max_connections: 1 }] };
  const owner = SharedCounters.create(64);
  const other = cluster(breakers, { limits: owner }); // another worker holds the only connection
  const here = cluster(breakers, { limits: SharedCounters.attach(owner.table()) });
  const alone = cluster(breakers);
  try {
    assert(other.tryOpenConnection(other.hosts[0]!));
    // Envoy's rule: queueing here would wait for a connection only the other worker's pool has.
    assertEquals(here.pool(here.hosts[0]!, "Http1").acquire(idleWaiter()), undefined);
    assertEquals(here.stats.requestPendingActive.value, 0, "dialling, not queued");
    // One event loop: the breaker's connections are this process's own pools; the request queues.
    assert(alone.tryOpenConnection(alone.hosts[1]!));
    assertEquals(alone.pool(alone.hosts[0]!, "Http1").acquire(idleWaiter()), undefined);
    assertEquals(alone.stats.requestPendingActive.value, 1, "queued");
  } finally {
    other.close();
    here.close();
    alone.close();
  }
});
