/**
 * Stats: counters, gauges and histograms grouped into scopes by MOSN type and labels, rendered as
 * MOSN's `/api/v1/stats` JSON or the Prometheus text format. Hot-path updates do not allocate:
 * get the metric once at setup, keep it, call `inc()` / `record()` per request.
 * @module
 */
export { StatsRegistry } from "./registry.ts";
export { Scope } from "./scope.ts";
export { Counter } from "./counter.ts";
export { Gauge } from "./gauge.ts";
export { Histogram } from "./histogram.ts";
export { renderMosnJson } from "./mosn_json.ts";
export type { MosnStats } from "./mosn_json.ts";
export { PROMETHEUS_PREFIX, renderPrometheus, sanitizePrometheusName } from "./prometheus.ts";
export { parsePrometheus } from "./parse_prometheus.ts";
export type { PrometheusFamily, PrometheusSample } from "./parse_prometheus.ts";
export type {
  HistogramRaw,
  HistogramSnapshot,
  Labels,
  ScopeRaw,
  ScopeSnapshot,
  StatsSnapshot,
} from "./types.ts";
