/**
 * Routing metadata from a request body (dubbo's RpcInvocation, hessian2), read without decoding the
 * arguments: dubbo version, path, version and method, then the argument type descriptor, whose
 * arguments are skipped by structure, then the attachments map, whose string entries become headers.
 * The same header names as MOSN: `dubbo`, `service`, `version`, `method`, and every attachment by its key
 * (`group`, `timeout`, `interface`, which overrides `service`, …).
 */
import {
  HEADER_DUBBO_VERSION,
  HEADER_INTERFACE,
  HEADER_METHOD,
  HEADER_SERVICE,
  HEADER_VERSION,
} from "./constants.ts";
import { Hessian2Error, Hessian2Reader, Kind } from "./hessian2.ts";
import { decodeString } from "../xprotocol/mod.ts";

/** Decoding is synchronous: one reader serves every connection. */
const reader = new Hessian2Reader();

/*
 * What `scanInvocation` records, in one flat array of small integers (no object, no string per field):
 *
 *   [0, SCAN_FIXED)   SCAN_ASCII_KEYS, then the four leading fields (dubbo version, service path,
 *                     version, method) as value triples [kind, a, b],
 *   then one ENTRY_WORDS group per attachment with a string key and a string, int or long value:
 *                     [keyStart, keyEnd, kind, a, b] (the key's bytes when it is one chunk of ASCII,
 *                     else keyStart is -1 and a is where the key's string starts).
 *
 * A value triple is [V_ASCII, start, end] (one chunk of ASCII: `decodeString`), [V_STRING, at, 0] (any
 * other string, read from `at`), [V_INT, value, 0], [V_LONG, at, 0] (read as text from `at`) or
 * [V_EMPTY, 0, 0] (a null version: MOSN's header is then empty, not absent).
 */
/** 1 when every recorded key is one chunk of ASCII (byte compares then decide every lookup). */
export const SCAN_ASCII_KEYS = 0;
/** The value triples of the leading fields. */
export const SCAN_DUBBO = 1;
export const SCAN_SERVICE = 4;
export const SCAN_VERSION = 7;
export const SCAN_METHOD = 10;
/** Where the attachment entries start. */
export const SCAN_FIXED = 13;
export const ENTRY_WORDS = 5;

export const V_ASCII = 0;
export const V_STRING = 1;
export const V_INT = 2;
export const V_LONG = 3;
export const V_EMPTY = 4;

/**
 * Reads the invocation in `buf[start, end)`, appending its headers to `names`/`values` (a later entry
 * with the same name replaces an earlier one, as MOSN's map does), and returns the method name. The
 * metadata — the four leading fields and the attachments, as encoded — may take at most
 * `maxHeaderBytes`. Throws a `Hessian2Error` when the body is not a well-formed invocation: a field of
 * the wrong type, a truncated or malformed value, arguments that do not match the descriptor (the map
 * is not where the count says it is, or bytes follow it), or metadata over the limit.
 */
export function readInvocation(
  buf: Uint8Array,
  start: number,
  end: number,
  maxHeaderBytes: number,
  names: string[],
  values: string[],
): string {
  const scan: number[] = [];
  scan.length = scanInvocation(buf, start, end, maxHeaderBytes, scan);
  decodeHeaders(buf, scan, names, values);
  return scanValue(buf, scan, SCAN_METHOD);
}

/**
 * Checks the invocation in `buf[start, end)` as `readInvocation` does (the same errors) and records
 * where its fields are in `scan` from index 0 (layout above) instead of decoding them: the strings are
 * created only when someone asks for them (`scanValue`, `decodeHeaders`). Returns how many words it
 * wrote; words past that are stale (the array is written in place, never emptied: a reused scratch
 * array keeps its capacity).
 */
