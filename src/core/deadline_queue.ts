import { type Clock, systemClock, type TimerId } from "./clock.ts";

/**
 * Timeouts for the hot path without a `setTimeout` per request (each costs ~1.2 KB of garbage and a
 * timer-heap insert in Deno). Deadlines with the same duration expire in insertion order, so each
 * duration keeps a FIFO and only its head is ever checked; one shared timer ticks every `resolutionMs`
 * while anything is pending. Cancelling is O(1): the entry is marked and skipped when reached.
 *
 * A live entry at a FIFO's head (one slow request) would keep every cancelled entry behind it alive
 * until it expires, millions of them at high request rates with a 60 s route timeout. So a FIFO whose
 * entries are mostly cancelled is compacted; the work is amortised over the cancellations that caused it.
 *
 * Precision is `resolutionMs` (a deadline fires up to that much late), fine for request timeouts.
 */
export interface Deadline {
  /** Stops the deadline from firing; safe to call more than once or after it fired. */
  cancel(): void;
}

/**
 * Told when a deadline added with `addTarget` passes: one object can own several deadlines (a request's
 * route timeout and its idle timeout), told apart by `tag`, with no closure allocated per deadline.
 */
export interface DeadlineTarget {
  onDeadline(tag: number): void;
}

/** Compaction starts once this many cancelled entries wait in one FIFO and they are at least half of it. */
const COMPACT_AT = 1024;

class Fifo {
  head: Entry | undefined;
  tail: Entry | undefined;
  size = 0;
  cancelled = 0;
}

class Entry implements Deadline {
  at: number;
  /** What to call; undefined once cancelled or fired. */
  fn: (() => void) | DeadlineTarget | undefined;
  readonly tag: number;
  next: Entry | undefined = undefined;
  readonly q: Fifo;

  constructor(at: number, fn: (() => void) | DeadlineTarget, tag: number, q: Fifo) {
    this.at = at;
    this.fn = fn;
    this.tag = tag;
    this.q = q;
  }

  cancel(): void {
    if (this.fn === undefined) return;
    this.fn = undefined;
    this.q.cancelled++;
  }
}

export interface DeadlineQueueOptions {
  /** How often the shared timer ticks while anything is pending: how late a deadline may fire. @default {10} */
  resolutionMs?: number;
  /** Time and the tick timer. @default {systemClock} */
  clock?: Clock;
}

export class DeadlineQueue {
  readonly #resolutionMs: number;
  readonly #clock: Clock;
  readonly #byDuration = new Map<number, Fifo>();
  #pending = 0;
  #timer: TimerId | undefined;
  /** The clock at the last tick; while ticking, new deadlines use it instead of reading the clock. */
  #now = 0;
  readonly #tick = () => this.#expire(this.#now = this.#clock.now());

  constructor(options: DeadlineQueueOptions = {}) {
    this.#resolutionMs = options.resolutionMs ?? 10;
    this.#clock = options.clock ?? systemClock;
  }

  /** Calls `fn` about `ms` from now unless cancelled. */
  add(ms: number, fn: () => void): Deadline {
    return this.#add(ms, fn, 0);
  }

  /** Calls `target.onDeadline(tag)` about `ms` from now unless cancelled (no closure per deadline). */
  addTarget(ms: number, target: DeadlineTarget, tag: number): Deadline {
    return this.#add(ms, target, tag);
  }

  #add(ms: number, fn: (() => void) | DeadlineTarget, tag: number): Deadline {
    // While the timer runs, #now is at most one resolution old: the deadline may fire that much early,
    // well within its precision, and we skip a clock read (~85 ns) per request.
    const now = this.#timer !== undefined ? this.#now : (this.#now = this.#clock.now());
    let q = this.#byDuration.get(ms);
    if (q === undefined) this.#byDuration.set(ms, q = new Fifo());
    const e = new Entry(now + ms, fn, tag, q);
    if (q.tail === undefined) q.head = q.tail = e;
    else q.tail = q.tail.next = e;
    q.size++;
    // A handler re-arming from inside a tick sees #pending at 0 while the timer still runs: keep that one.
    if (this.#pending++ === 0 && this.#timer === undefined) {
      this.#timer = this.#clock.setInterval(this.#tick, this.#resolutionMs);
    }
    return e;
  }

  /** Entries not yet fired or dropped (cancelled ones count until dropped). */
  get pending(): number {
    return this.#pending;
  }

  #expire(now: number): void {
    for (const [ms, q] of this.#byDuration) {
      let e = q.head;
      while (e !== undefined && (e.fn === undefined || e.at <= now)) {
        const fn = e.fn;
        const tag = e.tag;
        if (fn === undefined) q.cancelled--;
        e.fn = undefined;
        q.head = e = e.next;
        // Emptied: a handler below that adds to this duration must start a new list, not append to the
        // entry just taken out (it was then lost with the list, and the stream idle re-arm never fired).
        if (e === undefined) q.tail = undefined;
        q.size--;
        this.#pending--;
        if (fn !== undefined) {
          try {
            if (typeof fn === "function") fn();
            else fn.onDeadline(tag);
          } catch {
            // a timeout handler's failure must not stop the others
          }
        }
      }
      if (q.head === undefined) {
        q.tail = undefined;
        this.#byDuration.delete(ms);
      } else if (q.cancelled >= COMPACT_AT && q.cancelled * 2 >= q.size) this.#compact(q);
    }
    if (this.#pending === 0 && this.#timer !== undefined) {
      this.#clock.clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Drops the cancelled entries of a FIFO whose head is live (order of the rest is kept). */
  #compact(q: Fifo): void {
    let prev: Entry | undefined;
    for (let e = q.head; e !== undefined; e = e.next) {
      if (e.fn !== undefined) {
        if (prev === undefined) q.head = e;
        else prev.next = e;
        prev = e;
      }
    }
    if (prev !== undefined) prev.next = undefined;
    q.tail = prev;
    if (prev === undefined) q.head = undefined;
    this.#pending -= q.cancelled;
    q.size -= q.cancelled;
    q.cancelled = 0;
  }
}

/** The process-wide queue request timeouts use. */
export const requestDeadlines: DeadlineQueue = new DeadlineQueue({ resolutionMs: 10 });
