import { deepStrictEqual as assertEquals, equal, match, ok } from "node:assert/strict";
import { FakeClock, silentLogger } from "../../core/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { MemoryRegistry } from "../memory.ts";
import { javaUrlDecode, javaUrlEncode } from "../url.ts";
import type { ProviderInstance } from "../types.ts";
import { RegistryApi, type RegistryApiOptions, type SubscribedRoute } from "./registry_api.ts";
import { serveRegistryApi } from "./server.ts";

const ZK = "127.0.0.1:2181";
const IFACE = "com.example.DemoService";
const REGISTRY = { type: "zookeeper", addr: ZK, username: "", password: "" };
const SERVICE = { interface: IFACE, methods: ["sayHello", "getUser"], group: "", version: "1.0.3" };
const PUB_URL =
  `dubbo://10.0.0.7:20880/${IFACE}?anyhost=true&application=meshctl&deprecated=false&dubbo=2.0.2` +
  `&dynamic=true&generic=false&interface=${IFACE}&methods=getUser,sayHello&pid=42&side=provider` +
  "&timestamp=1700000000000&version=1.0.3";

interface Harness {
  api: RegistryApi;
  zk: MemoryRegistry;
  clock: FakeClock;
  stats: StatsRegistry;
  /** Every onProviders call, as "iface: host:port@weight,…" or "iface: gone". */
  changes: string[];
  /** The route of every onProviders call. */
  routes: SubscribedRoute[];
  post(
    path: string,
    body: unknown,
    init?: RequestInit,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
}

function harness(overrides: Partial<RegistryApiOptions> = {}): Harness {
  const zk = new MemoryRegistry();
  const clock = new FakeClock();
  const stats = new StatsRegistry();
  const changes: string[] = [];
  const routes: SubscribedRoute[] = [];
  const api = new RegistryApi({
    connector: zk,
    advertise: () => ({ ip: "10.0.0.7", port: 20880 }),
    maxBodyBytes: 4096,
    maxServices: 10,
    connectTimeoutMs: 5000,
    onProviders: (iface: string, providers: readonly ProviderInstance[] | undefined, route) =>
      routes.push(route) && changes.push(
        `${iface}: ${
          providers === undefined ? "gone" : providers.map((p) => `${p.host}:${p.port}@${p.weight}`).join(",")
        }`,
      ),
    logger: silentLogger,
    stats,
    clock,
    pid: 42,
    now: () => 1_700_000_000_000,
    ...overrides,
  });
  return {
    api,
    zk,
    clock,
    stats,
    changes,
    routes,
    async post(path, body, init = {}) {
      const res = await api.handle(
        new Request(`http://127.0.0.1${path}`, {
          method: "POST",
          body: typeof body === "string" ? body : JSON.stringify(body),
          ...init,
        }),
      );
      return { status: res.status, body: await res.json() };
    },
  };
}

const ok0 = (msg: string) => ({ status: 200, body: { err_no: 0, err_msg: msg } });

/** Lets the memory backend's watches fire (they run on the next task, as a ZooKeeper watch would). */
const settle = () => new Promise((r) => setTimeout(r, 5));

Deno.test("pub registers this sidecar's address as the provider, at Dubbo's path, once however often", async () => {
  const h = harness();
  assertEquals(await h.post("/pub", { registry: REGISTRY, service: SERVICE }), ok0("publish success"));
  const path = `/dubbo/${IFACE}/providers/${javaUrlEncode(PUB_URL)}`;
  assertEquals(h.zk.nodes(ZK), [path]);
  match(path, /^\/dubbo\/com\.example\.DemoService\/providers\/dubbo%3A%2F%2F10\.0\.0\.7%3A20880%2F/);
  // MOSN re-registers; meshctl keeps the one node and says so.
  const again = await h.post("/pub", {
    registry: REGISTRY,
    service: { ...SERVICE, methods: ["getUser", "sayHello"] },
  });
  assertEquals(again.body, { err_no: 0, err_msg: `publish success (already published: ${path})` });
  assertEquals(h.zk.nodes(ZK), [path]);
  // Other methods: the node is replaced, still one.
  assertEquals(
    await h.post("/pub", { registry: REGISTRY, service: { ...SERVICE, methods: ["sayHello"] } }),
    ok0("publish success (methods updated)"),
  );
  const nodes = h.zk.nodes(ZK);
  equal(nodes.length, 1);
  match(decodeURIComponent(nodes[0]!), /methods=sayHello&/);
  // Another version is another service.
  await h.post("/pub", { registry: REGISTRY, service: { ...SERVICE, version: "2.0.0" } });
  equal(h.zk.nodes(ZK).length, 2);
  equal(h.api.view().published.length, 2);
  equal(h.stats.scope("registry", { api: "dubbo" }).gauge("published").value, 2);
});

Deno.test("unpub deletes the node; unpub of what is not published is an error that changes nothing", async () => {
  const h = harness();
  await h.post("/pub", { registry: REGISTRY, service: SERVICE });
  await h.post("/pub", { registry: REGISTRY, service: { ...SERVICE, interface: "com.example.Other" } });
  assertEquals(await h.post("/unpub", { registry: REGISTRY, service: SERVICE }), ok0("unpub success"));
  assertEquals(h.zk.nodes(ZK).map((p) => p.split("/")[2]), ["com.example.Other"]);
  assertEquals((await h.post("/unpub", { registry: REGISTRY, service: SERVICE })).body, {
    err_no: 1,
    err_msg: `unpub fail, err: ${IFACE} version 1.0.3 at ${ZK} is not published by this sidecar`,
  });
  equal(h.zk.nodes(ZK).length, 1);
  equal(h.stats.scope("registry", { api: "dubbo" }).counter("unpub_failure_total").value, 1);
});

Deno.test("sub registers a consumer, follows providers (weights too), and unsub undoes both", async () => {
  const h = harness();
  const removeA = h.zk.addProvider(
    ZK,
    IFACE,
    `dubbo://10.0.0.1:20880/${IFACE}?interface=${IFACE}&methods=sayHello`,
  );
  // Another group: not this subscription's.
  h.zk.addProvider(ZK, IFACE, `dubbo://10.0.0.9:20880/${IFACE}?group=blue&interface=${IFACE}`);
  const sub = { registry: REGISTRY, service: { interface: IFACE, methods: ["sayHello"], group: "" } };
  assertEquals(await h.post("/sub", sub), ok0("subscribe success"));
  assertEquals(h.changes, [`${IFACE}: 10.0.0.1:20880@100`]);
  const consumers = h.zk.nodes(ZK).filter((p) => p.includes("/consumers/"));
  equal(consumers.length, 1);
  match(
    decodeURIComponent(consumers[0]!),
    /consumer:\/\/10\.0\.0\.7\/com\.example\.DemoService\?application=meshctl&category=consumers&check=false/,
  );

  const removeB = h.zk.addProvider(ZK, IFACE, `dubbo://10.0.0.2:20881/${IFACE}?interface=${IFACE}&weight=30`);
  await settle();
  equal(h.changes.at(-1), `${IFACE}: 10.0.0.1:20880@100,10.0.0.2:20881@30`);
  const view = h.api.view().subscribed[0]!;
  assertEquals(view.providers.map((p) => `${p.address}@${p.weight}`), [
    "10.0.0.1:20880@100",
    "10.0.0.2:20881@30",
  ]);
  equal(view.consumer.state, "registered");
  equal(view.cluster, IFACE);
  removeA();
  await settle();
  equal(h.changes.at(-1), `${IFACE}: 10.0.0.2:20881@30`);

  assertEquals(await h.post("/sub", sub), ok0("subscribe success (already subscribed)"));
  equal(h.zk.nodes(ZK).filter((p) => p.includes("/consumers/")).length, 1);
  const blue = await h.post("/sub", { ...sub, service: { ...sub.service, group: "blue" } });
  equal(blue.body.err_no, 1);
  match(String(blue.body.err_msg), /already subscribed .*unsub it first/);

  assertEquals(await h.post("/unsub", sub), ok0("unsubscribe success"));
  equal(h.changes.at(-1), `${IFACE}: gone`);
  equal(h.zk.nodes(ZK).filter((p) => p.includes("/consumers/")).length, 0);
  const calls = h.changes.length;
  removeB();
  await settle();
  equal(h.changes.length, calls, "no provider events after unsub");
  equal((await h.post("/unsub", sub)).body.err_no, 1);
});

Deno.test("bad requests get a clear err_msg and change nothing", async () => {
  const h = harness();
  const cases: [unknown, RegExp][] = [
    ["{not json", /^(publish|subscribe) fail, err: the body is not JSON: /],
    [[1, 2], /the body must be a JSON object/],
    [{ service: SERVICE }, /registry: missing/],
    [{ registry: REGISTRY }, /service: missing/],
    [{ registry: REGISTRY, service: { ...SERVICE, interface: undefined } }, /service\.interface: missing/],
    [
      { registry: REGISTRY, service: { ...SERVICE, interface: "com.x/../y" } },
      /is not a Java interface name/,
    ],
    [{ registry: REGISTRY, service: { ...SERVICE, methods: undefined } }, /service\.methods: missing/],
    [{ registry: REGISTRY, service: { ...SERVICE, methods: [] } }, /service\.methods must not be empty/],
    [{ registry: REGISTRY, service: { ...SERVICE, methods: "sayHello" } }, /must be a list of method names/],
    [{ registry: REGISTRY, service: { ...SERVICE, methods: ["a b"] } }, /"a b" is not a method name/],
    [{ registry: REGISTRY, service: { ...SERVICE, group: "a&b" } }, /service\.group "a&b" may hold only/],
    [
      { registry: { ...REGISTRY, type: "nacos" }, service: SERVICE },
      /registry\.type "nacos" is not supported; only "zookeeper" is/,
    ],
    [{ registry: { ...REGISTRY, type: undefined }, service: SERVICE }, /registry\.type: missing/],
    [{ registry: { ...REGISTRY, addr: "" }, service: SERVICE }, /registry\.addr: missing/],
    [{ registry: { ...REGISTRY, addr: "127.0.0.1" }, service: SERVICE }, /"127\.0\.0\.1" is not host:port/],
    [{ registry: { ...REGISTRY, addr: "zk1:2181,zk2" }, service: SERVICE }, /"zk2" is not host:port/],
    [{ registry: { ...REGISTRY, addr: "zk1:99999" }, service: SERVICE }, /"zk1:99999" is not host:port/],
    [
      { registry: { ...REGISTRY, addr: "zk1:2181/a//b" }, service: SERVICE },
      /chroot "\/a\/\/b" is not a ZooKeeper path/,
    ],
    [{ registry: { ...REGISTRY, addr: 2181 }, service: SERVICE }, /registry\.addr must be a string/],
  ];
  for (const [body, expected] of cases) {
    for (const op of ["/pub", "/sub"]) {
      const res = await h.post(op, body);
      equal(res.status, 200, `${op} ${JSON.stringify(body)}`);
      equal(res.body.err_no, 1, `${op} ${JSON.stringify(body)}`);
      match(String(res.body.err_msg), expected, `${op} ${JSON.stringify(body)}`);
    }
  }
  assertEquals(h.zk.nodes(ZK), []);
  assertEquals(h.changes, []);
  assertEquals(h.api.view().published, []);
  equal(h.stats.scope("registry", { api: "dubbo" }).counter("pub_failure_total").value, cases.length);
  // An ensemble with a chroot is a valid address.
  assertEquals(
    await h.post("/pub", { registry: { ...REGISTRY, addr: "zk1:2181,zk2:2182/mesh" }, service: SERVICE }),
    ok0("publish success"),
  );
});

Deno.test("transport problems: wrong method 405, unknown path 404, oversized body 413 (declared or streamed)", async () => {
  const h = harness({ maxBodyBytes: 1024 });
  const get = await h.api.handle(new Request("http://127.0.0.1/pub"));
  equal(get.status, 405);
  equal(get.headers.get("allow"), "POST");
  assertEquals(await get.json(), { err_no: 1, err_msg: "method GET not allowed on /pub; use POST" });
  const nope = await h.post("/publish", {});
  equal(nope.status, 404);
  equal(nope.body.err_no, 1);
  const big = { registry: REGISTRY, service: { ...SERVICE, group: "g".repeat(2000) } };
  assertEquals(await h.post("/pub", big), {
    status: 413,
    body: {
      err_no: 1,
      err_msg: "publish fail, err: request body is larger than 1024 bytes (max_request_body_bytes)",
    },
  });
  // Chunked, no content-length: cut off while streaming.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(200).fill(0x20));
      c.close();
    },
  });
  const streamed = await h.api.handle(new Request("http://127.0.0.1/sub", { method: "POST", body: stream }));
  equal(streamed.status, 413);
  equal(h.stats.scope("registry", { api: "dubbo" }).counter("request_too_large_total").value, 2);
  assertEquals(h.zk.nodes(ZK), []);
  const post = await h.api.handle(new Request("http://127.0.0.1/registry", { method: "POST" }));
  equal(post.status, 405);
});

