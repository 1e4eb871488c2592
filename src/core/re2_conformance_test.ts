/**
 * compileRe2() against re2js (a JavaScript port of RE2, the same semantics as Go's regexp) as the
 * oracle: the same patterns are accepted or rejected with the same message, and every input gets the
 * same match and the same submatch spans (RE2 leftmost-first).
 *
 * Known, deliberate differences are kept out of the corpus and covered in re2_test.ts: Go accepts
 * duplicate group names (re2js does not), and meshctl refuses `\p{…}` classes, code points above U+FFFF
 * and, with submatches, repetitions whose groups JavaScript would report differently.
 */
import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { RE2JS } from "re2js";
import { checkRe2, compileRe2, type Re2 } from "./re2.ts";
import { parseRe2 } from "./_re2_parse.ts";
import { emitRe2, submatchProblem } from "./_re2_emit.ts";

/** RE2's answer: group spans of the leftmost-first match (start, end per group; -1 when unset), or null. */
function oracleSpans(re: RE2JS, input: string): number[] | null {
  const m = re.matcher(input);
  if (!m.find()) return null;
  const spans: number[] = [];
  for (let g = 0; g <= re.groupCount(); g++) spans.push(m.start(g), m.end(g));
  return spans;
}

/** Our spans: the emitted source run with `d` (indices), each RE2 group from its last copy that took part. */
function ourSpans(pattern: string): (input: string) => number[] | null {
  const { source, groups } = emitRe2(parseRe2(pattern), true);
  const re = new RegExp(source, "d");
  return (input) => {
    const m = re.exec(input);
    if (m === null) return null;
    const spans: number[] = [];
    groups.forEach((copies, g) => {
      const js = g === 0 ? [0] : copies;
      let span: readonly number[] = [-1, -1];
      for (let k = js.length - 1; k >= 0; k--) {
        const ix = m.indices![js[k]!];
        if (ix !== undefined) {
          span = ix;
          break;
        }
      }
      spans.push(span[0]!, span[1]!);
    });
    return spans;
  };
}

/** Compares one pattern on every input; returns how many inputs had their submatches compared. */
function conforms(pattern: string, inputs: readonly string[]): number {
  let expected: RE2JS;
  try {
    expected = RE2JS.compile(pattern);
  } catch (e) {
    const problem = (e as Error).message.replace(/^error parsing regexp: /, "");
    equal(checkRe2(pattern), problem, `pattern ${JSON.stringify(pattern)} should be rejected`);
    return 0;
  }
  const re = compileRe2(pattern);
  const submatches = submatchProblem(parseRe2(pattern)) === undefined;
  const exact: Re2 | undefined = submatches ? compileRe2(pattern, { submatches: true }) : undefined;
  const spans = submatches ? ourSpans(pattern) : undefined;
  for (const input of inputs) {
    const s = oracleSpans(expected, input);
    const where = `${JSON.stringify(pattern)} on ${JSON.stringify(input)}`;
    equal(re.test(input), s !== null, `${where}: test()`);
    if (exact === undefined) continue;
    assertEquals(spans!(input), s, `${where}: spans`);
    const m = exact.exec(input);
    assertEquals(
      m === null ? null : [m.index, m.end, ...m.groups],
      s === null ? null : [
        s[0],
        s[1],
        ...Array.from(
          { length: s.length / 2 },
          (_, g) => s[2 * g]! < 0 ? undefined : input.slice(s[2 * g], s[2 * g + 1]),
        ),
      ],
      `${where}: exec()`,
    );
  }
  return exact === undefined ? 0 : inputs.length;
}

const PATHS = [
  "",
  "/",
  "/api",
  "/API/V2/users/42",
  "/api/v2/users/42",
  "/api/v10/users/abc123",
  "/api/v2/users/",
  "/static/css/site.min.css",
  "/Static/JS/app.js?x=1",
  "/svc13/12345",
  "/users/12/orders/34",
  "/a/b/c/d",
  "//double//slash",
  "/items/42\n",
  "x-api-key",
  "Bearer abc.DEF-123",
  "gold-user",
  "GOLD-USER",
  "com.foo.Svc:1.0",
  "aaaaaaaaaaaaaaaaaaaaaaaaab",
  "abcabcabc",
  "word boundary here",
  "tab\there",
  "\u212a\u017f",
  "café CAFÉ",
];

