/**
 * Live configuration over ADS: the xDS client's accepted resources, converted into the MOSN document a
 * user would write, merged with the bootstrap's own parts, validated by the same loader as a file, and
 * swapped in whole through `ServingTarget.reload` (one Server, or every worker) — xDS never patches running state.
 *
 * One response of one type is applied at a time: the candidate state (every type's accepted resources,
 * this type's replaced by the response) is converted and validated as a whole; any error is a NACK that
 * names the resource and field, and the previous state keeps serving. RDS names follow the listeners' HTTP
 * connection managers, EDS names the EDS clusters (`service_name`, else the cluster's name).
 *
 * Warming (Envoy's make-before-break): a new listener is not bound until its route table arrives; a new EDS
 * cluster, or one whose update changes its EDS name, is not applied until its ClusterLoadAssignment arrives
 * (the version already running, if any, keeps serving with its endpoints meanwhile). The does-not-exist
 * timer ends either warming. RDS and EDS responses add to what was accepted (SotW never deletes them by
 * omission); a route table or CLA nothing refers to any more is dropped with its subscription. Not yet (see
 * docs/architecture.md "xDS in serve"): Delta, SDS, TLS to the control plane.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import type { Gauge } from "../stats/mod.ts";
import { type ConfigSnapshot, parseConfigText } from "../config/mod.ts";
// Types only: the module (gRPC, protobufjs, Envoy's descriptor) is loaded by `startXds`, so a meshctl
// without dynamic_resources never pays for it.
import type { AdsClient, ApplyResult, DecodedAny } from "../xds/mod.ts";

type XdsModule = typeof import("../xds/mod.ts");

/** Loads the xDS module and builds the runtime (not started). */
export async function createXdsRuntime(options: XdsRuntimeOptions): Promise<XdsRuntime> {
  return new XdsRuntime(options, await import("../xds/mod.ts"));
}
import type { ServingTarget } from "./server.ts";
import { validationContext } from "./validation_context.ts";

type Obj = Record<string, unknown>;

export interface XdsRuntimeOptions {
  /** The bootstrap snapshot (from the config file); its `xds` is set. */
  readonly bootstrap: ConfigSnapshot;
  readonly server: ServingTarget;
  readonly logger: Logger;
  readonly version: string;
}

export class XdsRuntime {
  readonly #server: ServingTarget;
  readonly #logger: Logger;
  readonly #client: AdsClient;
  readonly #x: XdsModule;
  /** The base every composed snapshot starts from: the bootstrap file as parsed. */
  #base: Obj;
  /**
   * The bootstrap file: composed documents are validated as if they were it, so its relative certificate
   * paths resolve as they did, and messages name it.
   */
  #source: string;
  /** Accepted resources per type URL, by name. */
  readonly #accepted = new Map<string, ReadonlyMap<string, Obj>>();
  /**
   * Route tables the does-not-exist timer gave up on: a listener waiting for one stops warming and serves
   * with an empty table (Envoy finishes warming the same way).
   */
  readonly #absentRoutes = new Set<string>();
  /** EDS names the does-not-exist timer gave up on: their clusters stop warming, with no hosts. */
  readonly #absentEndpoints = new Set<string>();
  /** The bootstrap's `dynamic_resources.ignore_filters`: filters the converter skips instead of NACKing. */
  #ignoreFilters: readonly string[];
  /** Logs each conversion warning and skipped filter once; counts skips (`filters_skipped`). */
  readonly #notes: InstanceType<XdsModule["ConversionNotes"]>;
  /** xDS listeners in the last applied snapshot (a listener warms only when it is new). */
  #running = new Set<string>();
  /**
   * The Cluster resources in the last applied snapshot, by name: while an update of one warms, this
   * version keeps serving.
   */
  #appliedClusters = new Map<string, Obj>();
  /** What the last composed state left warming (config_dump, readiness). */
  #warming: Warming = { clusters: [], listeners: [] };
  /** Latched once the initial fetch is done and nothing warms (Envoy's init manager completes once). */
  #initialized = false;
  /**
   * Gauges `xds{control_plane=ads}` `warming_clusters` / `warming_listeners` (Envoy's
   * cluster_manager.warming_clusters, listener_manager.total_listeners_warming).
   */
  readonly #warmingClusters: Gauge;
  readonly #warmingListeners: Gauge;
  /** RDS/EDS once first named. */
  readonly #named = new Set<string>();
  /** Reloads run one after another, in the order responses were accepted. */
  #reloads: Promise<void> = Promise.resolve();
  /**
   * Reloads accepted but not yet applied: `/ready` waits for them too, since with workers applying takes a
   * message round trip to every worker after the ACK, and "ready" must mean the whole process serves it.
   */
  #reloadsQueued = 0;

