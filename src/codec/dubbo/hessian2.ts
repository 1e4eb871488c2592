/**
 * A bounds-checked Hessian 2.0 reader that decodes the few values routing needs (strings, ints, longs,
 * null) and skips everything else by structure, creating no values for what it skips.
 *
 * Grammar: http://hessian.caucho.com/doc/hessian-serialization.html §3 and its byte-code map (§4). Every
 * read checks its bounds; a truncated or malformed input, a reserved or misplaced tag, or nesting deeper
 * than `MAX_DEPTH` throws a `Hessian2Error` with the offset, never another exception. Each step consumes
 * at least one byte, and counts are checked against the bytes left before any loop runs, so the work is
 * linear in the input whatever it claims.
 *
 * Strings count UTF-16 code units, as Java's `char`s (CESU-8 on the wire: a supplementary character is
 * two 3-byte surrogates). A 4-byte UTF-8 sequence, which some non-Java writers emit, counts as the two
 * units it stands for.
 */
import { decodeString } from "../xprotocol/mod.ts";

/** Deepest nesting of lists, maps and objects a value may have. */
export const MAX_DEPTH = 64;

/** Why a hessian2 read failed. The codec turns it into a protocol error for its connection. */
export class Hessian2Error extends Error {
  override readonly name = "Hessian2Error";
}

/** What a value's first byte says it is (`peekKind`), for callers that decide before reading. */
export const Kind = { Null: 0, String: 1, Int: 2, Long: 3, Map: 4, Other: 5 } as const;
export type Kind = typeof Kind[keyof typeof Kind];

/**
 * One reader over `buf[pos, end)`. `reset` reuses it for the next input (the codec keeps one per
 * module: decoding is synchronous). Class definitions are remembered across values until `reset`, as
 * one hessian stream's are.
 */
export class Hessian2Reader {
  #buf: Uint8Array = new Uint8Array(0);
  /** Offset of the next byte to read. */
  pos = 0;
  #end = 0;
  /** Field count of each class definition seen, by definition number. */
  readonly #classFields: number[] = [];
  /** Set by #skipChars: every unit of the string it stepped over was one ASCII byte. */
  #ascii = false;

  constructor(buf?: Uint8Array, start = 0, end = buf?.length ?? 0) {
    if (buf !== undefined) this.reset(buf, start, end);
  }

  reset(buf: Uint8Array, start: number, end: number): void {
    this.#buf = buf;
    this.pos = start;
    this.#end = end;
    this.#classFields.length = 0;
  }

  get atEnd(): boolean {
    return this.pos >= this.#end;
  }

  /** The kind of the next value, without consuming it. */
  peekKind(): Kind {
    const tag = this.#peek();
    if (tag <= 0x1f || (tag >= 0x30 && tag <= 0x33) || tag === 0x52 || tag === 0x53) return Kind.String;
    if (tag === 0x4e) return Kind.Null;
    if ((tag >= 0x80 && tag <= 0xd7) || tag === 0x49) return Kind.Int;
    if (tag >= 0xd8 || (tag >= 0x38 && tag <= 0x3f) || tag === 0x59 || tag === 0x4c) return Kind.Long;
    if (tag === 0x48 || tag === 0x4d) return Kind.Map;
    return Kind.Other;
  }

  /** Reads a string in any of its encodings, chunked included. Short ASCII strings are interned. */
  readString(): string {
    let tag = this.#byte();
    let out = "";
    for (;;) {
      let units: number;
      let final = true;
      if (tag <= 0x1f) units = tag;
      else if (tag >= 0x30 && tag <= 0x33) units = ((tag - 0x30) << 8) | this.#byte();
      else if (tag === 0x53 || tag === 0x52) {
        units = this.#u16();
        final = tag === 0x53;
      } else throw this.#error(`expected a string, got tag 0x${hex(tag)}`, this.pos - 1);
      out += this.#chars(units);
      if (final) return out;
      tag = this.#byte();
    }
  }

