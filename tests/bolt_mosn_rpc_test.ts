/**
 * MOSN's remaining RPC features through the real meshctl, with sofa-rpc-node peers and raw sockets:
 * MOSN's RPC route rule (`service: .*`), the `healthcheck` stream filter, and bolt v2 CRC-32 frames.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, type Meshctl, runCli, startMeshctl } from "./_e2e.ts";
import {
  boltClient,
  type BoltServerPeer,
  encodeHeartbeatFrame,
  encodeRequestFrame,
  int,
  startBoltServer,
  TEST_SERVICE,
} from "./_peers/bolt_peers.ts";
import {
  connectLocal,
  frameCmd,
  frameId,
  FrameReader,
  responseStatus,
  waitClosed,
  writeAll,
} from "./_peers/bolt_raw.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and library sockets

const LISTENER = "rpc_in";

/** MOSN's RPC example route: any request with a service goes to `cluster`. */
const ANY_SERVICE = {
  match: { headers: [{ name: "service", value: ".*" }] },
  route: { cluster_name: "rpc" },
};

function config(o: {
  routes: unknown[];
  hosts: Record<string, string[]>;
  streamFilters?: unknown[];
  protocol?: string;
}): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{ name: "all", domains: ["*"], routers: o.routes }],
      }],
      listeners: [{
        name: LISTENER,
        address: "127.0.0.1:0",
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: { downstream_protocol: o.protocol ?? "bolt", router_config_name: "r" },
          }],
        }],
        ...(o.streamFilters ? { stream_filters: o.streamFilters } : {}),
      }],
    }],
    cluster_manager: {
      clusters: Object.entries(o.hosts).map(([name, hosts]) => ({
        name,
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: hosts.map((address) => ({ address })),
      })),
    },
  };
}

async function withMesh(cfg: Record<string, unknown>, fn: (mesh: Meshctl, port: number) => Promise<void>) {
  const mesh = await startMeshctl(cfg);
  try {
    await fn(mesh, mesh.port(LISTENER));
  } finally {
    assertEquals(await mesh.stop(), 0, mesh.logs());
  }
}

