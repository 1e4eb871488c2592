/**
 * SOFA bolt through the real meshctl ("Multiplexed RPC"): sofa-rpc-node client → meshctl → sofa-rpc-node
 * servers, plus raw sockets for golden vectors, garbage, statuses and oneway. Everything on 127.0.0.1.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, type Meshctl, PRIVATE_LOOPBACK, startMeshctl } from "./_e2e.ts";
import {
  boltClient,
  type BoltServerPeer,
  ECHO_SERVICE,
  encodeHeartbeatFrame,
  encodeRequestFrame,
  int,
  startBoltServer,
  str,
  TEST_SERVICE,
} from "./_peers/bolt_peers.ts";
import {
  connectLocal,
  frameCmd,
  frameId,
  FrameReader,
  frameType,
  GOLDEN_REQUEST,
  GOLDEN_RESPONSE,
  responseStatus,
  startRawBoltResponder,
  toHex,
  waitClosed,
  withId,
  writeAll,
} from "./_peers/bolt_raw.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and library sockets outlive steps

const TEST_SIG = `${TEST_SERVICE}:1.0`;
const ECHO_SIG = `${ECHO_SERVICE}:1.0`;

/** The one listener of `boltConfig()`, on 127.0.0.1:0. */
const LISTENER = "bolt_in";

interface BoltSetup {
  /** downstream_protocol (default bolt). */
  protocol?: string;
  extendConfig?: Record<string, unknown>;
  routes: unknown[];
  clusters: Record<string, string[]>;
  clusterExtra?: Record<string, unknown>;
}

function boltConfig(s: BoltSetup): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "rpc",
        virtual_hosts: [{ name: "rpc", domains: ["*"], routers: s.routes }],
      }],
      listeners: [{
        name: LISTENER,
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: {
              downstream_protocol: s.protocol ?? "bolt",
              router_config_name: "rpc",
              ...(s.extendConfig ? { extend_config: s.extendConfig } : {}),
            },
          }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: Object.entries(s.clusters).map(([name, hosts]) => ({
        name,
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: hosts.map((address) => ({ address })),
        ...(s.clusterExtra ?? {}),
      })),
    },
  };
}

function serviceRoute(service: string, cluster: string, extra: Record<string, unknown> = {}): unknown {
  return {
    match: { headers: [{ name: "service", value: service }] },
    route: { cluster_name: cluster, ...extra },
  };
}

/** Runs `fn` with a meshctl on `setup` and the port its bolt listener is bound to. */
async function withMesh(
  setup: BoltSetup,
  fn: (mesh: Meshctl, listenPort: number) => Promise<void>,
): Promise<void> {
  const mesh = await startMeshctl(boltConfig(setup));
  try {
    await fn(mesh, mesh.port(LISTENER));
  } finally {
    const code = await mesh.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
  }
}

type StatsTree = Awaited<ReturnType<typeof adminStats>>;

function scope(stats: StatsTree, type: string, ...parts: string[]): Record<string, number> {
  const found = Object.entries(stats[type] ?? {}).find(([k]) => parts.every((p) => k.includes(p)))?.[1];
  assert(found !== undefined, `no ${type} scope with ${parts.join(", ")} in ${JSON.stringify(stats)}`);
  return found!;
}

/** Runs `n` tasks with at most `width` in flight. */
async function pooled<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return out;
}

/** Sends one frame on a fresh raw connection and returns the first frame back (or null/"timeout"). */
async function rawCall(
  port: number,
  frame: Uint8Array,
  timeoutMs = 3000,
): Promise<Uint8Array | null | "timeout"> {
  const conn = await connectLocal(port);
  try {
    await writeAll(conn, frame);
    return await new FrameReader(conn).next(timeoutMs);
  } finally {
    conn.close();
  }
}

