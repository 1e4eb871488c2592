import * as net from "node:net";
import {
  type Clock,
  type LimitGauge,
  LocalGauge,
  type Logger,
  ProxyError,
  type StreamConn,
  systemClock,
  type TimerId,
} from "../core/mod.ts";
import type { ListenerConfig } from "../config/mod.ts";
import {
  type CodecOptions,
  detectProtocol,
  getCodec,
  type ProtocolCodec,
  type ServerConnection,
} from "../codec/mod.ts";
import {
  clientCertDetails,
  type ConnectionInfo,
  type DownstreamStats,
  ProxyConnectionHandler,
  type ProxyContext,
} from "../proxy/mod.ts";
import { runReadLoop, SocketIO } from "../transport/mod.ts";
import { NodeSocketConn, type TlsServer, type TlsSessionInfo } from "../tls/mod.ts";
import type { TcpProxy } from "./tcp_proxy.ts";

/** What a listener runs, built by the server from a config snapshot. */
export interface ListenerPlan {
  readonly config: ListenerConfig;
  readonly stats: DownstreamStats;
  /** The `proxy` network filter, if configured. */
  readonly proxy: ProxyContext | undefined;
  /** Codecs the proxy accepts (one, or several sniffed in order). */
  readonly codecs: readonly ProtocolCodec[];
  readonly autoDetect: boolean;
  readonly codecOptions: CodecOptions;
  /** `tcp_proxy`: the only filter, or the fallback for unknown protocols. */
  readonly tcpProxy: TcpProxy | undefined;
  readonly fallbackToTcpProxy: boolean;
  /** The proxy's request_headers_timeout (0: none, e.g. tcp_proxy listeners). */
  readonly requestHeadersTimeoutMs: number;
  readonly logger: Logger;
  /** Runs the idle / request-headers sweep (default `systemClock`; tests pass a FakeClock). */
  readonly clock?: Clock;
  /**
   * TLS termination with this snapshot's contexts; undefined: a plaintext listener. A TLS listener
   * accepts through `node:net` (node:tls needs a node socket), a plaintext one through `Deno.listen`.
   */
  readonly tls?: TlsServer | undefined;
  /**
   * What `max_connections` counts in: the process-wide slot of this listener's name with workers
   * (`core/shared_counters`), so the limit holds for the process. Default: this listener's own gauge.
   */
  readonly connectionLimit?: LimitGauge;
}

/** How a connection of a TLS listener came in, for the proxy and the codec choice. */
interface TlsArrival {
  /** The session; undefined for a plaintext connection on an inspector listener. */
  readonly session: TlsSessionInfo | undefined;
}

/** The first byte of every TLS connection: a handshake record (MOSN's inspector tells them apart by it). */
const TLS_HANDSHAKE_RECORD = 0x16;

interface LiveConnection {
  readonly io: SocketIO;
  server: ServerConnection | undefined;
  /** Set on every read; the sweep clears it, and closes connections that stayed quiet. */
  active: boolean;
  /** Consecutive sweeps that found the connection quiet. */
  quietSweeps: number;
  /** `server.headsReceived` at the last sweep, for codecs whose bare reads are no activity. */
  idleMark: number;
  /** `server.headsReceived` when the sweep first saw the current head incomplete. */
  headMark: number;
  /** Consecutive sweeps that found that same head incomplete. */
  headSweeps: number;
  /** Handed to tcp_proxy, which applies its own idle_timeout: the listener's sweep leaves it alone. */
  relayed: boolean;
  /** Draining: when the connection was last seen busy (a read, a stream in flight, a head begun). */
  busyAt: number;
  /** Draining: closed for staying idle; its socket is on its way out. */
  drainClosed: boolean;
}

/** MOSN's DefaultIdleTimeout for downstream connections when a listener sets none; 0 disables it. */
const DEFAULT_IDLE_TIMEOUT_MS = 90_000;

/** How many sweeps a timeout spans: it fires between (n-1)/n and (n+1)/n of its value. */
const SWEEPS_PER_TIMEOUT = 4;

/** Longest we wait for enough bytes to tell the protocol apart before giving up on a connection. */
const SNIFF_TIMEOUT_MS = 15_000;

