import type { ClientConnection, CodecOptions, ProtocolCodec } from "../../codec/mod.ts";
import type { ProxyError, TimerId } from "../../core/mod.ts";
import type { SocketIO } from "../../transport/mod.ts";
import type { TlsSessionInfo, UpstreamTls } from "../../tls/mod.ts";

/** Who waits for a connection (the upstream attempt of a request). */
export interface PoolWaiter {
  /** A connection is ready for one more stream (counted in its `requests`). */
  onPoolReady(conn: UpstreamConnection): void;
  /** No connection will come: connect failure, pool closed. */
  onPoolFailure(err: ProxyError): void;
}

/** Per-host connection pool. One per (host, protocol). */
export interface ConnectionPool {
  /**
   * A connection ready for one more stream: returned at once when an idle (or multiplexed) one exists;
   * a ProxyError when the request cannot even wait (`overflow`: the pending queue or the connection limit
   * is full); otherwise undefined, and `waiter` hears back after a connect or once a busy connection
   * frees up. Never calls the waiter synchronously.
   */
  acquire(waiter: PoolWaiter): UpstreamConnection | ProxyError | undefined;
  /**
   * The waiter gave up (timeout, client gone, retry): it is forgotten and frees its place in the pending
   * queue at once. A connect it started still completes and serves someone else (or goes idle).
   */
  cancel(waiter: PoolWaiter): void;
  /** The stream on `conn` has finished (request sent, response ended or reset). */
  release(conn: UpstreamConnection): void;
  /** Close idle connections now and the rest as their streams end. */
  drain(): void;
  /** Close everything now. */
  close(): void;
  readonly connections: number;
}

/** Shared limits and counters a pool reports to (the cluster's circuit breakers and stats). */
export interface PoolHooks {
  /**
   * May another connection be opened to this cluster (circuit breaker max_connections)? `poolConnections`:
   * how many this pool has open or opening (with workers, an empty pool may open its first one anyway).
   */
  canOpenConnection(poolConnections: number): boolean;
  /** May another request wait in the pending queue (max_pending_requests)? */
  canQueue(): boolean;
  onConnectionOpened(): void;
  onConnectionClosed(): void;
  onConnectFailure(err: ProxyError): void;
  onPendingChange(delta: number): void;
  onBytesRead(n: number): void;
  /** A connection was closed because the upstream stopped reading (write queue over its hard limit). */
  onWriteOverflow(): void;
}

export type { ClientConnection };

/** What a pool needs to dial a host and account for its connections. */
export interface PoolOptions {
  hostname: string;
  port: number;
  codec: ProtocolCodec;
  codecOptions: CodecOptions;
  connectTimeoutMs: number;
  idleTimeoutMs: number | undefined;
  /** 0 = unlimited. */
  maxRequestsPerConnection: number;
  /** Write high-water mark of each connection (`conn_buffer_limit_bytes`); 16× it closes one. */
  bufferLimitBytes: number;
  hooks: PoolHooks;
  /** TLS to the host (undefined: plaintext, also for a `tls_disable` host of a TLS cluster). */
  tls?: UpstreamTls;
  /** The host's configured name, before DNS resolution: SNI when the context has no server_name. */
  tlsName?: string;
}

/** A live upstream connection: the socket, the codec's client connection, and pool bookkeeping. */
export interface UpstreamConnection {
  readonly io: SocketIO;
  readonly codec: ClientConnection;
  /** Streams started on this connection over its life (for max_request_per_conn). */
  requests: number;
  /** Set when the codec says it can no longer be used. */
  unusable: boolean;
  idleTimer: TimerId | undefined;
  /** Resolves when the socket closed and its read loop ended. */
  readonly closed: Promise<void>;
  /** The TLS session, when the connection is TLS. */
  readonly tls?: TlsSessionInfo | undefined;
}
