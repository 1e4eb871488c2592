/**
 * Upstream TLS through the real meshctl: a plain HTTP (or bolt) listener, clusters with MOSN's
 * `tls_context`, and real TLS servers behind them — nginx (OpenSSL: SNI server blocks, client
 * certificates, HTTP/2 over ALPN) and a node:tls terminator in front of a sofa-rpc-node bolt server.
 * Certificates come from tests/_peers/certs.ts, made per run.
 */
import net from "node:net";
import tls from "node:tls";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, curl, type Meshctl, startMeshctl } from "./_e2e.ts";
import { makeTestPki, type TestPki } from "./_peers/certs.ts";
import { startNginx } from "./_peers/nginx.ts";
import { boltClient, startBoltServer } from "./_peers/bolt_peers.ts";
import { startEchoServer } from "./_peers/tcp_echo.ts";

const pki: TestPki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

/** nginx's server blocks, by port index. Each answers with what it saw of the TLS session. */
const NGINX_TLS = 0; // SNI server.test/localhost (default server) and other.test (its own certificate)
const NGINX_MTLS = 1; // ssl_verify_client on, client certificates from the test CA
const NGINX_UNTRUSTED = 2; // a certificate from a CA nobody trusts
const NGINX_H2 = 3; // HTTP/2 over TLS (ALPN h2)
const NGINX_PLAIN = 4; // no TLS

function startTlsNginx() {
  const cert = (p: { certPath: string; keyPath: string }) =>
    `ssl_certificate ${p.certPath}; ssl_certificate_key ${p.keyPath};`;
  const tlsVars = `$ssl_protocol sni=$ssl_server_name`;
  return startNginx({
    portCount: 5,
    // nginx 1.22's default is TLS 1.0–1.2 (1.3 joined the default in 1.23.4).
    servers: (ports) => `
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:${ports[NGINX_TLS]} ssl default_server; server_name server.test localhost; ${
      cert(pki.server)
    }
    location / { return 200 "default ${tlsVars}"; }
  }
  server {
    listen 127.0.0.1:${ports[NGINX_TLS]} ssl; server_name other.test; ${cert(pki.other)}
    location / { return 200 "other ${tlsVars}"; }
  }
  server {
    listen 127.0.0.1:${ports[NGINX_MTLS]} ssl; ${cert(pki.server)}
    ssl_verify_client on; ssl_client_certificate ${pki.ca.certPath};
    location / { return 200 "mtls $ssl_client_verify $ssl_client_s_dn"; }
  }
  server {
    listen 127.0.0.1:${ports[NGINX_UNTRUSTED]} ssl; ${cert(pki.untrustedClient)}
    location / { return 200 "untrusted ${tlsVars}"; }
  }
  server {
    listen 127.0.0.1:${ports[NGINX_H2]} ssl http2; ${cert(pki.server)}
    location / { return 200 "h2 $server_protocol $ssl_protocol"; }
  }
  server {
    listen 127.0.0.1:${ports[NGINX_PLAIN]};
    location / { return 200 "plain $scheme"; }
  }`,
  });
}

type Nginx = Awaited<ReturnType<typeof startTlsNginx>>;

/** A MOSN cluster with a `tls_context` (`status: true` added). */
function tlsCluster(
  name: string,
  hosts: (string | Record<string, unknown>)[],
  tlsContext: Record<string, unknown> | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    type: "SIMPLE",
    lb_type: "LB_ROUNDROBIN",
    connect_timeout: "2s",
    hosts: hosts.map((h) => typeof h === "string" ? { address: h } : h),
    ...(tlsContext === undefined ? {} : { tls_context: { status: true, ...tlsContext } }),
    ...extra,
  };
}

/** One HTTP/1 listener "ingress": path prefix /<cluster>/ goes to that cluster. */
function meshConfig(
  clusters: Record<string, unknown>[],
  routeExtra: Record<string, Record<string, unknown>> = {},
) {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: clusters.map((c) => ({
            match: { prefix: `/${c["name"]}/` },
            route: { cluster_name: c["name"], ...(routeExtra[c["name"] as string] ?? {}) },
          })),
        }],
      }],
      listeners: [{
        name: "ingress",
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }],
        }],
      }],
    }],
    cluster_manager: { clusters },
  };
}

