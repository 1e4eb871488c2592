/**
 * HPACK (RFC 7541): header compression for HTTP/2, one `HpackDecoder` and one `HpackEncoder` per
 * connection (each direction has its own dynamic table).
 *
 * Strings are latin1, one char per octet, as in the HTTP/1 codec: decoding then re-encoding gives back the
 * same octets, and a string's length is its octet length for the table and header-list size accounting.
 *
 * Decoding hands each field to a `HeaderSink` as it is decoded, so the codec fills its header map
 * directly. Two errors, two meanings:
 * - `CompressionError`: the block is malformed (or a limit of the HPACK format itself is exceeded); the
 *   decoder's state is unknown from then on and the connection must end with COMPRESSION_ERROR.
 * - `HeaderListTooLargeError`: the block was fully decoded, so the dynamic table is in sync with the peer,
 *   but the fields exceed SETTINGS_MAX_HEADER_LIST_SIZE (or the per-string limit). The sink stopped
 *   receiving fields once the limit was passed; the codec discards the ones it got and answers the stream
 *   (431, or RST_STREAM), keeping the connection.
 *
 * Limits are checked on lengths before any string is made: a block of 1-byte references to a large
 * dynamic-table entry (an "HPACK bomb") costs one addition per reference after the limit.
 *
 * @module
 */

import { huffmanDecode, huffmanDecodeRoom, huffmanEncode, huffmanEncodedLength } from "./_hpack_huffman.ts";
import {
  DynamicTable,
  ENTRY_OVERHEAD,
  STATIC_BY_NAME,
  STATIC_LENGTH,
  STATIC_NAMES,
  STATIC_VALUES,
} from "./_hpack_table.ts";

/** The decoded block violates RFC 7541; the connection must end with COMPRESSION_ERROR. */
export class CompressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CompressionError";
  }
}

/**
 * The decoded header list (or one of its strings) is larger than allowed. The block was decoded to its
 * end, so HPACK state is intact: reject the stream, not the connection.
 */
export class HeaderListTooLargeError extends Error {
  /** Size reached (name + value + 32 per field; for a single string, its length). */
  readonly size: number;
  /** The limit it exceeded. */
  readonly limit: number;

  constructor(message: string, size: number, limit: number) {
    super(message);
    this.name = "HeaderListTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/** Receives decoded fields in block order. */
export interface HeaderSink {
  /**
   * `neverIndexed`: the peer sent the field as a never-indexed literal (RFC 7541 §7.1.3); a proxy
   * re-encoding it must keep it so (`HpackEncoder.field(name, value, "never")`).
   */
  header(name: string, value: string, neverIndexed: boolean): void;
}

/** Largest integer a representation may carry (RFC 7541 §5.1 lets implementations bound them). */
const MAX_INT = 0x7fffffff;
/** Default of SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** Same as the HTTP/1 codec's header section limit. */
const DEFAULT_MAX_HEADER_LIST_SIZE = 65536;

export interface HpackDecoderOptions {
  /**
   * The table size in force from the first block: the limit for size updates and the table's starting
   * size. Both endpoints start from 4096 whatever SETTINGS say, so a codec announcing a smaller
   * SETTINGS_HEADER_TABLE_SIZE keeps the default here and calls `setMaxTableSize` once it is acknowledged.
   * @default {4096}
   */
  maxTableSize?: number;
  /**
   * SETTINGS_MAX_HEADER_LIST_SIZE: the most the decoded fields may add up to (name + value + 32 each).
   * @default {65536}
   */
  maxHeaderListSize?: number;
  /** Longest name or value accepted, in octets. @default {the header list limit} */
  maxStringLength?: number;
}

function checkSize(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_INT) {
    throw new RangeError(`Cannot set ${what} to ${n}: it must be an integer from 0 to ${MAX_INT}`);
  }
  return n;
}

// Huffman output of long strings goes to one buffer shared by every decoder (decoding is synchronous): a
// name's octets from 0, the value's right after. It grows to SCRATCH_KEEP at most; a larger string (its
// decoded size is at most 8/5 of octets the codec already holds) gets a buffer of its own.
const SCRATCH_KEEP = 65536;
let scratch = new Uint8Array(1024);

function scratchFor(needed: number): Uint8Array {
  if (needed > SCRATCH_KEEP) return new Uint8Array(needed);
  if (scratch.length < needed) {
    let n = scratch.length * 2;
    while (n < needed) n *= 2;
    scratch = new Uint8Array(n);
  }
  return scratch;
}

const utf8 = new TextDecoder();

// Interned short strings, keyed by their encoded octets and coding (raw or Huffman): names and values
// repeat across blocks and connections, so a repeated literal costs a hash and a compare, with no Huffman
// decoding and no allocation, and every connection's table shares one "application/grpc". Direct-mapped
// by an FNV-1a hash; the octets are kept in one flat buffer.
const INTERN_SLOTS = 1024;
/** Longest encoded literal interned; decoded, at most 8/5 of it. */
const INTERN_MAX = 48;
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX);
/** Encoded length, plus 0x100 for Huffman; -1 when empty. */
const internKey = new Int32Array(INTERN_SLOTS).fill(-1);
const internStr: string[] = new Array<string>(INTERN_SLOTS).fill("");
const shortScratch = new Uint8Array(huffmanDecodeRoom(INTERN_MAX));
// Char codes for String.fromCharCode.apply, one array per length: ~2x faster than applying it to a
// typed-array view (which is allocated, then read through generically).
const charArrays: number[][] = Array.from(
  { length: shortScratch.length + 1 },
  (_, n) => new Array<number>(n).fill(0),
);

