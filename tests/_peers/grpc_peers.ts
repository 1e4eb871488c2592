/**
 * Real gRPC peers for tests: a `@grpc/grpc-js` server on 127.0.0.1 (insecure, so h2c) serving
 * `meshctl.test.Echo` from `proto/test.proto`, and a client with a helper per method. Client helpers
 * never reject for a gRPC error: they resolve with the call's status (code, details, trailing metadata)
 * so tests can assert on it; they reject only when the harness itself fails.
 *
 * Permissions, measured with @grpc/grpc-js 1.14.7 + @grpc/proto-loader 0.8.1 on Deno 2.9.6 (an insecure
 * server and client on 127.0.0.1, `loadSync`): `--allow-net`, `--allow-read` of `proto/` (node_modules is
 * readable anyway), and `--allow-env=GRPC_NODE_VERBOSITY,GRPC_VERBOSITY,GRPC_NODE_TRACE,GRPC_TRACE,
 * GRPC_SSL_CIPHER_SUITES,GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,GRPC_NODE_USE_ALTERNATIVE_RESOLVER,
 * GRPC_NODE_DEBUG_SEND_ERROR_DETAILS,GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION,grpc_proxy,https_proxy,http_proxy`
 * (under `--no-prompt` a missing one is a NotCapable error naming it). `--allow-sys=uid` was not needed
 * here. `deno task test` grants everything (-A).
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { EventEmitter } from "node:events";
import { Events } from "../_events.ts";

export const PROTO_PATH: string = new URL("./proto/test.proto", import.meta.url).pathname;
/** The fully qualified service name, as it appears in the `:path` of every call. */
export const ECHO_SERVICE = "meshctl.test.Echo";

/** gRPC status codes (grpc.status). */
export const Status = grpc.status;

// === messages (proto3 JSON-ish shapes as proto-loader produces them with the options below) ===

export interface SayReply {
  message: string;
  server: string;
  metadata: Record<string, string>;
}
export interface CountReply {
  index: number;
}
export interface SumReply {
  sum: number;
  count: number;
}
export interface ChatMessage {
  text: string;
  seq: number;
}
export interface LargeReply {
  payload: Uint8Array;
  receivedBytes: number;
  /** The request payload was `patternPayload(receivedBytes)` byte for byte. */
  receivedIntact: boolean;
}

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, // snake_case fields become camelCase
  longs: Number,
  enums: String,
  defaults: true, // absent fields read as their zero values
  oneofs: true,
};

/** The generic service definition, loaded once per process. */
function echoDefinition(): grpc.ServiceClientConstructor {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS));
  const test = (pkg.meshctl as grpc.GrpcObject).test as grpc.GrpcObject;
  return test.Echo as grpc.ServiceClientConstructor;
}

let definition: grpc.ServiceClientConstructor | undefined;
function echoService(): grpc.ServiceClientConstructor {
  return definition ??= echoDefinition();
}

// === server ===

export interface GrpcServerPeer {
  readonly name: string;
  readonly port: number;
  /** "127.0.0.1:port" */
  readonly address: string;
  /** Calls received so far (any method; counted on arrival). */
  readonly calls: number;
  /** Calls of `method` ("Say", "Count", …) received so far. */
  callsOf(method: string): number;
  /** Calls the client cancelled (RST_STREAM) before the server answered, deadline-expired Sleeps excepted. */
  readonly cancelled: number;
  /**
   * Sleep calls whose deadline (`grpc-timeout`) came before the end of their sleep, counted when the
   * deadline passes or the call is cancelled (the client gives up at its deadline too); grpc-js answers
   * DEADLINE_EXCEEDED itself.
   */
  readonly expired: number;
  /**
   * HTTP/2 connections accepted. grpc-js clients share connections per target process-wide unless
   * created with `{ "grpc.use_local_subchannel_pool": 1 }`.
   */
  readonly connections: number;
  /** Per call, in arrival order: ms left until its deadline on arrival (`grpc-timeout`), or Infinity. */
  readonly deadlines: readonly number[];
  /** Request metadata of every call, in arrival order (text keys only). */
  readonly metadata: readonly Record<string, string>[];
  /** Resolves once `cond()` holds, re-checked on every call and cancellation; fails after `boundMs`. */
  until(cond: () => boolean, what: string, boundMs?: number): Promise<void>;
  /** Cancels calls in flight and closes every connection. */
  stop(): Promise<void>;
}

