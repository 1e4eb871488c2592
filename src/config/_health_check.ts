/**
 * Semantic checks of a cluster's health settings: MOSN's `health_check` and Envoy's
 * `outlier_detection` (ranges and thresholds ≥ 1 are the schema's; here what crosses fields).
 */
import { parseDuration } from "../core/mod.ts";
import type { ConfigDocument } from "./schema.ts";
import type { Loose, Reporter } from "./_semantics.ts";

type ClusterDoc = NonNullable<
  NonNullable<NonNullable<Loose<ConfigDocument>["cluster_manager"]>["clusters"]>[number]
>;

/** RFC 9110 token: what an HTTP method may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function checkClusterHealth(c: ClusterDoc, path: string, reporter: Reporter): void {
  const h = c.health_check;
  if (h !== undefined) {
    const p = `${path}.health_check`;
    if (!h.service_name) {
      reporter.warn(
        p,
        "health_check has no service_name: MOSN runs no health checks without one, nor does meshctl",
      );
    }
    const http = h.check_config?.http_check_config;
    const isHttp = typeof h.protocol === "string" && h.protocol.toLowerCase() === "http1";
    if (http !== undefined && !isHttp) {
      reporter.warn(
        `${p}.check_config.http_check_config`,
        `http_check_config is unused: protocol is ${h.protocol ?? "unset"}, so the check is a TCP connect ` +
          '(set protocol: "Http1" for HTTP checks)',
      );
    }
    if (isHttp && http === undefined) {
      reporter.warn(
        `${p}.protocol`,
        "Http1 without check_config.http_check_config: the check is a TCP connect (MOSN)",
      );
    }
    const tls = c.cluster_manager_tls === true || c.tls_context?.status === true;
    if (tls && h.service_name && !(isHttp && http?.port)) {
      reporter.warn(
        p,
        isHttp && http !== undefined
          ? "the HTTP check is plaintext (MOSN's scheme http) though the cluster dials TLS: point " +
            "http_check_config.port at a plaintext health port, or the hosts fail their checks"
          : "the check is a TCP connect: over a TLS cluster meshctl neither handshakes nor sends heartbeats",
      );
    }
    if (http !== undefined) {
      const hp = `${p}.check_config.http_check_config`;
      if (typeof http.path === "string" && http.path !== "" && !http.path.startsWith("/")) {
        reporter.error(`${hp}.path`, `path "${http.path}" must start with "/"`);
      }
      if (typeof http.method === "string" && http.method !== "" && !TOKEN.test(http.method)) {
        reporter.error(`${hp}.method`, `"${http.method}" is not an HTTP method (a token, e.g. GET or HEAD)`);
      }
      http.codes?.forEach((r, i) => {
        if (r !== undefined && typeof r.start === "number" && typeof r.end === "number" && r.start > r.end) {
          reporter.error(`${hp}.codes[${i}]`, `start ${r.start} is after end ${r.end}`);
        }
      });
    }
  }
  const o = c.outlier_detection;
  if (o !== undefined) {
    const p = `${path}.outlier_detection`;
    for (const field of ["interval", "base_ejection_time", "max_ejection_time"] as const) {
      const v = o[field];
      if (v !== undefined && toMs(v) === 0) {
        reporter.error(`${p}.${field}`, `${field} must be greater than 0 (Envoy)`);
      }
    }
    const base = o.base_ejection_time === undefined ? 30_000 : toMs(o.base_ejection_time);
    const max = o.max_ejection_time === undefined ? undefined : toMs(o.max_ejection_time);
    if (base !== undefined && max !== undefined && max > 0 && max < base) {
      reporter.error(
        `${p}.max_ejection_time`,
        `max_ejection_time (${o.max_ejection_time}) is shorter than base_ejection_time (${
          o.base_ejection_time ?? "30s"
        })`,
      );
    }
    if (
      o.enforcing_consecutive_gateway_failure === undefined && o.consecutive_gateway_failure !== undefined
    ) {
      reporter.warn(
        `${p}.consecutive_gateway_failure`,
        "consecutive_gateway_failure ejects nobody unless enforcing_consecutive_gateway_failure is set " +
          "(Envoy's default is 0 %)",
      );
    }
    if (o.split_external_local_origin_errors !== true) {
      for (
        const field of [
          "consecutive_local_origin_failure",
          "enforcing_consecutive_local_origin_failure",
        ] as const
      ) {
        if (o[field] !== undefined) {
          reporter.warn(
            `${p}.${field}`,
            `${field} is used only with split_external_local_origin_errors: true`,
          );
        }
      }
    }
  }
}

function toMs(v: string | number): number | undefined {
  if (typeof v === "number") return v;
  try {
    return parseDuration(v);
  } catch {
    return undefined;
  }
}
