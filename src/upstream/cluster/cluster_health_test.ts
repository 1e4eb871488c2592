/**
 * Health in a Cluster built from config text: active checks and outlier results take hosts out of the
 * load balancer, panic and priorities decide where traffic goes, and a snapshot swap keeps the health of
 * hosts that stay while stopping everything of the old cluster.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { FakeClock, silentLogger } from "../../core/mod.ts";
import { type ClusterConfig, DEFAULT_VALIDATION_CONTEXT, parseConfigText } from "../../config/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { type HealthProbe, HealthStore, type ProbeResult } from "../health/mod.ts";
import { Cluster } from "./cluster.ts";

function clusterConfig(doc: Record<string, unknown>): ClusterConfig {
  const config = {
    servers: [{
      listeners: [{
        address: "127.0.0.1:0",
        filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "c" } }] }],
      }],
    }],
    cluster_manager: { clusters: [{ name: "c", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", ...doc }] },
  };
  const { snapshot, errors } = parseConfigText(JSON.stringify(config), "t.json", DEFAULT_VALIDATION_CONTEXT);
  assertEquals(errors, []);
  return snapshot!.clusters[0]!;
}

const hosts = (...ports: number[]) => ports.map((p) => ({ address: `127.0.0.1:${p}` }));
const HEALTH_CHECK = { service_name: "svc", interval: "10s", interval_jitter: "0s", timeout: "1s" };

/** A probe answering per address from a map (default healthy). */
function probeFrom(down: Set<string>): HealthProbe {
  return (t) =>
    Promise.resolve<ProbeResult>(
      down.has(t.address) ? { ok: false, reason: "connect", detail: "down" } : { ok: true },
    );
}

const settle = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Cluster: a host failing its active checks leaves the balancer and comes back when they pass; gauges follow", async () => {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const down = new Set(["127.0.0.1:2"]);
  const c = new Cluster(
    clusterConfig({ hosts: hosts(1, 2, 3), health_check: HEALTH_CHECK }),
    registry,
    silentLogger,
    {
      clock,
      healthProbe: probeFrom(down),
    },
  );
  try {
    clock.tick(5); // the first check: at once plus up to 5 ms of jitter (MOSN's default)
    await settle();
    const picked = new Set(Array.from({ length: 30 }, () => c.chooseHost()!.address));
    assertEquals(picked, new Set(["127.0.0.1:1", "127.0.0.1:3"]));
    const cs = registry.scope("upstream", { cluster: "c" });
    assertEquals(cs.gauge("membership_healthy").value, 2);
    assertEquals(cs.gauge("membership_total").value, 3);
    const hs = registry.scope("upstream", { cluster: "c", host: "127.0.0.1:2" });
    assertEquals(hs.gauge("healthy").value, 0);
    assertEquals(hs.gauge("unhealthy_active_hc").value, 1);
    down.clear();
    clock.tick(10_005);
    await settle();
    assertEquals(hs.gauge("healthy").value, 1);
    assertEquals(new Set(Array.from({ length: 30 }, () => c.chooseHost()!.address)).size, 3);
    assertEquals(registry.scope("healthcheck", { service: "svc" }).counter("attempt").value, 6);
  } finally {
    c.close();
  }
  assertEquals(clock.pending, 0, "close leaves no timer");
});

Deno.test("Cluster: 5xx reported through Host.reportResponse eject the host (outlier_detection), counted per host and cluster", () => {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const c = new Cluster(
    clusterConfig({
      hosts: hosts(1, 2, 3),
      outlier_detection: { consecutive_5xx: 3, max_ejection_percent: 50 },
    }),
    registry,
    silentLogger,
    { clock },
  );
  try {
    const bad = c.hosts[1]!;
    for (let i = 0; i < 3; i++) bad.reportResponse(503);
    assert(!bad.healthy);
    for (let i = 0; i < 30; i++) assert(c.chooseHost() !== bad);
    const hs = registry.scope("upstream", { cluster: "c", host: bad.address });
    assertEquals(hs.counter("outlier_ejections_total").value, 1);
    assertEquals(hs.gauge("unhealthy_outlier").value, 1);
    const cs = registry.scope("upstream", { cluster: "c" });
    assertEquals(cs.gauge("outlier_detection_ejections_active").value, 1);
    assertEquals(cs.counter("outlier_detection_ejections_enforced_total").value, 1);
    // A second bad host would be 2 of 3 = 67 % > 50 %: refused.
    for (let i = 0; i < 3; i++) c.hosts[0]!.reportLocalFailure("connect_failure");
    assert(c.hosts[0]!.healthy);
    clock.tick(30_000); // base_ejection_time: back at the sweep
    assert(bad.healthy);
    assertEquals(cs.gauge("outlier_detection_ejections_active").value, 0);
  } finally {
    c.close();
  }
});

