/**
 * Downstream TLS through the real meshctl, with real peers: openssl s_client (which certificate, which
 * ALPN, which version), curl (HTTP/1.1 and HTTP/2 over TLS, client certificates), raw sockets (bad
 * input), Deno's TLS client (a session kept open), grpc-js over TLS; plain HTTP and h2c gRPC upstreams.
 *
 * The config is written as MOSN users write it (`filter_chains[0].tls_context` / `tls_context_set`,
 * `inspector`, `tls_handshake_timeout`).
 *
 * One meshctl serves every test (`mesh()` below, all listeners in one place); tests read stats as
 * deltas and the last test stops it.
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { stringify } from "yaml";
import { adminStats, curl, type Meshctl, type Origin, startMeshctl, startOrigin } from "./_e2e.ts";
import { makeTestPki, type TestPki } from "./_peers/certs.ts";
import { grpcClient, type GrpcServerPeer, startGrpcServer, Status } from "./_peers/grpc_peers.ts";
import { sClient, sendAndWaitForClose, tlsGarbage, TRUNCATED_CLIENT_HELLO } from "./_peers/tls_clients.ts";

const pki: TestPki = await makeTestPki();

/** Whether this build's config turns a MOSN `tls_context` into the snapshot's `tlsContexts`. */

const opts = { sanitizeOps: false, sanitizeResources: false };

const SHORT_HANDSHAKE_TIMEOUT = "1s";
const TRUSTED_IDENTITY = "spiffe://cluster.local/ns/default/sa/app";
const ACCESS_LOG_FORMAT =
  "%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_PEER_SUBJECT% %REQUESTED_SERVER_NAME%";

// === the shared meshctl ===

interface Shared {
  readonly mesh: Meshctl;
  readonly origins: readonly Origin[];
  readonly grpcServer: GrpcServerPeer;
  readonly accessLog: string;
}

/** What an origin saw: who it is and the headers that matter here. */
interface Seen {
  server: string;
  xfcc: string | null;
  proto: string | null;
}

function origin(name: string): Origin {
  return startOrigin((req) =>
    Response.json(
      {
        server: name,
        xfcc: req.headers.get("x-forwarded-client-cert"),
        proto: req.headers.get("x-forwarded-proto"),
      } satisfies Seen,
    )
  );
}

function tlsContext(pair: "server" | "other", extra: Record<string, unknown> = {}) {
  return {
    status: true,
    cert_chain: pki[pair].certPath,
    private_key: pki[pair].keyPath,
    ca_cert: pki.ca.certPath,
    ...extra,
  };
}

function listener(name: string, chain: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const proxy = { downstream_protocol: "Http1", upstream_protocol: "Http1", router_config_name: "r" };
  const filters = [{ type: "proxy", config: { ...proxy, ...(chain.proxy as object ?? {}) } }];
  const { proxy: _, ...tls } = chain;
  return { name, address: "127.0.0.1:0", bind_port: true, filter_chains: [{ ...tls, filters }], ...extra };
}

/**
 * Listeners:
 * - `sni`: tls_context_set [server (localhost, server.test), other (other.test)], Auto (ALPN h2,
 *   http/1.1 derived), tls_handshake_timeout 1 s;
 * - `strict13`: min_version TLSv1_3;
 * - `mtls`: verify_client + require_client_cert, match_subject_alt_names prefix
 *   `spiffe://cluster.local/ns/default/`, an access log with the TLS variables;
 * - `optional`: verify_client only (verify if given);
 * - `inspect`: inspector (TLS and plaintext on one port);
 * - `grpc`: Http2 in and out to an h2c gRPC server.
 *
 * Router `r`: `/id` with an x-forwarded-client-cert naming the trusted identity → `trusted`; other `/id`
 * → `anonymous`; anything else → `origin`.
 */
