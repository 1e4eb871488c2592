/** Byte classes for RFC 9110/9112 parsing, as lookup tables (one load per byte, no regex). */

/** tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TOKEN: Uint8Array = new Uint8Array(256);
/** field-value octets: VCHAR, SP, HTAB, obs-text. Excludes every other CTL (and so CR, LF, NUL). */
export const FIELD_VALUE: Uint8Array = new Uint8Array(256);

for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TOKEN[ch.charCodeAt(0)] = 1;
for (let c = 0x20; c <= 0xff; c++) FIELD_VALUE[c] = c === 0x7f ? 0 : 1;
FIELD_VALUE[0x09] = 1;

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
export const COLON = 58;

const utf8 = new TextDecoder();

/**
 * Decodes bytes as latin1 (one char per byte) so that re-encoding gives the same bytes.
 * Pure ASCII goes through the UTF-8 TextDecoder (a fast native op, ~100 ns for a whole head); bytes
 * ≥ 0x80 need String.fromCharCode because TextDecoder("latin1") is really windows-1252.
 */
export function decodeLatin1(b: Uint8Array, start: number, end: number, ascii: boolean): string {
  if (ascii) return utf8.decode(b.subarray(start, end));
  let s = "";
  for (let i = start; i < end; i += 4096) {
    const j = i + 4096 < end ? i + 4096 : end;
    s += String.fromCharCode.apply(null, b.subarray(i, j) as unknown as number[]);
  }
  return s;
}

/** Lowercase ASCII bytes of a literal, for byte-wise case-insensitive name comparison. */
export function lit(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** True when b[p, p+l.length) equals the lowercase literal l, ignoring ASCII case (b holds tokens). */
export function eqLower(b: Uint8Array, p: number, l: Uint8Array): boolean {
  for (let i = 0; i < l.length; i++) {
    if ((b[p + i] | 0x20) !== l[i]) return false;
  }
  return true;
}

/** Case-insensitive name equality where `lower` is already lowercase; allocates only on a length match. */
export function sameName(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}
