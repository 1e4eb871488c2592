/**
 * Issue 13's health test with `--concurrency 2` (tests/health_outlier_test.ts is the same story with one
 * thread): active health checks run once per process on the main thread and outlier ejections are decided
 * there from the workers' reports, so every worker excludes the same hosts at the same time, probes reach
 * an upstream at the one-worker rate, and the stats show each host's health once. Every request goes on a
 * fresh connection, so the kernel spreads them over both workers (checked in the per-worker stats).
 */
import { assert, assertEquals } from "./_assert.ts";
import { stringify } from "yaml";
import { Events } from "./_events.ts";
import { adminStats, DEAD_HOST, httpProxyConfig, PRIVATE_LOOPBACK, startMeshctl } from "./_e2e.ts";
import { getFresh, last, loadUntil, upstream } from "./_health.ts";
import { startDnsServer } from "./_peers/dns_server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const WORKERS = 2;
const TWO = ["--concurrency", String(WORKERS)];

type Stats = Awaited<ReturnType<typeof adminStats>>;

function workerRequests(stats: Stats): number[] {
  return [0, 1].map((w) => stats["worker"]?.[`worker.${w}`]?.["downstream_request_total"] ?? 0);
}

const hostKey = (up: Stats["upstream"], address: string) =>
  Object.keys(up!).find((k) => k.endsWith(`host.${address}`))!;

Deno.test(
  "--concurrency 2 health + outlier: a dead upstream and a 503 one leave every worker with at most N × consecutive_5xx errors, then none; both come back; stats count each host once",
  opts,
  async () => {
    const a = upstream("A", "127.0.0.1");
    const b = upstream("B", PRIVATE_LOOPBACK); // comes back on the same port: nobody else binds there
    const c = upstream("C", "127.0.0.1");
    const CONSECUTIVE_5XX = 3;
    const config = httpProxyConfig({
      hosts: [a.address, b.address, c.address],
      cluster: {
        health_check: {
          service_name: "origin-hc",
          protocol: "Http1",
          timeout: "200ms",
          interval: "200ms",
          interval_jitter: "10ms",
          unhealthy_threshold: 2,
          healthy_threshold: 2,
          check_config: { http_check_config: { path: "/health" } },
        },
        outlier_detection: {
          consecutive_5xx: CONSECUTIVE_5XX,
          interval: "100ms",
          base_ejection_time: "1500ms",
          max_ejection_percent: 67,
          successful_active_health_check_uneject_host: false,
          split_external_local_origin_errors: true,
          enforcing_consecutive_local_origin_failure: 0,
        },
        healthy_panic_threshold: 30,
      },
    });
    const mesh = await startMeshctl(config, { args: TWO });
    const port = mesh.port("ingress");
    try {
      // 1. Steady state: all three take traffic.
      const warm = await loadUntil(port, (r) => new Set(r).size === 3, 300, getFresh);
      assertEquals(new Set(warm), new Set(["A", "B", "C"]));

      // 2. B dies, C starts failing. Load until only A answers, 60 requests in a row.
      await b.kill();
      c.mode = "503";
      const failing = await loadUntil(
        port,
        (r) => r.length > 60 && last(r, 60).every((x) => x === "A"),
        3000,
        getFresh,
      );
      const errors = failing.filter((x) => x.startsWith("status"));
      // Each worker counts C's 503s on its own traffic and reports when its count reaches
      // consecutive_5xx; the main thread ejects at the first report. So the other worker may have served up
      // to consecutive_5xx − 1 of its own by then (and, a sequential client being slower than a message
      // between threads, not more): at most N × consecutive_5xx in all.
      assert(
        errors.length >= 1 && errors.length <= WORKERS * CONSECUTIVE_5XX,
        `client saw ${errors.length} errors (allowed ${WORKERS * CONSECUTIVE_5XX}): ${errors.join(", ")}`,
      );
      assert(errors.every((e) => e === "status 503"), errors.join(", "));

      // Every worker excludes B and C: 40 more fresh connections, spread over both workers, all to A.
      const before = workerRequests(await adminStats(mesh.adminPort));
      const tail = await loadUntil(port, (r) => r.length === 40, 40, getFresh);
      assert(tail.every((x) => x === "A"), tail.join(", "));
      const stats = await adminStats(mesh.adminPort);
      const after = workerRequests(stats);
      assert(
        after[0]! > before[0]! && after[1]! > before[1]!,
        `both workers served the tail: ${before} → ${after}`,
      );

      // Stats: each host's health once (not once per worker), and why.
      const up = stats["upstream"]!;
      const clusterKey = Object.keys(up).find((k) => k.endsWith("cluster.origin"))!;
      assertEquals(up[hostKey(up, b.address)]!["unhealthy_active_hc"], 1);
      assertEquals(up[hostKey(up, b.address)]!["healthy"], 0);
      assertEquals(up[hostKey(up, c.address)]!["unhealthy_outlier"], 1);
      assertEquals(up[hostKey(up, c.address)]!["outlier_ejections_total"], 1);
      assertEquals(up[hostKey(up, a.address)]!["healthy"], 1);
      assertEquals(up[clusterKey]!["membership_healthy"], 1);
      assertEquals(up[clusterKey]!["membership_total"], 3);
      assertEquals(up[clusterKey]!["outlier_detection_ejections_active"], 1);
      assertEquals(up[clusterKey]!["outlier_detection_ejections_enforced_total"], 1);
      assertEquals(up[clusterKey]!["lb_healthy_panic"], 0);
      // One checker per host in the process: attempts counted = probes A received (one may be in flight).
      const attempts = up[hostKey(up, a.address)]!["health_check_attempt_total"]!;
      assert(Math.abs(attempts - a.probes.length) <= 1, `attempts ${attempts}, probes ${a.probes.length}`);

      // 3. B comes back (its checks pass again), C recovers (its ejection time ends): both take traffic.
      b.restart();
      c.mode = "ok";
      const back = await loadUntil(
        port,
        (r) => {
          const t = last(r, 30);
          return t.includes("B") && t.includes("C") && t.includes("A");
        },
        3000,
        getFresh,
      );
      const afterRecovery = back.slice(back.findIndex((x) => x === "C"));
      assert(afterRecovery.every((x) => !x.startsWith("status")), `errors after recovery: ${afterRecovery}`);
      const again = (await adminStats(mesh.adminPort))["upstream"]!;
      assertEquals(again[clusterKey]!["membership_healthy"], 3);
      assertEquals(again[hostKey(again, b.address)]!["healthy"], 1);
    } finally {
      await mesh.stop();
      await Promise.all([a.kill(), b.kill().catch(() => {}), c.kill()]);
    }
  },
);

