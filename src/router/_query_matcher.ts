import type { QueryParameterMatcherConfig } from "../config/mod.ts";
import type { Re2 } from "../core/mod.ts";
import { compileRouteRegex } from "./_regex.ts";

/**
 * A route's query parameter conditions (Envoy's `query_parameters`), all of which must hold. Each reads
 * the parameter's first occurrence in the query, percent-decoded as Envoy does (`+` stays `+`); a
 * parameter without `=` has the value "". Undecodable escapes are compared as sent.
 */
export class QueryMatcher {
  readonly #names: readonly string[];
  readonly #values: readonly (string | undefined)[];
  readonly #regexes: readonly (Re2 | undefined)[];

  constructor(configs: readonly QueryParameterMatcherConfig[], where: string) {
    this.#names = configs.map((c) => c.name);
    this.#values = configs.map((c) => c.value);
    this.#regexes = configs.map((c) =>
      c.regex && c.value !== undefined ? compileRouteRegex(c.value, where) : undefined
    );
  }

  get size(): number {
    return this.#names.length;
  }

  /** @param query the request's query with its "?", or "" */
  matches(query: string): boolean {
    for (let i = 0; i < this.#names.length; i++) {
      const value = firstValue(query, this.#names[i]!);
      if (value === undefined) return false;
      const want = this.#values[i];
      if (want === undefined) continue; // present match
      const re = this.#regexes[i];
      if (re !== undefined ? !re.test(value) : value !== want) return false;
    }
    return true;
  }
}

function decode(s: string): string {
  if (!s.includes("%")) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The decoded value of the first `name` parameter in `query` ("?a=1&b"), or undefined when absent. */
function firstValue(query: string, name: string): string | undefined {
  let start = query.charCodeAt(0) === 0x3f ? 1 : 0;
  while (start < query.length) {
    let end = query.indexOf("&", start);
    if (end < 0) end = query.length;
    const eq = query.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (decode(query.slice(start, keyEnd)) === name) {
      return keyEnd === end ? "" : decode(query.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return undefined;
}
