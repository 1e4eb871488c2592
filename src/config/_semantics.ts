import type { TlsContextConfig } from "./types.ts";

/** The walker's output: shaped like the schema, but any field may be missing after an error. */
export type Loose<T> = T extends readonly (infer U)[] ? readonly (Loose<U> | undefined)[]
  : T extends object ? { readonly [K in keyof T]?: Loose<T[K]> }
  : T;

export type Report = (path: string, message: string) => void;

/** Where the semantic pass sends what it finds: errors stop a config from loading, warnings do not. */
export interface Reporter {
  readonly error: Report;
  readonly warn: Report;
  /** Whether the structural pass already reported an error at `path` (its value is then missing). */
  readonly hasError?: (path: string) => boolean;
}

/** What the semantic pass worked out for the snapshot: the TLS contexts, material read and checked. */
export interface SemanticResult {
  /** Each listener's enabled TLS contexts in config order, by listener path (`servers[0].listeners[1]`). */
  readonly listenerTls: ReadonlyMap<string, readonly TlsContextConfig[]>;
  /** The TLS context each cluster dials with (its own, or cluster_manager's), by cluster path. */
  readonly clusterTls: ReadonlyMap<string, TlsContextConfig>;
}
