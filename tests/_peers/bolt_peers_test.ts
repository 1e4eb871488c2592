/**
 * The real sofa-rpc-node peers work under Deno, and the bolt codec parses what they really send:
 * a tap listener decodes the client's frames with the server codec and forwards them through the
 * client codec (a minimal bolt relay), or answers with local replies.
 */
import assert from "node:assert/strict";
import { ProxyError } from "../../src/core/mod.ts";
import { boltCodec, type BoltRequestHead } from "../../src/codec/bolt/mod.ts";
import {
  type ClientConnection,
  type ConnectionIO,
  defaultCodecOptions,
  type HeaderMap,
  type ResponseHead,
  type ResponseReceiver,
  type ServerConnection,
  type ServerStream,
} from "../../src/codec/mod.ts";
import {
  boltClient,
  ECHO_SERVICE,
  encodeHeartbeatFrame,
  encodeRequestFrame,
  int,
  startBoltServer,
  str,
  TEST_SERVICE,
} from "./bolt_peers.ts";
import { GOLDEN_REQUEST, toHex } from "./bolt_raw.ts";

/** ConnectionIO over a Deno.Conn: serialized writes, idempotent close. */
class ConnIO implements ConnectionIO {
  readonly #conn: Deno.Conn;
  #chain: Promise<void> = Promise.resolve();
  closed = false;
  readonly remoteAddress: string;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    const a = conn.remoteAddr as Deno.NetAddr;
    this.remoteAddress = `${a.hostname}:${a.port}`;
  }

  write(data: Uint8Array): Promise<void> {
    const copy = data.slice();
    this.#chain = this.#chain.then(async () => {
      let off = 0;
      while (off < copy.length) off += await this.#conn.write(copy.subarray(off));
    });
    return this.#chain;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
  }
}

async function readLoop(
  conn: Deno.Conn,
  io: ConnIO,
  codec: ServerConnection | ClientConnection,
): Promise<void> {
  const buf = new Uint8Array(4096); // small on purpose: frames span reads
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      await codec.feed(buf.subarray(0, n));
    }
  } catch {
    // socket closed under us
  }
  codec.onEof();
  io.close();
}

/** Forwards one downstream stream's response back (the relay's whole "proxy"). */
class Relay implements ResponseReceiver {
  readonly #down: ServerStream;
  constructor(down: ServerStream) {
    this.#down = down;
  }
  onResponse(head: ResponseHead): Promise<void> {
    return this.#down.sendResponse(head, true);
  }
  onData(): void {}
  onTrailers(_t: HeaderMap): void {}
  onReset(error: ProxyError): void {
    this.#down.sendLocalReply(error).catch(() => {});
  }
}

