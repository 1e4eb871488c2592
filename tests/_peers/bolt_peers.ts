/**
 * Real SOFA bolt peers for tests: a `sofa-rpc-node` RpcServer bound to 127.0.0.1 and an RpcClient that
 * calls a direct address — or, given a ZooKeeper address, both use sofa-rpc-node's own ZooKeeper registry
 * (the server registers itself under `/sofa-rpc/<iface>/providers`, the client discovers providers there).
 * Everything returned is stoppable and leaves no timers or sockets.
 *
 * Services on every server (interface:version):
 * - `com.nodejs.test.TestService:1.0`: `plus(a, b)` → a + b; `slow(ms)` → ms after waiting ms;
 *   `whoami()` → the server's name; `crash()` destroys every connection of the server mid-call
 *   (the caller sees the connection close, never a response); `fail(msg)` throws (bolt status 1).
 * - `com.nodejs.test.EchoService:1.0`: `echo(s)` → s.
 * - each of `BoltServerOptions.whoamiServices` (at version 1.0): `whoami()` → the server's name.
 * @module
 */
import { createRequire } from "node:module";
import net from "node:net";
import sofa from "sofa-rpc-node";

/** plusMany()'s per-call response timeout (see BoltClientPeer.plusMany). */
const MANY_CALLS_TIMEOUT_MS = 30_000;

export const TEST_SERVICE = "com.nodejs.test.TestService";
export const ECHO_SERVICE = "com.nodejs.test.EchoService";

/** A hessian-typed argument in sofa-rpc-node's `{ $class, $ }` form. */
export interface JavaArg {
  $class: string;
  $: unknown;
}

export function int(n: number): JavaArg {
  return { $class: "int", $: n };
}

export function str(s: string): JavaArg {
  return { $class: "java.lang.String", $: s };
}

// === the untyped library, narrowed to what is used here ===

interface SofaLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}

interface SofaServerConnection {
  socket: { destroy(): void };
}

