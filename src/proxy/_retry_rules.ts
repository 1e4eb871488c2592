/**
 * Envoy's retry_on conditions (a route's `retry_conditions`), as Envoy's router decides them
 * (`RetryStateImpl::wouldRetryFromReset` / `wouldRetryFromHeaders`), for what meshctl can observe:
 *
 * | condition | retries when |
 * |---|---|
 * | 5xx | status ≥ 500, or no response: reset, connection failure, protocol error, per-try timeout |
 * | gateway-error | status 502/503/504, or no response (as 5xx) |
 * | reset | no response (reset, connection failure, protocol error, per-try timeout) |
 * | connect-failure | the connection to the host failed |
 * | refused-stream | the upstream reset the stream unprocessed (HTTP/2 REFUSED_STREAM, or never sent) |
 * | retriable-4xx | status 409 |
 * | retriable-status-codes | status in `status_codes` |
 * | retriable-headers | a response header matches `retriable_headers` |
 * | envoy-ratelimited | the response has `x-envoy-ratelimited` |
 * | cancelled, deadline-exceeded, internal, resource-exhausted, unavailable | gRPC status 1/4/13/8/14 in the response headers (trailers-only) |
 *
 * A host that is not there (no healthy upstream) or a circuit breaker is never retried, as in Envoy.
 */
import { compileRe2, type ProxyError, type Re2 } from "../core/mod.ts";
import type { HeaderMap } from "../codec/mod.ts";
import type { HeaderMatcherConfig, RetryCondition, RetryPolicyConfig } from "../config/mod.ts";

type Conditions = ReadonlySet<RetryCondition>;

/** Whether a failed attempt (no response) is retried under Envoy's conditions. */
export function envoyRetryOnError(conditions: Conditions, err: ProxyError): boolean {
  const noResponse = conditions.has("5xx") || conditions.has("gateway-error") || conditions.has("reset");
  switch (err.kind) {
    case "connect_failure":
      return noResponse || conditions.has("connect-failure");
    case "upstream_reset":
      return noResponse || (conditions.has("refused-stream") && err.retryable);
    case "upstream_protocol_error":
    case "per_try_timeout":
      return noResponse;
    default:
      return false;
  }
}

const GRPC_CONDITIONS: ReadonlyMap<string, RetryCondition> = new Map([
  ["1", "cancelled"],
  ["4", "deadline-exceeded"],
  ["13", "internal"],
  ["8", "resource-exhausted"],
  ["14", "unavailable"],
]);

/** Whether a response (status + headers) is retried under the policy's Envoy conditions. */
export function envoyRetryOnResponse(rp: RetryPolicyConfig, status: number, headers: HeaderMap): boolean {
  const c = rp.conditions!;
  if (c.has("5xx") && status >= 500) return true;
  if (c.has("gateway-error") && status >= 502 && status <= 504) return true;
  if (c.has("retriable-4xx") && status === 409) return true;
  if (c.has("retriable-status-codes") && rp.statusCodes.includes(status)) return true;
  if (c.has("envoy-ratelimited") && headers.has("x-envoy-ratelimited")) return true;
  if (c.has("retriable-headers") && rp.retriableHeaders?.length && anyHeaderMatches(rp, headers)) return true;
  const grpc = headers.get("grpc-status");
  if (grpc !== undefined) {
    const cond = GRPC_CONDITIONS.get(grpc.trim());
    if (cond !== undefined && c.has(cond)) return true;
  }
  return false;
}

/** Compiled retriable_headers per policy (policies are immutable per snapshot). */
const compiled = new WeakMap<RetryPolicyConfig, (Re2 | undefined)[]>();

function anyHeaderMatches(rp: RetryPolicyConfig, headers: HeaderMap): boolean {
  const matchers: readonly HeaderMatcherConfig[] = rp.retriableHeaders!;
  let regexes = compiled.get(rp);
  if (regexes === undefined) {
    regexes = matchers.map((m) => (m.regex ? compileRe2(m.value) : undefined));
    compiled.set(rp, regexes);
  }
  for (let i = 0; i < matchers.length; i++) {
    const value = headers.get(matchers[i]!.name);
    if (value === undefined) continue;
    const re = regexes[i];
    if (re !== undefined ? re.test(value) : value === matchers[i]!.value) return true;
  }
  return false;
}

/** MOSN-mode back-off (no retry_back_off): up to 10 ms, so a dying host is not hammered in a tight loop. */
export const DEFAULT_RETRY_JITTER_MS = 10;

/**
 * The wait before retry number `retry` (1 = the first): Envoy's jittered exponential back-off, uniform
 * in [0, (2^retry − 1) × base) capped at max; without `retry_back_off`, uniform in [0, 10 ms).
 */
export function retryBackOffMs(
  rp: RetryPolicyConfig | undefined,
  retry: number,
  random: () => number,
): number {
  const b = rp?.backOff;
  if (b === undefined) return Math.floor(random() * DEFAULT_RETRY_JITTER_MS);
  const ceiling = Math.min(b.maxMs, (2 ** Math.min(retry, 30) - 1) * b.baseMs);
  return Math.min(b.maxMs, MAX_TIMER_MS, Math.floor(random() * ceiling));
}

/** setTimeout's largest delay (a larger one fires at once): a configured back-off beyond it is capped. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
