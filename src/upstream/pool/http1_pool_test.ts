/**
 * ExclusivePool against a real keep-alive HTTP/1 origin on 127.0.0.1. Requests go through the real
 * HTTP/1 client codec; the origin answers each with the number of the connection that served it, and
 * reports accepts and closes as events the tests wait on. The pool's idle timer is a global setTimeout
 * (PoolOptions takes no clock), so the idle tests use short real timeouts and wait for the close itself.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { startLoopbackServer } from "../../../tests/_peers/loopback_server.ts";
import { defaultCodecOptions, getCodec, Http1Headers, Http1RequestHead } from "../../codec/mod.ts";
import { ProxyError } from "../../core/mod.ts";
import type { UpstreamConnection } from "./types.ts";
import { ExclusivePool } from "./http1_pool.ts";
import type { PoolHooks, PoolWaiter } from "./types.ts";
import { Events } from "../../../tests/_events.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Resolves once `conn`'s socket closed and its read loop ended; the bound turns a hang into a failure. */
function closed(conn: UpstreamConnection): Promise<void> {
  let bound: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    conn.closed,
    new Promise<never>((_, reject) => {
      bound = setTimeout(() => reject(new Error("gave up waiting for the connection to close")), 10_000);
    }),
  ]).finally(() => clearTimeout(bound));
}

/** A keep-alive origin: answers every GET with "c<n>", n being the connection's number (1-based). */
function startOrigin() {
  const state = { accepted: 0, requests: 0, closedByClient: 0 };
  const events = new Events();
  const open = new Set<Deno.Conn>();
  const server = startLoopbackServer(async (conn) => {
    open.add(conn);
    const n = ++state.accepted;
    events.notify();
    const buf = new Uint8Array(4096);
    let pending = "";
    for (;;) {
      let r: number | null;
      try {
        r = await conn.read(buf);
      } catch {
        return; // closed by closeConnections()
      }
      if (r === null) {
        open.delete(conn);
        state.closedByClient++;
        events.notify();
        return;
      }
      pending += dec.decode(buf.subarray(0, r));
      let end: number;
      while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
        pending = pending.slice(end + 4);
        state.requests++;
        const body = `c${n}`;
        await conn.write(enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
      }
    }
  });
  return {
    port: server.port,
    state,
    events,
    /** Closes every connection from the origin's side; keeps listening. */
    closeConnections: () => {
      for (const c of open) c.close();
      open.clear();
    },
    stop: () => server.stop(),
  };
}

interface Limits {
  /** Connections open or opening at once (0: unlimited), like the cluster's max_connections. */
  maxConnections?: number;
  /** Waiters in the queue at once (0: unlimited), like max_pending_requests. */
  maxPending?: number;
  idleTimeoutMs?: number;
  maxRequestsPerConnection?: number;
}

/** A pool to `port` whose hooks keep the cluster's books (as Cluster does) for the test to read. */
function pool(port: number, limits: Limits = {}) {
  const books = { open: 0, opened: 0, closed: 0, pending: 0, connectFailures: 0 };
  const events = new Events();
  const maxConn = limits.maxConnections ?? 0;
  const maxPending = limits.maxPending ?? 0;
  const hooks: PoolHooks = {
    canOpenConnection: () => maxConn === 0 || books.open < maxConn,
    canQueue: () => maxPending === 0 || books.pending < maxPending,
    onConnectionOpened: () => {
      books.open++;
      books.opened++;
    },
    onConnectionClosed: () => {
      books.open--;
      books.closed++;
      events.notify();
    },
    onConnectFailure: () => void books.connectFailures++,
    onPendingChange: (d) => void (books.pending += d),
    onBytesRead: () => {},
    onWriteOverflow: () => {},
  };
  const p = new ExclusivePool({
    hostname: "127.0.0.1",
    port,
    codec: getCodec("Http1")!,
    codecOptions: defaultCodecOptions,
    connectTimeoutMs: 5000,
    idleTimeoutMs: limits.idleTimeoutMs,
    maxRequestsPerConnection: limits.maxRequestsPerConnection ?? 0,
    bufferLimitBytes: 1 << 20,
    hooks,
  });
  return { p, books, events };
}

/** A waiter that records what the pool told it, and when. */
class Waiter implements PoolWaiter {
  ready: UpstreamConnection[] = [];
  failures: ProxyError[] = [];
  readonly #events = new Events();

  onPoolReady(conn: UpstreamConnection): void {
    this.ready.push(conn);
    this.#events.notify();
  }

  onPoolFailure(err: ProxyError): void {
    this.failures.push(err);
    this.#events.notify();
  }

  async connection(): Promise<UpstreamConnection> {
    await this.#events.until(() => this.ready.length > 0 || this.failures.length > 0, "the pool's answer");
    if (this.failures.length > 0) throw this.failures[0];
    return this.ready[0]!;
  }
}

