/**
 * Every documented example in config/examples/ does not just validate: it starts, and every one of its
 * listeners carries traffic to the upstream (or the direct response / redirect) it documents.
 *
 * Each example runs from a copy whose listeners bind 127.0.0.1:0 and whose cluster hosts are replaced by
 * peers on port 0 that say who they are: an HTTP origin per host address answers with that address, a
 * sofa-rpc-node server per host's `whoami()` returns it, a TCP echo server echoes.
 */
import { assert, assertEquals } from "./_assert.ts";
import { parse } from "yaml";
import {
  adminStats,
  curl,
  type Meshctl,
  type Origin,
  portOf,
  ROOT,
  startMeshctl,
  startOrigin,
} from "./_e2e.ts";
import { boltClient, type BoltServerPeer, startBoltServer, TEST_SERVICE } from "./_peers/bolt_peers.ts";
import { connectLocal, waitClosed, writeAll } from "./_peers/bolt_raw.ts";
import { type EchoServer, startEchoServer } from "./_peers/tcp_echo.ts";
import { grpcClient, type GrpcServerPeer, startGrpcServer } from "./_peers/grpc_peers.ts";
import { curlH2 } from "./_peers/h2_client.ts";

const dir = `${ROOT}config/examples`;
const ORDER_SERVICE = "com.example.OrderService";

type PeerKind = "http" | "bolt" | "tcp" | "grpc";

/** What an HTTP peer saw, as it answers it (JSON). */
interface Echo {
  /** The host address the example config names for this peer. */
  upstream: string;
  method: string;
  path: string;
  host: string | null;
  route: string | null;
}

interface HttpReply {
  status: number;
  headers: Headers;
  body: string;
}

/** The running peers, keyed by the host address the example config names. */
class Peers {
  readonly http = new Map<string, Origin>();
  readonly bolt = new Map<string, BoltServerPeer>();
  readonly tcp = new Map<string, EchoServer>();
  readonly grpc = new Map<string, GrpcServerPeer>();
  /** 503s served before a success, per HTTP peer (retry.yaml): set before traffic. */
  readonly failFirst = new Map<string, number>();

  async start(kind: PeerKind, configured: string): Promise<string> {
    switch (kind) {
      case "http": {
        let origin = this.http.get(configured);
        if (origin === undefined) {
          origin = startOrigin(async (req) => {
            await req.body?.cancel();
            const left = this.failFirst.get(configured) ?? 0;
            if (left > 0) {
              this.failFirst.set(configured, left - 1);
              return new Response(`busy ${configured}`, { status: 503 });
            }
            const u = new URL(req.url);
            const echo: Echo = {
              upstream: configured,
              method: req.method,
              path: u.pathname + u.search,
              host: req.headers.get("host"),
              route: req.headers.get("x-route"),
            };
            return Response.json(echo);
          });
          this.http.set(configured, origin);
        }
        return origin.address;
      }
      case "bolt": {
        let server = this.bolt.get(configured);
        if (server === undefined) {
          server = await startBoltServer({ name: configured, whoamiServices: [ORDER_SERVICE] });
          this.bolt.set(configured, server);
        }
        return server.address;
      }
      case "grpc": {
        let server = this.grpc.get(configured);
        if (server === undefined) {
          server = await startGrpcServer({ name: configured });
          this.grpc.set(configured, server);
        }
        return server.address;
      }
      case "tcp": {
        let echo = this.tcp.get(configured);
        if (echo === undefined) {
          echo = startEchoServer();
          this.tcp.set(configured, echo);
        }
        return echo.address;
      }
    }
  }

  async stop(): Promise<void> {
    for (const o of this.http.values()) await o.close();
    for (const b of this.bolt.values()) await b.stop();
    for (const e of this.tcp.values()) await e.stop();
    for (const g of this.grpc.values()) await g.stop();
  }
}

interface Plan {
  /** The kind of peer each cluster's hosts are. */
  clusters: Record<string, PeerKind>;
  /** Sends requests through every listener and checks where each one went. */
  traffic(mesh: Meshctl, peers: Peers): Promise<void>;
  /** Extra `serve` arguments. */
  args?: string[];
}

