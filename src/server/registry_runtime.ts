/**
 * The sidecar registry (MOSN's `dubbo_registry`) in `serve`: the pub/sub API on `api_address:api_port`,
 * and the providers it discovers turned into ordinary clusters and routes.
 *
 * Nothing is patched: like xDS (`xds_runtime.ts`), every change of a subscribed interface's providers
 * composes a MOSN document — the config file as parsed, plus for each subscribed interface
 *
 * - a cluster named `<iface>` (MOSN's name): SIMPLE, LB_RANDOM (MOSN's), hosts = the providers with their
 *   URL weights clamped to 1..128. A cluster of that name in the file keeps its settings (LB, circuit
 *   breakers, timeouts) and gets the providers as its hosts;
 * - a route in the router `dubbo` (MOSN's dubboRouterConfigName) on header `service == <iface>` → that
 *   cluster — for a `sofa`-layout subscription in the router `sofa` on `service == <iface>:<version>[:<uniqueId>]`
 *   (what SOFA callers put in the bolt header; MOSN has no SOFA registry) — ahead of the file's routes (a catch-all the file has must not hide it; MOSN appends). The
 *   router is created, with one virtual host `*`, when the file has none (MOSN creates it at start), so a
 *   listener may name it —
 *
 * validates it with the file loader and swaps it in whole through `Server.reload`. So registry clusters
 * get the same LB, pools, circuit breakers and stats as any cluster, and SIGHUP (`rebase`, the
 * ConfigReloader's `compose`) keeps them. `unsub` removes the cluster and the route (MOSN leaves the
 * route behind; an orphan route to a missing cluster would fail validation here, and a stale cluster would
 * keep routing to providers nobody watches). Changes that arrive while a reload runs are applied together
 * by the next one.
 * @module
 */
import { formatAddress, type Logger, type SocketAddress } from "../core/mod.ts";
import {
  type ConfigSnapshot,
  parseConfigText,
  REGISTRY_ROUTER_NAME,
  REGISTRY_SOFA_ROUTER_NAME,
  type RegistryConfig,
} from "../config/mod.ts";
import {
  type ProviderInstance,
  RegistryApi,
  type RegistryApiServer,
  type RegistryConnector,
  type RegistryView,
  serveRegistryApi,
  type SubscribedRoute,
} from "../registry/mod.ts";
import type { StatsRegistry } from "../stats/mod.ts";
import type { ServingTarget } from "./server.ts";
import { validationContext } from "./validation_context.ts";

type Obj = Record<string, unknown>;

/** MOSN host weights are 1..128; Dubbo's default is 100. */
const MAX_HOST_WEIGHT = 128;

export interface RegistryRuntimeOptions {
  /** The config file's snapshot; its `registry` is set. */
  readonly file: ConfigSnapshot;
  /** Builds the backend once the server (and so its stats registry) exists. */
  readonly connector: (stats: StatsRegistry) => RegistryConnector;
  readonly logger: Logger;
}

export class RegistryRuntime {
  readonly #config: RegistryConfig;
  readonly #makeConnector: (stats: StatsRegistry) => RegistryConnector;
  #connector: RegistryConnector | undefined;
  readonly #logger: Logger;
  #base: Obj;
  #source: string;
  /** Subscribed interfaces → their providers (the last list the registry gave) and how calls reach them. */
  readonly #providers = new Map<
    string,
    { readonly providers: readonly ProviderInstance[]; readonly route: SubscribedRoute }
  >();
  #server: ServingTarget | undefined;
  #api: RegistryApi | undefined;
  #http: RegistryApiServer | undefined;
  #reloads: Promise<void> = Promise.resolve();
  #reloadQueued = false;
  #closed = false;

  constructor(options: RegistryRuntimeOptions) {
    const config = options.file.registry;
    if (config === undefined) {
      throw new Error("RegistryRuntime needs a config with an enabled dubbo_registry");
    }
    this.#config = config;
    this.#makeConnector = options.connector;
    this.#logger = options.logger;
    this.#base = options.file.raw as Obj;
    this.#source = options.file.source;
  }

