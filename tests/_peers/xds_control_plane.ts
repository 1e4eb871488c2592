/**
 * A scriptable ADS control plane for tests: a `@grpc/grpc-js` server on 127.0.0.1 (plaintext) serving
 * `envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources` (SotW). It pushes only
 * when a test says so (`push`), logs every DiscoveryRequest it receives, and can drop its streams
 * (`disconnect`) or go away and come back on the same port (`restart`).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { adsProtos, protobufEncode } from "../../src/xds/client/_protos.ts";

export const TYPE = {
  LDS: "type.googleapis.com/envoy.config.listener.v3.Listener",
  RDS: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  CDS: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  EDS: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
} as const;

/** One DiscoveryRequest as the control plane saw it. */
export interface LoggedRequest {
  /** Position in the log (0-based). */
  readonly index: number;
  /** Which stream (1-based, counted over the server's life, restarts included). */
  readonly stream: number;
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly names: readonly string[];
  /** Present = NACK. */
  readonly errorDetail: { code: number; message: string } | undefined;
  readonly hasNode: boolean;
  readonly node: Record<string, unknown> | undefined;
}

/** A resource to push: an object encoded as the push's type, or raw Any parts (for malformed pushes). */
export type PushResource = Record<string, unknown> | {
  readonly any: { type_url: string; value: Uint8Array };
};

interface Waiter {
  readonly from: number;
  readonly predicate: (r: LoggedRequest) => boolean;
  readonly resolve: (r: LoggedRequest) => void;
  readonly reject: (e: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

type AdsCall = grpc.ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>;

export class XdsControlPlane {
  readonly requests: LoggedRequest[] = [];
  #server: grpc.Server | undefined;
  #port = 0;
  #streamCount = 0;
  #nonceSeq = 0;
  readonly #open = new Map<AdsCall, number>();
  #waiters: Waiter[] = [];

  private constructor() {}

  /** Starts on 127.0.0.1 and an ephemeral port. */
  static async start(): Promise<XdsControlPlane> {
    const cp = new XdsControlPlane();
    await cp.#listen(0);
    return cp;
  }

  get port(): number {
    return this.#port;
  }
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }
  /** Streams opened so far (over restarts). */
  get streamCount(): number {
    return this.#streamCount;
  }
  /** Streams open now. */
  get openStreams(): number {
    return this.#open.size;
  }

  /**
   * Sends a DiscoveryResponse on every open stream; returns its nonce (unique over the server's life).
   * Objects are encoded as `typeUrl`'s message, wrapped in an Any of that type.
   */
  push(typeUrl: string, version: string, resources: readonly PushResource[]): string {
    const nonce = `n${++this.#nonceSeq}`;
    const anys = resources.map((r) =>
      "any" in r && r.any !== undefined && typeof r.any === "object" && "value" in (r.any as object)
        ? (r as { any: { type_url: string; value: Uint8Array } }).any
        : { type_url: typeUrl, value: protobufEncode(typeUrl, r as Record<string, unknown>) }
    );
    for (const call of this.#open.keys()) {
      call.write({ version_info: version, resources: anys, type_url: typeUrl, nonce });
    }
    return nonce;
  }

  /**
   * Resolves with the first logged request at index ≥ `from` that matches; rejects after `timeoutMs`
   * (a test bound, not a sleep: it resolves as soon as the request arrives).
   */
  waitForRequest(
    predicate: (r: LoggedRequest) => boolean,
    { from = 0, timeoutMs = 5_000 }: { from?: number; timeoutMs?: number } = {},
  ): Promise<LoggedRequest> {
    const hit = this.requests.slice(from).find(predicate);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        from,
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(
            new Error(
              `No matching xDS request within ${timeoutMs} ms; log since ${from}:\n${
                this.requests.slice(from).map(describeRequest).join("\n")
              }`,
            ),
          );
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Requests of one stream, in order. */
  requestsOf(stream: number): LoggedRequest[] {
    return this.requests.filter((r) => r.stream === stream);
  }

  /** Ends every open stream with UNAVAILABLE (the server stays up, so the client reconnects at once). */
  disconnect(): void {
    for (const call of this.#open.keys()) {
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "control plane disconnect" });
    }
    this.#open.clear();
  }

  /** Stops the server (clients see the connection drop) without restarting it. */
  stop(): void {
    this.#open.clear();
    this.#server?.forceShutdown();
    this.#server = undefined;
  }

  /**
   * Stops and starts again on the same port, remembering nothing of the old streams' state. The new
   * server binds only once the old listening socket has closed: grpc-js's forceShutdown() closes it
   * asynchronously (node:net's close), and binding at once failed with EADDRINUSE under load.
   */
  async restart(): Promise<void> {
    const server = this.#server;
    if (server !== undefined) {
      // tryShutdown's callback runs once every http2 server of it has closed (its listener and sessions);
      // forceShutdown then destroys the sessions so that this happens at once.
      const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      this.stop();
      await closed;
    }
    await this.#listen(this.#port);
  }

  close(): void {
    this.stop();
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(new Error("control plane closed"));
    }
    this.#waiters = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #listen(port: number): Promise<void> {
    const pkg = grpc.loadPackageDefinition(adsProtos().packageDefinition);
    // deno-lint-ignore no-explicit-any
    const ads = (pkg as any).envoy.service.discovery.v3
      .AggregatedDiscoveryService as grpc.ServiceClientConstructor;
    const server = new grpc.Server();
    server.addService(ads.service, {
      StreamAggregatedResources: (call: AdsCall) => this.#onStream(call),
      DeltaAggregatedResources: (call: AdsCall) =>
        call.destroy(Object.assign(new Error("delta not served"), { code: grpc.status.UNIMPLEMENTED })),
    });
    this.#port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `127.0.0.1:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (err, bound) => err ? reject(err) : resolve(bound),
      )
    );
    this.#server = server;
  }

  #onStream(call: AdsCall): void {
    const stream = ++this.#streamCount;
    this.#open.set(call, stream);
    call.on("data", (req: Record<string, unknown>) => this.#log(stream, req));
    const forget = () => this.#open.delete(call);
    call.on("end", () => {
      forget();
      call.end();
    });
    call.on("error", forget);
    call.on("cancelled", forget);
  }

  #log(stream: number, req: Record<string, unknown>): void {
    const err = req.error_detail as { code?: number; message?: string } | undefined;
    const node = req.node as Record<string, unknown> | undefined;
    const entry: LoggedRequest = {
      index: this.requests.length,
      stream,
      typeUrl: String(req.type_url ?? ""),
      version: String(req.version_info ?? ""),
      nonce: String(req.response_nonce ?? ""),
      names: (req.resource_names as string[] | undefined) ?? [],
      errorDetail: err ? { code: err.code ?? 0, message: err.message ?? "" } : undefined,
      hasNode: node !== undefined && node !== null,
      node: node ?? undefined,
    };
    this.requests.push(entry);
    for (const w of [...this.#waiters]) {
      if (entry.index >= w.from && w.predicate(entry)) {
        clearTimeout(w.timer);
        this.#waiters = this.#waiters.filter((x) => x !== w);
        w.resolve(entry);
      }
    }
  }
}

export function describeRequest(r: LoggedRequest): string {
  return `#${r.index} s${r.stream} ${r.typeUrl.split(".").pop()} v="${r.version}" nonce="${r.nonce}" names=[${
    r.names.join(",")
  }]${r.errorDetail ? ` NACK(${r.errorDetail.code}: ${r.errorDetail.message})` : ""}${
    r.hasNode ? " +node" : ""
  }`;
}