/** One HTTP/1.1 request through curl; the reply's status, headers and body. */
async function http(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  const args = ["-i", "-X", opts.method ?? "GET"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  const r = await curl([...args, `http://127.0.0.1:${port}${path}`]);
  assertEquals(r.code, 0, r.stderr);
  const end = r.stdout.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = r.stdout.slice(0, end).split("\r\n");
  const headers = new Headers();
  for (const l of lines) headers.append(l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim());
  return { status: Number(statusLine!.split(" ")[1]), headers, body: r.stdout.slice(end + 4) };
}

/** The upstream an HTTP reply came from, with what it saw; fails unless an HTTP peer answered 200. */
function echoOf(reply: HttpReply): Echo {
  assertEquals(reply.status, 200, reply.body);
  return JSON.parse(reply.body) as Echo;
}

async function whoami(port: number, service: string): Promise<unknown> {
  const client = boltClient(`127.0.0.1:${port}`);
  try {
    return await client.invoke(service, "whoami", []);
  } finally {
    await client.close();
  }
}

/** Bytes no codec claims (a TLS ClientHello's start). */
const TLS_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]);

async function echoedThrough(port: number, bytes: Uint8Array): Promise<Uint8Array> {
  const conn = await connectLocal(port);
  try {
    await writeAll(conn, bytes);
    const out = new Uint8Array(bytes.length);
    let got = 0;
    const timer = setTimeout(() => conn.close(), 3000);
    try {
      while (got < out.length) {
        const n = await conn.read(out.subarray(got)).catch(() => null);
        if (n === null) break;
        got += n;
      }
    } finally {
      clearTimeout(timer);
    }
    return out.subarray(0, got);
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

const PLANS: Record<string, Plan> = {
  "auto_fallback.yaml": {
    clusters: { web: "http", rpc: "bolt", raw_tcp: "tcp" },
    async traffic(mesh) {
      for (const listener of ["mixed", "limited"]) {
        const port = mesh.port(listener);
        assertEquals(echoOf(await http(port, "/page")).upstream, "127.0.0.1:8080", listener);
        assertEquals(await whoami(port, TEST_SERVICE), "127.0.0.1:12200", listener);
      }
      // Unknown bytes: relayed to raw_tcp on "mixed" (fallback), refused on "limited".
      assertEquals(Array.from(await echoedThrough(mesh.port("mixed"), TLS_HELLO)), Array.from(TLS_HELLO));
      const conn = await connectLocal(mesh.port("limited"));
      try {
        await writeAll(conn, TLS_HELLO);
        assert(await waitClosed(conn, 3000), "limited kept an unknown-protocol connection open");
      } finally {
        conn.close();
      }
    },
  },

  "bolt_routing.yaml": {
    clusters: { orders: "bolt", rpc_default: "bolt" },
    async traffic(mesh) {
      const port = mesh.port("bolt_egress");
      assertEquals(await whoami(port, ORDER_SERVICE), "127.0.0.1:12200", "OrderService goes to orders");
      assertEquals(await whoami(port, TEST_SERVICE), "127.0.0.1:12201", "any other service to rpc_default");
    },
  },

  "grpc_http2.yaml": {
    clusters: { grpc_echo: "grpc", grpc_slow: "grpc", web: "http" },
    async traffic(mesh) {
      const client = grpcClient(`127.0.0.1:${mesh.port("grpc_ingress")}`);
      try {
        const servers = new Set<string>();
        for (let i = 0; i < 4; i++) {
          const r = await client.say(`hello ${i}`);
          assertEquals(r.status.code, 0, r.status.details);
          servers.add(r.value!.server);
        }
        assertEquals(
          [...servers].sort(),
          ["127.0.0.1:50051", "127.0.0.1:50052"],
          "round robin over grpc_echo",
        );
        const slow = await client.sleep(1);
        assertEquals(
          [slow.status.code, slow.value?.server],
          [0, "127.0.0.1:50053"],
          "Sleep goes to grpc_slow",
        );
      } finally {
        client.close();
      }
      const web = await curlH2(`http://127.0.0.1:${mesh.port("h2_to_h1")}/page`);
      assertEquals(web.status, 200, web.text());
      assertEquals((JSON.parse(web.text()) as Echo).upstream, "127.0.0.1:8080");
    },
  },

  "http_routing.yaml": {
    clusters: { auth: "http", users: "http", api_v1: "http" },
    async traffic(mesh) {
      const port = mesh.port("http_ingress");
      const api = { host: "api.example.com" };

      const login = await http(port, "/v1/login", { method: "POST", headers: api });
      assertEquals(login.headers.get("x-served-by"), "meshctl");
      const loginEcho = echoOf(login);
      assertEquals([loginEcho.upstream, loginEcho.method, loginEcho.path], [
        "127.0.0.1:9001",
        "POST",
        "/login",
      ]);

      const user = echoOf(await http(port, "/v1/users/42", { headers: { ...api, "x-tenant": "acme" } }));
      assertEquals(user, {
        upstream: "127.0.0.1:9002",
        method: "GET",
        path: "/users/42",
        host: "users.internal",
        route: "users",
      });
      // Another tenant misses the users route and falls through to the /v1/ prefix.
      const other = echoOf(await http(port, "/v1/users/42", { headers: { ...api, "x-tenant": "initech" } }));
      assertEquals([other.upstream, other.path], ["127.0.0.1:9003", "/v1/users/42"]);

      const canary = echoOf(await http(port, "/anything", { headers: { "x-canary": "1" } }));
      assertEquals([canary.upstream, canary.path], ["127.0.0.1:9003", "/anything"]);

      const moved = await http(port, "/old/page");
      assertEquals([moved.status, moved.headers.get("location")], [308, "https://api.example.com/v1/"]);
      const health = await http(port, "/healthz");
      assertEquals([health.status, health.body], [200, "ok\n"]);
      const none = await http(port, "/nothing");
      assertEquals([none.status, none.body], [404, "no route\n"]);
    },
  },

  "load_balancing.yaml": {
    clusters: {
      random: "http",
      round_robin: "http",
      weighted: "http",
      least_request: "http",
      sticky: "http",
    },
    async traffic(mesh) {
      const port = mesh.port("lb");
      const two = ["127.0.0.1:9301", "127.0.0.1:9302"];
      const via = async (path: string, headers: Record<string, string> = {}) =>
        echoOf(await http(port, path, { headers })).upstream;

      assert(two.includes(await via("/random")));
      const rr = [await via("/rr"), await via("/rr")];
      assertEquals(rr.sort(), two, "round robin takes both hosts in turn");
      assert(two.includes(await via("/wrr")));
      assert([...two, "127.0.0.1:9303"].includes(await via("/least")));
      const sticky = new Set<string>();
      for (let i = 0; i < 5; i++) sticky.add(await via("/", { "x-user-id": "user-7" }));
      assertEquals(sticky.size, 1, `one user id, one host: ${[...sticky]}`);
      assert(two.includes([...sticky][0]!));
    },
  },

  "retry.yaml": {
    clusters: { flaky: "http" },
    async traffic(mesh, peers) {
      // Each host answers 503 once, then 200: with num_retries 2 the request succeeds whichever host
      // each try picks, after at least one retry.
      for (const a of ["127.0.0.1:9201", "127.0.0.1:9202"]) peers.failFirst.set(a, 1);
      const reply = echoOf(await http(mesh.port("retrying"), "/work"));
      assert(["127.0.0.1:9201", "127.0.0.1:9202"].includes(reply.upstream), reply.upstream);
      const retries = (await adminStats(mesh.adminPort))["upstream"]?.["cluster.flaky"]?.["request_retry"];
      assert(retries !== undefined && retries >= 1 && retries <= 2, `request_retry = ${retries}`);
      const seen = [...peers.http.values()].reduce((n, o) => n + o.requests, 0);
      assertEquals(seen, 1 + retries, "one try plus one per retry");
    },
  },

  "strict_dns.yaml": {
    // example.com is out of reach here: its host becomes localhost:<port>, still resolved by DNS.
    clusters: { example_com: "http" },
    async traffic(mesh) {
      const echo = echoOf(await http(mesh.port("egress"), "/index.html"));
      assertEquals(echo, {
        upstream: "example.com:80",
        method: "GET",
        path: "/index.html",
        host: "example.com",
        route: null,
      });
    },
  },

  "health.yaml": {
    clusters: { backend: "http" },
    // One event loop (the default): health with workers is tests/health_workers_test.ts.
    args: ["--concurrency", "1"],
    async traffic(mesh) {
      // Priority 0 is healthy: the priority 1 host (:9403) takes nothing.
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(echoOf(await http(mesh.port("checked"), "/orders")).upstream);
      assertEquals([...seen].sort(), ["127.0.0.1:9401", "127.0.0.1:9402"]);
      const cluster = (await adminStats(mesh.adminPort))["upstream"]?.["cluster.backend"];
      assertEquals(cluster?.["membership_total"], 3);
      assertEquals(cluster?.["membership_healthy"], 3);
    },
  },

  "limits.yaml": {
    clusters: { backend: "http" },
    async traffic(mesh) {
      const echo = echoOf(await http(mesh.port("guarded"), "/checkout"));
      assertEquals(echo.upstream, "127.0.0.1:9300");
      assertEquals(echo.path, "/checkout");
    },
  },

  "weighted_clusters.yaml": {
    clusters: { shop_v1: "http", shop_v2: "http" },
    async traffic(mesh) {
      const counts = new Map<string, number>();
      for (let i = 0; i < 40; i++) {
        const upstream = echoOf(await http(mesh.port("shop"), "/cart")).upstream;
        counts.set(upstream, (counts.get(upstream) ?? 0) + 1);
      }
      for (const u of counts.keys()) assert(["127.0.0.1:9101", "127.0.0.1:9102"].includes(u), u);
      const v1 = counts.get("127.0.0.1:9101") ?? 0;
      assert(v1 > 40 - v1, `90/10 split, yet v1 got ${v1} of 40`);
    },
  },
};

interface ExampleConfig {
  servers: { listeners: { name: string; address: string }[] }[];
  cluster_manager: { clusters: { name: string; type?: string; hosts: { address: string }[] }[] };
  admin?: unknown;
}

const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".yaml")).sort();

