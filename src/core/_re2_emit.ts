/**
 * Turns a parsed RE2 tree into JavaScript regexp source that V8's linear-time engine accepts: no flags
 * beyond `g`, no counted repetition (V8 refuses counts above 16, so `x{2,4}` becomes `xx(?:x(?:x)?)?`, as
 * RE2 itself expands it), and explicit character sets instead of `\d`, `.` or the `i` flag.
 *
 * With submatches, every copy of a capture group made by that expansion is its own JavaScript group; an
 * RE2 group's value is its last copy that took part, which is what RE2 reports (the last iteration that
 * set it). Repetitions where JavaScript's loop semantics would give other submatches than RE2's are
 * refused by {@link submatchProblem}.
 */
import { literalSource, rangesToSource } from "./_re2_charset.ts";
import type { Re2Node, Re2Repeat, Re2Tree } from "./_re2_parse.ts";

/** Emitted source and, with submatches, where each RE2 group's copies are. */
export interface Re2Source {
  readonly source: string;
  /** By RE2 group number: the JavaScript group numbers of its copies, in match order. */
  readonly groups: readonly (readonly number[])[];
}

/** Past this the pattern is refused rather than handed to V8 (RE2 has a similar size limit). */
const MAX_SOURCE = 1 << 20;

const ALT = 0;
const CONCAT = 1;
const ATOM = 2;

type Emitted = [source: string, precedence: number];

/**
 * Emits `tree` as JavaScript source.
 * @param submatches keep capture groups (as plain numbered groups); without, they become `(?:…)`
 * @throws {SyntaxError} "expression too large" when the expansion of counted repetitions is too big
 */
export function emitRe2(tree: Re2Tree, submatches: boolean): Re2Source {
  const emitter = new Emitter(tree.groupNames.length, submatches);
  const [source] = emitter.emit(tree.root);
  if (source.length > MAX_SOURCE) throw new SyntaxError("expression too large");
  return { source, groups: emitter.groups };
}

class Emitter {
  readonly groups: number[][];
  readonly #submatches: boolean;
  #jsGroups = 0;

  constructor(groupCount: number, submatches: boolean) {
    this.groups = Array.from({ length: groupCount }, () => []);
    this.#submatches = submatches;
  }

  emit(node: Re2Node): Emitted {
    switch (node.kind) {
      case "empty":
        return ["", CONCAT];
      case "char":
        return [literalSource(node.code), ATOM];
      case "class":
        return [rangesToSource(node.ranges), ATOM];
      case "anchor":
        switch (node.anchor) {
          case "text_start":
            return ["^", CONCAT];
          case "text_end":
            return ["$", CONCAT];
          case "line_start":
            return ["(?m:^)", ATOM];
          case "line_end":
            return ["(?m:$)", ATOM];
          case "word":
            return ["\\b", CONCAT];
          case "not_word":
            return ["\\B", CONCAT];
        }
        break;
      case "capture": {
        if (!this.#submatches) return this.emit(node.sub); // callers add (?:…) only where needed
        // JavaScript numbers groups by their opening parenthesis: allocate before the body.
        const js = ++this.#jsGroups;
        this.groups[node.index]!.push(js);
        return [`(${this.emit(node.sub)[0]})`, ATOM];
      }
      case "concat":
        return [node.subs.map((s) => this.#operand(s, CONCAT)).join(""), CONCAT];
      case "alt":
        return [node.subs.map((s) => this.emit(s)[0]).join("|"), ALT];
      case "repeat":
        return this.#repeat(node);
    }
  }

  /** `node` as a part of something binding at least as tightly as `precedence`. */
  #operand(node: Re2Node, precedence: number): string {
    const [source, p] = this.emit(node);
    return p >= precedence && !(precedence === ATOM && source === "") ? source : `(?:${source})`;
  }

  #repeat(node: Re2Repeat): Emitted {
    const { greedy, sub } = node;
    let { min, max } = node;
    const lazy = greedy ? "" : "?";
    if (max === 0) return ["", CONCAT]; // RE2: `x{0}` matches empty; its groups never take part
    if (!consumes(sub)) {
      // Repeating what only matches empty (`(?m:$){2,18}`) is the same as matching it once (or not at
      // all when min is 0), groups included; and copies of assertions make V8's compiler exponential.
      min = Math.min(min, 1);
      max = 1;
    }
    // JavaScript refuses an iteration beyond the minimum that matches empty (and drops what it captured);
    // RE2 keeps such an iteration, then stops. Alternations give RE2's behaviour; they are needed only
    // when that empty iteration has groups to report or would be tried before a non-empty one. (They
    // are also slow for V8 to compile around `(?m:$)`, so they are not used where `?` and `*` are exact.)
    const emptyAware = this.#submatches && nullable(sub) && (capturesIn(sub).length > 0 || !emptyLast(sub));
    let out = "";
    // Copies are concatenated, so they need no group of their own: V8 compiles a run of `(?:\B)` groups
    // in time exponential in their number, while a run of bare `\B` is instant.
    if (max < 0) {
      for (let i = 1; i < min; i++) out += this.#operand(sub, CONCAT);
      if (min === 0 && emptyAware) {
        const loop = `${this.#operand(sub, ATOM)}+${lazy}`;
        out += greedy ? `(?:${loop}|)` : `(?:|${loop})`;
        return [out, CONCAT];
      }
      out += this.#operand(sub, ATOM) + (min === 0 ? "*" : "+") + lazy;
      return [out, CONCAT]; // JavaScript refuses `a**`: a quantified expression is never an atom
    }
    for (let i = 0; i < min; i++) out += this.#operand(sub, CONCAT);
    if (max > min) out += this.#optionals(sub, max - min, greedy, emptyAware);
    return [out, CONCAT];
  }

  /** `(?:x(?:x(?:x)?)?)?` for `count` optional copies, emitted in textual order (group numbering). */
  #optionals(sub: Re2Node, count: number, greedy: boolean, emptyAware: boolean): string {
    if (count === 1 && !emptyAware) return this.#operand(sub, ATOM) + (greedy ? "?" : "??");
    const x = this.#operand(sub, CONCAT);
    const rest = count > 1 ? this.#optionals(sub, count - 1, greedy, emptyAware) : "";
    if (emptyAware) return greedy ? `(?:${x}${rest}|)` : `(?:|${x}${rest})`;
    return `(?:${x}${rest})` + (greedy ? "?" : "??");
  }
}