export interface GrpcServerOptions {
  /** What replies carry as `server` (and the `x-served-by` header). Default `grpc-<port>`. */
  name?: string;
  /** grpc-js server options, e.g. `{ "grpc.max_receive_message_length": 16 << 20 }`. */
  serverOptions?: grpc.ServerOptions;
}

/** What every kind of server call has, as far as the bookkeeping here needs. */
interface Call {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  getDeadline(): grpc.Deadline;
  on(event: "cancelled", listener: () => void): unknown;
  off(event: "cancelled", listener: () => void): unknown;
}

/** Starts the Echo service on 127.0.0.1 port 0. */
export async function startGrpcServer(options: GrpcServerOptions = {}): Promise<GrpcServerPeer> {
  const events = new Events();
  const server = new grpc.Server(options.serverOptions);
  const byMethod = new Map<string, number>();
  let connections = 0;
  const metadata: Record<string, string>[] = [];
  let calls = 0;
  let cancelled = 0;
  let expired = 0;
  const deadlines: number[] = [];
  let name = options.name ?? "";

  /** Calls answered (or ended) by the handler: a later "cancelled" is not the client's. */
  const answered = new WeakSet<Call>();

  /** Counts the call; returns its request metadata as text. */
  function arrive(method: string, call: Call): Record<string, string> {
    calls++;
    byMethod.set(method, (byMethod.get(method) ?? 0) + 1);
    const md = textMetadata(call.metadata);
    metadata.push(md);
    const deadline = Number(call.getDeadline());
    deadlines.push(Number.isFinite(deadline) ? deadline - Date.now() : Infinity);
    // Under Deno grpc-js emits "cancelled" when any call's stream closes, answered or not.
    call.on("cancelled", () => {
      if (answered.has(call)) return;
      cancelled++;
      events.notify();
    });
    events.notify();
    return md;
  }

  /** Marks `call` answered. */
  function answer(call: Call): void {
    answered.add(call);
  }

  const served = () => {
    const m = new grpc.Metadata();
    m.set("x-served-by", name);
    return m;
  };

  const handlers: grpc.UntypedServiceImplementation = {
    Say(call: grpc.ServerUnaryCall<{ message: string }, SayReply>, callback: grpc.sendUnaryData<SayReply>) {
      const md = arrive("Say", call);
      call.sendMetadata(served());
      answer(call);
      callback(null, { message: call.request.message, server: name, metadata: md });
    },
    async Count(
      call: grpc.ServerWritableStream<{ n: number; intervalMs: number; failCode: number }, CountReply>,
    ) {
      arrive("Count", call);
      call.sendMetadata(served());
      const { n, intervalMs, failCode } = call.request;
      for (let i = 0; i < n; i++) {
        if (call.cancelled) return;
        if (i > 0 && intervalMs > 0 && !await sleepUnlessCancelled(intervalMs, call)) return;
        // Wait for each write: a status emitted while a message is still queued would overtake it.
        await new Promise<void>((resolve) => call.write({ index: i }, () => resolve()));
      }
      answer(call);
      if (failCode !== 0) {
        call.emit("error", { code: failCode, details: `failed after ${n} replies` });
      } else {
        call.end();
      }
    },
    Sum(
      call: grpc.ServerReadableStream<{ value: number }, SumReply>,
      callback: grpc.sendUnaryData<SumReply>,
    ) {
      arrive("Sum", call);
      let sum = 0;
      let count = 0;
      call.on("data", (req: { value: number }) => {
        sum += req.value;
        count++;
      });
      call.on("end", () => {
        answer(call);
        callback(null, { sum, count });
      });
    },
    Chat(call: grpc.ServerDuplexStream<ChatMessage, ChatMessage>) {
      arrive("Chat", call);
      call.sendMetadata(served());
      let seq = 0;
      call.on("data", (m: ChatMessage) => call.write({ text: m.text, seq: ++seq }));
      call.on("end", () => {
        answer(call);
        call.end();
      });
    },
    Fail(
      call: grpc.ServerUnaryCall<
        { code: number; message: string; trailers: Record<string, string> },
        SayReply
      >,
      callback: grpc.sendUnaryData<SayReply>,
    ) {
      arrive("Fail", call);
      const { code, message, trailers } = call.request;
      answer(call);
      callback({ code, details: message, metadata: toMetadata(trailers) });
    },
    async Sleep(
      call: grpc.ServerUnaryCall<{ ms: number }, SayReply>,
      callback: grpc.sendUnaryData<SayReply>,
    ) {
      arrive("Sleep", call);
      // grpc-js answers DEADLINE_EXCEEDED itself when the deadline passes; stop sleeping then too.
      const deadline = Number(call.getDeadline());
      const untilDeadline = Number.isFinite(deadline) ? deadline - Date.now() : Infinity;
      if (untilDeadline < call.request.ms) {
        answer(call); // whatever ends it, it is the deadline's doing
        await sleepUnlessCancelled(Math.max(0, untilDeadline), call);
        expired++;
        events.notify();
        return;
      }
      if (await sleepUnlessCancelled(call.request.ms, call)) {
        answer(call);
        callback(null, { message: `slept ${call.request.ms} ms`, server: name, metadata: {} });
      }
    },
    Trailers(
      call: grpc.ServerUnaryCall<{ trailers: Record<string, string> }, SayReply>,
      callback: grpc.sendUnaryData<SayReply>,
    ) {
      arrive("Trailers", call);
      const trailers = toMetadata(call.request.trailers);
      trailers.set("x-trailer-bin", Buffer.from([0, 1, 2, 255]));
      answer(call);
      callback(null, { message: "trailers", server: name, metadata: {} }, trailers);
    },
    Large(
      call: grpc.ServerUnaryCall<{ payload: Uint8Array; replyBytes: number }, LargeReply>,
      callback: grpc.sendUnaryData<LargeReply>,
    ) {
      arrive("Large", call);
      const { payload, replyBytes } = call.request;
      answer(call);
      callback(null, {
        payload: patternPayload(replyBytes),
        receivedBytes: payload.length,
        receivedIntact: isPatternPayload(payload),
      });
    },
  };
  server.addService(echoService().service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (err, p) => err ? reject(err) : resolve(p),
    )
  );
  if (!name) name = `grpc-${port}`;
  // Connections are counted on grpc-js's (private) node:http2 servers: call.getPeer() cannot tell them
  // apart under Deno, whose node:http2 session sockets have no remoteAddress.
  for (const h2 of (server as unknown as { http2Servers: Map<EventEmitter, unknown> }).http2Servers.keys()) {
    h2.on("session", () => {
      connections++;
      events.notify();
    });
  }
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    get calls() {
      return calls;
    },
    callsOf: (method) => byMethod.get(method) ?? 0,
    get cancelled() {
      return cancelled;
    },
    get expired() {
      return expired;
    },
    get connections() {
      return connections;
    },
    deadlines,
    metadata,
    until: (cond, what, boundMs) => events.until(cond, what, boundMs),
    stop() {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}