const CA = () => ({ ca_cert: pki.ca.certPath });

const opts = {
  sanitizeOps: false, // child processes outlive steps
  sanitizeResources: false,
};

/** Every cluster the nginx tests use, on one meshctl. */
function nginxClusters(nginx: Nginx): Record<string, unknown>[] {
  const at = (i: number) => `127.0.0.1:${nginx.ports[i]}`;
  return [
    tlsCluster("verified", [at(NGINX_TLS)], { ...CA(), server_name: "server.test" }),
    tlsCluster("keepalive", [at(NGINX_TLS)], { ...CA(), server_name: "server.test" }),
    tlsCluster("sni_other", [at(NGINX_TLS)], { ...CA(), server_name: "other.test" }),
    tlsCluster("ip_name", [at(NGINX_TLS)], { ...CA(), server_name: "127.0.0.1" }),
    tlsCluster("dns_name", [`localhost:${nginx.ports[NGINX_TLS]}`], CA(), { type: "STRICT_DNS" }),
    tlsCluster("mtls", [at(NGINX_MTLS)], {
      ...CA(),
      server_name: "server.test",
      cert_chain: pki.client.certPath,
      private_key: pki.client.keyPath,
    }),
    tlsCluster("mtls_nocert", [at(NGINX_MTLS)], { ...CA(), server_name: "server.test" }),
    tlsCluster("untrusted", [at(NGINX_UNTRUSTED)], { ...CA(), server_name: "server.test" }),
    tlsCluster("skip", [at(NGINX_UNTRUSTED)], { ...CA(), server_name: "server.test", insecure_skip: true }),
    tlsCluster("disabled", [{ address: at(NGINX_PLAIN), tls_disable: true }], {
      ...CA(),
      server_name: "x.test",
    }),
    tlsCluster("h2", [at(NGINX_H2)], { ...CA(), server_name: "server.test" }),
    tlsCluster("h2_on_h1", [at(NGINX_TLS)], { ...CA(), server_name: "server.test" }),
  ];
}

const NGINX_ROUTES = { h2: { upstream_protocol: "Http2" }, h2_on_h1: { upstream_protocol: "Http2" } };

/** nginx and a meshctl with every cluster above, for one test; both stopped after it. */
async function withNginxMesh(
  fn: (get: (path: string, args?: string[]) => Promise<Reply>, mesh: Meshctl) => Promise<void>,
  serveArgs: string[] = [],
) {
  const nginx = await startTlsNginx();
  let mesh: Meshctl | undefined;
  try {
    mesh = await startMeshctl(meshConfig(nginxClusters(nginx), NGINX_ROUTES), { args: serveArgs });
    const port = mesh.port("ingress");
    await fn((path, args) => get(port, path, args), mesh);
  } finally {
    const code = await mesh?.stop();
    await nginx.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh?.logs()}`);
  }
}

interface Reply {
  status: number;
  body: string;
  ms: number;
}

async function get(port: number, path: string, args: string[] = []): Promise<Reply> {
  const t0 = performance.now();
  const r = await curl([...args, "-w", "\n%{http_code}", `http://127.0.0.1:${port}${path}`]);
  const cut = r.stdout.lastIndexOf("\n");
  return {
    status: Number(r.stdout.slice(cut + 1)),
    body: r.stdout.slice(0, cut),
    ms: performance.now() - t0,
  };
}

async function clusterStats(mesh: Meshctl, cluster: string): Promise<Record<string, number>> {
  const stats = await adminStats(mesh.adminPort);
  const s = stats["upstream"]?.[`cluster.${cluster}`];
  assert(s !== undefined, `no upstream stats for ${cluster}: ${JSON.stringify(stats["upstream"])}`);
  return s;
}

