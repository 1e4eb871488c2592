/**
 * Character sets for the RE2 translator: sorted, merged `[lo, hi]` code-unit ranges (flat pairs) within
 * the BMP, the Perl and POSIX classes RE2 knows, case folding, and rendering as JavaScript source for a
 * RegExp without the `u` or `i` flag (the only kind V8's linear-time engine runs).
 */

/** Flat `[lo0, hi0, lo1, hi1, …]`, inclusive, sorted, neither overlapping nor touching. */
export type Ranges = readonly number[];

/** Input is matched per UTF-16 code unit, so every set lives in U+0000–U+FFFF. */
export const MAX_CHAR = 0xffff;

/** Sorts and merges raw pairs (any order, may overlap) into {@link Ranges}. */
export function cleanRanges(raw: readonly number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) {
      if (hi > out[n - 1]!) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

/** Everything in U+0000–U+FFFF that `set` lacks. */
export function negateRanges(set: Ranges): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < set.length; i += 2) {
    if (set[i]! > next) out.push(next, set[i]! - 1);
    next = set[i + 1]! + 1;
  }
  if (next <= MAX_CHAR) out.push(next, MAX_CHAR);
  return out;
}

/** `set` plus every character that case-folds to one of its members (RE2 `(?i)`). */
export function foldRanges(set: Ranges): number[] {
  const raw = [...set];
  if (set.length === 0 || set[set.length - 1]! < 0x80) {
    for (let i = 0; i < set.length; i += 2) {
      for (let c = set[i]!; c <= set[i + 1]!; c++) {
        const orbit = foldOrbit(c);
        for (let j = 1; j < orbit.length; j++) raw.push(orbit[j]!, orbit[j]!);
      }
    }
  } else {
    for (const c of foldedOutside(set)) raw.push(c, c);
  }
  return cleanRanges(raw);
}

/**
 * The characters equal to `c` under simple case folding, `c` first. ASCII is spelled out (RE2 folds `k`
 * with U+212A KELVIN SIGN and `s` with U+017F LONG S); beyond it, Unicode's simple case folding.
 */
export function foldOrbit(c: number): readonly number[] {
  if (c < 0x80) {
    const lower = c | 0x20;
    if (lower < 0x61 || lower > 0x7a) return [c];
    const other = c ^ 0x20;
    if (lower === 0x6b) return [c, other, 0x212a];
    if (lower === 0x73) return [c, other, 0x17f];
    return [c, other];
  }
  return [c, ...foldedOutside([c, c])];
}

let bmp: string | undefined;

/**
 * The characters outside `set` that match it case-insensitively. JavaScript's `iu` matching compares
 * by Unicode simple case folding, as RE2 does; this runs once per folded class at compile time, over
 * a fixed string of every BMP character, never over request input.
 */
function foldedOutside(set: Ranges): number[] {
  if (bmp === undefined) {
    let text = "";
    for (let c = 0; c <= MAX_CHAR; c += 4096) {
      const units: number[] = [];
      for (let u = c; u < c + 4096; u++) if (u < 0xd800 || u > 0xdfff) units.push(u);
      text += String.fromCharCode(...units);
    }
    bmp = text;
  }
  const out: number[] = [];
  for (const m of bmp.matchAll(new RegExp(`[${rangesBody(set)}]`, "giu"))) {
    const c = m[0].charCodeAt(0);
    if (!inRanges(set, c)) out.push(c);
  }
  return out;
}

function inRanges(set: Ranges, c: number): boolean {
  let lo = 0;
  let hi = set.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < set[2 * mid]!) hi = mid - 1;
    else if (c > set[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];

/** Perl classes: RE2's `\s` is `[\t\n\f\r ]` (no `\v`), and all three are ASCII-only. */
export const PERL_CLASSES: Readonly<Record<string, Ranges>> = {
  d: DIGIT,
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: WORD,
};

/** POSIX classes inside brackets, `[[:alpha:]]`; all ASCII, as in RE2. */
export const POSIX_CLASSES: Readonly<Record<string, Ranges>> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: DIGIT,
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: WORD,
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

/** JavaScript source matching one character of `set`: a literal, `[...]`, `[^...]`, `[]` or `[^]`. */
export function rangesToSource(set: Ranges): string {
  if (set.length === 2 && set[0] === set[1]) return literalSource(set[0]!);
  const complement = negateRanges(set);
  if (complement.length === 0) return "[^]";
  // Whichever side needs fewer ranges reads better and compiles to a smaller class.
  if (complement.length < set.length) return `[^${rangesBody(complement)}]`;
  return `[${rangesBody(set)}]`;
}

function rangesBody(set: Ranges): string {
  let out = "";
  for (let i = 0; i < set.length; i += 2) {
    const lo = set[i]!;
    const hi = set[i + 1]!;
    out += classCharSource(lo);
    if (hi === lo + 1) out += classCharSource(hi);
    else if (hi > lo) out += "-" + classCharSource(hi);
  }
  return out;
}

const SYNTAX = new Set("\\^$.|?*+()[]{}".split("").map((c) => c.charCodeAt(0)));
const CLASS_SYNTAX = new Set("\\]^-[".split("").map((c) => c.charCodeAt(0)));

/** One character as JavaScript regexp source outside a class. */
export function literalSource(c: number): string {
  if (SYNTAX.has(c)) return "\\" + String.fromCharCode(c);
  return printable(c) ? String.fromCharCode(c) : hexEscape(c);
}

function classCharSource(c: number): string {
  if (CLASS_SYNTAX.has(c)) return "\\" + String.fromCharCode(c);
  return printable(c) ? String.fromCharCode(c) : hexEscape(c);
}

function printable(c: number): boolean {
  return c >= 0x20 && c < 0x7f;
}

function hexEscape(c: number): string {
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, "0")}` : `\\u${c.toString(16).padStart(4, "0")}`;
}
