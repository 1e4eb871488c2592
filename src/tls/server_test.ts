/**
 * TlsServer against real clients (openssl s_client, curl, raw sockets) on a node:net server that hands
 * every accepted socket to `accept()`: SNI selection, ALPN, versions, every client-auth mode, SAN
 * matchers, and each failure reason counted.
 */
import * as net from "node:net";
import { assert, assertEquals, assertStringIncludes } from "../../tests/_assert.ts";
import { Events } from "../../tests/_events.ts";
import { curl } from "../../tests/_e2e.ts";
import { makeTestPki, type TestPki } from "../../tests/_peers/certs.ts";
import {
  sClient,
  sendAndWaitForClose,
  tlsGarbage,
  TRUNCATED_CLIENT_HELLO,
} from "../../tests/_peers/tls_clients.ts";
import type { TlsContextConfig } from "../config/mod.ts";
import { getCodec } from "../codec/mod.ts";
import { StatsRegistry } from "../stats/mod.ts";
import {
  alpnForCodecs,
  matchesServerName,
  parseSubjectAltNames,
  rfc2253Subject,
  TlsServer,
  TlsServerStats,
  type TlsSessionInfo,
} from "./mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

let pkiPromise: Promise<TestPki> | undefined;
const pki = () => pkiPromise ??= makeTestPki();

function context(p: TestPki, over: Partial<TlsContextConfig> & { pair?: "server" | "other" } = {}) {
  const pair = p[over.pair ?? "server"];
  const c: TlsContextConfig = {
    serverName: undefined,
    caCert: { path: p.ca.certPath, pem: p.ca.cert },
    certChain: { path: pair.certPath, pem: pair.cert },
    privateKey: { path: pair.keyPath, pem: pair.key },
    verifyClient: false,
    requireClientCert: false,
    insecureSkip: false,
    minVersion: undefined,
    maxVersion: undefined,
    alpn: ["http/1.1"],
    matchSubjectAltNames: [],
    configPath: "listeners[0].filter_chains[0].tls_context",
    ...over,
  };
  return c;
}

