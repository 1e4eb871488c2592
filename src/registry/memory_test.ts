import { deepStrictEqual as assertEquals, equal, rejects } from "node:assert/strict";
import { MemoryRegistry } from "./memory.ts";
import { dubboProviderUrl } from "./url.ts";

const ZK = "127.0.0.1:2181";
const IFACE = "com.example.DemoService";
const url = (port: number, o: { group?: string; version?: string } = {}) =>
  dubboProviderUrl({ host: "10.0.0.1", port, iface: IFACE, methods: ["m"], pid: 1, timestamp: 1, ...o });
const settle = () => new Promise((r) => setTimeout(r, 5));

Deno.test("MemoryRegistry: one client per address; a client's close removes its (ephemeral) nodes", async () => {
  const reg = new MemoryRegistry();
  const a = reg.client({ type: "zookeeper", addr: ZK });
  equal(reg.client({ type: "zookeeper", addr: ZK }), a, "shared session");
  const other = reg.client({ type: "zookeeper", addr: "127.0.0.1:2182" });
  const r = await a.register("dubbo", "providers", IFACE, url(1));
  await other.register("dubbo", "providers", IFACE, url(2));
  equal(r.state(), "registered");
  equal(reg.nodes(ZK).length, 1, "trees are per address");
  await a.close();
  assertEquals(reg.nodes(ZK), []);
  equal(reg.nodes("127.0.0.1:2182").length, 1);
  await rejects(a.register("dubbo", "providers", IFACE, url(3)), /closed/);
  equal(reg.client({ type: "zookeeper", addr: ZK }) === a, false, "a closed client is replaced");
});

Deno.test("MemoryRegistry: subscriptions match group and version as Dubbo does and see every change", async () => {
  const reg = new MemoryRegistry();
  const c = reg.client({ type: "zookeeper", addr: ZK });
  reg.addProvider(ZK, IFACE, url(1, { version: "1.0.0" }));
  reg.addProvider(ZK, IFACE, url(2, { version: "2.0.0" }));
  reg.addProvider(ZK, IFACE, url(3, { group: "blue", version: "1.0.0" }));
  const seen: number[][] = [];
  const any = await c.subscribe(
    { layout: "dubbo", interface: IFACE, group: "", version: "*" },
    (ps) => seen.push(ps.map((p) => p.port)),
  );
  assertEquals(any.providers().map((p) => p.port), [1, 2]);
  const v1 = await c.subscribe(
    { layout: "dubbo", interface: IFACE, group: "blue", version: "1.0.0" },
    () => {},
  );
  assertEquals(v1.providers().map((p) => p.port), [3]);
  const remove = reg.addProvider(ZK, IFACE, url(4));
  await settle();
  assertEquals(seen, [[1, 2, 4]]);
  remove();
  await settle();
  assertEquals(seen.at(-1), [1, 2]);
  any.close();
  reg.addProvider(ZK, IFACE, url(5));
  await settle();
  equal(seen.length, 2, "no onChange after close()");
});

Deno.test("MemoryRegistry: an unreachable address holds registrations until it is back", async () => {
  const reg = new MemoryRegistry();
  const c = reg.client({ type: "zookeeper", addr: ZK });
  reg.setReachable(ZK, false);
  equal(c.state(), "disconnected");
  let done = false;
  const p = c.register("dubbo", "consumers", IFACE, "consumer://10.0.0.1/" + IFACE).then(() => done = true);
  await settle();
  equal(done, false);
  reg.setReachable(ZK, true);
  await p;
  equal(reg.nodes(ZK).length, 1);
  equal(c.state(), "connected");
});
