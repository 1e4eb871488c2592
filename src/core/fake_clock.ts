import type { Clock, TimerId } from "./clock.ts";

interface FakeTimer {
  readonly id: TimerId;
  readonly fn: () => void;
  /** When it is due, on the fake clock. */
  at: number;
  /** Order among timers due at the same time: when it was (re)scheduled. */
  seq: number;
  /** The period of an interval; undefined for a one-shot timeout. */
  readonly every: number | undefined;
}

/**
 * A `Clock` that moves only when a test says so, for testing timers without sleeping.
 *
 * Timers fire synchronously inside `tick()`, `next()` and `runAll()`, in deadline order (timers due at
 * the same time in the order they were scheduled), and each sees `now()` at its own deadline. A timer
 * that a callback schedules fires in the same call if it falls due within it. An interval re-arms
 * before its callback runs, so the callback may clear it. A callback's exception propagates to the
 * caller of `tick()`; the failing timer counts as fired and time stays at its deadline.
 *
 * Timeout and interval ids share one space, so either clear function cancels either kind, as in browsers.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * let fired = false;
 * clock.setTimeout(() => fired = true, 100);
 * clock.tick(99); // fired === false
 * clock.tick(1); // fired === true, clock.now() === 100
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #nextId = 1;
  readonly #timers = new Map<TimerId, FakeTimer>();

  /** @param start what `now()` reads before the first tick. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Negative or NaN delays mean 0, as with the global. */
  setTimeout(fn: () => void, ms: number): TimerId {
    return this.#schedule(fn, delay(ms, 0), undefined);
  }

  /** Periods under 1 ms mean 1 ms (as Node's), so an interval can never fire twice at one instant. */
  setInterval(fn: () => void, ms: number): TimerId {
    const every = delay(ms, 1);
    return this.#schedule(fn, every, every);
  }

  clearTimeout(id: TimerId | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  clearInterval(id: TimerId | undefined): void {
    this.clearTimeout(id);
  }

  /** Timers scheduled and neither fired (one-shot) nor cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Advances time by `ms`, firing every timer due by then (including ones scheduled meanwhile).
   * Returns how many fired.
   */
  tick(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`Cannot tick the clock by ${ms} ms: must be 0 or more`);
    const until = this.#now + ms;
    let fired = 0;
    for (let t = this.#earliest(); t !== undefined && t.at <= until; t = this.#earliest()) {
      fired++;
      this.#fire(t);
    }
    this.#now = until;
    return fired;
  }

  /** Advances time to the earliest timer's deadline and fires that one timer; false when none is pending. */
  next(): boolean {
    const t = this.#earliest();
    if (t === undefined) return false;
    this.#fire(t);
    return true;
  }

  /**
   * Fires timers, advancing time, until none is left. Returns how many fired; throws RangeError after
   * `limit` (an interval, or timers that keep scheduling timers, never run out).
   */
  runAll(limit = 10_000): number {
    let fired = 0;
    while (this.#timers.size > 0) {
      if (fired === limit) {
        throw new RangeError(
          `Cannot run all timers: ${this.#timers.size} still pending after ${limit} fired`,
        );
      }
      this.next();
      fired++;
    }
    return fired;
  }

  #schedule(fn: () => void, ms: number, every: number | undefined): TimerId {
    // A number, as Deno's own ids; TimerId's static type depends on which lib typings are loaded.
    const id = this.#nextId++ as unknown as TimerId;
    this.#timers.set(id, { id, fn, at: this.#now + ms, seq: this.#seq++, every });
    return id;
  }

  /** A linear scan: tests hold a handful of timers, and this keeps ordering obviously right. */
  #earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers.values()) {
      if (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }

  #fire(t: FakeTimer): void {
    this.#now = t.at;
    if (t.every === undefined) this.#timers.delete(t.id);
    else {
      t.at += t.every;
      t.seq = this.#seq++;
    }
    t.fn();
  }
}

function delay(ms: number, min: number): number {
  return ms >= min ? ms : min;
}