Deno.test("max_services: past the limit pub and sub are refused and counted; existing ones still answer", async () => {
  const h = harness({ maxServices: 2 });
  await h.post("/pub", { registry: REGISTRY, service: SERVICE });
  await h.post("/sub", { registry: REGISTRY, service: { ...SERVICE, interface: "com.example.B" } });
  const third = await h.post("/pub", {
    registry: REGISTRY,
    service: { ...SERVICE, interface: "com.example.C" },
  });
  assertEquals(third.body, {
    err_no: 1,
    err_msg: "publish fail, err: this sidecar already has 2 services published or subscribed (max_services)",
  });
  equal(
    (await h.post("/sub", { registry: REGISTRY, service: { ...SERVICE, interface: "com.example.D" } })).body
      .err_no,
    1,
  );
  equal(h.stats.scope("registry", { api: "dubbo" }).counter("max_services_overflow_total").value, 2);
  equal((await h.post("/pub", { registry: REGISTRY, service: SERVICE })).body.err_no, 0, "already published");
  await h.post("/unpub", { registry: REGISTRY, service: SERVICE });
  equal(
    (await h.post("/pub", { registry: REGISTRY, service: { ...SERVICE, interface: "com.example.C" } })).body
      .err_no,
    0,
  );
});

Deno.test("an unreachable registry: err_no 1 after connect_timeout, and the late node is deleted", async () => {
  const h = harness({ connectTimeoutMs: 5000 });
  h.zk.setReachable(ZK, false);
  const pending = h.post("/pub", { registry: REGISTRY, service: SERVICE });
  await settle();
  h.clock.tick(4999);
  await settle();
  h.clock.tick(1);
  const res = await pending;
  assertEquals(res.body, {
    err_no: 1,
    err_msg: "publish fail, err: the registry did not answer within 5000 ms (connect_timeout)",
  });
  h.zk.setReachable(ZK, true);
  await settle();
  assertEquals(h.zk.nodes(ZK), [], "the registration that completed late was undone");
  assertEquals(h.api.view().published, []);
  // Reachable again: it works.
  equal((await h.post("/pub", { registry: REGISTRY, service: SERVICE })).body.err_no, 0);
});

