/**
 * Real Dubbo 2.x peers for tests.
 *
 * - `startDubboProvider()`: a provider (npm has none) on `Deno.listen`, bodies through hessian.js. It
 *   decodes requests as Dubbo's `DecodeableRpcInvocation` does, finds the exporter by
 *   group/service:version from the attachments (path and version from the body, overridden by the
 *   attachments), and answers as `HeaderExchangeHandler` + `DubboCodec` do: status 20 with
 *   RESPONSE_VALUE / RESPONSE_NULL_VALUE / RESPONSE_WITH_EXCEPTION (the `…_WITH_ATTACHMENTS` forms,
 *   carrying `dubbo: "2.0.2"`, when the request's dubbo version is 2.0.2–2.0.99,
 *   `Version.isSupportResponseAttachment`), status 70 with the message for an unknown service or method,
 *   status 40 for a request it cannot decode (another serialization id, a malformed body). Two-way
 *   heartbeats get Dubbo's heartbeat response (flag 0x22, status 20, body `N`); oneway requests and
 *   oneway events get nothing. A frame with the wrong magic or over the 8 MiB payload limit closes its
 *   connection.
 * - `dubboConsumer()`: dubbo2.js@2.3.9's `DirectlyDubbo` (one connection to a direct address, no
 *   registry), with per-call version, group, attachments and timeout.
 *
 * Every provider serves `DEMO_SERVICE` (at `version`/`group` from its options) with the test methods
 * below, plus any `services` given. Calls are recorded on arrival, before they run (`calls`).
 * @module
 */
