import assert from "node:assert/strict";
import { parsePrometheus } from "./parse_prometheus.ts";
import { StatsRegistry } from "./registry.ts";

Deno.test("parsePrometheus() reads back what toPrometheus() writes", () => {
  const r = new StatsRegistry();
  r.scope("downstream", { listener: 'a"b\\c' }).counter("request_total").inc(2);
  r.scope("upstream", { cluster: "c1", host: "10.0.0.1:80" }).histogram("request_duration_time").record(5);
  const families = parsePrometheus(r.toPrometheus());
  assert.deepEqual(families.map((f) => [f.name, f.type, f.samples.length]), [
    ["meshctl_downstream_request_total", "counter", 1],
    ["meshctl_upstream_request_duration_time", "summary", 5],
    ["meshctl_upstream_request_duration_time_min", "gauge", 1],
    ["meshctl_upstream_request_duration_time_max", "gauge", 1],
  ]);
  assert.deepEqual(families[0]!.samples[0], {
    name: "meshctl_downstream_request_total",
    labels: { listener: 'a"b\\c' },
    value: 2,
  });
  assert.deepEqual(families[1]!.samples[3]!.name, "meshctl_upstream_request_duration_time_sum");
  assert.deepEqual(families[1]!.samples[0]!.labels, { cluster: "c1", host: "10.0.0.1:80", quantile: "0.5" });
});

Deno.test("parsePrometheus() accepts untyped samples, timestamps and special values", () => {
  const families = parsePrometheus("# HELP x help\nx 1 1700000000\ny{} +Inf\nz NaN\n");
  assert.deepEqual(families.map((f) => [f.name, f.type, f.samples[0]!.value]), [
    ["x", "untyped", 1],
    ["y", "untyped", Infinity],
    ["z", "untyped", NaN],
  ]);
});

Deno.test("parsePrometheus() rejects malformed lines", () => {
  assert.throws(() => parsePrometheus('x{a="1" 2'), SyntaxError);
  assert.throws(() => parsePrometheus("x abc"), SyntaxError);
  assert.throws(() => parsePrometheus("{} 1"), SyntaxError);
});
