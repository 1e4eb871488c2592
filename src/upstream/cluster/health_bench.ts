/**
 * The per-request cost health adds: a pick through the cluster (priority balancer + the O(1) health
 * version check) against the bare balancer it wraps, and a pick plus the outlier accounting of one
 * response (`Host.reportResponse`) with outlier_detection on.
 */
import { silentLogger } from "../../core/mod.ts";
import { DEFAULT_VALIDATION_CONTEXT, parseConfigText } from "../../config/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { newLoadBalancer } from "../lb/mod.ts";
import { Cluster } from "./cluster.ts";

function cluster(extra: Record<string, unknown>): Cluster {
  const doc = {
    servers: [{
      listeners: [{
        address: "127.0.0.1:0",
        filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "c" } }] }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "c",
        lb_type: "LB_ROUNDROBIN",
        hosts: Array.from({ length: 16 }, (_, i) => ({ address: `127.0.0.1:${1000 + i}` })),
        ...extra,
      }],
    },
  };
  const { snapshot } = parseConfigText(JSON.stringify(doc), "bench.json", DEFAULT_VALIDATION_CONTEXT);
  return new Cluster(snapshot!.clusters[0]!, new StatsRegistry(), silentLogger);
}

const plain = cluster({});
const withOutlier = cluster({ outlier_detection: { interval: "1h" } });
const bare = newLoadBalancer("LB_ROUNDROBIN", plain.hosts);

Deno.bench({
  name: "LB_ROUNDROBIN choose() (the balancer alone)",
  group: "pick",
  baseline: true,
  fn: () => void bare.choose(),
});
Deno.bench({
  name: "Cluster.chooseHost(), no health config",
  group: "pick",
  fn: () => void plain.chooseHost(),
});
Deno.bench({
  name: "Cluster.chooseHost() + reportResponse(200), outlier_detection",
  group: "pick",
  fn: () => withOutlier.chooseHost()!.reportResponse(200),
});
Deno.bench({
  name: "Cluster.chooseHost() + reportResponse(503), outlier_detection (no ejection: max 10 %)",
  group: "pick",
  fn: () => withOutlier.chooseHost()!.reportResponse(503),
});
globalThis.addEventListener("unload", () => {
  plain.close();
  withOutlier.close();
});
