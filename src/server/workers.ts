/**
 * Workers across cores (`meshctl serve --concurrency N`, N ≥ 2), Envoy's threading model: N worker threads
 * (Deno module workers: each its own isolate and event loop) each run every listener on the same addresses
 * with SO_REUSEPORT, the proxy and their own upstream pools; this main thread owns config (reload, SIGHUP),
 * the admin server and the stats view. A new snapshot is sent whole to every worker, which builds and swaps
 * in its own Runtime; the reload is reported applied once every worker has swapped.
 * @module
 */
import {
  clusterCounterNames,
  formatAddress,
  listenerCounterName,
  type LogFormat,
  type Logger,
  type LogLevel,
  SharedCounters,
} from "../core/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import { type Counter, type ScopeRaw, StatsRegistry } from "../stats/mod.ts";
import { type AdminServer, startAdmin } from "../admin/mod.ts";
import {
  type BoundAddresses,
  type ReloadSummary,
  type ServingTarget,
  startAdminOrAwaitHandover,
} from "./server.ts";
import type { MainToWorker, WorkerToMain } from "./worker_protocol.ts";
import { MainThreadHealth } from "./shared_health.ts";

export interface WorkerPoolOptions {
  readonly snapshot: ConfigSnapshot;
  /** How many worker threads (≥ 1; the CLI runs in-process without workers for 1). */
  readonly count: number;
  readonly logger: Logger;
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly version: string;
  readonly onAddressesChange?: (addresses: BoundAddresses) => void;
  /** A worker died (a bug that escaped its handlers, or out of memory): the process must exit non-zero. */
  readonly onWorkerDied: (worker: number, error: string) => void;
  /** How long a stats read waits for a worker before using the worker's previous answer (default 2 s). */
  readonly statsTimeoutMs?: number;
}

/** Longest a worker may take to bind its listeners or to apply a reload. */
const WORKER_REPLY_TIMEOUT_MS = 60_000;
const DEFAULT_STATS_TIMEOUT_MS = 2_000;

class WorkerHandle {
  readonly id: number;
  readonly #worker: Worker;
  readonly #waiters = new Map<string, (m: WorkerToMain) => void>();
  /** The worker's stats as of its last answer. */
  lastStats: readonly ScopeRaw[] = [];
  addresses: BoundAddresses = { admin: "", listeners: {} };
  alive = true;

  constructor(id: number, onMessage: (m: WorkerToMain) => void, onDied: (error: string) => void) {
    this.id = id;
    this.#worker = new Worker(new URL("./worker_main.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<WorkerToMain>) => {
      const m = e.data;
      const key = replyKey(m);
      const waiter = this.#waiters.get(key);
      if (waiter !== undefined) {
        this.#waiters.delete(key);
        waiter(m);
      } else onMessage(m);
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.alive = false;
      onDied(e.message ?? String(e));
    };
  }

  send(message: MainToWorker): void {
    this.#worker.postMessage(message);
  }

  /** Sends `message` and resolves with the reply keyed `key` (or undefined after `timeoutMs`). */
  request(message: MainToWorker, key: string, timeoutMs: number): Promise<WorkerToMain | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.set(key, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.send(message);
    });
  }

  terminate(): void {
    this.alive = false;
    this.#worker.terminate();
  }
}

/**
 * The main thread of a multi-worker process. Quacks like `Server` where `ConfigReloader` and `serve` need it
 * (`registry`, `runtime.snapshot`, `reload`, `addresses`, `stop`).
 */
