import type { HeaderMap } from "../types.ts";

/**
 * HTTP/1 header fields in wire order with the names as received. Lookups are case-insensitive: callers
 * pass lowercase names; a field name is compared case-insensitively in place, only when its length matches.
 * Parallel arrays instead of objects per field keep a parsed head to three allocations.
 */
export class Http1Headers implements HeaderMap {
  // Count-based with spare slots: the proxy adds a couple of headers to most requests
  // (X-Forwarded-For/-Proto), and growing three arrays for that was ~0.5 KB of garbage per request.
  #names: string[];
  #values: string[];
  #n: number;

  constructor(init?: Iterable<readonly [string, string]>) {
    this.#names = [];
    this.#values = [];
    this.#n = 0;
    if (init !== undefined) { for (const [n, v] of init) this.add(n, v); }
  }

  /** Builds from parallel arrays the parser filled (taken over, not copied); `n` entries are in use. */
  static fromArrays(names: string[], values: string[], n = names.length): Http1Headers {
    const h = new Http1Headers();
    h.#names = names;
    h.#values = values;
    h.#n = n;
    return h;
  }

  #find(name: string, from: number): number {
    const names = this.#names;
    const len = name.length;
    for (let i = from; i < this.#n; i++) {
      const n = names[i];
      if (n.length === len && (n === name || equalsLowercase(n, name))) return i;
    }
    return -1;
  }

  /** The value; several fields of one name are joined with ", " (RFC 9110 §5.3). */
  get(name: string): string | undefined {
    const i = this.#find(name, 0);
    if (i < 0) return undefined;
    const j = this.#find(name, i + 1);
    if (j < 0) return this.#values[i];
    let v = this.#values[i] + ", " + this.#values[j];
    for (let k = this.#find(name, j + 1); k >= 0; k = this.#find(name, k + 1)) v += ", " + this.#values[k];
    return v;
  }

  /** Every value of `name` as separate fields (for set-cookie). */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let k = this.#find(name, 0); k >= 0; k = this.#find(name, k + 1)) out.push(this.#values[k]);
    return out;
  }

  has(name: string): boolean {
    return this.#find(name, 0) >= 0;
  }

  /** Replaces the first field's value in place (keeping its name case and position) and drops the rest. */
  set(name: string, value: string): void {
    const i = this.#find(name, 0);
    if (i < 0) {
      this.add(name, value);
      return;
    }
    this.#values[i] = value;
    for (let k = this.#find(name, i + 1); k >= 0; k = this.#find(name, k)) this.#removeAt(k);
  }

  add(name: string, value: string): void {
    const i = this.#n++;
    this.#names[i] = name;
    this.#values[i] = value;
  }

  delete(name: string): void {
    for (let k = this.#find(name, 0); k >= 0; k = this.#find(name, k)) this.#removeAt(k);
  }

  #removeAt(i: number): void {
    const names = this.#names;
    const values = this.#values;
    const last = --this.#n;
    for (let k = i; k < last; k++) {
      names[k] = names[k + 1];
      values[k] = values[k + 1];
    }
  }

  forEach(fn: (value: string, name: string) => void): void {
    const names = this.#names;
    const values = this.#values;
    for (let i = 0; i < this.#n; i++) fn(values[i], names[i]);
  }

  get size(): number {
    return this.#n;
  }

  /** Name of the i-th field as received (encoder fast path, no callback). */
  nameAt(i: number): string {
    return this.#names[i];
  }

  valueAt(i: number): string {
    return this.#values[i];
  }

  /** The i-th name lowercased. */
  lowerNameAt(i: number): string {
    return this.#names[i].toLowerCase();
  }
}

/**
 * `name` (any case) equals `lower` (already lowercase), compared in place: lowercasing would allocate a
 * string per header per lookup, and the proxy looks headers up on every request.
 */
function equalsLowercase(name: string, lower: string): boolean {
  for (let k = 0; k < name.length; k++) {
    let c = name.charCodeAt(k);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
}
