/**
 * CONNECT through the real meshctl (RFC 9110 §9.3.6, RFC 9113 §8.5), with Envoy's config: a route matching
 * `connect_matcher` whose `upgrade_configs` enable CONNECT either terminates the tunnel (`connect_config`:
 * TCP to the cluster host) or forwards the CONNECT as a request. Peers: node:http2 and curl as clients, a
 * TCP echo server and a Deno origin behind.
 */
import http2 from "node:http2";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, curl, httpProxyConfig, type Meshctl, startMeshctl, startOrigin } from "./_e2e.ts";
import { startEchoServer } from "./_peers/tcp_echo.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const TERMINATE = [{
  match: { connect_matcher: {} },
  route: { cluster_name: "origin", upgrade_configs: [{ upgrade_type: "CONNECT", connect_config: {} }] },
}];

/** An HTTP/2 CONNECT on its own session: what `send` writes comes back as the tunnel's bytes, then its end. */
async function connectOverH2(port: number, authority: string, send: string[]): Promise<{
  status: number;
  received: string;
  ended: boolean;
}> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  try {
    const stream = session.request({ ":method": "CONNECT", ":authority": authority });
    const status = await new Promise<number>((resolve, reject) => {
      stream.once("response", (h) => resolve(Number(h[":status"])));
      stream.once("error", reject);
      setTimeout(() => reject(new Error("no response to CONNECT")), 5000);
    });
    let received = "";
    const ended = new Promise<boolean>((resolve) => {
      stream.on("data", (d: Uint8Array) => received += new TextDecoder().decode(d));
      stream.once("end", () => resolve(true));
      stream.once("close", () => resolve(false));
      setTimeout(() => resolve(false), 5000);
    });
    for (const s of send) stream.write(s);
    stream.end(); // the client's half-close: meshctl half-closes the upstream, the echo server then closes
    const end = await ended;
    return { status, received, ended: end };
  } finally {
    session.destroy();
  }
}

async function withMesh(
  config: Record<string, unknown>,
  fn: (mesh: Meshctl) => Promise<void>,
): Promise<void> {
  const mesh = await startMeshctl(config);
  try {
    await fn(mesh);
  } finally {
    assertEquals(await mesh.stop(), 0, mesh.logs());
  }
}

Deno.test(
  "HTTP/2 CONNECT terminated by meshctl: 200, then the stream's bytes are a TCP connection to the cluster host",
  opts,
  async () => {
    const echo = startEchoServer();
    try {
      await withMesh(
        httpProxyConfig({
          hosts: [echo.address],
          routes: TERMINATE,
          proxy: { downstream_protocol: "Http2" },
        }),
        async (mesh) => {
          const r = await connectOverH2(mesh.port("ingress"), "anything.example:443", ["hello ", "tunnel"]);
          assertEquals(r, { status: 200, received: "hello tunnel", ended: true });
          assertEquals(echo.connections, 1);
          const stats = await adminStats(mesh.adminPort);
          assertEquals(stats.upstream?.["cluster.origin"]?.request_total, 1);
        },
      );
    } finally {
      await echo.stop();
    }
  },
);

Deno.test(
  "HTTP/1.1 CONNECT terminated by meshctl carries curl's proxied request to the origin",
  opts,
  async () => {
    const origin = startOrigin((req) =>
      new Response(`origin saw ${req.method} ${new URL(req.url).pathname}`)
    );
    try {
      await withMesh(
        httpProxyConfig({
          hosts: [origin.address],
          routes: TERMINATE,
          proxy: { downstream_protocol: "Http1" },
        }),
        async (mesh) => {
          // -p: curl opens the tunnel with CONNECT, then speaks HTTP through it.
          const r = await curl([
            "-p",
            "-x",
            `http://127.0.0.1:${mesh.port("ingress")}`,
            "-v",
            "http://target.example:8080/through",
          ]);
          assertEquals(r.code, 0, r.stderr);
          assertMatch(r.stderr, /CONNECT target\.example:8080 HTTP\/1\.1/);
          assertMatch(r.stderr, /HTTP\/1\.1 200/);
          assertEquals(r.stdout, "origin saw GET /through");
          assertEquals(origin.requests, 1);
        },
      );
    } finally {
      await origin.close();
    }
  },
);

Deno.test("CONNECT forwarded over HTTP/2 to a meshctl that terminates it (two hops)", opts, async () => {
  const echo = startEchoServer();
  try {
    await withMesh(
      httpProxyConfig({ hosts: [echo.address], routes: TERMINATE, proxy: { downstream_protocol: "Http2" } }),
      async (inner) => {
        const forward = [{
          match: { connect_matcher: {} },
          route: { cluster_name: "origin", upgrade_configs: [{ upgrade_type: "CONNECT" }] },
        }];
        await withMesh(
          httpProxyConfig({
            hosts: [`127.0.0.1:${inner.port("ingress")}`],
            routes: forward,
            proxy: { downstream_protocol: "Http2", upstream_protocol: "Http2" },
          }),
          async (outer) => {
            const r = await connectOverH2(outer.port("ingress"), "svc.example:9000", [
              "over ",
              "two ",
              "hops",
            ]);
            assertEquals(r, { status: 200, received: "over two hops", ended: true });
          },
        );
      },
    );
    assertEquals(echo.connections, 1);
  } finally {
    await echo.stop();
  }
});

Deno.test(
  "CONNECT matches only connect_matcher routes: elsewhere it is no route (404), never a path match",
  opts,
  async () => {
    const echo = startEchoServer();
    try {
      await withMesh(
        httpProxyConfig({ hosts: [echo.address], proxy: { downstream_protocol: "Http2" } }), // prefix "/" only
        async (mesh) => {
          const r = await connectOverH2(mesh.port("ingress"), "a.example:443", []);
          assertEquals(r.status, 404);
          assertEquals(echo.connections, 0);
        },
      );
    } finally {
      await echo.stop();
    }
  },
);

Deno.test("meshctl validate: a connect_matcher route needs upgrade_configs for CONNECT", opts, async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = httpProxyConfig({
      hosts: ["127.0.0.1:9"],
      routes: [{ match: { connect_matcher: {} }, route: { cluster_name: "origin" } }],
    });
    const file = `${dir}/c.json`;
    await Deno.writeTextFile(file, JSON.stringify(config, null, 1));
    const { runCli } = await import("./_e2e.ts");
    const r = await runCli(["validate", file]);
    assertEquals(r.code, 1);
    assert(
      r.stderr.includes(
        "match.connect_matcher: a route for CONNECT needs route.upgrade_configs with upgrade_type CONNECT",
      ),
      r.stderr,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
