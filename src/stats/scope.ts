import { Counter } from "./counter.ts";
import { Gauge } from "./gauge.ts";
import { Histogram } from "./histogram.ts";
import type { HistogramRaw, HistogramSnapshot, Labels, ScopeRaw, ScopeSnapshot } from "./types.ts";

type Kind = "counter" | "gauge" | "histogram";

/**
 * The metrics of one MOSN type and label set, e.g. downstream `{listener: "ingress"}`. Get-or-create by
 * name at setup time and keep the returned object: the lookup is a Map access, updates are not.
 */
export class Scope {
  readonly type: string;
  readonly labels: Labels;
  /** MOSN namespace: label pairs sorted by name, joined with dots ("cluster.c1.host.h1"). */
  readonly namespace: string;
  readonly #counters = new Map<string, Counter>();
  readonly #gauges = new Map<string, Gauge>();
  readonly #histograms = new Map<string, Histogram>();

  /** Use `StatsRegistry.scope()`; `labels` must already be sorted by name. */
  constructor(type: string, labels: Labels) {
    this.type = type;
    this.labels = labels;
    this.namespace = Object.entries(labels).map(([k, v]) => `${k}.${v}`).join(".");
  }

  counter(name: string): Counter {
    return this.#counters.get(name) ?? this.#add(this.#counters, name, "counter", new Counter());
  }

  gauge(name: string): Gauge {
    return this.#gauges.get(name) ?? this.#add(this.#gauges, name, "gauge", new Gauge());
  }

  histogram(name: string): Histogram {
    return this.#histograms.get(name) ?? this.#add(this.#histograms, name, "histogram", new Histogram());
  }

  snapshot(): ScopeSnapshot {
    const counters: Record<string, number> = {};
    for (const [name, c] of this.#counters) counters[name] = c.value;
    const gauges: Record<string, number> = {};
    for (const [name, g] of this.#gauges) gauges[name] = g.value;
    const histograms: Record<string, HistogramSnapshot> = {};
    for (const [name, h] of this.#histograms) histograms[name] = h.snapshot();
    return { type: this.type, labels: this.labels, namespace: this.namespace, counters, gauges, histograms };
  }

  /** The exact state of every metric, for `StatsRegistry.merge` (e.g. in another thread). */
  exportRaw(): ScopeRaw {
    const counters: Record<string, number> = {};
    for (const [name, c] of this.#counters) counters[name] = c.value;
    const gauges: Record<string, number> = {};
    for (const [name, g] of this.#gauges) gauges[name] = g.value;
    const histograms: Record<string, HistogramRaw> = {};
    for (const [name, h] of this.#histograms) histograms[name] = h.exportRaw();
    return { type: this.type, labels: this.labels, counters, gauges, histograms };
  }

  #add<T>(map: Map<string, T>, name: string, kind: Kind, metric: T): T {
    if (name.length === 0) throw new TypeError(`Cannot register a ${kind} with an empty name`);
    const existing = this.#kindOf(name);
    if (existing !== undefined) {
      throw new TypeError(`Cannot register ${kind} "${name}" in ${this.type}: it is already a ${existing}`);
    }
    map.set(name, metric);
    return metric;
  }

  #kindOf(name: string): Kind | undefined {
    if (this.#counters.has(name)) return "counter";
    if (this.#gauges.has(name)) return "gauge";
    if (this.#histograms.has(name)) return "histogram";
    return undefined;
  }
}
