/**
 * Envoy's outlier detection rules, one by one, on a FakeClock: consecutive errors, enforcement,
 * ejection time growth and cap, unejection, the ejected-share cap, success rate, local-origin errors.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { FakeClock } from "../../core/mod.ts";
import type { OutlierDetectionConfig } from "../../config/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { ClusterHealth, type HostHealth } from "./host_health.ts";
import { type IntervalCounts, OutlierDetector, OutlierStats } from "./outlier.ts";

const ENVOY_DEFAULTS: OutlierDetectionConfig = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionTimeJitterMs: 0,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: false,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  enforcingSuccessRate: 100,
  enforcingLocalOriginSuccessRate: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  failurePercentageThreshold: 85,
  enforcingFailurePercentage: 0,
  enforcingFailurePercentageLocalOrigin: 0,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  splitExternalLocalOriginErrors: false,
  successfulActiveHealthCheckUnejectHost: true,
};

function setup(overrides: Partial<OutlierDetectionConfig> = {}, hostCount = 10) {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const scope = registry.scope("upstream", { cluster: "c" });
  const group = new ClusterHealth();
  const hosts = Array.from({ length: hostCount }, (_, i) => group.acquire(`10.0.0.${i}:80`));
  let changes = 0;
  const od = new OutlierDetector({ ...ENVOY_DEFAULTS, ...overrides }, new OutlierStats(scope), {
    clock,
    random: () => 0.5,
    onChange: () => changes++,
  });
  od.setHosts(hosts);
  od.start();
  const counter = (name: string) => scope.counter(name).value;
  return {
    clock,
    od,
    hosts,
    group,
    counter,
    changes: () => changes,
    active: () => scope.gauge("outlier_detection_ejections_active").value,
  };
}

function fail(od: OutlierDetector, h: HostHealth, n: number, status = 500): void {
  for (let i = 0; i < n; i++) od.onResponse(h, status);
}

Deno.test("consecutive_5xx: the 5th 5xx in a row ejects (not the 4th); a success in between starts the count over", () => {
  const { od, hosts, counter, active } = setup();
  const h = hosts[0]!;
  fail(od, h, 4);
  od.onResponse(h, 200);
  fail(od, h, 4);
  assert(h.healthy, "4 in a row must not eject");
  od.onResponse(h, 500);
  assert(!h.healthy && h.ejected);
  assertEquals(counter("outlier_detection_ejections_enforced_consecutive_5xx_total"), 1);
  assertEquals(counter("outlier_detection_ejections_enforced_total"), 1);
  assertEquals(active(), 1);
});

Deno.test("consecutive_gateway_failure ejects only when enforced (Envoy's default enforcing is 0 %)", () => {
  const off = setup({ consecutive5xx: 100 });
  fail(off.od, off.hosts[0]!, 5, 503);
  assert(off.hosts[0]!.healthy);
  assertEquals(off.counter("outlier_detection_ejections_detected_consecutive_gateway_failure_total"), 1);
  const on = setup({ consecutive5xx: 100, enforcingConsecutiveGatewayFailure: 100 });
  fail(on.od, on.hosts[0]!, 4, 503);
  on.od.onResponse(on.hosts[0]!, 500); // not a gateway failure: the gateway count starts over
  fail(on.od, on.hosts[0]!, 4, 502);
  assert(on.hosts[0]!.healthy);
  on.od.onResponse(on.hosts[0]!, 504);
  assert(on.hosts[0]!.ejected);
  assertEquals(on.counter("outlier_detection_ejections_enforced_consecutive_gateway_failure_total"), 1);
});

Deno.test("ejection time is base × times ejected, capped at max_ejection_time; unejection happens on the interval sweep", () => {
  const { clock, od, hosts } = setup({
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 70_000,
    intervalMs: 10_000,
  });
  const h = hosts[0]!;
  const ejectedFor = () => {
    const start = clock.now();
    fail(od, h, 5);
    assert(h.ejected);
    while (h.ejected) clock.tick(1_000);
    return clock.now() - start;
  };
  // Sweeps run every 10 s, so the time out is rounded up to the next sweep.
  const first = ejectedFor();
  assert(first >= 30_000 && first <= 40_000, `first ejection lasted ${first}`);
  const second = ejectedFor();
  assert(second >= 60_000 && second <= 70_000, `second ejection lasted ${second}`);
  const third = ejectedFor(); // 90 s capped at 70 s
  assert(third >= 70_000 && third <= 80_000, `third ejection lasted ${third}`);
  assertEquals(h.ejectionMultiplier, 3);
});

Deno.test("the ejection multiplier drops by one per interval a host stays in, so old ejections are forgiven", () => {
  const { clock, od, hosts } = setup();
  const h = hosts[0]!;
  fail(od, h, 5);
  clock.tick(30_000); // the sweep at 30 s returns it
  assert(!h.ejected);
  assertEquals(h.ejectionMultiplier, 1);
  clock.tick(10_000);
  assertEquals(h.ejectionMultiplier, 0);
  fail(od, h, 5);
  assertEquals(h.ejectedUntilMs - clock.now(), 30_000);
});

Deno.test("max_ejection_percent caps the ejected share; always_eject_one_host lets the first ejection through", () => {
  const capped = setup({ maxEjectionPercent: 34 }, 3); // 1 of 3 = 33 % allowed, 2 of 3 not
  fail(capped.od, capped.hosts[0]!, 5);
  fail(capped.od, capped.hosts[1]!, 5);
  assert(capped.hosts[0]!.ejected && !capped.hosts[1]!.ejected);
  assertEquals(capped.counter("outlier_detection_ejections_overflow"), 1);
  assertEquals(capped.active(), 1);
  // Envoy's default 10 % of 3 hosts allows none...
  const none = setup({}, 3);
  fail(none.od, none.hosts[0]!, 5);
  assert(!none.hosts[0]!.ejected);
  // ...unless always_eject_one_host.
  const one = setup({ alwaysEjectOneHost: true }, 3);
  fail(one.od, one.hosts[0]!, 5);
  fail(one.od, one.hosts[1]!, 5);
  assert(one.hosts[0]!.ejected && !one.hosts[1]!.ejected);
});

Deno.test("enforcing_consecutive_5xx is a chance: 0 % detects without ejecting", () => {
  const s = setup({ enforcingConsecutive5xx: 0 });
  fail(s.od, s.hosts[0]!, 5);
  assert(!s.hosts[0]!.ejected);
  assertEquals(s.counter("outlier_detection_ejections_detected_consecutive_5xx_total"), 1);
  assertEquals(s.counter("outlier_detection_ejections_enforced_total"), 0);
});

Deno.test("success rate: a host far below the mean of hosts with enough volume is ejected at the sweep", () => {
  const { clock, od, hosts, counter } = setup({ maxEjectionPercent: 100, consecutive5xx: 1000 }, 6);
  for (const h of hosts) for (let i = 0; i < 100; i++) od.onResponse(h, 200);
  for (let i = 0; i < 60; i++) od.onResponse(hosts[5]!, 500); // 100 / 160 = 62.5 %
  clock.tick(10_000);
  assert(hosts[5]!.ejected);
  assertEquals(hosts.filter((h) => h.ejected).length, 1);
  assertEquals(counter("outlier_detection_ejections_enforced_success_rate_total"), 1);
  // Below success_rate_minimum_hosts hosts with volume: no statistics, no ejection.
  const few = setup({ maxEjectionPercent: 100, consecutive5xx: 1000 }, 4);
  for (const h of few.hosts) for (let i = 0; i < 100; i++) few.od.onResponse(h, 200);
  for (let i = 0; i < 100; i++) few.od.onResponse(few.hosts[3]!, 500);
  few.clock.tick(10_000);
  assert(!few.hosts[3]!.ejected);
});

Deno.test("failure percentage ejects at or above the threshold when enforced", () => {
  const { clock, od, hosts } = setup({
    maxEjectionPercent: 100,
    consecutive5xx: 1000,
    enforcingFailurePercentage: 100,
    enforcingSuccessRate: 0,
  }, 5);
  for (const h of hosts) for (let i = 0; i < 50; i++) od.onResponse(h, 200);
  for (let i = 0; i < 300; i++) od.onResponse(hosts[0]!, 503); // 300 / 350 = 86 %
  clock.tick(10_000);
  assert(hosts[0]!.ejected);
  assertEquals(hosts.filter((h) => h.ejected).length, 1);
});

Deno.test("local-origin failures count as 5xx unless split; split, they have their own consecutive threshold", () => {
  const joint = setup();
  for (let i = 0; i < 5; i++) joint.od.onLocalOriginFailure(joint.hosts[0]!, "connect_failure");
  assert(joint.hosts[0]!.ejected);
  const split = setup({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 3 });
  const h = split.hosts[0]!;
  split.od.onLocalOriginFailure(h, "reset");
  split.od.onLocalOriginFailure(h, "timeout");
  split.od.onLocalOriginSuccess(h); // a response came: the local count starts over
  split.od.onLocalOriginFailure(h, "connect_failure");
  split.od.onLocalOriginFailure(h, "connect_failure");
  assert(!h.ejected);
  split.od.onLocalOriginFailure(h, "connect_failure");
  assert(h.ejected);
  assertEquals(
    split.counter("outlier_detection_ejections_enforced_consecutive_local_origin_failure_total"),
    1,
  );
  assertEquals(h.consecutive5xx, 0, "split: local-origin failures are not 5xx");
});

Deno.test("a passing active health check unejects at once (successful_active_health_check_uneject_host)", () => {
  const s = setup();
  fail(s.od, s.hosts[0]!, 5);
  s.od.onActiveCheckSuccess(s.hosts[0]!);
  assert(s.hosts[0]!.healthy);
  assertEquals(s.active(), 0);
  const keep = setup({ successfulActiveHealthCheckUnejectHost: false });
  fail(keep.od, keep.hosts[0]!, 5);
  keep.od.onActiveCheckSuccess(keep.hosts[0]!);
  assert(keep.hosts[0]!.ejected);
});

Deno.test("stop clears the sweep timer", () => {
  const { clock, od } = setup();
  assertEquals(clock.pending, 1);
  od.stop();
  assertEquals(clock.pending, 0);
});

Deno.test("report mode (a worker): a detection is reported, not ejected; its sweep neither unejects nor keeps stats", () => {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const scope = registry.scope("upstream", { cluster: "c" });
  const group = new ClusterHealth();
  const hosts = Array.from({ length: 3 }, (_, i) => group.acquire(`10.0.0.${i}:80`));
  const reports: [string, string][] = [];
  const od = new OutlierDetector({ ...ENVOY_DEFAULTS, consecutive5xx: 3 }, new OutlierStats(scope), {
    clock,
    report: (h, type) => reports.push([h.address, type]),
  });
  od.setHosts(hosts);
  od.start();
  const h = hosts[0]!;
  fail(od, h, 2);
  assertEquals(reports, []);
  fail(od, h, 1);
  assertEquals(reports, [["10.0.0.0:80", "consecutive_5xx"]]);
  assert(h.healthy, "the main thread decides");
  fail(od, h, 3); // the count started over: a second report, the main thread ignores it if ejected by then
  assertEquals(reports.length, 2);
  // The main thread's decision arrives; the worker's sweep must not return the host on its own.
  h.applyRemote({ failedActiveHc: false, ejected: true, sinceMs: 1 });
  fail(od, h, 3);
  assertEquals(reports.length, 2, "an ejected host is not reported again");
  clock.tick(ENVOY_DEFAULTS.baseEjectionTimeMs * 10);
  assert(h.ejected);
  assertEquals(scope.counter("outlier_detection_ejections_detected_consecutive_5xx_total").value, 0);
  assertEquals(scope.gauge("outlier_detection_ejections_active").value, 0);
  od.stop();
});

Deno.test("onDetectedElsewhere (the main thread): workers' reports are decided as local detections — enforcement, cap, growing time", () => {
  const { clock, od, hosts, counter } = setup({ maxEjectionPercent: 34, enforcingSuccessRate: 0 }, 3);
  od.onDetectedElsewhere(hosts[0]!, "consecutive_5xx");
  assert(hosts[0]!.ejected);
  assertEquals(hosts[0]!.ejectedUntilMs - clock.now(), 30_000);
  od.onDetectedElsewhere(hosts[0]!, "consecutive_5xx"); // the other worker's report of the same host
  assertEquals(counter("outlier_detection_ejections_enforced_total"), 1);
  od.onDetectedElsewhere(hosts[1]!, "consecutive_5xx"); // 2 of 3 over the 34 % cap
  assert(!hosts[1]!.ejected);
  assertEquals(counter("outlier_detection_ejections_overflow"), 1);
  od.onDetectedElsewhere(hosts[2]!, "success_rate"); // detected, not enforced
  assert(!hosts[2]!.ejected);
  assertEquals(counter("outlier_detection_ejections_detected_success_rate_total"), 1);
  clock.tick(30_000);
  assert(!hosts[0]!.ejected, "the main thread's sweep returns it");
  od.onDetectedElsewhere(hosts[0]!, "consecutive_5xx");
  assertEquals(hosts[0]!.ejectedUntilMs - clock.now(), 60_000, "second ejection: base × 2");
});

Deno.test("success rate with workers: each worker posts its interval's counts, the main thread judges the sum (a volume no single worker reaches)", () => {
  // Main thread: 5 hosts, success_rate_request_volume 100. Two workers each saw 60 requests per host.
  const main = setup(
    { successRateRequestVolume: 100, successRateMinimumHosts: 5, maxEjectionPercent: 100 },
    5,
  );
  const worker = (failing: number) => {
    const group = new ClusterHealth();
    const hosts = Array.from({ length: 5 }, (_, i) => group.acquire(`10.0.0.${i}:80`));
    const posted: IntervalCounts[][] = [];
    const clock = new FakeClock();
    const od = new OutlierDetector(
      { ...ENVOY_DEFAULTS, consecutive5xx: 1000 },
      new OutlierStats(new StatsRegistry().scope("upstream", { cluster: "c" })),
      { clock, report: () => {}, reportInterval: (c) => posted.push([...c]) },
    );
    od.setHosts(hosts);
    for (const h of hosts) {
      for (let i = 0; i < 60; i++) od.onResponse(h, h === hosts[0] && i < failing ? 500 : 200);
    }
    od.sweep(); // the worker's own sweep: posts, judges nothing (60 < 100 anyway)
    assert(hosts.every((h) => h.healthy));
    od.sweep(); // nothing new: nothing posted
    return posted;
  };
  const fromWorkers = [worker(30), worker(30)];
  for (const p of fromWorkers) {
    assertEquals(p.length, 1);
    assertEquals(p[0]!.length, 5);
    assertEquals(main.od.addIntervalCounts(p[0]!), 0);
  }
  assertEquals(
    main.od.addIntervalCounts([{
      address: "10.9.9.9:80",
      requests: 1,
      failures: 0,
      localRequests: 0,
      localFailures: 0,
    }]),
    1,
  );
  main.clock.tick(ENVOY_DEFAULTS.intervalMs); // the main thread's sweep: 120 requests per host, host 0 at 50 %
  assert(main.hosts[0]!.ejected, "judged over the sum");
  assertEquals(main.counter("outlier_detection_ejections_enforced_success_rate_total"), 1);
  assert(main.hosts.slice(1).every((h) => h.healthy));
});
