/**
 * What the validator must know from higher layers: the registered protocols and filters. The
 * config layer sits below codecs and filters, so callers pass their registries' names in.
 */
export interface ValidationContext {
  /** Registered protocol names (codec registry), e.g. Http1, bolt. */
  readonly protocols: readonly string[];
  /** Registered stream filter names. */
  readonly streamFilters: readonly string[];
  /** Registered network filter names. */
  readonly networkFilters: readonly string[];
  /**
   * Validates a registered stream filter's `config` against the snapshot's cluster names: its errors
   * (none when valid) and warnings, each a message or a message about a field under `config`.
   */
  readonly checkStreamFilterConfig?: (
    type: string,
    config: Readonly<Record<string, unknown>>,
    clusterNames: ReadonlySet<string>,
  ) => { readonly errors: readonly FilterProblem[]; readonly warnings: readonly FilterProblem[] };
}

/** A stream filter config problem: a message, or one about the field at `path` under the config. */
export type FilterProblem = string | { readonly path: string; readonly message: string };

export const DEFAULT_VALIDATION_CONTEXT: ValidationContext = Object.freeze({
  protocols: Object.freeze(["Http1", "Http2", "bolt", "boltv2", "dubbo"]),
  streamFilters: Object.freeze([]),
  networkFilters: Object.freeze(["proxy", "tcp_proxy"]),
});

/** MOSN protocol names meshctl does not implement yet: "not supported" instead of "unknown". */
export const MOSN_PROTOCOLS: readonly string[] = ["dubbo-thrift", "tars"];

/** MOSN stream filters meshctl does not implement yet. */
export const MOSN_STREAM_FILTERS: readonly string[] = [
  "flowControlFilter",
  "mirror",
  "dsl",
  "ip_access",
  "payload_limit",
  "gzip",
  "header_to_metadata",
  "fault_tolerance",
  "dubbo_stream",
  "grpc_metric",
  "transcoder",
  "proxywasm",
  "seata",
  "jwt_authn",
  "mixer",
  "istio.stats",
];

/** MOSN network filters meshctl does not implement yet, with a hint. */
export const MOSN_NETWORK_FILTERS: Readonly<Record<string, string>> = {
  connection_manager: "put route tables in servers[].routers",
  udp_proxy: "",
  grpc: "",
  tunnel: "",
  fault_inject: "",
};
