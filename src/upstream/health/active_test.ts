/**
 * Active health checks: thresholds, timeouts and reasons on a FakeClock with a scripted probe; the host
 * set followed without leaks; and the real TCP and HTTP probes against real sockets.
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { FakeClock } from "../../core/mod.ts";
import type { HealthCheckConfig } from "../../config/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { ActiveHealthChecker, type CheckedHost, httpProbe, type ProbeResult, tcpProbe } from "./active.ts";
import { ClusterHealth } from "./host_health.ts";

const CONFIG: HealthCheckConfig = {
  serviceName: "svc",
  protocol: "",
  timeoutMs: 1_000,
  intervalMs: 15_000,
  intervalJitterMs: 0,
  initialDelayMs: 0,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  http: undefined,
};

/** A probe whose next answers the test sets; "hang" never answers (the timeout must end it). */
function scriptedProbe() {
  const answers = new Map<string, ProbeResult | "hang">();
  let calls = 0;
  let cancels = 0;
  const probe = (t: { address: string }, onCancel: (c: () => void) => void) => {
    calls++;
    onCancel(() => cancels++);
    const a = answers.get(t.address) ?? { ok: true };
    return a === "hang" ? new Promise<ProbeResult>(() => {}) : Promise.resolve(a);
  };
  return { answers, probe, calls: () => calls, cancels: () => cancels };
}

function setup(config: Partial<HealthCheckConfig> = {}) {
  const clock = new FakeClock();
  const registry = new StatsRegistry();
  const group = new ClusterHealth();
  const script = scriptedProbe();
  const checker = new ActiveHealthChecker({ ...CONFIG, ...config }, {
    clock,
    probe: script.probe,
    serviceScope: registry.scope("healthcheck", { service: "svc" }),
    random: () => 0.5,
  });
  const host = (addr: string): CheckedHost => ({
    hostname: "127.0.0.1",
    port: 1,
    address: addr,
    health: group.acquire(addr),
    scope: registry.scope("upstream", { cluster: "c", host: addr }),
  });
  const counter = (addr: string, name: string) =>
    registry.scope("upstream", { cluster: "c", host: addr }).counter(name).value;
  return { clock, checker, script, host, counter, registry };
}

/** Lets the probe's promise settle (it resolves on the microtask queue). */
const settle = () => new Promise((r) => setTimeout(r, 0));

async function round(clock: FakeClock, ms: number): Promise<void> {
  clock.tick(ms);
  await settle();
}

Deno.test("active check: the first check runs at start; unhealthy_threshold failures in a row take the host out, healthy_threshold successes bring it back", async () => {
  const { clock, checker, script, host, counter } = setup();
  const a = host("a:1");
  checker.setHosts([a]);
  await round(clock, 0);
  assertEquals(script.calls(), 1, "first check at once (no initial delay, no jitter)");
  script.answers.set("a:1", { ok: false, reason: "connect", detail: "refused" });
  await round(clock, 15_000);
  await round(clock, 15_000);
  assert(a.health.healthy, "2 failures < unhealthy_threshold 3");
  await round(clock, 15_000);
  assert(!a.health.healthy && a.health.failedActiveHc);
  assertEquals(a.health.reasons, ["active_hc"]);
  script.answers.set("a:1", { ok: true });
  await round(clock, 15_000);
  assert(!a.health.healthy, "1 success < healthy_threshold 2");
  await round(clock, 15_000);
  assert(a.health.healthy);
  assertEquals(counter("a:1", "health_check_attempt_total"), 6);
  assertEquals(counter("a:1", "health_check_failure_connect_total"), 3);
  assertEquals(counter("a:1", "health_check_success_total"), 3);
  checker.stop();
});

Deno.test("active check: a probe that never answers fails by timeout, is cancelled, and the next check still runs", async () => {
  const { clock, checker, script, host, counter } = setup({ unhealthyThreshold: 1 });
  const a = host("a:1");
  script.answers.set("a:1", "hang");
  checker.setHosts([a]);
  await round(clock, 0);
  await round(clock, 999);
  assert(a.health.healthy);
  await round(clock, 1);
  assert(!a.health.healthy);
  assertEquals(counter("a:1", "health_check_failure_timeout_total"), 1);
  assertEquals(script.cancels(), 1);
  await round(clock, 15_000);
  assertEquals(script.calls(), 2);
  checker.stop();
});

