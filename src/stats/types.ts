/** Label names to values, e.g. `{ listener: "ingress" }` or `{ cluster: "c1", host: "10.0.0.1:8080" }`. */
export type Labels = Readonly<Record<string, string>>;

/** Read-time summary of a histogram. Values are in the unit recorded (milliseconds by convention). */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  /** 0 when nothing was recorded. */
  readonly min: number;
  /** 0 when nothing was recorded. */
  readonly max: number;
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
}

/** Plain data of one scope: its MOSN type, labels and every metric by name. */
export interface ScopeSnapshot {
  readonly type: string;
  readonly labels: Labels;
  /** MOSN namespace: label pairs sorted by name and joined with dots, e.g. "cluster.c1.host.h1". */
  readonly namespace: string;
  readonly counters: Readonly<Record<string, number>>;
  readonly gauges: Readonly<Record<string, number>>;
  readonly histograms: Readonly<Record<string, HistogramSnapshot>>;
}

/** Plain data of a whole registry, scopes sorted by type then namespace. */
export interface StatsSnapshot {
  readonly scopes: readonly ScopeSnapshot[];
}

/**
 * A histogram's exact state, mergeable: `buckets` lists [bucket index, count] for every non-empty bucket.
 * Plain data (structured-cloneable), so a worker can send it to the main thread.
 */
export interface HistogramRaw {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly buckets: readonly (readonly [number, number])[];
}

/** A scope's exact state: what `StatsRegistry.merge` adds into another registry. */
export interface ScopeRaw {
  readonly type: string;
  readonly labels: Labels;
  readonly counters: Readonly<Record<string, number>>;
  readonly gauges: Readonly<Record<string, number>>;
  readonly histograms: Readonly<Record<string, HistogramRaw>>;
}