  /**
   * Where `scanString` found the string's bytes: [spanStart, spanEnd) when it was one chunk of ASCII
   * (the string is `decodeString(buf, spanStart, spanEnd)`), else spanStart is -1.
   */
  spanStart = -1;
  spanEnd = -1;

  /**
   * Steps over a string exactly as `readString` reads it (the same checks, the same errors) without
   * creating it, and leaves where its bytes are in `spanStart`/`spanEnd`.
   */
  scanString(): void {
    let tag = this.#byte();
    let chunks = 0;
    let start = -1;
    for (;;) {
      let units: number;
      let final = true;
      if (tag <= 0x1f) units = tag;
      else if (tag >= 0x30 && tag <= 0x33) units = ((tag - 0x30) << 8) | this.#byte();
      else if (tag === 0x53 || tag === 0x52) {
        units = this.#u16();
        final = tag === 0x53;
      } else throw this.#error(`expected a string, got tag 0x${hex(tag)}`, this.pos - 1);
      start = this.pos;
      this.#skipChars(units);
      chunks++;
      if (final) break;
      tag = this.#byte();
    }
    if (chunks === 1 && this.#ascii) {
      this.spanStart = start;
      this.spanEnd = this.pos;
    } else this.spanStart = this.spanEnd = -1;
  }

  /** Reads a string, or undefined for null. */
  readStringOrNull(): string | undefined {
    if (this.#peek() === 0x4e) {
      this.pos++;
      return undefined;
    }
    return this.readString();
  }

  /** Reads an int (32-bit) in any of its encodings. */
  readInt(): number {
    const tag = this.#byte();
    if (tag >= 0x80 && tag <= 0xbf) return tag - 0x90;
    if (tag >= 0xc0 && tag <= 0xcf) return ((tag - 0xc8) << 8) | this.#byte();
    if (tag >= 0xd0 && tag <= 0xd7) return ((tag - 0xd4) << 16) | this.#u16();
    if (tag === 0x49) return this.#i32();
    throw this.#error(`expected an int, got tag 0x${hex(tag)}`, this.pos - 1);
  }