interface SofaServer {
  publishPort: number;
  publish(): Promise<unknown>;
  unPublish(): Promise<unknown>;
  _connections: Map<string, SofaServerConnection>;
  _handleSocket(socket: unknown): void;
  emit(event: string, ...args: unknown[]): boolean;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  addService(info: { interfaceName: string; version?: string }, delegate: Record<string, unknown>): void;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface SofaConsumer {
  ready(): Promise<void>;
  invoke(method: string, args: unknown[], options?: { responseTimeout?: number }): Promise<unknown>;
}

interface SofaClient {
  createConsumer(options: Record<string, unknown>): SofaConsumer;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  close(): Promise<void>;
}

/** sofa-rpc-node's `ZookeeperRegistry` (lib/registry/zk). */
export interface SofaZkRegistry {
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface SofaModule {
  server: { RpcServer: new (options: Record<string, unknown>) => SofaServer };
  client: { RpcClient: new (options: Record<string, unknown>) => SofaClient };
  registry: { ZookeeperRegistry: new (options: Record<string, unknown>) => SofaZkRegistry };
}

const lib = sofa as unknown as SofaModule;

// === sofa-bolt-node, the protocol library sofa-rpc-node itself uses (a dependency of it) ===

interface BoltEncoder {
  protocolType: string;
  boltVersion: number;
  crcEnable: boolean;
  on(event: "data", fn: (chunk: Uint8Array) => void): unknown;
  writeRequest(id: number, req: Record<string, unknown>, cb?: (err: unknown) => void): void;
  writeHeartbeat(id: number, hb: Record<string, unknown>, cb?: (err: unknown) => void): void;
}

interface BoltDecoder {
  on(event: string, fn: (packet: { packetId: number }) => void): unknown;
}

interface BoltProtocol {
  name?: string;
  encoder(options: Record<string, unknown>): BoltEncoder;
  decoder(options: Record<string, unknown>): BoltDecoder;
}

/** Loaded from sofa-rpc-node's own dependency tree, so it is exactly the copy the peers use. */
const boltProtocol = createRequire(import.meta.resolve("sofa-rpc-node"))("sofa-bolt-node") as BoltProtocol;

/**
 * Wraps the protocol so every encoder speaks `version` (with `crc`, v2 frames with ver1 2 and a CRC-32)
 * and callers see each encoder and decoder made.
 */
function tappedProtocol(
  version: 1 | 2,
  onEncoder: (e: BoltEncoder) => void,
  onDecoder: (d: BoltDecoder) => void,
  crc = false,
): BoltProtocol {
  return {
    ...boltProtocol,
    encoder(options) {
      const e = boltProtocol.encoder(options);
      if (version === 2) e.protocolType = "bolt2";
      if (crc) {
        e.boltVersion = 2;
        e.crcEnable = true;
      }
      onEncoder(e);
      return e;
    },
    decoder(options) {
      const d = boltProtocol.decoder(options);
      onDecoder(d);
      return d;
    },
  };
}

export interface RequestFrameOptions {
  id: number;
  /** interface:version, e.g. "com.nodejs.test.TestService:1.0" (the `service` header). */
  service: string;
  method: string;
  args: JavaArg[];
  /** The frame's timeout field (ms); 0 = "use the proxy's route timeout". */
  timeout: number;
  oneway?: boolean;
  version?: 1 | 2;
  /** A v2 frame with ver1 2 and a CRC-32 (implies version 2). */
  crc?: boolean;
}

/** Encodes one request frame exactly as sofa-rpc-node's client would put it on the wire. */
export function encodeRequestFrame(o: RequestFrameOptions): Promise<Uint8Array> {
  const encoder = boltProtocol.encoder({ sentReqs: new Map(), classCache: new Map() });
  if (o.version === 2 || o.crc) encoder.protocolType = "bolt2";
  if (o.crc) {
    encoder.boltVersion = 2;
    encoder.crcEnable = true;
  }
  return new Promise((resolve, reject) => {
    encoder.on("data", (chunk) => resolve(new Uint8Array(chunk)));
    encoder.writeRequest(o.id, {
      serverSignature: o.service,
      methodName: o.method,
      args: o.args,
      timeout: o.timeout,
      oneway: o.oneway === true,
      requestProps: { service: o.service },
      meta: { start: Date.now() },
    }, (err) => {
      if (err) reject(err);
    });
  });
}

/** Encodes a heartbeat request as sofa-rpc-node's client sends it (timeout 3000). */
export function encodeHeartbeatFrame(id: number, version: 1 | 2 = 1): Promise<Uint8Array> {
  const encoder = boltProtocol.encoder({ sentReqs: new Map(), classCache: new Map() });
  if (version === 2) encoder.protocolType = "bolt2";
  return new Promise((resolve, reject) => {
    encoder.on("data", (chunk) => resolve(new Uint8Array(chunk)));
    encoder.writeHeartbeat(id, { timeout: 3000, clientUrl: "meshctl-test" }, (err) => {
      if (err) reject(err);
    });
  });
}

function noop(): void {}

/** Keeps the library quiet: its default logging would flood test output. */
const silentLogger: SofaLogger = { info: noop, warn: noop, error: noop, debug: noop };

/** Listens on one loopback address only (the library's own _startServer binds every interface). */
class LoopbackRpcServer extends lib.server.RpcServer {
  hostname = "127.0.0.1";

