/**
 * Time source for timers, so tests can drive time themselves (`FakeClock`) instead of sleeping.
 * Milliseconds on a monotonic clock: only differences between readings mean anything.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Ignores `undefined` and ids that already fired, as the global does. */
  clearTimeout(id: TimerId | undefined): void;
  setInterval(fn: () => void, ms: number): TimerId;
  clearInterval(id: TimerId | undefined): void;
}

/** The process's own clock: `performance.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id),
};

/** A timer handle as `setTimeout` returns it (a number in Deno's types, an object in Node's). */
export type TimerId = ReturnType<typeof setTimeout>;
