/**
 * A registering process for the "killed sidecar" test: registers one provider through ZkRegistryClient,
 * prints `registered <path>` and waits to be killed. Args: <zk address> <session timeout ms> <url>.
 */
import { StatsRegistry } from "../../src/stats/mod.ts";
import { ZkRegistryClient } from "../../src/registry/mod.ts";

const [address, sessionTimeout, url] = Deno.args;
const client = new ZkRegistryClient({ type: "zookeeper", addr: address! }, {
  registry: new StatsRegistry(),
  sessionTimeoutMs: Number(sessionTimeout),
});
const reg = await client.register("dubbo", "providers", "com.example.Killed", url!);
console.log(`registered ${reg.path}`);
setInterval(() => {}, 60_000);
