import { fnv1a64Mod } from "./_hash.ts";
import { randomHealthy } from "./_healthy.ts";
import type { LbContext, LbHost, LoadBalancer, LoadBalancerOptions } from "./types.ts";

/** Lookup table sizes (primes): the small one up to ~M/100 hosts, as the Maglev paper advises. */
export const MAGLEV_SMALL_M = 65537;
export const MAGLEV_BIG_M = 655373;

/**
 * LB_MAGLEV: consistent hashing with a Maglev lookup table built once per host set (weights ignored,
 * as in MOSN). The key is hashed with 64-bit FNV-1a; when the owning host is unhealthy the walk moves
 * to the next table entries until a healthy host, which spreads that host's keys over the others.
 * Without a hash key it picks a random healthy host.
 */
export class MaglevLoadBalancer implements LoadBalancer {
  readonly #hosts: readonly LbHost[];
  readonly #random: () => number;
  readonly #table: Int32Array;
  readonly #m: number;

  constructor(hosts: readonly LbHost[], opts: LoadBalancerOptions = {}) {
    this.#hosts = hosts;
    this.#random = opts.random ?? Math.random;
    const n = hosts.length;
    if (n >= MAGLEV_BIG_M) {
      throw new RangeError(`Cannot build a maglev table for ${n} hosts (at most ${MAGLEV_BIG_M - 1})`);
    }
    this.#m = n * 100 <= MAGLEV_SMALL_M ? MAGLEV_SMALL_M : MAGLEV_BIG_M;
    this.#table = n === 0 ? new Int32Array(0) : buildTable(hosts.map((h) => h.address), this.#m);
  }

  /** The table entry (host index) a key hashes to; exposed for tests and diagnostics. */
  slotOf(hashKey: string): number {
    return this.#table[fnv1a64Mod(hashKey, this.#m)]!;
  }

  choose(ctx?: LbContext): LbHost | undefined {
    const hosts = this.#hosts;
    if (hosts.length === 0) return undefined;
    const key = ctx?.hashKey;
    if (key === undefined) return randomHealthy(hosts, this.#random);
    const table = this.#table;
    const m = this.#m;
    let slot = fnv1a64Mod(key, m);
    const owner = hosts[table[slot]!]!;
    if (owner.healthy) return owner;
    if (!hosts.some((h) => h.healthy)) return undefined;
    for (;;) {
      slot = slot + 1 === m ? 0 : slot + 1;
      const host = hosts[table[slot]!]!;
      if (host.healthy) return host;
    }
  }
}

/**
 * Maglev table population: each host walks its own permutation of the slots (offset, skip from two
 * hashes of its address) and the hosts take turns claiming their next free slot.
 */
function buildTable(names: readonly string[], m: number): Int32Array {
  const n = names.length;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    offset[i] = fnv1a64Mod(names[i]!, m, 0);
    skip[i] = fnv1a64Mod(names[i]!, m - 1, 0x5bd1e995) + 1;
  }
  const next = new Float64Array(offset);
  const table = new Int32Array(m).fill(-1);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = next[i]!;
      while (table[c] !== -1) c = (c + skip[i]!) % m;
      table[c] = i;
      next[i] = (c + skip[i]!) % m;
      if (++filled === m) return table;
    }
  }
}