Deno.test(
  "bolt: 3000 calls, 300 in flight, over one client connection, each answer matched",
  opts,
  async () => {
    const server = await startBoltServer();
    try {
      await withMesh(
        { routes: [serviceRoute(TEST_SIG, "svc")], clusters: { svc: [server.address] } },
        async (mesh, listenPort) => {
          const client = boltClient(`127.0.0.1:${listenPort}`);
          try {
            const started = Date.now();
            const results = await pooled(
              3000,
              300,
              (i) =>
                client.invoke(TEST_SERVICE, "plus", [int(i), int(100_000 + 3 * i)], 10_000).catch((
                  e: Error,
                ) => e),
            );
            const wrong = results.map((r, i) => [i, r] as const).filter(([i, r]) => r !== 100_000 + 4 * i);
            assertEquals(wrong.slice(0, 5), [], `${wrong.length} calls failed or were mismatched`);
            assert(Date.now() - started < 60_000);
            assertEquals(server.calls, 3000);
            const stats = await adminStats(mesh.adminPort);
            const ds = scope(stats, "downstream", "bolt_in");
            assertEquals(ds["connection_total"], 1, "one client connection");
            assertEquals(ds["request_total"], 3000);
            assertEquals(ds["request_200_total"], 3000);
            const up = scope(stats, "upstream", "cluster.svc");
            assertEquals(up["connection_total"], 1, "one multiplexed upstream connection");
          } finally {
            await client.close();
          }
        },
      );
    } finally {
      await server.stop();
    }
  },
);

Deno.test("bolt: services route to their own clusters by the service header", opts, async () => {
  const a = await startBoltServer({ name: "A" });
  const b = await startBoltServer({ name: "B" });
  try {
    await withMesh({
      routes: [serviceRoute(TEST_SIG, "test_cluster"), serviceRoute(ECHO_SIG, "echo_cluster")],
      clusters: { test_cluster: [a.address], echo_cluster: [b.address] },
    }, async (_mesh, listenPort) => {
      const client = boltClient(`127.0.0.1:${listenPort}`);
      try {
        for (let i = 0; i < 20; i++) {
          assertEquals(await client.invoke(TEST_SERVICE, "whoami", []), "A");
          assertEquals(await client.invoke(ECHO_SERVICE, "echo", [str(`m${i}`)]), `m${i}`);
        }
        assertEquals(a.calls, 20);
        assertEquals(b.calls, 20);
      } finally {
        await client.close();
      }
    });
  } finally {
    await a.stop();
    await b.stop();
  }
});

Deno.test(
  "bolt: boltv2 and legacy X/sub_protocol listeners proxy real sofa-rpc-node peers",
  opts,
  async () => {
    const server = await startBoltServer();
    try {
      const cases: { protocol: string; extendConfig?: Record<string, unknown>; version: 1 | 2 }[] = [
        { protocol: "boltv2", version: 2 },
        { protocol: "X", extendConfig: { sub_protocol: "bolt" }, version: 1 },
        { protocol: "X", extendConfig: { sub_protocol: "boltv2" }, version: 2 },
      ];
      for (const c of cases) {
        await withMesh({
          protocol: c.protocol,
          extendConfig: c.extendConfig,
          routes: [serviceRoute(TEST_SIG, "svc")],
          clusters: { svc: [server.address] },
        }, async (_mesh, listenPort) => {
          const client = boltClient(`127.0.0.1:${listenPort}`, { version: c.version });
          try {
            const results = await client.plusMany(200);
            assertEquals(results, Array.from({ length: 200 }, (_, i) => 2 * i), JSON.stringify(c));
          } finally {
            await client.close();
          }
          // A v2 frame stays v2 end to end.
          if (c.version === 2) {
            const frame = await encodeRequestFrame({
              id: 9,
              service: TEST_SIG,
              method: "plus",
              args: [int(2), int(3)],
              timeout: 3000,
              version: 2,
            });
            const res = await rawCall(listenPort, frame);
            assert(res instanceof Uint8Array, String(res));
            assertEquals([res[0], frameId(res), responseStatus(res)], [0x02, 9, 0]);
          }
        });
      }
    } finally {
      await server.stop();
    }
  },
);

