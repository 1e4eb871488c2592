import { ProxyError } from "../../core/mod.ts";
import { dialUpstream, type UpstreamConnection } from "./dial.ts";
import type { PoolOptions } from "./http1_pool.ts";
import type { ConnectionPool } from "./types.ts";

export interface MultiplexPoolOptions extends PoolOptions {
  /** Connections kept per host (MOSN default 1). Streams go to the least loaded one. */
  connectionsPerHost: number;
}

/**
 * Pool for multiplexed protocols (bolt, dubbo, HTTP/2): a few long-lived connections per host, each
 * carrying many concurrent streams. Requests arriving while the first connection is being dialled share
 * that one dial instead of opening one connection each.
 */
export class MultiplexPool implements ConnectionPool {
  #o: MultiplexPoolOptions;
  #live: UpstreamConnection[] = [];
  #dialing: Promise<UpstreamConnection> | undefined;
  #closed = false;

  constructor(options: MultiplexPoolOptions) {
    this.#o = options;
  }

  get connections(): number {
    return this.#live.length + (this.#dialing ? 1 : 0);
  }

  /** Live connections, for keepalive heartbeats. */
  get live(): readonly UpstreamConnection[] {
    return this.#live;
  }

  acquire(): UpstreamConnection | Promise<UpstreamConnection> {
    if (this.#closed) return Promise.reject(new ProxyError("upstream_reset", "upstream", "connection pool closed"));
    let best: UpstreamConnection | undefined;
    for (const c of this.#live) {
      if (c.unusable || c.io.closed || !c.codec.reusable) continue;
      if (best === undefined || c.codec.activeStreams < best.codec.activeStreams) best = c;
    }
    const wantMore = this.#live.length < this.#o.connectionsPerHost && this.#dialing === undefined;
    if (best !== undefined && (!wantMore || best.codec.activeStreams === 0)) {
      best.requests++;
      return best;
    }
    if (this.#dialing !== undefined) return this.#dialing.then((c) => (c.requests++, c));
    if (!this.#o.hooks.canOpenConnection()) {
      if (best !== undefined) {
        best.requests++;
        return best;
      }
      return Promise.reject(new ProxyError("overflow", "upstream", "upstream connection limit reached"));
    }
    this.#dialing = this.#dial().finally(() => this.#dialing = undefined);
    return this.#dialing.then((c) => (c.requests++, c));
  }

  async #dial(): Promise<UpstreamConnection> {
    const o = this.#o;
    o.hooks.onConnectionOpened();
    let conn: UpstreamConnection;
    try {
      conn = await dialUpstream({
        hostname: o.hostname,
        port: o.port,
        connectTimeoutMs: o.connectTimeoutMs,
        codec: o.codec,
        codecOptions: o.codecOptions,
        onUnusable: (c) => this.#remove(c),
        onBytesRead: o.hooks.onBytesRead,
      });
    } catch (e) {
      o.hooks.onConnectionClosed();
      const err = e instanceof ProxyError ? e : new ProxyError("connect_failure", "upstream", String(e), { cause: e });
      o.hooks.onConnectFailure(err);
      throw err;
    }
    if (this.#closed) {
      conn.io.close();
      throw new ProxyError("upstream_reset", "upstream", "connection pool closed");
    }
    this.#live.push(conn);
    conn.closed.then(() => {
      this.#remove(conn);
      o.hooks.onConnectionClosed();
    });
    return conn;
  }

  #remove(conn: UpstreamConnection): void {
    const i = this.#live.indexOf(conn);
    if (i >= 0) this.#live.splice(i, 1);
    // Streams still in flight finish (or are reset by the codec); the socket closes when they do.
    if (conn.codec.activeStreams === 0) conn.io.close();
  }

  release(conn: UpstreamConnection): void {
    const max = this.#o.maxRequestsPerConnection;
    if (max > 0 && conn.requests >= max && !conn.unusable) {
      conn.unusable = true; // no new streams; close once the last one finishes
      this.#remove(conn);
    } else if ((conn.unusable || !conn.codec.reusable) && conn.codec.activeStreams === 0) {
      conn.io.close();
    }
  }

  drain(): void {
    this.#closed = true;
    for (const c of this.#live.splice(0)) {
      c.unusable = true;
      if (c.codec.activeStreams === 0) c.io.close();
    }
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#live.splice(0)) c.io.close();
  }
}