  _startServer(port: number): net.Server {
    const server = net.createServer();
    server.once("error", (err: unknown) => this.emit("error", err));
    server.on("connection", (socket: unknown) => this._handleSocket(socket));
    server.listen(port, this.hostname, () => {
      const addr = server.address();
      if (port === 0 && addr !== null && typeof addr === "object") this.publishPort = addr.port;
    });
    return server;
  }
}

export interface BoltServerPeer {
  readonly name: string;
  readonly port: number;
  /** "host:port". */
  readonly address: string;
  /** Calls received so far (any method). */
  readonly calls: number;
  /** Calls of `method` received so far (counted on arrival, before the method runs). */
  callsOf(method: string): number;
  /** Heartbeat requests received (answered by the library). */
  readonly heartbeats: number;
  /** With `registry`: deletes this server's provider nodes (as a graceful SOFA shutdown does first). */
  unpublish(): Promise<void>;
  /** Unpublishes (with `registry`), closes the server and its connections, then its registry session. */
  stop(): Promise<void>;
}

export interface BoltServerOptions {
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** A loopback address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** What whoami() returns; defaults to "server-<port>". */
  name?: string;
  /** More interface names to serve (version 1.0), each with just `whoami()`: for routing by service. */
  whoamiServices?: string[];
  /**
   * A ZooKeeper address: the server registers every service there itself, with sofa-rpc-node's
   * ZookeeperRegistry, as `bolt://127.0.0.1:<port>?…`; `startBoltServer` resolves once the library has
   * seen its own node.
   */
  registry?: string;
}

/** Starts a sofa-rpc-node bolt server on 127.0.0.1 (or `hostname`) with the test services. */
export async function startBoltServer(options: BoltServerOptions = {}): Promise<BoltServerPeer> {
  let heartbeats = 0;
  const registry = options.registry === undefined
    ? undefined
    : new lib.registry.ZookeeperRegistry({ logger: silentLogger, address: options.registry });
  const server = new LoopbackRpcServer({
    appName: "meshctl-test",
    port: options.port ?? 0,
    logger: silentLogger,
    ...(registry === undefined ? {} : { registry, publishAddress: options.hostname ?? "127.0.0.1" }),
    protocol: tappedProtocol(1, () => {}, (d) => d.on("heartbeat", () => heartbeats++)),
  });
  const hostname = options.hostname ?? "127.0.0.1";
  server.hostname = hostname;
  server.on("error", noop); // errors surface to the caller as failed calls
  let calls = 0;
  const byMethod = new Map<string, number>();
  const count = (method: string) => {
    calls++;
    byMethod.set(method, (byMethod.get(method) ?? 0) + 1);
  };
  let name = options.name ?? "";
  const timers = new Set<ReturnType<typeof setTimeout>>();
  server.addService({ interfaceName: TEST_SERVICE, version: "1.0" }, {
    async plus(a: number, b: number) {
      count("plus");
      return await Promise.resolve(a + b);
    },
    async slow(ms: number) {
      count("slow");
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      });
      return ms;
    },
    async whoami() {
      count("whoami");
      return await Promise.resolve(name);
    },
    async fail(msg: string) {
      count("fail");
      await Promise.resolve();
      throw new Error(msg);
    },
    async crash() {
      count("crash");
      for (const conn of server._connections.values()) conn.socket.destroy();
      // Never answers: the connection is gone.
      await new Promise(noop);
    },
  });
  server.addService({ interfaceName: ECHO_SERVICE, version: "1.0" }, {
    async echo(s: string) {
      count("echo");
      return await Promise.resolve(s);
    },
  });
  for (const interfaceName of options.whoamiServices ?? []) {
    server.addService({ interfaceName, version: "1.0" }, {
      async whoami() {
        count("whoami");
        return await Promise.resolve(name);
      },
    });
  }
  await server.start();
  const port = server.publishPort;
  if (!name) name = `server-${port}`;
  if (registry !== undefined) {
    try {
      await registry.ready();
      await server.publish();
    } catch (e) {
      await server.close().catch(noop);
      await registry.close().catch(noop);
      throw e;
    }
  }
  return {
    name,
    port,
    address: `${hostname}:${port}`,
    get calls() {
      return calls;
    },
    callsOf: (method) => byMethod.get(method) ?? 0,
    get heartbeats() {
      return heartbeats;
    },
    async unpublish() {
      await server.unPublish();
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await server.close();
      await registry?.close().catch(noop);
    },
  };
}

