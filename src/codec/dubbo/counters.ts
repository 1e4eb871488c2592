/** The dubbo codec's own counters, in the `codec` scope of each listener and cluster. */
import type { Counter, Scope } from "../../stats/mod.ts";

export interface DubboCounters {
  /** Connections closed for bytes that break the protocol (bad magic, oversized or truncated frames, bad bodies). */
  readonly protocolErrors: Counter;
  /** Of those, requests whose body could not be read for routing (not hessian2, malformed, over the limit). */
  readonly decodeErrors: Counter;
  /** Responses whose id matched no request in flight (late after a timeout or reset, or a confused peer). */
  readonly unknownResponses: Counter;
  /** Readonly events: a provider shutting down asked for no more calls on its connection. */
  readonly readonlyEvents: Counter;
}

const byScope = new WeakMap<Scope, DubboCounters>();

/** The counters of `scope`, shared by its connections; none without a scope (unit tests). */
export function dubboCounters(scope: Scope | undefined): DubboCounters | undefined {
  if (scope === undefined) return undefined;
  let c = byScope.get(scope);
  if (c === undefined) {
    c = {
      protocolErrors: scope.counter("dubbo_protocol_error_total"),
      decodeErrors: scope.counter("dubbo_decode_error_total"),
      unknownResponses: scope.counter("dubbo_unknown_response_total"),
      readonlyEvents: scope.counter("dubbo_readonly_event_total"),
    };
    byScope.set(scope, c);
  }
  return c;
}
