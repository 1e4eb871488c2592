/**
 * Envoy's retry_on conditions (`retry_conditions`), honoured by ProxyStream against loopback origins: each
 * condition retries what Envoy retries and nothing else.
 */
import assert from "node:assert/strict";
import type { RetryPolicyConfig } from "../config/mod.ts";
import { ProxyError } from "../core/mod.ts";
import { ProxyStream } from "./proxy_stream.ts";
import { proxyContext, RecordingStream, TEST_CONN as conn, validSnapshot } from "./_test_harness.ts";
import { envoyRetryOnError, retryBackOffMs } from "./_retry_rules.ts";

/** An origin answering the scripted responses in turn (the last one repeats); counts its requests. */
function origin(script: (() => Response)[]) {
  const o = { hits: 0, server: undefined as unknown as Deno.HttpServer<Deno.NetAddr> };
  o.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    const r = script[Math.min(o.hits, script.length - 1)]!();
    o.hits++;
    return r;
  });
  return o;
}

/** Sends `requests` GETs through a route with `retryPolicy` to `hosts`; returns the statuses. */
async function proxy(
  hosts: string[],
  retryPolicy: object,
  { requests = 1, lb = "LB_ROUNDROBIN" } = {},
): Promise<number[]> {
  const route = { cluster_name: "c", retry_policy: retryPolicy };
  const snapshot = validSnapshot(
    JSON.stringify({
      servers: [{
        routers: [{
          router_config_name: "r",
          virtual_hosts: [{ name: "all", domains: ["*"], routers: [{ match: { prefix: "/" }, route }] }],
        }],
        listeners: [],
      }],
      cluster_manager: {
        clusters: [{
          name: "c",
          lb_type: lb,
          hosts: hosts.map((address) => ({ address })),
          circuit_breakers: [{ max_retries: 0 }],
        }],
      },
    }),
    "test.json",
  );
  const { ctx, clusters } = proxyContext(snapshot);
  const statuses: number[] = [];
  try {
    for (let i = 0; i < requests; i++) {
      const ds = new RecordingStream();
      new ProxyStream(ctx, conn, ds).start();
      await ds.done;
      statuses.push(ds.status);
    }
  } finally {
    clusters.close();
  }
  return statuses;
}

const status = (code: number, headers: Record<string, string> = {}) => () =>
  new Response(code === 204 ? null : "x", { status: code, headers });
const addr = (o: ReturnType<typeof origin>) => `127.0.0.1:${o.server.addr.port}`;

async function withOrigin(script: (() => Response)[], policy: object): Promise<[number, number]> {
  const o = origin(script);
  try {
    const [s] = await proxy([addr(o)], { num_retries: 1, ...policy });
    return [s!, o.hits];
  } finally {
    await o.server.shutdown();
  }
}

Deno.test("retry_conditions retriable-status-codes retries only the listed codes (Istio's default policy)", async () => {
  const policy = {
    retry_conditions: [
      "connect-failure",
      "refused-stream",
      "unavailable",
      "cancelled",
      "retriable-status-codes",
    ],
    status_codes: [503],
    num_retries: 2,
  };
  assert.deepEqual(await withOrigin([status(503), status(200)], policy), [200, 2]);
  assert.deepEqual(await withOrigin([status(500), status(200)], policy), [500, 1], "500 is not listed");
  assert.deepEqual(await withOrigin([status(503)], policy), [503, 3], "2 retries, then the last answer");
});

Deno.test("retry_conditions gateway-error retries 502/503/504 but not 500; 5xx retries 500", async () => {
  for (const code of [502, 503, 504]) {
    assert.deepEqual(await withOrigin([status(code), status(200)], { retry_conditions: ["gateway-error"] }), [
      200,
      2,
    ]);
  }
  assert.deepEqual(await withOrigin([status(500), status(200)], { retry_conditions: ["gateway-error"] }), [
    500,
    1,
  ]);
  assert.deepEqual(await withOrigin([status(500), status(200)], { retry_conditions: ["5xx"] }), [200, 2]);
});

Deno.test("retry_conditions retriable-4xx retries 409 only", async () => {
  assert.deepEqual(await withOrigin([status(409), status(200)], { retry_conditions: ["retriable-4xx"] }), [
    200,
    2,
  ]);
  assert.deepEqual(await withOrigin([status(429), status(200)], { retry_conditions: ["retriable-4xx"] }), [
    429,
    1,
  ]);
});

