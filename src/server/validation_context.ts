import { codecNames } from "../codec/mod.ts";
import { getStreamFilter, streamFilterNames } from "../filter/mod.ts";
import type { ValidationContext } from "../config/mod.ts";

/** What the config validator must know from the registries: the names that exist in this build. */
export function validationContext(): ValidationContext {
  return {
    protocols: codecNames(),
    streamFilters: streamFilterNames(),
    networkFilters: ["proxy", "tcp_proxy"],
    checkStreamFilterConfig: (type, config) => {
      const made = getStreamFilter(type)?.create(config);
      return made !== undefined && "errors" in made ? made.errors : [];
    },
  };
}