export class WorkerPool implements ServingTarget {
  /** The process's stats view: this thread's own metrics plus every worker's, summed on read. */
  readonly registry = new StatsRegistry();
  readonly #options: WorkerPoolOptions;
  readonly #logger: Logger;
  #snapshot: ConfigSnapshot;
  #workers: WorkerHandle[] = [];
  #admin: AdminServer | undefined;
  #ready = false;
  /** Set by `setDynamicConfig` (xDS): `/ready` also waits for it; config_dump shows `xds_status`. */
  #readyGate: (() => boolean) | undefined;
  #dynamicStatus: (() => unknown) | undefined;
  #seq = 0;
  /** Stats reads that used a worker's previous answer because it did not answer in time. */
  readonly #statsTimeouts: Counter;
  #stopping = false;
  /** Spread between the first and the last worker applying the last reload, for logs and tests. */
  lastReloadSpreadMs = 0;
  /** Circuit breakers and listener max_connections, counted once for all workers (slots by name). */
  readonly #limits: SharedCounters;
  /** Active checks and outlier decisions, once for the process (shared_health.ts). */
  #health: MainThreadHealth | undefined;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#snapshot = options.snapshot;
    const meta = this.registry.scope("meta", { workers: "process" });
    this.#statsTimeouts = meta.counter("worker_stats_timeout_total");
    meta.gauge("workers").set(options.count);
    this.#limits = this.#sharedLimits(options.snapshot.limits.sharedCounterSlots);
  }

  /** The slot table every worker counts limits in; a full table is logged and counted. */
  #sharedLimits(capacity: number): SharedCounters {
    const limits = SharedCounters.create(capacity);
    const scope = this.registry.scope("meta", { limits: "process" });
    const exhausted = scope.counter("shared_counter_slots_exhausted_total");
    const used = scope.gauge("shared_counter_slots_used");
    this.registry.addCollector(() => used.set(limits.used));
    limits.onOverflow = (name) => {
      exhausted.inc();
      this.#logger.warn(
        "shared limit table full: this limit is counted per worker (N× the configured value)",
        {
          name,
          slots: capacity,
          knob: "limits.shared_counter_slots",
        },
      );
    };
    return limits;
  }

  /** Gives `snapshot`'s clusters and listeners their slots and tells `w` (before it sees the snapshot). */
  #sendSharedLimits(w: WorkerHandle, snapshot: ConfigSnapshot): void {
    w.send({ type: "shared_limits", table: this.#limits.assign(limitNames(snapshot)) });
  }

  /** As `Server.setDynamicConfig`: the control plane's readiness and status, served by this admin. */
  setDynamicConfig(ready: () => boolean, status: () => unknown): void {
    this.#readyGate = ready;
    this.#dynamicStatus = status;
  }

  get runtime(): { readonly snapshot: ConfigSnapshot } {
    return { snapshot: this.#snapshot };
  }

  get adminAddress() {
    return this.#admin?.addr;
  }

  get addresses(): BoundAddresses {
    return {
      admin: this.#admin === undefined ? "" : formatAddress(this.#admin.addr),
      listeners: this.#workers[0]?.addresses.listeners ?? {},
    };
  }

  /**
   * Starts worker 0, then (every port-0 listener pinned to the port it got) the others, then the admin
   * server. On any failure stops what started and throws.
   */
  async start(): Promise<void> {
    probeExclusiveBinds(this.#snapshot, undefined);
    try {
      // All spawned at once: each loads and compiles the module graph in parallel with the others.
      const [first, ...rest] = Array.from({ length: this.#options.count }, (_, i) => this.#spawn(i));
      await this.#startWorker(first!, this.#snapshot);
      const pinned = pinPorts(this.#snapshot, first!.addresses);
      await Promise.all(rest.map((w) => this.#startWorker(w, pinned)));
      const snap = this.#snapshot;
      this.#admin = await startAdminOrAwaitHandover(
        () =>
          startAdmin({
            hostname: snap.admin.address.hostname,
            port: snap.admin.address.port,
            registry: this.registry,
            configDump: () => {
              const raw = this.#snapshot.raw;
              const dynamic = this.#dynamicStatus?.();
              return dynamic === undefined
                ? raw
                : { ...(raw as Record<string, unknown>), xds_status: dynamic };
            },
            ready: () => this.#ready && (this.#readyGate?.() ?? true),
            version: this.#options.version,
            logger: this.#logger,
            refreshStats: () => this.#refreshStats(),
          }),
        hasReusePort(snap),
        snap,
        this.#logger,
      );
    } catch (e) {
      for (const w of this.#workers) w.terminate();
      throw e;
    }
    for (const w of this.#workers) {
      this.registry.addRemote(() => [...w.lastStats, workerScope(w)]);
    }
    this.#startHealth();
    this.#ready = true;
    this.#logger.info("workers started", { workers: this.#workers.length });
  }

  /**
   * Active checks and outlier ejections run here once for the process; every worker gets each host
   * health change (workers started before: they have every listener, and no host was decided yet).
   */
  #startHealth(): void {
    this.#health = new MainThreadHealth(this.registry, this.#logger, (updates) => {
      for (const w of this.#workers) if (w.alive) w.send({ type: "host_health", updates });
    });
    this.#health.apply(this.#snapshot);
  }

  #spawn(id: number): WorkerHandle {
    const w = new WorkerHandle(id, (m) => this.#onMessage(w, m), (error) => {
      if (this.#stopping) return;
      this.#logger.error("worker died; exiting", { worker: id, error });
      this.#options.onWorkerDied(id, error);
    });
    this.#workers.push(w);
    return w;
  }

  async #startWorker(w: WorkerHandle, snapshot: ConfigSnapshot): Promise<void> {
    const { level, format, version } = this.#options;
    this.#sendSharedLimits(w, snapshot);
    const reply = await w.request(
      { type: "start", worker: w.id, snapshot, level, format, version },
      "started",
      WORKER_REPLY_TIMEOUT_MS,
    );
    if (reply === undefined) throw new Error(`worker ${w.id} did not start in ${WORKER_REPLY_TIMEOUT_MS} ms`);
    if (reply.type === "start_failed") throw new Error(reply.error);
    if (reply.type === "started") w.addresses = reply.addresses;
  }

  #onMessage(w: WorkerHandle, m: WorkerToMain): void {
    if (m.type === "outlier_detected") {
      this.#health?.outlierDetected(m.cluster, m.address, m.ejection);
      return;
    }
    if (m.type === "outlier_interval") {
      this.#health?.outlierInterval(m.cluster, m.counts);
      return;
    }
    if (m.type === "addresses") {
      w.addresses = m.addresses;
      if (w.id === 0) this.#options.onAddressesChange?.(this.addresses);
    }
  }

  /** Asks every worker for its stats; one that does not answer in time keeps its previous answer. */
  async #refreshStats(): Promise<void> {
    const seq = ++this.#seq;
    const timeout = this.#options.statsTimeoutMs ?? DEFAULT_STATS_TIMEOUT_MS;
    await Promise.all(
      this.#workers.filter((w) => w.alive).map(async (w) => {
        const reply = await w.request({ type: "stats", seq }, `stats:${seq}`, timeout);
        if (reply?.type === "stats") w.lastStats = reply.scopes;
        else this.#statsTimeouts.inc();
      }),
    );
  }

  /**
   * Sends `snapshot` to every worker and resolves once each has swapped it in (worker 0 first when a new
   * listener asks for port 0, so the others bind the port it got). Throws if a worker refused it.
   */
  async reload(snapshot: ConfigSnapshot): Promise<ReloadSummary> {
    probeExclusiveBinds(snapshot, this.#snapshot);
    const seq = ++this.#seq;
    const ask = (w: WorkerHandle, s: ConfigSnapshot) => {
      this.#sendSharedLimits(w, s);
      return w.request({ type: "reload", seq, snapshot: s }, `reloaded:${seq}`, WORKER_REPLY_TIMEOUT_MS);
    };
    const [first, ...rest] = this.#workers;
    const replies: (WorkerToMain | undefined)[] = [];
    if (hasPortZero(snapshot)) {
      const r0 = await ask(first!, snapshot);
      replies.push(r0);
      const pinned = r0?.type === "reloaded" ? pinPorts(snapshot, r0.addresses) : snapshot;
      replies.push(...await Promise.all(rest.map((w) => ask(w, pinned))));
    } else {
      replies.push(...await Promise.all(this.#workers.map((w) => ask(w, snapshot))));
    }
    const failed = replies.map((r, i) => [r, i] as const).filter(([r]) => r?.type !== "reloaded");
    const applied = replies.filter((r): r is Extract<WorkerToMain, { type: "reloaded" }> =>
      r?.type === "reloaded"
    );
    replies.forEach((r, i) => {
      if (r?.type === "reloaded") this.#workers[i]!.addresses = r.addresses;
    });
    if (applied.length > 0) {
      const times = applied.map((r) => r.appliedAt);
      this.lastReloadSpreadMs = Math.max(...times) - Math.min(...times);
    }
    if (failed.length > 0) {
      const why = failed.map(([r, i]) =>
        `worker ${i}: ${r?.type === "reload_failed" ? r.error : "no answer in time"}`
      );
      if (applied.length > 0) {
        this.#snapshot = snapshot;
        this.#health?.apply(snapshot);
      }
      throw new Error(
        `${applied.length} of ${this.#workers.length} workers applied the new config; ${why.join("; ")}`,
      );
    }
    this.#snapshot = snapshot;
    this.#health?.apply(snapshot);
    this.#options.onAddressesChange?.(this.addresses);
    const summary = (applied[0] as Extract<WorkerToMain, { type: "reloaded" }>).summary;
    return {
      ...summary,
      workers: this.#workers.length,
      spread_ms: round(this.lastReloadSpreadMs),
    } as ReloadSummary;
  }

  /** Drains every worker (as `Server.stop` does in each), then stops the admin server. */
  async stop(drainTimeoutMs?: number): Promise<void> {
    this.#ready = false;
    this.#stopping = true;
    // Restart without downtime: a successor on our reuseport listeners may be waiting for the admin
    // address; hand it over before the drain, as the in-process Server does.
    if (hasReusePort(this.#snapshot)) await this.#admin?.shutdown();
    this.#health?.stop();
    // Two phases, as Envoy stops every worker's listeners before draining: with SO_REUSEPORT each worker has
    // its own accept queue, and a client that reconnects when told to (Connection: close, GOAWAY) would
    // otherwise land in the queue of a sibling that closes its socket next, and be reset.
    await Promise.all(
      this.#workers.filter((w) => w.alive).map((w) =>
        w.request({ type: "stop_accepting" }, "stopped_accepting", WORKER_REPLY_TIMEOUT_MS)
      ),
    );
    await Promise.all(
      this.#workers.filter((w) => w.alive).map(async (w) => {
        await w.request(
          { type: "stop", drainMs: drainTimeoutMs },
          "stopped",
          (drainTimeoutMs ?? 30_000) + 30_000,
        );
        w.terminate();
      }),
    );
    await this.#admin?.shutdown();
  }
}

/**
 * The guard against a stray second process. Workers bind every listener with SO_REUSEPORT, so a second
 * meshctl on the same config would share its ports silently instead of failing. Before workers bind, each
 * listener on a fixed port that the config does not mark `reuseport: true` (the explicit opt-in to a
 * restart-without-downtime takeover) is bound here once WITHOUT SO_REUSEPORT and closed at once: if someone
 * listens there, that fails with the same "address already in use" as N = 1. `current`: the snapshot being
 * served (a reload probes only listeners it does not already run on that address).
 */
export function probeExclusiveBinds(snapshot: ConfigSnapshot, current: ConfigSnapshot | undefined): void {
  const running = new Set<string>();
  for (const s of current?.servers ?? []) {
    for (const l of s.listeners) running.add(`${l.name} ${l.address.hostname}:${l.address.port}`);
  }
  for (const s of snapshot.servers) {
    for (const l of s.listeners) {
      const { hostname, port } = l.address;
      if (port === 0 || l.reusePort || running.has(`${l.name} ${hostname}:${port}`)) continue;
      let probe: Deno.TcpListener;
      try {
        probe = Deno.listen({ hostname, port, transport: "tcp" });
      } catch (e) {
        const why = e instanceof Deno.errors.AddrInUse ? "address already in use" : (e as Error).message;
        throw new Error(`Cannot bind listener "${l.name}" on ${hostname}:${port}: ${why}`);
      }
      probe.close();
    }
  }
}

/** Which request a reply answers: "started", "stopped", "reloaded:<seq>", "stats:<seq>". */
function replyKey(m: WorkerToMain): string {
  switch (m.type) {
    case "started":
    case "start_failed":
      return "started";
    case "reloaded":
    case "reload_failed":
      return `reloaded:${m.seq}`;
    case "stats":
      return `stats:${m.seq}`;
    default:
      return m.type;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Per worker: its downstream connections and requests, so one can see how the kernel spread them. */
function workerScope(w: WorkerHandle): ScopeRaw {
  let connections = 0;
  let requests = 0;
  for (const s of w.lastStats) {
    if (s.type !== "downstream") continue;
    connections += s.counters["connection_total"] ?? 0;
    requests += s.counters["request_total"] ?? 0;
  }
  return {
    type: "worker",
    labels: { worker: String(w.id) },
    counters: { downstream_connection_total: connections, downstream_request_total: requests },
    gauges: {},
    histograms: {},
  };
}

/** Every limit slot name `snapshot` counts in: 4 per cluster, 1 per listener. */
function limitNames(snapshot: ConfigSnapshot): string[] {
  const names: string[] = [];
  for (const c of snapshot.clusters) names.push(...Object.values(clusterCounterNames(c.name)));
  for (const s of snapshot.servers) for (const l of s.listeners) names.push(listenerCounterName(l.name));
  return names;
}

/** Whether a listener opted in to `reuseport: true` (restart without downtime), before workers force it. */
function hasReusePort(snapshot: ConfigSnapshot): boolean {
  return snapshot.servers.some((s) => s.listeners.some((l) => l.reusePort));
}

function hasPortZero(snapshot: ConfigSnapshot): boolean {
  return snapshot.servers.some((s) => s.listeners.some((l) => l.address.port === 0));
}

/** `snapshot` with every port-0 listener given the port it is bound to in `addresses`. */
export function pinPorts(snapshot: ConfigSnapshot, addresses: BoundAddresses): ConfigSnapshot {
  if (!hasPortZero(snapshot)) return snapshot;
  return {
    ...snapshot,
    servers: snapshot.servers.map((s) => ({
      ...s,
      listeners: s.listeners.map((l) => {
        const bound = addresses.listeners[l.name];
        if (l.address.port !== 0 || bound === undefined) return l;
        const port = Number(bound.slice(bound.lastIndexOf(":") + 1));
        return { ...l, address: { ...l.address, port } };
      }),
    })),
  };
}
