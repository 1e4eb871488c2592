import type { HeaderMap, RequestHead } from "../codec/mod.ts";
import type {
  HeaderValueOption,
  RouteActionConfig,
  RouteConfig,
  RouteMatchConfig,
  RouterConfig,
  VirtualHostConfig,
} from "../config/mod.ts";

/** A multi-valued, case-insensitive header map for tests; `entries()` shows the order of edits. */
export class TestHeaders implements HeaderMap {
  readonly #entries: [string, string][] = [];

  constructor(init: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(init)) this.#entries.push([k.toLowerCase(), v]);
  }

  get(name: string): string | undefined {
    return this.#entries.find(([k]) => k === name)?.[1];
  }
  getAll(name: string): string[] {
    return this.#entries.filter(([k]) => k === name).map(([, v]) => v);
  }
  has(name: string): boolean {
    return this.#entries.some(([k]) => k === name);
  }
  set(name: string, value: string): void {
    this.delete(name);
    this.#entries.push([name, value]);
  }
  add(name: string, value: string): void {
    this.#entries.push([name, value]);
  }
  delete(name: string): void {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      if (this.#entries[i]![0] === name) this.#entries.splice(i, 1);
    }
  }
  forEach(fn: (value: string, name: string) => void): void {
    for (const [k, v] of this.#entries) fn(v, k);
  }
  get size(): number {
    return this.#entries.length;
  }
  entries(): [string, string][] {
    return this.#entries.map(([k, v]) => [k, v]);
  }
}

export function head(
  init: { host?: string; path?: string; method?: string; query?: string; headers?: Record<string, string> } =
    {},
): RequestHead {
  return {
    protocol: "Http1",
    kind: "http",
    method: init.method ?? "GET",
    path: init.path ?? "/",
    query: init.query ?? "",
    host: init.host ?? "",
    headers: new TestHeaders(init.headers),
  };
}

export function action(overrides: Partial<RouteActionConfig> = {}): RouteActionConfig {
  return {
    clusterName: "c",
    weightedClusters: [],
    timeoutMs: 60_000,
    hashPolicy: [],
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
    ...overrides,
  };
}

export function route(
  match: Partial<RouteMatchConfig>,
  act: Partial<RouteActionConfig> | Omit<RouteConfig, "match"> = {},
): RouteConfig {
  const m: RouteMatchConfig = { headers: [], ...match };
  if ("directResponse" in act || "redirect" in act || "route" in act) {
    return { match: m, ...act } as RouteConfig;
  }
  return { match: m, route: action(act as Partial<RouteActionConfig>) };
}

export function vhost(
  name: string,
  domains: string[],
  routers: RouteConfig[],
  extra: Partial<VirtualHostConfig> = {},
): VirtualHostConfig {
  return {
    name,
    domains,
    routers,
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
    ...extra,
  };
}

export function router(virtualHosts: VirtualHostConfig[], extra: Partial<RouterConfig> = {}): RouterConfig {
  return {
    routerConfigName: "r",
    virtualHosts,
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToRemove: [],
    ...extra,
  };
}

export function hv(key: string, value: string, append = false): HeaderValueOption {
  return { key, value, append };
}
