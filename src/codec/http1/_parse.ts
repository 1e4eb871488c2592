/**
 * Head parsing over bytes. The caller has found the head's end (the byte after CRLF CRLF) and checked
 * that every LF is preceded by CR. One pass validates and records offsets, then the head is decoded to
 * one string and fields are sliced from it (cheaper than decoding each field separately).
 */
import { COLON, CR, decodeLatin1, eqLower, FIELD_VALUE, HTAB, LF, lit, SP, TOKEN } from "./_chars.ts";
import {
  FORWARD_CLOSE,
  FORWARD_CONTENT_LENGTH,
  FORWARD_HOST,
  FORWARD_UPGRADE,
  Http1Headers,
} from "./headers.ts";
import { Http1RequestHead, Http1ResponseHead } from "./head.ts";

/** What the parser learned besides the head; a module singleton read right after each parse call. */
export interface ParseInfo {
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** Connection tokens. */
  close: boolean;
  keepAlive: boolean;
  upgrade: boolean;
  /**
   * A field `stripHopByHop` would remove or has to look at: Trailer, Proxy-Connection, Upgrade, TE, or a
   * Connection token other than close / keep-alive. False (the common case) lets the codec skip it.
   */
  hopByHop: boolean;
  /** Set when parsing failed. */
  error: "" | "header_too_large" | "protocol";
  message: string;
}

export const info: ParseInfo = {
  contentLength: -1,
  chunked: false,
  close: false,
  keepAlive: false,
  upgrade: false,
  hopByHop: false,
  error: "",
  message: "",
};

const L_HOST = lit("host");
const L_EXPECT = lit("expect");
const L_UPGRADE = lit("upgrade");
const L_CONNECTION = lit("connection");
const L_CONTENT_LENGTH = lit("content-length");
const L_TRANSFER_ENCODING = lit("transfer-encoding");
const L_CHUNKED = lit("chunked");
const L_CLOSE = lit("close");
const L_KEEP_ALIVE = lit("keep-alive");
const L_100_CONTINUE = lit("100-continue");
const L_TRAILER = lit("trailer");
const L_PROXY_CONNECTION = lit("proxy-connection");
const L_TE = lit("te");

// Known-header slots found during the field scan.
const K_NONE = 0,
  K_HOST = 1,
  K_EXPECT = 2,
  K_UPGRADE = 3,
  K_CONNECTION = 4,
  K_CL = 5,
  K_TE = 6,
  K_KEEP_ALIVE = 7,
  K_HOP_BY_HOP = 8;

function known(b: Uint8Array, p: number, len: number): number {
  switch (len) {
    case 2:
      return eqLower(b, p, L_TE) ? K_HOP_BY_HOP : K_NONE;
    case 4:
      return eqLower(b, p, L_HOST) ? K_HOST : K_NONE;
    case 6:
      return eqLower(b, p, L_EXPECT) ? K_EXPECT : K_NONE;
    case 7:
      return eqLower(b, p, L_UPGRADE) ? K_UPGRADE : eqLower(b, p, L_TRAILER) ? K_HOP_BY_HOP : K_NONE;
    case 10:
      return eqLower(b, p, L_CONNECTION) ? K_CONNECTION : eqLower(b, p, L_KEEP_ALIVE) ? K_KEEP_ALIVE : K_NONE;
    case 14:
      return eqLower(b, p, L_CONTENT_LENGTH) ? K_CL : K_NONE;
    case 16:
      return eqLower(b, p, L_PROXY_CONNECTION) ? K_HOP_BY_HOP : K_NONE;
    case 17:
      return eqLower(b, p, L_TRANSFER_ENCODING) ? K_TE : K_NONE;
    default:
      return K_NONE;
  }
}

/** Offsets of names/values: [nameStart, nameEnd, valueStart, valueEnd] per field. Grown on demand. */
let offs = new Int32Array(64 * 4);
// Positions (field index) of the singular headers the request parser needs as strings.
let hostIdx = -1;
let upgradeIdx = -1;
let expectContinue = false;
/**
 * What the last scan learned for forwarding the field lines as received (Http1Headers `forwardable`):
 * the FORWARD_* bits of what they hold, or -1 when some line is not in the encoder's own form
 * ("name: value" with one space, no trailing whitespace) or a duplicate Content-Length was folded.
 */
let forwardFlags = 0;
/** [start, end) byte offsets of the runs of lines outside the codec-owned fields, runCount pairs. */
let runs = new Int32Array(8 * 2);
let runCount = 0;

function fail(kind: "header_too_large" | "protocol", message: string): null {
  info.error = kind;
  info.message = message;
  return null;
}

