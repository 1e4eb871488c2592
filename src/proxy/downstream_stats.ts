import type { Counter, Gauge, Histogram, Scope } from "../stats/mod.ts";

/** The status codes MOSN counts individually; any other lands in request_other_code. */
const COUNTED_STATUSES = [200, 206, 302, 304, 400, 403, 404, 416, 499, 500, 502, 503, 504];

/** Per-listener downstream counters, MOSN names, created once per listener. */
export class DownstreamStats {
  readonly connectionTotal: Counter;
  readonly connectionActive: Gauge;
  readonly connectionDestroy: Counter;
  readonly bytesReadTotal: Counter;
  readonly bytesWriteTotal: Counter;
  readonly requestTotal: Counter;
  readonly requestActive: Gauge;
  readonly requestReset: Counter;
  readonly requestFailed: Counter;
  readonly requestTime: Histogram;
  readonly protocolError: Counter;
  readonly heartbeatTotal: Counter;
  readonly unknownProtocol: Counter;
  /** Connections accepted past the listener's max_connections and closed at once. */
  readonly connectionOverflow: Counter;
  /** Connections closed for a request head (or RPC frame) that did not complete in time. */
  readonly requestHeaderTimeout: Counter;
  /** Connections closed by connection_idle_timeout. */
  readonly connectionIdleTimeout: Counter;
  /** Draining: connections closed after staying idle for drain_idle_grace (the clean way out). */
  readonly drainIdleClose: Counter;
  /** Draining: connections still open at the drain timeout, closed then (requests may have been cut). */
  readonly drainTimeoutClose: Counter;
  /** Streams ended by stream_idle_timeout. */
  readonly streamIdleTimeout: Counter;
  /** Streams refused over max_concurrent_streams. */
  readonly streamRefused: Counter;
  /** Connections closed because their peer stopped reading (write queue over its hard limit). */
  readonly writeBufferOverflow: Counter;
  /** Connections failed because the process-wide buffer budget could not hold their partial input. */
  readonly bufferBudgetExhausted: Counter;
  /** Counts a write-queue overflow; shared by every connection (SocketIO's onOverflow). */
  readonly onWriteOverflow = (): void => this.writeBufferOverflow.inc();
  #byStatus = new Map<number, Counter>();
  #otherStatus: Counter;

  constructor(scope: Scope) {
    this.connectionTotal = scope.counter("connection_total");
    this.connectionActive = scope.gauge("connection_active");
    this.connectionDestroy = scope.counter("connection_destroy");
    this.bytesReadTotal = scope.counter("bytes_read_total");
    this.bytesWriteTotal = scope.counter("bytes_write_total");
    this.requestTotal = scope.counter("request_total");
    this.requestActive = scope.gauge("request_active");
    this.requestReset = scope.counter("request_reset");
    this.requestFailed = scope.counter("request_failed");
    this.requestTime = scope.histogram("request_time");
    this.protocolError = scope.counter("protocol_error_total");
    this.heartbeatTotal = scope.counter("heartbeat_total");
    this.unknownProtocol = scope.counter("unknown_protocol_total");
    this.connectionOverflow = scope.counter("connection_overflow_total");
    this.requestHeaderTimeout = scope.counter("request_header_timeout_total");
    this.connectionIdleTimeout = scope.counter("connection_idle_timeout_total");
    this.drainIdleClose = scope.counter("drain_idle_close_total");
    this.drainTimeoutClose = scope.counter("drain_timeout_close_total");
    this.streamIdleTimeout = scope.counter("stream_idle_timeout_total");
    this.streamRefused = scope.counter("stream_refused_total");
    this.writeBufferOverflow = scope.counter("write_buffer_overflow_total");
    this.bufferBudgetExhausted = scope.counter("buffer_budget_exhausted_total");
    for (const s of COUNTED_STATUSES) this.#byStatus.set(s, scope.counter(`request_${s}_total`));
    this.#otherStatus = scope.counter("request_other_code");
  }

  countStatus(status: number): void {
    (this.#byStatus.get(status) ?? this.#otherStatus).inc();
  }
}