  /** Reads a long in any of its encodings, as decimal text (exact over the whole 64-bit range). */
  readLongText(): string {
    const tag = this.#byte();
    if (tag >= 0xd8 && tag <= 0xef) return String(tag - 0xe0);
    if (tag >= 0xf0) return String(((tag - 0xf8) << 8) | this.#byte());
    if (tag >= 0x38 && tag <= 0x3f) return String(((tag - 0x3c) << 16) | this.#u16());
    if (tag === 0x59) return String(this.#i32());
    if (tag === 0x4c) {
      const hi = this.#i32();
      const lo = this.#i32() >>> 0;
      return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
    }
    throw this.#error(`expected a long, got tag 0x${hex(tag)}`, this.pos - 1);
  }

  /** Skips one value of any type, by structure. */
  skipValue(): void {
    this.#skip(0);
  }

  /** Reads a map's opening (`H`, or `M` and its type); then `nextIsEnd`/`readEnd` frame its entries. */
  readMapStart(): void {
    const tag = this.#byte();
    if (tag === 0x4d) this.#skipType();
    else if (tag !== 0x48) throw this.#error(`expected a map, got tag 0x${hex(tag)}`, this.pos - 1);
  }

  /** True when the next byte ends the open list or map (`Z`). */
  nextIsEnd(): boolean {
    return this.#peek() === 0x5a;
  }

  /** Consumes the `Z` that ends a list or map. */
  readEnd(): void {
    const tag = this.#byte();
    if (tag !== 0x5a) throw this.#error(`expected the end of a map, got tag 0x${hex(tag)}`, this.pos - 1);
  }

  // === Skipping ===

  #skip(depth: number): void {
    for (;;) {
      const at = this.pos;
      const tag = this.#byte();
      if (tag >= 0x80) {
        // Compact ints and longs: 0x80-0xbf, 0xd8-0xef alone; 0xc0-0xcf and 0xf0-0xff one more byte;
        // 0xd0-0xd7 two more.
        if (tag <= 0xbf || (tag >= 0xd8 && tag <= 0xef)) return;
        this.#need(tag >= 0xd0 && tag <= 0xd7 ? 2 : 1);
        return;
      }
      if (tag <= 0x1f) return void this.#skipChars(tag);
      if (tag <= 0x2f) return this.#need(tag - 0x20); // short binary
      if (tag <= 0x33) return void this.#skipChars(((tag - 0x30) << 8) | this.#byte());
      if (tag <= 0x37) return this.#need(((tag - 0x34) << 8) | this.#byte()); // binary < 1024
      if (tag <= 0x3f) return this.#need(2); // three-octet long
      if (tag >= 0x60) {
        if (tag <= 0x6f) return this.#skipObject(tag - 0x60, depth, at);
        if (tag <= 0x77) {
          // fixed-length typed list
          this.#skipType();
          return this.#skipValues(tag - 0x70, depth, at);
        }
        return this.#skipValues(tag - 0x78, depth, at); // fixed-length untyped list
      }
      switch (tag) {
        case 0x41: // 'A' binary chunk, more follow
        case 0x42: // 'B' final binary chunk
          return this.#skipBinaryChunks(tag);
        case 0x43: // 'C' class definition: the value it precedes follows
          this.#readClassDef();
          continue;
        case 0x44: // 'D' double
        case 0x4a: // date, ms
        case 0x4c: // 'L' long
          return this.#need(8);
        case 0x46: // 'F'
        case 0x4e: // 'N'
        case 0x54: // 'T'
        case 0x5b: // double 0.0
        case 0x5c: // double 1.0
          return;
        case 0x48: // 'H' untyped map
          return this.#skipEntries(depth, at);
        case 0x49: // 'I' int
        case 0x4b: // date, minutes
        case 0x59: // long as int
        case 0x5f: // double as int thousandths
          return this.#need(4);
        case 0x4d: // 'M' typed map
          this.#skipType();
          return this.#skipEntries(depth, at);
        case 0x4f: // 'O' object, class by number
          return this.#skipObject(this.#count("class reference"), depth, at);
        case 0x51: // 'Q' reference to an earlier list, map or object
          this.#count("reference");
          return;
        case 0x52: // 'R' string chunk, more follow
        case 0x53: // 'S' final string chunk
          return this.#skipStringChunks(tag);
        case 0x55: // variable-length typed list
          this.#skipType();
          return this.#skipUntilEnd(depth, at);
        case 0x56: // 'V' fixed-length typed list
          this.#skipType();
          return this.#skipValues(this.#count("list length"), depth, at);
        case 0x57: // variable-length untyped list
          return this.#skipUntilEnd(depth, at);
        case 0x58: // 'X' fixed-length untyped list
          return this.#skipValues(this.#count("list length"), depth, at);
        case 0x5d: // double as byte
          return this.#need(1);
        case 0x5e: // double as short
          return this.#need(2);
        case 0x5a:
          throw this.#error("unexpected end of list or map (Z)", at);
        default:
          // 0x40, 0x45, 0x47, 0x50: reserved
          throw this.#error(`reserved tag 0x${hex(tag)}`, at);
      }
    }
  }

  #enter(depth: number, at: number): number {
    if (depth >= MAX_DEPTH) throw this.#error(`nesting deeper than ${MAX_DEPTH}`, at);
    return depth + 1;
  }

  #skipValues(n: number, depth: number, at: number): void {
    const d = this.#enter(depth, at);
    // Each value is at least one byte: a count past the input is malformed, found before any work.
    if (n > this.#end - this.pos) {
      throw this.#error(`${n} values claimed, ${this.#end - this.pos} bytes left`, at);
    }
    for (let i = 0; i < n; i++) this.#skip(d);
  }

