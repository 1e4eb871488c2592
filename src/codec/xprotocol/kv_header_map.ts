import type { HeaderMap } from "../types.ts";
import { decodeString, readU32 } from "./bytes.ts";

/** A u32 length that stands for a null key or value (the entry is dropped). */
const NULL_LENGTH = 0xffffffff;
/** Lookups answered from the raw bytes before the map decodes itself (long values are not interned). */
const RAW_LOOKUPS = 4;

/**
 * An ordered header map for RPC protocols without repeated headers (bolt, dubbo attachments).
 *
 * Keys keep the case they arrived with; lookups are case-insensitive. `dirty` records any edit, so a
 * codec can forward the original frame untouched when nothing changed and re-encode otherwise.
 *
 * A map read from a frame (`fromLengthPrefixed`) starts out undecoded: `get`/`has` scan the frame's
 * bytes, comparing keys byte by byte and decoding only the value asked for (short ASCII values come
 * from the intern table), so the usual life of an RPC header map — one or two lookups by the router,
 * then the frame forwarded as it came — allocates no arrays and no strings. The first edit, `forEach`,
 * `size`, or a few lookups decode it into arrays; it behaves the same either way.
 */
export class KvHeaderMap implements HeaderMap {
  #names: string[];
  #values: string[];
  /** Lowercased names, built on the first lookup (most frames are looked up once or twice). */
  #lower: string[] | undefined;
  #dirty = false;
  /** The undecoded entries: `#raw[#rawStart, #rawEnd)`, u32-length-prefixed key and value pairs. */
  #raw: Uint8Array | undefined;
  #rawStart = 0;
  #rawEnd = 0;
  #rawLookups = 0;
  /** Every raw key is ASCII, so a byte compare folding ASCII case is exactly the decoded map's rule. */
  #asciiKeys = false;

  constructor(names: string[] = [], values: string[] = []) {
    this.#names = names;
    this.#values = values;
  }

  /**
   * The map held in `b[start, end)` as u32-big-endian-length-prefixed key, value, key, value… (bolt's
   * header map; a length of 0xFFFFFFFF is a null key or value and drops its entry), left undecoded:
   * `b` must not change while the map is in use. Undefined when an entry overruns `end`.
   */
  static fromLengthPrefixed(b: Uint8Array, start: number, end: number): KvHeaderMap | undefined {
    let asciiKeys = true;
    let i = start;
    while (i < end) {
      if (i + 4 > end) return undefined;
      const kl = readU32(b, i);
      i += 4;
      if (kl !== NULL_LENGTH) {
        if (kl > end - i) return undefined;
        const ke = i + kl;
        for (; asciiKeys && i < ke; i++) if (b[i] >= 0x80) asciiKeys = false;
        i = ke;
      }
      if (i + 4 > end) return undefined;
      const vl = readU32(b, i);
      i += 4;
      if (vl !== NULL_LENGTH) {
        if (vl > end - i) return undefined;
        i += vl;
      }
    }
    // No arrays until it decodes: every path that reads or edits them decodes first.
    const map = new KvHeaderMap(UNDECODED, UNDECODED);
    map.#raw = b;
    map.#rawStart = start;
    map.#rawEnd = end;
    map.#asciiKeys = asciiKeys;
    return map;
  }