Deno.test("Cluster: below the panic threshold it balances over every host and counts lb_healthy_panic", () => {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const c = new Cluster(
    clusterConfig({
      hosts: hosts(1, 2, 3),
      outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 },
    }),
    registry,
    silentLogger,
    { clock },
  );
  try {
    c.hosts[0]!.reportResponse(500);
    c.hosts[1]!.reportResponse(500); // 1 of 3 healthy = 33 % < 50 %
    const picked = new Set(Array.from({ length: 30 }, () => c.chooseHost()!.address));
    assertEquals(picked.size, 3);
    assertEquals(registry.scope("upstream", { cluster: "c" }).counter("lb_healthy_panic").value, 30);
  } finally {
    c.close();
  }
  // healthy_panic_threshold 0: no panic, only the healthy host.
  const strict = new Cluster(
    clusterConfig({
      hosts: hosts(1, 2, 3),
      outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 },
      healthy_panic_threshold: 0,
    }),
    new StatsRegistry(),
    silentLogger,
    { clock },
  );
  try {
    strict.hosts[0]!.reportResponse(500);
    strict.hosts[1]!.reportResponse(500);
    assertEquals(
      new Set(Array.from({ length: 30 }, () => strict.chooseHost()!.address)),
      new Set(["127.0.0.1:3"]),
    );
  } finally {
    strict.close();
  }
});

Deno.test("Cluster: priority 1 hosts get traffic only as priority 0 loses health", () => {
  const clock = new FakeClock();
  const c = new Cluster(
    clusterConfig({
      hosts: [
        { address: "127.0.0.1:1" },
        { address: "127.0.0.1:2" },
        { address: "127.0.0.1:9", priority: 1 },
      ],
      outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 },
    }),
    new StatsRegistry(),
    silentLogger,
    {
      clock,
      random: (() => {
        let x = 0;
        return () => (x = (x + 0.618033988749895) % 1);
      })(),
    },
  );
  try {
    for (let i = 0; i < 50; i++) assert(c.chooseHost()!.address !== "127.0.0.1:9");
    c.hosts[0]!.reportResponse(500); // P0 50 % healthy → health 70 → 30 % to P1
    assertEquals(c.priorityLoad.loads, [70, 30]);
    const toP1 = Array.from({ length: 1000 }, () =>
      c.chooseHost()!.address).filter((a) => a === "127.0.0.1:9").length;
    assert(Math.abs(toP1 - 300) < 50, `P1 took ${toP1} of 1000`);
  } finally {
    c.close();
  }
});

Deno.test("Cluster snapshot swap: hosts that stay keep their health, hosts that went are forgotten, the old checkers stop", async () => {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const store = new HealthStore();
  const down = new Set(["127.0.0.1:1"]);
  const opts = { clock, healthProbe: probeFrom(down), health: store };
  const old = new Cluster(
    clusterConfig({ hosts: hosts(1, 2), health_check: HEALTH_CHECK }),
    registry,
    silentLogger,
    opts,
  );
  clock.tick(5); // the first check: at once plus up to 5 ms of jitter (MOSN's default)
  await settle();
  assert(!old.hosts[0]!.healthy);
  assertEquals(clock.pending, 2);
  // The reload: the new cluster is built first, then the old one drains (as Server.reload does).
  const next = new Cluster(
    clusterConfig({ hosts: hosts(1, 3), health_check: HEALTH_CHECK }),
    registry,
    silentLogger,
    opts,
  );
  old.drain();
  try {
    assert(!next.hosts[0]!.healthy, "host :1 stayed, and so did its failed health check");
    assert(next.hosts[1]!.healthy);
    assertEquals(store.hostCount, 2, ":2 went away and is forgotten");
    assertEquals(clock.pending, 2, "only the new cluster's two sessions are left");
    for (let i = 0; i < 10; i++) assertEquals(next.chooseHost()!.address, "127.0.0.1:3");
  } finally {
    next.close();
    old.close();
  }
  assertEquals(clock.pending, 0);
  assertEquals(store.hostCount, 0);
});

