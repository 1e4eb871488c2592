/**
 * `upstream_protocol: Auto` (MOSN): one Auto listener, each request going upstream in the protocol it
 * arrived in. The upstreams each speak one protocol only and say which one they got: an HTTP/1.1-only
 * node:http origin, a strict h2c-only node:http2 origin, and a sofa-rpc-node bolt server.
 */
import http from "node:http";
import { assert, assertEquals } from "./_assert.ts";
import { curl, type Meshctl, startMeshctl } from "./_e2e.ts";
import { boltClient, startBoltServer } from "./_peers/bolt_peers.ts";
import { curlH2 } from "./_peers/h2_client.ts";
import { type EchoedRequest, startH2Origin } from "./_peers/h2_origin.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and peer sockets

interface Http1Origin {
  readonly address: string;
  /** `req.httpVersion` of every request, in order. */
  readonly versions: string[];
  stop(): Promise<void>;
}

/** An HTTP/1.x-only origin (node:http refuses HTTP/2's preface) answering with the version it parsed. */
async function startHttp1Origin(): Promise<Http1Origin> {
  const versions: string[] = [];
  const server = http.createServer((req, res) => {
    versions.push(req.httpVersion);
    req.resume();
    res.end(`HTTP/${req.httpVersion} ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    versions,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function autoConfig(
  hosts: { h1: string; h2: string; rpc: string },
  upstream: Record<string, unknown> = { upstream_protocol: "Auto" },
): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "auto",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [
            { match: { prefix: "/h1/" }, route: { cluster_name: "h1" } },
            { match: { prefix: "/h2/" }, route: { cluster_name: "h2" } },
            { match: { headers: [{ name: "service", value: ".*" }] }, route: { cluster_name: "rpc" } },
          ],
        }],
      }],
      listeners: [{
        name: "auto",
        address: "127.0.0.1:0",
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: { downstream_protocol: "Auto", router_config_name: "auto", ...upstream },
          }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: Object.entries(hosts).map(([name, address]) => ({ name, hosts: [{ address }] })),
    },
  };
}

async function withPeers(
  upstream: Record<string, unknown> | undefined,
  fn: (
    mesh: Meshctl,
    peers: { h1: Http1Origin; h2Log: readonly EchoedRequest[]; rpcCalls: () => number },
  ) => Promise<void>,
): Promise<void> {
  const h1 = await startHttp1Origin();
  const h2 = await startH2Origin({ name: "h2" });
  const rpc = await startBoltServer();
  try {
    const mesh = await startMeshctl(
      autoConfig({ h1: h1.address, h2: h2.address, rpc: rpc.address }, upstream),
    );
    try {
      await fn(mesh, { h1, h2Log: h2.log, rpcCalls: () => rpc.calls });
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
    }
  } finally {
    await h1.stop();
    await h2.stop();
    await rpc.stop();
  }
}

async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const r = await curl(["-sS", "-o", "-", "-w", "\n%{http_code}", `http://127.0.0.1:${port}${path}`]);
  assertEquals(r.code, 0, r.stderr);
  const cut = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
}

Deno.test(
  "upstream_protocol Auto: HTTP/1.1, HTTP/2 and bolt each go upstream in their own protocol",
  opts,
  () =>
    withPeers({ upstream_protocol: "Auto" }, async (mesh, peers) => {
      const port = mesh.port("auto");
      const one = await httpGet(port, "/h1/page");
      assertEquals([one.status, one.body], [200, "HTTP/1.1 /h1/page"]);
      assertEquals(peers.h1.versions, ["1.1"]);

      const two = await curlH2(`http://127.0.0.1:${port}/h2/page`);
      assertEquals([two.status, two.httpVersion], [200, "2"], two.stderr);
      const echo = JSON.parse(two.text()) as EchoedRequest;
      assertEquals([echo.protocol, echo.path], ["HTTP/2", "/h2/page"]);

      const client = boltClient(`127.0.0.1:${port}`);
      try {
        assertEquals(await client.plus(20, 22), 42);
      } finally {
        await client.close();
      }
      assertEquals(peers.rpcCalls(), 1);
    }),
);

Deno.test(
  "upstream_protocol Auto: no conversion, so HTTP/1.1 towards an h2c-only origin fails",
  opts,
  () =>
    withPeers({ upstream_protocol: "Auto" }, async (mesh, peers) => {
      const r = await httpGet(mesh.port("auto"), "/h2/page");
      assert(r.status >= 500, `HTTP/1.1 spoken to an h2c-only origin answered ${r.status}`);
      assertEquals(peers.h2Log.length, 0);
    }),
);

Deno.test(
  "a fixed proxy upstream_protocol (Http2) replaces the request's protocol upstream",
  opts,
  () =>
    withPeers({ upstream_protocol: "Http2" }, async (mesh, peers) => {
      // HTTP/1.1 in, HTTP/2 out: the h2c-only origin answers.
      const r = await httpGet(mesh.port("auto"), "/h2/page");
      assertEquals(r.status, 200, r.body);
      assertEquals((JSON.parse(r.body) as EchoedRequest).protocol, "HTTP/2");
      assertEquals(peers.h2Log.length, 1);
    }),
);
