import type { RequestHead, RequestKind, ResponseHead } from "../types.ts";
import { Http1Headers } from "./headers.ts";

/** A decoded HTTP/1 request head plus what the codec learned about framing and the connection. */
export class Http1RequestHead implements RequestHead {
  method: string;
  path: string;
  query: string;
  host: string;
  readonly headers: Http1Headers;
  /** Minor version: 1 for HTTP/1.1 (and 1.x), 0 for HTTP/1.0. */
  readonly minorVersion: number;
  /** The request keeps the connection open (1.1 without `close`, or 1.0 with `keep-alive`). */
  keepAlive: boolean;
  /** The Upgrade header value when Connection lists `upgrade` (e.g. "websocket"); the client codec re-adds both. */
  readonly upgrade: string | undefined;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  readonly expectContinue: boolean;

  constructor(
    method: string,
    path: string,
    query: string,
    host: string,
    headers: Http1Headers = new Http1Headers(),
    minorVersion = 1,
    keepAlive = true,
    upgrade: string | undefined = undefined,
    expectContinue = false,
  ) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.host = host;
    this.headers = headers;
    this.minorVersion = minorVersion;
    this.keepAlive = keepAlive;
    this.upgrade = upgrade;
    this.expectContinue = expectContinue;
  }

  get protocol(): string {
    return "Http1";
  }

  get kind(): RequestKind {
    return "http";
  }
}

/** A decoded (or to-be-encoded) HTTP/1 response head. */
export class Http1ResponseHead implements ResponseHead {
  status: number;
  reason?: string;
  readonly headers: Http1Headers;
  readonly minorVersion: number;

  constructor(status: number, headers: Http1Headers = new Http1Headers(), reason?: string, minorVersion = 1) {
    this.status = status;
    if (reason !== undefined) this.reason = reason;
    this.headers = headers;
    this.minorVersion = minorVersion;
  }
}
