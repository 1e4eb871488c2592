import type { HeaderMap } from "../types.ts";

/**
 * An ordered header map for RPC protocols without repeated headers (bolt, dubbo attachments).
 *
 * Keys keep the case they arrived with; lookups are case-insensitive. `dirty` records any edit, so a
 * codec can forward the original frame untouched when nothing changed and re-encode otherwise.
 */
export class KvHeaderMap implements HeaderMap {
  #names: string[];
  #values: string[];
  /** Lowercased names, built on the first lookup (most frames are looked up once or twice). */
  #lower: string[] | undefined;
  #dirty = false;

  constructor(names: string[] = [], values: string[] = []) {
    this.#names = names;
    this.#values = values;
  }

  /** True once set/add/delete changed the map since it was decoded. */
  get dirty(): boolean {
    return this.#dirty;
  }

  get size(): number {
    return this.#names.length;
  }

  #indexOf(name: string): number {
    const names = this.#names;
    for (let i = 0; i < names.length; i++) {
      if (names[i] === name) return i;
    }
    const lower = this.#lower ??= names.map(toLower);
    const key = name.toLowerCase();
    for (let i = 0; i < lower.length; i++) {
      if (lower[i] === key) return i;
    }
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.#indexOf(name);
    return i < 0 ? undefined : this.#values[i];
  }

  has(name: string): boolean {
    return this.#indexOf(name) >= 0;
  }

  set(name: string, value: string): void {
    const i = this.#indexOf(name);
    if (i >= 0) {
      if (this.#values[i] === value) return;
      this.#values[i] = value;
    } else {
      this.#names.push(name);
      this.#values.push(value);
      this.#lower?.push(name.toLowerCase());
    }
    this.#dirty = true;
  }

  /** Replaces: these protocols carry one value per key. */
  add(name: string, value: string): void {
    this.set(name, value);
  }

  delete(name: string): void {
    const i = this.#indexOf(name);
    if (i < 0) return;
    this.#names.splice(i, 1);
    this.#values.splice(i, 1);
    this.#lower?.splice(i, 1);
    this.#dirty = true;
  }

  forEach(fn: (value: string, name: string) => void): void {
    const names = this.#names;
    const values = this.#values;
    for (let i = 0; i < names.length; i++) fn(values[i], names[i]);
  }
}

function toLower(s: string): string {
  return s.toLowerCase();
}
