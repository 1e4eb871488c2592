import type { Logger } from "../core/mod.ts";
import { renderMosnJson } from "../stats/mod.ts";
import type { StatsRegistry } from "../stats/mod.ts";
import { selectConfigDump } from "./config_dump.ts";
import { redactSecrets } from "./redact.ts";

/** What the admin API shows; the server composition root injects these views. */
export interface AdminViews {
  readonly registry: StatsRegistry;
  /** The effective config, MOSN raw-config shaped. Secrets are redacted before it is served. */
  readonly configDump: () => unknown;
  readonly ready: () => boolean;
  readonly version: string;
  readonly logger?: Logger;
}

type Route = (url: URL) => Response;

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";
/** Content type of the Prometheus text exposition format. */
export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": JSON_TYPE },
  });
}

function text(status: number, body: string, type = TEXT_TYPE): Response {
  return new Response(body, { status, headers: { "content-type": type } });
}

/** Endpoints listed by `GET /`, with what they do. */
const ENDPOINTS: ReadonlyArray<readonly [path: string, about: string]> = [
  [
    "/api/v1/config_dump",
    "effective config, secrets redacted (?mosnconfig|allrouters|allclusters|alllisteners|router=|cluster=|listener=)",
  ],
  ["/api/v1/stats", "stats as MOSN JSON (?key=type.label.value...)"],
  ["/api/v1/version", "version"],
  ["/stats/prometheus", "stats in the Prometheus text format"],
  ["/ready", "200 when serving traffic, 503 otherwise"],
  ["/healthz", "200 while the process is up"],
];

/**
 * The admin API as a fetch handler: MOSN's `/api/v1/*` routes plus `/stats/prometheus`, `/ready` and
 * `/healthz`. GET (and HEAD) only; unknown paths get a 404 JSON error, other methods 405.
 */
export function createAdminHandler(views: AdminViews): (request: Request) => Response {
  const { registry, configDump, ready, version, logger } = views;

  const routes = new Map<string, Route>([
    [
      "/",
      () => text(200, `supported APIs:\n${ENDPOINTS.map(([p, about]) => `${p}  ${about}`).join("\n")}\n`),
    ],
    ["/api/v1/config_dump", (url) => {
      const result = selectConfigDump(redactSecrets(configDump()), url.searchParams);
      return json(result.status, result.body);
    }],
    ["/api/v1/stats", (url) => statsDump(registry, url.searchParams)],
    ["/api/v1/version", () => text(200, version)],
    ["/stats/prometheus", () => text(200, registry.toPrometheus(), PROMETHEUS_TYPE)],
    ["/ready", () => ready() ? text(200, "ready\n") : text(503, "not ready\n")],
    ["/healthz", () => text(200, "ok\n")],
  ]);

  return function adminHandler(request: Request): Response {
    const url = new URL(request.url);
    const route = routes.get(url.pathname);
    let response: Response;
    if (route === undefined) {
      response = json(404, { error: `no admin endpoint ${url.pathname}; GET / lists them` });
    } else if (request.method !== "GET" && request.method !== "HEAD") {
      response = json(405, { error: `method ${request.method} not allowed on ${url.pathname}; use GET` });
      response.headers.set("allow", "GET, HEAD");
    } else {
      try {
        response = route(url);
      } catch (err) {
        logger?.error("admin request failed", { path: url.pathname, error: String(err) });
        response = json(500, { error: "internal error" });
      }
    }
    logger?.debug("admin request", { method: request.method, path: url.pathname, status: response.status });
    if (request.method === "HEAD") {
      return new Response(null, { status: response.status, headers: response.headers });
    }
    return response;
  };
}

/** MOSN's stats dump: everything, or `?key=<type>.<namespace>` for one scope. */
function statsDump(registry: StatsRegistry, params: URLSearchParams): Response {
  const keys = [...new Set(params.keys())];
  if (keys.length === 0) return json(200, registry.toMosnJson());
  if (keys.length > 1) return json(400, { error: "only support one parameter" });
  if (keys[0] !== "key") {
    return json(400, { error: `unknown parameter "${keys[0]}"; expected key=type.label.value` });
  }
  const key = params.get("key") ?? "";
  const scope = registry.snapshot().scopes.find((s) => `${s.type}.${s.namespace}` === key);
  if (scope === undefined) return json(404, { error: `no metrics key: ${key}` });
  return json(200, renderMosnJson({ scopes: [scope] }));
}
