/**
 * Output side: encodes heads straight into a per-connection byte buffer and coalesces a held head with
 * the first body bytes into one `io.write`. Strings are written as latin1 (one byte per char) so parsed
 * values round-trip byte-exact; CR, LF and NUL in names/values become spaces so a header value set by a
 * filter can never split the message.
 */
import type { ConnectionIO, HeaderMap } from "../types.ts";
import {
  FORWARD_CLOSE,
  FORWARD_CONTENT_LENGTH,
  FORWARD_HOST,
  FORWARD_UPGRADE,
  Http1Headers,
} from "./headers.ts";

const RESOLVED: Promise<void> = Promise.resolve();
/** The zero-size chunk that ends a chunked body without trailers. */
export const LAST_CHUNK: Uint8Array = new TextEncoder().encode("0\r\n\r\n");

/** Bodies at least this large are written as their own `write` (no copy); smaller ones are copied. */
export const COPY_LIMIT = 16 * 1024;

/**
 * Output memory shared by every HTTP/1 connection: a bump allocator over 64 KiB slabs. Heads are encoded
 * into the current slab and written straight from it; a slab is never rewound, so memory a write still
 * in flight points at is never overwritten, and a full slab is simply replaced (the old one is garbage
 * once its writes completed). A connection therefore owns no output buffer of its own: an idle one holds
 * none, and a new one allocates none (a typed array costs ~0.5-1.5 µs in Deno, more than a head).
 */
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
/** Bytes of `slab` handed out. */
let slabPos = 0;

/**
 * Encodes heads into the shared slab and coalesces a held head with the first body bytes into one
 * `io.write`. Held (encoded, not yet written) bytes are #buf[#start, #end); the writer may extend them in
 * place while nobody allocated after them, and otherwise moves them (a memcpy of a few hundred bytes).
 */
export class Writer {
  #io: ConnectionIO;
  #buf: Uint8Array = slab;
  #start = 0;
  #end = 0;
  /** slabPos right after this writer's last reservation: unchanged means it may extend in place. */
  #reservedTo = -1;

  constructor(io: ConnectionIO) {
    this.#io = io;
  }

  /** Bytes encoded but not yet written (a held head). */
  get held(): number {
    return this.#end - this.#start;
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const held = this.#end - this.#start;
    if (this.#buf === slab && slabPos === this.#reservedTo && this.#end + n <= slab.length) {
      slabPos = this.#reservedTo = this.#end + n; // still the last allocation: grow in place
      return;
    }
    if (slabPos + held + n > slab.length) {
      slab = new Uint8Array(held + n > SLAB_SIZE ? held + n : SLAB_SIZE);
      slabPos = 0;
    }
    const at = slabPos;
    if (held > 0) slab.set(this.#buf.subarray(this.#start, this.#end), at);
    this.#buf = slab;
    this.#start = at;
    this.#end = at + held;
    slabPos = this.#reservedTo = this.#end + n;
  }

  /** Writes a string as latin1. The caller ensured room for s.length bytes. */
  str(s: string): void {
    const b = this.#buf;
    let p = this.#end;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      b[p++] = c === 13 || c === 10 || c === 0 ? 32 : c > 0xff ? 63 : c;
    }
    this.#end = p;
  }

  /**
   * Writes s[from, to) as latin1 without the CR/LF/NUL guard of `str`: only for text the parser
   * validated (forwarded header lines, which carry their own CRLFs). The caller ensured room.
   */
  validated(s: string, from: number, to: number): void {
    const b = this.#buf;
    let p = this.#end;
    for (let i = from; i < to; i++) b[p++] = s.charCodeAt(i);
    this.#end = p;
  }

  bytes(u: Uint8Array): void {
    this.#buf.set(u, this.#end);
    this.#end += u.length;
  }

  byte(c: number): void {
    this.#buf[this.#end++] = c;
  }

