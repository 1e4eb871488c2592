import type { FilterContext, FilterResult, StreamFilter, StreamFilterFactory } from "./types.ts";

export type Phase = "beforeRoute" | "afterRoute" | "afterChooseHost";

/**
 * Runs one phase over a request's filters in order; stops at the first local reply. Synchronous
 * filters cost no promise; an async one makes the rest of the phase async.
 */
export function runPhase(
  filters: readonly StreamFilter[],
  phase: Phase,
  ctx: FilterContext,
): FilterResult | Promise<FilterResult> {
  for (let i = 0; i < filters.length; i++) {
    const fn = filters[i]![phase];
    if (fn === undefined) continue;
    const r = fn.call(filters[i], ctx);
    if (r instanceof Promise) return r.then((res) => res ?? runPhase(filters.slice(i + 1), phase, ctx));
    if (r !== undefined) return r;
  }
  return undefined;
}

/** Instantiates a listener's filter factories for one request. */
export function buildFilters(factories: readonly StreamFilterFactory[]): StreamFilter[] {
  const out = new Array<StreamFilter>(factories.length);
  for (let i = 0; i < factories.length; i++) out[i] = factories[i]!();
  return out;
}
