import { codecNames } from "../codec/mod.ts";
import { streamFilterNames } from "../filter/mod.ts";
import type { ValidationContext } from "../config/mod.ts";

/** What the config validator must know from the registries: the names that exist in this build. */
export function validationContext(): ValidationContext {
  return { protocols: codecNames(), streamFilters: streamFilterNames(), networkFilters: ["proxy", "tcp_proxy"] };
}