async function startShared(): Promise<Shared> {
  const origins = [origin("origin"), origin("trusted"), origin("anonymous")];
  const grpcServer = await startGrpcServer({ name: "grpc-upstream" });
  const dir = await Deno.makeTempDir({ prefix: "meshctl-tls-e2e-" });
  const accessLog = `${dir}/access.log`;
  const mesh = await startMeshctl({
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [
            {
              match: {
                prefix: "/id",
                headers: [{ name: "x-forwarded-client-cert", value: `URI=${TRUSTED_IDENTITY}`, regex: true }],
              },
              route: { cluster_name: "trusted" },
            },
            { match: { prefix: "/id" }, route: { cluster_name: "anonymous" } },
            { match: { prefix: "/" }, route: { cluster_name: "origin" } },
          ],
        }],
      }, {
        router_config_name: "g",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [{ match: { prefix: "/" }, route: { cluster_name: "grpc" } }],
        }],
      }],
      listeners: [
        listener("sni", {
          tls_context_set: [tlsContext("server"), tlsContext("other")],
          proxy: { downstream_protocol: "Auto" },
        }, { tls_handshake_timeout: SHORT_HANDSHAKE_TIMEOUT }),
        listener("strict13", { tls_context: tlsContext("server", { min_version: "tlsv1_3" }) }),
        listener("mtls", {
          tls_context: tlsContext("server", {
            verify_client: true,
            require_client_cert: true,
            match_subject_alt_names: [{ prefix: "spiffe://cluster.local/ns/default/" }],
          }),
        }, { access_logs: [{ log_path: accessLog, log_format: ACCESS_LOG_FORMAT }] }),
        listener("optional", { tls_context: tlsContext("server", { verify_client: true }) }),
        listener("inspect", { tls_context: tlsContext("server") }, { inspector: true }),
        listener("grpc", {
          tls_context: tlsContext("server"),
          proxy: { downstream_protocol: "Http2", upstream_protocol: "Http2", router_config_name: "g" },
        }),
      ],
    }],
    cluster_manager: {
      clusters: [
        ...["origin", "trusted", "anonymous"].map((name, i) => ({
          name,
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          hosts: [{ address: origins[i]!.address }],
        })),
        { name: "grpc", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: grpcServer.address }] },
      ],
    },
  });
  return { mesh, origins, grpcServer, accessLog };
}

let shared: Promise<Shared> | undefined;
const mesh = () => shared ??= startShared();

/** The listener's downstream counters (0 for one never incremented). */
async function counters(name: string): Promise<(counter: string) => number> {
  const s = await mesh();
  const all = (await adminStats(s.mesh.adminPort)).downstream?.[`listener.${name}`] ?? {};
  return (counter) => all[counter] ?? 0;
}

/** curl through listener `name` over TLS (localhost, trusting the test CA). */
async function curlTls(name: string, args: string[], path = "/") {
  const s = await mesh();
  return await curl(["--cacert", pki.ca.certPath, ...args, `https://localhost:${s.mesh.port(name)}${path}`]);
}

function clientCert(which: "client" | "otherClient" | "untrustedClient" | "expiredClient"): string[] {
  return ["--cert", pki[which].certPath, "--key", pki[which].keyPath];
}

// === tests ===

Deno.test(
  "tls: SNI picks the certificate by name, and the first for unknown or absent SNI (counted)",
  opts,
  async () => {
    const port = (await mesh()).mesh.port("sni");
    const before = await counters("sni");
    assertEquals((await sClient(port, { servername: "other.test" })).subject, "CN = other");
    assertEquals((await sClient(port, { servername: "server.test" })).subject, "CN = server");
    assertEquals((await sClient(port, { servername: "unknown.test" })).subject, "CN = server");
    assertEquals((await sClient(port, {})).subject, "CN = server");
    const after = await counters("sni");
    assertEquals(after("tls_unknown_sni_total") - before("tls_unknown_sni_total"), 1);
    assertEquals(after("tls_no_sni_total") - before("tls_no_sni_total"), 1);
    assertEquals(after("tls_handshake_total") - before("tls_handshake_total"), 4);
  },
);

