/**
 * MultiplexPool keepalive against a real socket: a Deno.listen bolt peer that answers heartbeats (or not).
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { defaultCodecOptions, getCodec } from "../../codec/mod.ts";
import { type KeepaliveOptions, MultiplexPool } from "./multiplex_pool.ts";
import type { PoolHooks } from "./types.ts";
import type { UpstreamConnection } from "./dial.ts";
import { ProxyError } from "../../core/mod.ts";

/** A bolt v1 peer: decides per heartbeat (1-based count) whether to answer; counts EOFs. */
function startPeer(answer: (n: number) => boolean) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const state = { heartbeats: 0, answered: 0, accepted: 0, closedByClient: 0 };
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const serve = async (conn: Deno.Conn) => {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) {
          state.closedByClient++;
          break;
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
          if (!answer(state.heartbeats)) continue;
          state.answered++;
          const res = new Uint8Array(20);
          const rv = new DataView(res.buffer);
          res[0] = 1; // proto
          res[1] = 0; // response
          rv.setUint16(2, 0); // heartbeat
          res[4] = 1;
          rv.setUint32(5, id);
          res[9] = 1;
          rv.setUint16(10, 0); // SUCCESS
          await conn.write(res);
        }
      }
    } catch {
      // closed
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const c of listener) {
        state.accepted++;
        conns.add(c);
        tasks.push(serve(c));
      }
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    state,
    async stop() {
      listener.close();
      for (const c of conns) c.close();
      await accepting;
      await Promise.all(tasks);
    },
  };
}

const hooks: PoolHooks = {
  canOpenConnection: () => true,
  canQueue: () => true,
  onConnectionOpened: () => {},
  onConnectionClosed: () => {},
  onConnectFailure: () => {},
  onPendingChange: () => {},
  onBytesRead: () => {},
  onWriteOverflow: () => {},
};

/** The pool's waiter callbacks as a promise. */
function acquire(p: MultiplexPool): Promise<UpstreamConnection> {
  return new Promise((resolve, reject) => {
    const got = p.acquire({ onPoolReady: resolve, onPoolFailure: reject });
    if (got instanceof ProxyError) reject(got);
    else if (got !== undefined) resolve(got);
  });
}

function pool(port: number, keepalive: KeepaliveOptions | undefined): MultiplexPool {
  return new MultiplexPool({
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
  });
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

Deno.test("keepalive: a peer that stops answering heartbeats is closed after max_failures", async () => {
  const peer = startPeer(() => false);
  const p = pool(peer.port, { intervalMs: 100, timeoutMs: 50, maxFailures: 3 });
  try {
    const conn = await acquire(p);
    p.release(conn);
    const t0 = Date.now();
    assert(await until(() => peer.state.closedByClient === 1, 3000), "connection not closed by keepalive");
    const took = Date.now() - t0;
    // 3 heartbeats at ~100, ~200, ~300 ms, the third fails at ~350 ms.
    assert(took >= 250 && took < 1500, `closed after ${took}ms`);
    assertEquals(peer.state.heartbeats, 3);
    assertEquals(p.keepaliveStats, { sent: 3, succeeded: 0, failed: 3, closed: 1 });
    assert(await until(() => p.connections === 0, 1000), "pool still holds the dead connection");
    assert(conn.io.closed);
    // The next request dials a fresh connection.
    const again = await acquire(p);
    assert(again !== conn);
    assertEquals(peer.state.accepted, 2);
    p.release(again);
  } finally {
    p.close();
    await peer.stop();
  }
});

Deno.test("keepalive: a peer that answers keeps its connection; successes reset the failure count", async () => {
  // Every other heartbeat unanswered: never two failures in a row.
  const peer = startPeer((n) => n % 2 === 0);
  const p = pool(peer.port, { intervalMs: 60, timeoutMs: 30, maxFailures: 2 });
  try {
    const conn = await acquire(p);
    p.release(conn);
    assert(await until(() => peer.state.heartbeats >= 8, 3000), `only ${peer.state.heartbeats} heartbeats`);
    assertEquals(peer.state.closedByClient, 0);
    assert(!conn.io.closed);
    assert(p.keepaliveStats.succeeded >= 3 && p.keepaliveStats.failed >= 3, JSON.stringify(p.keepaliveStats));
    assertEquals(p.keepaliveStats.closed, 0);
    assertEquals(await acquire(p), conn, "the kept connection is reused");
    p.release(conn);
  } finally {
    p.close();
    await peer.stop();
  }
});

Deno.test("keepalive: one heartbeat per idle interval, and none when keepalive is off", async () => {
  const peer = startPeer(() => true);
  const off = pool(peer.port, undefined);
  const on = pool(peer.port, { intervalMs: 100, timeoutMs: 50, maxFailures: 3 });
  try {
    const a = await acquire(off);
    off.release(a);
    await new Promise((r) => setTimeout(r, 350));
    assertEquals(peer.state.heartbeats, 0, "no keepalive configured → no heartbeats");

    const b = await acquire(on);
    on.release(b);
    assert(await until(() => peer.state.heartbeats >= 1, 1000));
    // ~one heartbeat per interval after the last answer: about 3 in 350ms, never a flood.
    const before = peer.state.heartbeats;
    await new Promise((r) => setTimeout(r, 350));
    const sent = peer.state.heartbeats - before;
    assert(sent >= 2 && sent <= 4, `${sent} heartbeats in 350ms at a 100ms interval`);
    assertEquals(on.keepaliveStats.failed, 0);
  } finally {
    off.close();
    on.close();
    await peer.stop();
  }
});
