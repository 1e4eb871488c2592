/** Time source for timers that tests can replace. Monotonic milliseconds. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/** A timer handle as `setTimeout` returns it (a number in Deno's types, an object in Node's). */
export type TimerId = ReturnType<typeof setTimeout>;
