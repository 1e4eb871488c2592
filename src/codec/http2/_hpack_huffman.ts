/**
 * The HPACK Huffman code (RFC 7541 Appendix B).
 *
 * The code is canonical (codes of one length are consecutive, in symbol order, and shorter codes sort
 * first), so the 257 code lengths define it completely; the codes and the decoder's state machine are
 * built from them when the module loads.
 *
 * Decoding walks the code tree four bits at a time: each of the 256 internal nodes has 16 precomputed
 * transitions (next node, at most one emitted symbol since no code is shorter than five bits, or failure
 * on EOS), two table loads per input byte and no per-bit branching.
 *
 * @module
 */

/** Code length in bits of each symbol 0–255 and EOS (256), from RFC 7541 Appendix B. */
const LENGTHS = [
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6,
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10,
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6,
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5,
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28,
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23,
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24,
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23,
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23,
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25,
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27,
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23,
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26,
  30,
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

// Decoder state machine. A transition entry packs: bits 0–7 next node, bits 8–15 the emitted symbol,
// bit 16 "emits", bit 17 "fails" (EOS reached).
const EMIT = 1 << 16;
const FAIL = 1 << 17;
const NODES = 256;
/** TRANSITIONS[node * 16 + nibble]. */
const TRANSITIONS = new Uint32Array(NODES * 16);
/** 1 where ending the input at this node is valid padding: the path is all ones and under 8 bits. */
const ACCEPTS = new Uint8Array(NODES);

{
  // The code tree: internal nodes 0..255 (0 is the root); a child is a node id, or ~symbol for a leaf.
  const child = new Int32Array(NODES * 2).fill(NODES); // NODES = not yet assigned
  const depth = new Uint8Array(NODES);
  const ones = new Uint8Array(NODES);
  ones[0] = 1;
  let next = 1;
  for (let s = 0; s <= EOS; s++) {
    const len = LENGTHS[s]!;
    const code = HUFFMAN_CODES[s]!;
    let node = 0;
    for (let b = len - 1; b > 0; b--) {
      const bit = (code >>> b) & 1;
      let c = child[node * 2 + bit]!;
      if (c === NODES) {
        c = next++;
        child[node * 2 + bit] = c;
        depth[c] = depth[node]! + 1;
        ones[c] = ones[node]! & bit;
      }
      node = c;
    }
    child[node * 2 + (code & 1)] = ~s;
  }
  if (next !== NODES) throw new Error("Cannot build the Huffman decoder: the code is not a full tree");

  for (let node = 0; node < NODES; node++) {
    ACCEPTS[node] = ones[node]! && depth[node]! < 8 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let at = node;
      let entry = 0;
      for (let b = 3; b >= 0; b--) {
        const c = child[at * 2 + ((nibble >>> b) & 1)]!;
        if (c >= 0) {
          at = c;
          continue;
        }
        const sym = ~c;
        if (sym === EOS) {
          entry = FAIL;
          break;
        }
        entry = EMIT | (sym << 8);
        at = 0;
      }
      TRANSITIONS[node * 16 + nibble] = entry | (entry & FAIL ? 0 : at);
    }
  }
}

/**
 * Decodes the Huffman-coded bytes `src[start, end)` into `dst` from `dstStart`, writing at most up to
 * `dstLimit` (exclusive). Returns the decoded length, which is the true length even when it is larger
 * than the room given (the rest is still validated, not written), or -1 when the input is invalid per
 * RFC 7541 §5.2: padding longer than 7 bits, padding that is not a prefix of EOS, or EOS inside the data.
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstStart: number,
  dstLimit: number,
): number {
  const t = TRANSITIONS;
  let node = 0;
  let o = dstStart;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    let e = t[(node << 4) | (byte >>> 4)]!;
    if (e & (EMIT | FAIL)) {
      if (e & FAIL) return -1;
      if (o < dstLimit) dst[o] = e >>> 8;
      o++;
    }
    node = e & 0xff;
    e = t[(node << 4) | (byte & 0xf)]!;
    if (e & (EMIT | FAIL)) {
      if (e & FAIL) return -1;
      if (o < dstLimit) dst[o] = e >>> 8;
      o++;
    }
    node = e & 0xff;
  }
  return ACCEPTS[node] ? o - dstStart : -1;
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

/**
 * Writes the Huffman coding of `s` at `dst[off]` and returns the offset after it; the caller made room
 * for `huffmanEncodedLength(s)` bytes. Padding is the leading bits of EOS (all ones).
 */
export function huffmanEncode(s: string, dst: Uint8Array, off: number): number {
  const codes = HUFFMAN_CODES;
  const lens = HUFFMAN_LENGTHS;
  // Pending bits sit in the low `n` bits of `acc`; n < 8 between symbols, so a code of up to 24 bits fits
  // in the 32-bit register directly and a longer one goes in two parts. Bits above n are stale, never read.
  let acc = 0;
  let n = 0;
  let o = off;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c > 0xff) c = 63;
    const code = codes[c]!;
    const len = lens[c]!;
    if (len <= 24) {
      acc = (acc << len) | code;
      n += len;
    } else {
      acc = (acc << (len - 16)) | (code >>> 16);
      n += len - 16;
      while (n >= 8) {
        n -= 8;
        dst[o++] = acc >>> n;
      }
      acc = (acc << 16) | (code & 0xffff);
      n += 16;
    }
    while (n >= 8) {
      n -= 8;
      dst[o++] = acc >>> n;
    }
  }
  if (n > 0) dst[o++] = (acc << (8 - n)) | (0xff >>> n);
  return o;
}