/** A connection for one stream: at once (idle), or once the pool calls back. Rejects on overflow. */
async function acquire(p: ExclusivePool): Promise<UpstreamConnection> {
  const w = new Waiter();
  const got = p.acquire(w);
  if (got instanceof ProxyError) throw got;
  if (got !== undefined) return got;
  return await w.connection();
}

/** GET / over `conn`; resolves with the response body. */
function get(conn: UpstreamConnection): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    const stream = conn.codec.newStream({
      onResponse: (_head, end) => void (end && resolve(body)),
      onData: (chunk, end) => {
        body += dec.decode(chunk);
        if (end) resolve(body);
      },
      onTrailers: () => resolve(body),
      onReset: reject,
    });
    stream.sendRequest(new Http1RequestHead("GET", "/", "", "origin", new Http1Headers()), true).catch(
      reject,
    );
  });
}

Deno.test("ExclusivePool.acquire() reuses released keep-alive connections, most recently used first", async () => {
  const origin = startOrigin();
  const { p, books } = pool(origin.port);
  try {
    const a = await acquire(p);
    const b = await acquire(p); // a is busy: a second connection
    assert(a !== b);
    assertEquals(await get(a), "c1");
    assertEquals(await get(b), "c2");
    p.release(a);
    p.release(b);

    const w = new Waiter();
    const again = p.acquire(w);
    assert(again === b, "the most recently released connection, returned at once");
    assertEquals(again.requests, 2);
    assertEquals(p.acquire(new Waiter()), a, "then the other one");
    assertEquals(await get(b), "c2", "served over the kept-alive connection");
    assertEquals(await get(a), "c1");
    assertEquals(origin.state.accepted, 2, "no new connection");
    assertEquals(books.opened, 2);
    assertEquals(w.ready.length, 0, "a connection returned from acquire() is not also handed to the waiter");
    p.release(a);
    p.release(b);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.acquire() never hands out an idle connection that was closed", async () => {
  const origin = startOrigin();
  const { p } = pool(origin.port);
  try {
    // Closed by the upstream: the read loop sees EOF and the pool forgets the connection.
    const a = await acquire(p);
    assertEquals(await get(a), "c1");
    p.release(a);
    origin.closeConnections();
    await closed(a);
    const b = await acquire(p);
    assert(b !== a, "not the connection the upstream closed");
    assertEquals(await get(b), "c2");

    // Closed here (say a failed write) before its read loop has noticed: acquire() checks.
    p.release(b);
    b.io.close();
    const w = new Waiter();
    assertEquals(p.acquire(w), undefined, "not the closed socket: a new dial");
    const c = await w.connection();
    assertEquals(await get(c), "c3");
    p.release(c);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.acquire() queues at max_connections and returns overflow at once past max_pending_requests", async () => {
  const origin = startOrigin();
  const { p, books } = pool(origin.port, { maxConnections: 1, maxPending: 2 });
  try {
    const a = await acquire(p);
    const w1 = new Waiter();
    const w2 = new Waiter();
    assertEquals(p.acquire(w1), undefined, "queued");
    assertEquals(p.acquire(w2), undefined, "queued");
    assertEquals(p.pending, 2);
    assertEquals(books.pending, 2);

    const w3 = new Waiter();
    const over = p.acquire(w3);
    assert(over instanceof ProxyError, "overflow is returned synchronously");
    assertEquals(over.kind, "overflow");
    assertEquals(p.pending, 2);

    p.release(a);
    assertEquals(await w1.connection(), a, "the first in the queue gets the released connection");
    assertEquals(books.pending, 1);
    assertEquals(await get(a), "c1");
    p.release(a);
    assertEquals(await w2.connection(), a);
    assertEquals(books.pending, 0);
    assertEquals(w3.ready.length + w3.failures.length, 0, "the overflowed waiter is never called");
    assertEquals(origin.state.accepted, 1);
    p.release(a);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.cancel() frees a pending slot at once: the next request queues instead of overflowing", async () => {
  const origin = startOrigin();
  const { p, books } = pool(origin.port, { maxConnections: 1, maxPending: 1 });
  try {
    const a = await acquire(p);
    const gaveUp = new Waiter();
    assertEquals(p.acquire(gaveUp), undefined);
    assert(p.acquire(new Waiter()) instanceof ProxyError, "the queue is full");

    p.cancel(gaveUp); // e.g. its client went away
    assertEquals(p.pending, 0);
    assertEquals(books.pending, 0, "the pending slot is given back at once");
    p.cancel(gaveUp); // twice, or an unknown waiter: nothing changes
    p.cancel(new Waiter());
    assertEquals(books.pending, 0);

    const next = new Waiter();
    assertEquals(p.acquire(next), undefined, "queued, not a 503");
    p.release(a);
    assertEquals(await next.connection(), a);
    assertEquals(await get(a), "c1");
    assertEquals(gaveUp.ready.length + gaveUp.failures.length, 0, "a cancelled waiter is never called");
    p.release(a);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.cancel() during a waiter's own connect hands the new connection to the next waiter", async () => {
  const origin = startOrigin();
  const { p } = pool(origin.port, { maxConnections: 1, maxPending: 1 });
  try {
    const dialing = new Waiter();
    assertEquals(p.acquire(dialing), undefined, "dials");
    const queued = new Waiter();
    assertEquals(p.acquire(queued), undefined, "the connection being dialed counts: queued");
    p.cancel(dialing);
    const conn = await queued.connection();
    assertEquals(await get(conn), "c1", "the connection the cancelled waiter dialed");
    assertEquals(origin.state.accepted, 1);
    assertEquals(dialing.ready.length + dialing.failures.length, 0);
    p.release(conn);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.cancel() during a waiter's own connect, with nobody waiting, keeps the connection idle", async () => {
  const origin = startOrigin();
  const idleTimeoutMs = 50;
  const { p, books, events } = pool(origin.port, { idleTimeoutMs });
  try {
    const started = performance.now();
    const dialing = new Waiter();
    assertEquals(p.acquire(dialing), undefined);
    p.cancel(dialing);
    // Only an idle connection is closed by the idle timer, and only after the timeout: a connection
    // dropped at once would close sooner, a forgotten one never.
    await origin.events.until(() => origin.state.closedByClient === 1, "the idle connection closed");
    assert(performance.now() - started >= idleTimeoutMs, "closed by the idle timer, not at once");
    assertEquals(origin.state.accepted, 1);
    assertEquals(dialing.ready.length + dialing.failures.length, 0);
    await events.until(() => books.closed === 1, "the pool to forget it");
    assertEquals(p.connections, 0);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool closes a connection idle for idle_timeout, not one in use or reused", async () => {
  const origin = startOrigin();
  const idleTimeoutMs = 50;
  const { p, books } = pool(origin.port, { idleTimeoutMs });
  try {
    const started = performance.now();
    const a = await acquire(p);
    const b = await acquire(p);
    const busy = await acquire(p);
    // b goes idle and is reused before its timer fires; a's timer starts after b's, so by the time a
    // closes, b's timer (had it been left running) would have fired too.
    p.release(b);
    assertEquals(p.acquire(new Waiter()), b);
    p.release(a);
    await closed(a);
    assert(performance.now() - started >= idleTimeoutMs);
    assert(!b.io.closed, "a reused connection's idle timer was cancelled");
    assert(!busy.io.closed, "a connection in use has no idle timer");
    assertEquals(await get(b), "c2");
    assertEquals(books.closed, 1);
    assertEquals(p.connections, 2);
    p.release(b);
    p.release(busy);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.release() closes a connection that served max_request_per_conn requests", async () => {
  const origin = startOrigin();
  const { p } = pool(origin.port, { maxRequestsPerConnection: 2 });
  try {
    const a = await acquire(p);
    assertEquals(await get(a), "c1");
    p.release(a);
    assertEquals(await acquire(p), a, "reused for its second request");
    assertEquals(await get(a), "c1");
    p.release(a);
    assert(a.io.closed, "closed after its second request");
    const b = await acquire(p);
    assert(b !== a);
    assertEquals(await get(b), "c2");
    await origin.events.until(() => origin.state.closedByClient === 1, "the origin to see the close");
    p.release(b);
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.drain() closes idle connections now and busy ones when released", async () => {
  const origin = startOrigin();
  const { p } = pool(origin.port);
  try {
    const idle = await acquire(p);
    const busy = await acquire(p);
    p.release(idle);
    p.drain();
    assert(idle.io.closed, "idle: closed at once");
    assert(!busy.io.closed, "busy: left to finish");
    assertEquals(await get(busy), "c2");
    p.release(busy);
    assert(busy.io.closed, "closed instead of going idle");
    await origin.events.until(() => origin.state.closedByClient === 2, "both closes at the origin");
  } finally {
    p.close();
    await origin.stop();
  }
});

Deno.test("ExclusivePool.close() closes every connection and fails queued and dialing waiters", async () => {
  const origin = startOrigin();
  const { p, books } = pool(origin.port, { maxConnections: 2, maxPending: 5 });
  try {
    const busy = await acquire(p);
    const dialing = new Waiter();
    assertEquals(p.acquire(dialing), undefined);
    const queued = new Waiter();
    assertEquals(p.acquire(queued), undefined);
    assertEquals(books.pending, 1);
    p.close();
    assert(busy.io.closed);
    assertEquals(queued.failures.length, 1);
    assertEquals(queued.failures[0]!.kind, "upstream_reset");
    assertEquals(dialing.failures.length, 1, "a waiter whose connect is in flight hears too");
    assertEquals(books.pending, 0);
    await origin.events.until(
      () => origin.state.accepted === 2 && origin.state.closedByClient === 2,
      "the busy and the late-dialed connection closed",
    );
    assertEquals(queued.ready.length + dialing.ready.length, 0);
  } finally {
    p.close();
    await origin.stop();
  }
});
