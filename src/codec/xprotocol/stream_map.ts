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

/** Slots of a new map's table (it doubles while more than half are used). */
const MIN_SLOTS = 16;

export class StreamMap<T> {
  /**
   * Streams by id in an open table indexed by `id & mask`: ids are allocated in sequence, so the live
   * ones fall in a window narrower than the table and rarely share a slot. No hashing, no entry objects,
   * and no table rebuilt as streams come and go (a Map's backing store is reallocated every so many
   * deletions: ~150 B of garbage per request on a busy bolt connection). A stream whose slot is taken
   * (an old stream still waiting, or an id set from outside) waits in `#overflow`. Values are never
   * undefined.
   */
  #slots: (T | undefined)[] = [];
  #slotIds = new Uint32Array(0);
  #mask = 0;
  #inSlots = 0;
  #overflow: Map<number, T> | undefined;
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
    return this.#inSlots + (this.#overflow?.size ?? 0);
  }

  /** Next free id in 1..2^32-1 (0 is left out: some protocols use it for unsolicited frames). */
  allocate(): number {
    for (;;) {
      this.#next = (this.#next + 1) >>> 0;
      if (this.#next === 0) continue;
      if (this.get(this.#next) === undefined) return this.#next;
    }
  }

  /** Registers `value` under `id`; with timeoutMs > 0, the sink hears onStreamTimeout when it passes. */
  set(id: number, value: T, timeoutMs = 0): void {
    this.#put(id >>> 0, value);
    if (timeoutMs > 0) {
      const deadline = this.#clock.now() + timeoutMs;
      this.#deadlines.set(id, deadline);
      this.#arm(deadline);
    } else if (this.#deadlines.size > 0 && this.#deadlines.delete(id) && this.#deadlines.size === 0) {
      this.#disarm();
    }
  }

  get(id: number): T | undefined {
    const slot = id & this.#mask;
    const v = this.#slots[slot];
    if (v !== undefined && this.#slotIds[slot] === id) return v;
    return this.#overflow?.get(id);
  }

  /** Removes and returns the stream under `id`. */
  take(id: number): T | undefined {
    let v: T | undefined;
    const slot = id & this.#mask;
    if (this.#slots[slot] !== undefined && this.#slotIds[slot] === id) {
      v = this.#slots[slot];
      this.#slots[slot] = undefined;
      this.#inSlots--;
    } else {
      const o = this.#overflow;
      if (o === undefined) return undefined;
      v = o.get(id);
      if (v === undefined) return undefined;
      o.delete(id);
    }
    if (this.#deadlines.size > 0 && this.#deadlines.delete(id) && this.#deadlines.size === 0) this.#disarm();
    return v;
  }

  /** Removes every stream and returns them (for resetting on close); stops the timer. */
  drain(): T[] {
    const out: T[] = [];
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) {
      const v = slots[i];
      if (v !== undefined) out.push(v);
    }
    if (this.#overflow !== undefined) { for (const v of this.#overflow.values()) out.push(v); }
    this.#slots = [];
    this.#slotIds = new Uint32Array(0);
    this.#mask = 0;
    this.#inSlots = 0;
    this.#overflow = undefined;
    this.#deadlines.clear();
    this.#disarm();
    return out;
  }

  #put(id: number, value: T): void {
    const slot = id & this.#mask;
    if (this.#slots[slot] !== undefined && this.#slotIds[slot] === id) {
      this.#slots[slot] = value; // replaces
      return;
    }
    const overflow = this.#overflow;
    if (overflow !== undefined && overflow.has(id)) {
      overflow.set(id, value);
      return;
    }
    if ((this.size + 1) * 2 > this.#slots.length) this.#grow();
    this.#place(id, value);
  }

  /** Doubles the table (or creates it) and moves every stream, overflow included, to its slot. */
  #grow(): void {
    const oldSlots = this.#slots;
    const oldIds = this.#slotIds;
    const overflow = this.#overflow;
    const n = Math.max(MIN_SLOTS, oldSlots.length * 2);
    this.#slots = new Array<T | undefined>(n).fill(undefined);
    this.#slotIds = new Uint32Array(n);
    this.#mask = n - 1;
    this.#inSlots = 0;
    this.#overflow = undefined;
    for (let i = 0; i < oldSlots.length; i++) {
      const v = oldSlots[i];
      if (v !== undefined) this.#place(oldIds[i]!, v);
    }
    if (overflow !== undefined) { for (const [id, v] of overflow) this.#place(id, v); }
  }

  /** Puts a stream known to be absent into its slot, or the overflow when the slot is taken. */
  #place(id: number, value: T): void {
    const slot = id & this.#mask;
    if (this.#slots[slot] === undefined) {
      this.#slots[slot] = value;
      this.#slotIds[slot] = id;
      this.#inSlots++;
    } else (this.#overflow ??= new Map()).set(id, value);
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
      if (deadline <= now) expired.push([id, this.get(id)!]);
      else if (next === 0 || deadline < next) next = deadline;
    }
    for (const [id] of expired) this.take(id);
    if (next) this.#arm(next);
    for (const [id, value] of expired) this.#sink?.onStreamTimeout(id, value);
  };
}
