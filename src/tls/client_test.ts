/**
 * UpstreamTls against real TLS servers (node:tls, which is rustls here; nginx and OpenSSL peers are in
 * tests/tls_upstream_test.ts), with certificates made per run by tests/_peers/certs.ts.
 */
import tls from "node:tls";
import { assert, assertEquals, assertMatch } from "../../tests/_assert.ts";
import { makeTestPki, type TestPki } from "../../tests/_peers/certs.ts";
import { ProxyError } from "../core/mod.ts";
import type { TlsContextConfig } from "../config/mod.ts";
import { StatsRegistry } from "../stats/mod.ts";
import { UpstreamTls } from "./client.ts";

const pki: TestPki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

function context(over: Partial<TlsContextConfig> = {}): TlsContextConfig {
  return {
    serverName: undefined,
    caCert: { path: pki.ca.certPath, pem: pki.ca.cert },
    certChain: undefined,
    privateKey: undefined,
    verifyClient: false,
    requireClientCert: false,
    insecureSkip: false,
    minVersion: undefined,
    maxVersion: undefined,
    alpn: [],
    matchSubjectAltNames: [],
    configPath: "cluster c.tls_context",
    ...over,
  };
}

const clientCert = () => ({
  certChain: { path: undefined, pem: pki.client.cert },
  privateKey: { path: undefined, pem: pki.client.key },
});

/** What the server saw of one connection. */
interface Seen {
  sni: string | false;
  alpn: string | false;
  /** The client certificate's SANs, when one was verified. */
  clientSan: string | undefined;
}

