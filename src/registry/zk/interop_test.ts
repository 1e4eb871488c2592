/**
 * Interop with real RPC libraries' ZooKeeper registries: sofa-rpc-node's `ZookeeperRegistry` (what it
 * publishes, ZkRegistryClient sees; what we publish in the `sofa` layout, it sees) and dubbo2.js's
 * `ZkRegistry` (a Node Dubbo consumer finds the providers we publish in the `dubbo` layout).
 */
import sofa from "sofa-rpc-node";
import { ZkRegistry } from "dubbo2.js/es7/zookeeper.js";
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { startZooKeeper } from "../../../tests/_peers/zookeeper.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import type { ProviderInstance } from "../types.ts";
import { dubboProviderUrl, sofaProviderUrl } from "../url.ts";
import { ZkRegistryClient } from "./client.ts";

const IFACE = "com.alipay.sofa.rpc.test.HelloService";
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

interface SofaRegistry {
  ready(): Promise<void>;
  register(config: { interfaceName: string; url: string }): Promise<void>;
  subscribe(config: { interfaceName: string }, listener: (urls: string[]) => void): void;
  close(): Promise<void>;
}

Deno.test({
  name: "sofa-rpc-node's ZooKeeper registry and ZkRegistryClient (sofa layout) see each other's providers",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const zk = await startZooKeeper();
    const ours = new ZkRegistryClient({ type: "zookeeper", addr: zk.address }, {
      registry: new StatsRegistry(),
      sessionTimeoutMs: 2_000,
    });
    const { ZookeeperRegistry } = (sofa as unknown as {
      registry: { ZookeeperRegistry: new (o: Record<string, unknown>) => SofaRegistry };
    }).registry;
    const theirs = new ZookeeperRegistry({ logger: quiet, address: zk.address });
    try {
      await theirs.ready();
      // sofa-rpc-node encodes with encodeURIComponent (space → %20): our Java-compatible decoder reads it too.
      const theirUrl = "bolt://127.0.0.1:12200?startTime=1&pid=7&uniqueId=&dynamic=true&appName=sofa app" +
        "&timeout=3000&serialization=hessian2&weight=40&accepts=100000&language=nodejs&rpcVer=50400" +
        `&protocol=bolt&interface=${IFACE}&version=1.0&group=SOFA`;
      const changes: (readonly ProviderInstance[])[] = [];
      let notify = () => {};
      const sub = await ours.subscribe({ layout: "sofa", interface: IFACE, group: "", version: "" }, (p) => {
        changes.push(p);
        notify();
      });
      const seen = new Promise<void>((resolve) => notify = resolve);
      await theirs.register({ interfaceName: IFACE, url: theirUrl });
      await seen;
      const p = sub.providers();
      assertEquals(p.map((x) => [x.host, x.port, x.weight, x.params.get("appName")]), [
        ["127.0.0.1", 12200, 40, "sofa app"],
      ]);

      const ourUrl = sofaProviderUrl({
        host: "127.0.0.2",
        port: 12201,
        iface: IFACE,
        application: "meshctl",
      });
      const theySee = new Promise<string[]>((resolve) =>
        theirs.subscribe({ interfaceName: IFACE }, (urls) => {
          if (urls.some((u) => u.startsWith("bolt://127.0.0.2:12201"))) resolve(urls);
        })
      );
      await ours.register("sofa", "providers", IFACE, ourUrl);
      const urls = await theySee;
      assert(urls.includes(ourUrl), `sofa-rpc-node decoded our node name back to our URL: ${urls}`);
    } finally {
      await theirs.close().catch(() => {});
      await ours.close();
      await zk.stop();
    }
  },
});

interface Dubbo2jsRegistry {
  subscribe(s: { onData(agents: Set<string>): void; onError(e: Error): void }): unknown;
  getAgentAddrList(ctx: { dubboInterface: string; version: string; group?: string }): string[];
  _client: { close(): void };
}

Deno.test({
  name:
    "dubbo2.js's ZooKeeper registry finds the providers ZkRegistryClient publishes, by version and group, " +
    "and drops one that is unpublished",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const zk = await startZooKeeper();
    const ours = new ZkRegistryClient({ type: "zookeeper", addr: zk.address }, {
      registry: new StatsRegistry(),
      sessionTimeoutMs: 2_000,
    });
    let theirs: Dubbo2jsRegistry | undefined;
    try {
      const iface = "org.apache.dubbo.demo.DemoService";
      const base = { host: "127.0.0.1", iface, methods: ["sayHello"], application: "meshctl" };
      await ours.register(
        "dubbo",
        "providers",
        iface,
        dubboProviderUrl({ ...base, port: 20880, version: "1.0.0", group: "g" }),
      );
      const v2 = await ours.register(
        "dubbo",
        "providers",
        iface,
        dubboProviderUrl({ ...base, port: 20881, version: "2.0.0" }),
      );
      let onData = (_agents: Set<string>) => {};
      const created = (ZkRegistry as unknown as { from(p: Record<string, unknown>): Dubbo2jsRegistry }).from({
        register: zk.address,
        application: { name: "node-consumer" },
        interfaces: [iface],
        // What dubbo2.js's Setting answers for the interface (it writes its consumer node with it).
        dubboSetting: { getDubboSetting: () => ({ version: "1.0.0", group: "g" }) },
      });
      theirs = created;
      const first = new Promise<Set<string>>((resolve) => onData = resolve);
      created.subscribe({ onData: (a) => onData(a), onError: () => {} });
      assertEquals([...await first].sort(), ["127.0.0.1:20880", "127.0.0.1:20881"]);
      assertEquals(created.getAgentAddrList({ dubboInterface: iface, version: "1.0.0", group: "g" }), [
        "127.0.0.1:20880",
      ]);
      assertEquals(created.getAgentAddrList({ dubboInterface: iface, version: "2.0.0" }), [
        "127.0.0.1:20881",
      ]);
      // (dubbo2.js calls onData again for its own reasons, e.g. twice per connect: wait for the change.)
      const after = new Promise<Set<string>>((resolve) =>
        onData = (a) => !a.has("127.0.0.1:20881") && resolve(a)
      );
      await v2.close(); // dubbo2.js re-reads 2 s after its watch fires
      assertEquals([...await after], ["127.0.0.1:20880"]);
    } finally {
      theirs?._client.close();
      await ours.close();
      await zk.stop();
    }
  },
});
