/**
 * Interop with a real SOFA RPC library's ZooKeeper registry (sofa-rpc-node's `ZookeeperRegistry`): what it
 * publishes, ZkRegistryClient sees; what ZkRegistryClient publishes in the `sofa` layout, it sees.
 */
import sofa from "sofa-rpc-node";
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { startZooKeeper } from "../../../tests/_peers/zookeeper.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import type { ProviderInstance } from "../types.ts";
import { sofaProviderUrl } from "../url.ts";
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
