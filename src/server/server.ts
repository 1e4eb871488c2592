import { ByteBudget, formatAddress, type Logger, SharedCounters, type SocketAddress } from "../core/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import { StatsRegistry } from "../stats/mod.ts";
import { type AdminServer, startAdmin } from "../admin/mod.ts";
import type { AccessLogWriter } from "../accesslog/mod.ts";
import { Listener, type ListenerPlan } from "../listener/mod.ts";
import { CertificateExpiryStats } from "../tls/mod.ts";
import { HealthStore } from "../upstream/mod.ts";
import { Runtime } from "./runtime.ts";

export interface ServerOptions {
  readonly snapshot: ConfigSnapshot;
  readonly logger: Logger;
  readonly version: string;
  /**
   * Called after every successful reload, and again when a listener that had to wait for an old one to
   * release its address is bound. The addresses right after `start()` are in `addresses`.
   */
  readonly onAddressesChange?: (addresses: BoundAddresses) => void;
  /** false: no admin server (a worker thread: the main thread serves admin for the whole process). */
  readonly admin?: boolean;
  /**
   * Where circuit breakers and listener max_connections count. A worker gets the process-wide table
   * (`WorkerPool`); default: plain per-process gauges (no workers, no atomics).
   */
  readonly limits?: SharedCounters;
  /** Host health across reloads (a worker passes the store that follows the main thread's decisions). */
  readonly health?: HealthStore;
}

/** Where the admin API and each listener are actually bound (the OS's pick for port 0). */
export interface BoundAddresses {
  /** "host:port" (IPv6 in brackets). */
  readonly admin: string;
  /** Listener name → "host:port". */
  readonly listeners: Readonly<Record<string, string>>;
}

/** What a reload changed, for the log line and tests. */
/**
 * What the xDS and registry runtimes drive: one `Server`, or the `WorkerPool` that fans a snapshot out to
 * every worker. `registry` is the main thread's stats (xDS and registry stats live there); `reload`
 * resolves once the whole process serves `snapshot` and throws if any part could not apply it.
 */
export interface ServingTarget {
  readonly registry: StatsRegistry;
  readonly addresses: BoundAddresses;
  reload(snapshot: ConfigSnapshot): Promise<ReloadSummary>;
  setDynamicConfig(ready: () => boolean, status: () => unknown): void;
}

export interface ReloadSummary {
  readonly kept: string[];
  readonly added: string[];
  readonly removed: string[];
}

/**
 * The composition root: the stats registry, the admin server, the bound listeners and the Runtime of
 * the current config snapshot. `reload` swaps in a whole new Runtime: listeners keep their sockets.
 */
export class Server implements ServingTarget {
  readonly registry = new StatsRegistry();
  /** Host health across reloads: a host that stays keeps its active-check and ejection state. */
  readonly health: HealthStore;
  readonly #logger: Logger;
  readonly #version: string;
  readonly #writers = new Map<string, AccessLogWriter>();
  /** Bytes all connections together hold in incomplete frames (`limits.max_buffered_bytes`). */
  readonly budget: ByteBudget;
  /** Limit gauges by name (`core/shared_counters`), shared by every runtime of this server. */
  readonly limits: SharedCounters;
  readonly #onAddressesChange: ((addresses: BoundAddresses) => void) | undefined;
  readonly #withAdmin: boolean;
  /** What each running listener's `start()` bound. */
  readonly #bound = new WeakMap<Listener, SocketAddress>();
  #runtime: Runtime;
  #listeners = new Map<string, Listener>();
  #admin: AdminServer | undefined;
  #ready = false;
  /** A further condition for `/ready` (xDS: the initial fetch of every subscribed type is done). */
  #readyGate: (() => boolean) | undefined;
  /** What config_dump shows of dynamic configuration (xDS: per type version and last NACK). */
  #dynamicStatus: (() => unknown) | undefined;
  /** Runtimes replaced by a reload, closed once their in-flight requests had time to finish. */
  #retiring = new Set<{ runtime: Runtime; timer: ReturnType<typeof setTimeout> }>();
  /** `tls` gauges: seconds until each loaded certificate expires (issue 10, TLS operations). */
  readonly #certificateExpiry: CertificateExpiryStats;

