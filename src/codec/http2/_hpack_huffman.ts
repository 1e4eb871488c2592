/**
 * The HPACK Huffman code (RFC 7541 Appendix B).
 *
 * The code is canonical (codes of one length are consecutive, in symbol order, and shorter codes sort
 * first), so the 257 code lengths define it completely; the codes and the decoder's tables are built from
 * them when the module loads.
 *
 * Decoding looks up 12 bits at a time and emits the one or two symbols whose codes fit in them (a
 * 16 KiB table), about 1.5 symbols per lookup on header text; rarer, longer codes walk the tree.
 *
 * @module
 */

/** Code length in bits of each symbol 0–255 and EOS (256), from RFC 7541 Appendix B. */
// deno-fmt-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28,
  28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6,
  6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6,
  6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22,
  20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23,
  22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22,
  23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22,
  25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS = 256;

/** Code of each symbol, right-aligned (the RFC's "code as hex" column). */
export const HUFFMAN_CODES: Uint32Array = new Uint32Array(257);
/** Length in bits of each symbol's code. */
export const HUFFMAN_LENGTHS: Uint8Array = new Uint8Array(LENGTHS);

// Canonical assignment: walk symbols by (length, symbol); each code is the previous plus one, shifted
// left by the growth in length.
{
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let len = LENGTHS[order[0]!]!;
  for (let i = 0; i < order.length; i++) {
    const s = order[i]!;
    if (i > 0) code = (code + 1) * 2 ** (LENGTHS[s]! - len);
    len = LENGTHS[s]!;
    HUFFMAN_CODES[s] = code;
  }
}

// Decoding reads a window of the next 12 bits and looks it up: FAST[window] gives the one or two symbols
// whose codes fit in it. Codes of at most 12 bits cover the printable ASCII most headers consist of; a
// window that starts with a longer code (or EOS) is resolved by walking the code tree bit by bit.
const WINDOW = 12;
/**
 * FAST entry: bits 0–7 first symbol, 8–15 second symbol, 16–17 how many (0 = longer code, walk the
 * tree), 18–21 length of the first code, 22–25 length of both.
 */
const FAST = new Int32Array(1 << WINDOW);
/** The code tree: CHILD[node * 2 + bit] is the next node, or ~symbol for a leaf; node 0 is the root. */
const CHILD = new Int32Array(512);

{
  const NODES = 256;
  CHILD.fill(NODES); // NODES = not yet assigned
  let next = 1;
  for (let s = 0; s <= EOS; s++) {
    const len = LENGTHS[s]!;
    const code = HUFFMAN_CODES[s]!;
    let node = 0;
    for (let b = len - 1; b > 0; b--) {
      const bit = (code >>> b) & 1;
      let c = CHILD[node * 2 + bit]!;
      if (c === NODES) CHILD[node * 2 + bit] = c = next++;
      node = c;
    }
    CHILD[node * 2 + (code & 1)] = ~s;
  }
  if (next !== NODES) throw new Error("Cannot build the Huffman decoder: the code is not a full tree");

  /** The symbol whose code starts at bit `from` (from the MSB) of `w`, as [symbol, length], if it fits. */
  const first = (w: number, from: number): [number, number] | undefined => {
    let node = 0;
    for (let b = from; b < WINDOW; b++) {
      const c = CHILD[node * 2 + ((w >>> (WINDOW - 1 - b)) & 1)]!;
      if (c < 0) return ~c === EOS ? undefined : [~c, b + 1 - from];
      node = c;
    }
    return undefined;
  };
  for (let w = 0; w < 1 << WINDOW; w++) {
    const a = first(w, 0);
    if (a === undefined) continue;
    const b = first(w, a[1]);
    FAST[w] = b === undefined
      ? a[0] | (1 << 16) | (a[1] << 18) | (a[1] << 22)
      : a[0] | (b[0] << 8) | (2 << 16) | (a[1] << 18) | ((a[1] + b[1]) << 22);
  }
}

/**
 * Room `huffmanDecode` needs for `n` encoded octets: the longest possible output (every code is at least
 * 5 bits) plus one octet it may write past the end.
 */
export function huffmanDecodeRoom(n: number): number {
  return Math.floor(n * 8 / 5) + 1;
}