function stringOf(b: Uint8Array, start: number, n: number): string {
  const chars = charArrays[n]!;
  for (let i = 0; i < n; i++) chars[i] = b[start + i]!;
  return String.fromCharCode.apply(null, chars);
}

/**
 * The string of the literal `b[start, end)` of at most INTERN_MAX octets, Huffman-coded when `huffman`;
 * undefined when its Huffman data is invalid.
 */
function shortString(b: Uint8Array, start: number, end: number, huffman: boolean): string | undefined {
  const n = end - start;
  const key = huffman ? n | 0x100 : n;
  let h = huffman ? 0x050c5d1f : 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const base = slot * INTERN_MAX;
  if (internKey[slot] === key) {
    let k = 0;
    while (k < n && internBytes[base + k] === b[start + k]) k++;
    if (k === n) return internStr[slot]!;
  }
  let s: string;
  if (huffman) {
    const len = huffmanDecode(b, start, end, shortScratch, 0);
    if (len < 0) return undefined;
    s = stringOf(shortScratch, 0, len);
  } else {
    s = stringOf(b, start, n);
  }
  for (let k = 0; k < n; k++) internBytes[base + k] = b[start + k]!;
  internKey[slot] = key;
  internStr[slot] = s;
  return s;
}

/** The latin1 string of `b[start, end)` (long strings: not interned). */
function latin1(b: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (b[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  // UTF-8 decoding of ASCII is a native copy; octets ≥ 0x80 need fromCharCode (TextDecoder("latin1") is
  // windows-1252).
  if (ascii) return utf8.decode(b.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(i + 4096, end)) as unknown as number[]);
  }
  return s;
}

/**
 * Decodes header blocks (RFC 7541 §3) against this connection's dynamic table.
 *
 * `setMaxTableSize` must be called with our SETTINGS_HEADER_TABLE_SIZE once the peer acknowledged it;
 * when that is below the table's current size, the next block must start with a size update that honours
 * it (§4.2).
 */
export class HpackDecoder {
  #table: DynamicTable;
  #limit: number;
  /** The size an update in the next block must go down to, or -1 when no update is owed. */
  #owed = -1;
  #maxList: number;
  #maxString: number;
  #broken = false;
  // Results of the helpers: position after the item read; a short string, or where a long one's octets are.
  #p = 0;
  #str: string | undefined;
  #sb: Uint8Array = scratch;
  #ss = 0;
  // Per block.
  #listSize = 0;
  #tooLarge = 0; // 0, or TOO_LARGE_LIST / TOO_LARGE_STRING
  #tooLargeString = 0;

