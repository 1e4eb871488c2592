/**
 * Configuration: parse YAML/JSON (MOSN v2 schema) → validate, collecting every error (and every warning)
 * with file:line:col → deep-frozen {@link ConfigSnapshot}. Also the config's JSON Schema for editors.
 * @module
 */
export type * from "./types.ts";
export type { ConfigError, ConfigWarning } from "./error.ts";
export { formatConfigError, formatConfigWarning } from "./error.ts";
export type { FilterProblem, ValidationContext } from "./context.ts";
export { DEFAULT_VALIDATION_CONTEXT } from "./context.ts";
export { AUTO_PROTOCOL } from "./_protocols.ts";
export { MAX_HOST_PRIORITY, RETRY_CONDITIONS } from "./schema.ts";
export type { ParsedConfigDocument } from "./parse.ts";
export { parseConfigDocument } from "./parse.ts";
export type { ConfigResult } from "./load.ts";
export { loadConfigFile, parseConfigText, validateConfig } from "./load.ts";
export { configJsonSchema } from "./json_schema.ts";
export { REGISTRY_DEFAULTS, REGISTRY_ROUTER_NAME, REGISTRY_SOFA_ROUTER_NAME } from "./defaults.ts";
