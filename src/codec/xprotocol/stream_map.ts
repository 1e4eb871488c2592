import { type Clock, systemClock, type TimerId } from "../../core/mod.ts";

/**
 * Pending streams of one multiplexed connection, keyed by request id: u32 id allocation that wraps and
 * skips ids still in use, optional per-stream deadlines driven by one timer, and bulk cleanup on close.
 */

/** Told when a stream's deadline passes (the entry is already removed). */
export interface StreamTimeoutSink<T> {
  onStreamTimeout(id: number, value: T): void;
}

interface Entry<T> {
  value: T;
  /** Absolute ms on the map's clock, or 0 for none. */
  deadline: number;
}

export interface StreamMapOptions {
  /** The id allocation continues after this one (tests start near 2^32 to see the wrap). @default {0} */
  lastId?: number;
  /** Time and the deadline timer. @default {systemClock} */
  clock?: Clock;
}

export class StreamMap<T> {
  readonly #entries = new Map<number, Entry<T>>();
  readonly #sink: StreamTimeoutSink<T> | undefined;
  readonly #clock: Clock;
  #next = 0;
  #timer: TimerId | undefined;
  #timerAt = 0;
  #withDeadline = 0;

  constructor(sink?: StreamTimeoutSink<T>, options: StreamMapOptions = {}) {
    this.#sink = sink;
    this.#next = (options.lastId ?? 0) >>> 0;
    this.#clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Next free id in 1..2^32-1 (0 is left out: some protocols use it for unsolicited frames). */
  allocate(): number {
    for (;;) {
      this.#next = (this.#next + 1) >>> 0;
      if (this.#next === 0) continue;
      if (!this.#entries.has(this.#next)) return this.#next;
    }
  }

  /** Registers `value` under `id`; with timeoutMs > 0, the sink hears onStreamTimeout when it passes. */
  set(id: number, value: T, timeoutMs = 0): void {
    const deadline = timeoutMs > 0 ? this.#clock.now() + timeoutMs : 0;
    const old = this.#entries.get(id);
    if (old?.deadline) this.#withDeadline--;
    this.#entries.set(id, { value, deadline });
    if (deadline) {
      this.#withDeadline++;
      this.#arm(deadline);
    }
  }

  get(id: number): T | undefined {
    return this.#entries.get(id)?.value;
  }

  /** Removes and returns the stream under `id`. */
  take(id: number): T | undefined {
    const e = this.#entries.get(id);
    if (e === undefined) return undefined;
    this.#entries.delete(id);
    if (e.deadline && --this.#withDeadline === 0) this.#disarm();
    return e.value;
  }

  /** Removes every stream and returns them (for resetting on close); stops the timer. */
  drain(): T[] {
    const out: T[] = [];
    for (const e of this.#entries.values()) out.push(e.value);
    this.#entries.clear();
    this.#withDeadline = 0;
    this.#disarm();
    return out;
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined && this.#timerAt <= deadline) return;
    this.#disarm();
    this.#timerAt = deadline;
    this.#timer = this.#clock.setTimeout(this.#sweep, Math.max(0, deadline - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One bound function for all streams, so deadlines cost no closure each. */
  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    let next = 0;
    const expired: [number, T][] = [];
    for (const [id, e] of this.#entries) {
      if (!e.deadline) continue;
      if (e.deadline <= now) expired.push([id, e.value]);
      else if (next === 0 || e.deadline < next) next = e.deadline;
    }
    for (const [id] of expired) this.take(id);
    if (next) this.#arm(next);
    for (const [id, value] of expired) this.#sink?.onStreamTimeout(id, value);
  };
}
