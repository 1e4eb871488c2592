import type { RequestHead, ResponseHead } from "../codec/mod.ts";

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

/** Validates a filter's config and returns its factory, or a list of messages on error. */
export interface StreamFilterDefinition {
  readonly type: string;
  create(config: Readonly<Record<string, unknown>>): StreamFilterFactory | { errors: string[] };
}
