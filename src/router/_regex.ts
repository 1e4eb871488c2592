import { compileRe2, type CompileRe2Options, type Re2 } from "../core/mod.ts";

/**
 * Compiles a route or header regex with core's RE2 translator (the one config validation uses), naming
 * the route in the error.
 * @throws {SyntaxError} e.g. `Cannot compile regex "(a)\1" in router "r" …: invalid escape sequence: …`
 */
export function compileRouteRegex(pattern: string, where: string, options: CompileRe2Options = {}): Re2 {
  try {
    return compileRe2(pattern, options);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const problem = e.cause instanceof Error ? e.cause.message : e.message;
    throw new SyntaxError(`Cannot compile regex "${pattern}" in ${where}: ${problem}`, { cause: e });
  }
}
