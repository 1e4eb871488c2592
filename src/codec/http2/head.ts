import type { RequestHead, RequestKind, ResponseHead } from "../types.ts";
import { Http1Headers } from "../http1/mod.ts";

/**
 * A decoded HTTP/2 request head. Pseudo-header fields are lifted into the head (`:method` → method,
 * `:path` → path and query, `:authority` → host, `:scheme` → scheme); `headers` holds the regular fields
 * only, so a head converts to HTTP/1 as it is (the HTTP/1 encoder writes Host from `host`).
 */
export class Http2RequestHead implements RequestHead {
  method: string;
  path: string;
  query: string;
  host: string;
  readonly headers: Http1Headers;
  /** `:scheme` ("http" or "https"); "" for CONNECT. */
  readonly scheme: string;
  /** `:protocol` of an extended CONNECT (RFC 8441), else undefined. */
  readonly connectProtocol: string | undefined;
  /** `content-type: application/grpc*`: local replies are gRPC statuses. */
  readonly grpc: boolean;
  /** From `grpc-timeout`: caps the route timeout. */
  readonly deadlineMs: number | undefined;
  /** `expect: 100-continue`. */
  readonly expectContinue: boolean;
  /** The declared content-length, or -1. DATA must add up to it (RFC 9113 §8.1.1). */
  readonly contentLength: number;

  constructor(
    method: string,
    path: string,
    query: string,
    host: string,
    headers: Http1Headers,
    scheme: string,
    connectProtocol: string | undefined,
    grpc: boolean,
    deadlineMs: number | undefined,
    expectContinue: boolean,
    contentLength: number,
  ) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.host = host;
    this.headers = headers;
    this.scheme = scheme;
    this.connectProtocol = connectProtocol;
    this.grpc = grpc;
    this.deadlineMs = deadlineMs;
    this.expectContinue = expectContinue;
    this.contentLength = contentLength;
  }

  get protocol(): string {
    return "Http2";
  }

  get kind(): RequestKind {
    return "http";
  }
}

/** A decoded HTTP/2 response head: `:status` lifted out, regular fields in `headers`. */
export class Http2ResponseHead implements ResponseHead {
  status: number;
  readonly headers: Http1Headers;
  /** The declared content-length, or -1. */
  readonly contentLength: number;

  constructor(status: number, headers: Http1Headers = new Http1Headers(), contentLength = -1) {
    this.status = status;
    this.headers = headers;
    this.contentLength = contentLength;
  }
}