interface Tap {
  address: string;
  requests: BoltRequestHead[];
  heartbeats: number;
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1; forwards to `upstream` ("host:port"), or replies locally with `reply`. */
function startTap(upstream: string | undefined, reply?: ProxyError): Tap {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tasks: Promise<void>[] = [];
  const ios: ConnIO[] = [];
  const tap: Tap = {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests: [],
    heartbeats: 0,
    async stop() {
      listener.close();
      for (const io of ios) io.close();
      await Promise.all(tasks);
    },
  };
  const serve = async (down: Deno.Conn) => {
    const downIO = new ConnIO(down);
    ios.push(downIO);
    let up: ClientConnection | undefined;
    if (upstream !== undefined) {
      const [hostname, port] = upstream.split(":");
      const upConn = await Deno.connect({ hostname, port: Number(port) });
      const upIO = new ConnIO(upConn);
      ios.push(upIO);
      up = boltCodec.newClientConnection(upIO, { onUnusable: () => {} }, defaultCodecOptions);
      tasks.push(readLoop(upConn, upIO, up));
    }
    const server = boltCodec.newServerConnection(downIO, {
      onRequest(stream) {
        tap.requests.push(stream.request as BoltRequestHead);
        if (up === undefined) {
          stream.sendLocalReply(reply ?? new ProxyError("no_route", "internal", "no route")).catch(() => {});
          return;
        }
        up.newStream(new Relay(stream)).sendRequest(stream.request, true).catch(() => {});
      },
      onProtocolError() {},
      onHeartbeat() {
        tap.heartbeats++;
      },
    }, defaultCodecOptions);
    await readLoop(down, downIO, server);
  };
  tasks.push((async () => {
    try {
      for await (const conn of listener) tasks.push(serve(conn));
    } catch {
      // listener closed
    }
  })());
  return tap;
}

Deno.test("bolt peers: sofa-rpc-node client calls the server directly", async () => {
  const server = await startBoltServer();
  const client = boltClient(server.address);
  try {
    assert.equal(await client.plus(1, 2), 3);
    assert.equal(await client.invoke(ECHO_SERVICE, "echo", [str("hi")]), "hi");
    assert.equal(await client.invoke(TEST_SERVICE, "whoami", []), server.name);
    const results = await client.plusMany(200);
    assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => 2 * i));
    await assert.rejects(client.invoke(TEST_SERVICE, "fail", [str("nope")]), /nope/);
    assert.deepEqual(
      ["plus", "echo", "whoami", "fail", "crash"].map((m) => server.callsOf(m)),
      [201, 1, 1, 1, 0],
    );
    assert.equal(server.calls, 204);
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("bolt peers: slow calls time out on the client and crash() drops the connection", async () => {
  const server = await startBoltServer();
  const client = boltClient(server.address);
  try {
    assert.equal(await client.invoke(TEST_SERVICE, "slow", [{ $class: "int", $: 20 }]), 20);
    await assert.rejects(client.invoke(TEST_SERVICE, "slow", [{ $class: "int", $: 500 }], 100));
    await assert.rejects(client.invoke(TEST_SERVICE, "crash", [], 2000));
    assert.deepEqual([server.callsOf("slow"), server.callsOf("crash")], [2, 1]);
  } finally {
    await client.close();
    await server.stop();
  }
});

Deno.test("bolt server codec parses the real sofa-rpc-node request and relays it", async () => {
  const server = await startBoltServer();
  const tap = startTap(server.address);
  const client = boltClient(tap.address);
  try {
    assert.equal(await client.plus(1, 2), 3);
    const first = tap.requests[0];
    assert.equal(first.protocol, "bolt");
    assert.equal(first.cmdCode, 1);
    assert.equal(first.codec, 1);
    assert.equal(first.timeout, 3000);
    assert.equal(first.className, "com.alipay.sofa.rpc.core.request.SofaRequest");
    assert.equal(first.headers.get("service"), `${TEST_SERVICE}:1.0`);
    // Many concurrent calls multiplexed over one relayed connection, answered out of order.
    const results = await client.plusMany(300);
    assert.deepEqual(results, Array.from({ length: 300 }, (_, i) => 2 * i));
    assert.equal(await client.invoke(ECHO_SERVICE, "echo", [str("x".repeat(20_000))]), "x".repeat(20_000));
    assert.ok(tap.requests.length >= 302);
  } finally {
    await client.close();
    await tap.stop();
    await server.stop();
  }
});

Deno.test("bolt local replies reach the sofa-rpc-node client as errors", async () => {
  for (const kind of ["no_route", "overflow", "timeout"] as const) {
    const tap = startTap(undefined, new ProxyError(kind, "internal", kind));
    const client = boltClient(tap.address);
    try {
      // sofa-rpc-node reports any non-zero bolt status as "Server exception when invoke ...".
      await assert.rejects(client.plus(1, 2), /Server exception/);
      assert.equal(tap.requests.length, 1);
    } finally {
      await client.close();
      await tap.stop();
    }
  }
});

Deno.test("bolt peers: the frame helpers encode what the real client sends", async () => {
  const frame = await encodeRequestFrame({
    id: 1,
    service: `${TEST_SERVICE}:1.0`,
    method: "plus",
    args: [int(1), int(2)],
    timeout: 3000,
  });
  assert.equal(toHex(frame), toHex(GOLDEN_REQUEST));
  assert.equal(toHex(await encodeHeartbeatFrame(7)), "0101000001000000070100000bb80000000000000000");
  const v2 = await encodeHeartbeatFrame(7, 2);
  assert.deepEqual([v2[0], v2[1], v2.length], [2, 1, 24]);
});

Deno.test("bolt peers: boltv2 client, heartbeats answered by the server", async () => {
  const server = await startBoltServer();
  const client = boltClient(server.address, { version: 2 });
  try {
    assert.deepEqual(await client.plusMany(20), Array.from({ length: 20 }, (_, i) => 2 * i));
    assert.equal(await client.heartbeat(), 1);
    assert.equal(server.heartbeats, 1);
  } finally {
    await client.close();
    await server.stop();
  }
});