interface Harness {
  readonly port: number;
  readonly stats: Record<string, number>;
  /** Sessions that passed, in order. */
  readonly sessions: TlsSessionInfo[];
  /** Resolves once `n` handshakes settled (passed or failed). */
  settled(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A node:net server whose sockets go through `accept()`; a passed session answers one HTTP/1.1 request. */
async function harness(contexts: TlsContextConfig[], handshakeTimeoutMs = 5000): Promise<Harness> {
  const registry = new StatsRegistry();
  const scope = registry.scope("downstream", { listener: "tls" });
  const tlsServer = new TlsServer({
    contexts,
    defaultAlpn: [],
    handshakeTimeoutMs,
    stats: new TlsServerStats(scope),
  });
  const events = new Events();
  const sessions: TlsSessionInfo[] = [];
  let settledCount = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    tlsServer.accept(sock).then((r) => {
      settledCount++;
      if (r !== undefined) {
        sessions.push(r.info);
        const body = JSON.stringify(r.info);
        r.socket.on("data", () => {
          r.socket.end(
            `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
          );
        });
        r.socket.on("error", () => {});
      }
      events.notify();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get stats() {
      return scope.snapshot().counters;
    },
    sessions,
    settled: (n) => events.until(() => settledCount >= n, `${n} settled handshakes`),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

Deno.test(
  "tls server: SNI picks the context whose certificate or server_name matches, else the first",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p), context(p, { pair: "other", serverName: "*.alias.test" })]);
    try {
      const other = await sClient(h.port, { servername: "other.test", caFile: p.ca.certPath });
      assertEquals(other.subject, "CN = other", other.output);
      const alias = await sClient(h.port, { servername: "Deep.Api.ALIAS.test.", caFile: p.ca.certPath });
      assertEquals(alias.subject, "CN = other", "wildcard server_name, any case, trailing dot");
      const server = await sClient(h.port, { servername: "server.test", caFile: p.ca.certPath });
      assertEquals(server.subject, "CN = server");
      const unknown = await sClient(h.port, { servername: "nobody.test", caFile: p.ca.certPath });
      assertEquals(unknown.subject, "CN = server", "an unknown name gets the first context");
      const none = await sClient(h.port, { caFile: p.ca.certPath });
      assertEquals(none.subject, "CN = server", "no SNI gets the first context");
      await h.settled(5);
      assertEquals(h.stats.tls_unknown_sni_total, 1);
      assertEquals(h.stats.tls_no_sni_total, 1);
      assertEquals(h.stats.tls_handshake_total, 5);
      assertEquals(h.sessions.map((s) => s.sni), [
        "other.test",
        "deep.api.alias.test.", // the TLS stack lowercases it
        "server.test",
        "nobody.test",
        undefined,
      ]);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: ALPN picks the context's first protocol the client offers; none in common is refused",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p, { alpn: ["h2", "http/1.1"] })]);
    try {
      assertEquals((await sClient(h.port, { alpn: "http/1.1,h2" })).alpn, "h2", "server preference");
      assertEquals((await sClient(h.port, { alpn: "http/1.1" })).alpn, "http/1.1");
      const plain = await sClient(h.port, {});
      assertEquals(plain.code, 0, plain.output);
      assertEquals(plain.alpn, undefined, "a client without ALPN gets none");
      const foo = await sClient(h.port, { alpn: "foo" });
      assert(foo.code !== 0 || foo.alpn === undefined, foo.output);
      await h.settled(4);
      assertEquals(h.sessions.map((s) => s.alpn), ["h2", "http/1.1", undefined]);
      assertEquals(h.stats.tls_fail_protocol_total, 1);
      assertEquals(h.stats.tls_handshake_failure_total, 1);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: min_version TLSv1.3 refuses a TLS 1.2 client; versions and ciphers are counted",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p, { minVersion: "TLSv1.3" })]);
    try {
      const old = await sClient(h.port, { version: "tls1_2" });
      assert(old.code !== 0, `TLS 1.2 must be refused:\n${old.output}`);
      const ok = await sClient(h.port, { version: "tls1_3" });
      assertEquals(ok.code, 0, ok.output);
      await h.settled(2);
      assertEquals(h.stats.tls_fail_protocol_total, 1);
      assertEquals(h.stats.tls_version_TLSv1_3_total, 1);
      assertEquals(h.stats.tls_version_TLSv1_2_total, undefined);
      const cipher = h.sessions[0]!.cipher;
      assert(cipher.startsWith("TLS_"), cipher);
      assertEquals(h.stats[`tls_cipher_${cipher}_total`], 1);
    } finally {
      await h.close();
    }
  },
);

Deno.test("tls server: TLS 1.2 is served by default and reported as such", opts, async () => {
  const p = await pki();
  const h = await harness([context(p)]);
  try {
    const r = await sClient(h.port, { version: "tls1_2" });
    assertEquals(r.code, 0, r.output);
    await h.settled(1);
    assertEquals(h.sessions[0]!.version, "TLSv1.2");
    assertEquals(h.stats.tls_version_TLSv1_2_total, 1);
  } finally {
    await h.close();
  }
});

async function curlWith(
  p: TestPki,
  port: number,
  client?: "client" | "otherClient" | "untrustedClient" | "expiredClient",
) {
  const cert = client === undefined ? [] : ["--cert", p[client].certPath, "--key", p[client].keyPath];
  return await curl(["--http1.1", "--cacert", p.ca.certPath, ...cert, `https://localhost:${port}/`]);
}

Deno.test(
  "tls server: require + verify: a CA-signed client passes with its identity; none, untrusted, expired fail by reason",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p, { verifyClient: true, requireClientCert: true })]);
    try {
      const good = await curlWith(p, h.port, "client");
      assertEquals(good.code, 0, good.stderr);
      const info = JSON.parse(good.stdout) as TlsSessionInfo;
      assertEquals(info.peer?.uriSans, ["spiffe://cluster.local/ns/default/sa/app"]);
      assertEquals(info.peer?.subject, "CN=client");
      assert(/^[0-9a-f]{64}$/.test(info.peer!.sha256), info.peer!.sha256);
      const none = await curlWith(p, h.port);
      assert(none.code !== 0, "no certificate must be refused");
      assertStringIncludes(none.stderr, "certificate required", "refused inside the handshake");
      assert((await curlWith(p, h.port, "untrustedClient")).code !== 0);
      assert((await curlWith(p, h.port, "expiredClient")).code !== 0);
      await h.settled(4);
      assertEquals(h.stats.tls_handshake_total, 1);
      assertEquals(h.stats.tls_fail_no_certificate_total, 1);
      assertEquals(h.stats.tls_fail_verify_total, 2);
      assertEquals(h.stats.tls_handshake_failure_total, 3);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: match_subject_alt_names refuses a CA-signed client whose SANs match none",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([
      context(p, {
        verifyClient: true,
        requireClientCert: true,
        matchSubjectAltNames: [
          { kind: "exact", value: "spiffe://cluster.local/ns/other/sa/x" },
          { kind: "prefix", value: "spiffe://cluster.local/ns/default/" },
        ],
      }),
    ]);
    try {
      assertEquals((await curlWith(p, h.port, "client")).code, 0);
      assert((await curlWith(p, h.port, "otherClient")).code !== 0, "the intruder's SAN matches no matcher");
      await h.settled(2);
      assertEquals(h.stats.tls_fail_san_total, 1);
      assertEquals(h.stats.tls_handshake_total, 1);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: verify if given: no certificate passes without identity, a bad one fails",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p, { verifyClient: true })]);
    try {
      const none = await curlWith(p, h.port);
      assertEquals(none.code, 0, none.stderr);
      assertEquals((JSON.parse(none.stdout) as TlsSessionInfo).peer, undefined);
      const good = await curlWith(p, h.port, "client");
      assertEquals((JSON.parse(good.stdout) as TlsSessionInfo).peer?.subject, "CN=client");
      assert((await curlWith(p, h.port, "untrustedClient")).code !== 0);
      await h.settled(3);
      assertEquals(h.stats.tls_fail_verify_total, 1);
      assertEquals(h.stats.tls_handshake_total, 2);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: require_client_cert alone requests a certificate and never verifies it",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p, { requireClientCert: true })]);
    try {
      const untrusted = await curlWith(p, h.port, "untrustedClient");
      assertEquals(untrusted.code, 0, untrusted.stderr);
      assertEquals(
        (JSON.parse(untrusted.stdout) as TlsSessionInfo).peer,
        undefined,
        "unverified: no identity",
      );
      assertEquals((await curlWith(p, h.port)).code, 0);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: contexts with different client auth: each context's own rule after SNI",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([
      context(p),
      context(p, { pair: "other", verifyClient: true, requireClientCert: true }),
    ]);
    try {
      const open = await sClient(h.port, { servername: "server.test", send: "GET / HTTP/1.1\r\n\r\n" });
      assertStringIncludes(open.output, "HTTP/1.1 200 OK", open.output);
      const closed = await sClient(h.port, { servername: "other.test", send: "GET / HTTP/1.1\r\n\r\n" });
      assert(!closed.output.includes("HTTP/1.1 200 OK"), "the mTLS context requires a certificate");
      await h.settled(2);
      assertEquals(h.stats.tls_fail_no_certificate_total, 1);
    } finally {
      await h.close();
    }
  },
);

Deno.test(
  "tls server: a silent truncated ClientHello times out; garbage and plaintext fail as protocol errors",
  opts,
  async () => {
    const p = await pki();
    const h = await harness([context(p)], 300);
    try {
      const started = performance.now();
      const truncated = await sendAndWaitForClose(h.port, TRUNCATED_CLIENT_HELLO);
      assert(truncated.closedByPeer, "closed by the handshake timeout");
      assert(performance.now() - started >= 250, "not before the timeout");
      const garbage = await sendAndWaitForClose(h.port, tlsGarbage(64 * 1024));
      assert(garbage.closedByPeer);
      const plain = await sendAndWaitForClose(
        h.port,
        new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"),
      );
      assert(plain.closedByPeer);
      await h.settled(3);
      assertEquals(h.stats.tls_handshake_timeout_total, 1);
      assertEquals(h.stats.tls_fail_protocol_total, 2);
      assertEquals(h.stats.tls_handshake_failure_total, 3);
    } finally {
      await h.close();
    }
  },
);

Deno.test("tls server: PEM node:tls refuses fails at build time, naming the context", async () => {
  const p = await pki();
  let message = "";
  try {
    new TlsServer({
      contexts: [context(p, { privateKey: { path: undefined, pem: p.other.key } })],
      defaultAlpn: [],
      handshakeTimeoutMs: 1000,
      stats: new TlsServerStats(new StatsRegistry().scope("downstream", { listener: "x" })),
    });
  } catch (e) {
    message = (e as Error).message;
  }
  assertStringIncludes(message, "listeners[0].filter_chains[0].tls_context");
});

Deno.test("tls server: MatchedServerName: exact, then wildcards from the left, case and trailing dots ignored", () => {
  const names = new Set(["api.example.com", "*.svc.test"]);
  assert(matchesServerName(names, "API.Example.COM."));
  assert(matchesServerName(names, "a.svc.test"));
  assert(matchesServerName(names, "a.b.svc.test"), "MOSN replaces leading labels one by one");
  assert(!matchesServerName(names, "svc.test"));
  assert(!matchesServerName(names, "example.com"));
  assert(!matchesServerName(names, ""));
});

Deno.test("tls server: ALPN derived from the downstream protocols", () => {
  const codec = (name: string) => getCodec(name)!;
  assertEquals(alpnForCodecs([codec("Http1")]), ["http/1.1"]);
  assertEquals(alpnForCodecs([codec("Http2")]), ["h2"]);
  assertEquals(alpnForCodecs([codec("Http1"), codec("Http2"), codec("bolt")]), ["h2", "http/1.1"]);
  assertEquals(alpnForCodecs([codec("bolt")]), []);
});

Deno.test("tls peer: subject alternative names by type, commas inside values kept", () => {
  const s = parseSubjectAltNames(
    "DNS:a.test, URI:spiffe://x/y, IP Address:10.0.0.1, email:a@b.c, URI:http://q, u",
  );
  assertEquals(s, {
    dns: ["a.test"],
    uri: ["spiffe://x/y", "http://q, u"],
    ip: ["10.0.0.1"],
    email: ["a@b.c"],
  });
  assertEquals(parseSubjectAltNames('URI:"a, b"').uri, ["a, b"]);
  assertEquals(parseSubjectAltNames(undefined).dns, []);
});

Deno.test("tls peer: subjects in RFC 2253 order with escapes", () => {
  assertEquals(rfc2253Subject("C=US\nO=Acme, Inc.\nCN=app"), "CN=app,O=Acme\\, Inc.,C=US");
  assertEquals(rfc2253Subject("CN=client"), "CN=client");
});
