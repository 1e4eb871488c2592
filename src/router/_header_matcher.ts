import type { RequestHead } from "../codec/mod.ts";
import type { HeaderMatcherConfig } from "../config/mod.ts";
import type { Re2 } from "../core/mod.ts";
import { compileRouteRegex } from "./_regex.ts";

/**
 * A route's header conditions, all of which must hold. In an HTTP rule (a route with a path matcher) the
 * name `method` reads the request method, as MOSN's HTTP header matcher; in an RPC rule it is a header
 * like any other (MOSN's common header matcher).
 */
export class HeaderMatcher {
  readonly #names: readonly string[];
  readonly #isMethod: readonly boolean[];
  readonly #values: readonly string[];
  readonly #regexes: readonly (Re2 | undefined)[];

  constructor(configs: readonly HeaderMatcherConfig[], where: string, options: { httpRule: boolean }) {
    this.#names = configs.map((c) => c.name.toLowerCase());
    this.#isMethod = this.#names.map((n) => options.httpRule && n === "method");
    this.#values = configs.map((c) => c.value);
    this.#regexes = configs.map((c) => c.regex ? compileRouteRegex(c.value, where) : undefined);
  }

  get size(): number {
    return this.#names.length;
  }

  /** True when every condition holds; an absent header fails its condition. */
  matches(head: RequestHead): boolean {
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      const value = this.#isMethod[i] ? head.method : head.headers.get(names[i]!);
      if (value === undefined) return false;
      const re = this.#regexes[i];
      if (re !== undefined ? !re.test(value) : value !== this.#values[i]) return false;
    }
    return true;
  }
}
