/**
 * Stream filters: named phases with no-op defaults, registered by type. Importing this module registers
 * the built-in filters.
 * @module
 */
import { registerStreamFilter } from "./registry.ts";
import { faultFilter } from "./fault/fault.ts";
import { healthCheckFilter } from "./healthcheck/healthcheck.ts";

export type {
  ClusterHealth,
  FilterConfigError,
  FilterContext,
  FilterEnvironment,
  FilterResult,
  StreamFilter,
  StreamFilterDefinition,
  StreamFilterFactory,
} from "./types.ts";
export { getStreamFilter, registerStreamFilter, streamFilterNames } from "./registry.ts";
export { buildFilters, runPhase } from "./chain.ts";
export type { Phase } from "./chain.ts";

registerStreamFilter(faultFilter);
registerStreamFilter(healthCheckFilter);
