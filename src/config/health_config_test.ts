/** Cluster health settings: MOSN's health_check, Envoy's outlier_detection, panic threshold, priority. */
import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { parseConfigText } from "./mod.ts";

const BASE = `
servers:
  - listeners:
      - name: l
        address: 127.0.0.1:2045
        filter_chains:
          - filters:
              - type: tcp_proxy
                config: { cluster: c }
cluster_manager:
  clusters:
    - name: c
      hosts: [{ address: 127.0.0.1:2046 }]
`;

function withCluster(extra: string): string {
  return BASE + extra.split("\n").map((l) => (l ? "      " + l : l)).join("\n");
}

function problems(text: string): { errors: string[]; warnings: string[] } {
  const r = parseConfigText(text, "t.yaml");
  return {
    errors: r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`),
    warnings: r.warnings.map((w) => `${w.line}:${w.col} ${w.path}: ${w.message}`),
  };
}

Deno.test("health_check: MOSN's defaults (timeout 1s, interval 15s, jitter 5ms, thresholds 1); Http1 reads http_check_config", () => {
  const { snapshot, errors } = parseConfigText(
    withCluster(`health_check:
  service_name: svc
  protocol: Http1
  check_config:
    http_check_config: { port: 8080, path: /health, timeout: 500ms, codes: [{ start: 200, end: 299 }] }
`),
    "t.yaml",
  );
  assertEquals(errors, []);
  const c = snapshot!.clusters[0]!;
  assertEquals(c.healthCheck, {
    serviceName: "svc",
    protocol: "Http1",
    timeoutMs: 500,
    intervalMs: 15_000,
    intervalJitterMs: 5,
    initialDelayMs: 0,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
    http: {
      port: 8080,
      path: "/health",
      method: "GET",
      domain: undefined,
      codes: [{ start: 200, end: 299 }],
    },
  });
  equal(c.outlierDetection, undefined);
  equal(c.healthyPanicThresholdPercent, 50);
  equal(c.overprovisioningFactorPercent, 140);
  equal(c.hosts[0]!.priority, 0);
});

Deno.test("health_check without service_name warns and runs no checks, as MOSN", () => {
  const text = withCluster("health_check: { interval: 1s }\n");
  const { snapshot } = parseConfigText(text, "t.yaml");
  equal(snapshot!.clusters[0]!.healthCheck, undefined);
  assertEquals(problems(text).warnings, [
    "14:21 cluster_manager.clusters[0].health_check: health_check has no service_name: MOSN runs no health checks without one, nor does meshctl",
  ]);
});

Deno.test("health_check errors carry positions: thresholds ≥ 1, code ranges, path, method, https", () => {
  const { errors } = problems(withCluster(`health_check:
  service_name: svc
  protocol: Http1
  unhealthy_threshold: 0
  check_config:
    http_check_config:
      path: health
      method: "GE T"
      scheme: https
      codes: [{ start: 300, end: 200 }, { start: 99, end: 200 }]
`));
  const p = "cluster_manager.clusters[0].health_check";
  for (
    const want of [
      `${p}.unhealthy_threshold`,
      `${p}.check_config.http_check_config.path`,
      `${p}.check_config.http_check_config.method`,
      `${p}.check_config.http_check_config.scheme`,
      `${p}.check_config.http_check_config.codes[0]`,
      `${p}.check_config.http_check_config.codes[1].start`,
    ]
  ) {
    ok(
      errors.some((e) => e.includes(` ${want}: `)),
      `no error at ${want} in ${JSON.stringify(errors, null, 1)}`,
    );
  }
  ok(errors.every((e) => /^\d+:\d+ /.test(e)));
});

Deno.test("outlier_detection: Envoy's defaults, field for field", () => {
  const { snapshot, errors } = parseConfigText(withCluster("outlier_detection: {}\n"), "t.yaml");
  assertEquals(errors, []);
  assertEquals(snapshot!.clusters[0]!.outlierDetection, {
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
  });
  // A base ejection time over 300 s raises the default cap with it (Envoy).
  const long = parseConfigText(withCluster("outlier_detection: { base_ejection_time: 10m }\n"), "t.yaml");
  equal(long.snapshot!.clusters[0]!.outlierDetection!.maxEjectionTimeMs, 600_000);
});

Deno.test("outlier_detection errors carry positions: percentages 0..100, thresholds ≥ 1, durations > 0, max ≥ base", () => {
  const { errors, warnings } = problems(withCluster(`outlier_detection:
  consecutive_5xx: 0
  max_ejection_percent: 101
  enforcing_success_rate: -1
  interval: 0
  base_ejection_time: 1m
  max_ejection_time: 30s
  consecutive_gateway_failure: 3
`));
  const p = "cluster_manager.clusters[0].outlier_detection";
  for (
    const f of [
      "consecutive_5xx",
      "max_ejection_percent",
      "enforcing_success_rate",
      "interval",
      "max_ejection_time",
    ]
  ) {
    ok(
      errors.some((e) => e.includes(` ${p}.${f}: `)),
      `no error at ${f} in ${JSON.stringify(errors, null, 1)}`,
    );
  }
  ok(warnings.some((w) => w.includes(`${p}.consecutive_gateway_failure: `)), JSON.stringify(warnings));
});

Deno.test("healthy_panic_threshold 0..100, overprovisioning_factor ≥ 100 and host priority 0..127 are checked", () => {
  const text = BASE.replace(
    "hosts: [{ address: 127.0.0.1:2046 }]",
    "hosts: [{ address: 127.0.0.1:2046, priority: 128 }]\n      healthy_panic_threshold: 101\n      overprovisioning_factor: 99",
  );
  const { errors } = problems(text);
  equal(errors.length, 3, JSON.stringify(errors));
  ok(errors[0]!.includes("cluster_manager.clusters[0].hosts[0].priority"));
  const ok2 = parseConfigText(
    BASE.replace(
      "hosts: [{ address: 127.0.0.1:2046 }]",
      "hosts: [{ address: 127.0.0.1:2046, priority: 2 }]\n      healthy_panic_threshold: 0",
    ),
    "t.yaml",
  );
  assertEquals(ok2.errors, []);
  equal(ok2.snapshot!.clusters[0]!.hosts[0]!.priority, 2);
  equal(ok2.snapshot!.clusters[0]!.healthyPanicThresholdPercent, 0);
});

Deno.test("health_check on a TLS cluster warns that the check does not speak TLS", () => {
  const text = withCluster(`tls_context: { status: true, insecure_skip: true }
health_check: { service_name: svc, protocol: Http1, check_config: { http_check_config: { path: /h } } }
`);
  const { warnings } = problems(text);
  ok(warnings.some((w) => w.includes("health_check: the HTTP check is plaintext")), JSON.stringify(warnings));
});