Deno.test("bolt: client heartbeats are answered by meshctl and never forwarded", opts, async () => {
  const server = await startBoltServer();
  try {
    await withMesh(
      { routes: [serviceRoute(TEST_SIG, "svc")], clusters: { svc: [server.address] } },
      async (mesh, listenPort) => {
        const client = boltClient(`127.0.0.1:${listenPort}`);
        try {
          assertEquals(await client.plus(1, 2), 3); // opens the connection (and the upstream one)
          for (let i = 0; i < 5; i++) assertEquals(await client.heartbeat(), 1, "heartbeat acknowledged");
          assertEquals(await client.plus(2, 2), 4);
          // A raw v1 and v2 heartbeat get a 20 / 22 byte answer with the same id.
          for (const v of [1, 2] as const) {
            const res = await rawCall(listenPort, await encodeHeartbeatFrame(77, v));
            assert(res instanceof Uint8Array, String(res));
            assertEquals([res.length, frameType(res), frameCmd(res), frameId(res), responseStatus(res)], [
              v === 1 ? 20 : 22,
              0,
              0,
              77,
              0,
            ]);
          }
          assertEquals(server.heartbeats, 0, "no heartbeat reached the server");
          assertEquals(server.calls, 2);
          const ds = scope(await adminStats(mesh.adminPort), "downstream", "bolt_in");
          assertEquals(ds["heartbeat_total"], 7);
          assertEquals(ds["request_total"], 2, "heartbeats are not requests");
        } finally {
          await client.close();
        }
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("bolt: a server dying mid-call fails the call promptly and the pool recovers", {
  ...opts,
}, async () => {
  // The server comes back on the same port below: on a loopback address of its own, no test running in
  // parallel can bind that port while it is down.
  let server: BoltServerPeer = await startBoltServer({ hostname: PRIVATE_LOOPBACK });
  const port = server.port;
  try {
    await withMesh(
      { routes: [serviceRoute(TEST_SIG, "svc")], clusters: { svc: [server.address] } },
      async (_mesh, listenPort) => {
        const client = boltClient(`127.0.0.1:${listenPort}`);
        try {
          assertEquals(await client.plus(1, 1), 2);
          // crash() destroys the server's connections and never answers.
          let t0 = Date.now();
          const err = await client.invoke(TEST_SERVICE, "crash", [], 5000).then(
            () => undefined,
            (e: Error) => e,
          );
          assert(err instanceof Error, "crash() must fail");
          assertMatch(
            err.message,
            /Server exception/,
            "meshctl replied with an error status, not a client timeout",
          );
          assert(Date.now() - t0 < 2000, `error took ${Date.now() - t0}ms`);
          // The server is still listening: the next call dials a new upstream connection.
          assertEquals(await client.plus(2, 2), 4);
          // A call the server may have started must not be sent again (it may not be idempotent).
          assertEquals(server.callsOf("crash"), 1, "the crash call reached the server exactly once");

          // Server gone: prompt error (connect refused), not a hang.
          await server.stop();
          t0 = Date.now();
          await client.plus(3, 3).then(
            () => assert(false, "call to a stopped server succeeded"),
            (e: Error) => assertMatch(e.message, /Server exception/),
          );
          assert(Date.now() - t0 < 2000, `error took ${Date.now() - t0}ms`);

          // Back on the same port: calls succeed again (bounded wait).
          server = await startBoltServer({ port, hostname: PRIVATE_LOOPBACK });
          let ok: unknown;
          for (let i = 0; i < 20 && ok !== 8; i++) {
            ok = await client.plus(4, 4).catch((e: Error) => e);
            if (ok !== 8) await new Promise((r) => setTimeout(r, 100));
          }
          assertEquals(ok, 8);
          assertEquals(await client.plusMany(50), Array.from({ length: 50 }, (_, i) => 2 * i));
        } finally {
          await client.close();
        }
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("bolt: garbage closes only its own connection and counts a protocol error", opts, async () => {
  const server = await startBoltServer();
  try {
    await withMesh(
      { routes: [serviceRoute(TEST_SIG, "svc")], clusters: { svc: [server.address] } },
      async (mesh, listenPort) => {
        const client = boltClient(`127.0.0.1:${listenPort}`);
        try {
          assertEquals(await client.plus(1, 1), 2);
          const good = client.plusMany(500); // concurrent traffic on another connection

          const oversized = GOLDEN_REQUEST.slice(0, 22);
          new DataView(oversized.buffer).setUint32(18, 0x7fff_ffff); // contentLen ≈ 2 GiB
          const unknownType = GOLDEN_REQUEST.slice();
          unknownType[1] = 0x07;
          const garbage: [string, Uint8Array, boolean][] = [
            ["truncated frame then EOF", GOLDEN_REQUEST.slice(0, 100), true],
            ["oversized length field", oversized, false],
            ["unknown type byte", unknownType, false],
          ];
          for (const [what, bytes, halfClose] of garbage) {
            const conn = await connectLocal(listenPort);
            try {
              await writeAll(conn, bytes);
              if (halfClose) await conn.closeWrite();
              assert(await waitClosed(conn, 3000), `${what}: meshctl kept the connection open`);
            } finally {
              conn.close();
            }
          }
          assertEquals(await good, Array.from({ length: 500 }, (_, i) => 2 * i));
          assertEquals(await client.plus(5, 6), 11);
          const ds = scope(await adminStats(mesh.adminPort), "downstream", "bolt_in");
          assertEquals(ds["protocol_error_total"], 3);
          assertEquals(server.calls, 502, "no garbage reached the server");
        } finally {
          await client.close();
        }
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("bolt: local replies carry bolt statuses (NO_PROCESSOR, TIMEOUT)", opts, async () => {
  const server = await startBoltServer();
  try {
    await withMesh({
      routes: [serviceRoute(TEST_SIG, "svc", { timeout: "200ms" })],
      clusters: { svc: [server.address] },
    }, async (mesh, listenPort) => {
      // No route: the captured request with its service header renamed (same length).
      const unknown = GOLDEN_REQUEST.slice();
      const sig = new TextEncoder().encode(TEST_SIG);
      const at = indexOf(unknown, sig);
      assert(at > 0 && at < 120, "service header found in the header map");
      unknown.set(new TextEncoder().encode("com.nodejs.test.NoneService:1.0"), at);
      let res = await rawCall(listenPort, withId(unknown, 4242));
      assert(res instanceof Uint8Array, String(res));
      assertEquals([frameType(res), frameCmd(res), frameId(res), responseStatus(res)], [0, 2, 4242, 6]);

      // The real client sees it as an error, too.
      const client = boltClient(`127.0.0.1:${listenPort}`);
      try {
        await client.invoke("com.nodejs.test.NoneService", "plus", [int(1), int(2)]).then(
          () => assert(false, "unknown service answered"),
          (e: Error) => assertMatch(e.message, /Server exception/),
        );
      } finally {
        await client.close();
      }

      // Route timeout (frame timeout 0 = use the route's): slow(1000) → TIMEOUT after ~200ms.
      const slow = await encodeRequestFrame({
        id: 5,
        service: TEST_SIG,
        method: "slow",
        args: [int(1000)],
        timeout: 0,
      });
      let t0 = Date.now();
      res = await rawCall(listenPort, slow);
      let took = Date.now() - t0;
      assert(res instanceof Uint8Array, String(res));
      assertEquals([frameId(res), responseStatus(res)], [5, 7]);
      assert(took >= 180 && took < 900, `route timeout took ${took}ms`);

      // A frame timeout overrides the route's (MOSN): 400ms in the frame → TIMEOUT after ~400ms.
      const slow400 = await encodeRequestFrame({
        id: 6,
        service: TEST_SIG,
        method: "slow",
        args: [int(1000)],
        timeout: 400,
      });
      t0 = Date.now();
      res = await rawCall(listenPort, slow400);
      took = Date.now() - t0;
      assert(res instanceof Uint8Array, String(res));
      assertEquals([frameId(res), responseStatus(res)], [6, 7]);
      assert(took >= 380 && took < 900, `frame timeout took ${took}ms`);

      const ds = scope(await adminStats(mesh.adminPort), "downstream", "bolt_in");
      assertEquals(ds["request_404_total"], 2);
      assertEquals(ds["request_504_total"], 2);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("bolt: oneway requests reach the server and get no answer", opts, async () => {
  // sofa-rpc-node's RpcClient has no oneway call; its protocol library (sofa-bolt-node) encodes them.
  // sofa-rpc-node's server cannot tell oneway from two-way (its decoder drops the type) and answers
  // anyway: meshctl must swallow those answers. A raw upstream shows the type byte arrives intact.
  const server = await startBoltServer();
  const raw = startRawBoltResponder(() => undefined);
  const oneway = (id: number, a: number) =>
    encodeRequestFrame({
      id,
      service: TEST_SIG,
      method: "plus",
      args: [int(a), int(a)],
      timeout: 3000,
      oneway: true,
    });
  try {
    await withMesh({
      routes: [serviceRoute(TEST_SIG, "svc"), serviceRoute(ECHO_SIG, "raw")],
      clusters: { svc: [server.address], raw: [raw.address] },
    }, async (mesh, listenPort) => {
      const conn = await connectLocal(listenPort);
      try {
        const reader = new FrameReader(conn);
        for (let i = 0; i < 3; i++) await writeAll(conn, await oneway(100 + i, i));
        for (let i = 0; i < 50 && server.calls < 3; i++) await new Promise((r) => setTimeout(r, 20));
        assertEquals(server.calls, 3);
        // A two-way call after them: its answer is the first frame back.
        await writeAll(
          conn,
          await encodeRequestFrame({
            id: 200,
            service: TEST_SIG,
            method: "plus",
            args: [int(1), int(2)],
            timeout: 3000,
          }),
        );
        const res = await reader.next(3000);
        assert(res instanceof Uint8Array, String(res));
        assertEquals([frameId(res), responseStatus(res)], [200, 0]);
        assertEquals(await reader.next(300), "timeout", "nothing else comes back");

        // To a raw upstream that never answers: forwarded as type 2, no reply, no timeout reply either.
        const echoOneway = await encodeRequestFrame({
          id: 300,
          service: ECHO_SIG,
          method: "echo",
          args: [str("x")],
          timeout: 200,
          oneway: true,
        });
        await writeAll(conn, echoOneway);
        for (let i = 0; i < 50 && raw.frames.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
        assertEquals(raw.frames.length, 1);
        assertEquals(frameType(raw.frames[0]!), 2);
        assertEquals(toHex(withId(raw.frames[0]!, 0)), toHex(withId(echoOneway, 0)));
        assertEquals(
          await reader.next(500),
          "timeout",
          "a oneway request gets no answer, not even a timeout",
        );
        const ds = scope(await adminStats(mesh.adminPort), "downstream", "bolt_in");
        assertEquals(ds["request_total"], 5);
      } finally {
        conn.close();
      }
    });
  } finally {
    await raw.stop();
    await server.stop();
  }
});

Deno.test("bolt: golden frames pass through byte for byte except the request id", opts, async () => {
  const upstream = startRawBoltResponder((frame) => withId(GOLDEN_RESPONSE, frameId(frame)));
  try {
    await withMesh(
      { routes: [serviceRoute(TEST_SIG, "raw")], clusters: { raw: [upstream.address] } },
      async (_mesh, listenPort) => {
        const conn = await connectLocal(listenPort);
        try {
          const reader = new FrameReader(conn);
          for (const id of [1, 0xfffffffe]) {
            const before = upstream.frames.length;
            await writeAll(conn, withId(GOLDEN_REQUEST, id));
            const res = await reader.next(3000);
            assert(res instanceof Uint8Array, String(res));
            assertEquals(toHex(res), toHex(withId(GOLDEN_RESPONSE, id)), "client gets the captured response");
            const got = upstream.frames[before];
            assert(got !== undefined, "upstream saw the request");
            assertEquals(got.length, 351);
            assertEquals(
              toHex(withId(got, 0)),
              toHex(withId(GOLDEN_REQUEST, 0)),
              "upstream gets the captured request but for the id",
            );
          }
        } finally {
          conn.close();
        }
      },
    );
  } finally {
    await upstream.stop();
  }
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("bolt: with enable_bolt_goaway a drain sends GoAway to connected clients", opts, async () => {
  const upstream = startRawBoltResponder((frame) => withId(GOLDEN_RESPONSE, frameId(frame)));
  const mesh = await startMeshctl(boltConfig({
    extendConfig: { enable_bolt_goaway: true },
    routes: [serviceRoute(TEST_SIG, "raw")],
    clusters: { raw: [upstream.address] },
  }));
  const conn = await connectLocal(mesh.port(LISTENER));
  try {
    const reader = new FrameReader(conn);
    await writeAll(conn, withId(GOLDEN_REQUEST, 7));
    const first = await reader.next(3000);
    assert(first instanceof Uint8Array && frameId(first) === 7, String(first));
    const stopped = mesh.stop("SIGTERM");
    const goAway = await reader.next(3000);
    assert(goAway instanceof Uint8Array, `expected a GoAway frame, got ${goAway}`);
    assertEquals(frameCmd(goAway), 100, "bolt GoAway is cmdcode 100");
    assertEquals(await stopped, 0);
  } finally {
    conn.close();
    await upstream.stop();
  }
});