/**
 * Why JavaScript cannot reproduce RE2's submatches for `tree`, or undefined when it can:
 * - a capture group inside an unbounded repetition that some iteration can skip: JavaScript clears it
 *   at every iteration, RE2 keeps the value from the last iteration that set it;
 * - an unbounded repetition of an expression that can match empty before it can match text (`(|a)*`):
 *   RE2 stops at the empty iteration, JavaScript backtracks into the next alternative.
 */
export function submatchProblem(tree: Re2Tree): string | undefined {
  let problem: string | undefined;
  const visit = (node: Re2Node): void => {
    if (problem !== undefined) return;
    switch (node.kind) {
      case "capture":
        return visit(node.sub);
      case "concat":
      case "alt":
        return node.subs.forEach(visit);
      case "repeat":
        if (node.max < 0) {
          if (nullable(node.sub) && !emptyLast(node.sub)) {
            problem =
              `repetition of an expression that prefers to match empty is not supported with submatches: \`${node.text}\``;
            return;
          }
          const skipped = capturesIn(node.sub).find((g) => !alwaysSets(node.sub, g));
          if (skipped !== undefined) {
            problem =
              `capture group ${skipped} inside a repetition that can skip it is not supported with submatches: \`${node.text}\``;
            return;
          }
        }
        return visit(node.sub);
      default:
        return;
    }
  };
  visit(tree.root);
  return problem;
}

/** Can `node` match the empty string? */
export function nullable(node: Re2Node): boolean {
  switch (node.kind) {
    case "empty":
    case "anchor":
      return true;
    case "char":
    case "class":
      return false;
    case "capture":
      return nullable(node.sub);
    case "repeat":
      return node.min === 0 || nullable(node.sub);
    case "concat":
      return node.subs.every(nullable);
    case "alt":
      return node.subs.some(nullable);
  }
}

/** Can `node` match some non-empty text? */
function consumes(node: Re2Node): boolean {
  switch (node.kind) {
    case "empty":
    case "anchor":
      return false;
    case "char":
      return true;
    case "class":
      return node.ranges.length > 0;
    case "capture":
      return consumes(node.sub);
    case "repeat":
      return node.max !== 0 && consumes(node.sub);
    case "concat":
    case "alt":
      return node.subs.some(consumes);
  }
}

/** Do all of `node`'s ways to match empty come after (in priority order) all ways to match text? */
function emptyLast(node: Re2Node): boolean {
  switch (node.kind) {
    case "capture":
      return emptyLast(node.sub);
    case "concat":
      return !nullable(node) || node.subs.every(emptyLast);
    case "alt": {
      let sawNullable = false;
      for (const s of node.subs) {
        if (!emptyLast(s) || (sawNullable && consumes(s))) return false;
        sawNullable ||= nullable(s);
      }
      return true;
    }
    case "repeat":
      if (node.max === 0) return true;
      if (!emptyLast(node.sub)) return false;
      return node.greedy || !consumes(node.sub) || (node.min > 0 && !nullable(node.sub));
    default:
      return true;
  }
}

function capturesIn(node: Re2Node, out: number[] = []): number[] {
  switch (node.kind) {
    case "capture":
      out.push(node.index);
      return capturesIn(node.sub, out);
    case "repeat":
      return capturesIn(node.sub, out);
    case "concat":
    case "alt":
      for (const s of node.subs) capturesIn(s, out);
      return out;
    default:
      return out;
  }
}

/** Does every match of `node` set capture group `group`? */
function alwaysSets(node: Re2Node, group: number): boolean {
  switch (node.kind) {
    case "capture":
      return node.index === group || alwaysSets(node.sub, group);
    case "repeat":
      return node.min > 0 && alwaysSets(node.sub, group);
    case "concat":
      return node.subs.some((s) => alwaysSets(s, group));
    case "alt":
      return node.subs.every((s) => alwaysSets(s, group));
    default:
      return false;
  }
}
