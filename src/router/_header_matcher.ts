import type { RequestHead } from "../codec/mod.ts";
import type { HeaderMatcherConfig } from "../config/mod.ts";
import type { Re2 } from "../core/mod.ts";
import { compileRouteRegex } from "./_regex.ts";

/** A route's header conditions, all of which must hold. Name `method` reads the request method. */
export class HeaderMatcher {
  readonly #names: readonly string[];
  readonly #isMethod: readonly boolean[];
  readonly #values: readonly string[];
  readonly #regexes: readonly (Re2 | undefined)[];

  constructor(configs: readonly HeaderMatcherConfig[], where: string) {
    this.#names = configs.map((c) => c.name.toLowerCase());
    this.#isMethod = this.#names.map((n) => n === "method");
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
