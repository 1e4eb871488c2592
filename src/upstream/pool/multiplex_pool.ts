import { type Clock, ProxyError, systemClock, type TimerId } from "../../core/mod.ts";
import type { CodecOptions, ResponseHead, ResponseReceiver } from "../../codec/mod.ts";
import { dialPooled } from "./dial.ts";
import type { ConnectionPool, PoolOptions, PoolWaiter, UpstreamConnection } from "./types.ts";

/** MOSN's xprotocol keepalive: cluster `keepalive{interval, timeout, max_failures}`. */
export interface KeepaliveOptions {
  /** A connection that read nothing for this long gets a heartbeat (MOSN default 15 s). */
  readonly intervalMs: number;
  /** How long a heartbeat waits for its answer (default 3 s). */
  readonly timeoutMs: number;
  /** Consecutive failed heartbeats that close the connection (default 6). */
  readonly maxFailures: number;
}

export interface MultiplexPoolOptions extends PoolOptions {
  /** Connections kept per host (MOSN default 1). Streams go to the least loaded one. */
  connectionsPerHost: number;
  /** Heartbeats on read-idle connections, for codecs that have them (bolt); off when undefined. */
  keepalive?: KeepaliveOptions;
  /** Time for keepalive, handed to the codec too (its heartbeat timeout). @default {systemClock} */
  clock?: Clock;
}

/** Keepalive bookkeeping for one connection. */
interface KeepaliveState {
  /** The clock's time of the last bytes read (any frame, heartbeat answers included). */
  lastRead: number;
  /** Consecutive failed heartbeats. */
  failures: number;
  /** A heartbeat is waiting for its answer. */
  pending: boolean;
  timer: TimerId | undefined;
}

/**
 * Pool for multiplexed protocols (bolt, dubbo, HTTP/2): a few long-lived connections per host, each
 * carrying many concurrent streams, up to what the codec says it can take (`streamCapacity`: the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS for HTTP/2, unbounded for bolt).
 *
 * A request takes the least loaded connection with room. When none has room — the first connection is
 * still being dialled, or every connection is at its stream limit — it waits in the pending queue (the
 * cluster's max_pending_requests) while another connection is dialled within max_connections; waiters are
 * served as dials complete, streams finish or a peer raises its limit. Requests arriving during a dial
 * share it instead of opening one connection each.
 */
export class MultiplexPool implements ConnectionPool {
  #o: MultiplexPoolOptions;
  #live: UpstreamConnection[] = [];
  /** Requests waiting for a stream (counted in the cluster's pending gauge). */
  #queue: PoolWaiter[] = [];
  #dialing = 0;
  #serveScheduled = false;
  #closed = false;
  readonly #codecOptions: CodecOptions;
  readonly #clock: Clock;
  readonly #keepalive = new Map<UpstreamConnection, KeepaliveState>();
  /** Heartbeats sent / answered / failed, and connections closed by keepalive, over the pool's life. */
  readonly keepaliveStats = { sent: 0, succeeded: 0, failed: 0, closed: 0 };

  constructor(options: MultiplexPoolOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    const ka = options.keepalive;
    // The codec times heartbeats out too (bolt's heartbeat_timeout_ms): make it agree with ours.
    let codecOptions = ka === undefined ? options.codecOptions : {
      ...options.codecOptions,
      extend: { ...options.codecOptions.extend, heartbeat_timeout_ms: ka.timeoutMs },
    };
    if (options.clock !== undefined) codecOptions = { ...codecOptions, clock: options.clock };
    this.#codecOptions = codecOptions;
  }

  get connections(): number {
    return this.#live.length + this.#dialing;
  }

  /** Requests waiting for a stream. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Live connections, for keepalive heartbeats. */
  get live(): readonly UpstreamConnection[] {
    return this.#live;
  }

