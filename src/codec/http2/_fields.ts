/**
 * Field sections of HTTP/2 heads, validated as RFC 9113 §8.2–§8.3 require while HPACK decodes them: a
 * malformed request or response is a stream error (PROTOCOL_ERROR), never passed on. Each sink collects
 * one block; `reset()` makes it ready for the next, so a connection keeps one of each.
 */
import type { HeaderSink } from "./hpack.ts";
import { Http1Headers } from "../http1/mod.ts";
import { Http2RequestHead, Http2ResponseHead } from "./head.ts";
import { isGrpcContentType, parseGrpcTimeout } from "./_grpc.ts";
import type { HeaderMap } from "../types.ts";

/**
 * Names of fields that arrived as never-indexed literals, per header map: RFC 7541 §7.1.3 has an
 * intermediary re-encode them the same way, so they stay out of every compression context on the path.
 * A WeakMap keeps the maps themselves plain and costs nothing for the (usual) map without such fields.
 */
const neverIndexed = new WeakMap<HeaderMap, Set<string>>();

function markNeverIndexed(headers: HeaderMap, name: string): void {
  let names = neverIndexed.get(headers);
  if (names === undefined) neverIndexed.set(headers, names = new Set());
  names.add(name);
}

/** The names in `headers` that must be encoded as never-indexed literals, if any. */
export function neverIndexedNames(headers: HeaderMap): ReadonlySet<string> | undefined {
  return neverIndexed.get(headers);
}

/**
 * §8.2.1: no character 0x00–0x20, 0x41–0x5a (uppercase) or 0x7f–0xff; a colon only as the first
 * character of a pseudo-header name.
 */
function badName(name: string): boolean {
  const n = name.length;
  if (n === 0) return true;
  for (let i = name.charCodeAt(0) === 58 ? 1 : 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || c === 58) return true;
  }
  return n === 1 && name.charCodeAt(0) === 58;
}

/** §8.2.1: no NUL, CR or LF; no leading or trailing SP/HTAB. */
function badValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  let c = value.charCodeAt(0);
  if (c === 32 || c === 9) return true;
  c = value.charCodeAt(n - 1);
  if (c === 32 || c === 9) return true;
  for (let i = 0; i < n; i++) {
    c = value.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return true;
  }
  return false;
}

/** Why a field's name or value breaks §8.2.1, or undefined. */
function invalidField(name: string, value: string): string | undefined {
  if (badName(name)) return `invalid field name "${name}"`;
  if (badValue(value)) return `invalid value for field "${name}"`;
  return undefined;
}

/** §8.2.2: connection-specific fields make a message malformed (`te` only as "trailers"). */
function connectionSpecific(name: string, value: string): boolean {
  switch (name.length) {
    case 2:
      return name === "te" && value !== "trailers";
    case 7:
      return name === "upgrade";
    case 10:
      return name === "connection" || name === "keep-alive";
    case 16:
      return name === "proxy-connection";
    case 17:
      return name === "transfer-encoding";
    default:
      return false;
  }
}

/** `content-length` digits (§8.1.1), -2 when malformed. Repeated fields must agree. */
function contentLengthOf(value: string, current: number): number {
  if (value.length === 0 || value.length > 15) return -2;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -2;
    n = n * 10 + c;
  }
  return current >= 0 && current !== n ? -2 : n;
}

/** Collects and checks a request's field section (§8.3.1). */
export class RequestFields implements HeaderSink {
  /** Why the request is malformed (first reason), or undefined. */
  error: string | undefined;
  #headers = new Http1Headers();
  #method: string | undefined;
  #scheme: string | undefined;
  #path: string | undefined;
  #authority: string | undefined;
  #protocol: string | undefined;
  #regular = false;
  #contentLength = -1;
  #host: string | undefined;

  reset(): void {
    this.error = undefined;
    this.#headers = new Http1Headers();
    this.#method =
      this.#scheme =
      this.#path =
      this.#authority =
      this.#protocol =
      this.#host =
        undefined;
    this.#regular = false;
    this.#contentLength = -1;
  }

