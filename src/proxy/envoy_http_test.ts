/**
 * Envoy HCM behaviours the xDS converter turns on (normalize_path, generate_request_id, server header,
 * x-envoy-attempt-count): each configured in a MOSN document, then a request through ProxyStream to
 * loopback origins that record what they received.
 */
import assert from "node:assert/strict";
import type { ProxyFilterConfig } from "../config/mod.ts";
import { normalizePath } from "./http_headers.ts";
import { ProxyStream } from "./proxy_stream.ts";
import { proxyContext, RecordingStream, TEST_CONN as conn, validSnapshot } from "./_test_harness.ts";

interface Seen {
  path: string;
  headers: Headers;
}

/** Two origins (admin, public) behind routes /admin and /public; `proxy` adds the proxy filter's options. */
async function withProxy(
  proxy: Record<string, unknown>,
  vhostExtra: Record<string, unknown>,
  run: (
    send: (path: string, headers?: Record<string, string>) => Promise<RecordingStream>,
    seen: Record<string, Seen[]>,
  ) => Promise<void>,
  respond: (name: string, n: number) => Response | Promise<Response> = () =>
    new Response("ok", { headers: { server: "origin" } }),
  routeExtra: Record<string, unknown> = {},
): Promise<void> {
  const seen: Record<string, Seen[]> = { admin: [], public: [] };
  const origins = ["admin", "public"].map((name) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      seen[name]!.push({ path: new URL(req.url).pathname, headers: req.headers });
      return respond(name, seen[name]!.length);
    })
  );
  const route = (prefix: string, cluster: string) => ({
    match: { prefix },
    route: {
      cluster_name: cluster,
      retry_policy: { retry_conditions: ["5xx"], num_retries: 1 },
      ...routeExtra,
    },
  });
  const snapshot = validSnapshot(
    JSON.stringify({
      servers: [{
        routers: [{
          router_config_name: "r",
          virtual_hosts: [{
            name: "all",
            domains: ["*"],
            routers: [route("/admin", "admin"), route("/public", "public")],
            ...vhostExtra,
          }],
        }],
        listeners: [{
          address: "127.0.0.1:0",
          filter_chains: [{ filters: [{ type: "proxy", config: { router_config_name: "r", ...proxy } }] }],
        }],
      }],
      cluster_manager: {
        clusters: ["admin", "public"].map((name, i) => ({
          name,
          hosts: [{ address: `127.0.0.1:${origins[i]!.addr.port}` }],
        })),
      },
    }),
    "test.json",
  );
  const p = snapshot.servers[0]!.listeners[0]!.networkFilters[0] as ProxyFilterConfig;
  const { ctx, clusters } = proxyContext(snapshot, {
    envoyHttp: {
      normalizePath: p.normalizePath,
      generateRequestId: p.generateRequestId,
      serverHeader: p.serverHeader,
    },
  });
  try {
    await run(async (path, headers) => {
      const ds = new RecordingStream(path, headers);
      new ProxyStream(ctx, conn, ds).start();
      await ds.done;
      return ds;
    }, seen);
  } finally {
    clusters.close();
    for (const o of origins) await o.shutdown();
  }
}

Deno.test("normalizePath: dot segments, \\ as /, unreserved escapes decoded, other escapes and // kept", () => {
  const cases: [string, string | undefined][] = [
    ["/a/b/../c", "/a/c"],
    ["/a/./b/", "/a/b/"],
    ["/a/..", "/"],
    ["/../../etc", "/etc"],
    ["/a/.", "/a/"],
    ["/public/%2e%2e/admin", "/admin"],
    ["/public\\..\\admin", "/admin"],
    ["/%7Euser/%41", "/~user/A"],
    ["/a%2Fb/%2f", "/a%2Fb/%2f"],
    ["//a//b", "//a//b"],
    ["/plain", "/plain"],
    ["*", "*"],
    ["/bad%zz", undefined],
    ["/bad%4", undefined],
  ];
  for (const [path, want] of cases) assert.equal(normalizePath(path), want, path);
});

