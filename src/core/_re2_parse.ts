/**
 * A parser for RE2 syntax as Go's `regexp/syntax` reads it with Perl flags (what `regexp.Compile`, and
 * so MOSN, accepts). Flags are resolved while parsing: the tree says exactly which characters each node
 * matches, so the emitter never needs JavaScript's `i`, `s` or `m` flags. Error messages are Go's.
 */
import {
  cleanRanges,
  foldOrbit,
  foldRanges,
  MAX_CHAR,
  negateRanges,
  PERL_CLASSES,
  POSIX_CLASSES,
  type Ranges,
} from "./_re2_charset.ts";

/** One node of a parsed RE2 expression. */
export type Re2Node =
  | { readonly kind: "empty" }
  | { readonly kind: "char"; readonly code: number }
  | { readonly kind: "class"; readonly ranges: Ranges }
  | { readonly kind: "anchor"; readonly anchor: Anchor }
  | { readonly kind: "capture"; readonly index: number; readonly sub: Re2Node }
  | Re2Repeat
  | { readonly kind: "concat"; readonly subs: readonly Re2Node[] }
  | { readonly kind: "alt"; readonly subs: readonly Re2Node[] };

/** `x*`, `x+`, `x?` and `x{n,m}`; `max` is -1 when unbounded. */
export interface Re2Repeat {
  readonly kind: "repeat";
  readonly min: number;
  readonly max: number;
  readonly greedy: boolean;
  /** Written as `{n,m}` (RE2 limits those). */
  readonly counted: boolean;
  readonly sub: Re2Node;
  /** The pattern text of the repetition, for messages. */
  readonly text: string;
}

/** Text start/end (`\A`, `\z`, `^`/`$` without `m`), line start/end (`m`), word boundaries. */
export type Anchor = "text_start" | "text_end" | "line_start" | "line_end" | "word" | "not_word";

/** A parsed pattern: its tree and the capture group names by RE2 group number ("" when unnamed). */
export interface Re2Tree {
  readonly root: Re2Node;
  /** Index 0 is the whole match. */
  readonly groupNames: readonly string[];
}

const FOLD = 1;
const MULTILINE = 2;
const DOT_NL = 4;
const UNGREEDY = 8;
const FLAG_BITS: Readonly<Record<string, number>> = { i: FOLD, m: MULTILINE, s: DOT_NL, U: UNGREEDY };

/** RE2's limit for one `{n,m}` and for the product of nested counts. */
const MAX_REPEAT = 1000;
/** RE2's limit on nesting, which also keeps this recursive parser far from the stack limit. */
const MAX_DEPTH = 1000;

const ANY: Ranges = [0, MAX_CHAR];
const ANY_NOT_NL: Ranges = [0, 0x09, 0x0b, MAX_CHAR];

/**
 * Parses `pattern` as RE2 syntax.
 * @throws {SyntaxError} with Go's message, e.g. "invalid escape sequence: `\1`"
 */
export function parseRe2(pattern: string): Re2Tree {
  return new Parser(pattern).parse();
}

