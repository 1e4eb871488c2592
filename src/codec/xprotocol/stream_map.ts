import { type Clock, systemClock, type TimerId } from "../../core/mod.ts";

/**
 * Pending streams of one multiplexed connection, keyed by request id: u32 id allocation that wraps and
 * skips ids still in use, optional per-stream deadlines driven by one timer, and bulk cleanup on close.
 */

/** Told when a stream's deadline passes (the entry is already removed). */
export interface StreamTimeoutSink<T> {
  onStreamTimeout(id: number, value: T): void;
}

export interface StreamMapOptions {
  /** The id allocation continues after this one (tests start near 2^32 to see the wrap). @default {0} */
  lastId?: number;
  /** Time and the deadline timer. @default {systemClock} */
  clock?: Clock;
}

export class StreamMap<T> {
  /** Streams by id, stored as they are: no entry object per stream on the request path. */
  readonly #entries = new Map<number, T>();
  /** Absolute deadlines (ms on the map's clock) of the few streams that have one (heartbeats). */
  readonly #deadlines = new Map<number, number>();
  readonly #sink: StreamTimeoutSink<T> | undefined;
  readonly #clock: Clock;
  #next = 0;
  #timer: TimerId | undefined;
  #timerAt = 0;

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
    this.#entries.set(id, value);
    if (timeoutMs > 0) {
      const deadline = this.#clock.now() + timeoutMs;
      this.#deadlines.set(id, deadline);
      this.#arm(deadline);
    } else if (this.#deadlines.size > 0 && this.#deadlines.delete(id) && this.#deadlines.size === 0) {
      this.#disarm();
    }
  }

  get(id: number): T | undefined {
    return this.#entries.get(id);
  }

  /** Removes and returns the stream under `id`. */
  take(id: number): T | undefined {
    const v = this.#entries.get(id);
    if (v === undefined) return undefined;
    this.#entries.delete(id);
    if (this.#deadlines.size > 0 && this.#deadlines.delete(id) && this.#deadlines.size === 0) this.#disarm();
    return v;
  }

  /** Removes every stream and returns them (for resetting on close); stops the timer. */
  drain(): T[] {
    const out = [...this.#entries.values()];
    this.#entries.clear();
    this.#deadlines.clear();
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
    for (const [id, deadline] of this.#deadlines) {
      if (deadline <= now) expired.push([id, this.#entries.get(id)!]);
      else if (next === 0 || deadline < next) next = deadline;
    }
    for (const [id] of expired) this.take(id);
    if (next) this.#arm(next);
    for (const [id, value] of expired) this.#sink?.onStreamTimeout(id, value);
  };
}