  acquire(waiter: PoolWaiter): UpstreamConnection | ProxyError | undefined {
    if (this.#closed) return new ProxyError("upstream_reset", "upstream", "connection pool closed");
    const best = this.#pick();
    const hooks = this.#o.hooks;
    if (best !== undefined) {
      // Spread over connectionsPerHost connections (MOSN's default is one): a busy connection lends a
      // stream only when no other connection may be opened for this request.
      const wantMore = this.#live.length + this.#dialing < this.#o.connectionsPerHost;
      if (
        !wantMore || best.codec.activeStreams === 0 || this.#dialing > 0 ||
        !hooks.canOpenConnection(this.connections)
      ) {
        best.requests++;
        return best;
      }
    } else if (this.#dialing === 0 && !hooks.canOpenConnection(this.connections) && !this.#anyUsable()) {
      // No connection at all and none may be opened: nothing would ever serve it.
      return new ProxyError("overflow", "upstream", "upstream connection limit reached");
    }
    if (!hooks.canQueue()) return new ProxyError("overflow", "upstream", "upstream pending queue overflow");
    this.#queue.push(waiter);
    hooks.onPendingChange(1);
    this.#maybeDial();
    return undefined;
  }

  cancel(waiter: PoolWaiter): void {
    const i = this.#queue.indexOf(waiter);
    if (i < 0) return;
    this.#queue.splice(i, 1);
    this.#o.hooks.onPendingChange(-1);
  }

  /**
   * The least loaded usable connection that can open a stream now. One whose peer has not said its stream
   * limit yet (HTTP/2 before the server's SETTINGS) carries one stream meanwhile: more might be refused.
   */
  #pick(): UpstreamConnection | undefined {
    let best: UpstreamConnection | undefined;
    for (let i = 0; i < this.#live.length; i++) {
      const c = this.#live[i]!;
      if (c.unusable || c.io.closed || c.codec.streamCapacity <= 0) continue;
      if (c.codec.capacityKnown === false && c.codec.activeStreams > 0) continue;
      if (best === undefined || c.codec.activeStreams < best.codec.activeStreams) best = c;
    }
    return best;
  }