async function withServer(fn: (server: BoltServerPeer) => Promise<void>): Promise<void> {
  const server = await startBoltServer();
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

async function plus(port: number, options: { crc?: boolean } = {}): Promise<unknown> {
  const client = boltClient(`127.0.0.1:${port}`, options);
  try {
    return await client.plus(2, 3);
  } finally {
    await client.close();
  }
}

/** Sends a sofa-rpc-node heartbeat on a raw connection; the answer's command code and bolt status. */
async function heartbeat(port: number, id: number, version: 1 | 2 = 1): Promise<[number, number, number]> {
  const conn = await connectLocal(port);
  try {
    await writeAll(conn, await encodeHeartbeatFrame(id, version));
    const ack = await new FrameReader(conn).next();
    assert(ack instanceof Uint8Array, `no heartbeat answer: ${ack}`);
    return [frameCmd(ack), frameId(ack), responseStatus(ack)];
  } finally {
    conn.close();
  }
}

async function counter(mesh: Meshctl, type: string, key: string, name: string): Promise<number> {
  return (await adminStats(mesh.adminPort))[type]?.[key]?.[name] ?? 0;
}

// === RPC route rule ===

Deno.test(
  "rpc route: a lone service matcher with value .* routes any service (MOSN's RPC examples)",
  opts,
  () =>
    withServer((server) =>
      withMesh(config({ routes: [ANY_SERVICE], hosts: { rpc: [server.address] } }), async (mesh, port) => {
        assertEquals(await plus(port), 5);
        const client = boltClient(`127.0.0.1:${port}`);
        try {
          assertEquals(
            await client.invoke("com.nodejs.test.EchoService", "echo", [{
              $class: "java.lang.String",
              $: "hi",
            }]),
            "hi",
          );
        } finally {
          await client.close();
        }
        assertEquals(server.calls, 2);
        assertEquals(await counter(mesh, "downstream", `listener.${LISTENER}`, "request_404_total"), 0);
      })
    ),
);

Deno.test(
  "rpc route: an exact service value still routes only that service",
  opts,
  () =>
    withServer((server) =>
      withMesh(
        config({
          routes: [{
            match: { headers: [{ name: "service", value: "com.other.Svc:1.0" }] },
            route: { cluster_name: "rpc" },
          }],
          hosts: { rpc: [server.address] },
        }),
        async (_mesh, port) => {
          const frame = await encodeRequestFrame({
            id: 9,
            service: `${TEST_SERVICE}:1.0`,
            method: "plus",
            args: [int(1), int(2)],
            timeout: 3000,
          });
          const conn = await connectLocal(port);
          try {
            await writeAll(conn, frame);
            const reply = await new FrameReader(conn).next();
            assert(reply instanceof Uint8Array);
            assertEquals([frameId(reply), responseStatus(reply)], [9, 6], "no route: NO_PROCESSOR");
          } finally {
            conn.close();
          }
          assertEquals(server.calls, 0);
        },
      )
    ),
);

// === healthcheck stream filter ===

Deno.test(
  "healthcheck: meshctl answers heartbeats as healthy, RPCs still go through",
  opts,
  () =>
    withServer((server) =>
      withMesh(
        config({
          routes: [ANY_SERVICE],
          hosts: { rpc: [server.address] },
          streamFilters: [{ type: "healthcheck", config: {} }],
        }),
        async (mesh, port) => {
          assertEquals(await heartbeat(port, 41), [0, 41, 0], "a v1 heartbeat ack, SUCCESS");
          assertEquals(await heartbeat(port, 42, 2), [0, 42, 0], "a v2 one");
          const client = boltClient(`127.0.0.1:${port}`);
          try {
            assertEquals(await client.plus(1, 1), 2);
            assertEquals(
              await client.heartbeat(),
              1,
              "the sofa-rpc-node client's own heartbeat acknowledged",
            );
          } finally {
            await client.close();
          }
          assertEquals(server.heartbeats, 0, "no heartbeat reached the server");
          const key = `listener.${LISTENER}`;
          assertEquals(await counter(mesh, "downstream", key, "healthcheck_healthy_total"), 3);
          assertEquals(
            await counter(mesh, "downstream", key, "heartbeat_total"),
            0,
            "not answered by the codec",
          );
        },
      )
    ),
);

Deno.test(
  "healthcheck: a cluster below cluster_min_healthy_percentages makes heartbeats unhealthy",
  opts,
  () =>
    withServer((server) =>
      withMesh(
        config({
          routes: [ANY_SERVICE],
          hosts: { rpc: [server.address], spare: [] },
          streamFilters: [{
            type: "healthcheck",
            config: { cluster_min_healthy_percentages: { rpc: 100, spare: 50 } },
          }],
        }),
        async (mesh, port) => {
          // spare has no hosts and asks for 50 %: unhealthy, answered THREADPOOL_BUSY (503's bolt status).
          assertEquals(await heartbeat(port, 7), [0, 7, 4]);
          assertEquals(await plus(port), 5, "RPCs are not health checks");
          assertEquals(
            await counter(mesh, "downstream", `listener.${LISTENER}`, "healthcheck_unhealthy_total"),
            1,
          );
        },
      )
    ),
);

Deno.test(
  "healthcheck: passthrough sends heartbeats upstream, cache_time answers from the last ack",
  opts,
  () =>
    withServer((server) =>
      withMesh(
        config({
          // Heartbeats carry no service header: a match-all route takes them.
          routes: [ANY_SERVICE, { match: {}, route: { cluster_name: "rpc" } }],
          hosts: { rpc: [server.address] },
          streamFilters: [{ type: "healthcheck", config: { passthrough: true, cache_time: "1h" } }],
        }),
        async (mesh, port) => {
          assertEquals(await heartbeat(port, 11), [0, 11, 0], "the server's ack, id patched back");
          assertEquals(server.heartbeats, 1);
          assertEquals(await heartbeat(port, 12), [0, 12, 0], "from the cache");
          assertEquals(server.heartbeats, 1, "the cache answered");
          const key = `listener.${LISTENER}`;
          assertEquals(await counter(mesh, "downstream", key, "healthcheck_passthrough_total"), 1);
          assertEquals(await counter(mesh, "downstream", key, "healthcheck_cached_total"), 1);
        },
      )
    ),
);

Deno.test("healthcheck: meshctl validate reports config problems at their line:col", async () => {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const cfg = config({
      routes: [ANY_SERVICE],
      hosts: { rpc: ["127.0.0.1:9"] },
      streamFilters: [
        { type: "healthcheck", config: { cache_time: 10, cluster_min_healthy_percentages: { rcp: 50 } } },
        { type: "healthcheck", config: { cache_time: "1m" } },
      ],
    });
    await Deno.writeTextFile(file, JSON.stringify(cfg, null, 1));
    const r = await runCli(["validate", file]);
    const at = "servers[0].listeners[0].stream_filters";
    assertEquals(r.stderr.trim().split("\n"), [
      `${file}:54:23: ${at}[0].config.cache_time: expected a duration string like "10s" (MOSN reads bare numbers as nanoseconds)`,
      `${file}:56:17: ${at}[0].config.cluster_min_healthy_percentages.rcp: unknown cluster "rcp"`,
      `${file}:63:23: ${at}[1].config.cache_time: warning: cache_time is not used without passthrough: true (it caches upstream answers)`,
    ]);
    assertEquals(r.code, 1);
  } finally {
    await Deno.remove(file);
  }
});