Deno.test("concurrent pubs of one service create one node", async () => {
  const h = harness();
  h.zk.setReachable(ZK, false);
  const all = Promise.all([1, 2, 3].map(() => h.post("/pub", { registry: REGISTRY, service: SERVICE })));
  await settle();
  h.zk.setReachable(ZK, true);
  const answers = await all;
  assertEquals(answers.map((a) => a.body.err_no), [0, 0, 0]);
  equal(h.zk.nodes(ZK).length, 1);
});

Deno.test("GET /registry shows each node's path and state; close() deletes every node", async () => {
  const h = harness();
  await h.post("/pub", { registry: REGISTRY, service: SERVICE });
  h.zk.addProvider(ZK, "com.example.B", "dubbo://10.0.0.1:20880/com.example.B?interface=com.example.B");
  await h.post("/sub", { registry: REGISTRY, service: { interface: "com.example.B", methods: ["m"] } });
  const res = await h.api.handle(new Request("http://127.0.0.1/registry"));
  equal(res.status, 200);
  const view = await res.json();
  assertEquals(view.published, [{
    registry: ZK,
    layout: "dubbo",
    interface: IFACE,
    group: "",
    version: "1.0.3",
    methods: ["sayHello", "getUser"],
    url: PUB_URL,
    path: `/dubbo/${IFACE}/providers/${javaUrlEncode(PUB_URL)}`,
    state: "registered",
    session: "connected",
  }]);
  equal(view.subscribed[0].interface, "com.example.B");
  assertEquals(view.subscribed[0].providers, [{
    address: "10.0.0.1:20880",
    weight: 100,
    url: "dubbo://10.0.0.1:20880/com.example.B?interface=com.example.B",
  }]);
  equal(view.subscribed[0].consumer.state, "registered");
  match(
    view.subscribed[0].consumer.path,
    /^\/dubbo\/com\.example\.B\/consumers\/consumer%3A%2F%2F10\.0\.0\.7%2F/,
  );
  h.zk.setReachable(ZK, false);
  equal(h.api.view().published[0]!.state, "disconnected");
  h.zk.setReachable(ZK, true);
  await h.api.close();
  assertEquals(h.zk.nodes(ZK).filter((p) => !p.includes("/com.example.B/providers/")), []);
  equal((await h.post("/pub", { registry: REGISTRY, service: SERVICE })).body.err_no, 1, "stopping");
});