  /** Use `createXdsRuntime`, which loads `x`. */
  constructor(options: XdsRuntimeOptions, x: XdsModule) {
    this.#x = x;
    const { AdsClient, decodeResource, TYPE_URL } = x;
    const xds = options.bootstrap.xds;
    if (xds === undefined) throw new Error("XdsRuntime needs a bootstrap with dynamic_resources");
    this.#server = options.server;
    this.#logger = options.logger;
    this.#base = options.bootstrap.raw as Obj;
    this.#source = options.bootstrap.source;
    const stats = options.server.registry.scope("xds", { control_plane: "ads" });
    this.#warmingClusters = stats.gauge("warming_clusters");
    this.#warmingListeners = stats.gauge("warming_listeners");
    this.#ignoreFilters = xds.ignoreFilters;
    const skipped = stats.counter("filters_skipped");
    this.#notes = new x.ConversionNotes(options.logger, () => skipped.inc());
    const cluster = options.bootstrap.clusters.find((c) => c.name === xds.adsCluster);
    const host = cluster?.hosts[0];
    if (host === undefined) throw new Error(`ADS cluster "${xds.adsCluster}" has no host to dial`);
    const node = xds.node;
    this.#client = new AdsClient({
      target: `${host.address.hostname}:${host.address.port}`,
      node: {
        id: node.id,
        cluster: node.cluster,
        metadata: structOf(node.metadata),
        user_agent_name: node.userAgentName ?? "meshctl",
        user_agent_version: node.userAgentVersion ?? options.version,
        client_features: [...node.clientFeatures],
        ...(node.locality === undefined ? {} : {
          locality: {
            region: node.locality.region,
            zone: node.locality.zone,
            sub_zone: node.locality.subZone,
          },
        }),
      },
      initialFetchTimeoutMs: xds.initialFetchTimeoutMs,
      maxReceiveMessageBytes: xds.maxReceiveMessageBytes,
      keepaliveTimeMs: xds.keepaliveIntervalMs,
      keepaliveTimeoutMs: xds.keepaliveTimeoutMs,
      registry: options.server.registry,
      logger: options.logger,
      decode: (typeUrl, bytes) => decodeResource(typeUrl, bytes) as Obj,
      apply: (typeUrl, resources, version) => this.#apply(typeUrl, resources, version),
      onDoesNotExist: (typeUrl, name) => this.#absent(typeUrl, name),
    });
    if (xds.subscribeCds) this.#client.setNames(TYPE_URL.cluster, ["*"]);
    if (xds.subscribeLds) this.#client.setNames(TYPE_URL.listener, ["*"]);
  }

  start(): void {
    this.#client.start();
  }

  close(): void {
    this.#client.close();
  }

  /**
   * `/ready`: every subscribed type had its first response applied (or its initial_fetch_timeout passed)
   * and the clusters and listeners of that initial configuration finished warming. Once true, stays true.
   */
  isReady(): boolean {
    if (
      !this.#initialized && this.#client.isReady() && this.#warming.clusters.length === 0 &&
      this.#warming.listeners.length === 0 && this.#reloadsQueued === 0
    ) this.#initialized = true;
    return this.#initialized;
  }

  /** config_dump's `xds_status`: the client's per-type state plus what is warming. */
  describe(): ReturnType<AdsClient["describe"]> & { warming: Warming } {
    return { ...this.#client.describe(), warming: this.#warming };
  }

  /** The reloads applied so far have settled (tests wait on this). */
  settled(): Promise<void> {
    return this.#reloads;
  }

  /**
   * A reloaded bootstrap file (SIGHUP, certificate change): the accepted xDS resources composed onto it.
   * Throws with every problem when the combination does not validate (the caller keeps the old config).
   */
  rebase(bootstrap: ConfigSnapshot): ConfigSnapshot {
    const base = bootstrap.raw as Obj;
    const previousIgnored = this.#ignoreFilters;
    this.#ignoreFilters = bootstrap.xds?.ignoreFilters ?? [];
    const composed = this.#compose(base, bootstrap.source, this.#accepted);
    if ("errors" in composed) {
      this.#ignoreFilters = previousIgnored;
      throw new Error(composed.errors.join("\n"));
    }
    this.#base = base;
    this.#source = bootstrap.source;
    this.#commit(composed);
    return composed.snapshot;
  }

  #apply(typeUrl: string, resources: ReadonlyMap<string, Obj>, version: string): ApplyResult {
    const { TYPE_URL } = this.#x;
    const candidate = new Map(this.#accepted);
    // SotW: LDS/CDS responses are the whole set; RDS/EDS ones carry what changed (Envoy keeps the others).
    const additive = typeUrl === TYPE_URL.route || typeUrl === TYPE_URL.endpoint;
    candidate.set(
      typeUrl,
      additive ? new Map([...(this.#accepted.get(typeUrl) ?? []), ...resources]) : resources,
    );
    const composed = this.#compose(this.#base, this.#source, candidate);
    if ("errors" in composed) {
      this.#logger.warn("xDS update rejected (NACK)", {
        type: typeUrl,
        version,
        errors: composed.errors.length,
      });
      return { ok: false, message: composed.errors.join("\n") };
    }
    this.#accepted.clear();
    for (const [t, m] of candidate) this.#accepted.set(t, m);
    this.#commit(composed);
    this.#reload(composed.snapshot, { type: typeUrl, version });
    return { ok: true };
  }

  /** A named resource did not arrive within initial_fetch_timeout of its subscription. */
  #absent(typeUrl: string, name: string): void {
    this.#logger.warn("xDS resource does not exist (initial_fetch_timeout passed)", { type: typeUrl, name });
    const { TYPE_URL } = this.#x;
    const absent = typeUrl === TYPE_URL.route
      ? this.#absentRoutes
      : typeUrl === TYPE_URL.endpoint
      ? this.#absentEndpoints
      : undefined;
    if (absent === undefined || absent.has(name)) return;
    absent.add(name);
    const composed = this.#compose(this.#base, this.#source, this.#accepted);
    if ("errors" in composed) return; // the state was valid when accepted; nothing new to apply
    this.#commit(composed);
    this.#reload(composed.snapshot, { warming_ended_without: name });
  }

  /**
   * Makes `composed` the current state: what runs, what warms, and the RDS/EDS subscriptions (a route table
   * or CLA nothing names any more is forgotten, as Envoy drops a resource with its last watcher).
   */
  #commit(composed: Composed): void {
    const { TYPE_URL } = this.#x;
    this.#running = new Set(composed.listenerNames);
    this.#appliedClusters = composed.appliedClusters;
    this.#warming = composed.warming;
    this.#warmingClusters.set(composed.warming.clusters.length);
    this.#warmingListeners.set(composed.warming.listeners.length);
    for (
      const [typeUrl, names, absent] of [
        [TYPE_URL.route, composed.rdsNames, this.#absentRoutes],
        [TYPE_URL.endpoint, composed.edsNames, this.#absentEndpoints],
      ] as const
    ) {
      const wanted = new Set(names);
      const kept = this.#accepted.get(typeUrl);
      if (kept !== undefined) {
        this.#accepted.set(typeUrl, new Map([...kept].filter(([n]) => wanted.has(n))));
      }
      for (const n of [...absent]) if (!wanted.has(n)) absent.delete(n);
    }
    this.#subscribeDependents(composed.rdsNames, composed.edsNames);
  }

  /** Queues `snapshot` behind the reloads before it (they apply in the order they were accepted). */
  #reload(snapshot: ConfigSnapshot, context: Record<string, unknown>): void {
    this.#reloadsQueued++;
    this.#reloads = this.#reloads.then(async () => {
      try {
        const summary = await this.#server.reload(snapshot);
        this.#logger.info("xDS config applied", { ...context, ...summary });
      } catch (e) {
        this.#logger.error("xDS config could not be applied", { ...context, error: String(e) });
      } finally {
        this.#reloadsQueued--;
      }
    });
  }

  /** Named types are subscribed once something names them (an empty first request would read as "all"). */
  #subscribeDependents(rdsNames: readonly string[], edsNames: readonly string[]): void {
    const { TYPE_URL } = this.#x;
    for (const [typeUrl, names] of [[TYPE_URL.route, rdsNames], [TYPE_URL.endpoint, edsNames]] as const) {
      if (names.length === 0 && !this.#named.has(typeUrl)) continue;
      this.#named.add(typeUrl);
      this.#client.setNames(typeUrl, names);
    }
  }

  /**
   * Converts and validates `state` on `base`: the snapshot to apply, or every error (NACK text).
   *
   * Cluster warming: an EDS cluster whose CLA has not arrived (and was not given up on) is not applied; the
   * version running now, if any, stays instead. Its new version is still checked whole (converted and
   * validated with no hosts), so a bad one is refused when it is sent, not when its endpoints come.
   */
  #compose(base: Obj, source: string, state: ReadonlyMap<string, ReadonlyMap<string, Obj>>): Composed | {
    errors: string[];
  } {
    const { edsServiceName, TYPE_URL } = this.#x;
    const endpoints = state.get(TYPE_URL.endpoint) ?? new Map<string, Obj>();
    const wanted = state.get(TYPE_URL.cluster) ?? new Map<string, Obj>();
    const applied = new Map<string, Obj>();
    const warmingClusters: string[] = [];
    for (const [name, c] of wanted) {
      const eds = c["type"] === "EDS" ? edsServiceName(c as DecodedAny) : undefined;
      const gaveUp = this.#absentEndpoints.has(eds ?? "") && !waitsForEndpointsForever(c);
      if (eds === undefined || endpoints.has(eds) || gaveUp) {
        applied.set(name, c);
        continue;
      }
      warmingClusters.push(name);
      const running = this.#appliedClusters.get(name);
      if (running !== undefined) applied.set(name, running);
    }
    if (warmingClusters.length > 0) {
      const whole = this.#build(base, source, state, wanted);
      if ("errors" in whole) return whole;
    }
    const built = this.#build(base, source, state, applied);
    if ("errors" in built) return built;
    // EDS names: the clusters to be, and the versions serving while those warm (their endpoints stay).
    const edsNames = new Set<string>();
    for (const c of [...wanted.values(), ...applied.values()]) {
      if (c["type"] === "EDS") edsNames.add(edsServiceName(c as DecodedAny));
    }
    return {
      ...built,
      appliedClusters: applied,
      edsNames: [...edsNames].sort(),
      warming: { clusters: warmingClusters.sort(), listeners: built.warmingListeners },
    };
  }

  /** `state` with `clusters` as its CDS resources, converted onto `base` and validated as `source`. */
  #build(
    base: Obj,
    source: string,
    state: ReadonlyMap<string, ReadonlyMap<string, Obj>>,
    clusterResources: ReadonlyMap<string, Obj>,
  ):
    | { snapshot: ConfigSnapshot; listenerNames: string[]; rdsNames: string[]; warmingListeners: string[] }
    | { errors: string[] } {
    const { convertXdsResources, mosnDocument, TYPE_URL } = this.#x;
    const of = (t: string) => [...(state.get(t)?.values() ?? [])] as DecodedAny[];
    const clusters = [...clusterResources.values()] as DecodedAny[];
    const routes = of(TYPE_URL.route);
    const converted = convertXdsResources({
      listeners: of(TYPE_URL.listener),
      routes,
      clusters,
      endpoints: of(TYPE_URL.endpoint),
    }, { ignoreFilters: this.#ignoreFilters });
    if (converted.errors.length > 0) return { errors: converted.errors };
    this.#notes.report(converted); // approximations and skipped filters: logged once each, skips counted
    // Envoy accepts a route to a cluster it does not know yet and answers "no healthy upstream" until it
    // arrives (CDS and RDS are independent); a cluster with no hosts does that here (meshctl's 502).
    const known = new Set(baseClusterNames(base));
    const placeholders = converted.unknownClusters.filter((n) => !known.has(n)).map((name) => ({
      name,
      type: "SIMPLE",
      lb_type: "LB_ROUNDROBIN",
      hosts: [],
    }));
    // Listener warming (Envoy's): a new listener whose route table has not arrived (RDS follows LDS) is
    // not bound until it has. A running listener updated to a table not yet here gets an empty one (404
    // until it arrives) rather than being torn down.
    const missing = new Set(converted.missingRoutes);
    const listeners = converted.listeners.filter((l) =>
      !routerNamesOf(l).some((n) => missing.has(n) && !this.#absentRoutes.has(n)) ||
      this.#running.has(String(l["name"]))
    );
    const emptyRouters = converted.missingRoutes.map((name) => ({
      router_config_name: name,
      virtual_hosts: [],
    }));
    const doc = mosnDocument({
      ...converted,
      listeners,
      clusters: [...converted.clusters, ...placeholders],
      routers: [...converted.routers, ...emptyRouters],
    }, base);
    const result = parseConfigText(JSON.stringify(doc), source, validationContext());
    if (result.snapshot === undefined) {
      return { errors: result.errors.map((e) => `${resourceOf(doc, e.path)}${e.path}: ${e.message}`) };
    }
    const rdsResourceNames = new Set(routes.map((r) => String(r["name"])));
    const inline = new Set(
      converted.routers.map((r) => String(r["router_config_name"])).filter((n) => !rdsResourceNames.has(n)),
    );
    const rdsNames = new Set<string>();
    for (const l of converted.listeners) { // warming ones included: their tables are what they wait for
      for (const name of routerNamesOf(l)) if (!inline.has(name)) rdsNames.add(name);
    }
    const bound = new Set(listeners.map((l) => String(l["name"])));
    return {
      snapshot: result.snapshot,
      listenerNames: [...bound],
      rdsNames: [...rdsNames].sort(),
      warmingListeners: converted.listeners.map((l) => String(l["name"])).filter((n) => !bound.has(n)).sort(),
    };
  }
}

/** What warms: not in the applied snapshot yet (or, for a cluster update, its previous version still is). */
export interface Warming {
  readonly clusters: readonly string[];
  readonly listeners: readonly string[];
}

/** A composed state, ready to apply. */
interface Composed {
  readonly snapshot: ConfigSnapshot;
  readonly listenerNames: readonly string[];
  readonly rdsNames: readonly string[];
  readonly edsNames: readonly string[];
  readonly appliedClusters: Map<string, Obj>;
  readonly warming: Warming;
}

/**
 * Which xDS resource a validation error's MOSN path falls in, as the converter names them
 * (`Listener "x": `), so a NACK says what the control plane sent; "" for the bootstrap's own parts.
 */
function resourceOf(doc: Obj, path: string): string {
  const m = /^(servers\[0\]\.listeners|servers\[0\]\.routers|cluster_manager\.clusters)\[(\d+)\]/.exec(path);
  if (m === null) return "";
  const [list, kind, key] = m[1] === "servers[0].listeners"
    ? [arr((arr(doc["servers"])[0] as Obj)["listeners"]), "Listener", "name"]
    : m[1] === "servers[0].routers"
    ? [arr((arr(doc["servers"])[0] as Obj)["routers"]), "RouteConfiguration", "router_config_name"]
    : [arr((doc["cluster_manager"] as Obj)["clusters"]), "Cluster", "name"];
  const name = (list[Number(m[2])] as Obj | undefined)?.[key];
  return typeof name === "string" ? `${kind} "${name}": ` : "";
}

/**
 * A cluster whose `eds_config.initial_fetch_timeout` is 0 (istiod sends this on every EDS cluster) warms
 * until its CLA comes, however long: Envoy arms no timer for it. Any other per-cluster value is served by
 * the bootstrap's timer (the ADS client has one per type).
 */
function waitsForEndpointsForever(cluster: Obj): boolean {
  const edsConfig = (cluster["eds_cluster_config"] as Obj | undefined)?.["eds_config"] as Obj | undefined;
  const t = edsConfig?.["initial_fetch_timeout"] as Obj | undefined;
  return t !== undefined && Number(t["seconds"] ?? 0) === 0 && Number(t["nanos"] ?? 0) === 0;
}

/** The route tables a converted MOSN listener's proxy filters name. */
function routerNamesOf(listener: Obj): string[] {
  const names: string[] = [];
  for (const chain of arr(listener["filter_chains"])) {
    for (const f of arr((chain as Obj)["filters"])) {
      const name = ((f as Obj)["config"] as Obj | undefined)?.["router_config_name"];
      if (typeof name === "string" && name !== "") names.push(name);
    }
  }
  return names;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function baseClusterNames(base: Obj): string[] {
  const names: string[] = [];
  for (const c of arr((base["cluster_manager"] as Obj | undefined)?.["clusters"])) {
    names.push(String((c as Obj)["name"]));
  }
  for (const c of arr((base["static_resources"] as Obj | undefined)?.["clusters"])) {
    names.push(String((c as Obj)["name"]));
  }
  return names;
}

/** A JSON object as a google.protobuf.Struct (the node's metadata). */
function structOf(o: Readonly<Record<string, unknown>>): Obj {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, valueOf(v)])) };
}

function valueOf(v: unknown): Obj {
  if (v === null || v === undefined) return { null_value: "NULL_VALUE" };
  if (typeof v === "number") return { number_value: v };
  if (typeof v === "boolean") return { bool_value: v };
  if (typeof v === "string") return { string_value: v };
  if (Array.isArray(v)) return { list_value: { values: v.map(valueOf) } };
  return { struct_value: structOf(v as Record<string, unknown>) };
}