Deno.test("normalize_path: /public/../admin routes to /admin and the upstream gets the normalized path", async () => {
  await withProxy({ normalize_path: true }, {}, async (send, seen) => {
    assert.equal((await send("/public/%2e%2e/admin/x")).status, 200);
    assert.deepEqual([seen.admin!.map((s) => s.path), seen.public!.length], [["/admin/x"], 0]);
    assert.equal((await send("/bad%zz")).status, 400);
  });
  // Without it the path goes on as sent: the /public route takes it.
  await withProxy({}, {}, async (send, seen) => {
    await send("/public/../admin");
    assert.deepEqual([seen.admin!.length, seen.public!.length], [0, 1]);
  });
});

Deno.test("generate_request_id: an x-request-id UUID is added when absent, a client's is kept", async () => {
  await withProxy({ generate_request_id: true }, {}, async (send, seen) => {
    await send("/admin");
    await send("/admin", { "x-request-id": "client-id" });
    const ids = seen.admin!.map((s) => s.headers.get("x-request-id"));
    assert.match(ids[0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(ids[1], "client-id");
  });
  await withProxy({}, {}, async (send, seen) => {
    await send("/admin");
    assert.equal(seen.admin![0]!.headers.get("x-request-id"), null);
  });
});

Deno.test("server_header_transformation: OVERWRITE sets server_name, APPEND_IF_ABSENT only fills in, default passes through", async () => {
  const server = async (proxy: Record<string, unknown>, respond?: () => Response) => {
    let got: string | undefined;
    await withProxy(proxy, {}, async (send) => {
      got = (await send("/admin")).headers?.get("server");
    }, respond);
    return got;
  };
  const bare = () => new Response("ok");
  assert.equal(
    await server({ server_header_transformation: "OVERWRITE", server_name: "istio-envoy" }),
    "istio-envoy",
  );
  assert.equal(await server({ server_header_transformation: "OVERWRITE" }), "envoy");
  assert.equal(await server({ server_header_transformation: "APPEND_IF_ABSENT" }), "origin");
  assert.equal(await server({ server_header_transformation: "APPEND_IF_ABSENT" }, bare), "envoy");
  assert.equal(await server({}), "origin");
});

Deno.test("include_request_attempt_count: the upstream sees x-envoy-attempt-count 1, then 2 on the retry", async () => {
  const failFirst = (_name: string, n: number) => new Response("x", { status: n === 1 ? 503 : 200 });
  await withProxy({}, { include_request_attempt_count: true }, async (send, seen) => {
    assert.equal((await send("/admin")).status, 200);
    assert.deepEqual(seen.admin!.map((s) => s.headers.get("x-envoy-attempt-count")), ["1", "2"]);
  }, failFirst);
  await withProxy({}, {}, async (send, seen) => {
    await send("/admin");
    assert.equal(seen.admin![0]!.headers.get("x-envoy-attempt-count"), null);
  });
});

Deno.test("a route's idle_timeout replaces the proxy's stream_idle_timeout (Envoy's route idle_timeout)", async () => {
  const release = Promise.withResolvers<void>();
  const silent = async () => {
    await release.promise; // an upstream that accepted the request and says nothing
    return new Response("late");
  };
  // The route has no timeout; the proxy's stream idle timeout is 3 s, the route's idle timeout 100 ms.
  await withProxy(
    { stream_idle_timeout: "3s" },
    {},
    async (send) => {
      const started = performance.now();
      const ds = await send("/admin");
      const took = performance.now() - started;
      release.resolve();
      assert.equal(ds.status, 408);
      assert.ok(took >= 50 && took < 2500, `the route's 100 ms, not the proxy's 3 s (took ${took} ms)`);
    },
    silent,
    { timeout: "0s", idle_timeout: "100ms" },
  );
});
