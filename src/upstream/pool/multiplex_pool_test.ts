/**
 * MultiplexPool keepalive against a real socket (a bolt peer on 127.0.0.1 that answers heartbeats or not),
 * with fake time: the test moves the clock, then waits for what that causes to show up on the socket.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { startLoopbackServer } from "../../../tests/_peers/loopback_server.ts";
import { defaultCodecOptions, getCodec } from "../../codec/mod.ts";
import { FakeClock } from "../../core/mod.ts";
import { type KeepaliveOptions, MultiplexPool } from "./multiplex_pool.ts";
import type { PoolHooks } from "./types.ts";
import type { UpstreamConnection } from "./types.ts";
import { ProxyError } from "../../core/mod.ts";
import { Events } from "../../../tests/_events.ts";

/** The pool's waiter callbacks as a promise. */
function acquire(p: MultiplexPool): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    const got = p.acquire({ onPoolReady: resolve, onPoolFailure: reject });
    if (got instanceof ProxyError) reject(got);
    else if (got !== undefined) resolve(got);
  });
}

/** A bolt v1 heartbeat response (20-byte response header, no body) for request `id`. */
function heartbeatAnswer(id: number): Uint8Array {
  const res = new Uint8Array(20);
  const rv = new DataView(res.buffer);
  res[0] = 1; // proto
  res[1] = 0; // response
  rv.setUint16(2, 0); // heartbeat
  res[4] = 1;
  rv.setUint32(5, id);
  res[9] = 1;
  rv.setUint16(10, 0); // SUCCESS
  return res;
}

/** A bolt v1 peer: decides per heartbeat (1-based count) whether to answer; every change notifies `events`. */
function startPeer(answer: (n: number) => boolean) {
  const state = { heartbeats: 0, answered: 0, accepted: 0, closedByClient: 0 };
  const events = new Events();
  let last: Deno.Conn | undefined;
  const server = startLoopbackServer(async (conn) => {
    last = conn;
    state.accepted++;
    events.notify();
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(chunk);
      if (n === null) {
        state.closedByClient++;
        events.notify();
        return;
      }
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      // Requests are 22-byte headers + lengths (heartbeats have none).
      while (buf.length >= 22) {
        const dv = new DataView(buf.buffer, buf.byteOffset);
        const len = 22 + dv.getUint16(14) + dv.getUint16(16) + dv.getUint32(18);
        if (buf.length < len) break;
        const cmd = dv.getUint16(2);
        const id = dv.getUint32(5);
        buf = buf.slice(len);
        if (cmd !== 0) continue;
        state.heartbeats++;
        events.notify();
        if (!answer(state.heartbeats)) continue;
        state.answered++;
        await conn.write(heartbeatAnswer(id));
      }
    }
  });
  return {
    port: server.port,
    state,
    events,
    /** Writes to the most recently accepted connection. */
    send: (bytes: Uint8Array) => last!.write(bytes),
    stop: () => server.stop(),
  };
}

/** A pool on `clock` whose reads (once the codec has consumed them) and connection closes notify `events`. */
function pool(port: number, keepalive: KeepaliveOptions | undefined, clock: FakeClock) {
  const events = new Events();
  const state = { reads: 0 };
  const hooks: PoolHooks = {
    canOpenConnection: () => true,
    canQueue: () => true,
    onConnectionOpened: () => {},
    onConnectionClosed: () => events.notify(),
    onConnectFailure: () => {},
    onPendingChange: () => {},
    // Called just before the codec is fed the bytes: notify after it.
    onBytesRead: () =>
      queueMicrotask(() => {
        state.reads++;
        events.notify();
      }),
    onWriteOverflow: () => {},
  };
  const p = new MultiplexPool({
    hostname: "127.0.0.1",
    port,
    codec: getCodec("bolt")!,
    codecOptions: defaultCodecOptions,
    connectTimeoutMs: 1000,
    idleTimeoutMs: undefined,
    maxRequestsPerConnection: 0,
    bufferLimitBytes: 1 << 20,
    hooks,
    connectionsPerHost: 1,
    keepalive,
    clock,
  });
  return { p, events, state };
}

/** Moves `clock` forward to the absolute time `t`. */
function advanceTo(clock: FakeClock, t: number): void {
  clock.tick(t - clock.now());
}

