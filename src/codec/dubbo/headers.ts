/**
 * A dubbo call's headers, read from its frame only when asked. Decoding every field of every call
 * (about fifteen strings for dubbo2.js's sayHello, each hashed and compared for interning, and an
 * indexOf per attachment) cost more than everything else the codec does, while the proxy usually asks
 * for one or two values (the router's `service`, the `timeout`). So the map keeps the frame and the
 * positions `scanInvocation` recorded, and answers `get`/`has` of ASCII names by comparing key bytes.
 *
 * It has no `sameEntries` (the router's last-match shortcut): comparing a call's metadata bytes with the
 * previous call's (~220 for sayHello) cost more in a profile (6 % of meshctl's samples) than the
 * `service` lookup and match it would save.
 *
 * It behaves exactly as the decoded map (`KvHeaderMap` over `decodeHeaders`' arrays), which it turns
 * into on the first edit, `forEach`, `size`, or a lookup the byte compare cannot decide (a non-ASCII
 * name, or a key that is not one chunk of ASCII: Unicode case folding is the decoded map's business).
 */
import type { HeaderMap } from "../types.ts";
import { KvHeaderMap } from "../xprotocol/mod.ts";
import {
  HEADER_DUBBO_VERSION,
  HEADER_INTERFACE,
  HEADER_METHOD,
  HEADER_SERVICE,
  HEADER_VERSION,
} from "./constants.ts";
import {
  decodeHeaders,
  ENTRY_WORDS,
  SCAN_ASCII_KEYS,
  SCAN_DUBBO,
  SCAN_FIXED,
  SCAN_METHOD,
  SCAN_SERVICE,
  SCAN_VERSION,
  scanValue,
  V_INT,
} from "./invocation.ts";

/** The four leading fields' names, in the decoded map's order. */
const LEADING: readonly string[] = [HEADER_DUBBO_VERSION, HEADER_SERVICE, HEADER_VERSION, HEADER_METHOD];

export class DubboHeaderMap implements HeaderMap {
  readonly #frame: Uint8Array;
  /** `scanInvocation`'s record (layout in invocation.ts). */
  readonly #scan: readonly number[];
  /** The decoded map, once something needed it; from then on every call goes to it. */
  #decoded: KvHeaderMap | undefined;

  constructor(frame: Uint8Array, scan: readonly number[]) {
    this.#frame = frame;
    this.#scan = scan;
  }

