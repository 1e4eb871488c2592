import { deepStrictEqual as assertEquals, equal, match, ok, throws } from "node:assert/strict";
import { checkRe2, compileRe2, LINEAR_REGEXP_V8_FLAGS } from "./re2.ts";
import { parseRe2 } from "./_re2_parse.ts";
import { emitRe2 } from "./_re2_emit.ts";

/** The JavaScript source a pattern becomes (captures kept when `submatches`). */
function source(pattern: string, submatches = false): string {
  return emitRe2(parseRe2(pattern), submatches).source;
}

/** Whether `pattern` matches each input, unanchored. */
function matches(pattern: string, inputs: string[]): boolean[] {
  const re = compileRe2(pattern);
  return inputs.map((s) => re.test(s));
}

/** Group texts of the first match (RE2 numbering), or null. */
function groups(pattern: string, input: string): readonly (string | undefined)[] | null {
  return compileRe2(pattern, { submatches: true }).exec(input)?.groups ?? null;
}

Deno.test("compileRe2() matches unanchored and leftmost-first, as Go's MatchString and Find", () => {
  assertEquals(matches("/v[0-9]+/", ["/api/v2/users", "/api/users"]), [true, false]);
  assertEquals(groups("a|ab", "xab"), ["a"]);
  assertEquals(groups("(a|ab)(c|bcd)(d*)", "abcd"), ["abcd", "a", "bcd", ""]);
  assertEquals(groups("a+?", "aaa"), ["a"]);
});

Deno.test("compileRe2() rejects what RE2 rejects, with Go's messages", () => {
  const cases: [string, string][] = [
    ["(a)\\1", "invalid escape sequence: `\\1`"],
    ["\\8", "invalid escape sequence: `\\8`"],
    ["\\Z", "invalid escape sequence: `\\Z`"],
    ["\\C", "invalid escape sequence: `\\C`"],
    ["\\e", "invalid escape sequence: `\\e`"],
    ["\\é", "invalid escape sequence: `\\é`"],
    ["\\x4", "invalid escape sequence: `\\x4`"],
    ["\\x{}", "invalid escape sequence: `\\x{}`"],
    ["\\x{41", "invalid escape sequence: `\\x{41`"],
    ["[\\b]", "invalid escape sequence: `\\b`"],
    ["[a-\\d]", "invalid escape sequence: `\\d`"],
    ["a\\", "trailing backslash at end of expression"],
    ["a(?=b)", "invalid or unsupported Perl syntax: `(?=`"],
    ["a(?!b)", "invalid or unsupported Perl syntax: `(?!`"],
    ["(?<=a)b", "invalid named capture: `(?<=a)b`"],
    ["(?<!a)b", "invalid named capture: `(?<!a)b`"],
    ["(?P=n)", "invalid or unsupported Perl syntax: `(?P`"],
    ["(?#comment)", "invalid or unsupported Perl syntax: `(?#`"],
    ["(?x)a b", "invalid or unsupported Perl syntax: `(?x`"],
    ["(?i", "invalid or unsupported Perl syntax: `(?i`"],
    ["(?i-)a", "invalid or unsupported Perl syntax: `(?i-)`"],
    ["(?--i)a", "invalid or unsupported Perl syntax: `(?--`"],
    ["(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"],
    ["(?P<>x)", "invalid named capture: `(?P<>`"],
    ["(?P<x", "invalid named capture: `(?P<x`"],
    ["a++", "invalid nested repetition operator: `++`"],
    ["a**", "invalid nested repetition operator: `**`"],
    ["a*??", "invalid nested repetition operator: `*??`"],
    ["a{2}{3}", "invalid nested repetition operator: `{2}{3}`"],
    ["*a", "missing argument to repetition operator: `*`"],
    ["(+)", "missing argument to repetition operator: `+`"],
    ["a|?", "missing argument to repetition operator: `?`"],
    ["a{1001}", "invalid repeat count: `{1001}`"],
    ["a{2,1}", "invalid repeat count: `{2,1}`"],
    ["a{1,1001}", "invalid repeat count: `{1,1001}`"],
    ["(a{100}){100}", "invalid repeat count: `{100}`"],
    ["(?:(?:a{10}){10}){11}", "invalid repeat count: `{11}`"],
    ["([a-z", "missing closing ]: `[a-z`"],
    ["[]", "missing closing ]: `[]`"],
    ["[z-a]", "invalid character class range: `z-a`"],
    ["[[:foo:]]", "invalid character class range: `[:foo:]`"],
    ["(a", "missing closing ): `(a`"],
    ["a)", "unexpected ): `a)`"],
    ["(a))(b", "unexpected ): `(a))(b`"],
    [
      "(".repeat(1001) + ")".repeat(1001),
      "expression nests too deeply: `" + "(".repeat(1001) + ")".repeat(1001) + "`",
    ],
  ];
  for (const [pattern, problem] of cases) {
    equal(checkRe2(pattern), problem, pattern);
    throws(() => compileRe2(pattern), {
      name: "SyntaxError",
      message: `Cannot compile regex "${pattern}": ${problem}`,
    });
  }
});