  #skipUntilEnd(depth: number, at: number): void {
    const d = this.#enter(depth, at);
    while (this.#peek() !== 0x5a) this.#skip(d);
    this.pos++;
  }

  #skipEntries(depth: number, at: number): void {
    const d = this.#enter(depth, at);
    while (this.#peek() !== 0x5a) {
      this.#skip(d);
      this.#skip(d);
    }
    this.pos++;
  }

  #skipObject(classRef: number, depth: number, at: number): void {
    const fields = this.#classFields[classRef];
    if (fields === undefined) {
      throw this.#error(`object of undefined class ${classRef} (${this.#classFields.length} defined)`, at);
    }
    this.#skipValues(fields, depth, at);
  }

  /** `C` string int string*: remembers the field count; the names are skipped. */
  #readClassDef(): void {
    this.#skipString();
    const fields = this.#count("field count");
    if (fields > this.#end - this.pos) {
      throw this.#error(`${fields} field names claimed, ${this.#end - this.pos} bytes left`, this.pos);
    }
    for (let i = 0; i < fields; i++) this.#skipString();
    this.#classFields.push(fields);
  }

  /** A list's or map's type: a type name, or an int referring to an earlier one. */
  #skipType(): void {
    const kind = this.peekKind();
    if (kind === Kind.String) this.#skipString();
    else if (kind === Kind.Int) this.#count("type reference");
    else throw this.#error(`expected a type name or reference, got tag 0x${hex(this.#peek())}`, this.pos);
  }

  #skipString(): void {
    const tag = this.#byte();
    if (tag <= 0x1f) this.#skipChars(tag);
    else if (tag >= 0x30 && tag <= 0x33) this.#skipChars(((tag - 0x30) << 8) | this.#byte());
    else if (tag === 0x52 || tag === 0x53) this.#skipStringChunks(tag);
    else throw this.#error(`expected a string, got tag 0x${hex(tag)}`, this.pos - 1);
  }

  /** `R`/`S` chunks: each `R` is followed by another string chunk in any string encoding. */
  #skipStringChunks(tag: number): void {
    for (;;) {
      this.#skipChars(this.#u16());
      if (tag === 0x53) return;
      tag = this.#byte();
      if (tag <= 0x1f) return void this.#skipChars(tag);
      if (tag >= 0x30 && tag <= 0x33) return void this.#skipChars(((tag - 0x30) << 8) | this.#byte());
      if (tag !== 0x52 && tag !== 0x53) {
        throw this.#error(`expected a string chunk, got tag 0x${hex(tag)}`, this.pos - 1);
      }
    }
  }

  /** `A`/`B` chunks: each `A` is followed by another binary chunk in any binary encoding. */
  #skipBinaryChunks(tag: number): void {
    for (;;) {
      this.#need(this.#u16());
      if (tag === 0x42) return;
      tag = this.#byte();
      if (tag >= 0x20 && tag <= 0x2f) return this.#need(tag - 0x20);
      if (tag >= 0x34 && tag <= 0x37) return this.#need(((tag - 0x34) << 8) | this.#byte());
      if (tag !== 0x41 && tag !== 0x42) {
        throw this.#error(`expected a binary chunk, got tag 0x${hex(tag)}`, this.pos - 1);
      }
    }
  }

  // === Characters ===

  /**
   * Steps over `units` UTF-16 code units of CESU-8/UTF-8 and returns the offset after them, checking
   * lead and continuation bytes. Sets #ascii when every unit was one byte.
   */
  #skipChars(units: number): number {
    const buf = this.#buf;
    const end = this.#end;
    let p = this.pos;
    const start = p;
    // ASCII fast path: one byte per unit.
    const asciiEnd = Math.min(end, p + units);
    while (p < asciiEnd && buf[p]! < 0x80) p++;
    let left = units - (p - start);
    this.#ascii = left === 0;
    while (left > 0) {
      if (p >= end) throw this.#error(`string truncated: ${left} of ${units} characters missing`, start);
      const b = buf[p]!;
      let n: number;
      if (b < 0x80) n = 1;
      else if (b >= 0xc0 && b <= 0xdf) n = 2;
      else if (b >= 0xe0 && b <= 0xef) n = 3;
      else if (b >= 0xf0 && b <= 0xf7) {
        n = 4;
        if (left < 2) throw this.#error("a 4-byte character splits the string's last unit", p);
        left--;
      } else throw this.#error(`malformed UTF-8 byte 0x${hex(b)} in a string`, p);
      if (p + n > end) throw this.#error(`string truncated inside a character`, p);
      for (let i = 1; i < n; i++) {
        if ((buf[p + i]! & 0xc0) !== 0x80) {
          throw this.#error("malformed UTF-8 continuation in a string", p + i);
        }
      }
      p += n;
      left--;
    }
    this.pos = p;
    return p;
  }

  /** Reads `units` code units as a string. */
  #chars(units: number): string {
    const start = this.pos;
    const end = this.#skipChars(units);
    if (this.#ascii) return decodeString(this.#buf, start, end);
    return decodeCesu8(this.#buf, start, end, units);
  }

  // === Bytes ===

  #peek(): number {
    if (this.pos >= this.#end) throw this.#error("truncated: a value is missing", this.pos);
    return this.#buf[this.pos]!;
  }

  #byte(): number {
    if (this.pos >= this.#end) throw this.#error("truncated: a value is missing", this.pos);
    return this.#buf[this.pos++]!;
  }

  /** Consumes `n` bytes, failing when fewer are left. */
  #need(n: number): void {
    if (n > this.#end - this.pos) {
      throw this.#error(`truncated: ${n} bytes needed, ${this.#end - this.pos} left`, this.pos);
    }
    this.pos += n;
  }

  #u16(): number {
    const at = this.pos;
    this.#need(2);
    return (this.#buf[at]! << 8) | this.#buf[at + 1]!;
  }

  #i32(): number {
    const at = this.pos;
    this.#need(4);
    const b = this.#buf;
    return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }

  /** An int that counts or refers to something: never negative. */
  #count(what: string): number {
    const at = this.pos;
    const n = this.readInt();
    if (n < 0) throw this.#error(`negative ${what} ${n}`, at);
    return n;
  }

  #error(message: string, at: number): Hessian2Error {
    return new Hessian2Error(`${message} at byte ${at}`);
  }
}

