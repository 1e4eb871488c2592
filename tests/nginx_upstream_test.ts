/** nginx as the upstream and wrk as the client: a short bounded load with zero errors. */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, curl, httpProxyConfig, startMeshctl } from "./_e2e.ts";
import { startNginx } from "./_peers/nginx.ts";

/** nginx serving "hello" at / and 64 KiB at /big. */
function startHelloNginx() {
  return startNginx({
    files: { big: "x".repeat(65536) },
    servers: ([port], dir) =>
      `  server {
    listen 127.0.0.1:${port};
    location = / { return 200 "hello"; }
    location = /big { root ${dir}; }
  }`,
  });
}

Deno.test("meshctl in front of nginx carries a bounded wrk load without errors", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const nginx = await startHelloNginx();
  const mesh = await startMeshctl(httpProxyConfig({ hosts: [`127.0.0.1:${nginx.port}`] }));
  const port = mesh.port("ingress");
  try {
    const one = await curl([`http://127.0.0.1:${port}/`]);
    assertEquals(one.stdout, "hello");
    const big = await curl([`http://127.0.0.1:${port}/big`]);
    assertEquals(big.stdout.length, 65536);
    const out = await new Deno.Command("wrk", {
      args: ["-t1", "-c10", "-d2s", `http://127.0.0.1:${port}/`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, text);
    assert(!/Non-2xx|Socket errors/.test(text), text);
    const m = text.match(/(\d+) requests in/);
    assert(m !== null && Number(m[1]) > 500, text);
    const stats = await adminStats(mesh.adminPort);
    const up = stats["upstream"]?.["cluster.origin"];
    const ds = Object.entries(stats["downstream"] ?? {}).find(([k]) => k.includes("ingress"))?.[1];
    assert(up !== undefined && ds !== undefined, JSON.stringify(stats));
    const total = Number(m![1]) + 2; // + the two curl requests
    // Without errors on meshctl's side too: no local replies (502/503/504), no failed connects, timeouts
    // or upstream resets, no internal errors. When wrk's time is up it drops each of its 10 connections
    // mid-request: at most 10 requests beyond the completed ones, counted as client resets.
    const nonZero = (scope: Record<string, number>, names: string[]) =>
      names.filter((n) => (scope[n] ?? 0) !== 0).map((n) => `${n}=${scope[n]}`);
    assertEquals(
      nonZero(ds, [
        "request_failed",
        "request_500_total",
        "request_502_total",
        "request_503_total",
        "request_504_total",
        "request_other_code",
      ]),
      [],
    );
    assertEquals(
      nonZero(up, [
        "connection_con_fail",
        "request_timeout",
        "request_remote_reset",
        "request_pending_overflow",
      ]),
      [],
    );
    assertEquals(stats["meta"]?.[""]?.["internal_error_total"] ?? 0, 0);
    assert(ds["request_200_total"]! >= total, `${ds["request_200_total"]} 200s for ${total} requests`);
    assert(ds["request_total"]! <= total + 10, `${ds["request_total"]} requests for ${total} completed`);
    assert(up["response_success"]! >= total, `${up["response_success"]} upstream successes for ${total}`);
    // Keep-alive reuse: one upstream connection per client connection, renewed every
    // max_request_per_conn (MOSN's default 1024) requests.
    const bound = 10 + Math.ceil(total / 1024) + 2;
    assert(
      up["connection_total"]! <= bound,
      `keep-alive reuse: ${up["connection_total"]} upstream connections for ${total} requests`,
    );
  } finally {
    assertEquals(await mesh.stop(), 0);
    await nginx.stop();
  }
});