Deno.test(
  "--concurrency 2 health: probes reach each upstream at the one-worker rate (one checker per host per process)",
  opts,
  async () => {
    const events = new Events();
    const a = upstream("A", "127.0.0.1", events);
    const b = upstream("B", "127.0.0.1", events);
    const INTERVAL_MS = 200;
    const config = httpProxyConfig({
      hosts: [a.address, b.address],
      cluster: {
        health_check: {
          service_name: "rate",
          protocol: "Http1",
          timeout: "1s",
          interval: `${INTERVAL_MS}ms`,
          interval_jitter: "10ms",
          check_config: { http_check_config: { path: "/health" } },
        },
      },
    });
    const mesh = await startMeshctl(config, { args: TWO });
    try {
      const PROBES = 8;
      await events.until(
        () => a.probes.length >= PROBES && b.probes.length >= PROBES,
        `${PROBES} probes each`,
      );
      for (const up of [a, b]) {
        // A checker waits `interval` after each probe finished: one checker never probes sooner than that,
        // two (one per worker, as before) start together and probe within milliseconds of each other.
        const gaps = up.probes.slice(1, PROBES).map((t, i) => t - up.probes[i]!);
        assert(
          Math.min(...gaps) >= INTERVAL_MS * 0.9,
          `${up.name}: gaps between probes ${gaps.map(Math.round).join(", ")} ms`,
        );
      }
      const up = (await adminStats(mesh.adminPort))["upstream"]!;
      for (const u of [a, b]) {
        assertEquals(
          up[hostKey(up, u.address)]!["healthy"],
          1,
          "one healthy gauge per host, not one per worker",
        );
        const attempts = up[hostKey(up, u.address)]!["health_check_attempt_total"]!;
        assert(Math.abs(attempts - u.probes.length) <= 1, `attempts ${attempts}, probes ${u.probes.length}`);
      }
      const clusterKey = Object.keys(up).find((k) => k.endsWith("cluster.origin"))!;
      assertEquals(up[clusterKey]!["membership_total"], 2);
    } finally {
      await mesh.stop();
      await Promise.all([a.kill(), b.kill()]);
    }
  },
);

