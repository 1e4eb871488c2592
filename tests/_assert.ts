/** std-style assertion names over `node:assert/strict` (JSR's @std/assert is unreachable here). */
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, message?: string): asserts cond {
  nodeAssert.ok(cond, message);
}

export function assertEquals<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

export function assertMatch(actual: string, re: RegExp, message?: string): void {
  nodeAssert.match(actual, re, message);
}

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  nodeAssert.ok(
    actual.includes(expected),
    message ?? `expected ${JSON.stringify(actual.slice(0, 200))} to include ${JSON.stringify(expected)}`,
  );
}