/**
 * Decodes the Huffman-coded octets `src[start, end)` into `dst` from `dstStart`, which must have
 * `huffmanDecodeRoom(end - start)` octets of room (the loop stores unconditionally: a branch per store
 * cost more than the lookups). Returns the decoded length, or -1 when the input is invalid per RFC 7541
 * §5.2: padding longer than 7 bits, padding that is not a prefix of EOS, or EOS inside the data.
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstStart: number,
): number {
  const fast = FAST;
  // The unread bits are the low `bits` bits of `acc` (at most 32; bits above them are stale).
  let acc = 0;
  let bits = 0;
  let i = start;
  let o = dstStart;
  for (;;) {
    while (bits <= 24 && i < end) {
      acc = (acc << 8) | src[i++]!;
      bits += 8;
    }
    if (bits < WINDOW) break;
    const e = fast[(acc >>> (bits - WINDOW)) & 0xfff]!;
    if (e & 0x30000) {
      // The second store is overwritten later when the entry has one symbol.
      dst[o] = e;
      dst[o + 1] = e >>> 8;
      o += (e >>> 16) & 3;
      bits -= e >>> 22;
      continue;
    }
    // A code longer than the window: walk the tree, reading more input as needed.
    let node = 0;
    for (;;) {
      if (bits === 0) {
        if (i >= end) return -1; // an unfinished code of 12 bits or more: padding longer than 7 bits
        acc = src[i++]!;
        bits = 8;
      }
      bits--;
      const c = CHILD[node * 2 + ((acc >>> bits) & 1)]!;
      if (c >= 0) {
        node = c;
        continue;
      }
      if (c === ~EOS) return -1;
      dst[o++] = ~c;
      break;
    }
  }
  // Under 12 bits left and no more input: symbols whose codes fit, then the padding.
  while (bits > 0) {
    const pad = WINDOW - bits;
    const e = fast[((acc << pad) | ((1 << pad) - 1)) & 0xfff]!;
    const len = (e >>> 18) & 0xf;
    if ((e & 0x30000) === 0 || len > bits) break;
    dst[o++] = e;
    bits -= len;
  }
  // What is left must be under 8 bits, all ones (the start of EOS).
  const mask = (1 << bits) - 1;
  return bits < 8 && (acc & mask) === mask ? o - dstStart : -1;
}

/**
 * Bytes the Huffman coding of `s` takes (latin1: one byte per char; chars above 0xff count as "?",
 * which is what the encoder writes for them).
 */
export function huffmanEncodedLength(s: string): number {
  const lens = HUFFMAN_LENGTHS;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    bits += lens[c > 0xff ? 63 : c]!;
  }
  return (bits + 7) >>> 3;
}

/** Code and length packed (code << 5 | length) for symbols whose code is at most 24 bits; 0 otherwise. */
const PACKED = new Int32Array(256);
for (let c = 0; c < 256; c++) {
  if (HUFFMAN_LENGTHS[c]! <= 24) PACKED[c] = (HUFFMAN_CODES[c]! << 5) | HUFFMAN_LENGTHS[c]!;
}

/**
 * Writes the Huffman coding of `s` at `dst[off]` and returns the offset after it; the caller made room
 * for `huffmanEncodedLength(s)` bytes. Padding is the leading bits of EOS (all ones).
 */
export function huffmanEncode(s: string, dst: Uint8Array, off: number): number {
  const packed = PACKED;
  // Pending bits sit in the low `n` bits of `acc`; n < 8 between symbols, so a code of up to 24 bits fits
  // in the 32-bit register directly and a longer one goes in two parts. Bits above n are stale, never read.
  let acc = 0;
  let n = 0;
  let o = off;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c > 0xff) c = 63;
    const p = packed[c]!;
    if (p !== 0) {
      const len = p & 31;
      acc = (acc << len) | (p >>> 5);
      n += len;
    } else {
      const code = HUFFMAN_CODES[c]!;
      const len = HUFFMAN_LENGTHS[c]!;
      acc = (acc << (len - 16)) | (code >>> 16);
      n += len - 16;
      while (n >= 8) {
        n -= 8;
        dst[o++] = acc >>> n;
      }
      acc = (acc << 16) | (code & 0xffff);
      n += 16;
    }
    // At most 31 bits pending: two octets, then one, leave under 8.
    if (n >= 16) {
      n -= 16;
      const v = acc >>> n;
      dst[o] = v >>> 8;
      dst[o + 1] = v;
      o += 2;
    }
    if (n >= 8) {
      n -= 8;
      dst[o++] = acc >>> n;
    }
  }
  if (n > 0) dst[o++] = (acc << (8 - n)) | (0xff >>> n);
  return o;
}