Deno.test("every config/examples file has a traffic plan below", () => {
  assertEquals(files, Object.keys(PLANS).sort());
});

for (const file of files) {
  Deno.test(`config/examples/${file} starts and carries traffic through every listener`, {
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const plan = PLANS[file];
    assert(plan !== undefined, `no traffic plan for config/examples/${file}`);
    const config = parse(await Deno.readTextFile(`${dir}/${file}`)) as ExampleConfig;
    delete config.admin; // port 0 instead, so this can run beside other tests
    const listeners = config.servers.flatMap((s) => s.listeners);
    for (const l of listeners) l.address = "127.0.0.1:0";
    const peers = new Peers();
    try {
      for (const c of config.cluster_manager.clusters) {
        const kind = plan.clusters[c.name];
        assert(kind !== undefined, `the plan does not say what cluster ${c.name} is`);
        for (const h of c.hosts) {
          const peer = await peers.start(kind, h.address);
          // A STRICT_DNS host stays a name to resolve.
          h.address = c.type === "STRICT_DNS" ? `localhost:${portOf(peer)}` : peer;
        }
      }
      const mesh = await startMeshctl(config as unknown as Record<string, unknown>, {
        args: plan.args ?? [],
      });
      try {
        await plan.traffic(mesh, peers);
        const downstream = (await adminStats(mesh.adminPort))["downstream"] ?? {};
        for (const l of listeners) {
          const requests = downstream[`listener.${l.name}`]?.["request_total"] ?? 0;
          assert(requests > 0, `no request went through listener ${l.name}: ${JSON.stringify(downstream)}`);
        }
      } finally {
        assertEquals(await mesh.stop(), 0, mesh.logs());
      }
    } finally {
      await peers.stop();
    }
  });
}
