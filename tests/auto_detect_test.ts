/**
 * One port, several protocols: `downstream_protocol: Auto` sniffs HTTP/1.1 (curl) and bolt
 * (sofa-rpc-node) on the same listener; unknown bytes close the connection, or go to `tcp_proxy` with
 * `fallback_for_unknown_protocol`; and a plain `tcp_proxy` listener relays both ways with an idle timeout.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, curl, type Meshctl, startMeshctl, startOrigin } from "./_e2e.ts";
import { boltClient, encodeRequestFrame, int, startBoltServer, TEST_SERVICE } from "./_peers/bolt_peers.ts";
import {
  connectLocal,
  frameId,
  FrameReader,
  responseStatus,
  waitClosed,
  writeAll,
} from "./_peers/bolt_raw.ts";
import { startEchoServer } from "./_peers/tcp_echo.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and library sockets outlive steps

const TEST_SIG = `${TEST_SERVICE}:1.0`;
/** A TLS ClientHello's first bytes: no codec claims them. */
const TLS_HELLO = new Uint8Array([
  0x16,
  0x03,
  0x01,
  0x00,
  0xa5,
  0x01,
  0x00,
  0x00,
  0xa1,
  0x03,
  0x03,
  0x5e,
  0x11,
]);

/** Where each listener of `config()` is bound (all on 127.0.0.1:0). */
interface Ports {
  auto: number;
  fallback: number;
  tcp: number;
}

function config(web: string, rpc: string, echo: string): Record<string, unknown> {
  const proxy = (extra: Record<string, unknown>) => ({
    type: "proxy",
    config: { downstream_protocol: "Auto", router_config_name: "mixed", ...extra },
  });
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "mixed",
        virtual_hosts: [
          {
            name: "named",
            domains: ["www.example.com"],
            routers: [{ match: { prefix: "/" }, direct_response: { status: 200, body: "named vhost" } }],
          },
          {
            name: "all",
            domains: ["*"],
            routers: [
              // RPC requests carry no host: they land in the `*` virtual host.
              { match: { headers: [{ name: "service", value: TEST_SIG }] }, route: { cluster_name: "rpc" } },
              { match: { prefix: "/web" }, route: { cluster_name: "web" } },
            ],
          },
        ],
      }],
      listeners: [
        {
          name: "auto",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{ filters: [proxy({})] }],
        },
        {
          name: "auto_fallback",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            filters: [
              proxy({ fallback_for_unknown_protocol: true }),
              { type: "tcp_proxy", config: { cluster: "echo", max_connect_attempts: 2 } },
            ],
          }],
        },
        {
          name: "tcp_only",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            filters: [{ type: "tcp_proxy", config: { cluster: "echo", idle_timeout: "600ms" } }],
          }],
        },
      ],
    }],
    cluster_manager: {
      clusters: [
        { name: "web", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: web }] },
        { name: "rpc", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: rpc }] },
        { name: "echo", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: echo }] },
      ],
    },
  };
}

async function withSetup(
  fn: (
    ports: Ports,
    mesh: Meshctl,
    peers: { bolt: Awaited<ReturnType<typeof startBoltServer>> },
  ) => Promise<void>,
): Promise<void> {
  const origin = startOrigin((req) => new Response(`web ${new URL(req.url).pathname}`));
  const bolt = await startBoltServer();
  const echo = startEchoServer();
  try {
    const mesh = await startMeshctl(config(origin.address, bolt.address, echo.address));
    try {
      const ports: Ports = {
        auto: mesh.port("auto"),
        fallback: mesh.port("auto_fallback"),
        tcp: mesh.port("tcp_only"),
      };
      await fn(ports, mesh, { bolt });
    } finally {
      const code = await mesh.stop();
      assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
    }
  } finally {
    await echo.stop();
    await bolt.stop();
    await origin.close();
  }
}

/** Reads from `conn` until `n` bytes arrived (or EOF/timeout). */
async function readN(conn: Deno.Conn, n: number, timeoutMs = 3000): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    while (got < n) {
      const r = await conn.read(out.subarray(got)).catch(() => null);
      if (r === null) break;
      got += r;
    }
  } finally {
    clearTimeout(timer);
  }
  return out.subarray(0, got);
}

function listenerStats(stats: Awaited<ReturnType<typeof adminStats>>, name: string): Record<string, number> {
  const found = Object.entries(stats["downstream"] ?? {}).find(([k]) =>
    k.endsWith(`.${name}`) || k.includes(`${name}`)
  );
  assert(found !== undefined, JSON.stringify(stats));
  return found![1];
}