export interface BoltClientPeer {
  /** Calls `service`:1.0 `method` with hessian-typed args; rejects on RPC errors and timeouts. */
  invoke(service: string, method: string, args: JavaArg[], timeoutMs?: number): Promise<unknown>;
  plus(a: number, b: number): Promise<unknown>;
  /**
   * `n` concurrent plus(i, i) calls; resolves with each result or the Error it failed with. Each may take
   * `timeoutMs` (default 30 s: a bound for "never answered", not a latency check — 300 calls in flight on
   * a loaded machine took longer than one call's 3 s).
   */
  plusMany(n: number, timeoutMs?: number): Promise<(unknown | Error)[]>;
  /**
   * Sends a heartbeat on every connection the client has opened (through the library's own encoder, as
   * its idle keepalive does) and resolves with how many were acknowledged within `timeoutMs`.
   */
  heartbeat(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export interface BoltClientOptions {
  /** Bolt version the client encodes (2 = boltv2, without CRC unless `crc`). Default 1. */
  version?: 1 | 2;
  /** v2 frames with ver1 2 and the CRC switch on: each ends with a CRC-32 (implies version 2). */
  crc?: boolean;
  /** Discover providers in this ZooKeeper (sofa-rpc-node's ZookeeperRegistry); `address` is then unused. */
  registry?: string;
}

/** A sofa-rpc-node client that calls `address` ("host:port") directly, without a registry. */
export function boltClient(address: string, options: BoltClientOptions = {}): BoltClientPeer {
  const encoders: BoltEncoder[] = [];
  const acks = new Set<number>();
  const protocol = tappedProtocol(options.crc ? 2 : options.version ?? 1, (e) => encoders.push(e), (d) => {
    d.on("heartbeat_ack", (p) => acks.add(p.packetId));
  }, options.crc === true);
  // Its own connectionOpts: the library would otherwise write `protocol` into its shared defaults.
  const registry = options.registry === undefined
    ? undefined
    : new lib.registry.ZookeeperRegistry({ logger: silentLogger, address: options.registry });
  const client = new lib.client.RpcClient({
    logger: silentLogger,
    protocol,
    ...(registry === undefined ? {} : { registry }),
    connectionOpts: { protocol, noDelay: true, connectTimeout: 3000 },
  });
  let nextHeartbeatId = 0x7000_0000;
  client.on("error", noop);
  const consumers = new Map<string, SofaConsumer>();
  function consumer(service: string): SofaConsumer {
    let c = consumers.get(service);
    if (c === undefined) {
      c = client.createConsumer({
        interfaceName: service,
        version: "1.0",
        ...(registry === undefined ? { serverHost: address } : {}),
      });
      consumers.set(service, c);
    }
    return c;
  }
  async function invoke(
    service: string,
    method: string,
    args: JavaArg[],
    timeoutMs = 3000,
  ): Promise<unknown> {
    const c = consumer(service);
    await c.ready();
    return await c.invoke(method, args, { responseTimeout: timeoutMs });
  }
  return {
    invoke,
    plus: (a, b) => invoke(TEST_SERVICE, "plus", [int(a), int(b)]),
    plusMany(n, timeoutMs = MANY_CALLS_TIMEOUT_MS) {
      const calls: Promise<unknown | Error>[] = [];
      for (let i = 0; i < n; i++) {
        calls.push(
          invoke(TEST_SERVICE, "plus", [int(i), int(i)], timeoutMs).catch((e: unknown) =>
            e instanceof Error ? e : new Error(String(e))
          ),
        );
      }
      return Promise.all(calls);
    },
    async heartbeat(timeoutMs = 2000) {
      const ids: number[] = [];
      for (const e of encoders) {
        const id = nextHeartbeatId++;
        ids.push(id);
        e.writeHeartbeat(id, { timeout: 3000, clientUrl: "meshctl-test" });
      }
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !ids.every((id) => acks.has(id))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return ids.filter((id) => acks.has(id)).length;
    },
    async close() {
      await client.close();
      await registry?.close().catch(noop);
    },
  };
}
