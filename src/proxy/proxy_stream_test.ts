/**
 * ProxyStream in process: a real route table and cluster (from a parsed config) in front of a loopback
 * origin, a recording downstream stream instead of a codec's.
 */
import assert from "node:assert/strict";
import type { FilterContext, StreamFilter, StreamFilterFactory } from "../filter/mod.ts";
import { ProxyStream } from "./proxy_stream.ts";
import { proxyContext, RecordingStream, TEST_CONN as conn, validSnapshot } from "./_test_harness.ts";

function context(originAddress: string, filters: StreamFilterFactory[]) {
  const snapshot = validSnapshot(
    `
servers:
  - routers:
      - router_config_name: r
        virtual_hosts: [{name: all, domains: ["*"], routers: [{match: {prefix: "/"}, route: {cluster_name: c}}]}]
    listeners: []
cluster_manager:
  clusters: [{name: c, hosts: [{address: "${originAddress}"}]}]
`,
    "test.yaml",
  );
  return proxyContext(snapshot, { filterFactories: filters });
}

function recordingFilter(seen: string[], replyIn?: "afterChooseHost"): StreamFilterFactory {
  return (): StreamFilter => ({
    name: "rec",
    beforeRoute: () => void seen.push("beforeRoute"),
    afterRoute: (c: FilterContext) => void seen.push(`afterRoute cluster=${c.cluster}`),
    afterChooseHost: (c: FilterContext) => {
      seen.push(`afterChooseHost host=${c.upstreamHost}`);
      return replyIn === "afterChooseHost" ? { localReply: { status: 403, body: "no" } } : undefined;
    },
    log: (_c, status) => void seen.push(`log ${status}`),
  });
}

Deno.test("ProxyStream runs every filter phase in order, afterChooseHost with the chosen host", async () => {
  const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
  const address = `127.0.0.1:${origin.addr.port}`;
  const { ctx, clusters } = context(address, []);
  const seen: string[] = [];
  const withFilter = { ...ctx, filterFactories: [recordingFilter(seen)] };
  try {
    const ds = new RecordingStream("/");
    new ProxyStream(withFilter, conn, ds).start();
    await ds.done;
    assert.equal(ds.status, 200);
    assert.deepEqual(seen, [
      "beforeRoute",
      "afterRoute cluster=c",
      `afterChooseHost host=${address}`,
      "log 200",
    ]);
  } finally {
    clusters.close();
    await origin.shutdown();
  }
});

Deno.test("ProxyStream answers a local reply from afterChooseHost without connecting upstream", async () => {
  let hits = 0;
  const origin = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response("ok");
  });
  const { ctx, clusters, registry } = context(`127.0.0.1:${origin.addr.port}`, []);
  const seen: string[] = [];
  try {
    const ds = new RecordingStream("/");
    new ProxyStream({ ...ctx, filterFactories: [recordingFilter(seen, "afterChooseHost")] }, conn, ds)
      .start();
    await ds.done;
    assert.equal(ds.status, 403);
    assert.equal(hits, 0);
    const upstream = registry.scopes().find((s) => s.type === "upstream" && s.namespace === "cluster.c");
    assert.equal(upstream?.snapshot().counters["connection_total"] ?? 0, 0);
  } finally {
    clusters.close();
    await origin.shutdown();
  }
});