// === bolt v2 CRC-32 ===

Deno.test(
  "bolt CRC32: sofa-rpc-node CRC frames go through meshctl both ways, checked and rewritten",
  opts,
  () =>
    withServer((server) =>
      withMesh(
        config({ routes: [ANY_SERVICE], hosts: { rpc: [server.address] }, protocol: "boltv2" }),
        async (mesh, port) => {
          // The client checks the CRC of every answer, the server of every request: both pass only if meshctl
          // writes the CRC again over the ids it patches.
          const client = boltClient(`127.0.0.1:${port}`, { crc: true });
          try {
            for (let i = 0; i < 5; i++) assertEquals(await client.plus(i, i), 2 * i);
          } finally {
            await client.close();
          }
          assertEquals(server.calls, 5);
          assertEquals(await counter(mesh, "codec", `listener.${LISTENER}`, "bolt_crc32_mismatch_total"), 0);
        },
      )
    ),
);

Deno.test(
  "bolt CRC32: a frame whose CRC does not match closes the connection and is counted",
  opts,
  () =>
    withServer((server) =>
      withMesh(
        config({ routes: [ANY_SERVICE], hosts: { rpc: [server.address] }, protocol: "boltv2" }),
        async (mesh, port) => {
          const frame = await encodeRequestFrame({
            id: 3,
            service: `${TEST_SERVICE}:1.0`,
            method: "plus",
            args: [int(1), int(2)],
            timeout: 3000,
            crc: true,
          });
          assertEquals([frame[1], frame[11]], [2, 1], "ver1 2, CRC switch on");
          frame[frame.length - 10]! ^= 0x01; // a content byte
          const conn = await connectLocal(port);
          try {
            await writeAll(conn, frame);
            assert(await waitClosed(conn, 3000), "meshctl kept a connection with a bad CRC open");
          } finally {
            conn.close();
          }
          assertEquals(server.calls, 0);
          assertEquals(await counter(mesh, "codec", `listener.${LISTENER}`, "bolt_crc32_mismatch_total"), 1);
          assertEquals(await counter(mesh, "downstream", `listener.${LISTENER}`, "protocol_error_total"), 1);
        },
      )
    ),
);