Deno.test(
  "tls: ALPN h2 and http/1.1 are negotiated and the matching codec serves, to a plain upstream",
  opts,
  async () => {
    const port = (await mesh()).mesh.port("sni");
    assertEquals((await sClient(port, { servername: "localhost", alpn: "h2,http/1.1" })).alpn, "h2");
    assertEquals((await sClient(port, { servername: "localhost", alpn: "http/1.1" })).alpn, "http/1.1");
    for (const [flag, version] of [["--http2", "2"], ["--http1.1", "1.1"]]) {
      const r = await curlTls("sni", [flag!, "-w", "\n%{http_version}"]);
      assertEquals(r.code, 0, r.stderr);
      const [body, httpVersion] = r.stdout.split("\n");
      assertEquals(httpVersion, version);
      const seen = JSON.parse(body!) as Seen;
      assertEquals(seen.server, "origin");
      assertEquals(seen.proto, "https", "X-Forwarded-Proto follows the TLS connection");
    }
  },
);

Deno.test("tls: min_version tlsv1_3 refuses a TLS 1.2 client", opts, async () => {
  const port = (await mesh()).mesh.port("strict13");
  const before = await counters("strict13");
  const old = await sClient(port, { servername: "localhost", version: "tls1_2" });
  assert(old.code !== 0, old.output);
  const ok = await sClient(port, { servername: "localhost", version: "tls1_3" });
  assertEquals(ok.protocol, "TLSv1.3", ok.output);
  const after = await counters("strict13");
  assertEquals(after("tls_fail_protocol_total") - before("tls_fail_protocol_total"), 1);
  assertEquals(after("tls_version_TLSv1_3_total") - before("tls_version_TLSv1_3_total"), 1);
});

Deno.test(
  "tls: mTLS required — a trusted client passes; none, untrusted, expired and a foreign SAN are refused by reason",
  opts,
  async () => {
    const before = await counters("mtls");
    const good = await curlTls("mtls", ["--http1.1", ...clientCert("client")]);
    assertEquals(good.code, 0, good.stderr);
    const none = await curlTls("mtls", ["--http1.1"]);
    assert(none.code !== 0);
    assertStringIncludes(none.stderr, "certificate required", "refused in the handshake");
    for (const bad of ["untrustedClient", "expiredClient", "otherClient"] as const) {
      const r = await curlTls("mtls", ["--http1.1", ...clientCert(bad)]);
      assert(r.code !== 0, `${bad} must be refused: ${r.stdout}`);
    }
    const after = await counters("mtls");
    const delta = (c: string) => after(c) - before(c);
    assertEquals(delta("tls_handshake_total"), 1);
    assertEquals(delta("tls_fail_no_certificate_total"), 1);
    assertEquals(delta("tls_fail_verify_total"), 2);
    assertEquals(delta("tls_fail_san_total"), 1);
    assertEquals(delta("tls_handshake_failure_total"), 4);
  },
);

Deno.test(
  "tls: verify_client alone accepts a client without a certificate, and still refuses an untrusted one",
  opts,
  async () => {
    const none = await curlTls("optional", ["--http1.1"], "/id");
    assertEquals(none.code, 0, none.stderr);
    assertEquals((JSON.parse(none.stdout) as Seen).xfcc, null, "no certificate, no identity");
    assertEquals((JSON.parse(none.stdout) as Seen).server, "anonymous");
    const untrusted = await curlTls("optional", ["--http1.1", ...clientCert("untrustedClient")]);
    assert(untrusted.code !== 0);
  },
);

Deno.test(
  "tls: a route header matcher on x-forwarded-client-cert picks the cluster by the client's identity",
  opts,
  async () => {
    const trusted = await curlTls("optional", ["--http1.1", ...clientCert("client")], "/id");
    const seen = JSON.parse(trusted.stdout) as Seen;
    assertEquals(seen.server, "trusted");
    assertMatch(
      seen.xfcc!,
      new RegExp(`^Hash=[0-9a-f]{64};Subject="CN=client";URI=${TRUSTED_IDENTITY}$`),
      "Envoy's XFCC element reaches the upstream",
    );
    const intruder = await curlTls("optional", ["--http1.1", ...clientCert("otherClient")], "/id");
    const other = JSON.parse(intruder.stdout) as Seen;
    assertEquals(other.server, "anonymous");
    assertStringIncludes(other.xfcc!, "URI=spiffe://cluster.local/ns/evil/sa/app");
  },
);

