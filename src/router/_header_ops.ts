import type { HeaderMap } from "../codec/mod.ts";
import type { HeaderValueOption } from "../config/mod.ts";

const ADD = 0;
const SET = 1;
const REMOVE = 2;

/** One level's header edits: route, virtual host or router. */
export interface HeaderEdits {
  readonly add: readonly HeaderValueOption[];
  readonly remove: readonly string[];
}

/**
 * A flat list of header edits, applied in order: for each level (route, then virtual host, then
 * router) its additions (`append: true` → add, false → set), then its removals.
 */
export class HeaderOps {
  readonly #kinds: Uint8Array;
  readonly #names: readonly string[];
  readonly #values: readonly string[];

  constructor(levels: readonly HeaderEdits[]) {
    const kinds: number[] = [];
    const names: string[] = [];
    const values: string[] = [];
    for (const level of levels) {
      for (const h of level.add) {
        kinds.push(h.append ? ADD : SET);
        names.push(h.key.toLowerCase());
        values.push(h.value);
      }
      for (const name of level.remove) {
        kinds.push(REMOVE);
        names.push(name.toLowerCase());
        values.push("");
      }
    }
    this.#kinds = Uint8Array.from(kinds);
    this.#names = names;
    this.#values = values;
  }

  get size(): number {
    return this.#kinds.length;
  }

  apply(headers: HeaderMap): void {
    const kinds = this.#kinds;
    const names = this.#names;
    const values = this.#values;
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[i];
      if (kind === ADD) headers.add(names[i]!, values[i]!);
      else if (kind === SET) headers.set(names[i]!, values[i]!);
      else headers.delete(names[i]!);
    }
  }
}
