/**
 * Push → ACK round trip of the ADS client over loopback gRPC: the control plane pushes CDS responses one
 * after another (each waits for the previous ACK, as istiod's flow control does) and times each.
 * The client's `apply` here only records names, so this is the protocol engine's cost, not conversion.
 *
 *   deno run -A bench/xds_ack_latency.ts [pushes=1000] [clusters=100]
 */
import { Harness, TYPE } from "../src/xds/client/_harness_test.ts";

const pushes = Number(Deno.args[0] ?? 1000);
const clusters = Number(Deno.args[1] ?? 100);
const resources = Array.from({ length: clusters }, (_, i) => ({
  name: `outbound|9080||reviews-${i}.default.svc.cluster.local`,
  type: "EDS",
  eds_cluster_config: { service_name: `outbound|9080||reviews-${i}.default.svc.cluster.local` },
  connect_timeout: { seconds: 10 },
}));
using h = await Harness.start();
h.client.setNames(TYPE.CDS, []);
h.client.start();
await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
const ms: number[] = [];
for (let i = 0; i < pushes; i++) {
  const t0 = performance.now();
  const nonce = h.cp.push(TYPE.CDS, `v${i}`, resources);
  await h.cp.waitForRequest((r) => r.nonce === nonce, { from: h.cp.requests.length - 1 });
  ms.push(performance.now() - t0);
}
ms.sort((a, b) => a - b);
const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
console.log(
  `${pushes} CDS pushes of ${clusters} clusters: push→ACK p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${
    at(1)
  } ms; ` +
    `update_success ${h.counter("cds", "update_success")}, ACKs ${
      h.cp.requests.filter((r) => r.nonce !== "").length
    }`,
);