/** Waits `ms`; resolves false early (timer stopped) when the call is cancelled first. */
function sleepUnlessCancelled(ms: number, call: Call): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      call.off("cancelled", onCancel);
      resolve(slept);
    };
    const onCancel = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    call.on("cancelled", onCancel);
  });
}

/** `n` bytes of a fixed pattern (byte i = i % 251), so a test can check a large payload arrived intact. */
export function patternPayload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

/** Whether `bytes` is what {@linkcode patternPayload} makes of its length. */
export function isPatternPayload(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== i % 251) return false;
  return true;
}

function toMetadata(entries: Record<string, string | Uint8Array>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, typeof v === "string" ? v : Buffer.from(v));
  return m;
}

function textMetadata(m: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.getMap())) if (typeof v === "string") out[k] = v;
  return out;
}

function metadataRecord(m: grpc.Metadata | undefined): Record<string, string | Uint8Array> {
  const out: Record<string, string | Uint8Array> = {};
  for (const [k, v] of Object.entries(m?.getMap() ?? {})) {
    out[k] = typeof v === "string" ? v : new Uint8Array(v);
  }
  return out;
}

// === client ===

/** How a call ended. */
export interface GrpcStatus {
  /** 0 = OK; see {@linkcode Status}. */
  code: number;
  details: string;
  /** Trailing metadata (binary `-bin` values as bytes). */
  trailers: Record<string, string | Uint8Array>;
}

