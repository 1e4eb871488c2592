/**
 * Process-wide gauges for limits that must hold across worker threads (`--concurrency N`): circuit
 * breakers per cluster, `max_connections` per listener — counted once for the whole process, as Envoy's
 * are. One `SharedArrayBuffer` of Int32 slots is allocated by the owner (the main thread, or the one
 * in-process `Server` when there are no workers) and posted to every worker; the owner assigns a slot to
 * each name (e.g. `cluster/<name>/requests`) and a name keeps its slot for the life of the process, so a
 * reload, or a request of an old snapshot still draining, counts in the same cell. The hot path is one
 * `Atomics.add`/`Atomics.load` (measured in `shared_counters_bench.ts`: the same few ns as a plain field).
 *
 * A full table is an explicit limit (`limits.shared_counter_slots`): a name that gets no slot is counted
 * per worker instead (a local cell), `overflowed` says how many names did, and the owner logs it.
 * @module
 */

/** Default size of the slot table: 4 slots per cluster, 1 per listener; 64 KiB. */
export const DEFAULT_SHARED_COUNTER_SLOTS = 16_384;

/** What the owner posts to a worker: the cells and which name has which slot. */
export interface SharedCounterTable {
  readonly buffer: SharedArrayBuffer;
  readonly slots: Readonly<Record<string, number>>;
}

/** A limit's gauge: `SharedGauge` across threads, `LocalGauge` in a process without workers. */
export interface LimitGauge {
  readonly value: number;
  /** Whether every thread of the process counts in this gauge. */
  readonly shared: boolean;
  add(n?: number): void;
  sub(n?: number): void;
  /** Takes one unit unless that would pass `max` (0 = unlimited); false: refused, nothing taken. */
  tryAcquire(max: number): boolean;
}

/** A plain field: one thread only (no workers, or a name the full table had no slot for). */
export class LocalGauge implements LimitGauge {
  value = 0;
  readonly shared: boolean;

  constructor(shared = false) {
    this.shared = shared;
  }

  add(n = 1): void {
    this.value += n;
  }

  sub(n = 1): void {
    this.value -= n;
  }

  tryAcquire(max: number): boolean {
    if (max !== 0 && this.value >= max) return false;
    this.value++;
    return true;
  }
}

/** One counter cell in the shared buffer: every worker counts in it with atomic operations. */
export class SharedGauge implements LimitGauge {
  readonly #cells: Int32Array;
  readonly #index: number;
  readonly shared = true;

  constructor(cells: Int32Array, index: number) {
    this.#cells = cells;
    this.#index = index;
  }

  get value(): number {
    return Atomics.load(this.#cells, this.#index);
  }

  add(n = 1): void {
    Atomics.add(this.#cells, this.#index, n);
  }

  sub(n = 1): void {
    Atomics.sub(this.#cells, this.#index, n);
  }

  /**
   * Takes one unit unless that would pass `max` (0 = unlimited): exact across threads, since the check
   * is the atomic add's own result (a loser gives its unit back and is refused).
   */
  tryAcquire(max: number): boolean {
    const before = Atomics.add(this.#cells, this.#index, 1);
    if (max === 0 || before < max) return true;
    Atomics.sub(this.#cells, this.#index, 1);
    return false;
  }
}

/**
 * The slot table. `create` makes an owner, which assigns slots (on `assign`, or on first use of a name in
 * `gauge`); `attach` makes a worker's view of the owner's table, which learns assignments by `update`;
 * `local` is a process without workers: the same names, plain `LocalGauge`s (no atomic operations).
 */
export class SharedCounters {
  readonly #buffer: SharedArrayBuffer;
  readonly #cells: Int32Array;
  readonly #slots = new Map<string, number>();
  readonly #owner: boolean;
  readonly #local: boolean;
  readonly #gauges = new Map<string, LimitGauge>();
  /** Names that got no slot because the table was full (each counted once). */
  #overflowed = new Set<string>();
  /** Called once per name that found the table full (the owner logs it). */
  onOverflow: ((name: string) => void) | undefined;

  private constructor(buffer: SharedArrayBuffer, owner: boolean, local = false) {
    this.#buffer = buffer;
    this.#cells = new Int32Array(buffer);
    this.#owner = owner;
    this.#local = local;
  }

  /** No workers: every name its own plain gauge, kept across reloads like a slot. */
  static local(): SharedCounters {
    return new SharedCounters(new SharedArrayBuffer(0), true, true);
  }

  /** An owner's table of `capacity` slots. */
  static create(capacity: number = DEFAULT_SHARED_COUNTER_SLOTS): SharedCounters {
    return new SharedCounters(new SharedArrayBuffer(Math.max(0, capacity) * 4), true);
  }

  /** A worker's view of the owner's table. */
  static attach(table: SharedCounterTable): SharedCounters {
    const c = new SharedCounters(table.buffer, false);
    c.update(table.slots);
    return c;
  }

  get capacity(): number {
    return this.#cells.length;
  }

  /** Slots assigned so far. */
  get used(): number {
    return this.#slots.size;
  }

  /** How many names found the table full and are counted per worker. */
  get overflowed(): number {
    return this.#overflowed.size;
  }

  /** Owner: gives each of `names` a slot (a name that has one keeps it). Returns what is posted. */
  assign(names: Iterable<string>): SharedCounterTable {
    for (const n of names) this.#slotOf(n);
    return this.table();
  }

  /** The buffer and every assignment so far. */
  table(): SharedCounterTable {
    return { buffer: this.#buffer, slots: Object.fromEntries(this.#slots) };
  }

  /** Worker: learns the owner's assignments (sent with each snapshot). */
  update(slots: Readonly<Record<string, number>>): void {
    for (const [name, slot] of Object.entries(slots)) {
      if (Number.isInteger(slot) && slot >= 0 && slot < this.#cells.length) this.#slots.set(name, slot);
    }
  }

  /**
   * The gauge for `name`: its shared slot, or (table full, or a name unknown to a worker) a gauge of this
   * thread only. The caller keeps it: increments and decrements must meet the same gauge.
   */
  gauge(name: string): LimitGauge {
    let g = this.#gauges.get(name);
    if (g !== undefined) return g;
    if (this.#local) {
      g = new LocalGauge();
      this.#gauges.set(name, g);
      return g;
    }
    const slot = this.#slotOf(name);
    if (slot === undefined) return new LocalGauge(); // not kept: a later `update` may bring its slot
    g = new SharedGauge(this.#cells, slot);
    this.#gauges.set(name, g);
    return g;
  }

  #slotOf(name: string): number | undefined {
    const known = this.#slots.get(name);
    if (known !== undefined) return known;
    if (this.#owner && this.#slots.size < this.#cells.length) {
      const slot = this.#slots.size;
      this.#slots.set(name, slot);
      return slot;
    }
    if (!this.#overflowed.has(name)) {
      this.#overflowed.add(name);
      this.onOverflow?.(name);
    }
    return undefined;
  }
}

/** The slot names of a cluster's circuit breakers. */
export function clusterCounterNames(cluster: string): {
  readonly connections: string;
  readonly pending: string;
  readonly requests: string;
  readonly retries: string;
} {
  return {
    connections: `cluster/${cluster}/connections`,
    pending: `cluster/${cluster}/pending_requests`,
    requests: `cluster/${cluster}/requests`,
    retries: `cluster/${cluster}/retries`,
  };
}

/** The slot name of a listener's connection count. */
export function listenerCounterName(listener: string): string {
  return `listener/${listener}/connections`;
}
