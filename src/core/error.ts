/** Where a proxy failure came from. Drives stats, access-log flags and retry decisions. */
export type ErrorSource = "downstream" | "upstream" | "internal";

/** What went wrong, in MOSN's vocabulary; each kind maps to a local reply code (see `localReplyStatus`). */
export type ErrorKind =
  | "no_route" // 404
  | "no_healthy_upstream" // 502
  | "connect_failure" // 502
  | "upstream_reset" // 502
  | "upstream_protocol_error" // 502
  | "overflow" // 503 (circuit breaker / pending queue)
  | "timeout" // 504
  | "per_try_timeout" // 504
  | "downstream_protocol_error" // 400 (or codec error for RPC)
  | "header_too_large" // 431
  | "body_too_large" // 413
  | "downstream_reset" // client went away
  | "request_timeout" // 408: request header timeout, stream idle timeout
  | "forbidden" // 403
  | "rate_limited" // 509 in MOSN
  | "internal"; // 500

const STATUS: Record<ErrorKind, number> = {
  no_route: 404,
  no_healthy_upstream: 502,
  connect_failure: 502,
  upstream_reset: 502,
  upstream_protocol_error: 502,
  overflow: 503,
  timeout: 504,
  per_try_timeout: 504,
  downstream_protocol_error: 400,
  header_too_large: 431,
  body_too_large: 413,
  downstream_reset: 499,
  request_timeout: 408,
  forbidden: 403,
  rate_limited: 509,
  internal: 500,
};

/** The one error type for proxy failures: kind, source, whether a retry is safe, and the cause. */
export class ProxyError extends Error {
  override readonly name = "ProxyError";
  readonly kind: ErrorKind;
  readonly source: ErrorSource;
  /**
   * True when the request may be sent again automatically, without a retry policy: it provably never
   * reached the upstream's application (connect failure, bytes never left this host), or — decided by
   * the codec that knows the protocol's rules — it is an idempotent HTTP/1 request caught by a kept-alive
   * connection closing under it. A configured retry policy may retry more, within its own rules.
   */
  readonly retryable: boolean;

  constructor(
    kind: ErrorKind,
    source: ErrorSource,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.source = source;
    this.retryable = options.retryable ?? false;
  }

  /** The HTTP status a local reply for this error carries (MOSN's local codes). */
  get status(): number {
    return STATUS[this.kind];
  }
}

/** MOSN's local reply status for an error kind. */
export function localReplyStatus(kind: ErrorKind): number {
  return STATUS[kind];
}
