/**
 * MultiplexPool against a codec whose connections take a limited number of streams (as HTTP/2's
 * SETTINGS_MAX_CONCURRENT_STREAMS does): requests past every connection's limit wait as pending while
 * another connection is dialled within max_connections, and are served as streams finish.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { startLoopbackServer } from "../../../tests/_peers/loopback_server.ts";
import { ProxyError } from "../../core/mod.ts";
import {
  type ClientConnection,
  type ClientConnectionHandler,
  type ClientStream,
  defaultCodecOptions,
  type ProtocolCodec,
  type ResponseReceiver,
} from "../../codec/mod.ts";
import { MultiplexPool } from "./multiplex_pool.ts";
import type { PoolHooks, PoolWaiter, UpstreamConnection } from "./types.ts";

/** A client connection that takes `limit` streams at once; tests end streams and raise the limit. */
class LimitedConnection implements ClientConnection {
  active = 0;
  limit: number;
  /** False until the test says the peer announced its limit (HTTP/2 before SETTINGS). */
  capacityKnown = true;
  readonly #handler: ClientConnectionHandler;
  constructor(limit: number, handler: ClientConnectionHandler) {
    this.limit = limit;
    this.#handler = handler;
  }
  feed(): void {}
  onEof(): void {}
  get activeStreams(): number {
    return this.active;
  }
  get reusable(): boolean {
    return true;
  }
  get streamCapacity(): number {
    // Before the limit is known a codec offers the optimistic default, as HTTP/2's does.
    return Math.max(0, (this.capacityKnown ? this.limit : 100) - this.active);
  }
  newStream(_r: ResponseReceiver): ClientStream {
    if (this.streamCapacity === 0) {
      throw new ProxyError("overflow", "upstream", "no stream capacity", { retryable: true });
    }
    this.active++;
    return {
      id: this.active,
      sendRequest: () => Promise.resolve(),
      sendData: () => Promise.resolve(),
      sendTrailers: () => Promise.resolve(),
      reset: () => void this.active--,
    };
  }
  raise(limit: number): void {
    this.limit = limit;
    this.capacityKnown = true;
    this.#handler.onCapacity?.();
  }
}

function limitedCodec(limit: number, made: LimitedConnection[], known: boolean): ProtocolCodec {
  return {
    name: "limited",
    multiplexed: true,
    match: () => "fail",
    newServerConnection: () => {
      throw new Error("client side only");
    },
    newClientConnection: (_io, handler) => {
      const c = new LimitedConnection(limit, handler);
      c.capacityKnown = known;
      made.push(c);
      return c;
    },
  };
}

/** Every request of the test: opens its stream when the pool hands it a connection. */
class Request implements PoolWaiter {
  conn: UpstreamConnection | undefined;
  stream: ClientStream | undefined;
  failed: ProxyError | undefined;
  readonly #ready: () => void;
  constructor(ready: () => void) {
    this.#ready = ready;
  }
  onPoolReady(conn: UpstreamConnection): void {
    this.conn = conn;
    this.stream = conn.codec.newStream({
      onResponse: () => {},
      onData: () => {},
      onTrailers: () => {},
      onReset: () => {},
    });
    this.#ready();
  }
  onPoolFailure(err: ProxyError): void {
    this.failed = err;
    this.#ready();
  }
}

function setup(limit: number, maxConnections: number, maxPending = 100, port?: number, known = true) {
  const made: LimitedConnection[] = [];
  let connections = 0;
  let pending = 0;
  const hooks: PoolHooks = {
    canOpenConnection: () => connections < maxConnections,
    canQueue: () => pending < maxPending,
    onConnectionOpened: () => void connections++,
    onConnectionClosed: () => void connections--,
    onConnectFailure: () => {},
    onPendingChange: (d) => void (pending += d),
    onBytesRead: () => {},
    onWriteOverflow: () => {},
  };
  const server = startLoopbackServer((conn) =>
    new Promise<void>((r) => conn.read(new Uint8Array(1)).then(() => r(), () => r()))
  );
  const pool = new MultiplexPool({
    hostname: "127.0.0.1",
    port: port ?? server.port,
    codec: limitedCodec(limit, made, known),
    codecOptions: defaultCodecOptions,
    connectTimeoutMs: 1000,
    idleTimeoutMs: undefined,
    maxRequestsPerConnection: 0,
    bufferLimitBytes: 1 << 20,
    hooks,
    connectionsPerHost: 1,
  });
  let wake: () => void = () => {};
  const requests: Request[] = [];
  const open = (): Request | ProxyError => {
    const r = new Request(() => wake());
    const got = pool.acquire(r);
    if (got instanceof ProxyError) return got;
    if (got !== undefined) r.onPoolReady(got);
    requests.push(r);
    return r;
  };
  /** Resolves once `cond` holds, re-checked whenever a request is served or failed. */
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const bound = setTimeout(() => reject(new Error("gave up waiting")), 5000);
      const check = () => {
        if (!cond()) return;
        clearTimeout(bound);
        wake = () => {};
        resolve();
      };
      wake = check;
      check();
    });
  /** Ends one stream of `r` as the proxy would: reset the codec stream, give the connection back. */
  const finish = (r: Request) => {
    r.stream!.reset(new ProxyError("upstream_reset", "internal", "done"));
    pool.release(r.conn!);
  };
  return {
    pool,
    made,
    requests,
    open,
    until,
    finish,
    get pending() {
      return pending;
    },
    get connections() {
      return connections;
    },
    async stop() {
      pool.close();
      await server.stop();
    },
  };
}