Deno.test("Cluster roles (--concurrency N): the authority checks and decides, two followers only report and follow; gauges only on the authority", async () => {
  const clock = new FakeClock();
  const main = new StatsRegistry();
  const workerRegistries = [new StatsRegistry(), new StatsRegistry()];
  const config = clusterConfig({
    hosts: hosts(1, 2, 3),
    health_check: HEALTH_CHECK,
    outlier_detection: { consecutive_5xx: 2, max_ejection_percent: 67 },
    healthy_panic_threshold: 0,
  });
  const probed: string[] = [];
  const down = new Set(["127.0.0.1:2"]);
  const probe: HealthProbe = (t) => {
    probed.push(t.address);
    return probeFrom(down)(t, () => {});
  };
  // The messages between threads, delivered synchronously: broadcasts to every follower, reports to the authority.
  const followers: HealthStore[] = [];
  const authorityStore = new HealthStore({
    kind: "authority",
    onChange: (u) => followers.forEach((f) => f.applyRemote(u)),
  });
  let authority: Cluster | undefined = undefined;
  for (let i = 0; i < 2; i++) {
    followers.push(
      new HealthStore({
        kind: "follower",
        reportOutlier: (_cluster, address, type) => authority!.onOutlierDetectedElsewhere(address, type),
        reportInterval: (_cluster, counts) => authority!.addOutlierIntervalCounts(counts),
      }),
    );
  }
  authority = new Cluster(config, main, silentLogger, { clock, health: authorityStore, healthProbe: probe });
  const workers = followers.map((f, i) =>
    new Cluster(config, workerRegistries[i]!, silentLogger, { clock, health: f, healthProbe: probe })
  );
  const picks = (c: Cluster) => new Set(Array.from({ length: 30 }, () => c.chooseHost()!.address));
  try {
    clock.tick(5);
    await settle();
    assertEquals(
      probed.sort(),
      ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
      "one check per host, not three",
    );
    for (const w of workers) assertEquals(picks(w), new Set(["127.0.0.1:1", "127.0.0.1:3"]));
    // Worker 0 sees host 3 fail twice in a row: every worker drops it.
    const h3 = workers[0]!.hosts.find((h) => h.address === "127.0.0.1:3")!;
    h3.reportResponse(503);
    assertEquals(picks(workers[1]!).size, 2, "one 5xx is under the threshold");
    h3.reportResponse(503);
    for (const w of workers) assertEquals(picks(w), new Set(["127.0.0.1:1"]));
    const hostScope = (r: StatsRegistry, port: number) =>
      r.scope("upstream", { cluster: "c", host: `127.0.0.1:${port}` });
    assertEquals(hostScope(main, 3).gauge("unhealthy_outlier").value, 1);
    assertEquals(hostScope(main, 3).counter("outlier_ejections_total").value, 1);
    assertEquals(hostScope(main, 2).gauge("unhealthy_active_hc").value, 1);
    assertEquals(hostScope(main, 1).gauge("healthy").value, 1);
    for (const r of workerRegistries) {
      // Summed with the authority's on a stats read: a worker's must add nothing.
      assertEquals(hostScope(r, 1).gauge("healthy").value, 0);
      assertEquals(hostScope(r, 3).gauge("unhealthy_outlier").value, 0);
      assertEquals(r.scope("upstream", { cluster: "c" }).gauge("membership_total").value, 0);
      assertEquals(r.scope("healthcheck", { service: "svc" }).counter("attempt").value, 0);
    }
    // The authority's sweep ends the ejection (30 s), host 2's checks pass: both back in every worker.
    down.clear();
    for (let t = 0; t < 40_000; t += 500) {
      clock.tick(500); // in steps: a probe's answer (a microtask) must come before its 1 s timeout
      await settle();
    }
    for (const w of workers) assertEquals(picks(w).size, 3);
  } finally {
    authority.close();
    for (const w of workers) w.close();
  }
});