Deno.test("compileRe2() refuses Unicode classes and code points above U+FFFF as not supported", () => {
  equal(checkRe2("\\pL"), "Unicode character classes are not supported: `\\pL`");
  equal(checkRe2("[\\p{Greek}a]"), "Unicode character classes are not supported: `\\p{Greek}`");
  equal(checkRe2("\\PN"), "Unicode character classes are not supported: `\\PN`");
  equal(checkRe2("\\x{1F600}"), "code points above U+FFFF are not supported: `\\x{1F600}`");
  equal(checkRe2("a😀"), "code points above U+FFFF are not supported: `😀`");
  equal(checkRe2("[a-\\x{10FFFF}]"), "code points above U+FFFF are not supported: `\\x{10FFFF}`");
});

Deno.test("compileRe2() accepts RE2 syntax that JavaScript spells differently or lacks", () => {
  assertEquals(matches("\\Qa.b*\\E+", ["a.b**", "a.b", "axb*"]), [true, false, false]);
  assertEquals(matches("\\Q(unclosed", ["x(unclosed"]), [true]);
  assertEquals(matches("\\Aab\\z", ["ab", "ab\n", "xab"]), [true, false, false]);
  assertEquals(matches("\\x41\\x{42}\\103\\0", ["ABC\0"]), [true]);
  assertEquals(matches("\\a\\f\\t\\n\\r\\v", ["\x07\f\t\n\r\v"]), [true]);
  assertEquals(matches("\\_\\-\\ \\#", ["_- #"]), [true]);
  assertEquals(matches("a{,3}", ["a{,3}", "aaa"]), [true, false]); // not a repetition: literal text
  assertEquals(matches("a{01}", ["a{01}"]), [true]);
  assertEquals(matches("x{", ["x{"]), [true]);
  assertEquals(matches("[]a]", ["]"]), [true]);
  assertEquals(matches("[^]a]", ["]", "a", "b"]), [false, false, true]);
  assertEquals(matches("[a-]", ["-"]), [true]);
  assertEquals(matches("^*$", [""]), [true]); // a repeated assertion, which JavaScript refuses as written
  assertEquals(matches("(?)a", ["a"]), [true]);
  assertEquals(matches("(?P<one>a)(?<two>b)", ["ab"]), [true]);
});

Deno.test("compileRe2() applies (?imsU) anywhere, scoped by groups and negated with -", () => {
  assertEquals(matches("(?i)^/Api$", ["/API", "/api"]), [true, true]);
  assertEquals(matches("^/a(?i)pi$", ["/aPI", "/API"]), [true, false]);
  assertEquals(matches("^(?i:a)b$", ["Ab", "AB"]), [true, false]);
  assertEquals(matches("^((?i)a)a$", ["Aa", "AA"]), [true, false]);
  assertEquals(matches("(?i)^a(?-i)b$", ["Ab", "AB"]), [true, false]);
  assertEquals(matches("^a(?i)|b$", ["xB"]), [true]); // a flag lasts to the end of its group, across |
  assertEquals(matches("^a.b$", ["a\nb", "a\rb"]), [false, true]);
  assertEquals(matches("(?s)^a.b$", ["a\nb"]), [true]);
  assertEquals(matches("(?s:.)(?-s:.)", ["\n\n", "\nx"]), [false, true]);
  assertEquals(matches("(?m)^b$", ["a\nb\nc", "abc"]), [true, false]);
  assertEquals(matches("(?ims-U:^A.b$)", ["x\na\nB"]), [true]);
  assertEquals(groups("(?U)a+", "aaa"), ["a"]);
  assertEquals(groups("(?U)a+?", "aaa"), ["aaa"]);
  assertEquals(groups("(?U:a*)a*", "aa"), ["aa"]);
});