export function scanInvocation(
  buf: Uint8Array,
  start: number,
  end: number,
  maxHeaderBytes: number,
  scan: number[],
): number {
  const r = reader;
  r.reset(buf, start, end);
  scan[SCAN_ASCII_KEYS] = 1;
  words = SCAN_DUBBO;
  field(r, "dubbo version", scan);
  field(r, "service path", scan);
  if (r.peekKind() === Kind.Null) {
    r.skipValue();
    words = put3(scan, words, V_EMPTY, 0, 0);
  } else field(r, "service version", scan);
  field(r, "method name", scan);
  const leading = r.pos - start;
  if (leading > maxHeaderBytes) throw overLimit(leading, maxHeaderBytes);

  // Dubbox (dubbo2.js `isSupportedDubbox`) writes an int -1 before the descriptor; nothing else does.
  if (!r.atEnd && r.peekKind() === Kind.Int) r.readInt();
  const args = countDescriptorArguments(r, buf);
  if (args > end - r.pos) {
    throw new Hessian2Error(`the descriptor names ${args} arguments, only ${end - r.pos} bytes follow`);
  }
  for (let i = 0; i < args; i++) r.skipValue();

  if (r.atEnd) {
    throw new Hessian2Error(
      `the attachments are missing after ${args} arguments (does the descriptor match?)`,
    );
  }
  const kind = r.peekKind();
  if (kind === Kind.Map) scanAttachments(r, scan, maxHeaderBytes - leading, leading);
  else if (kind === Kind.Null) r.skipValue();
  else {
    throw new Hessian2Error(
      `expected the attachments map after ${args} arguments at byte ${r.pos} (does the descriptor match?)`,
    );
  }
  if (!r.atEnd) {
    throw new Hessian2Error(
      `${end - r.pos} bytes follow the attachments (more arguments than the descriptor names?)`,
    );
  }
  return words;
}

/** The next word `scanInvocation` writes (decoding is synchronous). */
let words = 0;

/** Writes three words at `at`; returns the index after them. */
function put3(scan: number[], at: number, a: number, b: number, c: number): number {
  scan[at] = a;
  scan[at + 1] = b;
  scan[at + 2] = c;
  return at + 3;
}

/** Reads values again where `scanInvocation` found them (a separate reader: it may run between scans). */
const valueReader = new Hessian2Reader();

/** The value of the triple at `scan[at]` (a leading field's SCAN_* slot, or an entry's value). */
export function scanValue(buf: Uint8Array, scan: readonly number[], at: number): string {
  const kind = scan[at]!;
  const a = scan[at + 1]!;
  switch (kind) {
    case V_ASCII:
      return decodeString(buf, a, scan[at + 2]!);
    case V_INT:
      return String(a);
    case V_EMPTY:
      return "";
  }
  valueReader.reset(buf, a, buf.length);
  return kind === V_LONG ? valueReader.readLongText() : valueReader.readString();
}

/** The key of the entry at `scan[at]`. */
export function scanKey(buf: Uint8Array, scan: readonly number[], at: number): string {
  const keyStart = scan[at]!;
  if (keyStart >= 0) return decodeString(buf, keyStart, scan[at + 1]!);
  valueReader.reset(buf, scan[at + 1]!, buf.length); // where a key that is not ASCII starts
  return valueReader.readString();
}

/**
 * MOSN's headers from a scan, appended to `names`/`values`: `dubbo`, `service`, `version`, `method`,
 * then every attachment by its key (a later entry with the same name replaces an earlier one, as MOSN's
 * map does), and an `interface` attachment, whatever its place, overrides `service`.
 */
export function decodeHeaders(
  buf: Uint8Array,
  scan: readonly number[],
  names: string[],
  values: string[],
): void {
  names.push(HEADER_DUBBO_VERSION, HEADER_SERVICE, HEADER_VERSION, HEADER_METHOD);
  values.push(
    scanValue(buf, scan, SCAN_DUBBO),
    scanValue(buf, scan, SCAN_SERVICE),
    scanValue(buf, scan, SCAN_VERSION),
    scanValue(buf, scan, SCAN_METHOD),
  );
  let iface: string | undefined;
  for (let e = SCAN_FIXED; e < scan.length; e += ENTRY_WORDS) {
    const key = scanKey(buf, scan, e);
    const value = scanValue(buf, scan, e + 2);
    put(names, values, key, value);
    if (key === HEADER_INTERFACE) iface = value;
  }
  if (iface !== undefined) put(names, values, HEADER_SERVICE, iface);
}

/**
 * Counts the arguments a type descriptor names, as MOSN does: each primitive letter (VZBCDFIJS) is
 * one, each `L…;` class name is one, `[` array prefixes add none.
 */
export function countArguments(desc: string): number {
  let state = 0;
  for (let i = 0; i < desc.length; i++) state = descriptorStep(state, desc.charCodeAt(i));
  return state >> 1;
}

