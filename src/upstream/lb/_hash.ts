/**
 * 64-bit FNV-1a over the UTF-8 bytes of a string, reduced modulo `m` (< 2^21), without BigInt. The
 * state is four 16-bit limbs so every step stays in small-integer arithmetic; ASCII keys (addresses,
 * header values) hash without allocating.
 */
export function fnv1a64Mod(s: string, m: number, seed = 0): number {
  init(seed);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return fnvBytes(new TextEncoder().encode(s), m, seed);
    step(c);
  }
  return reduce(h0, h1, h2, h3, m);
}

function fnvBytes(bytes: Uint8Array, m: number, seed: number): number {
  init(seed);
  for (let i = 0; i < bytes.length; i++) step(bytes[i]!);
  return reduce(h0, h1, h2, h3, m);
}

// The hash state as four 16-bit limbs, module-level so a hash allocates nothing (hashing is synchronous).
let h0 = 0, h1 = 0, h2 = 0, h3 = 0;

function init(seed: number): void {
  h0 = 0x2325;
  h1 = 0x8422;
  h2 = 0x9ce4 ^ (seed & 0xffff);
  h3 = 0xcbf2 ^ ((seed >>> 16) & 0xffff);
}

/** h ^= byte; h *= 2^40 + 0x1b3 (mod 2^64). */
function step(byte: number): void {
  h0 ^= byte;
  const t0 = h0 * 0x1b3;
  let t1 = h1 * 0x1b3;
  let t2 = h2 * 0x1b3 + (h0 << 8);
  let t3 = h3 * 0x1b3 + (h1 << 8);
  t1 += t0 >>> 16;
  h0 = t0 & 0xffff;
  t2 += t1 >>> 16;
  h1 = t1 & 0xffff;
  t3 += t2 >>> 16;
  h2 = t2 & 0xffff;
  h3 = t3 & 0xffff;
}

/** (h3·2^48 + h2·2^32 + h1·2^16 + h0) mod m by Horner's rule; each product stays below 2^37. */
function reduce(h0: number, h1: number, h2: number, h3: number, m: number): number {
  let r = h3 % m;
  r = (r * 65536 + h2) % m;
  r = (r * 65536 + h1) % m;
  return (r * 65536 + h0) % m;
}