  crlf(): void {
    const b = this.#buf;
    b[this.#end] = 13;
    b[this.#end + 1] = 10;
    this.#end += 2;
  }

  /** One header line "name: value\r\n". */
  field(name: string, value: string): void {
    this.ensure(name.length + value.length + 4);
    this.str(name);
    this.byte(58);
    this.byte(32);
    this.str(value);
    this.crlf();
  }

  /** Chunk-size line "HEX\r\n". */
  hex(n: number): void {
    this.ensure(16);
    this.str(n.toString(16));
    this.crlf();
  }

  /**
   * Sends `data` as one chunk of a chunked body, and the last-chunk when `end` (trailer-less). An empty
   * `data` that does not end the body only flushes a held head. Small chunks are copied behind their size
   * line (one write); large ones go out uncopied between it and the trailing CRLF.
   */
  chunk(data: Uint8Array, end: boolean): Promise<void> {
    const n = data.length;
    if (n === 0) {
      if (!end) return this.held > 0 ? this.flush() : RESOLVED;
      this.ensure(5);
      this.bytes(LAST_CHUNK);
      return this.flush();
    }
    this.hex(n);
    if (n < COPY_LIMIT) {
      this.ensure(n + 7);
      this.bytes(data);
    } else {
      void this.flush();
      void this.#io.write(data);
      this.ensure(7);
    }
    this.crlf();
    if (end) this.bytes(LAST_CHUNK);
    return this.flush();
  }

  /** Sends body bytes as they are (Content-Length, close-delimited, tunnel), after any held head. */
  raw(data: Uint8Array): Promise<void> {
    const n = data.length;
    if (this.held > 0 && n < COPY_LIMIT) {
      this.ensure(n);
      this.bytes(data);
      return this.flush();
    }
    if (this.held > 0) return this.flushThen(data);
    return n > 0 ? this.#io.write(data) : RESOLVED;
  }

  /** Writes everything held as one write. */
  flush(): Promise<void> {
    const start = this.#start;
    const end = this.#end;
    if (end === start) return RESOLVED;
    this.#start = end;
    return this.#io.write(this.#buf.subarray(start, end));
  }

  /** Writes held bytes (if any) then `data` uncopied; returns the last write's promise. */
  flushThen(data: Uint8Array): Promise<void> {
    if (this.#end > this.#start) void this.flush().catch(() => {});
    return this.#io.write(data);
  }
}

/** Literal names the encoder compares against (ASCII-lowercase). */
export function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** What writeFields saw among the headers it was given. */
export const seen = { contentLength: false, close: false, upgrade: false, host: false };

const HOP_CONNECTION = 1, HOP_KEEP_ALIVE = 2, HOP_TE = 3, F_CL = 4, F_UPGRADE = 5, F_HOST = 6;

function classify(name: string): number {
  switch (name.length) {
    case 4:
      return nameIs(name, "host") ? F_HOST : 0;
    case 7:
      return nameIs(name, "upgrade") ? F_UPGRADE : 0;
    case 10:
      return nameIs(name, "connection") ? HOP_CONNECTION : nameIs(name, "keep-alive") ? HOP_KEEP_ALIVE : 0;
    case 14:
      return nameIs(name, "content-length") ? F_CL : 0;
    case 17:
      return nameIs(name, "transfer-encoding") ? HOP_TE : 0;
    default:
      return 0;
  }
}

function hasCloseToken(v: string): boolean {
  // Rare path (the proxy strips Connection); a lowercase scan is fine here.
  const l = v.toLowerCase();
  let i = l.indexOf("close");
  while (i >= 0) {
    const before = i === 0 ? 44 : l.charCodeAt(i - 1);
    const after = i + 5 >= l.length ? 44 : l.charCodeAt(i + 5);
    if ((before === 44 || before === 32 || before === 9) && (after === 44 || after === 32 || after === 9)) {
      return true;
    }
    i = l.indexOf("close", i + 5);
  }
  return false;
}

/**
 * Writes the header fields the codec does not own. Connection, Keep-Alive and Transfer-Encoding are
 * connection-level and re-emitted by the codec; a Host field gets `host` when that is non-empty.
 */
export function writeFields(w: Writer, headers: HeaderMap, host: string): void {
  seen.contentLength = false;
  seen.close = false;
  seen.upgrade = false;
  seen.host = false;
  if (headers instanceof Http1Headers) {
    const n = headers.size;
    let i = headers.forwardable(host);
    if (i > 0) {
      // Parsed lines nothing changed go out as they came: the same bytes writeField would produce.
      const src = headers.forwardSource;
      const offs = headers.forwardOffsets;
      for (let r = i * 4; r < offs.length; r += 2) {
        w.ensure(offs[r + 1]! - offs[r]!);
        w.validated(src, offs[r]!, offs[r + 1]!);
      }
      const f = headers.forwardFlags;
      seen.contentLength = (f & FORWARD_CONTENT_LENGTH) !== 0;
      seen.close = (f & FORWARD_CLOSE) !== 0;
      seen.upgrade = (f & FORWARD_UPGRADE) !== 0;
      seen.host = (f & FORWARD_HOST) !== 0;
    }
    for (; i < n; i++) writeField(w, headers.nameAt(i), headers.valueAt(i), host);
  } else {
    headers.forEach((value, name) => writeField(w, name, value, host));
  }
}

function writeField(w: Writer, name: string, value: string, host: string): void {
  switch (classify(name)) {
    case HOP_CONNECTION:
      if (hasCloseToken(value)) seen.close = true;
      return;
    case HOP_KEEP_ALIVE:
    case HOP_TE:
      return;
    case F_CL:
      seen.contentLength = true;
      break;
    case F_UPGRADE:
      seen.upgrade = true;
      break;
    case F_HOST:
      if (seen.host) return;
      seen.host = true;
      if (host !== "") value = host;
      break;
  }
  w.field(name, value);
}

const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  499: "Client Closed Request",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  509: "Bandwidth Limit Exceeded",
};

export function defaultReason(status: number): string {
  return REASONS[status] ?? "";
}

const statusLines = new Map<number, Uint8Array>();

/** "HTTP/1.1 200 OK\r\n" as cached bytes for the default reason phrase. */
export function statusLine(status: number): Uint8Array {
  let l = statusLines.get(status);
  if (l === undefined) {
    const s = "HTTP/1.1 " + status + " " + defaultReason(status) + "\r\n";
    l = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) l[i] = s.charCodeAt(i);
    statusLines.set(status, l);
  }
  return l;
}