/**
 * A bound listener: accepts connections, picks the codec (sniffing the first bytes for Auto or a list),
 * and hands each connection to the proxy or tcp_proxy. Drains gracefully.
 */
export class Listener {
  #plan: ListenerPlan;
  /**
   * What requests on this listener's connections are proxied with. Shared by every connection and
   * updated by swapPlan, so after a reload even kept-alive connections route new requests by the new
   * snapshot while their in-flight requests finish on the old one.
   */
  readonly #proxy: { current: ProxyContext | undefined };
  #listener: Deno.TcpListener | undefined;
  /** TLS listeners accept here instead of #listener. */
  #nodeServer: net.Server | undefined;
  #nodeServerClosed: (() => void) | undefined;
  #conns = new Set<LiveConnection>();
  /** TLS listeners: sockets still in their handshake (they count against max_connections). */
  #handshaking = new Set<net.Socket>();
  #idleCheck: TimerId | undefined;
  /** The clock #idleCheck runs on: a swapped plan may bring another. */
  #sweepClock: Clock = systemClock;
  /** Sweeps after which a quiet connection / an incomplete head is closed (0: never). */
  #idleSweeps = 0;
  #headSweeps = 0;
  #accepting: Promise<void> | undefined;
  /** Set by drain(): connections whose codec connection appears later (sniffing, TLS) drain at once. */
  #draining: Promise<void> | undefined;

  /** Connections counted against max_connections (kept from the first plan: the name never changes). */
  readonly #connectionLimit: LimitGauge;

  constructor(plan: ListenerPlan) {
    this.#plan = plan;
    this.#proxy = { current: plan.proxy };
    this.#connectionLimit = plan.connectionLimit ?? new LocalGauge();
  }

  get plan(): ListenerPlan {
    return this.#plan;
  }

  get name(): string {
    return this.#plan.config.name;
  }

  /**
   * Whether `swapPlan(plan)` can take it: TLS and plaintext listeners accept differently, so a reload
   * that turns TLS on or off needs a new listener.
   */
  canSwapTo(plan: ListenerPlan): boolean {
    return (plan.tls === undefined) === (this.#plan.tls === undefined) &&
      plan.config.reusePort === this.#plan.config.reusePort;
  }

  /**
   * Takes a new plan for the same name and address (a config reload): new connections use it at once,
   * and so do new requests on existing proxy connections. On a TLS listener new handshakes use the new
   * plan's contexts; established sessions carry on.
   */
  swapPlan(plan: ListenerPlan): void {
    if (!this.canSwapTo(plan)) {
      throw new Error(
        `Cannot swap listener "${this.name}" between TLS and plaintext, or reuseport, in place`,
      );
    }
    this.#plan = plan;
    if (plan.proxy !== undefined) this.#proxy.current = plan.proxy;
    if (this.#listener !== undefined || this.#nodeServer !== undefined) this.#startIdleSweep();
  }

  /** Open connections, those still in their TLS handshake included. */
  get connections(): number {
    return this.#conns.size + this.#handshaking.size;
  }

  /** Binds the address; throws a clear error when it is in use. */
  start(): Promise<Deno.NetAddr> {
    if (this.#plan.tls !== undefined) return this.#startNode((socket) => this.#acceptTls(socket));
    // Plaintext reuseport listeners use Deno.listen's reusePort (--unstable-net is in the run flags): the
    // same SO_REUSEPORT socket as node:net's, at about 40% less CPU per request than the node socket path.
    try {
      return Promise.resolve(this.#startPlain());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #startPlain(): Deno.NetAddr {
    const { hostname, port } = this.#plan.config.address;
    try {
      this.#listener = Deno.listen({
        hostname,
        port,
        transport: "tcp",
        reusePort: this.#plan.config.reusePort,
      });
    } catch (e) {
      const why = e instanceof Deno.errors.AddrInUse ? "address already in use" : (e as Error).message;
      throw new Error(`Cannot bind listener "${this.name}" on ${hostname}:${port}: ${why}`);
    }
    this.#startIdleSweep();
    this.#accepting = this.#acceptLoop(this.#listener);
    return this.#listener.addr as Deno.NetAddr;
  }

  /** A `node:net` server for TLS listeners (node:tls needs a node socket). */
  async #startNode(onSocket: (socket: net.Socket) => void): Promise<Deno.NetAddr> {
    const { hostname, port } = this.#plan.config.address;
    const reusePort = this.#plan.config.reusePort;
    const server = net.createServer(onSocket);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: hostname, port, exclusive: !reusePort, reusePort }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      const why = code === "EADDRINUSE" ? "address already in use" : (e as Error).message;
      throw new Error(`Cannot bind listener "${this.name}" on ${hostname}:${port}: ${why}`);
    }
    // After listening, errors are failed accepts (e.g. EMFILE); node keeps accepting.
    server.on("error", (e) => {
      this.#plan.logger.warn("accept failed", { listener: this.name, error: String(e) });
    });
    this.#nodeServer = server;
    // The port is free once close() returns; node's own 'close' waits for every connection.
    this.#accepting = new Promise((resolve) => this.#nodeServerClosed = resolve);
    this.#startIdleSweep();
    const bound = server.address() as net.AddressInfo;
    return { transport: "tcp", hostname: bound.address, port: bound.port };
  }

