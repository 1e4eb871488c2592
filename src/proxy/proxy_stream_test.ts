/**
 * ProxyStream in process: a real route table and cluster (from a parsed config) in front of a loopback
 * origin, a recording downstream stream instead of a codec's.
 */
import assert from "node:assert/strict";
import { DEFAULT_VALIDATION_CONTEXT, parseConfigText } from "../config/mod.ts";
import { type ProxyError, silentLogger } from "../core/mod.ts";
import {
  type BodyReceiver,
  type HeaderMap,
  type RequestHead,
  type ResponseHead,
  type ServerStream,
  SimpleHeaderMap,
} from "../codec/mod.ts";
import { compileRouteTable } from "../router/mod.ts";
import { ClusterManager } from "../upstream/mod.ts";
import type { FilterContext, StreamFilter, StreamFilterFactory } from "../filter/mod.ts";
import { StatsRegistry } from "../stats/mod.ts";
import { DownstreamStats } from "./downstream_stats.ts";
import { DEFAULT_FORWARDING } from "./http_headers.ts";
import { ProxyStream } from "./proxy_stream.ts";
import type { ProxyContext } from "./context.ts";

/** A downstream stream that records what the proxy answered. */
class RecordingStream implements ServerStream {
  readonly id = 1;
  readonly headOnly = true;
  readonly request: RequestHead;
  status = 0;
  localReply: ProxyError | undefined;
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(path: string) {
    this.request = {
      protocol: "Http1",
      kind: "http" as const,
      method: "GET",
      path,
      query: "",
      host: "x",
      headers: new SimpleHeaderMap(),
    };
    this.done = new Promise((r) => this.#resolve = r);
  }

  setBodyReceiver(_r: BodyReceiver): void {}
  sendInformational(_head: ResponseHead): Promise<void> {
    return Promise.resolve();
  }
  sendResponse(head: ResponseHead, endStream: boolean): Promise<void> {
    this.status = head.status;
    if (endStream) this.#resolve();
    return Promise.resolve();
  }
  sendData(_c: Uint8Array, endStream: boolean): Promise<void> {
    if (endStream) this.#resolve();
    return Promise.resolve();
  }
  sendTrailers(_t: HeaderMap): Promise<void> {
    this.#resolve();
    return Promise.resolve();
  }
  sendLocalReply(error: ProxyError): Promise<void> {
    this.localReply = error;
    this.status = error.status;
    this.#resolve();
    return Promise.resolve();
  }
  reset(_e: ProxyError): void {
    this.#resolve();
  }
}

function context(originAddress: string, filters: StreamFilterFactory[]) {
  const { snapshot, errors } = parseConfigText(
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
    DEFAULT_VALIDATION_CONTEXT,
  );
  assert.deepEqual(errors, []);
  const registry = new StatsRegistry();
  const clusters = new ClusterManager(snapshot!.clusters, registry, silentLogger);
  const ctx: ProxyContext = {
    listenerName: "l",
    routeTable: compileRouteTable(snapshot!.servers[0]!.routers[0]!),
    clusters,
    stats: new DownstreamStats(registry.scope("downstream", { listener: "l" })),
    logger: silentLogger,
    filterFactories: filters,
    accessLogs: [],
    upstreamProtocol: undefined,
    retryBufferLimit: 1 << 20,
    forwarding: DEFAULT_FORWARDING,
    streamIdleTimeoutMs: 0,
  };
  return { ctx, clusters, registry };
}

const conn = {
  remoteAddress: "127.0.0.1:5000",
  remoteIp: "127.0.0.1",
  localAddress: "127.0.0.1:80",
  secure: false,
};

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
