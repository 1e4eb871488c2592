/** Dubbo wire constants (the 16-byte exchange header) and status mappings. */

export const MAGIC_HIGH = 0xda;
export const MAGIC_LOW = 0xbb;

/** magic u16, flag, status, request id u64, body length u32. */
export const HEADER_BYTES = 16;
export const FLAG_OFFSET = 2;
export const STATUS_OFFSET = 3;
export const ID_OFFSET = 4;
export const BODY_LENGTH_OFFSET = 12;

export const FLAG_REQUEST = 0x80;
export const FLAG_TWO_WAY = 0x40;
export const FLAG_EVENT = 0x20;
export const SERIALIZATION_MASK = 0x1f;
export const SERIALIZATION_HESSIAN2 = 2;

export const STATUS_OK = 20;
export const STATUS_CLIENT_TIMEOUT = 30;
export const STATUS_SERVER_TIMEOUT = 31;
export const STATUS_BAD_REQUEST = 40;
export const STATUS_BAD_RESPONSE = 50;
export const STATUS_SERVICE_NOT_FOUND = 60;
export const STATUS_SERVICE_ERROR = 70;
export const STATUS_SERVER_ERROR = 80;
export const STATUS_CLIENT_ERROR = 90;
export const STATUS_THREADPOOL_EXHAUSTED = 100;

/** The first value of a response body (dubbo's RpcResult flag), a hessian2 int. */
export const RESPONSE_WITH_EXCEPTION = 0;
export const RESPONSE_VALUE = 1;
export const RESPONSE_NULL_VALUE = 2;

/** Headers the invocation body fills (MOSN's names): framework version, path, version, method. */
export const HEADER_DUBBO_VERSION = "dubbo";
export const HEADER_SERVICE = "service";
export const HEADER_VERSION = "version";
export const HEADER_METHOD = "method";
export const HEADER_GROUP = "group";
/** An attachment naming the interface; it overrides `service` (the path may be an alias). */
export const HEADER_INTERFACE = "interface";
/** An attachment with the caller's timeout in ms: it caps the route timeout (`deadlineMs`). */
export const HEADER_TIMEOUT = "timeout";

/**
 * Dubbo status → the HTTP-like status stats, access logs and retry policies read. Each status maps to
 * the HTTP status of the same meaning for the caller:
 * - 20 OK → 200. A service's own exception also travels as 20 (RESPONSE_WITH_EXCEPTION in the body,
 *   which meshctl does not decode), so it stays 200: a `5xx` retry policy must not re-run a call that
 *   ran and threw.
 * - 30/31 client/server timeout → 504, as bolt TIMEOUT;
 * - 40 bad request → 400: the caller's fault, never worth a retry;
 * - 60 service not found → 404: the inverse of MOSN's no-route (404 → 60);
 * - 100 thread pool exhausted → 503: overload, as bolt THREADPOOL_BUSY;
 * - anything else (50 bad response, 70 service error, 80 server error, 90 client error) → 500.
 */
export function dubboStatusToHttp(status: number): number {
  switch (status) {
    case STATUS_OK:
      return 200;
    case STATUS_CLIENT_TIMEOUT:
    case STATUS_SERVER_TIMEOUT:
      return 504;
    case STATUS_BAD_REQUEST:
      return 400;
    case STATUS_SERVICE_NOT_FOUND:
      return 404;
    case STATUS_THREADPOOL_EXHAUSTED:
      return 503;
    default:
      return 500;
  }
}

/**
 * A local (HTTP-like, MOSN) code → the dubbo status of meshctl's own replies: MOSN's table
 * (protocols.md), codes it does not name → 70 SERVICE_ERROR as MOSN's fallback.
 */
export function httpToDubboStatus(code: number): number {
  switch (code) {
    case 200:
      return STATUS_OK;
    case 403:
      return STATUS_SERVER_ERROR;
    case 404:
    case 502:
      return STATUS_SERVICE_NOT_FOUND;
    case 503:
    case 509:
      return STATUS_BAD_REQUEST;
    case 504:
      return STATUS_CLIENT_TIMEOUT;
    default:
      // 0 codec exception, 2 unknown, 3 deserialize exception, 500, and everything MOSN does not define.
      return STATUS_SERVICE_ERROR;
  }
}
