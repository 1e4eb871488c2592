/**
 * RE2 regular expressions (Go `regexp` syntax, what MOSN configs contain) matched in linear time.
 *
 * A pattern is parsed as RE2 and translated once, at config compile time, into a JavaScript RegExp that
 * V8's linear-time engine can run. meshctl runs with `--enable-experimental-regexp-engine-on-excessive-
 * backtracks`, so matching starts on the fast backtracking engine and falls back to the linear one when
 * a match backtracks too much: no request can make a route regex slow. Compiling probes the translation
 * with the `l` flag, so a pattern the linear engine could not take over is an error here, never a hang
 * later.
 *
 * Input is matched per UTF-16 code unit (HTTP paths and headers are latin1 text); code points above
 * U+FFFF and Unicode classes (`\pL`) in patterns are refused. `(?m)` anchors use V8's line breaks,
 * which besides `\n` include `\r`, U+2028 and U+2029 (HTTP paths and header values contain none).
 */
import { emitRe2, submatchProblem } from "./_re2_emit.ts";
import { parseRe2 } from "./_re2_parse.ts";
import { expandTemplate, parseTemplate, type TemplatePart } from "./_re2_template.ts";

/** The V8 flags meshctl needs for linear-time regex matching (one `--v8-flags=` list with the others). */
export const LINEAR_REGEXP_V8_FLAGS =
  "--enable-experimental-regexp-engine,--enable-experimental-regexp-engine-on-excessive-backtracks";

/** Options for {@link compileRe2}. */
export interface CompileRe2Options {
  /**
   * Prepare {@link Re2.exec} and {@link Re2.replaceAll}. Refuses the few patterns whose submatches
   * JavaScript cannot reproduce exactly (see `submatchProblem`); {@link Re2.test} works for every pattern.
   * @default false
   */
  readonly submatches?: boolean;
}

/** One match: where it is and the text of each group by RE2 group number (undefined when unset). */
export interface Re2Match {
  readonly index: number;
  readonly end: number;
  /** `groups[0]` is the whole match. */
  readonly groups: readonly (string | undefined)[];
}

/** A parsed `regex_rewrite.substitution`, bound to the pattern's groups. */
export interface Re2Template {
  readonly parts: readonly TemplatePart[];
}

/** A compiled RE2 pattern. Create with {@link compileRe2}. */
export class Re2 {
  /** The RE2 pattern as written. */
  readonly pattern: string;
  /** Group names by RE2 group number; "" for unnamed groups and for 0, the whole match. */
  readonly groupNames: readonly string[];
  readonly #test: RegExp;
  readonly #exec: RegExp | undefined;
  readonly #copies: readonly (readonly number[])[];

  /**
   * @throws {SyntaxError} naming the problem, e.g. `Cannot compile regex "(a)\1": invalid escape
   * sequence: \`\1\``
   * @throws {Error} when meshctl runs without its V8 flags (no linear-time engine)
   */
  constructor(pattern: string, options: CompileRe2Options = {}) {
    this.pattern = pattern;
    try {
      const tree = parseRe2(pattern);
      this.groupNames = tree.groupNames;
      this.#test = linearRegExp(emitRe2(tree, false).source, "");
      if (options.submatches) {
        const problem = submatchProblem(tree);
        if (problem !== undefined) throw new SyntaxError(problem);
        const emitted = emitRe2(tree, true);
        this.#exec = linearRegExp(emitted.source, "g");
        this.#copies = emitted.groups;
      } else {
        this.#copies = [];
      }
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      throw new SyntaxError(`Cannot compile regex "${pattern}": ${e.message}`, { cause: e });
    }
  }

  /** True when the pattern matches anywhere in `input` (Go `MatchString`). */
  test(input: string): boolean {
    return this.#test.test(input);
  }