Deno.test(
  "tls: a client-supplied x-forwarded-client-cert never reaches the upstream on a TLS listener",
  opts,
  async () => {
    const forged = ["-H", `x-forwarded-client-cert: Hash=00;URI=${TRUSTED_IDENTITY}`];
    const anonymous = await curlTls("optional", ["--http1.1", ...forged], "/id");
    assertEquals(JSON.parse(anonymous.stdout) as Seen, { server: "anonymous", xfcc: null, proto: "https" });
    const h2 = await curlTls("sni", ["--http2", ...forged], "/id");
    assertEquals((JSON.parse(h2.stdout) as Seen).xfcc, null, "HTTP/2 too");
    const intruder = await curlTls("optional", ["--http1.1", ...forged, ...clientCert("otherClient")], "/id");
    const seen = JSON.parse(intruder.stdout) as Seen;
    assertEquals(seen.server, "anonymous");
    assert(!seen.xfcc!.includes(TRUSTED_IDENTITY), seen.xfcc!);
    // The inspector's plaintext connections are on a TLS listener too: nobody vouched for them.
    const port = (await mesh()).mesh.port("inspect");
    const plain = await curl([...forged, `http://127.0.0.1:${port}/id`]);
    assertEquals((JSON.parse(plain.stdout) as Seen).xfcc, null);
  },
);

