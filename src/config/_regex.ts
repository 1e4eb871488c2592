/**
 * Checks that an RE2 pattern (as MOSN writes them) compiles as a JavaScript RegExp.
 * RE2's `(?P<name>` group syntax is accepted and translated. Returns the problem, or undefined.
 */
export function checkRegex(pattern: string): string | undefined {
  try {
    new RegExp(toJsRegex(pattern));
    return undefined;
  } catch (e) {
    return e instanceof Error
      ? e.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "")
      : String(e);
  }
}

/** RE2 → JS: named groups `(?P<x>` become `(?<x>`. */
export function toJsRegex(pattern: string): string {
  return pattern.replaceAll("(?P<", "(?<");
}