Deno.test("MultiplexPool queues requests past a connection's stream limit and dials another within max_connections", async () => {
  const t = setup(2, 2);
  try {
    for (let i = 0; i < 5; i++) t.open();
    await t.until(() => t.requests.filter((r) => r.conn !== undefined).length === 4);
    assertEquals(t.made.length, 2, "a second connection once the first was full");
    assertEquals(t.made.map((c) => c.active), [2, 2]);
    assertEquals(t.pending, 1, "the fifth waits: both connections are full and no third may open");
    // A stream finishing frees a slot for it.
    t.finish(t.requests[0]!);
    await t.until(() => t.requests[4]!.conn !== undefined);
    assertEquals(t.pending, 0);
    assertEquals(t.connections, 2);
  } finally {
    await t.stop();
  }
});

Deno.test("MultiplexPool serves waiters when the peer raises its stream limit", async () => {
  const t = setup(1, 1);
  try {
    t.open();
    await t.until(() => t.requests[0]!.conn !== undefined);
    t.open();
    t.open();
    assertEquals(t.pending, 2);
    t.made[0]!.raise(3); // SETTINGS_MAX_CONCURRENT_STREAMS went up
    await t.until(() => t.pending === 0);
    assertEquals(t.made[0]!.active, 3);
    assertEquals(t.made.length, 1);
  } finally {
    await t.stop();
  }
});

Deno.test("MultiplexPool.cancel() takes a waiter out of the pending queue", async () => {
  const t = setup(1, 1);
  try {
    t.open();
    await t.until(() => t.requests[0]!.conn !== undefined);
    const waiting = t.open() as Request;
    assertEquals(t.pending, 1);
    t.pool.cancel(waiting);
    assertEquals(t.pending, 0);
    t.finish(t.requests[0]!);
    await new Promise((r) => queueMicrotask(() => r(undefined)));
    assertEquals(waiting.conn, undefined, "a cancelled waiter is never handed a connection");
  } finally {
    await t.stop();
  }
});

Deno.test("MultiplexPool overflows at max_pending_requests and fails waiters when the only dial fails", async () => {
  const full = setup(1, 1, 1);
  try {
    full.open();
    await full.until(() => full.requests[0]!.conn !== undefined);
    full.open();
    const over = full.open();
    assert(over instanceof ProxyError && over.kind === "overflow", "past max_pending_requests");
  } finally {
    await full.stop();
  }
  const dead = setup(1, 1, 10, 2); // nothing listens on port 2: the dial is refused
  try {
    dead.open();
    dead.open();
    await dead.until(() => dead.requests.every((r) => r.failed !== undefined));
    assertEquals(dead.requests.map((r) => r.failed!.kind), ["connect_failure", "connect_failure"]);
    assertEquals(dead.requests.map((r) => r.failed!.retryable), [true, true]);
    assertEquals(dead.pending, 0);
  } finally {
    await dead.stop();
  }
});

Deno.test("MultiplexPool waits for a new connection's stream limit instead of dialling one per waiter", async () => {
  // HTTP/2 opens one stream before the server's SETTINGS say how many it takes.
  const t = setup(1, 10, 100, undefined, false);
  try {
    for (let i = 0; i < 6; i++) t.open();
    await t.until(() => t.requests[0]!.conn !== undefined);
    // Live plus dialling: a dial for the waiters would already be counted.
    assertEquals(t.pool.connections, 1, "dialled more connections while the first one's limit was unknown");
    assertEquals(t.pending, 5);
    t.made[0]!.raise(100); // the SETTINGS arrive
    await t.until(() => t.pending === 0);
    assertEquals(t.made.length, 1);
    assertEquals(t.made[0]!.active, 6);
  } finally {
    await t.stop();
  }
});
