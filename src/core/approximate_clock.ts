/**
 * A clock read once per unit of work instead of once per request (Envoy's
 * `Dispatcher::approximateMonotonicTime()`). The read loop marks the start of each read's processing
 * (`invalidateApproximateNow`); the first `approximateNow()` after that reads `performance.now()` and
 * every later one until the next mark returns the same value. So the N requests decoded from one read,
 * and the N responses of another, cost one clock read (~85–200 ns each in Deno) between them, not four
 * each; a duration is measured from the read that brought the request to the read that brought its
 * response, which is when the bytes arrived. Outside a marked unit (a timer firing) it reads the clock.
 */

let cached = 0;
let valid = false;
let depth = 0;

/** Milliseconds on the monotonic clock `performance.now()` uses, read at most once per unit of work. */
export function approximateNow(): number {
  if (valid) return cached;
  const now = performance.now();
  if (depth > 0) {
    cached = now;
    valid = true;
  }
  return now;
}

/** A unit of work starts (the read loop: a read came back): the next `approximateNow()` reads the clock. */
export function beginApproximateClock(): void {
  if (depth++ === 0) valid = false;
}

/** The unit of work is over: readings go back to the clock itself. */
export function endApproximateClock(): void {
  if (--depth > 0) return;
  depth = 0;
  valid = false;
}
