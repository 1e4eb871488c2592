import type { Labels, StatsSnapshot } from "./types.ts";

/** Prefix of every metric family name. */
export const PROMETHEUS_PREFIX = "meshctl_";

/** Quantiles a histogram exposes as a Prometheus summary. */
const QUANTILES: ReadonlyArray<readonly [label: string, field: "p50" | "p90" | "p99"]> = [
  ["0.5", "p50"],
  ["0.9", "p90"],
  ["0.99", "p99"],
];

type FamilyType = "counter" | "gauge" | "summary";

interface Family {
  type: FamilyType;
  lines: string[];
}

/** Replaces characters Prometheus does not allow in metric and label names with `_`. */
export function sanitizePrometheusName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatLabels(labels: Labels, extra?: readonly [string, string]): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    parts.push(`${sanitizePrometheusName(k)}="${escapeLabelValue(v)}"`);
  }
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/**
 * Renders a snapshot in the Prometheus text exposition format 0.0.4: `meshctl_<type>_<name>{labels} value`.
 * A histogram becomes a summary (quantiles 0.5/0.9/0.99, `_sum`, `_count`) plus `_min` and `_max` gauges.
 * Series of one family are grouped under one `# TYPE` line.
 */
export function renderPrometheus(snapshot: StatsSnapshot): string {
  const families = new Map<string, Family>();
  const family = (name: string, type: FamilyType): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { type, lines: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const scope of snapshot.scopes) {
    const prefix = `${PROMETHEUS_PREFIX}${sanitizePrometheusName(scope.type)}_`;
    const labels = formatLabels(scope.labels);
    for (const [name, v] of Object.entries(scope.counters)) {
      const full = prefix + sanitizePrometheusName(name);
      family(full, "counter").lines.push(`${full}${labels} ${formatValue(v)}`);
    }
    for (const [name, v] of Object.entries(scope.gauges)) {
      const full = prefix + sanitizePrometheusName(name);
      family(full, "gauge").lines.push(`${full}${labels} ${formatValue(v)}`);
    }
    for (const [name, h] of Object.entries(scope.histograms)) {
      const full = prefix + sanitizePrometheusName(name);
      const summary = family(full, "summary").lines;
      for (const [q, field] of QUANTILES) {
        summary.push(`${full}${formatLabels(scope.labels, ["quantile", q])} ${formatValue(h[field])}`);
      }
      summary.push(`${full}_sum${labels} ${formatValue(h.sum)}`);
      summary.push(`${full}_count${labels} ${formatValue(h.count)}`);
      family(`${full}_min`, "gauge").lines.push(`${full}_min${labels} ${formatValue(h.min)}`);
      family(`${full}_max`, "gauge").lines.push(`${full}_max${labels} ${formatValue(h.max)}`);
    }
  }
  let out = "";
  for (const [name, f] of families) {
    out += `# TYPE ${name} ${f.type}\n`;
    for (const line of f.lines) out += line + "\n";
  }
  return out;
}