  constructor(options: HpackDecoderOptions = {}) {
    this.#limit = checkSize("maxTableSize", options.maxTableSize ?? DEFAULT_TABLE_SIZE);
    this.#table = new DynamicTable(this.#limit);
    this.#maxList = checkSize("maxHeaderListSize", options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE);
    this.#maxString = checkSize("maxStringLength", options.maxStringLength ?? this.#maxList);
  }

  /** The dynamic table (read it only: for tests and debugging). */
  get table(): DynamicTable {
    return this.#table;
  }

  /** Applies an acknowledged SETTINGS_HEADER_TABLE_SIZE. */
  setMaxTableSize(size: number): void {
    this.#limit = checkSize("maxTableSize", size);
    if (size < this.#table.maxSize && (this.#owed < 0 || size < this.#owed)) this.#owed = size;
  }

  /** Changes SETTINGS_MAX_HEADER_LIST_SIZE for the blocks decoded from now on. */
  setMaxHeaderListSize(size: number): void {
    this.#maxList = checkSize("maxHeaderListSize", size);
  }

  /**
   * Decodes the header block `block[start, end)` (the concatenated fragments of HEADERS/PUSH_PROMISE and
   * CONTINUATION frames), calling `sink.header(name, value)` for each field in order.
   *
   * @throws {CompressionError} the block is invalid; every later call throws too
   * @throws {HeaderListTooLargeError} the fields exceed a limit; the table is in sync, decoding can go on
   */
  decode(block: Uint8Array, start: number, end: number, sink: HeaderSink): void {
    if (this.#broken) throw new CompressionError("Cannot decode after a compression error");
    if (!(start >= 0 && start <= end && end <= block.length)) {
      throw new RangeError(`Cannot decode [${start}, ${end}) of a block of ${block.length} octets`);
    }
    // Stays set if anything below throws: the table may have taken part of the block.
    this.#broken = true;
    this.#listSize = 0;
    this.#tooLarge = 0;
    const table = this.#table;
    let p = start;
    let first = true;
    while (p < end) {
      const c = block[p]!;
      if (c >= 0x80) {
        // Indexed field (§6.1).
        let idx = c & 0x7f;
        p++;
        if (idx === 0x7f) {
          idx = this.#intRest(block, p, end, idx);
          p = this.#p;
        }
        if (first) first = this.#firstField();
        let name: string;
        let value: string;
        if (idx <= STATIC_LENGTH) {
          if (idx === 0) throw new CompressionError("Cannot decode index 0");
          name = STATIC_NAMES[idx]!;
          value = STATIC_VALUES[idx]!;
        } else {
          const i = idx - STATIC_LENGTH - 1;
          if (i >= table.length) throw this.#badIndex(idx);
          name = table.name(i);
          value = table.value(i);
        }
        const size = (this.#listSize += name.length + value.length + ENTRY_OVERHEAD);
        if (size <= this.#maxList && this.#tooLarge === 0) sink.header(name, value, false);
        else this.#tooLarge |= TOO_LARGE_LIST;
      } else if (c >= 0x40) {
        // Literal with incremental indexing (§6.2.1), 6-bit name index.
        if (first) first = this.#firstField();
        p = this.#literal(block, p, end, 0x3f, true, sink);
      } else if (c >= 0x20) {
        // Dynamic table size update (§6.3): only before the first field.
        if (!first) {
          throw new CompressionError("Cannot apply a dynamic table size update after a header field");
        }
        let size = c & 0x1f;
        p++;
        if (size === 0x1f) {
          size = this.#intRest(block, p, end, size);
          p = this.#p;
        }
        if (size > this.#limit) {
          throw new CompressionError(
            `Cannot resize the dynamic table to ${size}: SETTINGS_HEADER_TABLE_SIZE is ${this.#limit}`,
          );
        }
        if (this.#owed >= 0 && size <= this.#owed) this.#owed = -1;
        table.setMaxSize(size);
      } else {
        // Literal without indexing (0000) or never indexed (0001), 4-bit name index (§6.2.2, §6.2.3).
        if (first) first = this.#firstField();
        p = this.#literal(block, p, end, 0x0f, false, sink);
      }
    }
    if (first) this.#firstField();
    this.#broken = false;
    if (this.#tooLarge !== 0) throw this.#tooLargeError();
  }

  /** Checks what must precede the first field; returns false (no longer at the block's start). */
  #firstField(): boolean {
    if (this.#owed >= 0) {
      throw new CompressionError(
        `Cannot decode a block that does not start with a dynamic table size update to at most ${this.#owed}`,
      );
    }
    return false;
  }

  #badIndex(idx: number): CompressionError {
    return new CompressionError(
      `Cannot decode index ${idx}: the tables hold ${STATIC_LENGTH + this.#table.length} entries`,
    );
  }

  #tooLargeError(): HeaderListTooLargeError {
    if (this.#tooLarge & TOO_LARGE_STRING) {
      return new HeaderListTooLargeError(
        `Cannot accept a header string of ${this.#tooLargeString} octets: the limit is ${this.#maxString}`,
        this.#tooLargeString,
        this.#maxString,
      );
    }
    return new HeaderListTooLargeError(
      `Cannot accept a header list of ${this.#listSize} octets: SETTINGS_MAX_HEADER_LIST_SIZE is ${this.#maxList}`,
      this.#listSize,
      this.#maxList,
    );
  }

  /** Reads the continuation octets of an integer whose prefix was full (`v`); sets #p after it (§5.1). */
  #intRest(b: Uint8Array, p: number, end: number, v: number): number {
    let shift = 1;
    for (let k = 0; k < 5; k++) {
      if (p >= end) throw new CompressionError("Cannot decode an integer cut off by the end of the block");
      const c = b[p++]!;
      v += (c & 0x7f) * shift;
      if (v > MAX_INT) throw new CompressionError(`Cannot decode an integer above ${MAX_INT}`);
      if (c < 0x80) {
        this.#p = p;
        return v;
      }
      shift *= 128;
    }
    // Five continuation octets carry 35 bits; more can only be padding with zeros, which we refuse.
    throw new CompressionError("Cannot decode an integer longer than 6 octets");
  }

  /**
   * Reads a string literal at `p` (§5.2), sets #p after it and returns its decoded length. A short one
   * (at most INTERN_MAX octets, so bounded by the block) is made at once, in #str; a long one is left as
   * octets, in #sb/#ss (the block itself, or the scratch buffer from `off` for Huffman data), to be made
   * only once it passed the limits.
   */
  #string(b: Uint8Array, p: number, end: number, off: number): number {
    if (p >= end) {
      throw new CompressionError("Cannot decode a string literal cut off by the end of the block");
    }
    const c = b[p]!;
    let len = c & 0x7f;
    p++;
    if (len === 0x7f) {
      len = this.#intRest(b, p, end, len);
      p = this.#p;
    }
    if (len > end - p) {
      throw new CompressionError(
        `Cannot decode a string literal of ${len} octets: ${end - p} remain in the block`,
      );
    }
    this.#p = p + len;
    if (len <= INTERN_MAX) {
      const s = shortString(b, p, p + len, c >= 0x80);
      if (s === undefined) throw new CompressionError("Cannot decode invalid Huffman data (RFC 7541 §5.2)");
      this.#str = s;
      return s.length;
    }
    this.#str = undefined;
    if (c < 0x80) {
      this.#sb = b;
      this.#ss = p;
      return len;
    }
    const dst = scratchFor(off + huffmanDecodeRoom(len));
    const n = huffmanDecode(b, p, p + len, dst, off);
    if (n < 0) throw new CompressionError("Cannot decode invalid Huffman data (RFC 7541 §5.2)");
    this.#sb = dst;
    this.#ss = off;
    return n;
  }

  /** A literal field representation at `p`; returns the position after it. */
  #literal(
    b: Uint8Array,
    p: number,
    end: number,
    mask: number,
    index: boolean,
    sink: HeaderSink,
  ): number {
    const table = this.#table;
    const never = !index && (b[p]! & 0x10) !== 0;
    let idx = b[p]! & mask;
    p++;
    if (idx === mask) {
      idx = this.#intRest(b, p, end, idx);
      p = this.#p;
    }
    let name: string | undefined;
    let nameLen: number;
    let nameBuf: Uint8Array | undefined;
    let nameStart = 0;
    if (idx === 0) {
      nameLen = this.#string(b, p, end, 0);
      p = this.#p;
      name = this.#str;
      nameBuf = this.#sb;
      nameStart = this.#ss;
    } else if (idx <= STATIC_LENGTH) {
      name = STATIC_NAMES[idx]!;
      nameLen = name.length;
    } else {
      const i = idx - STATIC_LENGTH - 1;
      if (i >= table.length) throw this.#badIndex(idx);
      name = table.name(i);
      nameLen = name.length;
    }
    // After the name's octets, should they be in the scratch buffer.
    const valueLen = this.#string(b, p, end, name === undefined ? nameLen : 0);
    p = this.#p;
    const entrySize = nameLen + valueLen + ENTRY_OVERHEAD;
    const size = (this.#listSize += entrySize);

    let deliver = this.#tooLarge === 0;
    if (deliver) {
      if (nameLen > this.#maxString || valueLen > this.#maxString) {
        this.#tooLarge |= TOO_LARGE_STRING;
        this.#tooLargeString = Math.max(nameLen, valueLen);
        deliver = false;
      } else if (size > this.#maxList) {
        this.#tooLarge |= TOO_LARGE_LIST;
        deliver = false;
      }
    }
    const store = index && entrySize <= table.maxSize;
    if (!deliver && !store) {
      // Strings never made. An entry too large for the table still empties it (§4.4).
      if (index) table.clear();
      return p;
    }
    name ??= latin1(nameBuf!, nameStart, nameStart + nameLen);
    const value = this.#str ?? latin1(this.#sb, this.#ss, this.#ss + valueLen);
    if (store) table.add(name, value);
    else if (index) table.clear();
    if (deliver) sink.header(name, value, never);
    return p;
  }
}

const TOO_LARGE_LIST = 1;
const TOO_LARGE_STRING = 2;

/** How a literal field is represented (RFC 7541 §6.2). */
export type Indexing =
  /** The encoder's policy (see `HpackEncoder`). */
  | "auto"
  /** Literal with incremental indexing: added to the dynamic table. */
  | "incremental"
  /** Literal without indexing. */
  | "without"
  /** Literal never indexed: intermediaries must keep it literal too (§7.1.3). */
  | "never";

/** Fields by position, as `Http1Headers` offers them (no callback per field). */
export interface FieldList {
  readonly size: number;
  nameAt(i: number): string;
  valueAt(i: number): string;
}

/** A growable output buffer an encoder appends blocks to; reuse it across blocks. */
export class HpackBuffer {
  /** The octets; replaced by a larger array when it grows, so read it after encoding. */
  bytes: Uint8Array;
  /** Octets in use. */
  length = 0;

