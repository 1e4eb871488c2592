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

/** `FILE:LINE:COL: PATH: MESSAGE` (the PATH part is left out when empty). */
export function formatConfigError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path ? `${e.path}: ` : ""}${e.message}`;
}