Deno.test("compileRe2() folds case with explicit sets, never JavaScript's i flag", () => {
  equal(source("(?i)ab"), "[Aa][Bb]");
  equal(source("(?i)[a-c]"), "[A-Ca-c]");
  equal(source("(?i)[^k]"), "[^Kk\\u212a]");
  equal(source("(?i)1"), "1");
  assertEquals(matches("(?i)k", ["K", "k", "\u212a"]), [true, true, true]); // RE2 folds KELVIN SIGN too
  assertEquals(matches("(?i)s", ["\u017f"]), [true]);
  assertEquals(matches("(?i)[^k]", ["\u212a", "x"]), [false, true]);
  assertEquals(matches("(?i)é", ["É", "e"]), [true, false]);
  assertEquals(matches("(?i)σ", ["Σ", "ς"]), [true, true]);
  assertEquals(matches("(?i)i", ["ı", "İ"]), [false, false]); // only Turkic folding joins the dotless i
  assertEquals(matches("(?i)\\w", ["\u017f"]), [true]);
  assertEquals(matches("(?i)\\W", ["\u212a", "-"]), [false, true]);
  assertEquals(matches("(?i)[[:upper:]]", ["a"]), [true]);
  assertEquals(matches("(?i)[[:^upper:]]", ["a", "1"]), [false, true]);
  // `i` cannot run in linear time: compiling at all proves the translation avoids it.
  ok(compileRe2("(?i)^/(a+)+$"));
});

Deno.test("compileRe2() keeps RE2's classes: ASCII \\d\\s\\w, \\s without \\v, . and [^…] with RE2's newline rules", () => {
  equal(source("\\d\\s\\w"), "[0-9][\\x09\\x0a\\x0c\\x0d ][0-9A-Z_a-z]");
  equal(source("."), "[^\\x0a]");
  equal(source("(?s)."), "[^]");
  assertEquals(matches("\\s", ["\v", "\u00a0", "\t"]), [false, false, true]);
  assertEquals(matches("\\d", ["٣", "3"]), [false, true]);
  assertEquals(matches("[^a]", ["\n"]), [true]);
  assertEquals(matches("\\D", ["\n"]), [true]);
  assertEquals(matches("[[:^space:]]", ["\n", "x"]), [false, true]);
  assertEquals(matches("[[:alpha:][:digit:]_]", ["_", "-"]), [true, false]);
  assertEquals(matches("[[:word:]]", ["é"]), [false]);
  assertEquals(matches("\\bé", ["é"]), [false]); // \b is ASCII in RE2
  assertEquals(matches("a\\Bb", ["ab"]), [true]);
});

Deno.test("compileRe2() anchors ^ and $ to the text unless (?m)", () => {
  assertEquals(matches("a$", ["a\n", "ba"]), [false, true]);
  assertEquals(matches("^b", ["a\nb"]), [false]);
  assertEquals(matches("(?m)a$", ["a\n"]), [true]);
  assertEquals(matches("(?m)\\Ab", ["a\nb"]), [false]);
  assertEquals(matches("(?m)a\\z", ["a\n"]), [false]);
  equal(source("(?m)^a$"), "(?m:^)a(?m:$)");
});

Deno.test("compileRe2() expands counted repetitions, which V8's linear engine refuses above 16", () => {
  equal(source("a{3}"), "aaa");
  equal(source("a{2,4}"), "aa(?:aa?)?");
  equal(source("a{2,}"), "aa+");
  equal(source("a{0,2}?"), "(?:aa??)??");
  equal(source("(?:ab){0}c"), "c");
  ok(!source("x{20}[a-z]{1,30}(?:ab){2,40}(?:a{10}){10}").includes("{"));
  assertEquals(matches("^a{17}$", ["a".repeat(17), "a".repeat(16), "a".repeat(18)]), [true, false, false]);
  assertEquals(matches("^[a-z]{2,30}$", ["ab", "a", "a".repeat(30), "a".repeat(31)]), [
    true,
    false,
    true,
    false,
  ]);
  assertEquals(matches("^(?:ab){2,}$", ["abab", "ab", "ababab"]), [true, false, true]);
  assertEquals(matches("^x{1000}$", ["x".repeat(1000), "x".repeat(999)]), [true, false]);
  assertEquals(groups("a{2,4}?", "aaaa"), ["aa"]);
  assertEquals(groups("^(?:(a)|b){3}$", "abb"), ["abb", "a"]); // RE2 keeps the last value set
  assertEquals(groups("^(a){1,3}", "aab"), ["aa", "a"]);
  assertEquals(groups("(a){0}b", "ab"), ["b", undefined]);
});