  get(name: string): string | undefined {
    if (this.#decoded !== undefined) return this.#decoded.get(name);
    const at = this.#find(name);
    if (at === UNDECIDED) return this.#decode().get(name);
    return at < 0 ? undefined : scanValue(this.#frame, this.#scan, at);
  }

  has(name: string): boolean {
    if (this.#decoded !== undefined) return this.#decoded.has(name);
    const at = this.#find(name);
    if (at === UNDECIDED) return this.#decode().has(name);
    return at >= 0;
  }

  /**
   * The number `get(name)` would give as decimal text when that value is a hessian2 int on the wire
   * (dubbo2.js writes `timeout` so), else undefined: read `get(name)` then. Spares making the text.
   */
  intValue(name: string): number | undefined {
    if (this.#decoded !== undefined) return undefined;
    const at = this.#find(name);
    return at >= 0 && this.#scan[at] === V_INT ? this.#scan[at + 1] : undefined;
  }

  set(name: string, value: string): void {
    this.#decode().set(name, value);
  }

  add(name: string, value: string): void {
    this.#decode().add(name, value);
  }

  delete(name: string): void {
    this.#decode().delete(name);
  }

  forEach(fn: (value: string, name: string) => void): void {
    this.#decode().forEach(fn);
  }

  get size(): number {
    return this.#decode().size;
  }

  #decode(): KvHeaderMap {
    if (this.#decoded === undefined) {
      const names: string[] = [];
      const values: string[] = [];
      decodeHeaders(this.#frame, this.#scan, names, values);
      this.#decoded = new KvHeaderMap(names, values);
    }
    return this.#decoded;
  }

  /**
   * Where the value `get(name)` returns is (a value slot in the scan), NOT_FOUND, or UNDECIDED when
   * only the decoded map can tell. The decoded map's rule: the name equal to `name`, else the first
   * name (in its order: the leading four, then attachment keys as first seen) equal ignoring case; a
   * name's value is its last assignment, and `service`'s is the last `interface` attachment's if any.
   */
  #find(name: string): number {
    const scan = this.#scan;
    if (scan[SCAN_ASCII_KEYS] !== 1) return UNDECIDED;
    const n = name.length;
    for (let i = 0; i < n; i++) if (name.charCodeAt(i) >= 0x80) return UNDECIDED;
    const exact = this.#exact(name);
    if (exact !== NOT_FOUND) return exact;
    for (let i = 0; i < LEADING.length; i++) {
      const leading = LEADING[i]!;
      if (foldEquals(leading, name)) return this.#exact(leading);
    }
    const frame = this.#frame;
    for (let e = SCAN_FIXED; e < scan.length; e += ENTRY_WORDS) {
      const ks = scan[e]!;
      if (scan[e + 1]! - ks === n && keyFoldEquals(frame, ks, name)) return this.#lastEntry(frame, ks, n);
    }
    return NOT_FOUND;
  }

  /** The value slot of the name exactly equal to `name` (ASCII, every key ASCII), or NOT_FOUND. */
  #exact(name: string): number {
    if (name === HEADER_SERVICE) {
      const iface = this.#lastEntryNamed(HEADER_INTERFACE);
      if (iface !== NOT_FOUND) return iface;
      const service = this.#lastEntryNamed(HEADER_SERVICE);
      return service !== NOT_FOUND ? service : SCAN_SERVICE;
    }
    const at = this.#lastEntryNamed(name);
    if (at !== NOT_FOUND) return at;
    if (name === HEADER_DUBBO_VERSION) return SCAN_DUBBO;
    if (name === HEADER_VERSION) return SCAN_VERSION;
    if (name === HEADER_METHOD) return SCAN_METHOD;
    return NOT_FOUND;
  }

  /** The value slot of the last attachment whose key is exactly `name`, or NOT_FOUND. */
  #lastEntryNamed(name: string): number {
    const scan = this.#scan;
    const frame = this.#frame;
    const n = name.length;
    outer: for (let e = scan.length - ENTRY_WORDS; e >= SCAN_FIXED; e -= ENTRY_WORDS) {
      const ks = scan[e]!;
      if (scan[e + 1]! - ks !== n) continue;
      for (let k = 0; k < n; k++) if (frame[ks + k] !== name.charCodeAt(k)) continue outer;
      return e + 2;
    }
    return NOT_FOUND;
  }

  /** The value slot of the last attachment whose key has the same bytes as `frame[ks, ks + n)`. */
  #lastEntry(frame: Uint8Array, ks: number, n: number): number {
    const scan = this.#scan;
    outer: for (let e = scan.length - ENTRY_WORDS; e >= SCAN_FIXED; e -= ENTRY_WORDS) {
      const s = scan[e]!;
      if (scan[e + 1]! - s !== n) continue;
      for (let k = 0; k < n; k++) if (frame[s + k] !== frame[ks + k]) continue outer;
      return e + 2;
    }
    return NOT_FOUND; // unreachable: the key at ks is itself an entry
  }
}

const NOT_FOUND = -1;
const UNDECIDED = -2;

/** ASCII strings equal ignoring ASCII case (both ASCII: what toLowerCase() would compare). */
function foldEquals(a: string, b: string): boolean {
  const n = a.length;
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) if (foldByte(a.charCodeAt(i)) !== foldByte(b.charCodeAt(i))) return false;
  return true;
}

/** The ASCII key at `frame[ks..]` (length checked by the caller) equal to `name` ignoring ASCII case. */
function keyFoldEquals(frame: Uint8Array, ks: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) {
    if (foldByte(frame[ks + k]!) !== foldByte(name.charCodeAt(k))) return false;
  }
  return true;
}

function foldByte(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}