  constructor(capacity = 1024) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Makes room for `n` more octets. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2 || 64;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  /** Forgets the content (keeps the memory). */
  clear(): void {
    this.length = 0;
  }
}

export interface HpackEncoderOptions {
  /**
   * The largest dynamic table this encoder uses, even when the peer's SETTINGS_HEADER_TABLE_SIZE allows
   * more (each table costs memory per connection). Below 4096 the table simply starts smaller.
   * @default {4096}
   */
  maxTableSize?: number;
  /** Huffman-code a string when that is shorter. @default {true} */
  huffman?: boolean;
  /**
   * The largest entry (name + value + 32) the "auto" policy adds to the dynamic table; it is also never
   * more than half the table, so one field cannot flush everything else.
   * @default {1024}
   */
  maxIndexedFieldSize?: number;
}

// "auto" policy per name.
/** Never indexed (§7.1.3): credentials a compression oracle could probe. */
const NEVER = 1;
/** Values that differ on (nearly) every message: indexing them only evicts useful entries. */
const WITHOUT = 2;
/** Values that usually repeat on a connection: indexed the first time. */
const INDEX = 3;
/** Anything else (custom metadata): indexed the second time the same value is sent. */
const SECOND_SIGHT = 4;

interface NameInfo {
  /** Static index of the name, or 0. */
  readonly index: number;
  readonly values: ReadonlyMap<string, number> | undefined;
  readonly policy: number;
}

const KNOWN: ReadonlyMap<string, NameInfo> = (() => {
  const policy = new Map<string, number>();
  for (const n of ["authorization", "proxy-authorization", "cookie", "set-cookie"]) policy.set(n, NEVER);
  for (
    const n of [
      "content-length",
      "age",
      "etag",
      "expires",
      "if-modified-since",
      "if-none-match",
      "if-unmodified-since",
      "last-modified",
      "grpc-timeout",
      "grpc-message",
      "grpc-status-details-bin",
      "grpc-trace-bin",
      "x-request-id",
      "traceparent",
      "tracestate",
      "x-b3-traceid",
      "x-b3-spanid",
      "x-b3-parentspanid",
      "b3",
    ]
  ) policy.set(n, WITHOUT);
  const m = new Map<string, NameInfo>();
  for (const [name, st] of STATIC_BY_NAME) {
    m.set(name, { index: st.index, values: st.values, policy: policy.get(name) ?? INDEX });
  }
  for (const [name, p] of policy) if (!m.has(name)) m.set(name, { index: 0, values: undefined, policy: p });
  for (const name of ["te", "grpc-encoding", "grpc-accept-encoding", "grpc-status", "x-forwarded-proto"]) {
    m.set(name, { index: 0, values: undefined, policy: INDEX });
  }
  return m;
})();

/** `name` lowercased; the same string (no allocation) when it has no uppercase ASCII letter. */
function lowerName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}

