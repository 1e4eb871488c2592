/**
 * Incremental HTTP/1 message framing over the views `feed()` receives. Shared by the server and client
 * connections, which implement `ReaderOwner`.
 *
 * Bytes are parsed in place. Only a message element cut by a read boundary (a head, a chunk-size line,
 * a trailer section) is copied, into one per-connection accumulation buffer that is reused; body bytes
 * are handed out as views of the caller's buffer. A hook that returns a promise pauses parsing until it
 * settles, and `run()` returns a promise: that is the read backpressure.
 */
import { CR, LF } from "./_chars.ts";

export interface ReaderOwner {
  /** Before a new head is parsed (bytes are waiting): a promise delays parsing (pipelining order). */
  beforeHead(): Promise<void> | undefined;
  /** A complete head in b[start, end). Must set the framing of what follows (or stop the reader). */
  head(b: Uint8Array, start: number, end: number): void | Promise<void>;
  /** Body bytes (or raw tunnel bytes); endStream at the end of a delimited body. */
  data(chunk: Uint8Array, endStream: boolean): void | Promise<void>;
  /** A trailer section in b[start, end) (end past its final CRLF); ends the body. */
  trailers(b: Uint8Array, start: number, end: number): void | Promise<void>;
  /** Malformed input; the reader has stopped. */
  fail(kind: "header_too_large" | "protocol", message: string): void;
}

export const S_HEAD = 0;
const S_BODY = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_END = 4;
const S_TRAILERS = 5;
/** Close-delimited body or tunnel: everything is data. */
export const S_RAW = 6;
export const S_STOPPED = 7;

const MAX_CHUNK_LINE = 4096;
export const EMPTY: Uint8Array = new Uint8Array(0);

export class MessageReader {
  #owner: ReaderOwner;
  #headLimit: number;
  /** Current input: the fed view, or a view of #acc. */
  #in: Uint8Array = EMPTY;
  #pos = 0;
  /** The fed view still to be consumed after #in (when #in is the accumulation buffer). */
  #tail: Uint8Array | null = null;
  #tailPos = 0;
  #acc: Uint8Array = EMPTY;
  #accLen = 0;
  /** Where the head-end search resumes, relative to #pos (avoids rescanning a growing head). */
  #scan = 0;
  #state = S_HEAD;
  #remaining = 0;
  /** Bytes of the next head have been seen (even just empty lines) and the head is not complete yet. */
  #headStarted = false;
  /** Re-enters the loop after a hook's promise; one closure per connection, not per request. */
  #again: () => void | Promise<void>;

  constructor(owner: ReaderOwner, headLimit: number) {
    this.#owner = owner;
    this.#headLimit = headLimit;
    this.#again = () => this.#run();
  }

  get state(): number {
    return this.#state;
  }

  /** Bytes of an incomplete element held across feeds. */
  get buffered(): number {
    return this.#accLen;
  }

  /**
   * The peer has begun sending a head (or trailer section) that is not complete: what a request header
   * timeout measures. Bytes held back by the owner's gate (pipelining) do not count; they were not
   * looked at yet.
   */
  get headStarted(): boolean {
    return this.#headStarted;
  }

