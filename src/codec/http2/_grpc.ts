/**
 * gRPC over HTTP/2, what the proxy needs of it: telling a gRPC request apart, its deadline, and local
 * replies in gRPC's terms (an HTTP 200 "trailers-only" response whose grpc-status says what failed).
 */
import type { ErrorKind } from "../../core/mod.ts";

/** gRPC status codes meshctl answers with (grpc/doc/statuscodes.md). */
export const GRPC_OK = 0;
export const GRPC_INVALID_ARGUMENT = 3;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  no_route: GRPC_UNIMPLEMENTED,
  no_healthy_upstream: GRPC_UNAVAILABLE,
  connect_failure: GRPC_UNAVAILABLE,
  upstream_reset: GRPC_UNAVAILABLE,
  upstream_protocol_error: GRPC_UNAVAILABLE,
  overflow: GRPC_RESOURCE_EXHAUSTED,
  timeout: GRPC_DEADLINE_EXCEEDED,
  per_try_timeout: GRPC_DEADLINE_EXCEEDED,
  request_timeout: GRPC_DEADLINE_EXCEEDED,
  downstream_protocol_error: GRPC_INTERNAL,
  header_too_large: GRPC_RESOURCE_EXHAUSTED,
  body_too_large: GRPC_RESOURCE_EXHAUSTED,
  downstream_reset: GRPC_UNAVAILABLE,
  forbidden: GRPC_PERMISSION_DENIED,
  rate_limited: GRPC_RESOURCE_EXHAUSTED,
  internal: GRPC_INTERNAL,
};

/** The grpc-status a local reply for `kind` carries. */
export function grpcStatusFor(kind: ErrorKind): number {
  return STATUS_BY_KIND[kind];
}

/** `content-type: application/grpc` or `application/grpc+proto` / `;…` (the gRPC wire spec). */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || value.length < 16) return false;
  if (!value.startsWith("application/grpc")) {
    return value.toLowerCase().startsWith("application/grpc") && grpcSuffixOk(value.toLowerCase());
  }
  return grpcSuffixOk(value);
}

function grpcSuffixOk(v: string): boolean {
  if (v.length === 16) return true;
  const c = v.charCodeAt(16);
  return c === 43 /* + */ || c === 59 /* ; */;
}

/**
 * `grpc-timeout` (TimeoutValue TimeoutUnit: 1–8 digits, then H, M, S, m, u or n) in milliseconds,
 * rounded up so a positive timeout never becomes 0; undefined when absent or malformed (ignored, as
 * gRPC servers do).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value.length - 1;
  if (n < 1 || n > 8) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  switch (value.charCodeAt(n)) {
    case 72: // H
      return v * 3_600_000;
    case 77: // M
      return v * 60_000;
    case 83: // S
      return v * 1000;
    case 109: // m
      return v;
    case 117: // u
      return Math.ceil(v / 1000);
    case 110: // n
      return Math.ceil(v / 1_000_000);
    default:
      return undefined;
  }
}

/** grpc-message is percent-encoded (space and printable ASCII pass, everything else %XX of UTF-8). */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(message)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