import type { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { Context, DirectlyDubbo } from "dubbo2.js";
import { Events } from "../_events.ts";
import {
  decodeRequest,
  DEFAULT_PAYLOAD,
  DubboFrameReader,
  encodeErrorResponse,
  encodeHeartbeatResponse,
  encodeOkResponse,
  HEADER_LENGTH,
  HessianReader,
  type JavaArg,
  javaException,
  MAGIC_HIGH,
  MAGIC_LOW,
  parseHeader,
  Status,
  writeAll,
} from "./dubbo_raw.ts";

export { type JavaArg } from "./dubbo_raw.ts";

/** The interface every test provider exports. */
export const DEMO_SERVICE = "org.apache.dubbo.demo.DemoService";

/** One call as the provider decoded it (recorded on arrival, before the handler runs). */
export interface DubboCall {
  readonly id: bigint;
  /** Which accepted connection it came on (1, 2, … in accept order, across restarts). */
  readonly connection: number;
  readonly dubboVersion: string;
  /** The body's path. */
  readonly service: string;
  /** The body's version ("" when null). */
  readonly version: string;
  /** The attachments' group ("" when none). */
  readonly group: string;
  readonly method: string;
  readonly parameterTypes: string;
  readonly args: readonly unknown[];
  readonly attachments: Readonly<Record<string, unknown>>;
  readonly twoWay: boolean;
}

/** Thrown by a handler: answered as RESPONSE_WITH_EXCEPTION with this Java class. */
export class JavaError extends Error {
  readonly javaClass: string;
  constructor(message: string, javaClass = "java.lang.RuntimeException") {
    super(message);
    this.name = "JavaError";
    this.javaClass = javaClass;
  }
}

/**
 * A method: returns the value (undefined/null = RESPONSE_NULL_VALUE), throws for an exception, or
 * returns a promise that never settles for no answer at all.
 */
export type DubboHandler = (args: readonly unknown[], call: DubboCall) => unknown;

export interface DubboServiceSpec {
  service: string;
  version?: string;
  group?: string;
  methods: Record<string, DubboHandler>;
}

export interface DubboProviderOptions {
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** A loopback address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** What whoami() returns; default "provider-<port>". */
  identity?: string;
  /** Version and group of `DEMO_SERVICE` here (default "1.0.0" and none). */
  version?: string;
  group?: string;
  /** More services to export. */
  services?: DubboServiceSpec[];
  /** Keep every frame received and sent (`received`, `sent`): for golden captures. */
  recordWire?: boolean;
}

export interface DubboProvider {
  readonly identity: string;
  readonly port: number;
  /** "host:port". */
  readonly address: string;
  /** Every call decoded, in arrival order (oneway ones too; undecodable frames are not calls). */
  readonly calls: readonly DubboCall[];
  callsOf(method: string): number;
  /** With `recordWire`: every whole frame received / written, in order (empty otherwise). */
  readonly received: readonly Uint8Array[];
  readonly sent: readonly Uint8Array[];
  /** Heartbeat requests received (two-way or not). */
  readonly heartbeats: number;
  /** Requests answered with status 40 (undecodable) and connections closed for bad framing. */
  readonly badRequests: number;
  readonly badFrames: number;
  /** Connections accepted, over the provider's whole life. */
  readonly connections: number;
  /** Connections open now. */
  readonly openConnections: number;
  readonly listening: boolean;
  /** Resolves once `cond()` holds; re-checked on every frame, connection and close. */
  until(cond: () => boolean, what: string, boundMs?: number): Promise<void>;
  /** Stops listening and destroys every connection at once; calls in flight are never answered. */
  crash(): void;
  /** Listens again on the same address (after `crash()`). */
  restart(): void;
  /** `crash()` and waits until every connection task has ended. */
  stop(): Promise<void>;
}

/** `Version.getIntVersion`: "2.0.2" → 2000200, "2.6.3" → 2060300. */
function intVersion(version: string): number {
  const parts = version.split(".");
  let v = 0;
  for (const p of parts) {
    const n = Number.parseInt(p, 10);
    if (!Number.isFinite(n)) return 2000000; // LEGACY_DUBBO_PROTOCOL_VERSION
    v = v * 100 + n;
  }
  return parts.length === 3 ? v * 100 : v;
}

/** `Version.isSupportResponseAttachment`: 2.0.2 ≤ version ≤ 2.0.99. */
export function supportsResponseAttachments(dubboVersion: string): boolean {
  if (dubboVersion === "") return false;
  const v = intVersion(dubboVersion);
  return v >= 2000200 && v <= 2009900;
}

/** Dubbo's service key: `group/service:version`, version "0.0.0" meaning none. */
function serviceKey(service: string, version: string, group: string): string {
  return `${group ? `${group}/` : ""}${service}${version && version !== "0.0.0" ? `:${version}` : ""}`;
}

function noop(): void {}

export function startDubboProvider(options: DubboProviderOptions = {}): DubboProvider {
  const hostname = options.hostname ?? "127.0.0.1";
  const events = new Events();
  const calls: DubboCall[] = [];
  const byMethod = new Map<string, number>();
  const conns = new Set<Deno.Conn>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const tasks = new Set<Promise<void>>();
  const received: Uint8Array[] = [];
  const sent: Uint8Array[] = [];
  const record = options.recordWire === true;
  let heartbeats = 0;
  let badRequests = 0;
  let badFrames = 0;
  let connections = 0;
  let listener: Deno.Listener | undefined;
  let port = options.port ?? 0;
  let identity = options.identity ?? "";

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const exporters = new Map<string, Record<string, DubboHandler>>();
  const demo: Record<string, DubboHandler> = {
    sayHello: ([name]) => `Hello ${name}, response from provider: ${identity}`,
    echo: ([x]) => x,
    plus: ([a, b]) => (a as number) + (b as number),
    whoami: () => identity,
    /** The attachments the provider received, as it decoded them. */
    attachments: (_args, call) => ({ $class: "java.util.HashMap", $: call.attachments }),
    slow: async ([ms]) => {
      await wait(ms as number);
      return ms;
    },
    fail: ([msg]) => {
      throw new JavaError(String(msg));
    },
    nothing: () => null,
    /** Destroys every connection and stops listening mid-call: never answers. */
    crash: () => {
      provider.crash();
      return new Promise(noop);
    },
  };
  exporters.set(serviceKey(DEMO_SERVICE, options.version ?? "1.0.0", options.group ?? ""), demo);
  for (const s of options.services ?? []) {
    exporters.set(serviceKey(s.service, s.version ?? "", s.group ?? ""), s.methods);
  }

  const serve = async (conn: Deno.Conn, connection: number) => {
    const reader = new DubboFrameReader(conn, { maxBodyLength: DEFAULT_PAYLOAD });
    let chain = Promise.resolve();
    const send = (bytes: Uint8Array) => {
      if (record) sent.push(bytes);
      chain = chain.then(() => conns.has(conn) ? writeAll(conn, bytes) : undefined).catch(noop);
    };
    for (;;) {
      const frame = await reader.next(3_600_000);
      if (frame === null || frame === "timeout" || !conns.has(conn)) break;
      if (record) received.push(frame);
      if (frame.length < HEADER_LENGTH || frame[0] !== MAGIC_HIGH || frame[1] !== MAGIC_LOW) {
        badFrames++; // Dubbo hands non-dubbo bytes to its telnet codec; a test provider just hangs up
        break;
      }
      const header = parseHeader(frame);
      if (header.bodyLength > DEFAULT_PAYLOAD) {
        badFrames++; // ExchangeCodec.checkPayload: ExceedPayloadLimitException, the channel is closed
        break;
      }
      if (!header.isRequest) continue; // a response sent to a provider: nothing waits for it
      if (header.event) {
        const body = frame.subarray(HEADER_LENGTH);
        let data: unknown = null;
        try {
          if (body.length > 0) data = new HessianReader(body).read();
        } catch {
          data = undefined;
        }
        if (data === null) {
          heartbeats++;
          if (header.twoWay) send(encodeHeartbeatResponse(header.id));
        }
        events.notify();
        continue;
      }
      let request;
      try {
        request = decodeRequest(frame);
      } catch (e) {
        badRequests++;
        events.notify();
        // HeaderExchangeHandler: a broken request gets BAD_REQUEST (only a two-way one gets anything).
        if (header.twoWay) {
          send(encodeErrorResponse(header.id, Status.BAD_REQUEST, `Fail to decode request due to: ${e}`));
        }
        continue;
      }
      const attachments = request.attachments;
      const str = (k: string) => typeof attachments[k] === "string" ? attachments[k] as string : undefined;
      const call: DubboCall = {
        id: header.id,
        connection,
        dubboVersion: request.dubboVersion,
        service: request.service,
        version: request.version,
        group: str("group") ?? "",
        method: request.method,
        parameterTypes: request.parameterTypes,
        args: request.args,
        attachments,
        twoWay: header.twoWay,
      };
      calls.push(call);
      byMethod.set(call.method, (byMethod.get(call.method) ?? 0) + 1);
      events.notify();
      // DubboProtocol.getInvoker: the key from the attachments (which the body's path and version seed).
      const key = serviceKey(str("path") ?? request.service, str("version") ?? request.version, call.group);
      const methods = exporters.get(key);
      const reply = (bytes: Uint8Array) => {
        if (header.twoWay) send(bytes);
      };
      if (methods === undefined) {
        reply(encodeErrorResponse(
          header.id,
          Status.SERVICE_ERROR,
          `org.apache.dubbo.remoting.RemotingException: Not found exported service: ${key} in [${
            [...exporters.keys()].join(", ")
          }], may be version or group mismatch`,
        ));
        continue;
      }
      const handler = Object.hasOwn(methods, request.method) ? methods[request.method] : undefined;
      if (handler === undefined) {
        reply(encodeErrorResponse(
          header.id,
          Status.SERVICE_ERROR,
          `org.apache.dubbo.rpc.RpcException: Failed to invoke remote proxy method ${request.method} to ${key}, ` +
            `cause: java.lang.NoSuchMethodException: Not found method "${request.method}"`,
        ));
        continue;
      }
      const attach = supportsResponseAttachments(request.dubboVersion) ? { dubbo: "2.0.2" } : undefined;
      (async () => {
        try {
          const value = await handler(request.args, call);
          reply(encodeOkResponse(
            header.id,
            value === undefined || value === null ? { kind: "null" } : { kind: "value", value },
            attach,
          ));
        } catch (e) {
          const err = e instanceof JavaError ? e : new JavaError(String(e));
          reply(encodeOkResponse(
            header.id,
            { kind: "exception", exception: javaException(err.message, err.javaClass) },
            attach,
          ));
        }
      })();
    }
  };

  const listen = () => {
    const l = Deno.listen({ hostname, port, transport: "tcp" });
    listener = l;
    port = (l.addr as Deno.NetAddr).port;
    const accepting = (async () => {
      try {
        for await (const conn of l) {
          const n = ++connections;
          conns.add(conn);
          (conn as Deno.TcpConn).setNoDelay(true);
          events.notify();
          const task = serve(conn, n).catch(noop).finally(() => {
            conns.delete(conn);
            closeQuietly(conn);
            tasks.delete(task);
            events.notify();
          });
          tasks.add(task);
        }
      } catch {
        // listener closed
      }
    })();
    tasks.add(accepting);
    accepting.finally(() => tasks.delete(accepting));
  };

  const provider: DubboProvider = {
    get identity() {
      return identity;
    },
    get port() {
      return port;
    },
    get address() {
      return `${hostname}:${port}`;
    },
    calls,
    received,
    sent,
    callsOf: (method) => byMethod.get(method) ?? 0,
    get heartbeats() {
      return heartbeats;
    },
    get badRequests() {
      return badRequests;
    },
    get badFrames() {
      return badFrames;
    },
    get connections() {
      return connections;
    },
    get openConnections() {
      return conns.size;
    },
    get listening() {
      return listener !== undefined;
    },
    until: (cond, what, boundMs) => events.until(cond, what, boundMs),
    crash() {
      if (listener !== undefined) closeQuietly(listener);
      listener = undefined;
      for (const c of conns) closeQuietly(c);
      conns.clear();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      events.notify();
    },
    restart() {
      if (listener !== undefined) throw new Error("Cannot restart a provider that is listening");
      listen();
      events.notify();
    },
    async stop() {
      provider.crash();
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
  listen();
  if (!identity) identity = `provider-${port}`;
  return provider;
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

// === The consumer: dubbo2.js ===

/** dubbo2.js internals the wrapper drives (see node_modules/dubbo2.js/es7/directly-dubbo.js). */
interface NodeSocket {
  write(data: Uint8Array): boolean;
  destroy(): void;
  destroyed: boolean;
  once(event: "close", fn: () => void): unknown;
  localPort?: number;
}

interface SocketWorker {
  _socket: NodeSocket;
  _retry: number;
  _initSocket(): void;
}

interface DirectlyDubboInternals {
  _socketWorker: SocketWorker;
  _socketStatus: string;
  addQueue(ctx: Context): void;
  fail(requestId: number, err: Error): void;
}

/** dubbo2.js's own heartbeat encoder: the bytes its SocketWorker writes every 180 s. */
const heartbeatModule = createRequire(import.meta.resolve("dubbo2.js"))("./heartbeat") as {
  default: { encode(): Buffer };
};

export function dubbo2jsHeartbeat(): Uint8Array {
  return new Uint8Array(heartbeatModule.default.encode());
}

export interface CallOptions {
  version?: string;
  group?: string;
  /** dubbo2.js's `timeout` (ms): sent as the `timeout` attachment (a hessian int, as dubbo2.js writes it). */
  timeout?: number;
  /** More attachments (merged over dubbo2.js's path/interface/version/group/timeout/application). */
  attachments?: Record<string, unknown>;
  /** How long the client waits for the answer (default the consumer's `invokeTimeoutMs`). */
  clientTimeoutMs?: number;
}

export interface DubboConsumer {
  /**
   * Calls `service`.`method` with hessian-typed args; resolves with the result, rejects with the
   * provider's exception, an error status (dubbo2.js's DubboDecodeError with the message) or a timeout.
   */
  call(service: string, method: string, args?: JavaArg[], opts?: CallOptions): Promise<unknown>;
  /** Resolves once the connection is up. */
  connected(): Promise<void>;
  /** The local port of the consumer's one connection (to tell connections apart). */
  readonly localPort: number | undefined;
  /** Writes dubbo2.js's heartbeat on the connection (dubbo2.js drops the answer). */
  heartbeat(): void;
  /** Closes the connection for good (no reconnect); calls in flight reject. */
  close(): Promise<void>;
}

export interface DubboConsumerOptions {
  /** The dubbo protocol version the consumer sends. Default "2.0.2". */
  dubboVersion?: string;
  /** Per-call wait for an answer (default 5000 ms). */
  invokeTimeoutMs?: number;
}

/**
 * dubbo2.js's DirectlyDubbo against `address` ("host:port"): one connection, opened at once, reconnected
 * by the library after a close (every 3 s, pending calls left to their timeout, as dubbo2.js does).
 *
 * `proxyService()` fixes version, group and timeout per proxy and has no attachments; `call()` builds the
 * same `Context` proxyService builds (and adds the attachments), arms the same timeout and hands it to
 * the same queue, so everything on the wire is the library's own encoding.
 */
export function dubboConsumer(address: string, options: DubboConsumerOptions = {}): DubboConsumer {
  const invokeTimeoutMs = options.invokeTimeoutMs ?? 5000;
  const dubbo = DirectlyDubbo.from({
    dubboAddress: address,
    dubboVersion: options.dubboVersion ?? "2.0.2",
    dubboInvokeTimeout: invokeTimeoutMs / 1000,
  });
  const internals = dubbo as unknown as DirectlyDubboInternals;
  const worker = internals._socketWorker;
  let closed = false;
  return {
    call(service, method, args = [], opts = {}) {
      if (closed) return Promise.reject(new Error("consumer closed"));
      return new Promise((resolve, reject) => {
        const ctx = Context.create();
        ctx.resolve = resolve;
        ctx.reject = reject;
        ctx.methodName = method;
        ctx.methodArgs = args;
        ctx.dubboVersion = options.dubboVersion ?? "2.0.2";
        ctx.dubboInterface = service;
        ctx.path = service;
        if (opts.group !== undefined) ctx.group = opts.group;
        if (opts.timeout !== undefined) ctx.timeout = opts.timeout;
        if (opts.version !== undefined) ctx.version = opts.version;
        if (opts.attachments !== undefined) ctx.attachments = opts.attachments;
        const requestId = ctx.requestId;
        const timer = setTimeout(
          () => internals.fail(requestId, new Error("remote invoke timeout")),
          opts.clientTimeoutMs ?? invokeTimeoutMs,
        );
        ctx.timeoutId = timer as unknown as typeof ctx.timeoutId; // cleared by the library's cleanTimeout()
        internals.addQueue(ctx);
      });
    },
    async connected() {
      const deadline = Date.now() + 5000;
      while (internals._socketStatus !== "CONNECTED") {
        if (Date.now() > deadline) throw new Error(`dubbo2.js did not connect to ${address}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    get localPort() {
      return worker._socket.localPort;
    },
    heartbeat() {
      worker._socket.write(dubbo2jsHeartbeat());
    },
    async close() {
      if (closed) return;
      closed = true;
      worker._retry = 0; // the library's onClose then gives up instead of reconnecting in 3 s
      worker._initSocket = noop; // and a reconnect already scheduled does nothing
      const socket = worker._socket;
      if (socket.destroyed) return;
      const gone = new Promise<void>((resolve) => socket.once("close", resolve));
      socket.destroy();
      await gone;
    },
  };
}