/** Code units per String.fromCharCode call (bounded: the arguments go on the stack). */
const CHARS_PER_CALL = 4096;

/** Decodes CESU-8 (or UTF-8) bytes already checked by #skipChars into `units` UTF-16 code units. */
function decodeCesu8(buf: Uint8Array, start: number, end: number, units: number): string {
  const out = new Uint16Array(units);
  let o = 0;
  for (let p = start; p < end;) {
    const b = buf[p]!;
    if (b < 0x80) {
      out[o++] = b;
      p++;
    } else if (b < 0xe0) {
      out[o++] = ((b & 0x1f) << 6) | (buf[p + 1]! & 0x3f);
      p += 2;
    } else if (b < 0xf0) {
      out[o++] = ((b & 0x0f) << 12) | ((buf[p + 1]! & 0x3f) << 6) | (buf[p + 2]! & 0x3f);
      p += 3;
    } else {
      const cp = ((b & 0x07) << 18) | ((buf[p + 1]! & 0x3f) << 12) | ((buf[p + 2]! & 0x3f) << 6) |
        (buf[p + 3]! & 0x3f);
      const v = cp - 0x10000;
      out[o++] = 0xd800 | ((v >> 10) & 0x3ff);
      out[o++] = 0xdc00 | (v & 0x3ff);
      p += 4;
    }
  }
  let s = "";
  for (let i = 0; i < units; i += CHARS_PER_CALL) {
    s += String.fromCharCode.apply(null, out.subarray(i, i + CHARS_PER_CALL) as unknown as number[]);
  }
  return s;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