export interface UnaryResult<T> {
  status: GrpcStatus;
  /** The reply when `status.code` is OK. */
  value?: T;
  /** Response headers (initial metadata); `{}` when the call failed before them. */
  headers: Record<string, string | Uint8Array>;
}

export interface StreamResult<T> {
  status: GrpcStatus;
  /** Every reply received, in order (also those before a failure). */
  values: T[];
  headers: Record<string, string | Uint8Array>;
}

export interface GrpcCallOptions {
  /** Request metadata. */
  metadata?: Record<string, string | Uint8Array>;
  /** Deadline from now. Default 10000 ms, so no call can hang a test. */
  deadlineMs?: number;
  /** Aborting cancels the call (RST_STREAM CANCEL; status CANCELLED). */
  signal?: AbortSignal;
}

export interface GrpcClientPeer {
  say(message: string, options?: GrpcCallOptions): Promise<UnaryResult<SayReply>>;
  /** `n` concurrent Say calls on this client's one channel. */
  sayMany(n: number, options?: GrpcCallOptions): Promise<UnaryResult<SayReply>[]>;
  count(
    n: number,
    stream?: { intervalMs?: number; failCode?: number },
    options?: GrpcCallOptions,
  ): Promise<StreamResult<CountReply>>;
  sum(values: number[], options?: GrpcCallOptions): Promise<UnaryResult<SumReply>>;
  /** Sends each text and waits for its echo before the next (so the stream is truly interleaved). */
  chat(texts: string[], options?: GrpcCallOptions): Promise<StreamResult<ChatMessage>>;
  fail(
    code: number,
    message: string,
    trailers?: Record<string, string>,
    options?: GrpcCallOptions,
  ): Promise<UnaryResult<SayReply>>;
  sleep(ms: number, options?: GrpcCallOptions): Promise<UnaryResult<SayReply>>;
  trailers(trailers: Record<string, string>, options?: GrpcCallOptions): Promise<UnaryResult<SayReply>>;
  large(
    payloadBytes: number,
    replyBytes: number,
    options?: GrpcCallOptions,
  ): Promise<UnaryResult<LargeReply>>;
  /** The channel's connectivity state name ("READY", "IDLE", …). */
  state(): string;
  close(): void;
}

export interface GrpcClientOptions {
  /** grpc-js channel options, e.g. `{ "grpc.max_receive_message_length": 16 << 20 }`. */
  channelOptions?: grpc.ChannelOptions;
  /** Channel credentials, e.g. `grpc.credentials.createSsl(ca)` for TLS (default: insecure, h2c). */
  credentials?: grpc.ChannelCredentials;
}

interface Callable {
  [method: string]: (...args: unknown[]) => grpc.ClientUnaryCall & grpc.ClientReadableStream<unknown>;
}

