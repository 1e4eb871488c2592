import { codecNames } from "../codec/mod.ts";
import { getStreamFilter, streamFilterNames } from "../filter/mod.ts";
import type { ValidationContext } from "../config/mod.ts";

/** What the config validator must know from the registries: the names that exist in this build. */
export function validationContext(): ValidationContext {
  return {
    protocols: codecNames(),
    streamFilters: streamFilterNames(),
    networkFilters: ["proxy", "tcp_proxy"],
    checkStreamFilterConfig: (type, config, clusterNames) => {
      const def = getStreamFilter(type);
      const made = def?.create(config, { clusterNames });
      if (made !== undefined && "errors" in made) return { errors: made.errors, warnings: [] };
      return { errors: [], warnings: def?.lint?.(config) ?? [] };
    },
  };
}
