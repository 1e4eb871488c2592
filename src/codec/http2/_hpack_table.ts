/**
 * HPACK's indexing tables (RFC 7541 §2.3): the static table of Appendix A and the dynamic table.
 *
 * Strings are latin1 (one char per octet), so a string's length is its octet length and an entry's size
 * is `name.length + value.length + 32` (§4.1).
 *
 * @module
 */

/** Entries 1–61 of the static table (Appendix A), as [name, value]. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** Number of static entries; dynamic indices start after it. */
export const STATIC_LENGTH = 61;

/** Static names and values by index (slot 0 unused), for the decoder's direct lookups. */
export const STATIC_NAMES: readonly string[] = ["", ...STATIC_TABLE.map((e) => e[0])];
export const STATIC_VALUES: readonly string[] = ["", ...STATIC_TABLE.map((e) => e[1])];

/** Per-entry overhead added to name and value lengths (RFC 7541 §4.1). */
export const ENTRY_OVERHEAD = 32;

/** A static-table name for the encoder: its first index and the indices of its exact values. */
export interface StaticName {
  readonly index: number;
  readonly values: ReadonlyMap<string, number>;
}

/** Static names → first index and exact values, for the encoder. */
export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = (() => {
  const m = new Map<string, { index: number; values: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let e = m.get(name);
    if (e === undefined) m.set(name, e = { index: i + 1, values: new Map() });
    e.values.set(value, i + 1);
  });
  return m;
})();

/** Encoder-side index of the entries with one name: the newest one's sequence number and each value's. */
interface NameSeqs {
  newest: number;
  readonly values: Map<string, number>;
}

/**
 * The dynamic table (RFC 7541 §2.3.2, §4): a FIFO of entries in a ring buffer, newest at position 0,
 * evicting from the oldest end whenever the size would exceed the maximum.
 *
 * An encoder's table also keeps a name → value → entry map (`indexed: true`) so finding a field is two
 * map lookups instead of a scan. Entries are identified there by insertion sequence number, which turns
 * into a position as `insertCount - 1 - seq` and needs no renumbering when entries come and go.
 */
export class DynamicTable {
  // Parallel arrays in a power-of-two ring; #head is the slot the next entry goes in.
  #names: string[];
  #values: string[];
  #mask: number;
  #head = 0;
  #count = 0;
  #size = 0;
  #maxSize: number;
  #inserted = 0;
  #index: Map<string, NameSeqs> | undefined;

  constructor(maxSize: number, indexed = false) {
    this.#maxSize = maxSize;
    this.#names = new Array<string>(16).fill("");
    this.#values = new Array<string>(16).fill("");
    this.#mask = 15;
    this.#index = indexed ? new Map() : undefined;
  }

  /** Number of entries. */
  get length(): number {
    return this.#count;
  }

  /** Sum of the entries' sizes (name + value + 32 each). */
  get size(): number {
    return this.#size;
  }

  /** The current maximum size (the last size update applied). */
  get maxSize(): number {
    return this.#maxSize;
  }

  /** Entries ever inserted (an encoder's sequence numbers count from 0). */
  get insertCount(): number {
    return this.#inserted;
  }

  /** Name of the entry at position `i` (0 = newest, i.e. HPACK index 62); `i` < length. */
  name(i: number): string {
    return this.#names[(this.#head - 1 - i) & this.#mask]!;
  }

  /** Value of the entry at position `i`. */
  value(i: number): string {
    return this.#values[(this.#head - 1 - i) & this.#mask]!;
  }

  /** Every entry, newest first (for tests and debugging). */
  entries(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.#count; i++) out.push([this.name(i), this.value(i)]);
    return out;
  }

  /**
   * Inserts an entry at position 0 after evicting what it needs room for; an entry larger than the
   * maximum empties the table and is not inserted (§4.4). Returns whether it was inserted.
   */
  add(name: string, value: string): boolean {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxSize) {
      this.#evictTo(0);
      return false;
    }
    this.#evictTo(this.#maxSize - size);
    if (this.#count > this.#mask) this.#grow();
    const slot = this.#head;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#head = (slot + 1) & this.#mask;
    this.#count++;
    this.#size += size;
    const seq = this.#inserted++;
    const index = this.#index;
    if (index !== undefined) {
      const e = index.get(name);
      if (e === undefined) index.set(name, { newest: seq, values: new Map([[value, seq]]) });
      else {
        e.newest = seq;
        e.values.set(value, seq);
      }
    }
    return true;
  }

  /** Evicts every entry (what adding an entry larger than the table does, §4.4). */
  clear(): void {
    this.#evictTo(0);
  }

  /** Applies a new maximum size, evicting down to it (§4.3). */
  setMaxSize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evictTo(maxSize);
  }

  /** Position of the newest entry equal to name: value, or -1 (indexed tables only). */
  findField(name: string, value: string): number {
    const seq = this.#index?.get(name)?.values.get(value);
    return seq === undefined ? -1 : this.#inserted - 1 - seq;
  }

  /** Position of the newest entry with this name, or -1 (indexed tables only). */
  findName(name: string): number {
    const e = this.#index?.get(name);
    return e === undefined ? -1 : this.#inserted - 1 - e.newest;
  }

  #evictTo(limit: number): void {
    const names = this.#names;
    const values = this.#values;
    const mask = this.#mask;
    while (this.#size > limit) {
      const slot = (this.#head - this.#count) & mask;
      const name = names[slot]!;
      const value = values[slot]!;
      names[slot] = values[slot] = ""; // drop the references: a table can outlive its strings' use
      this.#count--;
      this.#size -= name.length + value.length + ENTRY_OVERHEAD;
      if (this.#index !== undefined) this.#unindex(name, value);
    }
  }

  /** Forgets the oldest entry (just evicted) in the name index. */
  #unindex(name: string, value: string): void {
    const e = this.#index!.get(name)!;
    // The evicted entry is the oldest of all, so it is the one a value maps to only when no newer entry
    // has the same value; and when the name's map empties, no entry has that name any more.
    const oldest = this.#inserted - this.#count - 1;
    if (e.values.get(value) === oldest) e.values.delete(value);
    if (e.values.size === 0) this.#index!.delete(name);
  }

  #grow(): void {
    const cap = (this.#mask + 1) * 2;
    const names = new Array<string>(cap).fill("");
    const values = new Array<string>(cap).fill("");
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head - this.#count + i) & this.#mask;
      names[i] = this.#names[from]!;
      values[i] = this.#values[from]!;
    }
    this.#names = names;
    this.#values = values;
    this.#head = this.#count;
    this.#mask = cap - 1;
  }
}
