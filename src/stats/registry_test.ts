import assert from "node:assert/strict";
import { StatsRegistry } from "./registry.ts";

Deno.test("StatsRegistry.scope() returns the same Scope for the same type and labels in any order", () => {
  const r = new StatsRegistry();
  const a = r.scope("upstream", { cluster: "c1", host: "h1" });
  assert.equal(r.scope("upstream", { host: "h1", cluster: "c1" }), a);
  assert.notEqual(r.scope("upstream", { cluster: "c1" }), a);
  assert.notEqual(r.scope("downstream", { cluster: "c1", host: "h1" }), a);
  assert.deepEqual(a.namespace, "cluster.c1.host.h1");
});

Deno.test("Scope.counter() returns the same Counter for a name", () => {
  const s = new StatsRegistry().scope("downstream", { listener: "ingress" });
  s.counter("request_total").inc();
  s.counter("request_total").inc(2);
  assert.deepEqual(s.counter("request_total").value, 3);
});

Deno.test("Scope rejects one name used as two kinds", () => {
  const s = new StatsRegistry().scope("downstream");
  s.counter("x");
  assert.throws(() => s.gauge("x"), TypeError);
  assert.throws(() => s.histogram("x"), TypeError);
  assert.throws(() => s.counter(""), TypeError);
});

Deno.test("StatsRegistry.removeScope() drops a scope from the snapshot", () => {
  const r = new StatsRegistry();
  const host = r.scope("upstream", { cluster: "c1", host: "h1" });
  host.counter("request_total").inc();
  r.scope("upstream", { cluster: "c1" }).counter("request_total").inc();
  assert.deepEqual(r.removeScope("upstream", { host: "h1", cluster: "c1" }), true);
  assert.deepEqual(r.removeScope(host), false);
  assert.deepEqual(r.snapshot().scopes.map((s) => s.namespace), ["cluster.c1"]);
  const again = r.scope("upstream", { cluster: "c1", host: "h1" });
  assert.notEqual(again, host);
  assert.deepEqual(r.removeScope(host), false, "a stale Scope does not remove its replacement");
  assert.deepEqual(r.removeScope(again), true);
});

Deno.test("StatsRegistry.snapshot() sorts scopes and holds plain values", () => {
  const r = new StatsRegistry();
  r.scope("upstream", { cluster: "b" }).counter("request_total").inc(5);
  r.scope("downstream", { listener: "ingress" }).gauge("connection_active").set(2);
  r.scope("upstream", { cluster: "a" }).histogram("request_duration_time").record(4);
  const snap = r.snapshot();
  assert.deepEqual(snap.scopes.map((s) => `${s.type}.${s.namespace}`), [
    "downstream.listener.ingress",
    "upstream.cluster.a",
    "upstream.cluster.b",
  ]);
  assert.deepEqual(snap.scopes[0]!.gauges, { connection_active: 2 });
  assert.deepEqual(snap.scopes[1]!.histograms["request_duration_time"]!.count, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap);
});

Deno.test("StatsRegistry.toMosnJson() matches MOSN's type → namespace → name shape with string values", () => {
  const r = new StatsRegistry();
  const ds = r.scope("downstream", { proxy: "global" });
  ds.counter("request_total").inc(3);
  ds.gauge("request_active").set(1);
  ds.histogram("request_time").record(2);
  const json = r.toMosnJson();
  const data = json["downstream"]!["proxy.global"]!;
  assert.deepEqual(data["request_total"], "3");
  assert.deepEqual(data["request_active"], "1");
  assert.deepEqual(data["request_time.min"], "2");
  assert.deepEqual(data["request_time.max"], "2");
  assert.deepEqual(data["request_time.99.00%"], "2.00");
  assert.deepEqual(data["request_time.count"], "1");
});

