import type { ClientConnection, CodecOptions, ProtocolCodec } from "../../codec/mod.ts";
import type { ProxyError } from "../../core/mod.ts";
import type { UpstreamConnection } from "./dial.ts";

/** Per-host connection pool. One per (host, protocol). */
export interface ConnectionPool {
  /**
   * A connection ready for one more stream: at once when an idle (or multiplexed) one exists, otherwise
   * after a connect or once a busy one frees up. Fails with ProxyError `overflow` (pending queue full) or
   * `connect_failure`.
   */
  acquire(): UpstreamConnection | Promise<UpstreamConnection>;
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
  /** May another connection be opened to this cluster (circuit breaker max_connections)? */
  canOpenConnection(): boolean;
  /** May another request wait in the pending queue (max_pending_requests)? */
  canQueue(): boolean;
  onConnectionOpened(): void;
  onConnectionClosed(): void;
  onConnectFailure(err: ProxyError): void;
  onPendingChange(delta: number): void;
  onBytesRead(n: number): void;
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
  hooks: PoolHooks;
}
