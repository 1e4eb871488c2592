/**
 * Linear time: patterns that make a backtracking engine take exponential time finish quickly on every
 * input, because V8 hands a match over to its linear-time engine after too much backtracking (the run
 * flags) and compileRe2() only accepts translations that engine can run.
 */
import { equal, ok } from "node:assert/strict";
import { compileRe2 } from "./re2.ts";

/** Generous: the linear engine takes a few ms here; exponential backtracking takes hours. */
const BOUND_MS = 250;
const KIB_64 = 64 * 1024;

const CASES: [pattern: string, unit: string, tail: string][] = [
  ["^/(a+)+$", "a", "!"],
  ["(?i)^/(a+)+$", "A", "!"],
  ["(a|a)*b", "a", ""],
  ["(x+x+)+y", "x", ""],
];

function inputOf(unit: string, tail: string, length: number): string {
  return "/" + unit.repeat(length - 1 - tail.length) + tail;
}

Deno.test("compileRe2() matches exponential-backtracking patterns in linear time", () => {
  for (const [pattern, unit, tail] of CASES) {
    const re = compileRe2(pattern);
    const rewrite = compileRe2(pattern, { submatches: true });
    for (const length of [35, KIB_64]) {
      const input = inputOf(unit, tail, length);
      equal(input.length, length);
      const start = performance.now();
      equal(re.test(input), false, pattern);
      equal(rewrite.replaceAll(input, rewrite.template("$1")), input);
      const ms = performance.now() - start;
      ok(ms < BOUND_MS, `${pattern} on ${length} bytes took ${ms.toFixed(1)} ms`);
    }
  }
});

Deno.test("compileRe2() linear-time test would fail without the fallback: a plain RegExp hangs on 35 bytes", async () => {
  // Without --enable-experimental-regexp-engine-on-excessive-backtracks the same pattern backtracks
  // 2^33 times; give it 1.5 s (it needs hours) in a process with only the other flag.
  const input = inputOf("a", "!", 35);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--v8-flags=--enable-experimental-regexp-engine",
      `/^\\/(a+)+$/.test(${JSON.stringify(input)})`,
    ],
    stdout: "null",
    stderr: "null",
    signal: AbortSignal.timeout(1500),
  }).spawn();
  const status = await child.status;
  equal(status.success, false);
  equal(status.signal, "SIGTERM");
});
