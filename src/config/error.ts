/** One problem in a config file, as data: where it is and what is wrong. */
export interface ConfigError {
  readonly file: string;
  /** 1-based line of the offending node (its parent mapping when a field is missing). */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
  /** Where in the document, e.g. `cluster_manager.clusters[0].lb_type`; empty for syntax errors. */
  readonly path: string;
  readonly message: string;
}

/**
 * Something a valid config says that meshctl will not do as written: a MOSN feature accepted so the file
 * loads but not acted on (`tracing`), or a setting MOSN itself would never use (routes a tcp_proxy never
 * consults). Located exactly like an error; it never stops a config from loading.
 */
export type ConfigWarning = ConfigError;

/** `FILE:LINE:COL: PATH: MESSAGE` (the PATH part is left out when empty). */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path ? `${e.path}: ` : ""}${e.message}`;
}

/** `FILE:LINE:COL: PATH: warning: MESSAGE`, the compilers' way of telling a warning from an error. */
export function formatConfigWarning(w: ConfigWarning): string {
  return `${w.file}:${w.line}:${w.col}: ${w.path ? `${w.path}: ` : ""}warning: ${w.message}`;
}
