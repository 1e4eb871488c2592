import { StatsRegistry } from "./mod.ts";

const registry = new StatsRegistry();
const scope = registry.scope("downstream", { listener: "ingress" });
const counter = scope.counter("request_total");
const gauge = scope.gauge("request_active");
const histogram = scope.histogram("request_time");
let x = 0.137;

Deno.bench("Counter.inc()", { group: "update", baseline: true }, () => {
  counter.inc();
});

Deno.bench("Gauge.inc() + dec()", { group: "update" }, () => {
  gauge.inc();
  gauge.dec();
});

Deno.bench("Histogram.record()", { group: "update" }, () => {
  x = x * 1.618 % 5000;
  histogram.record(x);
});

Deno.bench("Scope.counter() lookup (setup path)", { group: "update" }, () => {
  scope.counter("request_total");
});

Deno.bench("StatsRegistry.scope() lookup (setup path)", { group: "update" }, () => {
  registry.scope("downstream", { listener: "ingress" });
});

Deno.bench("Histogram.p99 (read)", { group: "read" }, () => {
  histogram.p99;
});

const big = new StatsRegistry();
for (let i = 0; i < 100; i++) {
  const s = big.scope("upstream", { cluster: `c${i % 10}`, host: `10.0.0.${i}:8080` });
  for (const name of ["request_total", "connection_total", "connection_con_fail"]) s.counter(name).inc(i);
  s.histogram("request_duration_time").record(i);
}

Deno.bench("StatsRegistry.toPrometheus() with 100 host scopes", { group: "read" }, () => {
  big.toPrometheus();
});