  constructor(options: ServerOptions) {
    this.#logger = options.logger;
    this.#version = options.version;
    this.#onAddressesChange = options.onAddressesChange;
    this.#withAdmin = options.admin ?? true;
    this.health = options.health ?? new HealthStore();
    this.budget = new ByteBudget(options.snapshot.limits.maxBufferedBytes);
    this.limits = options.limits ?? SharedCounters.local();
    const limits = this.registry.scope("meta", { limits: "process" });
    const held = limits.gauge("buffered_bytes");
    const peak = limits.gauge("buffered_bytes_peak");
    const refused = limits.gauge("buffer_budget_refused");
    this.registry.addCollector(() => {
      held.set(this.budget.used);
      peak.set(this.budget.peak);
      refused.set(this.budget.refused);
    });
    this.#runtime = new Runtime(
      options.snapshot,
      this.registry,
      options.logger,
      this.#writers,
      this.budget,
      this.health,
      this.limits,
    );
    this.#certificateExpiry = new CertificateExpiryStats(this.registry);
    this.#certificateExpiry.update(options.snapshot);
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get adminAddress(): SocketAddress | undefined {
    return this.#admin?.addr;
  }

  get listeners(): ReadonlyMap<string, Listener> {
    return this.#listeners;
  }

  /** The bound admin and listener addresses; empty before `start()`. */
  get addresses(): BoundAddresses {
    const listeners: Record<string, string> = {};
    for (const [name, l] of this.#listeners) {
      const addr = this.#bound.get(l);
      if (addr !== undefined) listeners[name] = formatAddress(addr);
    }
    return { admin: this.#admin === undefined ? "" : formatAddress(this.#admin.addr), listeners };
  }

  /**
   * Config from a control plane: `/ready` also waits for `ready()`, and config_dump shows `status()` as
   * `xds_status`.
   */
  setDynamicConfig(ready: () => boolean, status: () => unknown): void {
    this.#readyGate = ready;
    this.#dynamicStatus = status;
  }

  /** Binds every listener and the admin server; on any failure closes what it bound and throws. */
  async start(): Promise<void> {
    const bound = await this.#bind(this.#runtime.plans);
    const snap = this.#runtime.snapshot;
    const takeover = this.#runtime.plans.some((p) => p.config.reusePort);
    if (this.#withAdmin) {
      try {
        this.#admin = await startAdminOrAwaitHandover(() => this.#startAdmin(), takeover, snap, this.#logger);
      } catch (e) {
        for (const l of bound) l.close();
        this.#runtime.close();
        throw e;
      }
    }
    for (const l of bound) this.#listeners.set(l.name, l);
    this.#publishListenerAddresses();
    this.#ready = true;
  }

  #startAdmin(): AdminServer {
    const snap = this.#runtime.snapshot;
    return startAdmin({
      hostname: snap.admin.address.hostname,
      port: snap.admin.address.port,
      registry: this.registry,
      configDump: () => {
        const raw = this.#runtime.snapshot.raw;
        const dynamic = this.#dynamicStatus?.();
        return dynamic === undefined ? raw : { ...(raw as Record<string, unknown>), xds_status: dynamic };
      },
      ready: () => this.#ready && (this.#readyGate?.() ?? true),
      version: this.#version,
      logger: this.#logger,
    });
  }

