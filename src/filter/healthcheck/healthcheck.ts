/**
 * MOSN's `healthcheck` stream filter (`pkg/filter/stream/healthcheck/sofarpc`, removed from MOSN in 2020
 * and still named by its RPC example configs): it answers the SOFA RPC health check, the bolt heartbeat,
 * before routing. Config, as MOSN's `HealthCheckFilterConfig`:
 *
 * - `passthrough` (default false): false answers every heartbeat here; true routes it to the upstream
 *   like any request and relays the upstream's ack.
 * - `cache_time` (passthrough only): for this long after an upstream answered a heartbeat, later ones are
 *   answered here with that answer's status instead of going upstream again.
 * - `cluster_min_healthy_percentages` (`{cluster: percent}`, not in passthrough): the local answer is
 *   unhealthy when a listed cluster has fewer than that percentage of its hosts healthy, or has no hosts
 *   at all while the percentage is above 0.
 * - `endpoint`: accepted and unused, as in MOSN (an HTTP path in Envoy's filter; heartbeats have none).
 *
 * MOSN's filter answered with a heartbeat ack and left `cache_time` and the percentages as TODOs; the
 * filter's config came from Envoy's health_check filter, whose meaning meshctl gives them. A healthy
 * answer is status 200 (ack with SUCCESS), an unhealthy one 503 (the codec's mapping: bolt
 * THREADPOOL_BUSY), which a SOFA client counts as a failed heartbeat. Other requests pass untouched.
 * Counters (listener scope): `healthcheck_healthy_total`, `healthcheck_unhealthy_total`,
 * `healthcheck_passthrough_total`, `healthcheck_cached_total`.
 */
import { parseDuration, systemClock } from "../../core/mod.ts";
import type { Counter } from "../../stats/mod.ts";
import type {
  FilterConfigError,
  FilterContext,
  FilterEnvironment,
  FilterResult,
  StreamFilter,
  StreamFilterDefinition,
  StreamFilterFactory,
} from "../types.ts";

const HEALTHY: FilterResult = { localReply: { status: 200, body: "" } };
const UNHEALTHY: FilterResult = { localReply: { status: 503, body: "" } };
const KEYS = ["passthrough", "cache_time", "cluster_min_healthy_percentages", "endpoint"];

/** The filter's config, validated. */
export interface HealthCheckConfig {
  readonly passthrough: boolean;
  /** 0 = no caching. */
  readonly cacheTimeMs: number;
  readonly clusterMinHealthyPercentages: ReadonlyMap<string, number>;
}

export const healthCheckFilter: StreamFilterDefinition = {
  type: "healthcheck",
  takesHealthChecks: true,
  create(config, env): StreamFilterFactory | { errors: FilterConfigError[] } {
    const parsed = parseHealthCheckConfig(config, env?.clusterNames);
    if ("errors" in parsed) return parsed;
    const filter = new HealthCheckFilter(parsed.config, env);
    return () => filter; // per-request state is none; the cache is the listener's
  },
  lint(config): FilterConfigError[] {
    const parsed = parseHealthCheckConfig(config, undefined);
    return "errors" in parsed ? [] : parsed.warnings;
  },
};