  /**
   * The leftmost-first match at or after `from` (Go `FindStringSubmatch`), or null. Needs `submatches`.
   */
  exec(input: string, from = 0): Re2Match | null {
    const re = this.#exec;
    if (re === undefined) throw new TypeError("Cannot report submatches: compile with { submatches: true }");
    re.lastIndex = from;
    const m = re.exec(input);
    if (m === null) return null;
    const copies = this.#copies;
    const groups: (string | undefined)[] = [m[0]];
    for (let g = 1; g < copies.length; g++) {
      const js = copies[g]!;
      let text: string | undefined;
      // RE2 reports the last iteration that set a group: the last copy that took part.
      for (let k = js.length - 1; k >= 0 && text === undefined; k--) text = m[js[k]!];
      groups.push(text);
    }
    return { index: m.index, end: m.index + m[0].length, groups };
  }

  /** Parses a Go `Regexp.Expand` template (`$1`, `${name}`, `$$`) against this pattern's groups. */
  template(substitution: string): Re2Template {
    return { parts: parseTemplate(substitution, this.groupNames) };
  }

  /**
   * Go `ReplaceAllString`: every match replaced by the expanded template; an empty match right after
   * a match is not replaced. Needs `submatches`.
   */
  replaceAll(input: string, template: Re2Template): string {
    let out = "";
    let lastMatchEnd = 0;
    let searchPos = 0;
    while (searchPos <= input.length) {
      const m = this.exec(input, searchPos);
      if (m === null) break;
      out += input.slice(lastMatchEnd, m.index);
      if (m.end > lastMatchEnd || m.index === 0) out += expandTemplate(template.parts, m.groups);
      lastMatchEnd = m.end;
      // Always advance: past the match, or one character after an empty one.
      searchPos = searchPos + 1 > m.end ? searchPos + 1 : m.end;
    }
    return out + input.slice(lastMatchEnd);
  }
}

/**
 * Compiles an RE2 pattern (Go `regexp.Compile` syntax with Perl flags) to match in linear time.
 * @throws {SyntaxError} naming the problem, as `checkRe2` reports it
 */
export function compileRe2(pattern: string, options: CompileRe2Options = {}): Re2 {
  return new Re2(pattern, options);
}

/** The problem with an RE2 pattern ("invalid escape sequence: `\1`"), or undefined when it compiles. */
export function checkRe2(pattern: string, options: CompileRe2Options = {}): string | undefined {
  try {
    new Re2(pattern, options);
    return undefined;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return (e.cause as Error).message;
  }
}

/** V8's "linear time only" flag; a variable, so lint does not judge it against standard flags. */
const LINEAR = "l";
let linearFlag: boolean | undefined;

/** `source` as a RegExp after proving, with the `l` flag, that V8's linear-time engine can run it. */
function linearRegExp(source: string, flags: string): RegExp {
  try {
    new RegExp(source, flags + LINEAR);
  } catch (e) {
    linearFlag ??= hasLinearFlag();
    if (!linearFlag) {
      throw new Error(
        `Cannot match regexes in linear time: meshctl must run with its V8 flags (--v8-flags=${LINEAR_REGEXP_V8_FLAGS})`,
      );
    }
    const reason = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
    try {
      new RegExp(source, flags);
    } catch {
      throw new SyntaxError(
        `regexp/syntax: internal error: the translation is not valid JavaScript (${reason})`,
      );
    }
    throw new SyntaxError(`V8's linear-time engine cannot run its translation (${reason})`);
  }
  // Runs on the backtracking engine, which hands over to the linear one on excessive backtracking.
  const re = new RegExp(source, flags);
  // V8 compiles a RegExp on first use, once per subject encoding (latin1, UTF-16) and again when it
  // tiers up to native code. Do that now, at config compile time, so no request pays for it (V8's
  // compiler is slow on some shapes, e.g. many `(?m:$)` inside nested optionals).
  for (const subject of ["", "", "\u0100", "\u0100"]) re.test(subject);
  re.lastIndex = 0;
  return re;
}

function hasLinearFlag(): boolean {
  try {
    new RegExp("", LINEAR);
    return true;
  } catch {
    return false;
  }
}
