import { ProxyError } from "../../core/mod.ts";
import { dialPooled, type UpstreamConnection } from "./dial.ts";
import type { ConnectionPool, PoolOptions } from "./types.ts";

interface Waiter {
  resolve(c: UpstreamConnection): void;
  reject(e: ProxyError): void;
}

/**
 * One-request-at-a-time pool (HTTP/1.1): keep-alive reuse (most recently used first, so idle ones expire),
 * bounded connections, a pending queue that overflows with 503, idle expiry, and a connection dropped on
 * any protocol error or upstream close.
 */
export class ExclusivePool implements ConnectionPool {
  #o: PoolOptions;
  #idle: UpstreamConnection[] = [];
  #all = new Set<UpstreamConnection>();
  #connecting = 0;
  #waiters: Waiter[] = [];
  #draining = false;

  constructor(options: PoolOptions) {
    this.#o = options;
  }

  get connections(): number {
    return this.#all.size + this.#connecting;
  }

  acquire(): UpstreamConnection | Promise<UpstreamConnection> {
    while (this.#idle.length > 0) {
      const c = this.#idle.pop()!;
      if (c.unusable || c.io.closed) continue;
      clearTimeout(c.idleTimer);
      c.idleTimer = undefined;
      c.requests++;
      return c;
    }
    const hooks = this.#o.hooks;
    if (hooks.canOpenConnection()) return this.#connect();
    if (!hooks.canQueue()) {
      return Promise.reject(new ProxyError("overflow", "upstream", "upstream pending queue overflow"));
    }
    hooks.onPendingChange(1);
    return new Promise<UpstreamConnection>((resolve, reject) => this.#waiters.push({ resolve, reject }));
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
      this.#serveWaiterWithNewConnection();
    });
    conn.requests = 1;
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
    const w = this.#waiters.shift();
    if (w !== undefined) {
      this.#o.hooks.onPendingChange(-1);
      conn.requests++;
      w.resolve(conn);
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

  #forget(conn: UpstreamConnection): void {
    clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    conn.io.close();
  }

  /** A connection went away while requests wait: open a new one for the first waiter if allowed. */
  #serveWaiterWithNewConnection(): void {
    if (this.#waiters.length === 0 || this.#draining || !this.#o.hooks.canOpenConnection()) return;
    const w = this.#waiters.shift()!;
    this.#o.hooks.onPendingChange(-1);
    this.#connect().then(w.resolve, w.reject);
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
    for (const w of this.#waiters.splice(0)) {
      this.#o.hooks.onPendingChange(-1);
      w.reject(new ProxyError("upstream_reset", "upstream", "connection pool closed"));
    }
  }
}
