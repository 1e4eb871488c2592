/**
 * Linear time: patterns that make a backtracking engine take exponential time finish quickly on every
 * input, because V8 hands a match over to its linear-time engine after too much backtracking (the run
 * flags) and compileRe2() only accepts translations that engine can run.
 *
 * The bounds are on CPU time, not wall time: on a shared machine a runnable process can wait hundreds of
 * ms for a core (the wall-time bound failed under load), while the CPU a match uses stays its own.
 */
import { equal, ok } from "node:assert/strict";
import process from "node:process";
import { compileRe2 } from "./re2.ts";

/** Generous: the linear engine takes a few ms of CPU here; exponential backtracking takes hours. */
const BOUND_CPU_MS = 250;
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

/** CPU time (user + system) this process has used so far, in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

Deno.test("compileRe2() matches exponential-backtracking patterns in linear time", () => {
  for (const [pattern, unit, tail] of CASES) {
    const re = compileRe2(pattern);
    const rewrite = compileRe2(pattern, { submatches: true });
    for (const length of [35, KIB_64]) {
      const input = inputOf(unit, tail, length);
      equal(input.length, length);
      const start = cpuMs();
      equal(re.test(input), false, pattern);
      equal(rewrite.replaceAll(input, rewrite.template("$1")), input);
      const ms = cpuMs() - start;
      ok(ms < BOUND_CPU_MS, `${pattern} on ${length} bytes took ${ms.toFixed(1)} ms of CPU`);
    }
  }
});

/** CPU seconds the child without the fallback gets (soft RLIMIT_CPU: the kernel then sends SIGXCPU). */
const CHILD_CPU_S = 1;

Deno.test("compileRe2() linear-time test would fail without the fallback: a plain RegExp hangs on 35 bytes", async () => {
  // Without --enable-experimental-regexp-engine-on-excessive-backtracks the same pattern backtracks
  // 2^33 times; give it CHILD_CPU_S of CPU (it needs hours) in a process with only the other flag. A CPU
  // limit, not a wall-clock timeout: a child starved of a core must not pass for one stuck in the match.
  const input = inputOf("a", "!", 35);
  const script = `console.log("matching"); /^\\/(a+)+$/.test(${
    JSON.stringify(input)
  }); console.log("matched");`;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -S -t ${CHILD_CPU_S}; exec "$0" eval --v8-flags=--enable-experimental-regexp-engine "$1"`,
      Deno.execPath(),
      script,
    ],
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(60_000), // a backstop if the limit did not apply; fails the signal check
  }).spawn();
  const { success, signal, stdout } = await child.output();
  equal(new TextDecoder().decode(stdout), "matching\n", "the child started the match and never finished it");
  equal(success, false);
  equal(signal, "SIGXCPU");
});