  /**
   * True when both maps are still the undecoded, unedited bytes of their frames and those bytes are
   * equal: the same entries in the same order (decoding is deterministic). False otherwise, even for
   * equal decoded maps: the answer must be cheap and never wrong.
   */
  sameEntries(other: HeaderMap): boolean {
    if (!(other instanceof KvHeaderMap)) return false;
    const a = this.#raw;
    const b = other.#raw;
    if (a === undefined || b === undefined || this.#dirty || other.#dirty) return false;
    const n = this.#rawEnd - this.#rawStart;
    if (other.#rawEnd - other.#rawStart !== n) return false;
    const ai = this.#rawStart;
    const bi = other.#rawStart;
    if (a === b && ai === bi) return true;
    for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
    return true;
  }

  /** True once set/add/delete changed the map since it was decoded. */
  get dirty(): boolean {
    return this.#dirty;
  }

  get size(): number {
    if (this.#raw !== undefined) this.#decode();
    return this.#names.length;
  }

  /** Decodes the raw entries into the arrays (once). */
  #decode(): void {
    const b = this.#raw!;
    this.#raw = undefined;
    const end = this.#rawEnd;
    const names: string[] = this.#names = [];
    const values: string[] = this.#values = [];
    let i = this.#rawStart;
    while (i < end) {
      const kl = readU32(b, i);
      i += 4;
      let key: string | undefined;
      if (kl !== NULL_LENGTH) {
        key = decodeString(b, i, i + kl);
        i += kl;
      }
      const vl = readU32(b, i);
      i += 4;
      let value: string | undefined;
      if (vl !== NULL_LENGTH) {
        value = decodeString(b, i, i + vl);
        i += vl;
      }
      if (key !== undefined && value !== undefined) {
        names.push(key);
        values.push(value);
      }
    }
  }

  /**
   * Looks `name` up in the raw bytes with #indexOf's rules (the first key equal to it, else the first
   * equal ignoring case) and leaves the value's [start, end) in `scratch`. True found, false absent;
   * undefined when the byte compare cannot decide: `name` or some key is not ASCII, and Unicode case
   * folding (U+212A KELVIN SIGN lowercases to "k") is the decoded map's business.
   */
  #rawFind(name: string): boolean | undefined {
    if (!this.#asciiKeys) return undefined;
    const n = name.length;
    for (let c = 0; c < n; c++) if (name.charCodeAt(c) >= 0x80) return undefined;
    const b = this.#raw!;
    const end = this.#rawEnd;
    let foldStart = -1;
    let foldEnd = -1;
    let i = this.#rawStart;
    while (i < end) {
      const kl = readU32(b, i);
      const ks = i + 4;
      i = kl === NULL_LENGTH ? ks : ks + kl;
      const vl = readU32(b, i);
      const vs = i + 4;
      i = vl === NULL_LENGTH ? vs : vs + vl;
      // A null key or value drops the entry; a key of another length cannot match (all are ASCII).
      if (kl !== n || vl === NULL_LENGTH) continue;
      let exact = true;
      let k = 0;
      for (; k < n; k++) {
        const x = b[ks + k];
        const y = name.charCodeAt(k);
        if (x === y) continue;
        exact = false;
        const lx = x | 0x20;
        if (lx !== (y | 0x20) || lx < 0x61 || lx > 0x7a) break;
      }
      if (k < n) continue;
      if (exact) {
        scratch[0] = vs;
        scratch[1] = vs + vl;
        return true;
      }
      if (foldStart < 0) {
        foldStart = vs;
        foldEnd = vs + vl;
      }
    }
    if (foldStart < 0) return false;
    scratch[0] = foldStart;
    scratch[1] = foldEnd;
    return true;
  }

  #indexOf(name: string): number {
    if (this.#raw !== undefined) this.#decode();
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === name) return i;
    }
    const lower = this.#lower ??= names.map(toLower);
    const key = name.toLowerCase();
    for (let i = 0; i < lower.length; i++) {
      if (lower[i] === key) return i;
    }
    return -1;
  }

  get(name: string): string | undefined {
    if (this.#raw !== undefined && this.#rawLookups++ < RAW_LOOKUPS) {
      const found = this.#rawFind(name);
      if (found === false) return undefined;
      if (found === true) return decodeString(this.#raw!, scratch[0]!, scratch[1]!);
    }
    const i = this.#indexOf(name);
    return i < 0 ? undefined : this.#values[i];
  }

  has(name: string): boolean {
    if (this.#raw !== undefined && this.#rawLookups++ < RAW_LOOKUPS) {
      const found = this.#rawFind(name);
      if (found !== undefined) return found;
    }
    return this.#indexOf(name) >= 0;
  }

  set(name: string, value: string): void {
    const i = this.#indexOf(name);
    if (i >= 0) {
      if (this.#values[i] === value) return;
      this.#values[i] = value;
    } else {
      this.#names.push(name);
      this.#values.push(value);
      this.#lower?.push(name.toLowerCase());
    }
    this.#dirty = true;
  }

  /** Replaces: these protocols carry one value per key. */
  add(name: string, value: string): void {
    this.set(name, value);
  }

  delete(name: string): void {
    const i = this.#indexOf(name);
    if (i < 0) return;
    this.#names.splice(i, 1);
    this.#values.splice(i, 1);
    this.#lower?.splice(i, 1);
    this.#dirty = true;
  }

  forEach(fn: (value: string, name: string) => void): void {
    if (this.#raw !== undefined) this.#decode();
    const names = this.#names;
    const values = this.#values;
    for (let i = 0; i < names.length; i++) fn(values[i], names[i]);
  }
}

/** The arrays of a map not decoded yet (never read or written: the map decodes first). */
const UNDECODED: string[] = Object.freeze([]) as unknown as string[];

/** Where #rawFind leaves the value it found (no tuple allocated per lookup). */
const scratch = new Int32Array(2);

function toLower(s: string): string {
  return s.toLowerCase();
}