/** An Echo client for `address` ("host:port"), insecure (h2c) unless given credentials: one channel for every call. */
export function grpcClient(address: string, options: GrpcClientOptions = {}): GrpcClientPeer {
  const Echo = echoService();
  const credentials = options.credentials ?? grpc.credentials.createInsecure();
  const client = new Echo(address, credentials, options.channelOptions);
  const methods = client as unknown as Callable;
  const callOptions = (o: GrpcCallOptions): grpc.CallOptions => ({
    deadline: new Date(Date.now() + (o.deadlineMs ?? 10_000)),
  });

  function unary<T>(method: string, request: unknown, o: GrpcCallOptions = {}): Promise<UnaryResult<T>> {
    return new Promise((resolve) => {
      let headers: Record<string, string | Uint8Array> = {};
      let value: T | undefined;
      let status: GrpcStatus | undefined;
      let answered = false;
      const settle = () => {
        if (answered && status !== undefined) resolve({ status, value, headers });
      };
      const call = methods[method]!(
        request,
        toMetadata(o.metadata ?? {}),
        callOptions(o),
        (_err: grpc.ServiceError | null, v?: T) => {
          value = v;
          answered = true;
          settle();
        },
      );
      call.on("metadata", (m: grpc.Metadata) => headers = metadataRecord(m));
      call.on("status", (s: grpc.StatusObject) => {
        status = { code: s.code, details: s.details, trailers: metadataRecord(s.metadata) };
        settle();
      });
      cancelOn(call, o);
    });
  }

  /** Collects a stream's replies until its status; `onData` sees each as it arrives. */
  function streamed<T>(
    call: grpc.ClientReadableStream<unknown>,
    onData?: (v: T) => void,
  ): Promise<StreamResult<T>> {
    return new Promise((resolve) => {
      const values: T[] = [];
      let headers: Record<string, string | Uint8Array> = {};
      call.on("metadata", (m: grpc.Metadata) => headers = metadataRecord(m));
      call.on("data", (v: T) => {
        values.push(v);
        onData?.(v);
      });
      call.on("error", () => {}); // the status event carries it
      // grpc-js emits "status" right after queueing the stream's end, before queued messages reach
      // "data": resolve once the readable side has ended too.
      call.on("status", (s: grpc.StatusObject) => {
        const status = { code: s.code, details: s.details, trailers: metadataRecord(s.metadata) };
        const done = () => resolve({ status, values, headers });
        if (call.readableEnded || call.destroyed) return done();
        call.once("end", done);
        call.once("close", done);
      });
    });
  }

  /** Cancels `call` when `o.signal` aborts. */
  const cancelOn = (
    call: { cancel(): void; on(e: "status", f: () => void): unknown },
    o: GrpcCallOptions,
  ) => {
    const signal = o.signal;
    if (signal === undefined) return;
    const cancel = () => call.cancel();
    if (signal.aborted) cancel();
    signal.addEventListener("abort", cancel, { once: true });
    call.on("status", () => signal.removeEventListener("abort", cancel));
  };

  const say = (message: string, o?: GrpcCallOptions) => unary<SayReply>("Say", { message }, o);
  return {
    say,
    sayMany: (n, o) => Promise.all(Array.from({ length: n }, (_, i) => say(`hello ${i}`, o))),
    count(n, s = {}, o = {}) {
      const call = methods.Count!(
        { n, intervalMs: s.intervalMs ?? 0, failCode: s.failCode ?? 0 },
        toMetadata(o.metadata ?? {}),
        callOptions(o),
      );
      cancelOn(call, o);
      return streamed<CountReply>(call);
    },
    sum(values, o = {}) {
      return new Promise((resolve) => {
        let headers: Record<string, string | Uint8Array> = {};
        let value: SumReply | undefined;
        let status: GrpcStatus | undefined;
        let answered = false;
        const settle = () => {
          if (answered && status !== undefined) resolve({ status, value, headers });
        };
        const call = (client as unknown as {
          Sum(
            md: grpc.Metadata,
            o: grpc.CallOptions,
            cb: (e: unknown, v?: SumReply) => void,
          ): grpc.ClientWritableStream<
            unknown
          >;
        }).Sum(toMetadata(o.metadata ?? {}), callOptions(o), (_e, v) => {
          value = v;
          answered = true;
          settle();
        });
        call.on("metadata", (m: grpc.Metadata) => headers = metadataRecord(m));
        call.on("status", (s: grpc.StatusObject) => {
          status = { code: s.code, details: s.details, trailers: metadataRecord(s.metadata) };
          settle();
        });
        cancelOn(call, o);
        for (const v of values) call.write({ value: v });
        call.end();
      });
    },
    chat(texts, o = {}) {
      const call =
        (methods.Chat!(toMetadata(o.metadata ?? {}), callOptions(o)) as unknown) as grpc.ClientDuplexStream<
          ChatMessage,
          ChatMessage
        >;
      let next = 0;
      const sendNext = () => {
        if (next < texts.length) call.write({ text: texts[next++]!, seq: 0 });
        else call.end();
      };
      cancelOn(call, o);
      const result = streamed<ChatMessage>(call, sendNext);
      sendNext();
      return result;
    },
    fail: (code, message, trailers = {}, o) => unary<SayReply>("Fail", { code, message, trailers }, o),
    sleep: (ms, o) => unary<SayReply>("Sleep", { ms }, o),
    trailers: (trailers, o) => unary<SayReply>("Trailers", { trailers }, o),
    large: (payloadBytes, replyBytes, o) =>
      unary<LargeReply>("Large", { payload: patternPayload(payloadBytes), replyBytes }, o),
    state: () => grpc.connectivityState[client.getChannel().getConnectivityState(false)],
    close: () => client.close(),
  };
}