function reset(): void {
  info.contentLength = -1;
  info.chunked = false;
  info.close = false;
  info.keepAlive = false;
  info.upgrade = false;
  info.hopByHop = false;
  info.error = "";
  info.message = "";
  hostIdx = -1;
  upgradeIdx = -1;
  expectContinue = false;
  forwardFlags = 0;
  runCount = 0;
}

function addRun(start: number, end: number): void {
  if (start === end) return;
  const o = runCount * 2;
  if (o + 2 > runs.length) {
    const g = new Int32Array(runs.length * 2);
    g.set(runs);
    runs = g;
  }
  runs[o] = start;
  runs[o + 1] = end;
  runCount++;
}

/** Parses a decimal Content-Length value in [p, e); -2 when invalid. */
function parseLength(b: Uint8Array, p: number, e: number): number {
  if (p === e) return -2;
  let n = 0;
  for (let i = p; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return -2;
    n = n * 10 + d;
    if (n > Number.MAX_SAFE_INTEGER) return -2;
  }
  return n;
}

/** Scans comma-separated Connection tokens in [p, e). */
function connectionTokens(b: Uint8Array, p: number, e: number): void {
  let i = p;
  while (i < e) {
    while (i < e && (b[i] === SP || b[i] === HTAB || b[i] === 44)) i++;
    const s = i;
    while (i < e && b[i] !== 44 && b[i] !== SP && b[i] !== HTAB) i++;
    const len = i - s;
    if (len === 5 && eqLower(b, s, L_CLOSE)) info.close = true;
    else if (len === 10 && eqLower(b, s, L_KEEP_ALIVE)) info.keepAlive = true;
    else if (len > 0) {
      // Any other token names a header to drop (upgrade: the Upgrade header stays only on an upgrade).
      info.hopByHop = true;
      if (len === 7 && eqLower(b, s, L_UPGRADE)) info.upgrade = true;
    }
  }
}

/**
 * Scans header field lines in [p, end - 2) (end is just past the final CRLF), filling `offs`.
 * Returns the field count, or -1 on error (info.error set). `ascii` accumulates in `high`.
 */
let high = 0;
function scanFields(b: Uint8Array, p: number, end: number, maxHeaders: number): number {
  let n = 0;
  const last = end - 2;
  let sawTe = false;
  /** Start of the run of forwardable lines being collected, -1 after a codec-owned line. */
  let runStart = p;
  while (p < last) {
    const c0 = b[p];
    if (c0 === SP || c0 === HTAB) return fail("protocol", "Cannot accept obs-fold header line"), -1;
    let q = p;
    while (TOKEN[b[q]] === 1) q++;
    if (q === p || b[q] !== COLON) {
      const c = b[q];
      return fail(
        "protocol",
        q === p
          ? "Cannot parse header line without a name"
          : c === SP || c === HTAB
          ? "Cannot accept whitespace between header name and colon"
          : "Cannot accept invalid character in header name",
      ),
        -1;
    }
    let v = q + 1;
    while (b[v] === SP || b[v] === HTAB) v++;
    let ve = v;
    let c = b[ve];
    let h = 0;
    while (c !== CR) {
      if (FIELD_VALUE[c] === 0) {
        return fail("protocol", "Cannot accept control character in header value"), -1;
      }
      h |= c;
      c = b[++ve];
    }
    if (b[ve + 1] !== LF) return fail("protocol", "Cannot accept bare CR in header section"), -1;
    const next = ve + 2;
    const cr = ve;
    while (ve > v && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
    if (ve !== cr || v !== q + 2 || b[q + 1] !== SP) forwardFlags = -1;
    high |= h;
    if (n >= maxHeaders) {
      return fail("header_too_large", "Cannot accept more than " + maxHeaders + " headers"), -1;
    }
    const o = n * 4;
    if (o + 4 > offs.length) {
      const g = new Int32Array(offs.length * 2);
      g.set(offs);
      offs = g;
    }
    offs[o] = p;
    offs[o + 1] = q;
    offs[o + 2] = v;
    offs[o + 3] = ve;
    const kind = known(b, p, q - p);
    if (kind === K_CONNECTION || kind === K_TE || kind === K_KEEP_ALIVE) {
      // The encoder writes its own framing and connection fields: these lines are not forwarded.
      if (runStart >= 0) addRun(runStart, p);
      runStart = -1;
    } else if (runStart < 0) {
      runStart = p;
    }
    switch (kind) {
      case K_HOST:
        if (hostIdx >= 0) return fail("protocol", "Cannot accept more than one Host header"), -1;
        hostIdx = n;
        if (forwardFlags >= 0) forwardFlags |= FORWARD_HOST;
        break;
      case K_EXPECT:
        if (ve - v === 12 && eqLower(b, v, L_100_CONTINUE)) expectContinue = true;
        break;
      case K_HOP_BY_HOP:
        info.hopByHop = true;
        break;
      case K_UPGRADE:
        upgradeIdx = n;
        info.hopByHop = true;
        if (forwardFlags >= 0) forwardFlags |= FORWARD_UPGRADE;
        break;
      case K_CONNECTION:
        connectionTokens(b, v, ve);
        break;
      case K_CL: {
        const len = parseLength(b, v, ve);
        if (len === -2) return fail("protocol", "Cannot parse Content-Length value"), -1;
        if (info.contentLength >= 0 && info.contentLength !== len) {
          return fail("protocol", "Cannot accept differing Content-Length headers"), -1;
        }
        if (info.contentLength === len) {
          // Identical duplicate: fold it away so only one is forwarded (so the lines cannot be).
          n--;
          forwardFlags = -1;
        }
        info.contentLength = len;
        if (forwardFlags >= 0) forwardFlags |= FORWARD_CONTENT_LENGTH;
        break;
      }
      case K_TE:
        if (sawTe || ve - v !== 7 || !eqLower(b, v, L_CHUNKED)) {
          return fail("protocol", "Cannot accept Transfer-Encoding other than a single chunked coding"), -1;
        }
        sawTe = true;
        info.chunked = true;
        break;
    }
    n++;
    p = next;
  }
  if (info.chunked && info.contentLength >= 0) {
    return fail("protocol", "Cannot accept both Content-Length and Transfer-Encoding"), -1;
  }
  if (runStart >= 0) addRun(runStart, last);
  if (info.close && forwardFlags >= 0) forwardFlags |= FORWARD_CLOSE;
  return n;
}

/** Spare slots for headers the proxy adds (X-Forwarded-For/-Proto, route additions) without regrowing. */
const HEADER_HEADROOM = 4;

/**
 * The head's fields as lazy Http1Headers over `str` (the head decoded from byte `base`): offsets of each
 * field, then the forwardable runs, all relative to `str`.
 */
function lazyHeaders(str: string, base: number, n: number): Http1Headers {
  const f = n * 4;
  const offsets = new Array<number>(f + runCount * 2);
  for (let i = 0; i < f; i++) offsets[i] = offs[i] - base;
  for (let i = 0; i < runCount * 2; i++) offsets[f + i] = runs[i] - base;
  return Http1Headers.lazy(str, offsets, n, HEADER_HEADROOM, forwardFlags, hostIdx);
}

function buildHeaders(str: string, base: number, n: number): Http1Headers {
  const names = new Array<string>(n + HEADER_HEADROOM);
  const values = new Array<string>(n + HEADER_HEADROOM);
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    names[i] = str.slice(offs[o] - base, offs[o + 1] - base);
    values[i] = str.slice(offs[o + 2] - base, offs[o + 3] - base);
  }
  return Http1Headers.fromArrays(names, values, n);
}

