import { ProxyError, type StreamConn, type TimerId } from "../../core/mod.ts";
import type { ClientConnectionHandler, CodecOptions, ProtocolCodec } from "../../codec/mod.ts";
import type { UpstreamTls, UpstreamTlsSession } from "../../tls/mod.ts";
import { runReadLoop, SocketIO, type SocketIOOptions } from "../../transport/mod.ts";
import type { PoolOptions, UpstreamConnection } from "./types.ts";

export interface DialOptions {
  hostname: string;
  port: number;
  connectTimeoutMs: number;
  codec: ProtocolCodec;
  codecOptions: CodecOptions;
  onUnusable: (conn: UpstreamConnection, reason: ProxyError) => void;
  /** The connection can open more streams than before (HTTP/2 SETTINGS raised its limit). */
  onCapacity?: (conn: UpstreamConnection) => void;
  onBytesRead?: (n: number) => void;
  /** Socket options (write watermarks). */
  io?: SocketIOOptions;
  /** TLS to this host (the cluster's tls_context, unless the host has tls_disable); plaintext when unset. */
  tls?: UpstreamTls;
  /** The host's configured name (before DNS resolution): SNI when the context has no server_name. */
  tlsName?: string;
}

/**
 * Connects to an upstream host and starts its read loop. With `tls`, the handshake (and its checks)
 * happens within the same connect timeout; its failures are `connect_failure`s, retryable since nothing
 * was sent.
 */
export async function dialUpstream(opts: DialOptions): Promise<UpstreamConnection> {
  let sock: StreamConn;
  let session: UpstreamTlsSession | undefined;
  if (opts.tls !== undefined) {
    session = await opts.tls.connect(
      opts.hostname,
      opts.port,
      opts.connectTimeoutMs,
      opts.codec.alpn,
      opts.tlsName ?? opts.hostname,
    );
    sock = session.conn;
  } else {
    sock = await connectWithTimeout(opts.hostname, opts.port, opts.connectTimeoutMs);
  }
  try {
    sock.setNoDelay?.(true);
  } catch {
    // not fatal
  }
  const io = new SocketIO(sock, opts.io);
  // deno-lint-ignore prefer-const
  let conn: UpstreamConnection;
  const handler: ClientConnectionHandler = {
    onUnusable: (reason) => {
      if (conn.unusable) return;
      conn.unusable = true;
      opts.onUnusable(conn, reason);
    },
    onCapacity: () => opts.onCapacity?.(conn),
  };
  const codec = opts.codec.newClientConnection(io, handler, opts.codecOptions);
  let markClosed!: () => void;
  const closed = new Promise<void>((r) => markClosed = r);
  conn = { io, codec, requests: 0, unusable: false, idleTimer: undefined, closed, tls: session?.info };
  runReadLoop(sock, codec, undefined, opts.onBytesRead).catch(() => {}).finally(() => {
    io.close();
    handler.onUnusable(new ProxyError("upstream_reset", "upstream", "upstream connection closed"));
    markClosed();
  });
  return conn;
}

/**
 * Dials for a pool: the connection counts against the cluster's limits from the moment the dial starts
 * (so concurrent dials cannot overshoot max_connections), and a failure is reported and un-counted.
 */
export async function dialPooled(
  o: PoolOptions,
  codecOptions: CodecOptions,
  onUnusable: (conn: UpstreamConnection, reason: ProxyError) => void,
  onBytesRead: (n: number) => void,
  onCapacity?: (conn: UpstreamConnection) => void,
): Promise<UpstreamConnection> {
  o.hooks.onConnectionOpened();
  try {
    return await dialUpstream({
      hostname: o.hostname,
      port: o.port,
      connectTimeoutMs: o.connectTimeoutMs,
      codec: o.codec,
      codecOptions,
      onUnusable,
      ...(onCapacity === undefined ? {} : { onCapacity }),
      onBytesRead,
      io: { highWaterMark: o.bufferLimitBytes, onOverflow: o.hooks.onWriteOverflow },
      ...(o.tls === undefined ? {} : { tls: o.tls, tlsName: o.tlsName ?? o.hostname }),
    });
  } catch (e) {
    o.hooks.onConnectionClosed();
    const err = e instanceof ProxyError
      ? e
      : new ProxyError("connect_failure", "upstream", String(e), { cause: e });
    o.hooks.onConnectFailure(err);
    throw err;
  }
}

/** Connects within `timeoutMs`; a ProxyError `connect_failure` (retryable: nothing was sent) otherwise. */
export async function connectWithTimeout(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<Deno.TcpConn> {
  let timer: TimerId | undefined;
  const attempt = Deno.connect({ hostname, port, transport: "tcp" });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ProxyError(
            "connect_failure",
            "upstream",
            `connect to ${hostname}:${port} timed out after ${timeoutMs}ms`,
            {
              retryable: true,
            },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([attempt, timeout]);
  } catch (e) {
    // A connect that completes after the timeout must not leak its socket.
    attempt.then((c) => c.close(), () => {});
    if (e instanceof ProxyError) throw e;
    throw new ProxyError(
      "connect_failure",
      "upstream",
      `connect to ${hostname}:${port} failed: ${errorText(e)}`,
      {
        retryable: true,
        cause: e,
      },
    );
  } finally {
    clearTimeout(timer);
  }
}

function errorText(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "connection refused";
  return e instanceof Error ? e.message : String(e);
}
