/**
 * Test-only: ProxyStream in process, as proxy_stream_test.ts, retry_conditions_test.ts and
 * envoy_http_test.ts drive it — a real route table and clusters from a parsed config in front of loopback
 * origins, and a recording downstream stream instead of a codec's.
 */
import assert from "node:assert/strict";
import { type ConfigSnapshot, DEFAULT_VALIDATION_CONTEXT, parseConfigText } from "../config/mod.ts";
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
import { StatsRegistry } from "../stats/mod.ts";
import { DownstreamStats } from "./downstream_stats.ts";
import { DEFAULT_FORWARDING } from "./http_headers.ts";
import type { ProxyContext } from "./context.ts";

/** A downstream GET that records what the proxy answered; `done` settles once the answer is complete. */
export class RecordingStream implements ServerStream {
  readonly id = 1;
  readonly headOnly = true;
  readonly request: RequestHead;
  status = 0;
  headers: HeaderMap | undefined;
  localReply: ProxyError | undefined;
  readonly done: Promise<void>;
  #resolve!: () => void;

  constructor(path = "/", headers: Record<string, string> = {}) {
    const h = new SimpleHeaderMap();
    for (const [k, v] of Object.entries(headers)) h.set(k, v);
    this.request = { protocol: "Http1", kind: "http", method: "GET", path, query: "", host: "x", headers: h };
    this.done = new Promise((r) => this.#resolve = r);
  }

  setBodyReceiver(_r: BodyReceiver): void {}
  sendInformational(_head: ResponseHead): Promise<void> {
    return Promise.resolve();
  }
  sendResponse(head: ResponseHead, endStream: boolean): Promise<void> {
    this.status = head.status;
    this.headers = head.headers;
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

/** The downstream connection every request comes in on. */
export const TEST_CONN = {
  remoteAddress: "127.0.0.1:5000",
  remoteIp: "127.0.0.1",
  localAddress: "127.0.0.1:80",
  secure: false,
};

/** Parses a config (JSON or YAML) that must be valid. */
export function validSnapshot(text: string, fileName: string): ConfigSnapshot {
  const { snapshot, errors } = parseConfigText(text, fileName, DEFAULT_VALIDATION_CONTEXT);
  assert.deepEqual(errors, []);
  return snapshot!;
}

/**
 * A ProxyContext over the snapshot's first router and its clusters, with `extra` on top; the caller
 * closes `clusters`.
 */
export function proxyContext(snapshot: ConfigSnapshot, extra: Partial<ProxyContext> = {}) {
  const registry = new StatsRegistry();
  const clusters = new ClusterManager(snapshot.clusters, registry, silentLogger);
  const ctx: ProxyContext = {
    listenerName: "l",
    routeTable: compileRouteTable(snapshot.servers[0]!.routers[0]!),
    clusters,
    stats: new DownstreamStats(registry.scope("downstream", { listener: "l" })),
    logger: silentLogger,
    filterFactories: [],
    accessLogs: [],
    upstreamProtocol: undefined,
    retryBufferLimit: 1 << 20,
    forwarding: DEFAULT_FORWARDING,
    streamIdleTimeoutMs: 0,
    ...extra,
  };
  return { ctx, clusters, registry };
}