Deno.test(
  "--concurrency 2 health: a SIGHUP reload keeps a failed host out of every worker and checks the new host set",
  opts,
  async () => {
    const a = upstream("A", "127.0.0.1");
    const b = upstream("B", PRIVATE_LOOPBACK);
    const d = upstream("D", "127.0.0.1");
    const cluster = {
      health_check: {
        service_name: "svc",
        timeout: "200ms",
        interval: "200ms",
        unhealthy_threshold: 1,
        // Slow to come back: after the reload B stays out only if its failed state carried over.
        healthy_threshold: 1000,
      },
      healthy_panic_threshold: 0,
    };
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    const admin = { admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } };
    const write = (hosts: string[]) =>
      Deno.writeTextFile(file, stringify({ ...admin, ...httpProxyConfig({ hosts, cluster }) }));
    await write([a.address, b.address]);
    const mesh = await startMeshctl(file, { args: TWO });
    const port = mesh.port("ingress");
    try {
      await b.kill();
      await loadUntil(port, (r) => r.length > 20 && last(r, 20).every((x) => x === "A"), 2000, getFresh);
      b.restart(); // up again, but 1000 passing checks away from healthy
      await write([a.address, b.address, d.address]);
      mesh.process.kill("SIGHUP");
      const seen = await loadUntil(port, (r) => r.length > 40 && last(r, 40).includes("D"), 2000, getFresh);
      assert(
        !last(seen, 40).includes("B"),
        "B's failed health check carried over the reload in every worker",
      );
      const stats = await adminStats(mesh.adminPort);
      const up = stats["upstream"]!;
      assertEquals(up[hostKey(up, b.address)]!["unhealthy_active_hc"], 1);
      const perWorker = workerRequests(stats);
      assert(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers served: ${perWorker}`);
    } finally {
      await mesh.stop();
      await Promise.all([a.kill(), b.kill().catch(() => {}), d.kill()]);
      await Deno.remove(file);
    }
  },
);

Deno.test(
  "--concurrency 2 outlier: refused connects and route timeouts in either worker eject their hosts from both",
  opts,
  async () => {
    const a = upstream("A", "127.0.0.1");
    // Accepts and never answers: every request to it times out (route timeout).
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const silentAddress = `127.0.0.1:${(silent.addr as Deno.NetAddr).port}`;
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of silent) held.push(c);
    })();
    const CONSECUTIVE_5XX = 2;
    const config = httpProxyConfig({
      hosts: [a.address, DEAD_HOST, silentAddress],
      routes: [{ match: { prefix: "/" }, route: { cluster_name: "origin", timeout: "200ms" } }],
      cluster: {
        outlier_detection: {
          consecutive_5xx: CONSECUTIVE_5XX,
          max_ejection_percent: 67,
          base_ejection_time: "60s",
        },
        healthy_panic_threshold: 0,
      },
    });
    const mesh = await startMeshctl(config, { args: TWO });
    try {
      const port = mesh.port("ingress");
      const seen = await loadUntil(
        port,
        (r) => r.length > 40 && last(r, 40).every((x) => x === "A"),
        400,
        getFresh,
      );
      // Timeouts are counted per worker until one reaches consecutive_5xx: at most N × consecutive_5xx.
      const timeouts = seen.filter((x) => x === "status 504").length;
      assert(
        timeouts >= 1 && timeouts <= WORKERS * CONSECUTIVE_5XX,
        `504s: ${timeouts} in ${seen.join(", ")}`,
      );
      const stats = await adminStats(mesh.adminPort);
      const up = stats["upstream"]!;
      assertEquals(up[hostKey(up, DEAD_HOST)]!["unhealthy_outlier"], 1);
      assertEquals(up[hostKey(up, silentAddress)]!["unhealthy_outlier"], 1);
      assertEquals(up[hostKey(up, a.address)]!["healthy"], 1);
      const clusterKey = Object.keys(up).find((k) => k.endsWith("cluster.origin"))!;
      // Ejected once each, for the process: a second worker's report of an ejected host is not a second.
      assertEquals(up[clusterKey]!["outlier_detection_ejections_enforced_consecutive_5xx_total"], 2);
      const perWorker = workerRequests(stats);
      assert(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers served: ${perWorker}`);
    } finally {
      await mesh.stop();
      silent.close();
      await accepting.catch(() => {});
      for (const c of held) c.close();
      await a.kill();
    }
  },
);

