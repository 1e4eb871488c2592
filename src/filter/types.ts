import type { Clock } from "../core/mod.ts";
import type { RequestHead, ResponseHead } from "../codec/mod.ts";
import type { Scope } from "../stats/mod.ts";

/** A filter's decision in a phase: go on, or answer the request locally (with a status and body). */
export type FilterResult = undefined | {
  readonly localReply: { readonly status: number; readonly body: string };
};

/** What a filter sees of the request being proxied. */
export interface FilterContext {
  readonly request: RequestHead;
  readonly listener: string;
  readonly remoteAddress: string;
  /** Set after routing. */
  readonly cluster: string | undefined;
  /** Set after a host is chosen. */
  readonly upstreamHost: string | undefined;
}

/**
 * A stream filter: named phases (MOSN's BeforeRoute / AfterRoute / AfterChooseHost / BeforeSend / Log),
 * each optional, so a filter implements only the phases it cares about. Phases may be async (e.g. a
 * delay); the proxy skips the chain entirely when a listener has no filters.
 */
export interface StreamFilter {
  readonly name: string;
  beforeRoute?(ctx: FilterContext): FilterResult | Promise<FilterResult>;
  afterRoute?(ctx: FilterContext): FilterResult | Promise<FilterResult>;
  afterChooseHost?(ctx: FilterContext): FilterResult | Promise<FilterResult>;
  /** On the response head, before it is sent downstream. May edit headers. */
  beforeSend?(ctx: FilterContext, response: ResponseHead): void;
  /** After the stream ends (access-log time). */
  log?(ctx: FilterContext, status: number): void;
}

/** Builds a filter per request from validated config (one factory per listener and filter). */
export type StreamFilterFactory = () => StreamFilter;

/** Host counts of a cluster, for filters that answer by cluster health. */
export interface ClusterHealth {
  /** Hosts in the cluster now (Envoy's membership_total). */
  readonly total: number;
  /** Of those, the ones the load balancer may pick. */
  readonly healthy: number;
}

/**
 * What a filter may know of the config it runs in. At validation only `clusterNames`; when the runtime
 * builds the listener, the live views too.
 */
export interface FilterEnvironment {
  /** The snapshot's cluster names (to check names a filter config refers to). */
  readonly clusterNames: ReadonlySet<string>;
  /** The cluster's host counts now, or undefined for an unknown cluster. */
  readonly clusterHealth?: (cluster: string) => ClusterHealth | undefined;
  readonly clock?: Clock;
  /** The listener's downstream scope, for the filter's own counters. */
  readonly stats?: Scope;
}

/** A problem in a filter's config: a message, or a message about the field at `path` (e.g. `a.b`). */
export type FilterConfigError = string | { readonly path: string; readonly message: string };

/** Validates a filter's config and returns its factory, or the problems found. */
export interface StreamFilterDefinition {
  readonly type: string;
  /**
   * The filter answers the protocols' own health checks (bolt heartbeats): a listener running it has its
   * codecs hand them to the proxy (`CodecOptions.deliverHealthChecks`) instead of answering them.
   */
  readonly takesHealthChecks?: boolean;
  create(
    config: Readonly<Record<string, unknown>>,
    env?: FilterEnvironment,
  ): StreamFilterFactory | { errors: FilterConfigError[] };
  /** Settings of a valid config that will not do what they say (shown as config warnings). */
  lint?(config: Readonly<Record<string, unknown>>): FilterConfigError[];
}
