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
 * Decodes `b[start, end)` as UTF-8. Short ASCII strings (header keys and values, class names) skip the
 * TextDecoder call, whose fixed cost dominates for a few dozen bytes.
 */
export function decodeString(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return "";
  if (n <= 64) {
    for (let i = start; i < end; i++) {
      if (b[i] >= 0x80) return utf8Decoder.decode(b.subarray(start, end));
    }
    // ASCII: one native call instead of a per-character concatenation.
    return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  }
  return utf8Decoder.decode(b.subarray(start, end));
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