/** Two HTTP origins on one port, on 127.0.0.11 and .12 (what one STRICT_DNS `name:port` resolves to). */
function twoOnOnePort(): { port: number; servers: Deno.HttpServer<Deno.NetAddr>[] } {
  for (let attempt = 0;; attempt++) {
    const first = Deno.serve({ hostname: "127.0.0.11", port: 0, onListen() {} }, () => new Response("11"));
    try {
      const port = first.addr.port;
      const second = Deno.serve({ hostname: "127.0.0.12", port, onListen() {} }, () => new Response("12"));
      return { port, servers: [first, second] };
    } catch (e) {
      void first.shutdown();
      if (!(e instanceof Deno.errors.AddrInUse) || attempt === 5) throw e;
    }
  }
}

Deno.test(
  "--concurrency 2 health on STRICT_DNS: the main thread resolves the name too, checks each address once, and a dead one leaves every worker",
  opts,
  async () => {
    const NAME = "origin.meshctl.test";
    const { port: originPort, servers } = twoOnOnePort();
    const dns = await startDnsServer({ [NAME]: { A: ["127.0.0.11", "127.0.0.12"] } });
    const mesh = await startMeshctl(
      httpProxyConfig({
        hosts: [`${NAME}:${originPort}`],
        cluster: {
          type: "STRICT_DNS",
          dns_refresh_rate: "200ms",
          dns_resolvers: { servers: [dns.hostname], port: String(dns.port) },
          health_check: {
            service_name: "dns-hc",
            interval: "200ms",
            timeout: "200ms",
            unhealthy_threshold: 1,
          },
          healthy_panic_threshold: 0,
        },
      }),
      { args: TWO },
    );
    const dead = `127.0.0.12:${originPort}`;
    try {
      const port = mesh.port("ingress");
      await loadUntil(port, (r) => r.includes("11") && r.includes("12"), 400, getFresh);
      await servers[1]!.shutdown();
      // The stats come from the main thread's cluster only: it must have resolved the name to see .12.
      for (let i = 0; i < 200; i++) {
        const up = (await adminStats(mesh.adminPort))["upstream"]!;
        if (up[`cluster.origin.host.${dead}`]?.["unhealthy_active_hc"] === 1) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const up = (await adminStats(mesh.adminPort))["upstream"]!;
      assertEquals(up[`cluster.origin.host.${dead}`]?.["unhealthy_active_hc"], 1, JSON.stringify(up));
      assertEquals(up[`cluster.origin.host.127.0.0.11:${originPort}`]?.["healthy"], 1);
      const before = workerRequests(await adminStats(mesh.adminPort));
      const tail = await loadUntil(port, (r) => r.length === 30, 30, getFresh);
      assert(tail.every((x) => x === "11"), tail.join(", "));
      const after = workerRequests(await adminStats(mesh.adminPort));
      assert(after[0]! > before[0]! && after[1]! > before[1]!, `both workers served: ${before} → ${after}`);
    } finally {
      await mesh.stop();
      await Promise.all(servers.map((s) => s.shutdown().catch(() => {})));
      await dns.stop();
    }
  },
);