Deno.test("compileRe2() avoids shapes V8 compiles in exponential time", () => {
  equal(source("(?m:$){2,18}"), "(?m:$)"); // repeating an assertion is matching it once
  equal(source("\\b{0,5}"), "(?:\\b)?");
  assertEquals(groups("(\\b){3}a", "a"), ["a", ""]);
  equal(source("(?:\\B){3}", true), "\\B");
  for (const pattern of ["(?:\\B){17}x", "(?:a\\B){1,40}x", "(?m)^(?:a|$){1,30}x"]) {
    const start = performance.now();
    compileRe2(pattern, { submatches: true }).exec("aaa\nb");
    const ms = performance.now() - start;
    ok(ms < 1000, `${pattern} took ${ms.toFixed(0)} ms`);
  }
});

Deno.test("compileRe2() numbers and names capture groups as RE2 does", () => {
  const re = compileRe2("(a)(?:b)(?P<x>c)(?<y>d)((e)|f)", { submatches: true });
  assertEquals(re.groupNames, ["", "", "x", "y", "", ""]);
  assertEquals(re.exec("zabcdf")?.groups, ["abcdf", "a", "c", "d", "f", undefined]);
  assertEquals(re.exec("zabcdf")?.index, 1);
  assertEquals(re.exec("zabcdf")?.end, 6);
  assertEquals(compileRe2("(?P<1a>x)(?P<d>y)(?P<d>z)").groupNames, ["", "1a", "d", "d"]); // Go allows both
  assertEquals(groups("^(?:(a)b)+$", "abab"), ["abab", "a"]);
  assertEquals(groups("(a*)+", "b"), ["", ""]);
  assertEquals(groups("(a*)*", "b"), ["", ""]); // RE2 keeps the empty iteration; JavaScript alone would not
  assertEquals(groups("(a*)?", "b"), ["", ""]);
  assertEquals(groups("(a|)+", "aa"), ["aa", "a"]);
});

Deno.test("compileRe2() with submatches refuses repetitions whose groups JavaScript would report differently", () => {
  equal(
    checkRe2("(?:(a)|b)*", { submatches: true }),
    "capture group 1 inside a repetition that can skip it is not supported with submatches: `(?:(a)|b)*`",
  );
  equal(
    checkRe2("^/x(?:/(v[0-9])?)+$", { submatches: true }),
    "capture group 1 inside a repetition that can skip it is not supported with submatches: `(?:/(v[0-9])?)+`",
  );
  equal(
    checkRe2("(|a)*", { submatches: true }),
    "repetition of an expression that prefers to match empty is not supported with submatches: `(|a)*`",
  );
  // Matching alone is exact for them.
  equal(checkRe2("(?:(a)|b)*"), undefined);
  assertEquals(matches("^(?:(a)|b)*$", ["abba", "abc"]), [true, false]);
  throws(() => compileRe2("a").exec("a"), TypeError);
});

Deno.test("Re2.replaceAll() follows Go's ReplaceAllString and Expand", () => {
  const replace = (pattern: string, input: string, template: string) => {
    const re = compileRe2(pattern, { submatches: true });
    return re.replaceAll(input, re.template(template));
  };
  equal(replace("/users/(?P<id>[0-9]+)", "/users/12/users/34", "/u/${id}/$1$$"), "/u/12/12$/u/34/34$");
  equal(replace("a*", "baaac", "X"), "XbXcX"); // no empty match right after a match (JavaScript: XbXXcX)
  equal(replace("", "ab", "-"), "-a-b-");
  equal(replace("(a)(b)", "ab", "$1x|${1}x|$2"), "|ax|b"); // $1x is ${1x}, a missing name
  equal(replace("(a)", "a", "$3|$01|${x|$"), "||${x|$"); // out of range, not a number, malformed
  equal(replace("(?P<n>a)|(?P<n>b)", "ab", "[$n]"), "[a][b]"); // the first group of that name that took part
  equal(replace("(x)", "x", "${é}|$é"), "|"); // names are Unicode letters; no such group
  equal(replace("^", "ab", "/"), "/ab");
  equal(replace("(?i)API", "/api/Api", "v1"), "/v1/v1");
  equal(replace("[0-9]+", "/items/42", "N"), "/items/N");
});

Deno.test("compileRe2() reports that meshctl must run with its V8 flags when the linear engine is off", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `import { compileRe2 } from "${new URL("./re2.ts", import.meta.url)}"; compileRe2("a+");`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(out.code, 1);
  match(
    new TextDecoder().decode(out.stderr),
    new RegExp(`must run with its V8 flags \\(--v8-flags=${LINEAR_REGEXP_V8_FLAGS}\\)`),
  );
});