Deno.test("StatsRegistry.toPrometheus() renders counters, gauges and histograms as summaries", () => {
  const r = new StatsRegistry();
  r.scope("downstream", { listener: "ingress" }).counter("request_total").inc(7);
  r.scope("downstream", { listener: 'we"ird' }).counter("request_total").inc(1);
  r.scope("upstream", { cluster: "c1" }).gauge("connection_active").set(3);
  r.scope("upstream", { cluster: "c1" }).histogram("request_duration_time").record(10);
  assert.deepEqual(
    r.toPrometheus(),
    [
      "# TYPE meshctl_downstream_request_total counter",
      'meshctl_downstream_request_total{listener="ingress"} 7',
      'meshctl_downstream_request_total{listener="we\\"ird"} 1',
      "# TYPE meshctl_upstream_connection_active gauge",
      'meshctl_upstream_connection_active{cluster="c1"} 3',
      "# TYPE meshctl_upstream_request_duration_time summary",
      'meshctl_upstream_request_duration_time{cluster="c1",quantile="0.5"} 10',
      'meshctl_upstream_request_duration_time{cluster="c1",quantile="0.9"} 10',
      'meshctl_upstream_request_duration_time{cluster="c1",quantile="0.99"} 10',
      'meshctl_upstream_request_duration_time_sum{cluster="c1"} 10',
      'meshctl_upstream_request_duration_time_count{cluster="c1"} 1',
      "# TYPE meshctl_upstream_request_duration_time_min gauge",
      'meshctl_upstream_request_duration_time_min{cluster="c1"} 10',
      "# TYPE meshctl_upstream_request_duration_time_max gauge",
      'meshctl_upstream_request_duration_time_max{cluster="c1"} 10',
      "",
    ].join("\n"),
  );
});

Deno.test("StatsRegistry.addCollector() sets mirrored gauges right before each snapshot", () => {
  const r = new StatsRegistry();
  let source = 1;
  const g = r.scope("meta").gauge("mirrored");
  r.addCollector(() => g.set(source));
  source = 7;
  const json = r.toMosnJson();
  assert.deepEqual(Object.values(json["meta"] ?? {})[0], { mirrored: "7" });
});

Deno.test("addRemote: snapshots sum each worker's counters, gauges and histograms exactly; listener_address takes the max", () => {
  const workers = [new StatsRegistry(), new StatsRegistry()];
  const all = new StatsRegistry(); // one registry that saw every observation: what the merge must equal
  for (let w = 0; w < 2; w++) {
    const s = workers[w]!.scope("downstream", { listener: "ingress" });
    s.counter("request_total").inc(10 + w);
    s.gauge("connection_active").set(3 + w);
    workers[w]!.scope("meta", { mosn: "info" }).gauge("listener_address:127.0.0.1:80").set(1);
    for (let i = 0; i < 500; i++) {
      const ms = (i * 7 + w * 13) % 997 / 4; // quarters: the sum is exact in any order
      s.histogram("request_time").record(ms);
      all.scope("downstream", { listener: "ingress" }).histogram("request_time").record(ms);
    }
  }
  workers[1]!.scope("upstream", { cluster: "only_on_1" }).counter("request_total").inc(4);
  const main = new StatsRegistry();
  main.scope("meta", { workers: "process" }).gauge("workers").set(2);
  for (const w of workers) {
    const wire = structuredClone(w.exportRaw()); // what crosses the thread boundary
    main.addRemote(() => wire);
  }
  const json = main.toMosnJson();
  assert.equal(json["downstream"]!["listener.ingress"]!["request_total"], "21");
  assert.equal(json["downstream"]!["listener.ingress"]!["connection_active"], "7");
  assert.equal(json["upstream"]!["cluster.only_on_1"]!["request_total"], "4");
  assert.equal(json["meta"]!["mosn.info"]!["listener_address:127.0.0.1:80"], "1");
  assert.equal(json["meta"]!["workers.process"]!["workers"], "2");
  const merged = main.snapshot().scopes.find((s) => s.type === "downstream")!.histograms["request_time"]!;
  const expected = all.snapshot().scopes[0]!.histograms["request_time"]!;
  assert.deepEqual(merged, expected);
});
