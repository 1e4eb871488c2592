import type { StatsSnapshot } from "./types.ts";

/** MOSN `/api/v1/stats`: type → namespace → metric name → value as a string. */
export type MosnStats = Record<string, Record<string, Record<string, string>>>;

/** Histogram quantiles MOSN's console sink reports, with the key suffix it uses. */
const PERCENTS: ReadonlyArray<
  readonly [suffix: string, field: "p50" | "p75" | "p90" | "p95" | "p99" | "p999"]
> = [
  ["50.00%", "p50"],
  ["75.00%", "p75"],
  ["90.00%", "p90"],
  ["95.00%", "p95"],
  ["99.00%", "p99"],
  ["99.90%", "p999"],
];

/**
 * Renders a snapshot the way MOSN's admin API does: values are strings; a histogram `h` becomes
 * `h.50.00%` ... `h.99.90%` (two decimals), `h.min`, `h.max`, plus `h.count` and `h.sum`.
 */
export function renderMosnJson(snapshot: StatsSnapshot): MosnStats {
  const out: MosnStats = {};
  for (const scope of snapshot.scopes) {
    // A scope nothing was counted in yet (a codec's, before its first event) is not shown.
    if (isEmpty(scope.counters) && isEmpty(scope.gauges) && isEmpty(scope.histograms)) continue;
    const byType = out[scope.type] ??= {};
    const data = byType[scope.namespace] ??= {};
    for (const [name, v] of Object.entries(scope.counters)) data[name] = String(v);
    for (const [name, v] of Object.entries(scope.gauges)) data[name] = String(v);
    for (const [name, h] of Object.entries(scope.histograms)) {
      for (const [suffix, field] of PERCENTS) data[`${name}.${suffix}`] = h[field].toFixed(2);
      data[`${name}.min`] = String(h.min);
      data[`${name}.max`] = String(h.max);
      data[`${name}.count`] = String(h.count);
      data[`${name}.sum`] = String(h.sum);
    }
  }
  return out;
}

function isEmpty(o: Readonly<Record<string, unknown>>): boolean {
  for (const _ in o) return false;
  return true;
}
