import { ProxyError } from "../../core/mod.ts";
import { dialPooled } from "./dial.ts";
import type { ConnectionPool, PoolOptions, PoolWaiter, UpstreamConnection } from "./types.ts";

/**
 * One-request-at-a-time pool (HTTP/1.1): keep-alive reuse (most recently used first, so idle ones expire),
 * bounded connections, a pending queue that overflows with 503, idle expiry, and a connection dropped on
 * any protocol error or upstream close.
 *
 * A waiter either waits for a connect it started (one dial per waiter while the connection limit allows)
 * or sits in the pending queue until a busy connection frees up. A waiter that gives up is removed at
 * once, so requests that timed out or whose client left never hold `max_pending_requests` slots.
 */
export class ExclusivePool implements ConnectionPool {
  #o: PoolOptions;
  #idle: UpstreamConnection[] = [];
  #all = new Set<UpstreamConnection>();
  #connecting = 0;
  /** Waiting for a busy connection to come back (counted in the cluster's pending gauge). */
  #queue: PoolWaiter[] = [];
  /** Waiting for the connect they started. */
  #dialWaiters = new Set<PoolWaiter>();
  #draining = false;

  constructor(options: PoolOptions) {
    this.#o = options;
  }

  get connections(): number {
    return this.#all.size + this.#connecting;
  }

  /** Requests waiting for a busy connection (not those waiting for their own connect). */
  get pending(): number {
    return this.#queue.length;
  }

  acquire(waiter: PoolWaiter): UpstreamConnection | ProxyError | undefined {
    while (this.#idle.length > 0) {
      const c = this.#idle.pop()!;
      if (c.unusable || c.io.closed) continue;
      clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
      c.requests++;
      return c;
    }
    const hooks = this.#o.hooks;
    if (hooks.canOpenConnection(this.connections)) {
      this.#dialWaiters.add(waiter);
      this.#connect().then((c) => this.#dialed(waiter, c), (e) => this.#dialFailed(waiter, e));
      return undefined;
    }
    if (!hooks.canQueue()) return new ProxyError("overflow", "upstream", "upstream pending queue overflow");
    hooks.onPendingChange(1);
    this.#queue.push(waiter);
    return undefined;
  }

  cancel(waiter: PoolWaiter): void {
    if (this.#dialWaiters.delete(waiter)) return;
    const i = this.#queue.indexOf(waiter);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    this.#o.hooks.onPendingChange(-1);
  }

  #dialed(waiter: PoolWaiter, conn: UpstreamConnection): void {
    if (this.#dialWaiters.delete(waiter)) {
      conn.requests = 1;
      waiter.onPoolReady(conn);
      return;
    }
    // Its waiter gave up meanwhile: the fresh connection serves the queue or goes idle.
    conn.requests = 0;
    this.release(conn);
  }

  #dialFailed(waiter: PoolWaiter, e: unknown): void {
    if (!this.#dialWaiters.delete(waiter)) return;
    waiter.onPoolFailure(
      e instanceof ProxyError ? e : new ProxyError("connect_failure", "upstream", String(e), { cause: e }),
    );
  }

  async #connect(): Promise<UpstreamConnection> {
    const o = this.#o;
    this.#connecting++;
    let conn: UpstreamConnection;
    try {
      conn = await dialPooled(o, o.codecOptions, (c) => this.#forget(c), o.hooks.onBytesRead);
    } catch (e) {
      this.#connecting--;
      throw e;
    }
    this.#connecting--;
    this.#all.add(conn);
    conn.closed.then(() => {
      if (this.#all.delete(conn)) o.hooks.onConnectionClosed();
      this.#serveQueueWithNewConnection();
    });
    return conn;
  }

  release(conn: UpstreamConnection): void {
    const max = this.#o.maxRequestsPerConnection;
    if (
      conn.unusable || conn.io.closed || !conn.codec.reusable || this.#draining ||
      (max > 0 && conn.requests >= max)
    ) {
      conn.io.close(); // its read loop ends, `closed` settles, and a waiter may get a new connection
      return;
    }
    const w = this.#queue.shift();
    if (w !== undefined) {
      this.#o.hooks.onPendingChange(-1);
      conn.requests++;
      // Not synchronously: the stream that released it is still unwinding inside the codec.
      queueMicrotask(() => this.#handOver(w, conn));
      return;
    }
    this.#idle.push(conn);
    const idleMs = this.#o.idleTimeoutMs;
    if (idleMs !== undefined && idleMs > 0) {
      conn.idleTimer = setTimeout(() => {
        conn.idleTimer = undefined;
        const i = this.#idle.indexOf(conn);
        if (i >= 0) this.#idle.splice(i, 1);
        conn.io.close();
      }, idleMs);
    }
  }

  #handOver(w: PoolWaiter, conn: UpstreamConnection): void {
    if (conn.unusable || conn.io.closed || !conn.codec.reusable) {
      // It died in between: the waiter keeps its place (first) for the next connection.
      conn.requests--;
      this.#o.hooks.onPendingChange(1);
      this.#queue.unshift(w);
      conn.io.close();
      return;
    }
    w.onPoolReady(conn);
  }

  #forget(conn: UpstreamConnection): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    conn.io.close();
  }

  /** A connection went away while requests wait: open a new one for the first waiter if allowed. */
  #serveQueueWithNewConnection(): void {
    if (this.#queue.length === 0 || this.#draining || !this.#o.hooks.canOpenConnection(this.connections)) {
      return;
    }
    const w = this.#queue.shift()!;
    this.#o.hooks.onPendingChange(-1);
    this.#dialWaiters.add(w);
    this.#connect().then((c) => this.#dialed(w, c), (e) => this.#dialFailed(w, e));
  }

  drain(): void {
    this.#draining = true;
    for (const c of this.#idle) {
      clearTimeout(c.idleTimer);
      c.io.close();
    }
    this.#idle = [];
  }

  close(): void {
    this.drain();
    for (const c of this.#all) c.io.close();
    const err = new ProxyError("upstream_reset", "upstream", "connection pool closed");
    for (const w of this.#queue.splice(0)) {
      this.#o.hooks.onPendingChange(-1);
      w.onPoolFailure(err);
    }
    const dialing = [...this.#dialWaiters];
    this.#dialWaiters.clear();
    for (const w of dialing) w.onPoolFailure(err);
  }
}
