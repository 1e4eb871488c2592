import assert from "node:assert/strict";
import { FakeClock } from "../../core/mod.ts";
import type { RequestHead } from "../../codec/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import type {
  ClusterHealth,
  FilterContext,
  FilterEnvironment,
  StreamFilter,
  StreamFilterFactory,
} from "../types.ts";
import { healthCheckFilter } from "./healthcheck.ts";

function ctx(healthCheck: boolean): FilterContext {
  return {
    request: { protocol: "bolt", kind: "rpc", healthCheck } as unknown as RequestHead,
    listener: "l",
    remoteAddress: "127.0.0.1:1",
    cluster: undefined,
    upstreamHost: undefined,
  };
}

const HEARTBEAT = ctx(true);
const CALL = ctx(false);

interface Setup {
  filter: StreamFilter;
  clock: FakeClock;
  counters: () => Record<string, number>;
  health: Map<string, ClusterHealth>;
}

function setup(config: Record<string, unknown>): Setup {
  const registry = new StatsRegistry();
  const stats = registry.scope("downstream", { listener: "l" });
  const clock = new FakeClock();
  const health = new Map<string, ClusterHealth>([["a", { total: 4, healthy: 4 }], ["b", {
    total: 2,
    healthy: 2,
  }]]);
  const env: FilterEnvironment = {
    clusterNames: new Set(["a", "b"]),
    clusterHealth: (name) => health.get(name),
    clock,
    stats,
  };
  const made = healthCheckFilter.create(config, env);
  assert.ok(!("errors" in made), JSON.stringify(made));
  const filter = (made as StreamFilterFactory)();
  const names = ["healthy", "unhealthy", "passthrough", "cached"];
  return {
    filter,
    clock,
    health,
    counters: () => Object.fromEntries(names.map((n) => [n, stats.counter(`healthcheck_${n}_total`).value])),
  };
}

function statusOf(r: ReturnType<NonNullable<StreamFilter["beforeRoute"]>>): number | undefined {
  assert.ok(!(r instanceof Promise));
  return r?.localReply.status;
}

Deno.test("healthcheck answers a heartbeat itself and lets every other request through", () => {
  const { filter, counters } = setup({});
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 200);
  assert.equal(statusOf(filter.beforeRoute!(CALL)), undefined);
  assert.deepEqual(counters(), { healthy: 1, unhealthy: 0, passthrough: 0, cached: 0 });
});

Deno.test("healthcheck answers unhealthy when a listed cluster is below its healthy percentage (Envoy's rule)", () => {
  const { filter, health, counters } = setup({ cluster_min_healthy_percentages: { a: 75, b: 0 } });
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 200);
  health.set("a", { total: 4, healthy: 3 }); // exactly 75 %
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 200);
  health.set("a", { total: 4, healthy: 2 }); // 50 % < 75 %
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 503);
  health.set("a", { total: 4, healthy: 4 });
  health.set("b", { total: 0, healthy: 0 }); // empty, but b asks for 0 %
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 200);
  health.set("a", { total: 0, healthy: 0 }); // empty and a asks for 75 %
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 503);
  health.delete("a"); // no such cluster any more
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 503);
  assert.deepEqual(counters(), { healthy: 3, unhealthy: 3, passthrough: 0, cached: 0 });
});

Deno.test("healthcheck passthrough routes heartbeats upstream and caches the answer for cache_time", () => {
  const { filter, clock, counters } = setup({ passthrough: true, cache_time: "10s" });
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), undefined, "the first goes upstream");
  filter.beforeSend!(HEARTBEAT, { status: 503, headers: undefined as never });
  clock.tick(9_999);
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 503, "answered from the cache");
  filter.beforeSend!(CALL, { status: 200, headers: undefined as never }); // an RPC answer is not cached
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 503);
  clock.tick(1);
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), undefined, "expired: upstream again");
  filter.beforeSend!(HEARTBEAT, { status: 200, headers: undefined as never });
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), 200);
  assert.deepEqual(counters(), { healthy: 0, unhealthy: 0, passthrough: 2, cached: 3 });
});

Deno.test("healthcheck passthrough without cache_time sends every heartbeat upstream", () => {
  const { filter, counters } = setup({ passthrough: true });
  filter.beforeSend!(HEARTBEAT, { status: 200, headers: undefined as never });
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), undefined);
  assert.equal(statusOf(filter.beforeRoute!(HEARTBEAT)), undefined);
  assert.deepEqual(counters(), { healthy: 0, unhealthy: 0, passthrough: 2, cached: 0 });
});

Deno.test("healthcheck.create() reports every config problem with the field it is about", () => {
  const made = healthCheckFilter.create({
    passthrough: "yes",
    cache_time: 10,
    endpoint: 3,
    cluster_min_healthy_percentages: { a: 101, nope: 50, b: "x" },
    paththrough: true,
  }, { clusterNames: new Set(["a", "b"]) });
  assert.ok("errors" in made);
  assert.deepEqual(made.errors, [
    {
      path: "paththrough",
      message:
        'unknown field "paththrough"; expected one of passthrough, cache_time, cluster_min_healthy_percentages, endpoint',
    },
    { path: "passthrough", message: 'expected true or false, got "yes"' },
    {
      path: "cache_time",
      message: 'expected a duration string like "10s" (MOSN reads bare numbers as nanoseconds)',
    },
    { path: "endpoint", message: "expected a string, got 3" },
    { path: "cluster_min_healthy_percentages.a", message: "expected a percentage from 0 to 100, got 101" },
    { path: "cluster_min_healthy_percentages.nope", message: 'unknown cluster "nope"' },
    { path: "cluster_min_healthy_percentages.b", message: 'expected a percentage from 0 to 100, got "x"' },
  ]);
  const ok = healthCheckFilter.create({ PassThrough: false, Cache_Time: "1m", endpoint: "/health" });
  assert.equal(typeof ok, "function", "keys case-insensitively, as Go's decoder");
});

Deno.test("healthcheck.lint() warns about settings the mode leaves unused", () => {
  assert.deepEqual(healthCheckFilter.lint!({ cache_time: "1m" }), [
    {
      path: "cache_time",
      message: "cache_time is not used without passthrough: true (it caches upstream answers)",
    },
  ]);
  assert.deepEqual(
    healthCheckFilter.lint!({ passthrough: true, cluster_min_healthy_percentages: { a: 50 } }),
    [
      {
        path: "cluster_min_healthy_percentages",
        message: "cluster_min_healthy_percentages is not used with passthrough: true (the upstream answers)",
      },
    ],
  );
  assert.deepEqual(healthCheckFilter.lint!({}), []);
  assert.equal(healthCheckFilter.takesHealthChecks, true);
});
