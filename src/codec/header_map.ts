import type { HeaderMap } from "./types.ts";

/**
 * A small ordered HeaderMap for responses the proxy builds itself (local replies, direct responses,
 * redirects). Codecs have their own maps tuned to their wire format.
 */
export class SimpleHeaderMap implements HeaderMap {
  #names: string[] = [];
  #values: string[] = [];

  constructor(init?: Iterable<readonly [string, string]>) {
    if (init !== undefined) { for (const [k, v] of init) this.add(k, v); }
  }

  get size(): number {
    return this.#names.length;
  }

  #index(name: string, from = 0): number {
    const lower = name.toLowerCase();
    for (let i = from; i < this.#names.length; i++) if (this.#names[i]!.toLowerCase() === lower) return i;
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.#index(name);
    return i < 0 ? undefined : this.#values[i];
  }

  has(name: string): boolean {
    return this.#index(name) >= 0;
  }

  set(name: string, value: string): void {
    this.delete(name);
    this.add(name, value);
  }

  add(name: string, value: string): void {
    this.#names.push(name);
    this.#values.push(value);
  }

  delete(name: string): void {
    for (let i = this.#index(name); i >= 0; i = this.#index(name, i)) {
      this.#names.splice(i, 1);
      this.#values.splice(i, 1);
    }
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (let i = 0; i < this.#names.length; i++) fn(this.#values[i]!, this.#names[i]!);
  }
}