  header(name: string, value: string, sensitive = false): void {
    if (this.error !== undefined) return;
    const invalid = invalidField(name, value);
    if (invalid !== undefined) return this.#fail(invalid);
    if (name.charCodeAt(0) === 58) {
      if (this.#regular) return this.#fail("pseudo-header field after a regular field");
      switch (name) {
        case ":method":
          if (this.#method !== undefined) return this.#fail("duplicate :method");
          if (value === "") return this.#fail("empty :method");
          this.#method = value;
          return;
        case ":scheme":
          if (this.#scheme !== undefined) return this.#fail("duplicate :scheme");
          this.#scheme = value;
          return;
        case ":path":
          if (this.#path !== undefined) return this.#fail("duplicate :path");
          this.#path = value;
          return;
        case ":authority":
          if (this.#authority !== undefined) return this.#fail("duplicate :authority");
          this.#authority = value;
          return;
        case ":protocol":
          if (this.#protocol !== undefined) return this.#fail("duplicate :protocol");
          this.#protocol = value;
          return;
        default:
          return this.#fail(`pseudo-header field ${name} is not one a request has`);
      }
    }
    this.#regular = true;
    if (connectionSpecific(name, value)) return this.#fail(`connection-specific field "${name}"`);
    if (name === "content-length") {
      const n = contentLengthOf(value, this.#contentLength);
      if (n < 0) return this.#fail("invalid content-length");
      this.#contentLength = n;
    } else if (name === "host") {
      if (this.#host !== undefined) return this.#fail("more than one host field");
      this.#host = value;
    }
    this.#headers.add(name, value);
    if (sensitive) markNeverIndexed(this.#headers, name);
  }

  /** The head, or undefined when malformed (`error` says why). */
  build(): Http2RequestHead | undefined {
    if (this.error !== undefined) return undefined;
    const method = this.#method;
    if (method === undefined) return this.#fail("missing :method");
    const authority = this.#authority;
    const host = this.#host;
    // §8.3.1: the Host a request carries must name what :authority names.
    if (authority !== undefined && host !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
      return this.#fail(":authority and host differ");
    }
    let path = this.#path;
    let scheme = this.#scheme;
    if (method === "CONNECT" && this.#protocol === undefined) {
      // §8.5: CONNECT carries :authority only.
      if (scheme !== undefined || path !== undefined) return this.#fail("CONNECT with :scheme or :path");
      if (authority === undefined || authority === "") return this.#fail("CONNECT without :authority");
      path = "";
      scheme = "";
    } else {
      if (this.#protocol !== undefined && method !== "CONNECT") {
        return this.#fail(":protocol without CONNECT");
      }
      if (scheme === undefined || scheme === "") return this.#fail("missing :scheme");
      if (path === undefined || path === "") return this.#fail("missing or empty :path");
      if (path.charCodeAt(0) !== 47 && !(path === "*" && method === "OPTIONS")) {
        if (scheme === "http" || scheme === "https") return this.#fail(":path neither absolute nor '*'");
      }
    }
    const headers = this.#headers;
    const q = path.indexOf("?");
    const query = q < 0 ? "" : path.slice(q);
    if (q >= 0) path = path.slice(0, q);
    if (host === undefined && authority !== undefined) {
      // nothing to do: the head's host carries it; encoders write Host / :authority from it
    } else if (host !== undefined) headers.delete("host"); // the head's host carries it
    const hostValue = (authority ?? host ?? "").toLowerCase();
    const contentType = headers.get("content-type");
    const grpc = isGrpcContentType(contentType);
    const expect = headers.get("expect");
    return new Http2RequestHead(
      method,
      path,
      query,
      hostValue,
      headers,
      scheme,
      this.#protocol,
      grpc,
      grpc ? parseGrpcTimeout(headers.get("grpc-timeout")) : undefined,
      expect !== undefined && expect.toLowerCase() === "100-continue",
      this.#contentLength,
    );
  }

  #fail(why: string): undefined {
    this.error ??= why;
    return undefined;
  }
}

/** Collects and checks a response's field section (§8.3.2). */
export class ResponseFields implements HeaderSink {
  error: string | undefined;
  #headers = new Http1Headers();
  #status = -1;
  #regular = false;
  #contentLength = -1;

  reset(): void {
    this.error = undefined;
    this.#headers = new Http1Headers();
    this.#status = -1;
    this.#regular = false;
    this.#contentLength = -1;
  }

  header(name: string, value: string, sensitive = false): void {
    if (this.error !== undefined) return;
    const invalid = invalidField(name, value);
    if (invalid !== undefined) return this.#fail(invalid);
    if (name.charCodeAt(0) === 58) {
      if (this.#regular) return this.#fail("pseudo-header field after a regular field");
      if (name !== ":status") return this.#fail(`pseudo-header field ${name} is not one a response has`);
      if (this.#status >= 0) return this.#fail("duplicate :status");
      if (value.length !== 3) return this.#fail("invalid :status");
      let s = 0;
      for (let i = 0; i < 3; i++) {
        const c = value.charCodeAt(i) - 48;
        if (c < 0 || c > 9) return this.#fail("invalid :status");
        s = s * 10 + c;
      }
      if (s < 100) return this.#fail("invalid :status");
      this.#status = s;
      return;
    }
    this.#regular = true;
    if (connectionSpecific(name, value)) return this.#fail(`connection-specific field "${name}"`);
    if (name === "content-length") {
      const n = contentLengthOf(value, this.#contentLength);
      if (n < 0) return this.#fail("invalid content-length");
      this.#contentLength = n;
    }
    this.#headers.add(name, value);
    if (sensitive) markNeverIndexed(this.#headers, name);
  }

  build(): Http2ResponseHead | undefined {
    if (this.error !== undefined) return undefined;
    if (this.#status < 0) return this.#fail("missing :status");
    return new Http2ResponseHead(this.#status, this.#headers, this.#contentLength);
  }

  #fail(why: string): undefined {
    this.error ??= why;
    return undefined;
  }
}

/** Collects and checks a trailer section: regular fields only (§8.1). */
export class TrailerFields implements HeaderSink {
  error: string | undefined;
  #headers = new Http1Headers();

  reset(): void {
    this.error = undefined;
    this.#headers = new Http1Headers();
  }

  header(name: string, value: string, sensitive = false): void {
    if (this.error !== undefined) return;
    if (badName(name)) {
      this.error = `invalid field name "${name}"`;
      return;
    }
    if (name.charCodeAt(0) === 58) {
      this.error = "pseudo-header field in trailers";
      return;
    }
    if (badValue(value)) {
      this.error = `invalid value for field "${name}"`;
      return;
    }
    if (connectionSpecific(name, value)) {
      this.error = `connection-specific field "${name}"`;
      return;
    }
    this.#headers.add(name, value);
    if (sensitive) markNeverIndexed(this.#headers, name);
  }

  build(): Http1Headers | undefined {
    return this.error === undefined ? this.#headers : undefined;
  }
}