  /**
   * A TLS listener's connection: the max_connections check, the inspector's look at the first byte, the
   * handshake under tls_handshake_timeout, then the same serving as a plaintext connection. A failure
   * closes this connection only, and is counted by reason.
   */
  #acceptTls(socket: net.Socket): void {
    const plan = this.#plan; // the plan at accept time: its contexts run the handshake
    const stats = plan.stats;
    // Check and count in one atomic step: with workers the slot is shared by every one of them.
    if (!this.#connectionLimit.tryAcquire(plan.config.maxConnections)) {
      stats.connectionOverflow.inc();
      socket.on("error", () => {});
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    stats.connectionTotal.inc();
    stats.connectionActive.inc();
    this.#handshaking.add(socket);
    socket.once("close", () => {
      this.#connectionLimit.sub();
      this.#handshaking.delete(socket);
      stats.connectionActive.dec();
      stats.connectionDestroy.inc();
    });
    this.#handshakeThenServe(socket, plan).catch((e) => {
      socket.destroy();
      plan.logger.error("connection handler failed", { listener: this.name, error: String(e) });
    });
  }

  async #handshakeThenServe(socket: net.Socket, plan: ListenerPlan): Promise<void> {
    const tls = plan.tls!;
    if (plan.config.inspector) {
      const first = await firstChunk(socket, plan.config.tlsHandshakeTimeoutMs);
      if (first === "timeout") tls.stats.failed("handshake_timeout");
      if (typeof first === "string") return void socket.destroy();
      if (first[0] !== TLS_HANDSHAKE_RECORD) {
        tls.stats.plaintext.inc();
        this.#handshaking.delete(socket);
        const conn = new NodeSocketConn(socket);
        socket.resume(); // firstChunk paused it; the chunk it put back comes first
        return await this.#serve(conn, plan, { session: undefined });
      }
    }
    const accepted = await tls.accept(socket);
    if (accepted === undefined) return; // counted and closed
    this.#handshaking.delete(socket);
    await this.#serve(new NodeSocketConn(accepted.socket), plan, { session: accepted.info });
  }

  async #acceptLoop(l: Deno.TcpListener): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await l.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return; // closed
        this.#plan.logger.warn("accept failed", { listener: this.name, error: String(e) });
        await new Promise((r) => setTimeout(r, 50)); // e.g. EMFILE: back off rather than spin
        continue;
      }
      if (!this.#connectionLimit.tryAcquire(this.#plan.config.maxConnections)) {
        // Over the limit: close at once (Envoy's downstream_cx_overflow) rather than let a flood of
        // connections take memory and file descriptors from the ones being served.
        this.#plan.stats.connectionOverflow.inc();
        try {
          conn.close();
        } catch {
          // already gone
        }
        continue;
      }
      this.#serve(conn, this.#plan).finally(() => this.#connectionLimit.sub()).catch((e) => {
        this.#plan.logger.error("connection handler failed", { listener: this.name, error: String(e) });
      });
    }
  }

  /**
   * Serves one connection with the plan it was accepted under. `tls` is set for every connection of a TLS
   * listener, whose accept already counted it (handshakes that fail are connections too).
   */
  async #serve(conn: StreamConn, plan: ListenerPlan, tls?: TlsArrival): Promise<void> {
    try {
      conn.setNoDelay?.(true);
    } catch {
      // not fatal
    }
    const stats = plan.stats;
    const io = new SocketIO(conn, {
      highWaterMark: plan.config.perConnBufferLimitBytes,
      onOverflow: stats.onWriteOverflow, // one function per listener, not a closure per connection
    });
    const live: LiveConnection = {
      io,
      server: undefined,
      active: true,
      quietSweeps: 0,
      idleMark: 0,
      headMark: -1,
      headSweeps: 0,
      relayed: false,
      busyAt: 0,
      drainClosed: false,
    };
    if (tls === undefined) {
      stats.connectionTotal.inc();
      stats.connectionActive.inc();
    }
    this.#conns.add(live);
    try {
      await this.#dispatch(live, plan, tls);
    } finally {
      io.close();
      this.#conns.delete(live);
      if (tls === undefined) {
        stats.connectionActive.dec();
        stats.connectionDestroy.inc();
      }
      stats.bytesWriteTotal.inc(io.bytesWritten);
    }
  }

  async #dispatch(live: LiveConnection, plan: ListenerPlan, tls: TlsArrival | undefined): Promise<void> {
    const io = live.io;
    if (plan.proxy === undefined) {
      live.relayed = true;
      if (plan.tcpProxy !== undefined) await plan.tcpProxy.handle(io, undefined);
      return;
    }
    let codec = codecForAlpn(plan.codecs, tls?.session?.alpn);
    let initial: Uint8Array | undefined;
    if (codec !== undefined) {
      // ALPN said which protocol: no sniffing.
    } else if (plan.codecs.length === 1 && !plan.autoDetect) codec = plan.codecs[0];
    else {
      const sniffed = await this.#sniff(io, plan.codecs);
      initial = sniffed.bytes;
      if (sniffed.codec === undefined) {
        if (initial === undefined) return; // closed before saying anything
        plan.stats.unknownProtocol.inc();
        if (plan.fallbackToTcpProxy && plan.tcpProxy !== undefined) {
          return await plan.tcpProxy.handle(io, initial);
        }
        plan.logger.debug("unknown protocol; closing", { listener: this.name, remote: io.remoteAddress });
        return;
      }
      codec = sniffed.codec;
    }
    const session = tls?.session;
    // Every field always present: one object shape for plaintext and TLS connections alike.
    const info: ConnectionInfo = {
      remoteAddress: io.remoteAddress,
      remoteIp: ipOf(io.remoteAddress),
      localAddress: io.localAddress,
      secure: session !== undefined,
      tls: session,
      // Every connection of a TLS listener, inspector plaintext ones too: only the listener may say
      // who the client is.
      sanitizeClientCert: tls !== undefined,
      clientCertDetails: session?.peer === undefined ? undefined : clientCertDetails(session.peer),
    };
    // plan.proxy is defined here, so #proxy.current is too (a swap never unsets it).
    const handler = new ProxyConnectionHandler(this.#proxy as { readonly current: ProxyContext }, info);
    const server = codec!.newServerConnection(io, handler, plan.codecOptions);
    live.server = server;
    // Accepted or sniffed before the drain began: its first request gets the drain's answer.
    if (this.#draining !== undefined) server.drain();
    const bytesRead = plan.stats.bytesReadTotal;
    const onBytes = (n: number) => {
      live.active = true; // a flag, not a clock read: this runs on every read
      bytesRead.inc(n);
    };
    if (initial !== undefined) onBytes(initial.length);
    return runReadLoop(io.conn, server, initial, onBytes); // returned, not awaited: one suspended frame less per connection
  }

  /** Reads until the candidates can tell the protocol; returns the bytes read so far either way. */
  async #sniff(
    io: SocketIO,
    codecs: readonly ProtocolCodec[],
  ): Promise<{ codec: ProtocolCodec | undefined; bytes: Uint8Array | undefined }> {
    let bytes = new Uint8Array(0);
    const buf = new Uint8Array(4096);
    const timer = setTimeout(() => io.close(), SNIFF_TIMEOUT_MS);
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await io.conn.read(buf);
        } catch {
          n = null;
        }
        if (n === null) return { codec: undefined, bytes: bytes.length > 0 ? bytes : undefined };
        const next = new Uint8Array(bytes.length + n);
        next.set(bytes);
        next.set(buf.subarray(0, n), bytes.length);
        bytes = next;
        const r = detectProtocol(bytes, codecs);
        if (r === "fail") return { codec: undefined, bytes };
        if (r !== "again") return { codec: r, bytes };
        if (bytes.length > 64 * 1024) return { codec: undefined, bytes };
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One periodic sweep over the connections checks both connection timeouts, instead of a timer per
   * connection or a clock read per socket read: reads only set a flag, heads are counted by the codec.
   * - connection_idle_timeout: no bytes and no stream in flight for the whole timeout;
   * - request_headers_timeout: the same request head (or RPC frame) still incomplete — the slowloris
   *   defence, since a byte every few seconds keeps a connection "active" but never finishes a head.
   */
  #startIdleSweep(): void {
    this.#stopIdleSweep();
    const idle = this.#plan.config.connectionIdleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const head = this.#plan.requestHeadersTimeoutMs;
    const shortest = Math.min(idle > 0 ? idle : Infinity, head > 0 ? head : Infinity);
    if (shortest === Infinity) return;
    const every = Math.max(10, shortest / SWEEPS_PER_TIMEOUT);
    this.#idleSweeps = idle > 0 ? Math.max(1, Math.round(idle / every)) : 0;
    this.#headSweeps = head > 0 ? Math.max(1, Math.round(head / every)) : 0;
    this.#sweepClock = this.#plan.clock ?? systemClock;
    this.#idleCheck = this.#sweepClock.setInterval(() => this.#sweep(), every);
  }

  #stopIdleSweep(): void {
    this.#sweepClock.clearInterval(this.#idleCheck);
    this.#idleCheck = undefined;
  }

  #sweep(): void {
    const stats = this.#plan.stats;
    for (const c of this.#conns) {
      if (c.relayed) continue;
      const server = c.server;
      if (this.#headSweeps > 0 && server !== undefined && server.awaitingHead) {
        if (c.headMark !== server.headsReceived) {
          c.headMark = server.headsReceived;
          c.headSweeps = 0;
        }
        if (++c.headSweeps > this.#headSweeps) {
          stats.requestHeaderTimeout.inc();
          server.abort(new ProxyError("request_timeout", "downstream", "request header timeout"));
          continue;
        }
      } else c.headSweeps = 0;
      if (this.#idleSweeps === 0) continue;
      let busy = c.active;
      if (server !== undefined) {
        if (server.activeStreams > 0) busy = true;
        else if (server.readsAreActivity === false) busy = server.headsReceived !== c.idleMark;
        c.idleMark = server.headsReceived;
      }
      c.active = false;
      if (busy) c.quietSweeps = 0;
      else if (++c.quietSweeps >= this.#idleSweeps) {
        stats.connectionIdleTimeout.inc();
        if (server?.closeIdle !== undefined) server.closeIdle();
        else c.io.close();
      }
    }
  }

  /**
   * Closes the listening socket only (what `drain` does first) and resolves once the accept loop has ended,
   * i.e. the socket refuses connections. Workers across cores call it in every worker before any drains: a
   * client told to reconnect must not land in the accept queue of a sibling worker's socket that is about to
   * close (Linux resets what is queued there).
   */
  async stopAccepting(): Promise<void> {
    const accepting = this.#accepting;
    this.#stopAccepting();
    if (accepting !== undefined) await accepting;
  }

  /**
   * Graceful drain, for clients that honour the protocol's signal: stop accepting first (new connections
   * are refused), tell every connection (`ServerConnection.drain`: Connection: close on the next
   * response, GOAWAY, GoAway), and close a connection only once it has stayed idle — nothing in flight,
   * nothing read — for the listener's `drain_idle_grace`: a request may be on its way to a connection
   * that looks idle. TLS handshakes and protocol sniffing in progress finish and are drained like the
   * rest. Whatever is still open after `timeoutMs` is closed (`drain_timeout_close_total`).
   */
  drain(timeoutMs: number): Promise<void> {
    this.#draining ??= this.#drain(timeoutMs);
    return this.#draining;
  }

  async #drain(timeoutMs: number): Promise<void> {
    const plan = this.#plan;
    const clock = plan.clock ?? systemClock;
    const grace = plan.config.drainIdleGraceMs;
    const accepting = this.#accepting;
    this.#stopAccepting();
    // Deno's listening socket stays open (connections queue, then are reset) until the pending accept
    // is cancelled: wait for the loop to end, so a client told to reconnect is refused, never reset.
    if (accepting !== undefined) await accepting; // node:net's closes at once: already resolved
    const start = clock.now();
    for (const c of this.#conns) {
      c.busyAt = start;
      c.active = false;
      if (c.server !== undefined) c.server.drain(); // may write a GoAway, or close at once (no signal)
      else if (c.relayed) c.io.closeAfterWrites(); // tcp_proxy: no protocol to tell the client with
    }
    // Poll a few times per grace, at most 100 ms apart (a flag per read, no timer per connection).
    const every = Math.max(5, Math.min(100, grace / 4));
    const deadline = start + timeoutMs;
    for (;;) {
      const now = clock.now();
      for (const c of this.#conns) {
        if (c.drainClosed || c.relayed) continue;
        // A connection still being sniffed has said too little to hold a request: idle unless it reads.
        const server = c.server;
        const busy = c.active || (server !== undefined && (server.activeStreams > 0 || server.awaitingHead));
        c.active = false;
        if (busy) c.busyAt = now;
        else if (now - c.busyAt >= grace) {
          plan.stats.drainIdleClose.inc();
          c.drainClosed = true;
          if (server?.closeIdle !== undefined) server.closeIdle();
          else c.io.closeAfterWrites();
        }
      }
      if (this.connections === 0 || now >= deadline) break;
      await new Promise<void>((r) => clock.setTimeout(r, Math.min(every, deadline - now)));
    }
    let cut = this.#handshaking.size;
    for (const c of this.#conns) if (!c.drainClosed) cut++;
    plan.stats.drainTimeoutClose.inc(cut);
    this.close();
  }

  #stopAccepting(): void {
    this.#stopIdleSweep();
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    this.#listener = undefined;
    if (this.#nodeServer !== undefined) {
      this.#nodeServer.close();
      this.#nodeServer = undefined;
      this.#nodeServerClosed?.();
    }
  }

  close(): void {
    this.#stopAccepting();
    for (const s of this.#handshaking) s.destroy();
    for (const c of this.#conns) c.io.close();
  }

  /** Resolves once the accept loop has ended (after close/drain). */
  get stopped(): Promise<void> {
    return this.#accepting ?? Promise.resolve();
  }
}

/** ALPN's choice among the listener's codecs (the codec whose `alpn` id was negotiated); undefined: no say. */
function codecForAlpn(
  codecs: readonly ProtocolCodec[],
  alpn: string | undefined,
): ProtocolCodec | undefined {
  return alpn === undefined ? undefined : codecs.find((c) => c.alpn === alpn);
}

/**
 * Waits for a socket's first bytes and puts them back (MOSN's inspector peeks one byte), leaving the
 * socket paused. "closed" when it ended first, "timeout" after `timeoutMs` (0: no limit).
 */
function firstChunk(socket: net.Socket, timeoutMs: number): Promise<Uint8Array | "closed" | "timeout"> {
  return new Promise((resolve) => {
    const done = (r: Uint8Array | "closed" | "timeout") => {
      if (timer !== undefined) clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("end", onClose);
      resolve(r);
    };
    const onData = (chunk: Uint8Array) => {
      socket.pause();
      socket.unshift(chunk);
      done(chunk);
    };
    const onClose = () => done("closed");
    const timer = timeoutMs > 0 ? setTimeout(() => done("timeout"), timeoutMs) : undefined;
    socket.on("error", () => {}); // 'close' follows
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("end", onClose);
  });
}

function ipOf(address: string): string {
  if (address.startsWith("[")) return address.slice(1, address.indexOf("]"));
  const i = address.lastIndexOf(":");
  return i < 0 ? address : address.slice(0, i);
}

/** Resolves protocol names to registered codecs; throws naming an unknown one. */
export function resolveCodecs(names: readonly string[]): ProtocolCodec[] {
  return names.map((n) => {
    const c = getCodec(n);
    if (c === undefined) {
      throw new ProxyError("internal", "internal", `protocol "${n}" has no registered codec`);
    }
    return c;
  });
}