interface TestServer {
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** A node:tls server on 127.0.0.1:0 that answers "hi" and records SNI, ALPN and the client identity. */
async function startServer(opts: tls.TlsOptions & { certName?: keyof TestPki } = {}): Promise<TestServer> {
  const pair = pki[opts.certName ?? "server"] as { cert: string; key: string };
  const seen: Seen[] = [];
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: pair.cert, key: pair.key, ...opts }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    const peer = s.authorized ? s.getPeerCertificate() : undefined;
    seen.push({
      sni: (s as unknown as { servername: string | false }).servername ?? false,
      alpn: s.alpnProtocol ?? false,
      clientSan: peer?.subjectaltname,
    });
    s.on("error", () => {});
    s.on("data", () => s.write("hi"));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function counters(registry: StatsRegistry): Record<string, number> {
  return registry.scope("upstream", { cluster: "c" }).snapshot().counters;
}

function newTls(config: TlsContextConfig) {
  const registry = new StatsRegistry();
  const up = new UpstreamTls(config, { stats: registry.scope("upstream", { cluster: "c" }) });
  return { up, stats: () => counters(registry) };
}

/** A request and its answer over the session, proving bytes flow both ways. */
async function exchange(
  conn: { read(p: Uint8Array): Promise<number | null>; write(p: Uint8Array): Promise<number> },
) {
  await conn.write(new TextEncoder().encode("ping"));
  const buf = new Uint8Array(16);
  const n = await conn.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
}

async function connectError(p: Promise<unknown>): Promise<ProxyError> {
  const err = await p.then(() => undefined, (e) => e);
  assert(err instanceof ProxyError, `expected a ProxyError, got ${err}`);
  assertEquals(err.kind, "connect_failure");
  assertEquals(err.retryable, true, "nothing was sent: another host may be tried");
  return err;
}

Deno.test("UpstreamTls.connect() verifies the server against ca_cert and reports the session", async () => {
  const server = await startServer();
  const { up, stats } = newTls(context({ serverName: "server.test" }));
  try {
    assertEquals(up.stack, "node:tls");
    const s = await up.connect("127.0.0.1", server.port, 5000, "http/1.1");
    assertEquals(await exchange(s.conn), "hi");
    assertEquals(s.info.version, "TLSv1.3");
    assertMatch(s.info.cipher, /^TLS_/);
    assertEquals(s.info.sni, "server.test");
    assertEquals(s.info.peer?.dnsSans, ["localhost", "server.test"]);
    assertMatch(s.info.peer!.sha256, /^[0-9a-f]{64}$/);
    assertEquals(server.seen[0]!.sni, "server.test");
    assertEquals(server.seen[0]!.alpn, false, "the server offers no ALPN: http/1.1 is fine without");
    s.conn.close();
    const c = stats();
    assertEquals(c["tls_handshake_total"], 1);
    assertEquals(c["tls_handshake_failure_total"], 0);
    assertEquals(c["tls_version_tlsv1_3_total"], 1);
    assertEquals(c[`tls_cipher_${s.info.cipher.toLowerCase()}_total`], 1);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() sends the host's name as SNI when server_name is unset", async () => {
  const server = await startServer();
  const { up } = newTls(context());
  try {
    const s = await up.connect("127.0.0.1", server.port, 5000, undefined, "localhost");
    assertEquals(server.seen.length, 0, "nothing read yet");
    assertEquals(await exchange(s.conn), "hi");
    assertEquals(server.seen[0]!.sni, "localhost");
    s.conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() refuses a server certificate from a CA not in ca_cert", async () => {
  const server = await startServer();
  const { up, stats } = newTls(context({ caCert: { path: undefined, pem: pki.untrustedCa.cert } }));
  try {
    const err = await connectError(up.connect("127.0.0.1", server.port, 5000, undefined, "server.test"));
    assertMatch(err.message, /certificate verify failed: not signed by a CA in ca_cert/);
    assertEquals(server.seen.length, 0, "no byte reached the server's application");
    const c = stats();
    assertEquals(c["tls_fail_verify_total"], 1);
    assertEquals(c["tls_handshake_failure_total"], 1);
    assertEquals(c["tls_handshake_total"], 0);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() refuses a certificate that is not valid for the name", async () => {
  const server = await startServer();
  const { up, stats } = newTls(context({ serverName: "other.test" }));
  try {
    const err = await connectError(up.connect("127.0.0.1", server.port, 5000, undefined));
    assertMatch(err.message, /not valid for other\.test/);
    assertEquals(stats()["tls_fail_verify_total"], 1);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() says when the server certificate has expired", async () => {
  const server = await startServer({ certName: "expiredClient" });
  const { up } = newTls(context({ insecureSkip: false }));
  try {
    const err = await connectError(up.connect("127.0.0.1", server.port, 5000, undefined));
    assertMatch(err.message, /certificate expired on Jan {1,2}2 00:00:00 2020/);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() with insecure_skip accepts an untrusted certificate, and only then", async () => {
  const server = await startServer({ certName: "untrustedClient" });
  try {
    const strict = newTls(context({ serverName: "server.test" }));
    await connectError(strict.up.connect("127.0.0.1", server.port, 5000, undefined));
    const skip = newTls(context({ serverName: "server.test", insecureSkip: true }));
    const s = await skip.up.connect("127.0.0.1", server.port, 5000, undefined);
    assertEquals(await exchange(s.conn), "hi");
    assertEquals(s.info.peer, undefined, "an unverified certificate is no identity");
    s.conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() to an IP name sends no SNI and verifies the IP SAN", async () => {
  const withIp = await startServer();
  const withoutIp = await startServer({ certName: "other" });
  try {
    const { up, stats } = newTls(context({ serverName: "127.0.0.1" }));
    // Dialled by name: the IP server_name still means no SNI (node:tls would send the dialled name).
    const s = await up.connect("localhost", withIp.port, 5000, undefined);
    assertEquals(await exchange(s.conn), "hi");
    assertEquals(withIp.seen[0]!.sni, false);
    assertEquals(s.info.sni, undefined);
    s.conn.close();
    const err = await connectError(up.connect("127.0.0.1", withoutIp.port, 5000, undefined));
    assertMatch(err.message, /not valid for 127\.0\.0\.1/);
    assertEquals(stats()["tls_fail_verify_total"], 1);
  } finally {
    await withIp.close();
    await withoutIp.close();
  }
});

Deno.test("UpstreamTls.connect() presents cert_chain to a server that requires a client certificate", async () => {
  const server = await startServer({ ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
  try {
    const { up } = newTls(context({ serverName: "server.test", ...clientCert() }));
    const s = await up.connect("127.0.0.1", server.port, 5000, undefined);
    assertEquals(await exchange(s.conn), "hi");
    assertEquals(server.seen[0]!.clientSan, "URI:spiffe://cluster.local/ns/default/sa/app");
    s.conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() without a client certificate: TLS 1.2 refuses the handshake, saying why", async () => {
  const server = await startServer({ ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
  try {
    const { up, stats } = newTls(context({ serverName: "server.test", maxVersion: "TLSv1.2" }));
    const err = await connectError(up.connect("127.0.0.1", server.port, 5000, undefined));
    assertMatch(
      err.message,
      /the server wants a client certificate and the cluster's tls_context has no cert_chain/,
    );
    assertEquals(stats()["tls_fail_protocol_total"], 1);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls: a TLS 1.3 server refusing the missing client certificate ends the session, counted", async () => {
  const server = await startServer({ ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
  try {
    const { up, stats } = newTls(context({ serverName: "server.test" }));
    // TLS 1.3: our handshake completes before the server checks our (absent) certificate; its alert
    // reaches the first read, which sees the end of the stream instead of an answer.
    const s = await up.connect("127.0.0.1", server.port, 5000, undefined);
    await s.conn.write(new TextEncoder().encode("ping")).catch(() => 0);
    assertEquals(await s.conn.read(new Uint8Array(16)), null);
    s.conn.close();
    assertEquals(server.seen.length, 0, "the server's application never saw the connection");
    assertEquals(stats()["tls_connection_error_total"], 1);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() checks match_subject_alt_names against the server's SANs", async () => {
  const server = await startServer();
  try {
    const good = newTls(context({
      serverName: "server.test",
      matchSubjectAltNames: [{ kind: "exact", value: "nope" }, { kind: "regex", value: "server\\.t.st" }],
    }));
    const s = await good.up.connect("127.0.0.1", server.port, 5000, undefined);
    s.conn.close();
    const bad = newTls(context({
      serverName: "server.test",
      matchSubjectAltNames: [{ kind: "prefix", value: "spiffe://cluster.local/ns/default/" }, {
        kind: "regex",
        value: "server", // a whole-value match: "server.test" is not "server"
      }],
    }));
    const err = await connectError(bad.up.connect("127.0.0.1", server.port, 5000, undefined));
    assertMatch(err.message, /match none of match_subject_alt_names/);
    const c = bad.stats();
    assertEquals(c["tls_fail_san_total"], 1);
    assertEquals(c["tls_handshake_failure_total"], 1);
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() offers the codec's ALPN id, and an h2 codec needs the server to pick h2", async () => {
  const h2 = await startServer({ ALPNProtocols: ["h2", "http/1.1"] });
  const h1only = await startServer({ ALPNProtocols: ["http/1.1"] });
  const noAlpn = await startServer();
  try {
    const { up, stats } = newTls(context({ serverName: "server.test" }));
    const s = await up.connect("127.0.0.1", h2.port, 5000, "h2");
    assertEquals(s.info.alpn, "h2");
    s.conn.close();
    const refused = await connectError(up.connect("127.0.0.1", h1only.port, 5000, "h2"));
    assertMatch(refused.message, /NoApplicationProtocol/);
    const silent = await connectError(up.connect("127.0.0.1", noAlpn.port, 5000, "h2"));
    assertMatch(silent.message, /the server did not choose ALPN h2 \(offered: h2\)/);
    assertEquals(stats()["tls_fail_protocol_total"], 2);
    // An RPC codec has no ALPN id: nothing offered.
    const rpc = await up.connect("127.0.0.1", h2.port, 5000, undefined);
    assertEquals(rpc.info.alpn, undefined);
    rpc.conn.close();
  } finally {
    await h2.close();
    await h1only.close();
    await noAlpn.close();
  }
});

Deno.test("UpstreamTls.connect() offers the context's alpn over the codec's, and refuses another protocol", async () => {
  const server = await startServer({ ALPNProtocols: ["h2", "http/1.1"] });
  try {
    const listed = newTls(context({ serverName: "server.test", alpn: ["h2", "http/1.1"] }));
    // Both offered; the server prefers h2, which is not what the Http1 codec speaks.
    const err = await connectError(listed.up.connect("127.0.0.1", server.port, 5000, "http/1.1"));
    assertMatch(err.message, /the server chose ALPN "h2" but the upstream protocol is http\/1\.1/);
    const rpc = await listed.up.connect("127.0.0.1", server.port, 5000, undefined);
    assertEquals(rpc.info.alpn, "h2", "an RPC codec takes what the context negotiated");
    rpc.conn.close();
  } finally {
    await server.close();
  }
});

Deno.test("UpstreamTls.connect() enforces min_version and max_version", async () => {
  const tls12 = await startServer({ maxVersion: "TLSv1.2" });
  try {
    const { up, stats } = newTls(context({ serverName: "server.test", minVersion: "TLSv1.3" }));
    const err = await connectError(up.connect("127.0.0.1", tls12.port, 5000, undefined));
    assertMatch(err.message, /ProtocolVersion/);
    assertEquals(stats()["tls_fail_protocol_total"], 1);
    const capped = newTls(context({ serverName: "server.test", maxVersion: "TLSv1.2" }));
    const s = await capped.up.connect("127.0.0.1", tls12.port, 5000, undefined);
    assertEquals(s.info.version, "TLSv1.2");
    assertEquals(capped.stats()["tls_version_tlsv1_2_total"], 1);
    s.conn.close();
  } finally {
    await tls12.close();
  }
});

Deno.test("UpstreamTls.connect() times the handshake out within the connect timeout", async () => {
  // Accepts TCP and never says a word: the TLS handshake can never finish.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c);
  })();
  try {
    const { up, stats } = newTls(context({ serverName: "server.test" }));
    const t0 = performance.now();
    const err = await connectError(up.connect("127.0.0.1", listener.addr.port, 200, undefined));
    const took = performance.now() - t0;
    assertMatch(err.message, /TLS handshake with 127\.0\.0\.1:\d+ timed out after 200ms/);
    assert(took >= 190 && took < 2000, `gave up after ${took.toFixed(0)} ms`);
    assertEquals(stats()["tls_fail_timeout_total"], 1);
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("UpstreamTls.connect() reports a refused TCP connect as such, not as a TLS failure", async () => {
  const { up, stats } = newTls(context({ serverName: "server.test" }));
  const err = await connectError(up.connect("127.0.0.1", 2, 1000, undefined));
  assertMatch(err.message, /connect to 127\.0\.0\.1:2 failed: connection refused/);
  assertEquals(stats()["tls_handshake_failure_total"], 0);
});

Deno.test("new UpstreamTls() refuses PEM material it cannot use", () => {
  const cases: [Partial<TlsContextConfig>, RegExp][] = [
    [
      { caCert: { path: "/etc/x.pem", pem: "not a pem" } },
      /ca_cert \(\/etc\/x\.pem\): no PEM CERTIFICATE block/,
    ],
    [{ certChain: { path: undefined, pem: pki.client.cert } }, /cert_chain and private_key go together/],
    [
      {
        certChain: { path: undefined, pem: pki.client.cert },
        privateKey: { path: undefined, pem: pki.server.key },
      },
      /private_key: it is not the key of cert_chain/,
    ],
    [{ ...clientCert(), privateKey: { path: undefined, pem: "garbage" } }, /private_key: /],
  ];
  for (const [over, re] of cases) {
    let err: unknown;
    try {
      new UpstreamTls(context(over));
    } catch (e) {
      err = e;
    }
    assert(err instanceof RangeError, `expected a RangeError for ${JSON.stringify(Object.keys(over))}`);
    assertMatch(err.message, re);
  }
});

Deno.test("UpstreamTls picks Deno.startTls only for contexts that need nothing beyond the system roots", () => {
  const stack = (over: Partial<TlsContextConfig>) =>
    new UpstreamTls(context({ caCert: undefined, ...over })).stack;
  assertEquals(stack({}), "Deno.startTls");
  assertEquals(
    stack({ serverName: "api.example.com", alpn: ["h2"], minVersion: "TLSv1.2" }),
    "Deno.startTls",
  );
  assertEquals(stack({ caCert: { path: undefined, pem: pki.ca.cert } }), "node:tls");
  assertEquals(stack(clientCert()), "node:tls");
  assertEquals(stack({ insecureSkip: true }), "node:tls");
  assertEquals(stack({ matchSubjectAltNames: [{ kind: "exact", value: "x" }] }), "node:tls");
  assertEquals(stack({ minVersion: "TLSv1.3" }), "node:tls");
  assertEquals(stack({ maxVersion: "TLSv1.2" }), "node:tls");
});

Deno.test("UpstreamTls on Deno.startTls verifies against the system roots and the ALPN rule", async () => {
  const server = await startServer({ ALPNProtocols: ["http/1.1"] });
  try {
    // The test CA is in no system store: a verify failure, counted; the success path runs through the
    // real binary with the test CA added to its roots (tests/tls_upstream_test.ts).
    const { up, stats } = newTls(context({ caCert: undefined, serverName: "server.test" }));
    assertEquals(up.stack, "Deno.startTls");
    const err = await connectError(up.connect("127.0.0.1", server.port, 5000, undefined));
    assertMatch(err.message, /certificate verify failed for server\.test against the system roots/);
    assertEquals(stats()["tls_fail_verify_total"], 1);
    const refused = await connectError(up.connect("127.0.0.1", 2, 1000, undefined));
    assertMatch(refused.message, /connect to 127\.0\.0\.1:2 failed: connection refused/);
    assertEquals(stats()["tls_handshake_failure_total"], 1, "a refused connect is no TLS failure");
  } finally {
    await server.close();
  }
});
