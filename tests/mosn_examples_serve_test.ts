/**
 * Every MOSN example config kept in config/mosn_examples/ (byte-for-byte copies, see its README) does not
 * just validate: meshctl serves it, and a request or RPC from a real peer crosses every listener to a real
 * upstream. MOSN's examples come as client/server pairs (or both sides in one file) on fixed ports, so:
 *
 * - each runs from a temporary copy in which only addresses and ports change: every listener binds
 *   127.0.0.1:0, the admin API port 0, and each cluster host is either a peer on port 0 (an HTTP origin,
 *   a sofa-rpc-node server, a TCP echo) or, when the example points it at one of its own listeners (the
 *   client side's cluster is the server side's listener), that listener's bound address;
 * - the server side of a pair starts first; a file whose cluster names a listener of the same file starts
 *   with a placeholder host, and once its ports are known the copy is rewritten and reloaded (SIGHUP: the
 *   listeners keep their sockets).
 */
import { stringify } from "yaml";
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, DEAD_HOST, type Meshctl, ROOT, startMeshctl } from "./_e2e.ts";
import {
  boltClient,
  type BoltServerPeer,
  encodeHeartbeatFrame,
  startBoltServer,
  TEST_SERVICE,
} from "./_peers/bolt_peers.ts";
import { connectLocal, frameCmd, frameId, FrameReader, responseStatus, writeAll } from "./_peers/bolt_raw.ts";
import { curlH2 } from "./_peers/h2_client.ts";
import { type DualOrigin, type EchoedRequest, startDualOrigin } from "./_peers/h2_origin.ts";
import { type EchoServer, startEchoServer } from "./_peers/tcp_echo.ts";
import { DEMO_SERVICE, dubboConsumer, type DubboProvider, startDubboProvider } from "./_peers/dubbo_peers.ts";
import { int } from "./_peers/dubbo_raw.ts";
import { curl } from "./_e2e.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and peer sockets
const DIR = `${ROOT}config/mosn_examples`;

type PeerKind = "http" | "bolt" | "dubbo" | "tcp";

interface MosnConfig {
  servers: { listeners?: { name?: string; address: string }[] }[];
  cluster_manager?: { clusters?: Record<string, unknown>[] };
  admin?: unknown;
}

/** The running peers and meshctls of one deployment, by the address the example configs name. */
class Deployment {
  readonly http = new Map<string, DualOrigin>();
  readonly bolt = new Map<string, BoltServerPeer>();
  readonly dubbo = new Map<string, DubboProvider>();
  readonly tcp = new Map<string, EchoServer>();
  /** Configured listener address → where it is bound. */
  readonly bound = new Map<string, string>();
  readonly meshes = new Map<string, Meshctl>();

  /** Starts `file` with its hosts mapped (peers of `kinds`, or listeners already bound). */
  async start(file: string, kinds: Record<string, PeerKind>): Promise<Meshctl> {
    const config = JSON.parse(await Deno.readTextFile(`${DIR}/${file}`)) as MosnConfig;
    absolutePemPaths(config, `${DIR}/${file}`.replace(/\/[^/]*$/, ""));
    delete config.admin; // port 0 (startMeshctl), so this can run beside other tests
    const listeners = config.servers.flatMap((s) => s.listeners ?? []);
    // A listener without a name is named by its configured address (as meshctl and MOSN do): keep it.
    for (const l of listeners) l.name ??= l.address;
    const own = new Map(listeners.map((l) => [l.address, l.name]));
    for (const l of listeners) l.address = "127.0.0.1:0";
    const later: { host: { address: string }; listener: string }[] = [];
    for (const c of config.cluster_manager?.clusters ?? []) {
      const name = String(c["name"] ?? c["Name"]);
      for (const h of c["hosts"] as { address: string }[]) {
        const ownListener = own.get(h.address);
        if (ownListener !== undefined) {
          later.push({ host: h, listener: ownListener });
          h.address = DEAD_HOST; // until that listener is bound
        } else if (this.bound.has(h.address)) {
          h.address = this.bound.get(h.address)!;
        } else {
          const kind = kinds[name];
          assert(kind !== undefined, `${file}: what is cluster ${name}?`);
          h.address = await this.#peer(kind, h.address);
        }
      }
    }
    const mesh = await startMeshctl(config as unknown as Record<string, unknown>);
    this.meshes.set(file, mesh);
    for (const [address, name] of own) this.bound.set(address, mesh.listeners[name!]!);
    if (later.length > 0) {
      for (const { host, listener } of later) host.address = mesh.listeners[listener!]!;
      const admin = { admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } };
      await Deno.writeTextFile(mesh.configPath, stringify({ ...admin, ...config }));
      mesh.process.kill("SIGHUP");
      await waitFor(() => mesh.logs().includes("config reloaded"), mesh);
      const after = await mesh.readAddresses();
      assertEquals(
        after.listeners,
        Object.fromEntries(listeners.map((l) => [l.name!, mesh.listeners[l.name!]])),
      );
    }
    return mesh;
  }

  async #peer(kind: PeerKind, configured: string): Promise<string> {
    switch (kind) {
      case "http": {
        const o = this.http.get(configured) ?? startDualOrigin({ name: configured });
        this.http.set(configured, o);
        return o.address;
      }
      case "bolt": {
        const b = this.bolt.get(configured) ?? await startBoltServer({ name: configured });
        this.bolt.set(configured, b);
        return b.address;
      }
      case "dubbo": {
        const p = this.dubbo.get(configured) ?? startDubboProvider({ identity: configured });
        this.dubbo.set(configured, p);
        return p.address;
      }
      case "tcp": {
        const e = this.tcp.get(configured) ?? startEchoServer();
        this.tcp.set(configured, e);
        return e.address;
      }
    }
  }

  /** The bound port of the listener the example config puts at `configured`. */
  port(configured: string): number {
    const a = this.bound.get(configured);
    assert(a !== undefined, `no listener at ${configured}`);
    return Number(a.slice(a.lastIndexOf(":") + 1));
  }

  async stop(): Promise<void> {
    const failures: string[] = [];
    // Clients first, so no server goes away under a call.
    for (const [file, mesh] of [...this.meshes].reverse()) {
      const code = await mesh.stop();
      if (code !== 0) failures.push(`${file}: meshctl exited ${code}\n${mesh.logs()}`);
    }
    for (const o of this.http.values()) await o.stop();
    for (const b of this.bolt.values()) await b.stop();
    for (const p of this.dubbo.values()) await p.stop();
    for (const e of this.tcp.values()) await e.stop();
    assertEquals(failures, []);
  }
}