  /** A usable connection has not heard its peer's stream limit yet: the waiters may fit on it. */
  #learningCapacity(): boolean {
    return this.#live.some((c) => !c.unusable && !c.io.closed && c.codec.capacityKnown === false);
  }

  #anyUsable(): boolean {
    return this.#live.some((c) => !c.unusable && !c.io.closed);
  }

  /** Dials another connection when waiters cannot be served by the live ones and none is on its way. */
  #maybeDial(): void {
    if (this.#queue.length === 0 || this.#closed || this.#dialing > 0) return;
    const wantMore = this.#live.length < this.#o.connectionsPerHost;
    if (!wantMore && (this.#pick() !== undefined || this.#learningCapacity())) return;
    if (!this.#o.hooks.canOpenConnection(this.connections)) {
      // Only a stream finishing can serve them now; with no usable connection at all, fail them.
      if (!this.#anyUsable()) {
        this.#failQueue(new ProxyError("overflow", "upstream", "upstream connection limit reached"));
      }
      return;
    }
    this.#dialing++;
    this.#dial().then(() => {
      this.#dialing--;
      this.#serve();
    }, (e) => {
      this.#dialing--;
      const err = e instanceof ProxyError
        ? e
        : new ProxyError("connect_failure", "upstream", String(e), { cause: e, retryable: true });
      // Waiters a live connection can still serve keep waiting; with none left they fail now.
      if (this.#pick() === undefined) this.#failQueue(err);
      else this.#serve();
    });
  }

  /**
   * Hands waiting requests to connections with room, in arrival order. Synchronous, so each stream a
   * waiter opens counts before the next pick; it runs only where no codec is mid-callback (after a dial,
   * or scheduled by #scheduleServe).
   */
  #serve(): void {
    const q = this.#queue;
    while (q.length > 0) {
      const c = this.#pick();
      if (c === undefined) break;
      const w = q.shift()!;
      this.#o.hooks.onPendingChange(-1);
      c.requests++;
      w.onPoolReady(c);
    }
    this.#maybeDial();
  }

  #scheduleServe(): void {
    if (this.#serveScheduled || this.#queue.length === 0) return;
    this.#serveScheduled = true;
    queueMicrotask(() => {
      this.#serveScheduled = false;
      this.#serve();
    });
  }

  #failQueue(err: ProxyError): void {
    const waiters = this.#queue.splice(0);
    if (waiters.length > 0) this.#o.hooks.onPendingChange(-waiters.length);
    for (const w of waiters) w.onPoolFailure(err);
  }

  async #dial(): Promise<UpstreamConnection> {
    const o = this.#o;
    const clock = this.#clock;
    const ka: KeepaliveState | undefined = o.keepalive === undefined || o.keepalive.intervalMs <= 0
      ? undefined
      : { lastRead: clock.now(), failures: 0, pending: false, timer: undefined };
    const onBytesRead = ka === undefined ? o.hooks.onBytesRead : (n: number) => {
      ka.lastRead = clock.now();
      o.hooks.onBytesRead(n);
    };
    const conn = await dialPooled(
      o,
      this.#codecOptions,
      (c) => this.#remove(c),
      onBytesRead,
      () => this.#scheduleServe(),
    );
    if (this.#closed) {
      conn.io.close();
      throw new ProxyError("upstream_reset", "upstream", "connection pool closed");
    }
    this.#live.push(conn);
    if (ka !== undefined && conn.codec.heartbeat !== undefined) this.#startKeepalive(conn, ka);
    conn.closed.then(() => {
      this.#stopKeepalive(conn);
      this.#remove(conn);
      o.hooks.onConnectionClosed();
    });
    return conn;
  }

  // === keepalive (MOSN pkg/stream/xprotocol/keepalive.go) ===

  #startKeepalive(conn: UpstreamConnection, ka: KeepaliveState): void {
    this.#keepalive.set(conn, ka);
    this.#armKeepalive(conn, ka, this.#o.keepalive!.intervalMs);
  }

  #stopKeepalive(conn: UpstreamConnection): void {
    const ka = this.#keepalive.get(conn);
    if (ka === undefined) return;
    this.#clock.clearTimeout(ka.timer);
    ka.timer = undefined;
    this.#keepalive.delete(conn);
  }

  #armKeepalive(conn: UpstreamConnection, ka: KeepaliveState, delayMs: number): void {
    this.#clock.clearTimeout(ka.timer);
    ka.timer = this.#clock.setTimeout(() => this.#onKeepaliveTick(conn, ka), Math.max(1, delayMs));
  }

  /**
   * The read-idle check: one timer per connection, never reset on reads (that would cost a timer per
   * read); when it fires early it re-arms for the rest of the interval since the last read.
   */
  #onKeepaliveTick(conn: UpstreamConnection, ka: KeepaliveState): void {
    ka.timer = undefined;
    if (!this.#keepalive.has(conn) || conn.io.closed) return;
    const interval = this.#o.keepalive!.intervalMs;
    const idleFor = this.#clock.now() - ka.lastRead;
    if (idleFor < interval) return this.#armKeepalive(conn, ka, interval - idleFor);
    if (!ka.pending) this.#sendHeartbeat(conn, ka);
    this.#armKeepalive(conn, ka, interval);
  }

  #sendHeartbeat(conn: UpstreamConnection, ka: KeepaliveState): void {
    const { timeoutMs, maxFailures } = this.#o.keepalive!;
    let settled = false;
    // Assigned once the heartbeat is out; settle() may run before that (a codec failing synchronously).
    // deno-lint-ignore prefer-const
    let guard: TimerId | undefined;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      this.#clock.clearTimeout(guard);
      ka.pending = false;
      if (ok) {
        ka.failures = 0;
        this.keepaliveStats.succeeded++;
        return;
      }
      ka.failures++;
      this.keepaliveStats.failed++;
      if (ka.failures >= maxFailures && this.#keepalive.has(conn)) this.#closeDead(conn);
    };
    const receiver: ResponseReceiver = {
      onResponse: (head: ResponseHead) => settle(head.status === 200),
      onData: () => {},
      onTrailers: () => {},
      onReset: () => settle(false),
    };
    const stream = conn.codec.heartbeat!(receiver);
    if (stream === undefined) return;
    ka.pending = true;
    this.keepaliveStats.sent++;
    // Our own deadline, whatever the codec does with its own: forget the id and count a failure.
    guard = this.#clock.setTimeout(() => {
      if (settled) return;
      stream.reset(new ProxyError("timeout", "upstream", "keepalive heartbeat timed out"));
      settle(false);
    }, timeoutMs);
  }

  /** `max_failures` heartbeats in a row failed: the peer is gone; close (in-flight streams are reset). */
  #closeDead(conn: UpstreamConnection): void {
    this.keepaliveStats.closed++;
    this.#stopKeepalive(conn);
    conn.unusable = true;
    const i = this.#live.indexOf(conn);
    if (i >= 0) this.#live.splice(i, 1);
    conn.io.close();
  }

  #remove(conn: UpstreamConnection): void {
    const i = this.#live.indexOf(conn);
    if (i >= 0) this.#live.splice(i, 1);
    // Streams still in flight finish (or are reset by the codec); the socket closes when they do.
    if (conn.codec.activeStreams === 0) conn.io.close();
    this.#scheduleServe(); // waiters may need a new connection now
  }

  release(conn: UpstreamConnection): void {
    const max = this.#o.maxRequestsPerConnection;
    if (max > 0 && conn.requests >= max && !conn.unusable) {
      conn.unusable = true; // no new streams; close once the last one finishes
      this.#remove(conn);
    } else if ((conn.unusable || !conn.codec.reusable) && conn.codec.activeStreams === 0) {
      conn.io.close();
    }
    this.#scheduleServe(); // a stream slot is free again
  }

  drain(): void {
    this.#closed = true;
    this.#failQueue(
      new ProxyError("upstream_reset", "upstream", "connection pool draining", { retryable: true }),
    );
    for (const c of [...this.#keepalive.keys()]) this.#stopKeepalive(c);
    for (const c of this.#live.splice(0)) {
      c.unusable = true;
      if (c.codec.activeStreams === 0) c.io.close();
    }
  }

  close(): void {
    this.#closed = true;
    this.#failQueue(
      new ProxyError("upstream_reset", "upstream", "connection pool closed", { retryable: true }),
    );
    for (const c of [...this.#keepalive.keys()]) this.#stopKeepalive(c);
    for (const c of this.#live.splice(0)) c.io.close();
  }
}