/** Common methods as constants so the hot path does not slice them. */
function methodString(b: Uint8Array, p: number, len: number, str: string, base: number): string {
  if (len === 3 && b[p] === 71 && b[p + 1] === 69 && b[p + 2] === 84) return "GET";
  if (len === 4 && b[p] === 80 && b[p + 1] === 79 && b[p + 2] === 83 && b[p + 3] === 84) return "POST";
  return str.slice(p - base, p - base + len);
}

/** Parses "HTTP/1.x" at p; returns the minor digit or -1. */
function version(b: Uint8Array, p: number): number {
  if (b[p] !== 72 || b[p + 1] !== 84 || b[p + 2] !== 84 || b[p + 3] !== 80) return -1;
  if (b[p + 4] !== 47 || b[p + 5] !== 49 || b[p + 6] !== 46) return -1;
  const m = b[p + 7] - 48;
  return m >= 0 && m <= 9 ? m : -1;
}

/** Parses a request head in b[start, end). Returns null with info.error set on failure. */
export function parseRequestHead(
  b: Uint8Array,
  start: number,
  end: number,
  maxHeaders: number,
): Http1RequestHead | null {
  reset();
  high = 0;
  let p = start;
  while (TOKEN[b[p]] === 1) p++;
  const methodLen = p - start;
  if (methodLen === 0 || b[p] !== SP) return fail("protocol", "Cannot parse request method");
  const t = p + 1;
  let q = -1;
  let i = t;
  let c = b[i];
  // request-target: any visible octet (obs-text tolerated as latin1); CTL, SP and DEL end or reject it.
  while (c > SP && c !== 0x7f) {
    if (c === 63 && q < 0) q = i;
    high |= c;
    c = b[++i];
  }
  if (i === t || c !== SP) return fail("protocol", "Cannot parse request target");
  const minor = version(b, i + 1);
  if (minor < 0 || b[i + 9] !== CR || b[i + 10] !== LF) return fail("protocol", "Cannot parse HTTP version");
  const n = scanFields(b, i + 11, end, maxHeaders);
  if (n < 0) return null;

  const str = decodeLatin1(b, start, end - 2, (high & 0x80) === 0);
  const method = methodString(b, start, methodLen, str, start);
  const te = q < 0 ? i : q;
  let path: string;
  const query = q < 0 ? "" : str.slice(q - start, i - start);
  let host = hostIdx >= 0 ? str.slice(offs[hostIdx * 4 + 2] - start, offs[hostIdx * 4 + 3] - start) : "";
  if (b[t] === 47) {
    path = te - t === 1 ? "/" : str.slice(t - start, te - start);
  } else if (te - t === 1 && b[t] === 42) {
    if (method !== "OPTIONS") {
      return fail("protocol", "Cannot accept asterisk-form target except for OPTIONS");
    }
    path = "*";
  } else if (method === "CONNECT") {
    // authority-form: the host is the target; after a 2xx the connection is the tunnel (server.ts).
    host = str.slice(t - start, te - start);
    path = "";
  } else {
    // absolute-form (RFC 9112 §3.2.2): the target's authority replaces Host.
    const target = str.slice(t - start, te - start);
    const scheme = target.indexOf("://");
    if (scheme <= 0 || !isScheme(target, scheme)) return fail("protocol", "Cannot parse request target");
    let slash = target.indexOf("/", scheme + 3);
    if (slash < 0) slash = target.length;
    host = target.slice(scheme + 3, slash);
    path = slash === target.length ? "/" : target.slice(slash);
    if (host.indexOf("@") >= 0) return fail("protocol", "Cannot accept userinfo in request target");
  }
  if (hostIdx < 0 && minor >= 1 && path !== "" && b[t] === 47) {
    return fail("protocol", "Cannot accept an HTTP/1.1 request without Host");
  }
  if (info.chunked && minor === 0) return fail("protocol", "Cannot accept Transfer-Encoding in HTTP/1.0");
  const headers = lazyHeaders(str, start, n);
  const keepAlive = minor >= 1 ? !info.close : info.keepAlive && !info.close;
  const upgrade = info.upgrade && upgradeIdx >= 0 ? headers.valueAt(upgradeIdx) : undefined;
  return new Http1RequestHead(
    method,
    path,
    query,
    host.length === 0 ? "" : host.toLowerCase(),
    headers,
    minor,
    keepAlive,
    upgrade,
    expectContinue && minor >= 1,
  );
}

