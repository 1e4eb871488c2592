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
  /**
   * Lazy fields: the first #lazy fields were parsed from #src (the decoded head) and are sliced out of it
   * only when asked for (`nameAt`, `valueAt`, a `get` hit, `forEach`); until then their slots are holes.
   * Most fields of a proxied head are never looked at, so slicing them all was wasted work.
   */
  #src = "";
  /** Per lazy field: name start, name end, value start, value end in #src; then `forward` runs. */
  #offs: readonly number[] = NO_OFFSETS;
  #lazy = 0;
  /**
   * The lazy fields' lines, less the codec-owned ones (Connection, Keep-Alive, Transfer-Encoding), are
   * exactly what the encoder would write for them ("name: value" CRLF), as runs [start, end) of #src:
   * the encoder copies them instead of re-encoding field by field. Cleared when a lazy field changes.
   */
  #forward = false;
  #forwardFlags = 0;
  /** Index of the lazy Host field, -1 when there is none. */
  #hostField = -1;

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

  /**
   * Builds `n` lazy fields over the decoded head `src` (see #src, #offs). `forwardFlags` says what the
   * forwarded lines hold (FORWARD_* bits), `-1` when they cannot be forwarded as they are.
   */
  static lazy(
    src: string,
    offs: readonly number[],
    n: number,
    spare: number,
    forwardFlags: number,
    hostField: number,
  ): Http1Headers {
    const h = new Http1Headers();
    h.#names = new Array<string>(n + spare);
    h.#values = new Array<string>(n + spare);
    h.#n = n;
    h.#src = src;
    h.#offs = offs;
    h.#lazy = n;
    h.#forward = forwardFlags >= 0;
    h.#forwardFlags = forwardFlags;
    h.#hostField = hostField;
    return h;
  }

  #find(name: string, from: number): number {
    const names = this.#names;
    const len = name.length;
    let i = from;
    if (i < this.#lazy) {
      const src = this.#src;
      const offs = this.#offs;
      for (; i < this.#lazy; i++) {
        const s = offs[i * 4];
        if (offs[i * 4 + 1] - s === len && rangeEqualsLowercase(src, s, name)) return i;
      }
    }
    for (; i < this.#n; i++) {
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
    if (j < 0) return this.valueAt(i);
    let v = this.valueAt(i) + ", " + this.valueAt(j);
    for (let k = this.#find(name, j + 1); k >= 0; k = this.#find(name, k + 1)) v += ", " + this.valueAt(k);
    return v;
  }

  /** Every value of `name` as separate fields (for set-cookie). */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let k = this.#find(name, 0); k >= 0; k = this.#find(name, k + 1)) out.push(this.valueAt(k));
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
    if (i < this.#lazy) this.#materialise();
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
    if (i < this.#lazy) this.#materialise();
    const names = this.#names;
    const values = this.#values;
    const last = --this.#n;
    for (let k = i; k < last; k++) {
      names[k] = names[k + 1];
      values[k] = values[k + 1];
    }
  }

  /** Slices every lazy field and stops forwarding lines: a lazy field is about to change or move. */
  #materialise(): void {
    for (let i = 0; i < this.#lazy; i++) {
      this.nameAt(i);
      this.valueAt(i);
    }
    this.#lazy = 0;
    this.#forward = false;
    this.#src = "";
    this.#offs = NO_OFFSETS;
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (let i = 0; i < this.#n; i++) fn(this.valueAt(i), this.nameAt(i));
  }

  get size(): number {
    return this.#n;
  }

  /** Name of the i-th field as received (encoder fast path, no callback). */
  nameAt(i: number): string {
    const n = this.#names[i] as string | undefined;
    if (n !== undefined || i >= this.#lazy) return n!;
    return this.#names[i] = this.#src.slice(this.#offs[i * 4], this.#offs[i * 4 + 1]);
  }

  valueAt(i: number): string {
    const v = this.#values[i] as string | undefined;
    if (v !== undefined || i >= this.#lazy) return v!;
    return this.#values[i] = this.#src.slice(this.#offs[i * 4 + 2], this.#offs[i * 4 + 3]);
  }

  /** The i-th name lowercased. */
  lowerNameAt(i: number): string {
    return this.nameAt(i).toLowerCase();
  }

  /**
   * How many leading fields the encoder may copy as received instead of encoding them (0: none): all
   * the lazy ones while none changed, if their Host field (when `host` is set, the encoder writes `host`
   * as its value) already says `host`. The lines are then `forwardSource`'s runs in `forwardOffsets`
   * from index 4 × that count, and `forwardFlags` tells what they hold.
   */
  forwardable(host: string): number {
    if (!this.#forward) return 0;
    const h = this.#hostField;
    if (h >= 0 && host !== "") {
      const s = this.#offs[h * 4 + 2];
      const e = this.#offs[h * 4 + 3];
      if (e - s !== host.length) return 0;
      const src = this.#src;
      for (let k = 0; k < host.length; k++) if (src.charCodeAt(s + k) !== host.charCodeAt(k)) return 0;
    }
    return this.#lazy;
  }

  get forwardSource(): string {
    return this.#src;
  }

  get forwardOffsets(): readonly number[] {
    return this.#offs;
  }

  get forwardFlags(): number {
    return this.#forwardFlags;
  }
}

const NO_OFFSETS: readonly number[] = [];

/** `forwardFlags` bits: what the forwarded lines hold (the encoder's `seen` for them). */
export const FORWARD_CONTENT_LENGTH = 1, FORWARD_CLOSE = 2, FORWARD_UPGRADE = 4, FORWARD_HOST = 8;

/** src[s, s + lower.length) equals `lower` (already lowercase), ignoring ASCII case; lengths checked. */
function rangeEqualsLowercase(src: string, s: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) {
    let c = src.charCodeAt(s + k);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(k)) return false;
  }
  return true;
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