/** Encoded literals of names (Huffman when shorter), shared by encoders; bounded, cleared when full. */
const nameLiterals = new Map<string, Uint8Array>();
const NAME_LITERALS_MAX = 512;

/** Bound on names remembered for the second-sight rule. */
const SEEN_MAX = 64;

/**
 * Encodes header lists into header blocks (RFC 7541 §6) and keeps this connection's encoder-side dynamic
 * table.
 *
 * The "auto" indexing policy, per field:
 * 1. `authorization`, `proxy-authorization`, `cookie`, `set-cookie`: literal never indexed (§7.1.3).
 * 2. An exact static or dynamic table match: indexed (one or two octets).
 * 3. Otherwise a literal, with the name indexed when a table has it, and added to the dynamic table when
 *    its entry (name + value + 32) is at most `maxIndexedFieldSize` and half the table, unless its name
 *    carries per-message values (`content-length`, `grpc-timeout`, `x-request-id`, `traceparent`, dates
 *    and validators, …). Names of the static table and `te`/`grpc-*` are indexed the first time; other
 *    names (custom metadata) the second time the same value is sent, so unique values such as ids do not
 *    push repeated ones out of the table.
 *
 * Names are lowercased (HTTP/2 requires it; HTTP/1 peers send "Content-Type"). Strings are Huffman-coded
 * only when that is shorter. Chars above 0xff are written as "?" (latin1, as the HTTP/1 writer does).
 */