  /** Starts listeners for `plans`; if one cannot bind, closes those it started and rethrows. */
  async #bind(plans: readonly ListenerPlan[]): Promise<Listener[]> {
    const started: Listener[] = [];
    try {
      for (const plan of plans) {
        const l = new Listener(plan);
        const addr = await l.start();
        started.push(l);
        this.#bound.set(l, { hostname: addr.hostname, port: addr.port });
        this.#logger.info("listener started", {
          listener: l.name,
          address: `${addr.hostname}:${addr.port}`,
          protocols: plan.proxy
            ? (plan.autoDetect ? `auto(${plan.codecs.map((c) => c.name).join(",")})` : plan.codecs[0]?.name)
            : "tcp",
          tcp_proxy: plan.tcpProxy !== undefined,
          tls: plan.tls !== undefined,
        });
      }
    } catch (e) {
      for (const l of started) l.close();
      throw e;
    }
    return started;
  }

  /**
   * Applies a new snapshot as a whole. Listeners whose name and address are unchanged keep their socket
   * and take the new plan; new ones are bound first, so a bind failure leaves everything as it was;
   * listeners that are gone drain. The old clusters drain and are closed after the graceful timeout.
   * Admin address changes need a restart.
   */
  async reload(snapshot: ConfigSnapshot): Promise<ReloadSummary> {
    const next = new Runtime(
      snapshot,
      this.registry,
      this.#logger,
      this.#writers,
      this.budget,
      this.health,
      this.limits,
    );
    this.budget.limit = snapshot.limits.maxBufferedBytes;
    const kept: [Listener, ListenerPlan][] = [];
    const fresh: ListenerPlan[] = [];
    for (const plan of next.plans) {
      const current = this.#listeners.get(plan.config.name);
      if (
        current !== undefined && sameAddress(current.plan.config.address, plan.config.address) &&
        current.canSwapTo(plan)
      ) {
        kept.push([current, plan]);
      } else fresh.push(plan);
    }
    const keptNames = new Set(kept.map(([l]) => l.name));
    const gone = [...this.#listeners.values()].filter((l) => !keptNames.has(l.name));
    // A listener that moved address must release its old port before the new one can take it (port 0
    // never waits: the OS picks a port nobody holds).
    const mustWait = (p: ListenerPlan) =>
      p.config.address.port !== 0 && gone.some((g) => sameAddress(g.plan.config.address, p.config.address));
    let bound: Listener[];
    try {
      bound = await this.#bind(fresh.filter((p) => !mustWait(p)));
    } catch (e) {
      next.close();
      throw e;
    }
    const old = this.#runtime;
    this.#runtime = next;
    this.#certificateExpiry.update(snapshot);
    for (const [l, plan] of kept) l.swapPlan(plan);
    const drainMs = gracefulTimeout(snapshot);
    for (const l of gone) {
      this.#listeners.delete(l.name);
      void l.drain(drainMs);
    }
    for (const l of bound) this.#listeners.set(l.name, l);
    const rebind = fresh.filter((p) => !bound.some((b) => b.plan === p));
    if (rebind.length > 0) {
      // Same address as a listener that is going away: bind once its socket is released.
      Promise.all(gone.map((g) => g.stopped)).then(async () => {
        for (const l of await this.#bind(rebind)) this.#listeners.set(l.name, l);
        this.#addressesChanged();
      }).catch((e) => this.#logger.error("cannot bind listener after reload", { error: String(e) }));
    }
    // Publish the addresses only once every removed listener's socket is closed: whoever reads them may
    // connect at once, and must be refused rather than queued on a socket that is about to go.
    await Promise.all(gone.map((l) => l.stopAccepting()));
    this.#addressesChanged();
    old.drain();
    const entry = { runtime: old, timer: setTimeout(() => this.#retire(entry), drainMs) };
    this.#retiring.add(entry);
    return {
      kept: kept.map(([l]) => l.name),
      added: fresh.map((p) => p.config.name),
      removed: gone.map((l) => l.name).filter((n) => !fresh.some((p) => p.config.name === n)),
    };
  }

  #addressesChanged(): void {
    this.#publishListenerAddresses();
    this.#onAddressesChange?.(this.addresses);
  }

  /**
   * MOSN's `meta` stats list every bound listener as a gauge `listener_address:<host:port>` = 1. The scope
   * is rebuilt so a removed listener's entry goes away (a scope cannot drop a single gauge).
   */
  #publishListenerAddresses(): void {
    this.registry.removeScope(MOSN_META_TYPE, MOSN_META_LABELS);
    const meta = this.registry.scope(MOSN_META_TYPE, MOSN_META_LABELS);
    for (const addr of Object.values(this.addresses.listeners)) meta.gauge(`listener_address:${addr}`).set(1);
  }

  #retire(entry: { runtime: Runtime; timer: ReturnType<typeof setTimeout> }): void {
    clearTimeout(entry.timer);
    this.#retiring.delete(entry);
    entry.runtime.close();
  }

  /** Closes every listening socket (connections keep being served); `stop` drains them afterwards. */
  async stopAccepting(): Promise<void> {
    this.#ready = false;
    await Promise.all([...this.#listeners.values()].map((l) => l.stopAccepting()));
  }

  /** Graceful stop: not ready, drain listeners (up to the graceful timeout), stop admin, close everything. */
  async stop(drainTimeoutMs?: number): Promise<void> {
    this.#ready = false;
    // A successor bound to our reuseport listeners may be waiting for the admin address: hand it over
    // now rather than after the drain (as Envoy's parent shuts its admin down on a hot restart).
    if ([...this.#listeners.values()].some((l) => l.plan.config.reusePort)) await this.#admin?.shutdown();
    const timeout = drainTimeoutMs ?? gracefulTimeout(this.#runtime.snapshot);
    await Promise.all([...this.#listeners.values()].map((l) => l.drain(timeout)));
    this.#runtime.close();
    for (const entry of [...this.#retiring]) this.#retire(entry);
    await Promise.all([...this.#writers.values()].map((w) => w.close()));
    await this.#admin?.shutdown();
  }
}

/**
 * Starts the admin server. Restart without downtime (`takeover`: some listener has `reuseport: true`): the
 * meshctl being replaced holds the admin address until it is told to drain, then hands it over at once;
 * meanwhile our reuseport listeners are bound and serving, and this waits (polling) for the address.
 * Used by `Server` and, with workers, by `WorkerPool` (whose workers serve while its main thread waits).
 */
export async function startAdminOrAwaitHandover(
  start: () => AdminServer,
  takeover: boolean,
  snap: ConfigSnapshot,
  logger: Logger,
): Promise<AdminServer> {
  const waitUntil = performance.now() + ADMIN_HANDOVER_WAIT_MS;
  let waiting = false;
  for (;;) {
    try {
      const admin = start();
      if (waiting) logger.info("admin address taken over");
      return admin;
    } catch (e) {
      if (!(takeover && e instanceof Deno.errors.AddrInUse && performance.now() < waitUntil)) throw e;
      if (!waiting) {
        logger.warn(
          "admin address in use: reuseport listeners are serving; waiting for the " +
            "process being replaced to drain and hand it over",
          {
            address: `${snap.admin.address.hostname}:${snap.admin.address.port}`,
            wait_ms: ADMIN_HANDOVER_WAIT_MS,
          },
        );
        waiting = true;
      }
      await new Promise((r) => setTimeout(r, ADMIN_HANDOVER_POLL_MS));
    }
  }
}

/** How long a process with reuseport listeners waits for the admin address its predecessor holds. */
const ADMIN_HANDOVER_WAIT_MS = 5 * 60_000;
const ADMIN_HANDOVER_POLL_MS = 100;

const MOSN_META_TYPE = "meta";
const MOSN_META_LABELS = { mosn: "info" };

function sameAddress(a: SocketAddress, b: SocketAddress): boolean {
  return formatAddress(a) === formatAddress(b);
}

function gracefulTimeout(snapshot: ConfigSnapshot): number {
  return Math.max(0, ...snapshot.servers.map((s) => s.gracefulTimeoutMs));
}