function isScheme(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (
      !((c >= 97 && c <= 122) || (i > 0 && (c === 0x2b || c === 0x2d || c === 0x2e || (c >= 48 && c <= 57))))
    ) {
      return false;
    }
  }
  return true;
}

/** Parses a response head in b[start, end). Returns null with info.error set on failure. */
export function parseResponseHead(
  b: Uint8Array,
  start: number,
  end: number,
  maxHeaders: number,
): Http1ResponseHead | null {
  reset();
  high = 0;
  const minor = version(b, start);
  if (minor < 0 || b[start + 8] !== SP) return fail("protocol", "Cannot parse response status line");
  const d0 = b[start + 9] - 48, d1 = b[start + 10] - 48, d2 = b[start + 11] - 48;
  if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
    return fail("protocol", "Cannot parse status code");
  }
  const status = d0 * 100 + d1 * 10 + d2;
  let p = start + 12;
  let r = p;
  if (b[p] === SP) {
    r = ++p;
    let c = b[p];
    while (c !== CR) {
      if (FIELD_VALUE[c] === 0) return fail("protocol", "Cannot accept control character in reason phrase");
      high |= c;
      c = b[++p];
    }
  }
  if (b[p] !== CR || b[p + 1] !== LF) return fail("protocol", "Cannot parse response status line");
  const n = scanFields(b, p + 2, end, maxHeaders);
  if (n < 0) return null;
  if (info.chunked && minor === 0) return fail("protocol", "Cannot accept Transfer-Encoding in HTTP/1.0");
  const str = decodeLatin1(b, start, end - 2, (high & 0x80) === 0);
  const headers = lazyHeaders(str, start, n);
  const reason = p > r ? str.slice(r - start, p - start) : undefined;
  return new Http1ResponseHead(status, headers, reason, minor);
}

/** Parses the trailer section in b[start, end) (end just past the final CRLF) into headers. */
export function parseTrailers(
  b: Uint8Array,
  start: number,
  end: number,
  maxHeaders: number,
): Http1Headers | null {
  reset();
  high = 0;
  const n = scanFields(b, start, end, maxHeaders);
  if (n < 0) return null;
  // Framing headers mean nothing in trailers (RFC 9110 §6.5.1); they are kept as plain fields.
  info.contentLength = -1;
  info.chunked = false;
  const str = decodeLatin1(b, start, end - 2, (high & 0x80) === 0);
  return buildHeaders(str, start, n);
}