export class HpackEncoder {
  #table: DynamicTable;
  #cap: number;
  #huffman: boolean;
  #maxIndexed: number;
  // Size updates owed to the peer's decoder: the smallest size since the last block and the final one.
  #pendingMin = -1;
  #pendingFinal = -1;
  #seen = new Map<string, string>();
  // The block being written.
  #out: HpackBuffer | undefined;
  #b: Uint8Array = new Uint8Array(0);
  #o = 0;
  #start = 0;

  constructor(options: HpackEncoderOptions = {}) {
    this.#cap = checkSize("maxTableSize", options.maxTableSize ?? DEFAULT_TABLE_SIZE);
    this.#huffman = options.huffman ?? true;
    this.#maxIndexed = checkSize("maxIndexedFieldSize", options.maxIndexedFieldSize ?? 1024);
    // Using less than the peer's decoder allows needs no signal: it evicts later than we do, and we never
    // reference what we evicted. So a cap below 4096 is just where our table starts.
    this.#table = new DynamicTable(Math.min(DEFAULT_TABLE_SIZE, this.#cap), true);
  }

  /** The dynamic table (read it only: for tests and debugging). */
  get table(): DynamicTable {
    return this.#table;
  }

  /**
   * Applies the peer's SETTINGS_HEADER_TABLE_SIZE (call it when acknowledging the SETTINGS frame). The
   * next block starts with the size update(s) it requires: the smallest size since the last block when
   * the table shrank, then the final one (§4.2).
   */
  setPeerMaxTableSize(size: number): void {
    const chosen = Math.min(checkSize("peer maxTableSize", size), this.#cap);
    if (this.#pendingFinal < 0) this.#pendingMin = chosen;
    else if (chosen < this.#pendingMin) this.#pendingMin = chosen;
    this.#pendingFinal = chosen;
  }

  /** Encodes a whole header list as one block appended to `out`; returns the block's octets. */
  encode(fields: FieldList | readonly (readonly [string, string])[], out: HpackBuffer): Uint8Array {
    this.begin(out);
    if (isTupleArray(fields)) {
      for (let i = 0; i < fields.length; i++) this.field(fields[i]![0], fields[i]![1]);
    } else {
      for (let i = 0; i < fields.size; i++) this.field(fields.nameAt(i), fields.valueAt(i));
    }
    return this.end();
  }

  /**
   * Starts a block appended to `out`; then `field()` for each field and `end()`. For codecs that encode
   * pseudo-headers and a header map without building a list first.
   */
  begin(out: HpackBuffer): void {
    if (this.#out !== undefined) {
      throw new Error("Cannot begin a header block before ending the previous one");
    }
    this.#out = out;
    out.reserve(16);
    this.#b = out.bytes;
    this.#o = this.#start = out.length;
    if (this.#pendingFinal >= 0) {
      const table = this.#table;
      if (this.#pendingMin < table.maxSize) {
        this.#int(this.#pendingMin, 0x1f, 0x20);
        table.setMaxSize(this.#pendingMin);
      }
      if (this.#pendingFinal !== table.maxSize) {
        this.#int(this.#pendingFinal, 0x1f, 0x20);
        table.setMaxSize(this.#pendingFinal);
      }
      this.#pendingMin = this.#pendingFinal = -1;
    }
  }

  /** Adds one field to the block begun; `indexing` overrides the policy for it. */
  field(name: string, value: string, indexing: Indexing = "auto"): void {
    if (this.#out === undefined) throw new Error("Cannot add a field outside a header block");
    let info = KNOWN.get(name);
    if (info === undefined) {
      const lower = lowerName(name);
      if (lower !== name) {
        name = lower;
        info = KNOWN.get(name);
      }
    }
    const table = this.#table;
    let mode = indexing;
    if (mode === "auto" && info !== undefined && info.policy === NEVER) mode = "never";
    // Room for the worst case: three integers of up to 6 octets around the raw strings.
    if (this.#o + 18 + name.length + value.length > this.#b.length) {
      this.#grow(18 + name.length + value.length);
    }

    let nameIndex = 0;
    if (info !== undefined && info.index > 0) {
      if (mode !== "never") {
        const exact = info.values!.get(value);
        if (exact !== undefined) {
          this.#int(exact, 0x7f, 0x80);
          return;
        }
      }
      nameIndex = info.index;
    }
    if (mode !== "never") {
      const pos = table.findField(name, value);
      if (pos >= 0) {
        this.#int(pos + STATIC_LENGTH + 1, 0x7f, 0x80);
        return;
      }
    }
    if (nameIndex === 0) {
      const pos = table.findName(name);
      if (pos >= 0) nameIndex = pos + STATIC_LENGTH + 1;
    }
    if (mode === "auto") mode = this.#policy(name, value, info);

    if (mode === "incremental") this.#int(nameIndex, 0x3f, 0x40);
    else this.#int(nameIndex, 0x0f, mode === "never" ? 0x10 : 0x00);
    if (nameIndex === 0) {
      if (this.#huffman) this.#name(name);
      else this.#string(name);
    }
    this.#string(value);
    if (mode === "incremental") table.add(name, value);
  }

  /** Ends the block; returns its octets (a view of `out.bytes`, valid until `out` is written again). */
  end(): Uint8Array {
    const out = this.#out;
    if (out === undefined) throw new Error("Cannot end a header block that was not begun");
    out.length = this.#o;
    this.#out = undefined;
    return out.bytes.subarray(this.#start, this.#o);
  }

  #policy(name: string, value: string, info: NameInfo | undefined): Indexing {
    const policy = info === undefined ? SECOND_SIGHT : info.policy;
    if (policy === WITHOUT) return "without";
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxIndexed || size > this.#table.maxSize >>> 1) return "without";
    if (policy === INDEX) return "incremental";
    const seen = this.#seen;
    if (seen.get(name) === value) {
      seen.delete(name);
      return "incremental";
    }
    if (seen.size >= SEEN_MAX && !seen.has(name)) seen.clear();
    seen.set(name, value);
    return "without";
  }

  #grow(n: number): void {
    const out = this.#out!;
    out.length = this.#o;
    out.reserve(n);
    this.#b = out.bytes;
  }

  /** Writes `v` with an N-bit prefix (`mask` = 2^N - 1) under the representation's `bits` (§5.1). */
  #int(v: number, mask: number, bits: number): void {
    const b = this.#b;
    let o = this.#o;
    if (v < mask) {
      b[o++] = bits | v;
    } else {
      b[o++] = bits | mask;
      v -= mask;
      while (v >= 128) {
        b[o++] = (v & 0x7f) | 0x80;
        v = Math.floor(v / 128);
      }
      b[o++] = v;
    }
    this.#o = o;
  }

  /**
   * Writes a name literal from the cache of encoded names: names that stay literal (per-message fields
   * such as grpc-timeout or x-request-id are never in a table) would be Huffman-coded on every message.
   */
  #name(name: string): void {
    let lit = nameLiterals.get(name);
    if (lit === undefined) {
      const start = this.#o;
      this.#string(name);
      lit = this.#b.slice(start, this.#o);
      if (nameLiterals.size >= NAME_LITERALS_MAX) nameLiterals.clear();
      nameLiterals.set(name, lit);
      return;
    }
    const b = this.#b;
    let o = this.#o;
    for (let i = 0; i < lit.length; i++) b[o++] = lit[i]!;
    this.#o = o;
  }

  /** Writes a string literal (§5.2), Huffman-coded when shorter. */
  #string(s: string): void {
    const n = s.length;
    if (this.#huffman && n > 1) {
      const h = huffmanEncodedLength(s);
      if (h < n) {
        this.#int(h, 0x7f, 0x80);
        this.#o = huffmanEncode(s, this.#b, this.#o);
        return;
      }
    }
    this.#int(n, 0x7f, 0x00);
    const b = this.#b;
    let o = this.#o;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      b[o++] = c > 0xff ? 63 : c;
    }
    this.#o = o;
  }
}

function isTupleArray(
  fields: FieldList | readonly (readonly [string, string])[],
): fields is readonly (readonly [string, string])[] {
  return Array.isArray(fields);
}