Deno.test("serveRegistryApi binds the address asked for (port 0: the OS's pick) and serves the API", async () => {
  const h = harness();
  const server = serveRegistryApi(h.api, { hostname: "127.0.0.1", port: 0 }, silentLogger);
  try {
    ok(server.addr.port > 0);
    equal(server.addr.hostname, "127.0.0.1");
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/pub`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ registry: REGISTRY, service: SERVICE }),
    });
    assertEquals(await res.json(), { err_no: 0, err_msg: "publish success" });
    equal(h.zk.nodes(ZK).length, 1);
  } finally {
    await server.shutdown();
    await h.api.close();
  }
});

Deno.test("close() while a pub waits for an unreachable registry: the pub is answered at once, the late node deleted", async () => {
  const h = harness({ connectTimeoutMs: 60_000 });
  h.zk.setReachable(ZK, false);
  const pending = h.post("/pub", { registry: REGISTRY, service: SERVICE });
  await settle();
  await h.api.close(); // returns although the registry never answered (no clock tick)
  const res = await pending; // answered at once, so the HTTP server's shutdown need not wait for it
  assertEquals(res.body, { err_no: 1, err_msg: "publish fail, err: meshctl is stopping" });
  h.zk.setReachable(ZK, true);
  await settle();
  assertEquals(h.zk.nodes(ZK), [], "the node that came late was deleted");
});

const SOFA_REGISTRY = { ...REGISTRY, layout: "sofa" };
const SOFA_IFACE = "com.alipay.sofa.rpc.test.HelloService";

Deno.test("registry.layout sofa: pub writes SOFA's bolt provider URL under /sofa-rpc/<iface>/providers", async () => {
  const h = harness();
  const service = { interface: SOFA_IFACE, methods: ["sayHello"] };
  assertEquals(await h.post("/pub", { registry: SOFA_REGISTRY, service }), ok0("publish success"));
  const [path] = h.zk.nodes(ZK);
  const prefix = `/sofa-rpc/${SOFA_IFACE}/providers/`;
  ok(path!.startsWith(prefix), path);
  equal(
    javaUrlDecode(path!.slice(prefix.length)),
    `bolt://10.0.0.7:20880?version=1.0&uniqueId=&interface=${SOFA_IFACE}&timeout=3000&delay=-1` +
      "&id=rpc-cfg-0&dynamic=true&weight=100&accepts=100000&startTime=1700000000000&appName=meshctl" +
      "&serialization=hessian2&protocol=bolt&language=java&pid=42&rpcVer=50603",
  );
  equal(h.api.view().published[0]!.layout, "sofa");
  // The same interface in Dubbo's layout is another service: its own node.
  assertEquals(await h.post("/pub", { registry: REGISTRY, service }), ok0("publish success"));
  equal(h.zk.nodes(ZK).length, 2);
  assertEquals(await h.post("/unpub", { registry: SOFA_REGISTRY, service }), ok0("unpub success"));
  ok(h.zk.nodes(ZK).every((p) => p.startsWith("/dubbo/")), "only the Dubbo node is left");
  // A uniqueId (service.group) and version go into SOFA's parameters.
  await h.post("/pub", { registry: SOFA_REGISTRY, service: { ...service, group: "blue", version: "2.0" } });
  const sofaNode = h.zk.nodes(ZK).find((p) => p.startsWith("/sofa-rpc/"))!;
  match(
    javaUrlDecode(sofaNode.slice(prefix.length))!,
    /^bolt:\/\/10\.0\.0\.7:20880\?version=2\.0&uniqueId=blue&/,
  );
});