Deno.test("retry_conditions gRPC conditions read grpc-status in the response headers", async () => {
  const unavailable = status(200, { "content-type": "application/grpc", "grpc-status": "14" });
  const notFound = status(200, { "content-type": "application/grpc", "grpc-status": "5" });
  assert.deepEqual(await withOrigin([unavailable, status(200)], { retry_conditions: ["unavailable"] }), [
    200,
    2,
  ]);
  assert.deepEqual(await withOrigin([notFound, status(200)], { retry_conditions: ["unavailable"] }), [
    200,
    1,
  ]);
  assert.deepEqual(await withOrigin([unavailable, status(200)], { retry_conditions: ["cancelled"] }), [
    200,
    1,
  ]);
});

Deno.test("retry_conditions retriable-headers and envoy-ratelimited retry on response headers", async () => {
  const policy = {
    retry_conditions: ["retriable-headers"],
    retriable_headers: [{ name: "X-Upstream-Retry", value: "^y", regex: true }],
  };
  assert.deepEqual(await withOrigin([status(200, { "x-upstream-retry": "yes" }), status(201)], policy), [
    201,
    2,
  ]);
  assert.deepEqual(await withOrigin([status(200, { "x-upstream-retry": "no" }), status(201)], policy), [
    200,
    1,
  ]);
  const limited = status(429, { "x-envoy-ratelimited": "true" });
  assert.deepEqual(await withOrigin([limited, status(200)], { retry_conditions: ["envoy-ratelimited"] }), [
    200,
    2,
  ]);
});

Deno.test("host_selection_retry_max_attempts (previous_hosts) sends the retry to a host not tried yet", async () => {
  const bad = origin([status(503)]);
  const good = origin([status(200)]);
  try {
    const hosts = [addr(bad), addr(good)];
    const policy = { retry_conditions: ["retriable-status-codes"], status_codes: [503], num_retries: 1 };
    // Random picks: with the predicate a retry never lands on the failed host again (50 re-picks).
    const avoided = await proxy(hosts, { ...policy, host_selection_retry_max_attempts: 50 }, {
      requests: 30,
      lb: "LB_RANDOM",
    });
    assert.deepEqual(avoided, Array(30).fill(200));
    // Without it a retry may pick the bad host again: P(all 30 succeed) = 0.75^30 ≈ 0.02%.
    const plain = await proxy(hosts, policy, { requests: 30, lb: "LB_RANDOM" });
    assert.ok(plain.includes(503), `expected a 503 without previous_hosts: ${plain}`);
  } finally {
    await bad.server.shutdown();
    await good.server.shutdown();
  }
});

Deno.test("envoyRetryOnError: which failures each condition retries (no healthy host and overflow never)", () => {
  const err = (kind: ProxyError["kind"], retryable = false) =>
    new ProxyError(kind, "upstream", kind, { retryable });
  const on = (conds: string[], e: ProxyError) =>
    envoyRetryOnError(new Set(conds) as RetryPolicyConfig["conditions"] & object, e);
  for (const c of ["5xx", "gateway-error", "reset"]) {
    assert.ok(on([c], err("upstream_reset")), c);
    assert.ok(on([c], err("per_try_timeout")), c);
    assert.ok(on([c], err("connect_failure")), c);
    assert.ok(on([c], err("upstream_protocol_error")), c);
  }
  assert.ok(on(["connect-failure"], err("connect_failure")));
  assert.ok(!on(["connect-failure"], err("upstream_reset")));
  assert.ok(!on(["connect-failure"], err("per_try_timeout")));
  assert.ok(on(["refused-stream"], err("upstream_reset", true)), "REFUSED_STREAM / never sent");
  assert.ok(!on(["refused-stream"], err("upstream_reset")), "a reset after processing");
  assert.ok(!on(["retriable-status-codes", "unavailable"], err("upstream_reset")));
  for (const kind of ["no_healthy_upstream", "overflow"] as const) {
    assert.ok(!on(["5xx", "reset"], err(kind)));
  }
});

Deno.test("retryBackOffMs: Envoy's jittered exponential back-off, capped; 0-10 ms without retry_back_off", () => {
  const rp = { backOff: { baseMs: 25, maxMs: 250 } } as RetryPolicyConfig;
  const almostOne = () => 0.999999;
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryBackOffMs(rp, n, almostOne)), [24, 74, 174, 249, 249]);
  assert.equal(retryBackOffMs(rp, 3, () => 0), 0);
  assert.equal(retryBackOffMs(undefined, 7, almostOne), 9);
  const huge = { backOff: { baseMs: 2 ** 40, maxMs: 2 ** 45 } } as RetryPolicyConfig;
  assert.equal(retryBackOffMs(huge, 3, almostOne), 2 ** 31 - 1, "capped at setTimeout's limit");
});