/** `countArguments` of the ASCII descriptor in `b[start, end)`, without making it a string. */
function countArgumentBytes(b: Uint8Array, start: number, end: number): number {
  let state = 0;
  for (let i = start; i < end; i++) state = descriptorStep(state, b[i]!);
  return state >> 1;
}

/** One character of a descriptor: `state` is the count so far × 2, + 1 inside a class name. */
function descriptorStep(state: number, c: number): number {
  if ((state & 1) !== 0) return c === 0x3b ? state - 1 : state; // ';' ends the class name
  switch (c) {
    case 0x56: // V
    case 0x5a: // Z
    case 0x42: // B
    case 0x43: // C
    case 0x44: // D
    case 0x46: // F
    case 0x49: // I
    case 0x4a: // J
    case 0x53: // S
      return state + 2;
    case 0x4c: // L
      return state + 3;
  }
  return state;
}

/**
 * Records string keys with string, int or long values (an int becomes its decimal text when read, as
 * dubbo2.js writes `timeout` as an int, which MOSN would drop); other entries are skipped by structure.
 */
function scanAttachments(r: Hessian2Reader, scan: number[], budget: number, leading: number): void {
  const start = r.pos;
  r.readMapStart();
  while (!r.nextIsEnd()) {
    const keyAt = r.pos;
    let keyStart = -2; // no string key
    let keyEnd = 0;
    if (r.peekKind() === Kind.String) {
      r.scanString();
      keyStart = r.spanStart;
      keyEnd = r.spanEnd;
    } else r.skipValue();
    const valueAt = r.pos;
    const kind = r.peekKind();
    let valueKind = -1; // not kept
    let a = 0;
    let b = 0;
    if (kind === Kind.String) {
      r.scanString();
      if (r.spanStart >= 0) {
        valueKind = V_ASCII;
        a = r.spanStart;
        b = r.spanEnd;
      } else {
        valueKind = V_STRING;
        a = valueAt;
      }
    } else if (kind === Kind.Int) {
      valueKind = V_INT;
      a = r.readInt();
    } else if (kind === Kind.Long) {
      r.readLongText(); // read, not skipped: the same checks (and errors) as when it is kept
      valueKind = V_LONG;
      a = valueAt;
    } else r.skipValue();
    if (r.pos - start > budget) throw overLimit(leading + r.pos - start, leading + budget);
    if (keyStart === -2 || valueKind < 0) continue;
    if (keyStart < 0) {
      scan[SCAN_ASCII_KEYS] = 0;
      scan[words] = -1;
      scan[words + 1] = keyAt;
    } else {
      scan[words] = keyStart;
      scan[words + 1] = keyEnd;
    }
    words = put3(scan, words + 2, valueKind, a, b);
  }
  r.readEnd();
}

function put(names: string[], values: string[], name: string, value: string): void {
  const i = names.indexOf(name);
  if (i >= 0) values[i] = value;
  else {
    names.push(name);
    values.push(value);
  }
}

/** Checks that a leading field is a string and records its value triple. */
function field(r: Hessian2Reader, what: string, scan: number[]): void {
  if (r.atEnd) throw new Hessian2Error(`the ${what} is missing`);
  const at = r.pos;
  if (r.peekKind() !== Kind.String) throw new Hessian2Error(`the ${what} is not a string (byte ${r.pos})`);
  r.scanString();
  words = r.spanStart >= 0
    ? put3(scan, words, V_ASCII, r.spanStart, r.spanEnd)
    : put3(scan, words, V_STRING, at, 0);
}

/** The argument count of the type descriptor (a string field), from its bytes when they are ASCII. */
function countDescriptorArguments(r: Hessian2Reader, buf: Uint8Array): number {
  if (r.atEnd) throw new Hessian2Error(`the argument type descriptor is missing`);
  const at = r.pos;
  if (r.peekKind() !== Kind.String) {
    throw new Hessian2Error(`the argument type descriptor is not a string (byte ${r.pos})`);
  }
  r.scanString();
  if (r.spanStart >= 0) return countArgumentBytes(buf, r.spanStart, r.spanEnd);
  const end = r.pos;
  r.pos = at;
  const desc = r.readString();
  r.pos = end;
  return countArguments(desc);
}

function overLimit(bytes: number, limit: number): Hessian2Error {
  return new Hessian2Error(
    `the invocation's metadata (version, path, method, attachments) takes ${bytes} bytes or more, ` +
      `over the limit of ${limit} (max_header_size)`,
  );
}