  // --- framing set by the owner from head() ---
  bodyLength(n: number): void {
    this.#remaining = n;
    this.#state = n > 0 ? S_BODY : S_HEAD;
  }
  bodyChunked(): void {
    this.#state = S_CHUNK_SIZE;
  }
  /** Everything from here on is data: close-delimited bodies and 101 tunnels. */
  raw(): void {
    if (this.#state !== S_STOPPED) this.#state = S_RAW;
  }
  stop(): void {
    this.#state = S_STOPPED;
    this.#headStarted = false;
    this.#accLen = 0;
    this.#tail = null;
    this.#in = EMPTY;
    this.#pos = 0;
  }

  /** Parses `data`; a returned promise means "do not read again until it settles". */
  feed(data: Uint8Array): void | Promise<void> {
    if (this.#state === S_STOPPED) return;
    if (this.#accLen === 0) {
      this.#in = data;
      this.#pos = 0;
      this.#tail = null;
    } else {
      this.#in = this.#acc.subarray(0, this.#accLen);
      this.#pos = 0;
      this.#accLen = 0;
      this.#tail = data;
      this.#tailPos = 0;
    }
    return this.#run();
  }

  /** Re-runs parsing over bytes already held (e.g. after a gate opened); used by owners. */
  resume(): void | Promise<void> {
    return this.#run();
  }

  #run(): void | Promise<void> {
    for (;;) {
      const b = this.#in;
      const p = this.#pos;
      const e = b.length;
      switch (this.#state) {
        case S_HEAD: {
          if (p === e) {
            if (this.#more(p, 0)) continue;
            return;
          }
          const gate = this.#owner.beforeHead();
          if (gate !== undefined) return gate.then(this.#again);
          if (this.#state !== S_HEAD) continue;
          this.#headStarted = true;
          const end = this.#findEnd(b, p, true);
          if (end === -1) {
            if (this.#more(this.#pos, this.#headLimit)) continue;
            return;
          }
          if (end === -2) return;
          const start = this.#pos;
          this.#pos = end;
          this.#scan = 0;
          this.#headStarted = false;
          const r = this.#owner.head(b, start, end);
          if (r !== undefined) return r.then(this.#again);
          continue;
        }
        case S_BODY: {
          if (p === e) {
            if (this.#more(p, 0)) continue;
            return;
          }
          const avail = e - p;
          const n = avail < this.#remaining ? avail : this.#remaining;
          this.#remaining -= n;
          this.#pos = p + n;
          const done = this.#remaining === 0;
          if (done) this.#state = S_HEAD;
          const r = this.#owner.data(p === 0 && n === e ? b : b.subarray(p, p + n), done);
          if (r !== undefined) return r.then(this.#again);
          continue;
        }
        case S_CHUNK_SIZE: {
          const lf = b.indexOf(LF, p);
          if (lf < 0) {
            if (e - p > MAX_CHUNK_LINE) {
              return this.#fail("protocol", "Cannot accept an overlong chunk-size line");
            }
            if (this.#more(p, MAX_CHUNK_LINE)) continue;
            return;
          }
          const size = chunkSize(b, p, lf);
          if (size < 0) return this.#fail("protocol", "Cannot parse chunk size");
          this.#pos = lf + 1;
          if (size === 0) {
            this.#state = S_TRAILERS;
          } else {
            this.#remaining = size;
            this.#state = S_CHUNK_DATA;
          }
          continue;
        }
        case S_CHUNK_DATA: {
          if (p === e) {
            if (this.#more(p, 0)) continue;
            return;
          }
          const avail = e - p;
          const n = avail < this.#remaining ? avail : this.#remaining;
          this.#remaining -= n;
          this.#pos = p + n;
          if (this.#remaining === 0) this.#state = S_CHUNK_END;
          const r = this.#owner.data(p === 0 && n === e ? b : b.subarray(p, p + n), false);
          if (r !== undefined) return r.then(this.#again);
          continue;
        }
        case S_CHUNK_END: {
          if (e - p < 2) {
            if (e - p === 1 && b[p] !== CR) {
              return this.#fail("protocol", "Cannot find CRLF after chunk data");
            }
            if (this.#more(p, 2)) continue;
            return;
          }
          if (b[p] !== CR || b[p + 1] !== LF) {
            return this.#fail("protocol", "Cannot find CRLF after chunk data");
          }
          this.#pos = p + 2;
          this.#state = S_CHUNK_SIZE;
          continue;
        }
        case S_TRAILERS: {
          if (e - p < 2) {
            if (e - p === 1 && b[p] !== CR && b[p] <= 32) {
              return this.#fail("protocol", "Cannot parse trailers");
            }
            if (this.#more(p, 2)) continue;
            return;
          }
          if (b[p] === CR && b[p + 1] === LF) {
            this.#pos = p + 2;
            this.#state = S_HEAD;
            const r = this.#owner.data(EMPTY, true);
            if (r !== undefined) return r.then(this.#again);
            continue;
          }
          const end = this.#findEnd(b, p, false);
          if (end === -1) {
            if (this.#more(this.#pos, this.#headLimit)) continue;
            return;
          }
          if (end === -2) return;
          this.#pos = end;
          this.#scan = 0;
          this.#state = S_HEAD;
          const r = this.#owner.trailers(b, p, end);
          if (r !== undefined) return r.then(this.#again);
          continue;
        }
        case S_RAW: {
          if (p === e) {
            if (this.#more(p, 0)) continue;
            return;
          }
          this.#pos = e;
          const r = this.#owner.data(p === 0 ? b : b.subarray(p), false);
          if (r !== undefined) return r.then(this.#again);
          continue;
        }
        default:
          return;
      }
    }
  }

  /**
   * Finds the end of a head (or trailer section) starting at p: the index past CRLF CRLF, -1 when more
   * bytes are needed, -2 after failing. Every LF must follow a CR (bare LF is rejected, see mod.ts).
   * Leading empty lines before a request line are skipped (RFC 9112 §2.2).
   */
  #findEnd(b: Uint8Array, p: number, skipEmpty: boolean): number {
    let i = p + this.#scan;
    const limit = this.#headLimit;
    const e = b.length;
    for (;;) {
      // A plain loop, not indexOf: heads are a few short lines, and each builtin call costs more than
      // scanning its line.
      let lf = i;
      while (lf < e && b[lf] !== LF) lf++;
      if (lf === e) {
        if (b.length - p > limit) {
          return this.#fail("header_too_large", "Cannot accept a header section this large"), -2;
        }
        // Resume at the start of the incomplete line: the empty-line test needs line starts.
        this.#scan = i - p;
        return -1;
      }
      if (lf === p || b[lf - 1] !== CR) {
        return this.#fail("protocol", "Cannot accept bare LF as line end"), -2;
      }
      if (lf + 1 - p > limit) {
        return this.#fail("header_too_large", "Cannot accept a header section this large"), -2;
      }
      if (lf - 1 === i) {
        if (i !== p) return lf + 1;
        if (!skipEmpty) return lf + 1;
        // An empty line before the request line.
        p = lf + 1;
        this.#pos = p;
        this.#scan = 0;
        i = p;
        if (p === b.length) return -1;
        continue;
      }
      i = lf + 1;
    }
  }

  /**
   * Needs more bytes than b[p..] holds. Moves the pending fragment to the front of the accumulation
   * buffer and, if the fed view still has bytes, appends just enough of them (up to `limit` for this
   * element) to continue; returns true to continue parsing, false when the call must return.
   */
  #more(p: number, limit: number): boolean {
    const b = this.#in;
    const pending = b.length - p;
    const tail = this.#tail;
    if (tail !== null && this.#tailPos < tail.length) {
      if (pending === 0) {
        // Nothing cut: continue in the fed view itself, no copy.
        this.#in = tail;
        this.#pos = this.#tailPos;
        this.#tail = null;
        this.#acc = EMPTY; // done with it: an idle connection keeps no accumulation memory
        return true;
      }
      let take = tail.length - this.#tailPos;
      const room = limit + 2 - pending;
      if (take > room) take = room > 1 ? room : 1;
      const acc = this.#reserve(pending + take, b, p);
      acc.set(tail.subarray(this.#tailPos, this.#tailPos + take), pending);
      this.#tailPos += take;
      this.#in = acc.subarray(0, pending + take);
      this.#pos = 0;
      return true;
    }
    if (pending > 0) this.#reserve(pending, b, p);
    else this.#acc = EMPTY;
    this.#accLen = pending;
    this.#in = EMPTY;
    this.#pos = 0;
    this.#tail = null;
    return false;
  }

  /** Ensures #acc holds b[p..] at its front with room for `size` bytes. */
  #reserve(size: number, b: Uint8Array, p: number): Uint8Array {
    let acc = this.#acc;
    const fromAcc = b.buffer === acc.buffer && acc.length > 0;
    if (acc.length < size) {
      let cap = acc.length === 0 ? 4096 : acc.length * 2;
      while (cap < size) cap *= 2;
      const grown = new Uint8Array(cap);
      grown.set(b.subarray(p));
      this.#acc = acc = grown;
    } else if (fromAcc) {
      if (p > 0) {
        acc.copyWithin(0, b.byteOffset - acc.byteOffset + p, b.byteOffset - acc.byteOffset + b.length);
      }
    } else {
      acc.set(b.subarray(p));
    }
    return acc;
  }

  #fail(kind: "header_too_large" | "protocol", message: string): void {
    this.stop();
    this.#owner.fail(kind, message);
  }
}

/** Parses "HEX[ext] CR" in b[p, lf); -1 when invalid. Extensions are validated loosely and ignored. */
function chunkSize(b: Uint8Array, p: number, lf: number): number {
  if (b[lf - 1] !== CR || lf - 1 <= p) return -1;
  const end = lf - 1;
  let n = 0;
  let i = p;
  for (; i < end; i++) {
    const c = b[i];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    n = n * 16 + d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  if (i === p) return -1;
  if (i < end) {
    // chunk-ext: BWS ";" ... — any visible or whitespace octets, no CTLs.
    let j = i;
    while (j < end && (b[j] === 32 || b[j] === 9)) j++;
    if (b[j] !== 59) return -1;
    for (; j < end; j++) {
      const c = b[j];
      if ((c < 32 && c !== 9) || c === 127) return -1;
    }
  }
  return n;
}