function syntaxError(problem: string, expr: string): SyntaxError {
  return new SyntaxError(expr === "" ? problem : `${problem}: \`${expr}\``);
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

class Parser {
  readonly #src: string;
  #pos = 0;
  #flags = 0;
  #depth = 0;
  readonly #names: string[] = [""];

  constructor(src: string) {
    this.#src = src;
  }

  parse(): Re2Tree {
    const root = this.#alternation();
    if (this.#pos < this.#src.length) throw syntaxError("unexpected )", this.#src); // only ")" stops it
    return { root, groupNames: this.#names };
  }

  #at(i: number): number {
    return i < this.#src.length ? this.#src.charCodeAt(i) : -1;
  }

  #alternation(): Re2Node {
    const branches = [this.#concat()];
    while (this.#at(this.#pos) === 0x7c) {
      this.#pos++;
      branches.push(this.#concat());
    }
    return branches.length === 1 ? branches[0]! : { kind: "alt", subs: branches };
  }

  #concat(): Re2Node {
    const src = this.#src;
    const items: Re2Node[] = [];
    const starts: number[] = [];
    // Where the previous token began, when it was a repetition operator (RE2 rejects `a**`).
    let lastRepeat = -1;
    while (this.#pos < src.length) {
      const start = this.#pos;
      const c = src.charCodeAt(start);
      if (c === 0x7c || c === 0x29) break; // | )
      let repeat = -1;
      switch (c) {
        case 0x28: { // (
          const node = this.#group();
          if (node !== undefined) {
            items.push(node);
            starts.push(start);
          }
          break;
        }
        case 0x5e: // ^
          this.#pos++;
          items.push({ kind: "anchor", anchor: this.#flags & MULTILINE ? "line_start" : "text_start" });
          starts.push(start);
          break;
        case 0x24: // $
          this.#pos++;
          items.push({ kind: "anchor", anchor: this.#flags & MULTILINE ? "line_end" : "text_end" });
          starts.push(start);
          break;
        case 0x2e: // .
          this.#pos++;
          items.push({ kind: "class", ranges: this.#flags & DOT_NL ? ANY : ANY_NOT_NL });
          starts.push(start);
          break;
        case 0x5b: // [
          items.push(this.#charClass());
          starts.push(start);
          break;
        case 0x2a: // *
        case 0x2b: // +
        case 0x3f: { // ?
          this.#pos++;
          const [min, max] = c === 0x2a ? [0, -1] : c === 0x2b ? [1, -1] : [0, 1];
          this.#repeat(items, starts, min, max, false, start, lastRepeat);
          repeat = start;
          break;
        }
        case 0x7b: { // {
          const counts = this.#counts();
          if (counts === undefined) {
            this.#pos++;
            this.#literal(items, starts, 0x7b, start);
            break;
          }
          const [min, max] = counts;
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            throw syntaxError("invalid repeat count", src.slice(start, this.#pos));
          }
          this.#repeat(items, starts, min, max, true, start, lastRepeat);
          repeat = start;
          break;
        }
        case 0x5c: // \
          this.#escape(items, starts, start);
          break;
        default:
          this.#literal(items, starts, this.#nextChar(), start);
      }
      lastRepeat = repeat;
    }
    if (items.length === 0) return { kind: "empty" };
    return items.length === 1 ? items[0]! : { kind: "concat", subs: items };
  }

  /** Reads one character of the pattern; code points above U+FFFF are refused. */
  #nextChar(): number {
    const src = this.#src;
    const c = src.charCodeAt(this.#pos);
    if (isHighSurrogate(c) && isLowSurrogate(this.#at(this.#pos + 1))) {
      throw syntaxError("code points above U+FFFF are not supported", src.slice(this.#pos, this.#pos + 2));
    }
    if (isHighSurrogate(c) || isLowSurrogate(c)) throw syntaxError("invalid UTF-8", src.slice(this.#pos));
    this.#pos++;
    return c;
  }

  #literal(items: Re2Node[], starts: number[], c: number, start: number): void {
    starts.push(start);
    if (this.#flags & FOLD) {
      const orbit = foldOrbit(c);
      if (orbit.length > 1) {
        items.push({ kind: "class", ranges: cleanRanges(orbit.flatMap((o) => [o, o])) });
        return;
      }
    }
    items.push({ kind: "char", code: c });
  }

  /** `{n}`, `{n,}` or `{n,m}` at the position, consumed; undefined (nothing consumed) when not one. */
  #counts(): [number, number] | undefined {
    let i = this.#pos + 1;
    const int = (): number | undefined => {
      const begin = i;
      if (!(this.#at(i) >= 0x30 && this.#at(i) <= 0x39)) return undefined;
      // Leading zeros make it a literal, as in RE2.
      if (this.#at(i) === 0x30 && this.#at(i + 1) >= 0x30 && this.#at(i + 1) <= 0x39) return undefined;
      while (this.#at(i) >= 0x30 && this.#at(i) <= 0x39) i++;
      const digits = this.#src.slice(begin, i);
      return digits.length > 8 ? -1 : Number(digits); // too big: still a repeat, but an invalid one
    };
    let min = int();
    if (min === undefined) return undefined;
    let max = min;
    if (this.#at(i) === 0x2c) {
      i++;
      if (this.#at(i) === 0x7d) max = -1;
      else {
        const m = int();
        if (m === undefined) return undefined;
        if (m < 0) min = -1;
        max = m;
      }
    }
    if (this.#at(i) !== 0x7d) return undefined;
    this.#pos = i + 1;
    return [min, max];
  }

  #repeat(
    items: Re2Node[],
    starts: number[],
    min: number,
    max: number,
    counted: boolean,
    opStart: number,
    lastRepeat: number,
  ): void {
    const src = this.#src;
    let lazy = false;
    if (this.#at(this.#pos) === 0x3f) {
      lazy = true;
      this.#pos++;
    }
    if (lastRepeat >= 0) {
      throw syntaxError("invalid nested repetition operator", src.slice(lastRepeat, this.#pos));
    }
    const sub = items.pop();
    if (sub === undefined) {
      throw syntaxError("missing argument to repetition operator", src.slice(opStart, this.#pos));
    }
    const node: Re2Repeat = {
      kind: "repeat",
      min,
      max,
      greedy: lazy === ((this.#flags & UNGREEDY) !== 0),
      counted,
      sub,
      text: src.slice(starts[starts.length - 1]!, this.#pos),
    };
    if (counted && (min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
      throw syntaxError("invalid repeat count", src.slice(opStart, this.#pos));
    }
    items.push(node);
  }

  /** A group or a flag change at `(`; undefined for `(?flags)`, which only changes the flags. */
  #group(): Re2Node | undefined {
    const src = this.#src;
    const open = this.#pos;
    if (this.#at(open + 1) !== 0x3f) {
      this.#pos++;
      return this.#capture("");
    }
    const named = src.startsWith("(?P<", open) && src.length - open > 4
      ? 4
      : src.startsWith("(?<", open) && src.length - open > 3
      ? 3
      : 0;
    if (named > 0) {
      const end = src.indexOf(">", open);
      if (end < 0) throw syntaxError("invalid named capture", src.slice(open));
      const name = src.slice(open + named, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw syntaxError("invalid named capture", src.slice(open, end + 1));
      this.#pos = end + 1;
      return this.#capture(name);
    }
    let i = open + 2;
    let flags = this.#flags;
    let negate = false;
    let sawFlag = false;
    while (i < src.length) {
      const c = src.charCodeAt(i++);
      const bit = FLAG_BITS[String.fromCharCode(c)] ?? 0;
      if (bit !== 0) {
        flags = negate ? flags & ~bit : flags | bit;
        sawFlag = true;
        continue;
      }
      if (c === 0x2d && !negate) { // -
        negate = true;
        sawFlag = false;
        continue;
      }
      if ((c === 0x3a || c === 0x29) && (!negate || sawFlag)) { // : )
        this.#pos = i;
        if (c === 0x29) {
          this.#flags = flags;
          return undefined;
        }
        const saved = this.#flags;
        this.#flags = flags;
        const sub = this.#groupBody();
        this.#flags = saved;
        return sub;
      }
      if (isHighSurrogate(c) && isLowSurrogate(this.#at(i))) i++;
      break;
    }
    throw syntaxError("invalid or unsupported Perl syntax", src.slice(open, i));
  }

  #capture(name: string): Re2Node {
    const index = this.#names.length;
    this.#names.push(name);
    const saved = this.#flags;
    const sub = this.#groupBody();
    this.#flags = saved;
    return { kind: "capture", index, sub };
  }

  /** The alternation inside a group up to its `)`, which is consumed. */
  #groupBody(): Re2Node {
    if (++this.#depth > MAX_DEPTH) throw syntaxError("expression nests too deeply", this.#src);
    const sub = this.#alternation();
    if (this.#at(this.#pos) !== 0x29) throw syntaxError("missing closing )", this.#src);
    this.#pos++;
    this.#depth--;
    return sub;
  }

  #escape(items: Re2Node[], starts: number[], start: number): void {
    const src = this.#src;
    const c = this.#at(start + 1);
    const anchor: Anchor | undefined = c === 0x41
      ? "text_start"
      : c === 0x7a
      ? "text_end"
      : c === 0x62
      ? "word"
      : c === 0x42
      ? "not_word"
      : undefined;
    if (anchor !== undefined) {
      this.#pos = start + 2;
      items.push({ kind: "anchor", anchor });
      starts.push(start);
      return;
    }
    if (c === 0x51) { // \Q…\E: literal text up to \E or the end
      const end = src.indexOf("\\E", start + 2);
      this.#pos = start + 2;
      const stop = end < 0 ? src.length : end;
      while (this.#pos < stop) {
        const at = this.#pos;
        this.#literal(items, starts, this.#nextChar(), at);
      }
      this.#pos = end < 0 ? src.length : end + 2;
      return;
    }
    if (c === 0x43) throw syntaxError("invalid escape sequence", "\\C"); // any byte: not in RE2 either
    if (c === 0x70 || c === 0x50) throw this.#unicodeClass(start);
    const perl = this.#perlClass(start);
    if (perl !== undefined) {
      items.push({ kind: "class", ranges: perl });
      starts.push(start);
      return;
    }
    this.#literal(items, starts, this.#escapedChar(start), start);
  }

  /** `\d \D \s \S \w \W` at `at`, folded and negated as RE2 does; consumed when present. */
  #perlClass(at: number): Ranges | undefined {
    if (this.#at(at) !== 0x5c) return undefined;
    const letter = String.fromCharCode(this.#at(at + 1));
    const set = PERL_CLASSES[letter.toLowerCase()];
    if (set === undefined || !"dswDSW".includes(letter)) return undefined;
    this.#pos = at + 2;
    return this.#named(set, letter !== letter.toLowerCase());
  }

  /** A named group's set under the current flags: folded first, then negated (RE2's order). */
  #named(set: Ranges, negated: boolean): Ranges {
    const folded = this.#flags & FOLD ? foldRanges(set) : set;
    return negated ? negateRanges(folded) : folded;
  }

  /** `\p{…}`/`\P{…}` at `at`: Unicode tables are not carried (inputs are latin1 HTTP text). */
  #unicodeClass(at: number): SyntaxError {
    const src = this.#src;
    let end = at + 3;
    if (this.#at(at + 2) === 0x7b) {
      const close = src.indexOf("}", at);
      end = close < 0 ? src.length : close + 1;
    }
    return syntaxError(
      "Unicode character classes are not supported",
      src.slice(at, Math.min(end, src.length)),
    );
  }

  /** A single-character escape at `at` (the backslash): its character, consumed. */
  #escapedChar(at: number): number {
    const src = this.#src;
    let i = at + 1;
    if (i >= src.length) throw syntaxError("trailing backslash at end of expression", "");
    const invalid = () => syntaxError("invalid escape sequence", src.slice(at, i));
    const c = src.charCodeAt(i++);
    if (c < 0x80 && !isAlnum(c)) {
      this.#pos = i;
      return c;
    }
    if (c >= 0x31 && c <= 0x37 && !isOctal(this.#at(i))) throw invalid(); // \1: a backreference
    if (c >= 0x30 && c <= 0x37) {
      let r = c - 0x30;
      for (let n = 1; n < 3 && isOctal(this.#at(i)); n++) r = r * 8 + this.#at(i++) - 0x30;
      this.#pos = i;
      return r;
    }
    if (c === 0x78) { // x
      if (i >= src.length) throw invalid();
      if (this.#at(i) === 0x7b) {
        i++;
        let r = 0;
        let digits = 0;
        for (;;) {
          if (i >= src.length) throw invalid();
          const d = src.charCodeAt(i++);
          if (d === 0x7d) break;
          const v = unhex(d);
          if (v < 0) throw invalid();
          r = r * 16 + v;
          if (r > 0x10ffff) throw invalid();
          digits++;
        }
        if (digits === 0) throw invalid();
        if (r > MAX_CHAR) throw syntaxError("code points above U+FFFF are not supported", src.slice(at, i));
        this.#pos = i;
        return r;
      }
      const x = unhex(src.charCodeAt(i++));
      const y = i < src.length ? unhex(src.charCodeAt(i++)) : -1;
      if (x < 0 || y < 0) throw invalid();
      this.#pos = i;
      return x * 16 + y;
    }
    const control = CONTROL_ESCAPES[c];
    if (control !== undefined) {
      this.#pos = i;
      return control;
    }
    if (isHighSurrogate(c) && isLowSurrogate(this.#at(i))) i++;
    throw invalid();
  }

  /** `[…]` at the position, consumed: RE2's bracket syntax, including `[[:alpha:]]` and `\d`. */
  #charClass(): Re2Node {
    const src = this.#src;
    const open = this.#pos;
    let i = open + 1;
    let negated = false;
    if (this.#at(i) === 0x5e) {
      negated = true;
      i++;
    }
    const raw: number[] = [];
    let first = true; // `]` is a literal as the first character
    while (i >= src.length || src.charCodeAt(i) !== 0x5d || first) {
      first = false;
      if (i >= src.length) throw syntaxError("missing closing ]", src.slice(open));
      if (src.startsWith("[:", i) && src.length - i > 2) {
        const close = src.indexOf(":]", i + 2);
        if (close >= 0) {
          const name = src.slice(i, close + 2);
          const negatedName = name[2] === "^";
          const set = POSIX_CLASSES[name.slice(negatedName ? 3 : 2, -2)];
          if (set === undefined) throw syntaxError("invalid character class range", name);
          raw.push(...this.#named(set, negatedName));
          i = close + 2;
          continue;
        }
      }
      if (src.charCodeAt(i) === 0x5c && (this.#at(i + 1) === 0x70 || this.#at(i + 1) === 0x50)) {
        throw this.#unicodeClass(i);
      }
      const perl = this.#perlClass(i);
      if (perl !== undefined) {
        raw.push(...perl);
        i = this.#pos;
        continue;
      }
      const rangeStart = i;
      this.#pos = i;
      const lo = this.#classChar(open);
      let hi = lo;
      i = this.#pos;
      if (src.charCodeAt(i) === 0x2d && i + 1 < src.length && src.charCodeAt(i + 1) !== 0x5d) {
        this.#pos = i + 1;
        hi = this.#classChar(open);
        i = this.#pos;
        if (hi < lo) throw syntaxError("invalid character class range", src.slice(rangeStart, i));
      }
      if (this.#flags & FOLD) raw.push(...foldRanges([lo, hi]));
      else raw.push(lo, hi);
    }
    this.#pos = i + 1;
    const set = cleanRanges(raw);
    return { kind: "class", ranges: negated ? negateRanges(set) : set };
  }

  #classChar(open: number): number {
    if (this.#pos >= this.#src.length) throw syntaxError("missing closing ]", this.#src.slice(open));
    if (this.#src.charCodeAt(this.#pos) === 0x5c) return this.#escapedChar(this.#pos);
    return this.#nextChar();
  }
}

const CONTROL_ESCAPES: Readonly<Record<number, number>> = {
  0x61: 0x07, // \a
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x76: 0x0b, // \v
};

/**
 * RE2's check that nested counted repetitions stay within `n` copies of the innermost thing
 * (`(a{100}){100}` is too many even though each count is fine).
 */
function repeatIsValid(node: Re2Node, n: number): boolean {
  if (node.kind === "repeat" && node.counted) {
    let m = node.max;
    if (m === 0) return true;
    if (m < 0) m = node.min;
    if (m > n) return false;
    if (m > 0) n = Math.floor(n / m);
  }
  switch (node.kind) {
    case "capture":
    case "repeat":
      return repeatIsValid(node.sub, n);
    case "concat":
    case "alt":
      return node.subs.every((s) => repeatIsValid(s, n));
    default:
      return true;
  }
}