Deno.test("keepalive: a peer that stops answering heartbeats is closed after max_failures", async () => {
  const peer = startPeer(() => false);
  const clock = new FakeClock();
  const { p } = pool(peer.port, { intervalMs: 100, timeoutMs: 50, maxFailures: 3 }, clock);
  try {
    const conn = await acquire(p);
    p.release(conn);
    for (let n = 1; n <= 3; n++) {
      // Heartbeat n goes out when the connection has read nothing for a whole interval ...
      advanceTo(clock, 100 * n - 1);
      assertEquals(p.keepaliveStats.sent, n - 1, `heartbeat ${n} before the interval`);
      advanceTo(clock, 100 * n);
      assertEquals(p.keepaliveStats.sent, n);
      // The codec's own heartbeat deadline runs on the pool's clock too, or it would fire in real time.
      assertEquals(clock.pending, 3, "keepalive timer, the pool's heartbeat guard, the codec's deadline");
      await peer.events.until(() => peer.state.heartbeats === n, `heartbeat ${n} at the peer`);
      // ... and fails when its timeout passes unanswered.
      advanceTo(clock, 100 * n + 49);
      assertEquals(p.keepaliveStats.failed, n - 1, `heartbeat ${n} failed before its timeout`);
      assertEquals(p.keepaliveStats.closed, 0);
      advanceTo(clock, 100 * n + 50);
      assertEquals(p.keepaliveStats.failed, n);
    }
    assertEquals(p.keepaliveStats, { sent: 3, succeeded: 0, failed: 3, closed: 1 });
    assertEquals(p.connections, 0, "the pool dropped the dead connection");
    assert(conn.io.closed);
    assertEquals(clock.pending, 0, "no keepalive or heartbeat timer left behind");
    await peer.events.until(() => peer.state.closedByClient === 1, "the peer to see the close");
    // The next request dials a fresh connection.
    const again = await acquire(p);
    assert(again !== conn);
    await peer.events.until(() => peer.state.accepted === 2, "a second connection at the peer");
    p.release(again);
  } finally {
    p.close();
    await peer.stop();
  }
});

Deno.test("keepalive: a peer that answers keeps its connection; successes reset the failure count", async () => {
  // Every other heartbeat unanswered: never two failures in a row.
  const peer = startPeer((n) => n % 2 === 0);
  const clock = new FakeClock();
  const { p, events } = pool(peer.port, { intervalMs: 60, timeoutMs: 30, maxFailures: 2 }, clock);
  try {
    const conn = await acquire(p);
    p.release(conn);
    for (let n = 1; n <= 8; n++) {
      advanceTo(clock, 60 * n);
      assertEquals(p.keepaliveStats.sent, n);
      await peer.events.until(() => peer.state.heartbeats === n, `heartbeat ${n} at the peer`);
      if (n % 2 === 0) {
        await events.until(() => p.keepaliveStats.succeeded === n / 2, `the answer to heartbeat ${n}`);
      } else {
        advanceTo(clock, 60 * n + 30);
        assertEquals(p.keepaliveStats.failed, (n + 1) / 2);
      }
    }
    assertEquals(p.keepaliveStats, { sent: 8, succeeded: 4, failed: 4, closed: 0 });
    assertEquals(peer.state.closedByClient, 0);
    assert(!conn.io.closed);
    assertEquals(await acquire(p), conn, "the kept connection is reused");
    p.release(conn);
  } finally {
    p.close();
    await peer.stop();
  }
});

Deno.test("keepalive: one heartbeat per idle interval, and none when keepalive is off", async () => {
  const peer = startPeer(() => true);
  const offClock = new FakeClock();
  const onClock = new FakeClock();
  const off = pool(peer.port, undefined, offClock).p;
  const { p: on, events } = pool(peer.port, { intervalMs: 100, timeoutMs: 50, maxFailures: 3 }, onClock);
  try {
    const a = await acquire(off);
    off.release(a);
    assertEquals(offClock.pending, 0, "no keepalive configured → no timer");
    offClock.tick(10_000);
    assertEquals(off.keepaliveStats.sent, 0);

    const b = await acquire(on);
    on.release(b);
    assertEquals(onClock.pending, 1, "one keepalive timer per connection");
    for (let n = 1; n <= 4; n++) {
      advanceTo(onClock, 100 * n - 1);
      assertEquals(on.keepaliveStats.sent, n - 1, `heartbeat ${n} early`);
      advanceTo(onClock, 100 * n);
      assertEquals(on.keepaliveStats.sent, n);
      await events.until(() => on.keepaliveStats.succeeded === n, `the answer to heartbeat ${n}`);
    }
    assertEquals(on.keepaliveStats.failed, 0);
    // Every heartbeat the peer saw came from the pool with keepalive on.
    assertEquals(peer.state.heartbeats, 4);
  } finally {
    off.close();
    on.close();
    await peer.stop();
  }
});

Deno.test("keepalive: bytes read from the peer postpone the next heartbeat", async () => {
  const peer = startPeer(() => true);
  const clock = new FakeClock();
  const { p, events, state } = pool(peer.port, { intervalMs: 100, timeoutMs: 50, maxFailures: 3 }, clock);
  try {
    const conn = await acquire(p);
    p.release(conn);
    await peer.events.until(() => peer.state.accepted === 1, "the connection at the peer");
    advanceTo(clock, 40);
    // Any frame counts as activity; a stray response is counted and dropped by the codec.
    await peer.send(heartbeatAnswer(999));
    await events.until(() => state.reads === 1, "the stray frame read by the pool");
    advanceTo(clock, 139); // the timer set for 100 finds the connection idle for only 60 ms
    assertEquals(p.keepaliveStats.sent, 0, "a heartbeat despite a read 99 ms ago");
    advanceTo(clock, 140);
    assertEquals(p.keepaliveStats.sent, 1);
    await peer.events.until(() => peer.state.heartbeats === 1, "the heartbeat at the peer");
  } finally {
    p.close();
    await peer.stop();
  }
});