Deno.test(
  "tls: plaintext HTTP, a truncated ClientHello left silent and 64 KiB of garbage are each counted and closed; a TLS client on the same listener is unaffected",
  opts,
  async () => {
    const s = await mesh();
    const port = s.mesh.port("sni");
    const before = await counters("sni");
    const good = await Deno.connectTls({ hostname: "localhost", port, caCerts: [pki.ca.cert] });
    try {
      const get = async () => {
        await good.write(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: localhost\r\n\r\n"));
        const buf = new Uint8Array(4096);
        let text = "";
        while (!/\r\n\r\n\{.*\}$/s.test(text)) {
          const n = await good.read(buf);
          if (n === null) throw new Error(`closed after: ${text}`);
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        return text;
      };
      assertMatch(await get(), /^HTTP\/1\.1 200/);
      const truncated = sendAndWaitForClose(port, TRUNCATED_CLIENT_HELLO);
      const plain = await sendAndWaitForClose(
        port,
        new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"),
      );
      const garbage = await sendAndWaitForClose(port, tlsGarbage(64 * 1024));
      assert(plain.closedByPeer && garbage.closedByPeer);
      assertMatch(await get(), /^HTTP\/1\.1 200/, "served while a handshake hangs");
      assert((await truncated).closedByPeer, "tls_handshake_timeout closed it");
      assertMatch(await get(), /^HTTP\/1\.1 200/);
    } finally {
      good.close();
    }
    const after = await counters("sni");
    const delta = (c: string) => after(c) - before(c);
    assertEquals(delta("tls_fail_protocol_total"), 2);
    assertEquals(delta("tls_handshake_timeout_total"), 1);
    assertEquals(delta("tls_handshake_total"), 1);
  },
);

Deno.test("tls: inspector serves plaintext HTTP and TLS on one port", opts, async () => {
  const port = (await mesh()).mesh.port("inspect");
  const before = await counters("inspect");
  const tls = await curlTls("inspect", ["--http1.1"]);
  assertEquals((JSON.parse(tls.stdout) as Seen).proto, "https");
  const plain = await curl([`http://127.0.0.1:${port}/`]);
  assertEquals((JSON.parse(plain.stdout) as Seen).proto, "http");
  const after = await counters("inspect");
  assertEquals(after("tls_plaintext_total") - before("tls_plaintext_total"), 1);
  assertEquals(after("tls_handshake_total") - before("tls_handshake_total"), 1);
});

Deno.test(
  "tls: gRPC over TLS (grpc-js with createSsl) through meshctl to an h2c gRPC upstream",
  opts,
  async () => {
    const s = await mesh();
    const client = grpcClient(`localhost:${s.mesh.port("grpc")}`, {
      credentials: grpc.credentials.createSsl(Buffer.from(pki.ca.cert)),
      channelOptions: { "grpc.use_local_subchannel_pool": 1 },
    });
    try {
      const r = await client.say("over tls");
      assertEquals(r.status.code, Status.OK, r.status.details);
      assertEquals(r.value?.message, "over tls");
      assertEquals(r.value?.server, "grpc-upstream");
    } finally {
      client.close();
    }
  },
);

Deno.test(
  "tls: SIGHUP swaps the certificate for new handshakes while an open session carries on; turning TLS off rebinds the listener",
  opts,
  async () => {
    const o = origin("reloaded");
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    const config = (chain: Record<string, unknown>) => ({
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
      servers: [{
        default_log_level: "INFO",
        routers: [{
          router_config_name: "r",
          virtual_hosts: [{
            name: "all",
            domains: ["*"],
            routers: [{ match: { prefix: "/" }, route: { cluster_name: "origin" } }],
          }],
        }],
        listeners: [listener("edge", chain)],
      }],
      cluster_manager: {
        clusters: [{
          name: "origin",
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          hosts: [{ address: o.address }],
        }],
      },
    });
    await Deno.writeTextFile(file, stringify(config({ tls_context: tlsContext("server") })));
    const m = await startMeshctl(file);
    const reloads = async (n: number) => {
      for (let i = 0; i < 200 && (m.logs().match(/config reloaded/g) ?? []).length < n; i++) {
        await new Promise((r) => setTimeout(r, 25)); // meshctl logs the reload; nothing else tells us
      }
      assertEquals((m.logs().match(/config reloaded/g) ?? []).length, n, m.logs());
    };
    const port = m.port("edge");
    const kept = await Deno.connectTls({ hostname: "localhost", port, caCerts: [pki.ca.cert] });
    const get = async (conn: Deno.Conn) => {
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: localhost\r\n\r\n"));
      const buf = new Uint8Array(4096);
      let text = "";
      while (!/\r\n\r\n\{.*\}$/s.test(text)) {
        const n = await conn.read(buf);
        if (n === null) throw new Error(`closed after: ${text}`);
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text;
    };
    try {
      assertMatch(await get(kept), /"server":"reloaded"/);
      assertEquals((await sClient(port, { servername: "localhost" })).subject, "CN = server");
      await Deno.writeTextFile(file, stringify(config({ tls_context: tlsContext("other") })));
      m.process.kill("SIGHUP");
      await reloads(1);
      assertEquals(m.port("edge"), port, "the socket was kept");
      assertEquals((await sClient(port, { servername: "localhost" })).subject, "CN = other");
      assertMatch(await get(kept), /^HTTP\/1\.1 200/, "the session from before the reload still works");
      // TLS off: a plaintext listener accepts differently, so the listener is bound anew (port 0: a new port).
      await Deno.writeTextFile(file, stringify(config({})));
      m.process.kill("SIGHUP");
      await reloads(2);
      await m.readAddresses();
      const plain = await curl([`http://127.0.0.1:${m.port("edge")}/`]);
      assertEquals((JSON.parse(plain.stdout) as Seen).server, "reloaded", plain.stderr);
    } finally {
      kept.close();
      assertEquals(await m.stop(), 0, m.logs());
      await o.close();
      await Deno.remove(file);
    }
  },
);

Deno.test(
  "tls: the access log shows the TLS version, cipher, peer URI SAN, subject and SNI (stops the shared meshctl)",
  opts,
  async () => {
    const s = await mesh();
    const r = await curlTls("mtls", ["--http1.1", ...clientCert("client")]);
    assertEquals(r.code, 0, r.stderr);
    // Stopping flushes the access-log writer: the line is in the file once meshctl has exited.
    assertEquals(await s.mesh.stop(), 0, s.mesh.logs());
    const text = await Deno.readTextFile(s.accessLog);
    assertMatch(text, new RegExp(`^TLSv1\\.3 TLS_\\S+ ${TRUSTED_IDENTITY} CN=client localhost$`, "m"));
  },
);

Deno.test({
  name: "tls: stop the shared meshctl's upstreams and remove the test PKI",
  ...opts,
  async fn() {
    if (shared !== undefined) {
      const s = await shared;
      await s.mesh.stop(); // already stopped unless the access-log test failed early
      await Promise.all(s.origins.map((o) => o.close()));
      await s.grpcServer.stop();
    }
    await pki.remove();
  },
});
