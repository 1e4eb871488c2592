import { Scope } from "./scope.ts";
import { renderMosnJson } from "./mosn_json.ts";
import type { MosnStats } from "./mosn_json.ts";
import { renderPrometheus } from "./prometheus.ts";
import type { Labels, ScopeRaw, StatsSnapshot } from "./types.ts";

function sortedLabels(labels: Labels): Labels {
  const keys = Object.keys(labels).sort();
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = labels[k]!;
  return Object.freeze(out);
}

function scopeKey(type: string, labels: Labels): string {
  let key = type;
  for (const [k, v] of Object.entries(labels)) key += `\0${k}\0${v}`;
  return key;
}

/**
 * All stats of one process, grouped into scopes by MOSN type and labels. Name-agnostic: callers pick
 * MOSN names (`request_total`, `connection_active`, ...).
 *
 * @example
 * ```ts
 * const registry = new StatsRegistry();
 * const requests = registry.scope("downstream", { listener: "ingress" }).counter("request_total");
 * requests.inc();
 * ```
 */
export class StatsRegistry {
  readonly #scopes = new Map<string, Scope>();
  readonly #collectors: (() => void)[] = [];
  /** Other registries' exact state (workers' stats, fetched by the main thread) added to every output. */
  readonly #remotes: (() => readonly ScopeRaw[])[] = [];

  /**
   * Runs `fn` before every snapshot: for gauges that mirror state kept elsewhere (bytes held by a
   * budget, say), set at read time instead of on every change of a hot-path value.
   */
  addCollector(fn: () => void): void {
    this.#collectors.push(fn);
  }

  /** The scope for `type` and `labels`; the same arguments return the same object. */
  scope(type: string, labels: Labels = {}): Scope {
    if (type.length === 0) throw new TypeError("Cannot create a stats scope with an empty type");
    const sorted = sortedLabels(labels);
    const key = scopeKey(type, sorted);
    let scope = this.#scopes.get(key);
    if (scope === undefined) {
      scope = new Scope(type, sorted);
      this.#scopes.set(key, scope);
    }
    return scope;
  }

  /**
   * Drops a scope (e.g. a host that went away) from every output. Returns false when it was not
   * registered. Metric objects callers still hold keep working but are no longer reported.
   */
  removeScope(scope: Scope): boolean;
  removeScope(type: string, labels?: Labels): boolean;
  removeScope(scopeOrType: Scope | string, labels: Labels = {}): boolean {
    const key = typeof scopeOrType === "string"
      ? scopeKey(scopeOrType, sortedLabels(labels))
      : scopeKey(scopeOrType.type, scopeOrType.labels);
    const found = this.#scopes.get(key);
    if (found === undefined || (typeof scopeOrType !== "string" && found !== scopeOrType)) return false;
    return this.#scopes.delete(key);
  }

  /** Every scope, sorted by type then namespace. */
  scopes(): Scope[] {
    return [...this.#scopes.values()].sort((a, b) =>
      a.type === b.type ? compare(a.namespace, b.namespace) : compare(a.type, b.type)
    );
  }

  /**
   * Adds `source()` (other registries' `exportRaw()`, e.g. one per worker thread) into every snapshot:
   * counters, gauges and histograms of the same scope and name are summed (histograms exactly, bucket by
   * bucket). Gauges every worker holds a copy of rather than a share (`listener_address:*`, a certificate's
   * expiry, a cluster's `membership_total`) take the largest value instead.
   */
  addRemote(source: () => readonly ScopeRaw[]): void {
    this.#remotes.push(source);
  }

  /** Every scope's exact state (collectors run first). */
  exportRaw(): ScopeRaw[] {
    for (let i = 0; i < this.#collectors.length; i++) this.#collectors[i]!();
    return this.scopes().map((s) => s.exportRaw());
  }

  /** Adds `scopes` (another registry's `exportRaw()`) into this one; see `addRemote` for how. */
  merge(scopes: readonly ScopeRaw[]): void {
    for (const raw of scopes) {
      const scope = this.scope(raw.type, raw.labels);
      for (const [name, v] of Object.entries(raw.counters)) scope.counter(name).inc(v);
      for (const [name, v] of Object.entries(raw.gauges)) {
        const g = scope.gauge(name);
        if (isPerWorkerCopy(name)) g.set(Math.max(g.value, v));
        else g.inc(v);
      }
      for (const [name, h] of Object.entries(raw.histograms)) scope.histogram(name).mergeRaw(h);
    }
  }

  snapshot(): StatsSnapshot {
    if (this.#remotes.length === 0) {
      for (let i = 0; i < this.#collectors.length; i++) this.#collectors[i]!();
      return { scopes: this.scopes().map((s) => s.snapshot()) };
    }
    const merged = new StatsRegistry();
    merged.merge(this.exportRaw());
    for (const remote of this.#remotes) merged.merge(remote());
    return merged.snapshot();
  }

  /** The MOSN `/api/v1/stats` document: `{ "<type>": { "<namespace>": { name: "value" } } }`. */
  toMosnJson(): MosnStats {
    return renderMosnJson(this.snapshot());
  }

  /** Prometheus text exposition format 0.0.4. */
  toPrometheus(): string {
    return renderPrometheus(this.snapshot());
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Gauges each worker sets to the same process-wide fact (a bound address, a certificate, a host count). */
const PER_WORKER_COPY_GAUGES = new Set([
  "cert_expires_in_seconds",
  "cert_not_after_timestamp_seconds",
  "membership_total",
]);

function isPerWorkerCopy(name: string): boolean {
  return name.startsWith("listener_address:") || PER_WORKER_COPY_GAUGES.has(name);
}