Deno.test("registry.layout sofa: sub watches /sofa-rpc providers by uniqueId; the route is <iface>:<version>[:<uniqueId>]", async () => {
  const h = harness();
  const url = (port: number, extra = "") =>
    `bolt://10.0.0.${port % 10}:${port}?uniqueId=${extra}&version=1.0&interface=${SOFA_IFACE}&weight=30`;
  h.zk.addProvider(ZK, SOFA_IFACE, url(12200), "sofa");
  h.zk.addProvider(ZK, SOFA_IFACE, url(12201, "blue"), "sofa"); // another uniqueId: not ours
  h.zk.addProvider(ZK, SOFA_IFACE, `dubbo://10.0.0.9:20880/${SOFA_IFACE}?interface=${SOFA_IFACE}`); // Dubbo's tree
  const service = { interface: SOFA_IFACE, methods: ["sayHello"] };
  assertEquals(await h.post("/sub", { registry: SOFA_REGISTRY, service }), ok0("subscribe success"));
  assertEquals(h.changes, [`${SOFA_IFACE}: 10.0.0.0:12200@30`]);
  assertEquals(h.routes.at(-1), { layout: "sofa", service: `${SOFA_IFACE}:1.0` });
  const consumer = h.zk.nodes(ZK).find((p) => p.includes("/consumers/"))!;
  match(
    consumer,
    new RegExp(`^/sofa-rpc/${SOFA_IFACE.replaceAll(".", "\\.")}/consumers/bolt%3A%2F%2F10\\.0\\.0\\.7%3F`),
  );
  const view = h.api.view().subscribed[0]!;
  equal(view.layout, "sofa");
  equal(view.service, `${SOFA_IFACE}:1.0`);
  // Same interface, Dubbo's layout: refused (one cluster per interface), nothing changes.
  equal((await h.post("/sub", { registry: REGISTRY, service })).body.err_no, 1);
  const removeSecond = h.zk.addProvider(ZK, SOFA_IFACE, url(12202), "sofa");
  await settle();
  equal(h.changes.at(-1), `${SOFA_IFACE}: 10.0.0.0:12200@30,10.0.0.2:12202@30`);
  removeSecond();
  await settle();
  equal(h.changes.at(-1), `${SOFA_IFACE}: 10.0.0.0:12200@30`);
  assertEquals(await h.post("/unsub", { registry: SOFA_REGISTRY, service }), ok0("unsubscribe success"));
  equal(h.changes.at(-1), `${SOFA_IFACE}: gone`);
  assertEquals(h.routes.at(-1), { layout: "sofa", service: `${SOFA_IFACE}:1.0` });

  // With a uniqueId and a version: only that uniqueId's providers, and the route name carries both.
  await h.post("/sub", { registry: SOFA_REGISTRY, service: { ...service, group: "blue", version: "1.0" } });
  equal(h.changes.at(-1), `${SOFA_IFACE}: 10.0.0.1:12201@30`);
  assertEquals(h.routes.at(-1), { layout: "sofa", service: `${SOFA_IFACE}:1.0:blue` });
});

Deno.test("registry.layout other than dubbo or sofa is a clear error that changes nothing", async () => {
  const h = harness();
  const res = await h.post("/pub", { registry: { ...REGISTRY, layout: "nacos" }, service: SERVICE });
  equal(res.body.err_no, 1);
  match(
    String(res.body.err_msg),
    /registry\.layout "nacos" is not one meshctl speaks: "dubbo" \(the default\) or "sofa"/,
  );
  equal((await h.post("/pub", { registry: { ...REGISTRY, layout: 3 }, service: SERVICE })).body.err_no, 1);
  assertEquals(h.zk.nodes(ZK), []);
  // Absent layout (MOSN's body): Dubbo's.
  await h.post("/pub", { registry: REGISTRY, service: SERVICE });
  ok(h.zk.nodes(ZK)[0]!.startsWith(`/dubbo/${IFACE}/providers/`));
});
