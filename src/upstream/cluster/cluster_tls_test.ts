/**
 * A cluster with a TLS context: its pools and `connectHost` dial TLS to its hosts (plaintext to a
 * `tls_disable` one), failed handshakes count as connect failures, TLS stats sit in its upstream scope.
 * Real peers: a node:tls server and a plain TCP one on 127.0.0.1.
 */
import tls from "node:tls";
import net from "node:net";
import { assert, assertEquals, assertMatch } from "../../../tests/_assert.ts";
import { makeTestPki, type TestPki } from "../../../tests/_peers/certs.ts";
import { ProxyError, silentLogger } from "../../core/mod.ts";
import {
  type ClusterConfig,
  DEFAULT_VALIDATION_CONTEXT,
  parseConfigText,
  type TlsContextConfig,
} from "../../config/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import type { PoolWaiter, UpstreamConnection } from "../pool/types.ts";
import { Cluster } from "./cluster.ts";
import { ClusterManager } from "./cluster_manager.ts";

const pki: TestPki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

/** A SIMPLE cluster "c" whose hosts are `hosts` ("127.0.0.1:port", tls_disable when flagged). */
function clusterConfig(
  hosts: { port: number; tlsDisable?: boolean }[],
  ctx: TlsContextConfig,
): ClusterConfig {
  const doc = {
    servers: [{
      listeners: [{
        address: "127.0.0.1:0",
        filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "c" } }] }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "c",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        connect_timeout: "2s",
        hosts: hosts.map((h) => ({ address: `127.0.0.1:${h.port}` })),
      }],
    },
  };
  const { snapshot, errors } = parseConfigText(JSON.stringify(doc), "c.json", DEFAULT_VALIDATION_CONTEXT);
  assertEquals(errors, []);
  const base = snapshot!.clusters[0]!;
  // The TLS fields are built here until the config work fills them from tls_context / tls_disable.
  return {
    ...base,
    hosts: base.hosts.map((h, i) => ({ ...h, tlsDisable: hosts[i]!.tlsDisable ?? false })),
    tls: ctx,
  };
}

function context(over: Partial<TlsContextConfig> = {}): TlsContextConfig {
  return {
    serverName: "server.test",
    caCert: { path: undefined, pem: pki.ca.cert },
    certChain: undefined,
    privateKey: undefined,
    verifyClient: false,
    requireClientCert: false,
    insecureSkip: false,
    minVersion: undefined,
    maxVersion: undefined,
    alpn: [],
    matchSubjectAltNames: [],
    configPath: "cluster_manager.clusters[0].tls_context",
    ...over,
  };
}

interface Peer {
  readonly port: number;
  /** Connections accepted. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** An HTTP/1.1 "ok" server, over TLS (server certificate) or plain TCP. */
async function startHttpPeer(secure: boolean): Promise<Peer> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const onConnection = (s: net.Socket) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s)).on("error", () => {});
    s.on("data", () => s.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
  };
  const server = secure
    ? tls.createServer({ cert: pki.server.cert, key: pki.server.key }, onConnection)
    : net.createServer(onConnection);
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Acquires a connection from `cluster`'s Http1 pool for its `i`th host. */
function acquire(cluster: Cluster, i: number): Promise<UpstreamConnection> {
  const pool = cluster.pool(cluster.hosts[i]!, "Http1");
  return new Promise((resolve, reject) => {
    const waiter: PoolWaiter = { onPoolReady: resolve, onPoolFailure: reject };
    const got = pool.acquire(waiter);
    if (got instanceof ProxyError) reject(got);
    else if (got !== undefined) resolve(got);
  });
}

Deno.test("Cluster pools dial TLS to their hosts, and plaintext to a tls_disable host", async () => {
  const secure = await startHttpPeer(true);
  const plain = await startHttpPeer(false);
  const registry = new StatsRegistry();
  const cluster = new Cluster(
    clusterConfig([{ port: secure.port }, { port: plain.port, tlsDisable: true }], context()),
    registry,
    silentLogger,
  );
  try {
    const a = await acquire(cluster, 0);
    assertEquals(a.tls?.version, "TLSv1.3");
    assertEquals(a.tls?.sni, "server.test");
    assertEquals(a.tls?.alpn, undefined, "offered http/1.1; the server chose nothing, which HTTP/1 allows");
    const b = await acquire(cluster, 1);
    assertEquals(b.tls, undefined);
    // Released and acquired again: the same pooled session, no second handshake.
    cluster.pool(cluster.hosts[0]!, "Http1").release(a);
    assert((await acquire(cluster, 0)) === a, "the idle TLS connection is reused");
    const s = registry.scope("upstream", { cluster: "c" }).snapshot().counters;
    assertEquals(s["tls_handshake_total"], 1);
    assertEquals(s["connection_total"], 2);
    assertEquals([secure.accepted, plain.accepted], [1, 1]);
  } finally {
    cluster.close();
    await secure.close();
    await plain.close();
  }
});

Deno.test("Cluster: a failed TLS handshake is a connect failure that frees its connection slot", async () => {
  const secure = await startHttpPeer(true);
  const registry = new StatsRegistry();
  const cluster = new Cluster(
    clusterConfig([{ port: secure.port }], context({ serverName: "wrong.test" })),
    registry,
    silentLogger,
  );
  try {
    const err = await acquire(cluster, 0).then(() => undefined, (e) => e);
    assert(err instanceof ProxyError, String(err));
    assertEquals([err.kind, err.retryable], ["connect_failure", true]);
    assertMatch(err.message, /not valid for wrong\.test/);
    const s = registry.scope("upstream", { cluster: "c" }).snapshot();
    assertEquals(s.counters["connection_con_fail"], 1);
    assertEquals(s.counters["tls_fail_verify_total"], 1);
    assertEquals(s.gauges["connection_active"], 0);
    assertEquals(cluster.connections, 0);
  } finally {
    cluster.close();
    await secure.close();
  }
});

Deno.test("Cluster.connectHost() speaks TLS to a host unless it is tls_disable", async () => {
  const secure = await startHttpPeer(true);
  const plain = await startHttpPeer(false);
  const cluster = new Cluster(
    clusterConfig([{ port: secure.port }, { port: plain.port, tlsDisable: true }], context()),
    new StatsRegistry(),
    silentLogger,
  );
  const request = new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  try {
    for (const i of [0, 1]) {
      const conn = await cluster.connectHost(cluster.hosts[i]!);
      await conn.write(request);
      const buf = new Uint8Array(256);
      const n = await conn.read(buf);
      assertMatch(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 OK/);
      conn.close();
    }
    assertEquals([secure.accepted, plain.accepted], [1, 1]);
  } finally {
    cluster.close();
    await secure.close();
    await plain.close();
  }
});

Deno.test("ClusterManager refuses a cluster whose TLS material is unusable, naming the field", () => {
  const good = { ...clusterConfig([{ port: 1 }], context()), name: "good" };
  const bad = clusterConfig([{ port: 1 }], context({ caCert: { path: "/etc/ca.pem", pem: "garbage" } }));
  let err: unknown;
  try {
    new ClusterManager([good, bad], new StatsRegistry(), silentLogger);
  } catch (e) {
    err = e;
  }
  assert(err instanceof RangeError, String(err));
  assertMatch(
    err.message,
    /Cannot use cluster_manager\.clusters\[0\]\.tls_context\.ca_cert \(\/etc\/ca\.pem\)/,
  );
});
