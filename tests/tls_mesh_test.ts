/**
 * The mesh case: an application talks plaintext to its client sidecar, the client sidecar talks mTLS to
 * the server sidecar, which checks the client's SPIFFE identity and talks plaintext to the server
 * application. HTTP/1.1 and bolt both cross; an intruder's sidecar (a certificate from the same CA, the
 * wrong identity) is refused in the handshake; and the identity reaches the application in XFCC.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, curl, type Meshctl, startMeshctl } from "./_e2e.ts";
import { makeTestPki, type TestPki } from "./_peers/certs.ts";
import { boltClient, type BoltServerPeer, startBoltServer } from "./_peers/bolt_peers.ts";
import { type DualOrigin, type EchoedRequest, startDualOrigin } from "./_peers/h2_origin.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and peer sockets

const IDENTITY = "spiffe://cluster.local/ns/default/sa/app";

function serverSidecar(pki: TestPki, app: string, rpcApp: string): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "inbound",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [
            { match: { headers: [{ name: "service", value: ".*" }] }, route: { cluster_name: "rpc_app" } },
            { match: { prefix: "/" }, route: { cluster_name: "app" } },
          ],
        }],
      }],
      listeners: [{
        name: "inbound",
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          tls_context: {
            status: true,
            cert_chain: pki.server.certPath,
            private_key: pki.server.keyPath,
            ca_cert: pki.ca.certPath,
            verify_client: true,
            require_client_cert: true,
            match_subject_alt_names: [{ prefix: "spiffe://cluster.local/ns/default/" }],
          },
          filters: [{
            type: "proxy",
            config: { downstream_protocol: "Auto", router_config_name: "inbound" },
          }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [
        { name: "app", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: app }] },
        { name: "rpc_app", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: rpcApp }] },
      ],
    },
  };
}

function clientSidecar(pki: TestPki, peer: string, identity = pki.client): Record<string, unknown> {
  const tls = {
    status: true,
    server_name: "server.test",
    ca_cert: pki.ca.certPath,
    cert_chain: identity.certPath,
    private_key: identity.keyPath,
  };
  const route = (name: string, cluster: string) => ({
    router_config_name: name,
    virtual_hosts: [{
      name: "all",
      domains: ["*"],
      routers: [{ match: { prefix: "/" }, route: { cluster_name: cluster } }],
    }],
  });
  const rpcRoute = {
    router_config_name: "rpc_out",
    virtual_hosts: [{
      name: "all",
      domains: ["*"],
      routers: [{
        match: { headers: [{ name: "service", value: ".*" }] },
        route: { cluster_name: "mesh_rpc" },
      }],
    }],
  };
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [route("http_out", "mesh_http"), rpcRoute],
      listeners: [
        {
          name: "http_out",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            filters: [{
              type: "proxy",
              config: {
                downstream_protocol: "Http1",
                upstream_protocol: "Http1",
                router_config_name: "http_out",
              },
            }],
          }],
        },
        {
          name: "bolt_out",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            filters: [{
              type: "proxy",
              config: {
                downstream_protocol: "bolt",
                upstream_protocol: "bolt",
                router_config_name: "rpc_out",
              },
            }],
          }],
        },
      ],
    }],
    cluster_manager: {
      clusters: [
        {
          name: "mesh_http",
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          hosts: [{ address: peer }],
          tls_context: tls,
        },
        {
          name: "mesh_rpc",
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          hosts: [{ address: peer }],
          tls_context: tls,
        },
      ],
    },
  };
}

interface Mesh {
  pki: TestPki;
  app: DualOrigin;
  rpcApp: BoltServerPeer;
  server: Meshctl;
  client: Meshctl;
  stop(): Promise<void>;
}

async function startMesh(identity?: (pki: TestPki) => TestPki["client"]): Promise<Mesh> {
  const pki = await makeTestPki();
  const app = startDualOrigin({ name: "app" });
  const rpcApp = await startBoltServer({ name: "rpc-app" });
  const server = await startMeshctl(serverSidecar(pki, app.address, rpcApp.address));
  const client = await startMeshctl(
    clientSidecar(pki, server.listeners["inbound"]!, identity?.(pki) ?? pki.client),
  );
  return {
    pki,
    app,
    rpcApp,
    server,
    client,
    async stop() {
      const codes = [await client.stop(), await server.stop()];
      await app.stop();
      await rpcApp.stop();
      await pki.remove();
      assertEquals(codes, [0, 0], `${client.logs()}\n${server.logs()}`);
    },
  };
}

Deno.test(
  "mesh: HTTP/1.1 crosses client sidecar → mTLS → server sidecar; the app sees the SPIFFE identity",
  opts,
  async () => {
    const m = await startMesh();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl(["-f", `http://127.0.0.1:${m.client.port("http_out")}/hello?i=${i}`]);
        assertEquals(r.code, 0, r.stderr + m.client.logs() + m.server.logs());
        const echoed = JSON.parse(r.stdout) as EchoedRequest;
        assertEquals([echoed.origin, echoed.path], ["app", `/hello?i=${i}`]);
        const xfcc = echoed.headers["x-forwarded-client-cert"] ?? "";
        assert(xfcc.includes(`URI=${IDENTITY}`), `XFCC: ${xfcc}`);
      }
      const s = await adminStats(m.server.adminPort);
      const inbound = s["downstream"]?.["listener.inbound"] ?? {};
      // Upstream pools are per worker: each client-sidecar worker that took a request dials (and pools) one
      // mTLS connection; with one event loop that is one connection for all three.
      const clientWorkers =
        (await adminStats(m.client.adminPort))["meta"]?.["workers.process"]?.["workers"] ?? 1;
      const handshakes = inbound["tls_handshake_total"] ?? 0;
      assert(
        handshakes >= 1 && handshakes <= Math.min(clientWorkers, 2),
        `pooled mTLS connections carried all three requests: ${handshakes} handshakes, ${clientWorkers} workers`,
      );
    } finally {
      await m.stop();
    }
  },
);

Deno.test("mesh: bolt RPC crosses client sidecar → mTLS → server sidecar → the provider", opts, async () => {
  const m = await startMesh();
  try {
    const client = boltClient(`127.0.0.1:${m.client.port("bolt_out")}`);
    try {
      assertEquals(await client.plus(40, 2), 42);
      assertEquals((await client.plusMany(20)).filter((r) => r instanceof Error), []);
    } finally {
      await client.close();
    }
    assertEquals(m.rpcApp.callsOf("plus"), 21);
  } finally {
    await m.stop();
  }
});

Deno.test("mesh: a sidecar with another namespace's identity is refused in the handshake", opts, async () => {
  const m = await startMesh((pki) => pki.otherClient);
  try {
    const r = await curl([
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://127.0.0.1:${m.client.port("http_out")}/`,
    ]);
    assertEquals(r.stdout, "502", r.stderr); // connect_failure, as for any upstream that refuses the connection
    assertEquals(m.app.requests, 0);
    const s = await adminStats(m.server.adminPort);
    assert(
      (s["downstream"]?.["listener.inbound"]?.["tls_fail_san_total"] ?? 0) >= 1,
      JSON.stringify(s["downstream"]),
    );
  } finally {
    await m.stop();
  }
});