Deno.test("Auto: one listener serves HTTP/1.1 and bolt at once", opts, async () => {
  await withSetup(async (ports, mesh, { bolt }) => {
    for (const port of [ports.auto, ports.fallback]) {
      const client = boltClient(`127.0.0.1:${port}`);
      try {
        const rpc = client.plusMany(300);
        const web = Promise.all(
          Array.from({ length: 10 }, (_, i) => curl([`http://127.0.0.1:${port}/web/${i}`])),
        );
        assertEquals(await rpc, Array.from({ length: 300 }, (_, i) => 2 * i));
        const pages = await web;
        assertEquals(pages.map((p) => p.stdout), Array.from({ length: 10 }, (_, i) => `web /web/${i}`));
        const named = await curl(["-H", "Host: www.example.com", `http://127.0.0.1:${port}/web/x`]);
        assertEquals(named.stdout, "named vhost");
        const missing = await curl([
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          `http://127.0.0.1:${port}/nothing`,
        ]);
        assertEquals(missing.stdout, "404");
      } finally {
        await client.close();
      }
    }
    assertEquals(bolt.calls, 600);
    const ds = listenerStats(await adminStats(mesh.adminPort), "auto");
    assertEquals(ds["unknown_protocol_total"] ?? 0, 0);
  });
});

Deno.test("Auto: unknown bytes close the connection without fallback", opts, async () => {
  await withSetup(async (ports, mesh) => {
    const random = crypto.getRandomValues(new Uint8Array(64));
    random[0] = 0xee; // not 0x01/0x02 (bolt) nor an HTTP method letter
    for (const bytes of [TLS_HELLO, random]) {
      const conn = await connectLocal(ports.auto);
      try {
        await writeAll(conn, bytes);
        assert(await waitClosed(conn, 3000), "meshctl kept an unknown-protocol connection open");
      } finally {
        conn.close();
      }
    }
    // A bolt request on the same listener still works afterwards.
    const conn = await connectLocal(ports.auto);
    try {
      await writeAll(
        conn,
        await encodeRequestFrame({
          id: 3,
          service: TEST_SIG,
          method: "plus",
          args: [int(1), int(2)],
          timeout: 3000,
        }),
      );
      const res = await new FrameReader(conn).next(3000);
      assert(res instanceof Uint8Array, String(res));
      assertEquals([frameId(res), responseStatus(res)], [3, 0]);
    } finally {
      conn.close();
    }
    const ds = listenerStats(await adminStats(mesh.adminPort), "auto");
    assertEquals(ds["unknown_protocol_total"], 2);
  });
});

Deno.test(
  "Auto + fallback_for_unknown_protocol: unknown bytes go to tcp_proxy and come back",
  opts,
  async () => {
    await withSetup(async (ports) => {
      const conn = await connectLocal(ports.fallback);
      try {
        await writeAll(conn, TLS_HELLO);
        assertEquals(Array.from(await readN(conn, TLS_HELLO.length)), Array.from(TLS_HELLO));
        // The relay keeps going both ways after the sniffed bytes, including large writes.
        const big = crypto.getRandomValues(new Uint8Array(65536));
        big[0] = 0x16;
        const [, echoed] = await Promise.all([writeAll(conn, big), readN(conn, big.length)]);
        assertEquals(echoed.length, big.length);
        assert(echoed.every((b, i) => b === big[i]), "echoed bytes differ");
      } finally {
        conn.close();
      }
    });
  },
);

Deno.test("tcp_proxy listener relays both ways and closes an idle connection", opts, async () => {
  await withSetup(async (ports) => {
    const conn = await connectLocal(ports.tcp);
    try {
      const hello = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"); // not parsed: raw relay
      await writeAll(conn, hello);
      assertEquals(new TextDecoder().decode(await readN(conn, hello.length)), "GET / HTTP/1.1\r\n\r\n");
      // Traffic every 200ms keeps it open past the 600ms idle timeout.
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 200));
        await writeAll(conn, new Uint8Array([i]));
        assertEquals(Array.from(await readN(conn, 1)), [i]);
      }
      // Then silence: closed after ~600ms (checked at most every 600ms).
      const t0 = Date.now();
      assert(await waitClosed(conn, 4000), "idle tcp_proxy connection stayed open");
      const took = Date.now() - t0;
      assert(took >= 500 && took < 2500, `idle close after ${took}ms`);
    } finally {
      conn.close();
    }
  });
});