Deno.test(
  "meshctl → nginx over TLS: the request arrives on a session verified against ca_cert",
  opts,
  async () => {
    await withNginxMesh(async (get, mesh) => {
      const r = await get("/verified/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "default TLSv1.3 sni=server.test");
      const s = await clusterStats(mesh, "verified");
      assertEquals(s["tls_handshake_total"], 1);
      assertEquals(s["tls_handshake_failure_total"], 0);
      assertEquals(s["tls_version_tlsv1_3_total"], 1);
      assertEquals(Object.keys(s).filter((k) => k.startsWith("tls_cipher_") && s[k] === 1).length, 1);
    });
  },
);

Deno.test(
  "meshctl → nginx over TLS: 20 keep-alive requests share one pooled session, one handshake",
  opts,
  async () => {
    await withNginxMesh(async (get, mesh) => {
      for (let i = 0; i < 20; i++) {
        const r = await get("/keepalive/");
        assertEquals(r.body, "default TLSv1.3 sni=server.test");
      }
      const s = await clusterStats(mesh, "keepalive");
      assertEquals(s["connection_total"], 1);
      assertEquals(s["tls_handshake_total"], 1);
      assertEquals(s["request_total"], 20);
      // One upstream pool: each curl is its own downstream connection, which workers would split between
      // their own pools (one connection and one handshake each).
    }, ["--concurrency", "1"]);
  },
);

Deno.test("meshctl → nginx over TLS: server_name picks nginx's SNI server block", opts, async () => {
  await withNginxMesh(async (get) => {
    // nginx picks the certificate by SNI (verification for other.test passes only with other's) and
    // the server block by Host, so the request names the same server.
    const host = (name: string) => ["-H", `Host: ${name}`];
    assertEquals((await get("/sni_other/", host("other.test"))).body, "other TLSv1.3 sni=other.test");
    assertEquals((await get("/verified/", host("server.test"))).body, "default TLSv1.3 sni=server.test");
  });
});

Deno.test(
  "meshctl → nginx over TLS: server_name 127.0.0.1 (MOSN's examples) sends no SNI, verifies the IP SAN",
  opts,
  async () => {
    await withNginxMesh(async (get, mesh) => {
      const r = await get("/ip_name/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "default TLSv1.3 sni=", "no SNI: nginx's default server, $ssl_server_name empty");
      assertEquals((await clusterStats(mesh, "ip_name"))["tls_handshake_total"], 1);
    });
  },
);

Deno.test(
  "meshctl → nginx over TLS: a STRICT_DNS host's name is the SNI, not the address it resolved to",
  opts,
  async () => {
    await withNginxMesh(async (get) => {
      const r = await get("/dns_name/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "default TLSv1.3 sni=localhost");
    });
  },
);

Deno.test(
  "meshctl → nginx with ssl_verify_client on: the cluster's cert_chain/private_key pass",
  opts,
  async () => {
    await withNginxMesh(async (get) => {
      const r = await get("/mtls/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "mtls SUCCESS CN=client");
    });
  },
);

Deno.test(
  "meshctl → nginx with ssl_verify_client on: without a client certificate nginx refuses, promptly relayed",
  opts,
  async () => {
    await withNginxMesh(async (get, mesh) => {
      const r = await get("/mtls_nocert/");
      // nginx completes the handshake and refuses in HTTP: its 400 is the upstream's answer.
      assertEquals(r.status, 400, r.body);
      assertMatch(r.body, /No required SSL certificate was sent/);
      assert(r.ms < 5000, `answered after ${r.ms.toFixed(0)} ms`);
      const s = await clusterStats(mesh, "mtls_nocert");
      assertEquals(
        [s["response_success"], s["response_failed"] ?? 0],
        [1, 0],
        "nginx's answer, no local reply",
      );
      assertEquals(s["tls_handshake_total"], 1);
    });
  },
);

Deno.test(
  "meshctl → nginx with an untrusted certificate: 502 and tls_fail_verify_total; insecure_skip: 200",
  opts,
  async () => {
    await withNginxMesh(async (get, mesh) => {
      const refused = await get("/untrusted/");
      assertEquals(refused.status, 502, refused.body);
      const s = await clusterStats(mesh, "untrusted");
      assert(s["tls_fail_verify_total"]! >= 1, JSON.stringify(s));
      assertEquals(s["tls_fail_verify_total"], s["tls_handshake_failure_total"]);
      assertEquals(s["tls_handshake_total"], 0);
      assert(s["connection_con_fail"]! >= 1, "a failed handshake is a failed connect");
      const skipped = await get("/skip/");
      assertEquals(skipped.status, 200, skipped.body);
      assertEquals(skipped.body, "untrusted TLSv1.3 sni=server.test");
    });
  },
);

Deno.test("meshctl → a tls_disable host of a TLS cluster speaks plaintext", opts, async () => {
  await withNginxMesh(async (get, mesh) => {
    const r = await get("/disabled/");
    assertEquals(r.status, 200, r.body);
    assertEquals(r.body, "plain http");
    const s = await clusterStats(mesh, "disabled");
    assertEquals(s["tls_handshake_total"] ?? 0, 0);
    assertEquals(s["tls_handshake_failure_total"] ?? 0, 0);
  });
});

Deno.test(
  "meshctl → nginx over TLS with upstream_protocol Http2: ALPN h2, and a server without h2 fails clearly",
  opts,
  async () => {
    await withNginxMesh(async (get, mesh) => {
      const r = await get("/h2/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "h2 HTTP/2.0 TLSv1.3");
      assertEquals((await clusterStats(mesh, "h2"))["tls_handshake_total"], 1);
      // nginx's other block speaks only HTTP/1.1: it picks no ALPN protocol, and h2 cannot go there.
      const refused = await get("/h2_on_h1/");
      assertEquals(refused.status, 502, refused.body);
      const s = await clusterStats(mesh, "h2_on_h1");
      assert(s["tls_fail_protocol_total"]! >= 1, JSON.stringify(s));
      assertEquals(s["tls_handshake_total"], 0);
    });
  },
);

Deno.test(
  "meshctl → a public-roots-only tls_context runs on Deno.startTls and verifies against the system roots",
  opts,
  async () => {
    const nginx = await startTlsNginx();
    // DENO_CERT adds the test CA to the process's default roots: it stands in for a public CA.
    const config = meshConfig([
      tlsCluster("public", [`localhost:${nginx.ports[NGINX_TLS]}`], {}, { type: "STRICT_DNS" }),
      tlsCluster("public_untrusted", [`127.0.0.1:${nginx.ports[NGINX_UNTRUSTED]}`], {
        server_name: "server.test",
      }),
    ]);
    const mesh = await startMeshctl(config, { env: { DENO_CERT: pki.ca.certPath } });
    try {
      const port = mesh.port("ingress");
      const r = await get(port, "/public/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "default TLSv1.3 sni=localhost");
      const s = await clusterStats(mesh, "public");
      assertEquals(s["tls_handshake_total"], 1);
      // Deno.startTls reports neither version nor cipher: none counted is how this stack shows.
      assertEquals(Object.keys(s).filter((k) => k.startsWith("tls_version_")), []);
      const refused = await get(port, "/public_untrusted/");
      assertEquals(refused.status, 502, refused.body);
      assert((await clusterStats(mesh, "public_untrusted"))["tls_fail_verify_total"]! >= 1);
    } finally {
      const code = await mesh.stop();
      await nginx.stop();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

/** A node:tls terminator: each TLS connection is relayed to `target` in plaintext. */
async function startTlsTerminator(target: number) {
  const sessions = new Set<tls.TLSSocket>();
  let accepted = 0;
  const server = tls.createServer({ cert: pki.server.cert, key: pki.server.key }, (s) => {
    accepted++;
    sessions.add(s);
    const up = net.connect({ host: "127.0.0.1", port: target });
    s.pipe(up).pipe(s);
    const end = () => {
      s.destroy();
      up.destroy();
      sessions.delete(s);
    };
    s.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

Deno.test(
  "meshctl bolt listener → TLS → bolt server: calls multiplexed on one TLS session",
  opts,
  async () => {
    const bolt = await startBoltServer();
    const terminator = await startTlsTerminator(bolt.port);
    const config = {
      servers: [{
        default_log_level: "WARN",
        routers: [{
          router_config_name: "rpc",
          virtual_hosts: [{
            name: "rpc",
            domains: ["*"],
            routers: [{
              match: { headers: [{ name: "service", value: ".*" }] },
              route: { cluster_name: "bolt_tls" },
            }],
          }],
        }],
        listeners: [{
          name: "bolt_in",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            filters: [{ type: "proxy", config: { downstream_protocol: "bolt", router_config_name: "rpc" } }],
          }],
        }],
      }],
      cluster_manager: {
        clusters: [
          tlsCluster("bolt_tls", [`127.0.0.1:${terminator.port}`], { ...CA(), server_name: "server.test" }),
        ],
      },
    };
    const mesh = await startMeshctl(config);
    const client = boltClient(`127.0.0.1:${mesh.port("bolt_in")}`);
    try {
      assertEquals(await client.plus(1, 2), 3);
      const results = await client.plusMany(50);
      assertEquals(results, Array.from({ length: 50 }, (_, i) => 2 * i));
      assertEquals(bolt.callsOf("plus"), 51);
      assertEquals(terminator.accepted, 1, "one multiplexed upstream connection");
      const s = await clusterStats(mesh, "bolt_tls");
      assertEquals(s["tls_handshake_total"], 1);
      assertEquals(s["connection_total"], 1);
    } finally {
      await client.close();
      const code = await mesh.stop();
      await terminator.close();
      await bolt.stop();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "meshctl → nginx over TLS: cluster_manager_tls takes cluster_manager.tls_context",
  opts,
  async () => {
    const nginx = await startTlsNginx();
    const config = meshConfig([{
      ...tlsCluster("shared", [`127.0.0.1:${nginx.ports[NGINX_TLS]}`], undefined),
      cluster_manager_tls: true,
    }]);
    const manager = config.cluster_manager as Record<string, unknown>;
    manager["tls_context"] = { status: true, ...CA(), server_name: "server.test" };
    const mesh = await startMeshctl(config);
    try {
      const r = await get(mesh.port("ingress"), "/shared/");
      assertEquals(r.status, 200, r.body);
      assertEquals(r.body, "default TLSv1.3 sni=server.test");
      assertEquals((await clusterStats(mesh, "shared"))["tls_handshake_total"], 1);
    } finally {
      const code = await mesh.stop();
      await nginx.stop();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "tcp_proxy → a TLS cluster: the relayed bytes travel over a verified TLS session",
  opts,
  async () => {
    const echo = startEchoServer();
    const terminator = await startTlsTerminator(echo.port);
    const mesh = await startMeshctl({
      servers: [{
        default_log_level: "WARN",
        listeners: [{
          name: "l4",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "tls_echo" } }] }],
        }],
      }],
      cluster_manager: {
        clusters: [
          tlsCluster("tls_echo", [`127.0.0.1:${terminator.port}`], { ...CA(), server_name: "server.test" }),
        ],
      },
    });
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: mesh.port("l4") });
      try {
        const text = "over tcp_proxy, encrypted upstream";
        await conn.write(new TextEncoder().encode(text));
        const buf = new Uint8Array(text.length);
        let got = 0;
        while (got < buf.length) {
          const n = await conn.read(buf.subarray(got));
          if (n === null) break;
          got += n;
        }
        assertEquals(new TextDecoder().decode(buf.subarray(0, got)), text);
      } finally {
        conn.close();
      }
      assertEquals(terminator.accepted, 1, "the upstream connection was TLS");
      assertEquals((await clusterStats(mesh, "tls_echo"))["tls_handshake_total"], 1);
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
      await terminator.close();
      await echo.stop();
    }
  },
);
