import assert from "node:assert/strict";
import { StatsRegistry } from "../stats/mod.ts";
import { createAdminHandler } from "./handler.ts";
import { REDACTED } from "./redact.ts";
import { KEPT, secretConfig, SECRETS } from "./_test_config.ts";

function setup(isReady = true) {
  const registry = new StatsRegistry();
  registry.scope("downstream", { listener: "ingress" }).counter("request_total").inc(3);
  registry.scope("upstream", { cluster: "c1" }).gauge("connection_active").set(2);
  const handler = createAdminHandler({
    registry,
    configDump: () => ({
      servers: [{ listeners: [{ name: "ingress", tls: { private_key: "k" } }] }],
      cluster_manager: { clusters: [{ name: "c1", password: "p" }] },
    }),
    ready: () => isReady,
    version: "meshctl 0.1.0",
  });
  return (path: string, method = "GET") => handler(new Request(`http://admin${path}`, { method }));
}

Deno.test("createAdminHandler() serves /api/v1/stats in MOSN's shape and filters by ?key", async () => {
  const get = setup();
  const all = get("/api/v1/stats");
  assert.equal(all.status, 200);
  assert.match(all.headers.get("content-type")!, /^application\/json/);
  assert.deepEqual(await all.json(), {
    downstream: { "listener.ingress": { request_total: "3" } },
    upstream: { "cluster.c1": { connection_active: "2" } },
  });
  assert.deepEqual(await get("/api/v1/stats?key=upstream.cluster.c1").json(), {
    upstream: { "cluster.c1": { connection_active: "2" } },
  });
  assert.equal(get("/api/v1/stats?key=upstream.cluster.nope").status, 404);
  assert.equal(get("/api/v1/stats?key=a&x=b").status, 400);
});

Deno.test("createAdminHandler() redacts secrets in every config_dump view", async () => {
  const get = setup();
  const full = await get("/api/v1/config_dump").text();
  assert.ok(!full.includes('"k"') && !full.includes('"p"'), full);
  assert.deepEqual(await get("/api/v1/config_dump?cluster=c1").json(), { name: "c1", password: REDACTED });
  assert.deepEqual(await get("/api/v1/config_dump?listener=ingress").json(), {
    name: "ingress",
    tls: { private_key: REDACTED },
  });
  assert.equal(get("/api/v1/config_dump?a&b").status, 400);
});

Deno.test("createAdminHandler() serves no secret of a realistic config in any config_dump view", async () => {
  const handler = createAdminHandler({
    registry: new StatsRegistry(),
    configDump: secretConfig,
    ready: () => true,
    version: "v",
  });
  const views = [
    "",
    "?mosnconfig",
    "?allrouters",
    "?alllisteners",
    "?allclusters",
    "?router=egress_http",
    "?listener=egress",
    "?cluster=backend",
  ];
  let all = "";
  for (const view of views) {
    const res = handler(new Request(`http://admin/api/v1/config_dump${view}`));
    assert.equal(res.status, 200, view);
    const text = await res.text();
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${view}: ${secret} survived`);
    all += text;
  }
  for (const kept of KEPT) assert.ok(all.includes(kept), `${kept} was lost`);
  const router = await handler(new Request("http://admin/api/v1/config_dump?router=egress_http")).json();
  assert.deepEqual(router.request_headers_to_add, [
    { header: { key: "x-request-source", value: "mesh" }, append: false },
    { header: { key: "Authorization", value: REDACTED } },
  ]);
});

Deno.test("createAdminHandler() serves version, prometheus, healthz and the endpoint list", async () => {
  const get = setup();
  assert.equal(await get("/api/v1/version").text(), "meshctl 0.1.0");
  const prom = get("/stats/prometheus");
  assert.equal(prom.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.match(await prom.text(), /^meshctl_downstream_request_total\{listener="ingress"\} 3$/m);
  assert.equal(await get("/healthz").text(), "ok\n");
  const root = await get("/").text();
  for (const p of ["/api/v1/stats", "/api/v1/config_dump", "/stats/prometheus", "/ready"]) {
    assert.ok(root.includes(p));
  }
});

Deno.test("createAdminHandler() answers /ready with 200 or 503", async () => {
  const ready = setup(true)("/ready");
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), "ready\n");
  const notReady = setup(false)("/ready");
  assert.equal(notReady.status, 503);
  await notReady.body?.cancel();
});

Deno.test("createAdminHandler() returns 404 JSON for unknown paths and 405 for other methods", async () => {
  const get = setup();
  const missing = get("/nope");
  assert.equal(missing.status, 404);
  assert.match((await missing.json()).error, /no admin endpoint \/nope/);
  const post = get("/api/v1/stats", "POST");
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
  await post.body?.cancel();
  const head = get("/healthz", "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
});

Deno.test("createAdminHandler() turns a failing view into a 500", async () => {
  const handler = createAdminHandler({
    registry: new StatsRegistry(),
    configDump: () => {
      throw new Error("boom");
    },
    ready: () => true,
    version: "v",
  });
  const res = handler(new Request("http://admin/api/v1/config_dump"));
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), { error: "internal error" });
});
