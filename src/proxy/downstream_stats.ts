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
    for (const s of COUNTED_STATUSES) this.#byStatus.set(s, scope.counter(`request_${s}_total`));
    this.#otherStatus = scope.counter("request_other_code");
  }

  countStatus(status: number): void {
    (this.#byStatus.get(status) ?? this.#otherStatus).inc();
  }
}