const CORPUS = [
  // routes as MOSN configs write them
  "^/api/v[0-9]+/users/[a-z0-9]+$",
  "^/api/v[0-9]+/users/([a-z0-9]+)$",
  "(?i)^/api/v[0-9]+/users/[a-z0-9]+$",
  "^/static/.*\\.(css|js)$",
  "(?i)\\.(CSS|js)(\\?.*)?$",
  "^/svc[0-9]+/[0-9]+$",
  "/users/(?P<id>[0-9]+)",
  "/users/(?P<user>[0-9]+)/orders/(?<order>[0-9]+)",
  "^gold-.*",
  "(?i)^gold-",
  "^com\\.foo\\.Svc:1\\.0$",
  "^Bearer [A-Za-z0-9._-]+$",
  "[0-9]+",
  "/+",
  "^(/[^/]+)+$",
  "^(?:/[^/]+){2,3}$",
  "^/[a-z]{1,3}(/[a-z]{1,3}){1,5}$",
  // anchors, classes, flags
  "\\bhere\\b",
  "\\Bord",
  "\\Aab",
  "c\\z",
  "(?m)^/items/42$",
  "/items/42$",
  "(?s)42.",
  "42.",
  "[[:alpha:]]+",
  "[[:^alnum:]]",
  "[[:punct:][:space:]]+",
  "\\w+\\s\\w+",
  "\\S+",
  "\\d{2,}",
  "[^/]+$",
  "[^a-z]",
  "(?i)[^a-z]",
  "(?i)k",
  "(?i)[k-l]",
  "(?i)s\\w",
  "(?i)CAFÉ",
  "(?i)[é]",
  "(?i)\\W",
  "(?U)a+",
  "(?U)a+?b",
  "\\Q.min.\\E",
  "\\x2f\\x{61}\\160\\0?",
  // repetition and submatches
  "(a|ab)(c|bcd)(d*)",
  "(a+)(b+)?",
  "(a*)*b",
  "(a*)+",
  "(a|)+b",
  "(a?)*?b",
  "((a)|(b))+",
  "(?:(a)b)+",
  "(a){3}",
  "(a){2,4}",
  "(?:(a)|b){3}",
  "(a){0}b",
  "a{17}",
  "a{16,40}?",
  "[a-z]{1,20}",
  "(abc){1,2}",
  "(?:abc){2,}",
  "x*",
  "x*?",
  "^$",
  "$^",
  "",
  "|a",
  "a|",
  "(|a)b",
  "^*",
  "(?:^)*/",
  // rejected, with the oracle's message
  "(a)\\1",
  "a(?=b)",
  "a(?!b)",
  "(?<=a)b",
  "(?<!a)b",
  "a++",
  "a*?+",
  "a{1001}",
  "(a{100}){100}",
  "([a-z",
  "(a",
  "a)",
  "*a",
  "\\8",
  "\\Z",
  "\\C",
  "\\x{}",
  "[z-a]",
  "[[:foo:]]",
  "(?i",
  "(?z)",
  "(?P<a-b>x)",
  "(?P=a)",
  "a\\",
];

Deno.test("compileRe2() agrees with re2js on a corpus of route patterns × paths", () => {
  let compared = 0;
  for (const pattern of CORPUS) compared += conforms(pattern, PATHS);
  equal(compared > 1500, true, `only ${compared} submatch comparisons`);
});

/** mulberry32: a small seeded generator, so a failure names a reproducible case. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// deno-fmt-ignore
const ATOMS = [
  "a", "b", "A", "x", "-", ".", "\\n", "[ab]", "[^a]", "[a-b]", "\\w", "\\W", "\\s", "\\S", "[[:upper:]]",
  "[[:^alpha:]]", "\\b", "\\B", "^", "$", "(?m:^)", "(?m:$)", "(?i:a)", "(?i)[a-b]", "(?i)", "(?m)", "(?s)",
  "(?U)", "é", "(?i)É", "(?i)k", "(?i)[^s]", "(?i)\\W", "\\x{212A}", "\\Qa.\\E",
];
// deno-fmt-ignore
const QUANTIFIERS = [
  "*", "+", "?", "*?", "+?", "??", "{2}", "{0,2}", "{1,3}", "{2,}", "{0}", "{1,2}?", "{3,}?", "{17}", "{2,18}?",
];
const LETTERS = ["a", "b", "A", "B", "x", "-", "\n", "é", "É", "K", "\u212a", "k", "s", "S", "\u017f", "."];

Deno.test("compileRe2() agrees with re2js on seeded random patterns and inputs", () => {
  const random = seeded(20250601);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let names = 0;
  const pattern = (depth: number): string => {
    const r = random();
    if (depth === 0 || r < 0.3) return pick(ATOMS);
    if (r < 0.5) return pattern(depth - 1) + pattern(depth - 1);
    if (r < 0.6) return `${pattern(depth - 1)}|${pattern(depth - 1)}`;
    if (r < 0.75) return `(${pattern(depth - 1)})`;
    if (r < 0.82) return `(?:${pattern(depth - 1)})`;
    if (r < 0.85) return `(?P<g${names++}>${pattern(depth - 1)})`;
    return `(?:${pattern(depth - 1)})${pick(QUANTIFIERS)}`;
  };
  const input = (): string => {
    let s = "";
    for (let n = Math.floor(random() * 8); n > 0; n--) s += pick(LETTERS);
    return s;
  };
  let compared = 0;
  for (let i = 0; i < 3000; i++) compared += conforms(pattern(4), Array.from({ length: 8 }, input));
  equal(compared > 16000, true, `only ${compared} submatch comparisons`);
});