/**
 * The copy runs from a temporary directory: certificate paths relative to the example's own directory
 * (MOSN's examples say "../certs/cert.pem") become absolute, so they name the same files.
 */
function absolutePemPaths(node: unknown, dir: string): void {
  if (Array.isArray(node)) {
    for (const n of node) absolutePemPaths(n, dir);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const o = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (
      ["ca_cert", "cert_chain", "private_key"].includes(k) && typeof v === "string" && v !== "" &&
      !v.includes("-----BEGIN") && !v.startsWith("/")
    ) {
      o[k] = `${dir}/${v}`;
    } else absolutePemPaths(v, dir);
  }
}

async function waitFor(cond: () => boolean, mesh: Meshctl, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met in time:\n${mesh.logs()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function plus(port: number): Promise<unknown> {
  const client = boltClient(`127.0.0.1:${port}`);
  try {
    return await client.plus(40, 2);
  } finally {
    await client.close();
  }
}

async function whoami(port: number): Promise<unknown> {
  const client = boltClient(`127.0.0.1:${port}`);
  try {
    return await client.invoke(TEST_SERVICE, "whoami", []);
  } finally {
    await client.close();
  }
}

/** A raw heartbeat; the ack's command code, id and status. */
async function heartbeat(port: number, id: number): Promise<[number, number, number]> {
  const conn = await connectLocal(port);
  try {
    await writeAll(conn, await encodeHeartbeatFrame(id));
    const ack = await new FrameReader(conn).next();
    assert(ack instanceof Uint8Array, `no heartbeat ack: ${ack}`);
    return [frameCmd(ack), frameId(ack), responseStatus(ack)];
  } finally {
    conn.close();
  }
}

async function http1(port: number, path: string): Promise<EchoedRequest> {
  const r = await curl(["-sS", "-f", `http://127.0.0.1:${port}${path}`]);
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as EchoedRequest;
}

/** curl over TLS with MOSN's example certificates (OpenSSL calls their chain self-signed: -k). */
async function https1(
  port: number,
  path: string,
  clientCert: boolean,
): Promise<{ code: number; stderr: string }> {
  const certs = `${DIR}/certs`;
  const auth = clientCert ? ["--cert", `${certs}/cert.pem`, "--key", `${certs}/key.pem`] : [];
  const r = await curl(["-sS", "-f", "-k", ...auth, `https://127.0.0.1:${port}${path}`]);
  return { code: r.code, stderr: r.stderr };
}

async function http2(port: number, path: string): Promise<EchoedRequest> {
  const r = await curlH2(`http://127.0.0.1:${port}${path}`);
  assertEquals([r.status, r.httpVersion], [200, "2"], r.stderr);
  return JSON.parse(r.text()) as EchoedRequest;
}

async function echoed(port: number, text: string): Promise<string> {
  const conn = await connectLocal(port);
  try {
    await writeAll(conn, new TextEncoder().encode(text));
    const buf = new Uint8Array(text.length);
    let got = 0;
    while (got < buf.length) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    return new TextDecoder().decode(buf.subarray(0, got));
  } finally {
    conn.close();
  }
}

async function requests(mesh: Meshctl, listener: string, counter = "request_total"): Promise<number> {
  return (await adminStats(mesh.adminPort))["downstream"]?.[`listener.${listener}`]?.[counter] ?? 0;
}

interface Plan {
  /** The files of one deployment, server side first. */
  files: string[];
  /** What each cluster's (non-listener) hosts are. */
  clusters: Record<string, PeerKind>;
  traffic(d: Deployment): Promise<void>;
}

/** The RPC pair in one file (configs/mosn_rpc_config*.json): client 2045 → server 2046 → upstream. */
function rpcPair(file: string, upstream: string): Plan {
  return {
    files: [file],
    clusters: { serverCluster: "bolt" },
    async traffic(d) {
      const mesh = d.meshes.get(file)!;
      assertEquals(await plus(d.port("127.0.0.1:2045")), 42, "client listener → server listener → upstream");
      assertEquals(await whoami(d.port("127.0.0.1:2045")), upstream);
      assertEquals(await requests(mesh, "clientListener"), 2);
      assertEquals(await requests(mesh, "serverListener"), 2);
      // The server listener's healthcheck filter answers heartbeats; the client listener's codec does.
      assertEquals(await heartbeat(d.port("127.0.0.1:2046"), 5), [0, 5, 0]);
      assertEquals(await heartbeat(d.port("127.0.0.1:2045"), 6), [0, 6, 0]);
      assertEquals(await requests(mesh, "serverListener", "healthcheck_healthy_total"), 1);
      assertEquals(await requests(mesh, "clientListener", "heartbeat_total"), 1);
    },
  };
}

const PLANS: Plan[] = [
  rpcPair("mosn_rpc_config.json", "127.0.0.1:8080"),
  rpcPair("mosn_rpc_config_bolt.json", "127.0.0.1:12199"),
  {
    // upstream_protocol Auto on both sides: HTTP/1.1 stays HTTP/1.1, HTTP/2 stays HTTP/2.
    files: ["protocol-auto-sample_server_config.json", "protocol-auto-sample_client_config.json"],
    clusters: { serverCluster: "http" },
    async traffic(d) {
      const port = d.port("127.0.0.1:2045");
      const one = await http1(port, "/one");
      assertEquals([one.origin, one.path, one.headers["host"] !== undefined], [
        "127.0.0.1:8080",
        "/one",
        true,
      ]);
      const two = await http2(port, "/two");
      assertEquals([two.origin, two.path], ["127.0.0.1:8080", "/two"]);
      assertEquals(two.headers["host"], undefined, "HTTP/2 all the way: no Host field");
    },
  },
  {
    files: [
      "sofarpc-with-xprotocol-sample_server_config.json",
      "sofarpc-with-xprotocol-sample_client_config.json",
    ],
    clusters: { serverCluster: "bolt" },
    async traffic(d) {
      assertEquals(await plus(d.port("127.0.0.1:2045")), 42);
      const server = d.meshes.get("sofarpc-with-xprotocol-sample_server_config.json")!;
      assertEquals(await heartbeat(d.port("127.0.0.1:2046"), 9), [0, 9, 0]);
      assertEquals(await requests(server, "serverListener", "healthcheck_healthy_total"), 1);
    },
  },
  {
    // dubbo2.js → client listener 2045 → server listener 2046 → a hessian.js provider, routed by
    // MOSN's RPC rule (`service: .*`) on both sides; their `tracing` block loads with a warning.
    files: ["dubbo_server_config.json", "dubbo_client_config.json"],
    clusters: { serverCluster: "dubbo" },
    async traffic(d) {
      const consumer = dubboConsumer(`127.0.0.1:${d.port("0.0.0.0:2045")}`);
      try {
        assertEquals(await consumer.call(DEMO_SERVICE, "plus", [int(40), int(2)], { version: "1.0.0" }), 42);
        assertEquals(
          await consumer.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0" }),
          "127.0.0.1:20880",
        );
      } finally {
        await consumer.close();
      }
      const client = d.meshes.get("dubbo_client_config.json")!;
      const server = d.meshes.get("dubbo_server_config.json")!;
      assertEquals(await requests(client, "clientListener"), 2);
      assertEquals(await requests(server, "serverListener"), 2);
      assertEquals(d.dubbo.get("127.0.0.1:20880")!.calls.length, 2);
      assert(client.logs().includes("tracing: warning: tracing is not implemented"), client.logs());
    },
  },
  {
    files: ["tcpproxy-sample_config.json"],
    clusters: { serverCluster: "tcp" },
    async traffic(d) {
      assertEquals(await echoed(d.port("127.0.0.1:2045"), "hello over tcp_proxy"), "hello over tcp_proxy");
      const logs = d.meshes.get("tcpproxy-sample_config.json")!.logs();
      assert(logs.includes("config.routes: warning: routes are never consulted"), logs);
    },
  },
  {
    files: ["http-sample_server_config.json", "http-sample_client_config.json"],
    clusters: { serverCluster: "http" },
    async traffic(d) {
      const e = await http1(d.port("127.0.0.1:2045"), "/hello");
      assertEquals([e.origin, e.path], ["127.0.0.1:8080", "/hello"]);
    },
  },
  {
    // TLS (issue 10): the client side's cluster speaks mTLS with MOSN's example certificates (server_name
    // 127.0.0.1: no SNI, the IP SAN verified) to the server side's listener, which requires and verifies
    // the client certificate.
    files: ["tls/http-sample_tls_server_config.json", "tls/http-sample_tls_client_config.json"],
    clusters: { serverCluster: "http" },
    async traffic(d) {
      const e = await http1(d.port("127.0.0.1:2045"), "/hello");
      assertEquals([e.origin, e.path], ["127.0.0.1:8080", "/hello"]);
      const server = d.meshes.get("tls/http-sample_tls_server_config.json")!;
      assertEquals(await requests(server, "serverListener", "tls_handshake_total"), 1);
      // Straight to the TLS listener: with the client certificate served, without it refused.
      assertEquals((await https1(d.port("127.0.0.1:2046"), "/direct", true)).code, 0);
      assert((await https1(d.port("127.0.0.1:2046"), "/direct", false)).code !== 0);
      assertEquals(await requests(server, "serverListener", "tls_fail_no_certificate_total"), 1);
    },
  },
  {
    // Auto on both sides over TLS (ecdh_curves P256 loads with a warning): HTTP/1.1 stays HTTP/1.1 and
    // HTTP/2 stays HTTP/2, the TLS hop negotiating h2 by ALPN.
    files: [
      "tls/protocol-auto-sample_tls_server_config.json",
      "tls/protocol-auto-sample_tls_client_config.json",
    ],
    clusters: { serverCluster: "http" },
    async traffic(d) {
      const port = d.port("127.0.0.1:2045");
      assertEquals((await http1(port, "/one")).path, "/one");
      const two = await http2(port, "/two");
      assertEquals([two.origin, two.path, two.headers["host"]], ["127.0.0.1:8080", "/two", undefined]);
      const server = d.meshes.get("tls/protocol-auto-sample_tls_server_config.json")!;
      assert(server.logs().includes("ecdh_curves"), server.logs());
      assertEquals(
        await requests(server, "serverListener", "tls_handshake_total"),
        2,
        "one session per protocol",
      );
    },
  },
  {
    files: [
      "tls/sofarpc-with-xprotocol-sample_tls_server_config.json",
      "tls/sofarpc-with-xprotocol-sample_tls_client_config.json",
    ],
    clusters: { serverCluster: "bolt" },
    async traffic(d) {
      assertEquals(await plus(d.port("127.0.0.1:2045")), 42);
      assertEquals(await whoami(d.port("127.0.0.1:2045")), "127.0.0.1:8080");
      const server = d.meshes.get("tls/sofarpc-with-xprotocol-sample_tls_server_config.json")!;
      assertEquals(await requests(server, "serverListener"), 2);
      assertEquals(await requests(server, "serverListener", "tls_handshake_total"), 1);
    },
  },
  {
    files: ["proxy-fallback-example_config.json"],
    clusters: { server_http_cluster: "http", server_tcp_cluster: "tcp" },
    async traffic(d) {
      const port = d.port("127.0.0.1:2046");
      assertEquals((await http1(port, "/x")).origin, "127.0.0.1:8080");
      assertEquals(
        await echoed(port, "\x16\x03\x01 not a protocol"),
        "\x16\x03\x01 not a protocol",
        "fallback",
      );
    },
  },
];

Deno.test("every config/mosn_examples file is served by a plan below", () => {
  const json = (sub: string) =>
    [...Deno.readDirSync(`${DIR}/${sub}`)].map((e) => `${sub}${e.name}`).filter((n) => n.endsWith(".json"));
  const files = [...json(""), ...json("tls/")].sort();
  assertEquals(PLANS.flatMap((p) => p.files).sort(), files);
});

for (const plan of PLANS) {
  Deno.test(
    `MOSN example ${plan.files.join(" + ")} serves real peers through every listener`,
    opts,
    async () => {
      const d = new Deployment();
      try {
        for (const f of plan.files) await d.start(f, plan.clusters);
        await plan.traffic(d);
      } finally {
        await d.stop();
      }
    },
  );
}
