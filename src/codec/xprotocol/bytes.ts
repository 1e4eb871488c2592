/** Big-endian integer and string helpers shared by the framed RPC codecs. */

/** Reads a big-endian u16 at `off`. */
export function readU16(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

/** Reads a big-endian u32 at `off` (as a non-negative number). */
export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** Reads a big-endian i32 at `off`. */
export function readI32(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
}

export function writeU16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

/** Writes `v` as a big-endian u32 (i32 values wrap to their two's complement). */
export function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * Interned short ASCII strings. RPC header maps repeat the same keys and values (service, method,
 * class names) on nearly every frame; recognising the bytes and returning the string decoded last time
 * allocates nothing. A direct-mapped table keyed by an FNV-1a hash of the bytes, which are kept in one
 * flat buffer, so a miss (a unique trace id, say) costs a copy but no allocation beyond its string.
 */
const INTERN_SLOTS = 1024;
const INTERN_MAX = 64;
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX);
const internLen = new Int32Array(INTERN_SLOTS).fill(-1);
const internStr: string[] = new Array<string>(INTERN_SLOTS).fill("");

/** Decodes `b[start, end)` as UTF-8; short ASCII strings come from the intern table. */
export function decodeString(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return "";
  if (n > INTERN_MAX) return utf8Decoder.decode(b.subarray(start, end));
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c >= 0x80) return utf8Decoder.decode(b.subarray(start, end));
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const base = slot * INTERN_MAX;
  if (internLen[slot] === n) {
    let i = 0;
    while (i < n && internBytes[base + i] === b[start + i]) i++;
    if (i === n) return internStr[slot];
  }
  let str = "";
  for (let i = start; i < end; i++) str += String.fromCharCode(b[i]);
  internBytes.set(b.subarray(start, end), base);
  internLen[slot] = n;
  internStr[slot] = str;
  return str;
}

/** UTF-8 byte length of `s`, with an ASCII fast path. */
export function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      // Slow path only for non-ASCII strings.
      return utf8Encoder.encode(s).length;
    }
  }
  return n;
}

/** Writes `s` as UTF-8 at `off` and returns the offset after it. */
export function writeString(b: Uint8Array, off: number, s: string): number {
  const n = s.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      ascii = false;
      break;
    }
    b[off + i] = c;
  }
  if (ascii) return off + n;
  return off + utf8Encoder.encodeInto(s, b.subarray(off)).written;
}