/** Reads MOSN's config keys (case-insensitively, as Go's decoder), reporting every problem. */
export function parseHealthCheckConfig(
  config: Readonly<Record<string, unknown>>,
  clusterNames: ReadonlySet<string> | undefined,
): { config: HealthCheckConfig; warnings: FilterConfigError[] } | { errors: FilterConfigError[] } {
  const errors: FilterConfigError[] = [];
  const warnings: FilterConfigError[] = [];
  const get = (key: string): [string, unknown] | undefined => {
    const k = Object.keys(config).find((c) => c.toLowerCase() === key);
    return k === undefined ? undefined : [k, config[k]];
  };
  for (const k of Object.keys(config)) {
    if (!KEYS.includes(k.toLowerCase())) {
      errors.push({ path: k, message: `unknown field "${k}"; expected one of ${KEYS.join(", ")}` });
    }
  }
  let passthrough = false;
  const pt = get("passthrough");
  if (pt !== undefined && pt[1] !== null) {
    if (typeof pt[1] === "boolean") passthrough = pt[1];
    else errors.push({ path: pt[0], message: `expected true or false, got ${JSON.stringify(pt[1])}` });
  }
  let cacheTimeMs = 0;
  const ct = get("cache_time");
  if (ct !== undefined && ct[1] !== null && ct[1] !== 0) {
    const d = typeof ct[1] === "string" ? parseDuration(ct[1]) : undefined;
    if (d === undefined) {
      errors.push({
        path: ct[0],
        message: typeof ct[1] === "number"
          ? `expected a duration string like "${ct[1]}s" (MOSN reads bare numbers as nanoseconds)`
          : `invalid duration ${JSON.stringify(ct[1])}; expected Go syntax like "10s", "1m"`,
      });
    } else cacheTimeMs = d;
  }
  const ep = get("endpoint");
  if (ep !== undefined && ep[1] !== null && typeof ep[1] !== "string") {
    errors.push({ path: ep[0], message: `expected a string, got ${JSON.stringify(ep[1])}` });
  }
  const percentages = new Map<string, number>();
  const mp = get("cluster_min_healthy_percentages");
  if (mp !== undefined && mp[1] !== null) {
    const m = mp[1];
    if (typeof m !== "object" || Array.isArray(m)) {
      errors.push({ path: mp[0], message: "expected a mapping of cluster name to percentage" });
    } else {
      for (const [cluster, pct] of Object.entries(m as Record<string, unknown>)) {
        const at = `${mp[0]}.${cluster}`;
        if (typeof pct !== "number" || !(pct >= 0 && pct <= 100)) {
          errors.push({
            path: at,
            message: `expected a percentage from 0 to 100, got ${JSON.stringify(pct)}`,
          });
          continue;
        }
        if (clusterNames !== undefined && !clusterNames.has(cluster)) {
          errors.push({ path: at, message: `unknown cluster "${cluster}"` });
          continue;
        }
        percentages.set(cluster, pct);
      }
      if (passthrough && percentages.size > 0) {
        warnings.push({
          path: mp[0],
          message:
            "cluster_min_healthy_percentages is not used with passthrough: true (the upstream answers)",
        });
      }
    }
  }
  if (!passthrough && cacheTimeMs > 0 && ct !== undefined) {
    warnings.push({
      path: ct[0],
      message: "cache_time is not used without passthrough: true (it caches upstream answers)",
    });
  }
  if (errors.length > 0) return { errors };
  return { config: { passthrough, cacheTimeMs, clusterMinHealthyPercentages: percentages }, warnings };
}

class HealthCheckFilter implements StreamFilter {
  readonly name = "healthcheck";
  readonly #config: HealthCheckConfig;
  readonly #env: FilterEnvironment | undefined;
  readonly #clock;
  readonly #healthy: Counter | undefined;
  readonly #unhealthy: Counter | undefined;
  readonly #passthrough: Counter | undefined;
  readonly #cached: Counter | undefined;
  /** The last upstream answer's status and until when it stands in for the upstream (passthrough). */
  #cache: { status: number; until: number } | undefined;

  constructor(config: HealthCheckConfig, env: FilterEnvironment | undefined) {
    this.#config = config;
    this.#env = env;
    this.#clock = env?.clock ?? systemClock;
    const s = env?.stats;
    this.#healthy = s?.counter("healthcheck_healthy_total");
    this.#unhealthy = s?.counter("healthcheck_unhealthy_total");
    this.#passthrough = s?.counter("healthcheck_passthrough_total");
    this.#cached = s?.counter("healthcheck_cached_total");
  }

  beforeRoute(ctx: FilterContext): FilterResult {
    if (ctx.request.healthCheck !== true) return undefined;
    if (!this.#config.passthrough) {
      if (this.#clustersHealthy()) {
        this.#healthy?.inc();
        return HEALTHY;
      }
      this.#unhealthy?.inc();
      return UNHEALTHY;
    }
    const cache = this.#cache;
    if (cache !== undefined && this.#clock.now() < cache.until) {
      this.#cached?.inc();
      return cache.status === 200 ? HEALTHY : { localReply: { status: cache.status, body: "" } };
    }
    this.#passthrough?.inc();
    return undefined;
  }

  beforeSend(ctx: FilterContext, response: { readonly status: number }): void {
    if (ctx.request.healthCheck !== true || this.#config.cacheTimeMs <= 0) return;
    this.#cache = { status: response.status, until: this.#clock.now() + this.#config.cacheTimeMs };
  }

  /** Envoy's rule: each listed cluster has hosts, and at least its percentage of them healthy. */
  #clustersHealthy(): boolean {
    const lookup = this.#env?.clusterHealth;
    for (const [cluster, min] of this.#config.clusterMinHealthyPercentages) {
      const h = lookup?.(cluster);
      if (h === undefined) return false; // a cluster gone (or no view of it): unhealthy, as Envoy
      if (h.total === 0) {
        if (min > 0) return false;
        continue;
      }
      if (h.healthy * 100 < h.total * min) return false;
    }
    return true;
  }
}