Deno.test("active check: interval_jitter delays each check by up to the jitter; initial_delay_seconds the first", async () => {
  const { clock, checker, script, host } = setup({ intervalJitterMs: 1_000, initialDelayMs: 500 });
  checker.setHosts([host("a:1")]);
  await round(clock, 999); // 500 + 0.5 × 1000 = 1000
  assertEquals(script.calls(), 0);
  await round(clock, 1);
  assertEquals(script.calls(), 1);
  await round(clock, 15_499);
  assertEquals(script.calls(), 1);
  await round(clock, 1);
  assertEquals(script.calls(), 2);
  checker.stop();
});

Deno.test("active check follows the host set: removed hosts' sessions stop (timers, probes), kept hosts keep theirs; stop leaves nothing", async () => {
  const { clock, checker, script, host } = setup();
  const a = host("a:1");
  const b = host("b:1");
  checker.setHosts([a, b]);
  await round(clock, 0);
  assertEquals(checker.sessions, 2);
  assertEquals(clock.pending, 2);
  script.answers.set("b:1", "hang");
  await round(clock, 15_000); // b's check is in flight
  checker.setHosts([a]);
  assertEquals(checker.sessions, 1);
  assertEquals(script.cancels(), 1, "b's in-flight probe was cancelled");
  assertEquals(clock.pending, 1, "only a's timer is left");
  checker.setHosts([a, host("c:1")]);
  assertEquals(checker.sessions, 2);
  checker.stop();
  assertEquals(checker.sessions, 0);
  assertEquals(clock.pending, 0);
});

Deno.test("tcp probe: a listening port passes, a closed one fails as connect", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const accepted = (async () => {
    for await (const c of l) c.close();
  })();
  try {
    assertEquals(await tcpProbe({ hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` }, () => {}), {
      ok: true,
    });
  } finally {
    l.close();
    await accepted.catch(() => {});
  }
  const r = await tcpProbe({ hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` }, () => {});
  assertEquals(r.ok ? "ok" : r.reason, "connect");
});

Deno.test("http probe: sends method, path and Host; passes on the expected codes, fails on others as status, garbage as protocol", async () => {
  let status = 200;
  let body = "";
  const seen: string[] = [];
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const c of l) {
      const buf = new Uint8Array(4096);
      const n = await c.read(buf);
      seen.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)));
      const reply = body || `HTTP/1.1 ${status} X\r\ncontent-length: 0\r\n\r\n`;
      await c.write(new TextEncoder().encode(reply)).catch(() => {});
      c.close();
    }
  })();
  const target = { hostname: "127.0.0.1", port, address: `127.0.0.1:${port}` };
  try {
    const probe = httpProbe({
      port: undefined,
      path: "/health?x=1",
      method: "HEAD",
      domain: "svc.local",
      codes: [],
    });
    assertEquals(await probe(target, () => {}), { ok: true });
    assert(seen[0]!.startsWith("HEAD /health?x=1 HTTP/1.1\r\n"), seen[0]);
    assert(seen[0]!.includes("\r\nHost: svc.local\r\n"), seen[0]);
    status = 204;
    const r = await probe(target, () => {});
    assertEquals(r.ok ? "ok" : r.reason, "status", "default codes: 200 only");
    const ranged = httpProbe({
      port: undefined,
      path: "/",
      method: "GET",
      domain: undefined,
      codes: [{ start: 200, end: 299 }],
    });
    assertEquals(await ranged(target, () => {}), { ok: true });
    body = "SSH-2.0-nope\r\n";
    const g = await ranged(target, () => {});
    assertEquals(g.ok ? "ok" : g.reason, "protocol");
  } finally {
    l.close();
    await serving.catch(() => {});
  }
});