  /** The snapshot to start with: the file's, with the `dubbo` router the registry routes in. */
  initialSnapshot(): ConfigSnapshot {
    const composed = this.#compose();
    if ("errors" in composed) throw new Error(composed.errors.join("\n"));
    return composed.snapshot;
  }

  /** Binds the API (after the server, whose listener ports `pub` may publish); throws when it cannot bind. */
  start(server: ServingTarget): SocketAddress {
    this.#server = server;
    const connector = this.#connector = this.#makeConnector(server.registry);
    const api = new RegistryApi({
      connector,
      advertise: () => ({ ip: this.#config.advertiseIp, port: this.#publishedPort() }),
      maxBodyBytes: this.#config.maxRequestBodyBytes,
      maxServices: this.#config.maxServices,
      connectTimeoutMs: this.#config.connectTimeoutMs,
      onProviders: (iface, providers, route) => this.#providersChanged(iface, providers, route),
      logger: this.#logger,
      stats: server.registry,
    });
    this.#api = api;
    this.#http = serveRegistryApi(api, this.#config.apiAddress, this.#logger);
    this.#logger.info("registry API started", {
      address: formatAddress(this.#http.addr),
      advertise_ip: this.#config.advertiseIp,
    });
    return this.#http.addr;
  }

  /** Where the API is bound; undefined before `start()`. */
  get address(): SocketAddress | undefined {
    return this.#http?.addr;
  }

  view(): RegistryView | undefined {
    return this.#api?.view();
  }

  /** The reloads asked for so far have been applied (tests wait on this). */
  settled(): Promise<void> {
    return this.#reloads;
  }

  /**
   * A reloaded config file (SIGHUP, certificate change) with the registry's clusters and routes composed
   * onto it. Throws with every problem when the result does not validate (the old config keeps serving).
   * A changed `dubbo_registry` entry itself needs a restart (the API and sessions are not rebuilt).
   */
  rebase(file: ConfigSnapshot): ConfigSnapshot {
    const base = file.raw as Obj;
    const composed = this.#compose(base, file.source);
    if ("errors" in composed) throw new Error(composed.errors.join("\n"));
    if (JSON.stringify(file.registry) !== JSON.stringify(this.#config)) {
      this.#logger.warn("the dubbo_registry entry changed; it takes effect at the next restart");
    }
    this.#base = base;
    this.#source = file.source;
    return composed.snapshot;
  }

  /** Stops the API, deletes every node this sidecar made and closes the registry sessions. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The API first: requests waiting on a registry are answered at once, so the HTTP shutdown is quick.
    await this.#api?.close();
    await this.#http?.shutdown();
    await this.#connector?.closeAll();
    await this.#reloads;
  }

  #publishedPort(): number {
    if (this.#config.serverPort !== undefined) return this.#config.serverPort;
    const name = this.#config.serverListener!;
    const bound = this.#server?.addresses.listeners[name];
    if (bound === undefined) throw new Error(`server_listener "${name}" is not bound`);
    return Number(bound.slice(bound.lastIndexOf(":") + 1));
  }

  #providersChanged(
    iface: string,
    providers: readonly ProviderInstance[] | undefined,
    route: SubscribedRoute,
  ): void {
    if (providers === undefined) this.#providers.delete(iface);
    else this.#providers.set(iface, { providers, route });
    this.#logger.info("registry: providers changed", {
      interface: iface,
      providers: providers === undefined ? "unsubscribed" : providers.length,
    });
    if (this.#reloadQueued || this.#closed) return; // the queued reload composes the latest state
    this.#reloadQueued = true;
    this.#reloads = this.#reloads.then(async () => {
      this.#reloadQueued = false;
      const server = this.#server;
      if (server === undefined || this.#closed) return;
      const composed = this.#compose();
      if ("errors" in composed) {
        for (const e of composed.errors) this.#logger.error(`registry config rejected: ${e}`);
        return;
      }
      try {
        const summary = await server.reload(composed.snapshot);
        this.#logger.info("registry config applied", {
          clusters: [...this.#providers.keys()].join(","),
          ...summary,
        });
      } catch (e) {
        this.#logger.error("registry config could not be applied", { error: String(e) });
      }
    });
  }

  /** The file document with every subscribed interface's cluster and route, validated. */
  #compose(base = this.#base, source = this.#source): { snapshot: ConfigSnapshot } | { errors: string[] } {
    const doc = structuredClone(base);
    const servers = (doc["servers"] ??= []) as Obj[];
    if (servers.length === 0) servers.push({});
    const routesOf = {
      dubbo: (starVirtualHost(findOrAddRouter(servers, REGISTRY_ROUTER_NAME))["routers"] ??= []) as Obj[],
      sofa: (starVirtualHost(findOrAddRouter(servers, REGISTRY_SOFA_ROUTER_NAME))["routers"] ??= []) as Obj[],
    };
    const manager = (doc["cluster_manager"] ??= {}) as Obj;
    const clusters = (manager["clusters"] ??= []) as Obj[];
    const added = { dubbo: [] as Obj[], sofa: [] as Obj[] };
    for (
      const [iface, { providers, route }] of [...this.#providers].sort(([a], [b]) => a < b ? -1 : 1)
    ) {
      const hosts = providers.map((p) => ({
        address: p.host.includes(":") ? `[${p.host}]:${p.port}` : `${p.host}:${p.port}`,
        weight: Math.min(MAX_HOST_WEIGHT, Math.max(1, p.weight)),
      }));
      const existing = clusters.find((c) => c["name"] === iface);
      if (existing !== undefined) existing["hosts"] = hosts;
      else clusters.push({ name: iface, type: "SIMPLE", lb_type: "LB_RANDOM", hosts });
      if (!routesOf[route.layout].some((r) => routesTo(r, route.service, iface))) {
        added[route.layout].push({
          match: { headers: [{ name: "service", value: route.service }] },
          route: { cluster_name: iface },
        });
      }
    }
    routesOf.dubbo.unshift(...added.dubbo);
    routesOf.sofa.unshift(...added.sofa);
    const result = parseConfigText(JSON.stringify(doc), source, validationContext());
    if (result.snapshot === undefined) {
      return { errors: result.errors.map((e) => `${e.path}: ${e.message}`) };
    }
    return { snapshot: result.snapshot };
  }
}

/** The router `name` of any server, or a new one in the first server (MOSN creates `dubbo` at start). */
function findOrAddRouter(servers: Obj[], name: string): Obj {
  for (const s of servers) {
    const found = arr(s["routers"]).find((r) => (r as Obj)["router_config_name"] === name);
    if (found !== undefined) return found as Obj;
  }
  const router: Obj = { router_config_name: name, virtual_hosts: [] };
  const first = servers[0]!;
  first["routers"] = [...arr(first["routers"]), router];
  return router;
}

/** The router's `*` virtual host (where MOSN's AddRoute puts registry routes), created when missing. */
function starVirtualHost(router: Obj): Obj {
  const hosts = (router["virtual_hosts"] ??= []) as Obj[];
  const star = hosts.find((v) => arr(v["domains"]).includes("*"));
  if (star !== undefined) return star;
  const made: Obj = { name: String(router["router_config_name"]), domains: ["*"], routers: [] };
  hosts.push(made);
  return made;
}

/** A route already sending `service == <service>` to the cluster `iface` (the file's own, or ours). */
function routesTo(route: Obj, service: string, iface: string): boolean {
  const match = route["match"] as Obj | undefined;
  const headers = arr(match?.["headers"]) as Obj[];
  const action = route["route"] as Obj | undefined;
  return headers.length === 1 && String(headers[0]!["name"]).toLowerCase() === "service" &&
    headers[0]!["value"] === service && action?.["cluster_name"] === iface;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
