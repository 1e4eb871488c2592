/**
 * The registry contract over a real ZooKeeper, with `node-zookeeper-client` (pure JS, well kept) as the wire
 * protocol. One `ZkRegistryClient` is one logical connection to one ensemble; underneath it a ZooKeeper
 * session at a time:
 *
 * - disconnected: the library reconnects by itself (jittered by `reconnectSpinDelayMs`); registrations and
 *   the last provider lists stay; on reconnect every subscription is re-read and every node re-checked;
 * - session expired: a new session is opened (backoff when that keeps failing), every ephemeral node is
 *   re-created, every watch re-armed and every subscription re-read;
 * - a node that exists already (NODE_EXISTS) is adopted when our session owns it, else deleted and
 *   re-created (what Dubbo does: it is a stale node of a previous session or process on this address).
 *
 * Watches are one-shot in ZooKeeper: each subscription's watcher re-reads with the same watcher function
 * (the library keeps one registration per function and path), so reads never pile up watches.
 * @module
 */
// @ts-types="@types/node-zookeeper-client"
import * as zookeeper from "node-zookeeper-client";
import { Buffer } from "node:buffer";
import type { Clock, Logger, TimerId } from "../../core/mod.ts";
import { silentLogger, systemClock } from "../../core/mod.ts";
import type { Counter, Gauge, Scope, StatsRegistry } from "../../stats/mod.ts";
import type {
  ProviderInstance,
  ProviderSubscription,
  RegistrationState,
  RegistryAddress,
  RegistryClient,
  RegistryConnector,
  RegistryLayout,
  RegistrySessionState,
  ServiceKey,
} from "../types.ts";
import type { Registration } from "../types.ts";
import {
  interfacePathProblem,
  javaUrlEncode,
  parseProviderNode,
  providerMatches,
  registryRolePath,
} from "../url.ts";
import { parseZkAddress } from "./address.ts";

export interface ZkClientOptions {
  readonly registry: StatsRegistry;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** [0, 1); injectable for deterministic jitter. */
  readonly random?: () => number;
  /** Asked of the server, which clamps it to [2, 20] × its tickTime. Default 30 s (Dubbo's zk default 60 s; Curator's 60 s). */
  readonly sessionTimeoutMs?: number;
  /** How long `register`/`subscribe` wait for a session and the first answer before failing. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Upper bound of the random pause between rounds of socket reconnects inside a session. Default 1 s. */
  readonly reconnectSpinDelayMs?: number;
  /** Retry of a failed re-registration/re-read or new session: full-jitter exponential backoff. 500 ms … */
  readonly retryBackoffBaseMs?: number;
  /** … capped at 30 s. */
  readonly retryBackoffMaxMs?: number;
  /** Providers kept per subscription; further matching nodes are skipped (`provider_over_limit`). 10 000. */
  readonly maxProvidersPerSubscription?: number;
  /** Longest node name read or written (the Java-encoded URL). Longer children are skipped. 16 KiB. */
  readonly maxNodeNameLength?: number;
  /**
   * A connect attempt that got no handshake answer for this long (one to two periods) is dropped and
   * retried: the library bounds only the TCP connect, and a server still loading its database can accept a
   * socket and never answer. Default 5 s.
   */
  readonly connectAttemptTimeoutMs?: number;
  /** `close()` waits this long for the server to end the session, then drops the socket. Default 2 s. */
  readonly closeTimeoutMs?: number;
  readonly observer?: ZkObserver;
}

/** Optional hooks (tests, the API's status view); called synchronously. */
export interface ZkObserver {
  sessionStateChanged?(state: RegistrySessionState): void;
  /** A node was created (or adopted) in session number `session` (1, 2, … per client). */
  registered?(path: string, session: number, recreated: boolean): void;
  /** A subscription's provider list was (re-)read; `changed` says whether `onChange` was called. */
  providersRead?(path: string, count: number, changed: boolean): void;
}

export const ZK_DEFAULTS = {
  sessionTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  reconnectSpinDelayMs: 1_000,
  retryBackoffBaseMs: 500,
  retryBackoffMaxMs: 30_000,
  maxProvidersPerSubscription: 10_000,
  maxNodeNameLength: 16 * 1024,
  connectAttemptTimeoutMs: 5_000,
  closeTimeoutMs: 2_000,
} as const;

/** Gauge `session_state` values. */
export const SESSION_STATE_CODE: Readonly<Record<RegistrySessionState, number>> = {
  connecting: 0,
  connected: 1,
  disconnected: 2,
  expired: 3,
  closed: 4,
};

/** A snapshot for status views (`GET` of what this sidecar published and subscribed). */
export interface ZkClientDescription {
  readonly address: string;
  readonly state: RegistrySessionState;
  /** Hex session id of the current session ("" before the first connect). */
  readonly sessionId: string;
  readonly sessions: number;
  readonly registrations: readonly { path: string; url: string; state: RegistrationState }[];
  readonly subscriptions: readonly { path: string; key: ServiceKey; providers: number }[];
}

type ZkError = Error & { code?: number; getCode?: () => number };

function errorCode(e: unknown): number | undefined {
  const err = e as ZkError | null;
  if (err && typeof err.getCode === "function") return err.getCode();
  return typeof err?.code === "number" ? err.code : undefined;
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One ZooKeeper session: one library client object (the library cannot open a second session on one). */
interface Session {
  readonly seq: number;
  readonly zk: zookeeper.Client;
  connected: boolean;
  everConnected: boolean;
  /** Hex, from the server's connect response. */
  id: string;
}

interface NodeEntry {
  readonly path: string;
  readonly url: string;
  readonly data: Buffer;
  refs: number;
  state: RegistrationState;
  /** The session the node was last created or adopted in (0 = none yet). */
  session: number;
  everRegistered: boolean;
  closed: boolean;
  ensuring: { session: number; promise: Promise<void> } | undefined;
}

interface Subscription {
  readonly key: ServiceKey;
  readonly path: string;
  readonly onChange: (providers: readonly ProviderInstance[]) => void;
  readonly watcher: (event: zookeeper.Event) => void;
  providers: readonly ProviderInstance[];
  fingerprint: string;
  readSeq: number;
  initialized: boolean;
  closed: boolean;
  /** Node names skipped on the last read, so each is counted once, not on every re-read. */
  skipped: Set<string>;
}

interface Stats {
  readonly sessionState: Gauge;
  readonly sessionsStarted: Counter;
  readonly sessionExpired: Counter;
  readonly reconnected: Counter;
  readonly authFailed: Counter;
  readonly registrationCreated: Counter;
  readonly registrationRecreated: Counter;
  readonly registrations: Gauge;
  readonly subscriptions: Gauge;
  readonly watchEvents: Counter;
  readonly providersRead: Counter;
  readonly providerUnparseable: Counter;
  readonly providerOverLimit: Counter;
  readonly providerNameTooLong: Counter;
  readonly operationFailed: Counter;
  readonly retryScheduled: Counter;
  readonly connectAttemptStalled: Counter;
}

function makeStats(scope: Scope): Stats {
  return {
    sessionState: scope.gauge("session_state"),
    sessionsStarted: scope.counter("session_started"),
    sessionExpired: scope.counter("session_expired"),
    reconnected: scope.counter("session_reconnected"),
    authFailed: scope.counter("session_auth_failed"),
    registrationCreated: scope.counter("registration_created"),
    registrationRecreated: scope.counter("registration_recreated"),
    registrations: scope.gauge("registrations"),
    subscriptions: scope.gauge("subscriptions"),
    watchEvents: scope.counter("watch_event"),
    providersRead: scope.counter("providers_read"),
    providerUnparseable: scope.counter("provider_unparseable"),
    providerOverLimit: scope.counter("provider_over_limit"),
    providerNameTooLong: scope.counter("provider_name_too_long"),
    operationFailed: scope.counter("operation_failed"),
    retryScheduled: scope.counter("retry_scheduled"),
    connectAttemptStalled: scope.counter("connect_attempt_stalled"),
  };
}

export class ZkRegistryClient implements RegistryClient {
  readonly address: RegistryAddress;
  readonly #servers: string;
  readonly #chroot: string;
  readonly #o: Required<Omit<ZkClientOptions, "observer" | "logger" | "clock" | "random" | "registry">>;
  readonly #observer: ZkObserver;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #stats: Stats;
  readonly #nodes = new Map<string, NodeEntry>();
  /** Deletes still in flight, by path: a re-registration of the path waits for them. */
  readonly #removing = new Map<string, Promise<void>>();
  readonly #subs = new Set<Subscription>();
  #session: Session | undefined;
  #sessionSeq = 0;
  #state: RegistrySessionState = "connecting";
  #waiters = new Set<{ resolve: (s: Session) => void; reject: (e: Error) => void }>();
  #retryTimer: TimerId | undefined;
  #retryAttempt = 0;
  #sessionTimer: TimerId | undefined;
  #watchdog: TimerId | undefined;
  #closed = false;

  /** Throws a clear Error when `address.addr` is not a ZooKeeper connect string. */
  constructor(address: RegistryAddress, options: ZkClientOptions) {
    const parsed = parseZkAddress(address.addr);
    if (typeof parsed === "string") throw new Error(parsed);
    this.address = address;
    this.#servers = parsed.servers.join(",");
    this.#chroot = parsed.chroot;
    this.#o = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? ZK_DEFAULTS.sessionTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? ZK_DEFAULTS.connectTimeoutMs,
      reconnectSpinDelayMs: options.reconnectSpinDelayMs ?? ZK_DEFAULTS.reconnectSpinDelayMs,
      retryBackoffBaseMs: options.retryBackoffBaseMs ?? ZK_DEFAULTS.retryBackoffBaseMs,
      retryBackoffMaxMs: options.retryBackoffMaxMs ?? ZK_DEFAULTS.retryBackoffMaxMs,
      maxProvidersPerSubscription: options.maxProvidersPerSubscription ??
        ZK_DEFAULTS.maxProvidersPerSubscription,
      maxNodeNameLength: options.maxNodeNameLength ?? ZK_DEFAULTS.maxNodeNameLength,
      connectAttemptTimeoutMs: options.connectAttemptTimeoutMs ?? ZK_DEFAULTS.connectAttemptTimeoutMs,
      closeTimeoutMs: options.closeTimeoutMs ?? ZK_DEFAULTS.closeTimeoutMs,
    };
    this.#observer = options.observer ?? {};
    this.#log = (options.logger ?? silentLogger).with({ registry: address.addr });
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#stats = makeStats(options.registry.scope("registry", { registry: address.addr }));
    this.#openSession();
  }

  state(): RegistrySessionState {
    return this.#state;
  }

  describe(): ZkClientDescription {
    return {
      address: this.address.addr,
      state: this.#state,
      sessionId: this.#session?.id ?? "",
      sessions: this.#sessionSeq,
      registrations: [...this.#nodes.values()].map((n) => ({
        path: n.path,
        url: n.url,
        state: this.#nodeState(n),
      })),
      subscriptions: [...this.#subs].map((s) => ({
        path: s.path,
        key: s.key,
        providers: s.providers.length,
      })),
    };
  }

  async register(
    layout: RegistryLayout,
    role: "providers" | "consumers",
    iface: string,
    url: string,
  ): Promise<Registration> {
    if (this.#closed) throw new Error(`registry ${this.address.addr} is closed`);
    const problem = interfacePathProblem(iface);
    if (problem !== undefined) throw new Error(`cannot register ${url}: ${problem}`);
    const name = javaUrlEncode(url);
    if (name.length > this.#o.maxNodeNameLength) {
      throw new Error(
        `cannot register ${
          url.slice(0, 80)
        }…: its encoded node name is ${name.length} characters, over the limit of ${this.#o.maxNodeNameLength}`,
      );
    }
    const path = `${this.#chroot}${registryRolePath(layout, iface, role)}/${name}`;
    const pendingRemove = this.#removing.get(path);
    if (pendingRemove) await pendingRemove;
    let entry = this.#nodes.get(path);
    if (!entry) {
      entry = {
        path,
        url,
        data: Buffer.from(layout === "sofa" ? "1" : ""), // SOFA: 1 = online; Dubbo's consumers ignore data
        refs: 0,
        state: "pending",
        session: 0,
        everRegistered: false,
        closed: false,
        ensuring: undefined,
      };
      this.#nodes.set(path, entry);
      this.#stats.registrations.set(this.#nodes.size);
    }
    entry.refs++;
    const node = entry;
    try {
      await this.#withDeadline(async (deadlineMs) => {
        const session = await this.#whenConnected(deadlineMs);
        if (node.session !== session.seq || node.state !== "registered") {
          await this.#ensureNode(session, node);
        }
      }, `register ${path}`);
    } catch (e) {
      await this.#release(node);
      throw e;
    }
    let released = false;
    return {
      path,
      url,
      state: () => this.#nodeState(node),
      close: async () => {
        if (released) return;
        released = true;
        await this.#release(node);
      },
    };
  }

  async subscribe(
    key: ServiceKey,
    onChange: (providers: readonly ProviderInstance[]) => void,
  ): Promise<ProviderSubscription> {
    if (this.#closed) throw new Error(`registry ${this.address.addr} is closed`);
    const problem = interfacePathProblem(key.interface);
    if (problem !== undefined) throw new Error(`cannot subscribe: ${problem}`);
    const sub: Subscription = {
      key,
      path: `${this.#chroot}${registryRolePath(key.layout, key.interface, "providers")}`,
      onChange,
      watcher: (event) => this.#onWatch(sub, event),
      providers: [],
      fingerprint: "",
      readSeq: 0,
      initialized: false,
      closed: false,
      skipped: new Set(),
    };
    this.#subs.add(sub);
    this.#stats.subscriptions.set(this.#subs.size);
    try {
      await this.#withDeadline(async (deadlineMs) => {
        const session = await this.#whenConnected(deadlineMs);
        await this.#read(session, sub);
      }, `subscribe ${sub.path}`);
    } catch (e) {
      this.#dropSubscription(sub);
      throw e;
    }
    sub.initialized = true;
    return {
      key,
      providers: () => sub.providers,
      close: () => this.#dropSubscription(sub),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#clock.clearTimeout(this.#sessionTimer);
    this.#clock.clearInterval(this.#watchdog);
    for (const sub of this.#subs) sub.closed = true;
    this.#subs.clear();
    this.#stats.subscriptions.set(0);
    for (const n of this.#nodes.values()) n.closed = true;
    this.#nodes.clear();
    this.#stats.registrations.set(0);
    for (const w of this.#waiters) w.reject(new Error(`registry ${this.address.addr} closed`));
    this.#waiters.clear();
    const session = this.#session;
    this.#session = undefined;
    this.#setState("closed");
    if (session) await this.#closeSession(session);
    this.#log.info("registry client closed");
  }

  // --- sessions ---

  #openSession(): void {
    const seq = ++this.#sessionSeq;
    const zk = zookeeper.createClient(this.#servers, {
      sessionTimeout: this.#o.sessionTimeoutMs,
      spinDelay: this.#o.reconnectSpinDelayMs,
      retries: 0,
    });
    const session: Session = { seq, zk, connected: false, everConnected: false, id: "" };
    this.#session = session;
    if (this.address.username) {
      zk.addAuthInfo("digest", Buffer.from(`${this.address.username}:${this.address.password ?? ""}`));
    }
    zk.on("state", (state: zookeeper.State) => this.#onState(session, state));
    this.#stats.sessionsStarted.inc();
    this.#log.debug("opening ZooKeeper session", { session: seq });
    zk.connect();
    this.#armWatchdog(session);
  }

  /** Until `session` connects: drops a connect attempt still unanswered one period after it was seen. */
  #armWatchdog(session: Session): void {
    this.#clock.clearInterval(this.#watchdog);
    let seen: unknown;
    this.#watchdog = this.#clock.setInterval(() => {
      const manager =
        (session.zk as unknown as { connectionManager?: LibConnectionManager }).connectionManager;
      if (session !== this.#session || session.connected || !manager) {
        this.#clock.clearInterval(this.#watchdog);
        this.#watchdog = undefined;
        return;
      }
      if (manager.state !== LIB_CONNECTING_STATE || !manager.socket) {
        seen = undefined;
        return;
      }
      if (seen === manager.socket) {
        this.#stats.connectAttemptStalled.inc();
        this.#log.warn("ZooKeeper connect attempt unanswered; retrying", {
          timeout_ms: this.#o.connectAttemptTimeoutMs,
        });
        manager.socket.destroy(); // the library's close handler starts the next attempt
        seen = undefined;
      } else {
        seen = manager.socket;
      }
    }, this.#o.connectAttemptTimeoutMs);
  }

  #onState(session: Session, state: zookeeper.State): void {
    if (session !== this.#session || this.#closed) return;
    const S = zookeeper.State;
    if (state === S.SYNC_CONNECTED) {
      const reconnect = session.everConnected;
      session.connected = true;
      session.everConnected = true;
      session.id = session.zk.getSessionId().toString("hex");
      this.#retryAttempt = 0;
      if (reconnect) this.#stats.reconnected.inc();
      this.#log.info(reconnect ? "ZooKeeper session reconnected" : "ZooKeeper session established", {
        session: session.seq,
        session_id: session.id,
        timeout_ms: session.zk.getSessionTimeout(),
      });
      this.#clock.clearInterval(this.#watchdog);
      this.#watchdog = undefined;
      this.#setState("connected");
      for (const w of this.#waiters) w.resolve(session);
      this.#waiters.clear();
      this.#reconcile(session);
    } else if (state === S.DISCONNECTED || state === S.CONNECTED_READ_ONLY) {
      if (!session.connected && session.everConnected) return;
      const was = session.connected;
      session.connected = false;
      if (was) {
        this.#log.warn("ZooKeeper disconnected; keeping registrations and provider lists", {
          session: session.seq,
        });
      }
      if (session.everConnected) this.#setState("disconnected");
      if (this.#watchdog === undefined) this.#armWatchdog(session);
    } else if (state === S.EXPIRED) {
      this.#stats.sessionExpired.inc();
      this.#log.warn("ZooKeeper session expired; opening a new one to re-create nodes and watches", {
        session: session.seq,
        session_id: session.id,
      });
      this.#setState("expired");
      for (const n of this.#nodes.values()) n.state = "pending";
      this.#replaceSession(session, false);
    } else if (state === S.AUTH_FAILED) {
      this.#stats.authFailed.inc();
      this.#log.error("ZooKeeper authentication failed", { session: session.seq });
      this.#replaceSession(session, true);
    }
  }

  /** Drops `old` and opens the next session: at once after an expiry, after a backoff when they keep failing. */
  #replaceSession(old: Session, backoff: boolean): void {
    old.zk.removeAllListeners("state");
    old.connected = false;
    void this.#closeSession(old);
    this.#session = undefined;
    const delay = backoff || this.#retryAttempt > 0 ? this.#backoffMs() : 0;
    this.#retryAttempt++;
    this.#clock.clearTimeout(this.#sessionTimer);
    this.#sessionTimer = this.#clock.setTimeout(() => {
      this.#sessionTimer = undefined;
      if (!this.#closed) this.#openSession();
    }, delay);
  }

  async #closeSession(session: Session): Promise<void> {
    const zk = session.zk;
    const manager = (zk as unknown as { connectionManager?: LibConnectionManager }).connectionManager;
    // CLOSING makes the library's socket-close handler stop instead of reconnecting.
    const drop = () => {
      if (!manager) return;
      if (manager.state !== LIB_CLOSED_STATE) manager.state = LIB_CLOSING_STATE;
      clearTimeout(manager.connectTimeoutHandler);
      manager.socket?.destroy();
    };
    await new Promise<void>((resolve) => {
      if (manager?.state === LIB_CLOSED_STATE || manager?.state === LIB_EXPIRED_STATE) {
        manager.socket?.destroy();
        resolve();
        return;
      }
      const timer = this.#clock.setTimeout(() => {
        // The server did not confirm (it is down, or the library sits in a reconnect pause): drop the socket,
        // and once more after the pause, when the library may have opened the next one.
        drop();
        this.#clock.setTimeout(drop, this.#o.reconnectSpinDelayMs + 100);
        resolve();
      }, this.#o.closeTimeoutMs);
      zk.on("state", (state: zookeeper.State) => {
        if (state === zookeeper.State.DISCONNECTED) {
          this.#clock.clearTimeout(timer);
          resolve();
        }
      });
      zk.close();
    });
    zk.removeAllListeners();
  }

  /** Resolves with the current session once it is connected; rejects after `timeoutMs`. */
  #whenConnected(timeoutMs: number): Promise<Session> {
    const s = this.#session;
    if (s?.connected) return Promise.resolve(s);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (session: Session) => {
          this.#clock.clearTimeout(timer);
          resolve(session);
        },
        reject: (e: Error) => {
          this.#clock.clearTimeout(timer);
          reject(e);
        },
      };
      const timer = this.#clock.setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `ZooKeeper ${this.address.addr} unreachable: no session within ${timeoutMs} ms (${this.#state})`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Runs `fn` with the connect timeout as its budget; rejects with `what` named when it runs over. */
  #withDeadline(fn: (budgetMs: number) => Promise<void>, what: string): Promise<void> {
    const budget = this.#o.connectTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(
        () => reject(new Error(`${what}: no answer from ZooKeeper ${this.address.addr} within ${budget} ms`)),
        budget,
      );
      fn(budget).then(resolve, reject).finally(() => this.#clock.clearTimeout(timer));
    });
  }

  #setState(state: RegistrySessionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#stats.sessionState.set(SESSION_STATE_CODE[state]);
    this.#observer.sessionStateChanged?.(state);
  }

  #backoffMs(): number {
    return retryDelayMs(
      this.#retryAttempt,
      this.#o.retryBackoffBaseMs,
      this.#o.retryBackoffMaxMs,
      this.#random,
    );
  }

  // --- (re)registration and (re)reads after every (re)connect ---

  #reconcile(session: Session): void {
    const work: Promise<void>[] = [];
    for (const node of this.#nodes.values()) work.push(this.#ensureNode(session, node));
    for (const sub of this.#subs) work.push(this.#read(session, sub));
    Promise.allSettled(work).then((results) => {
      const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      if (failed.length === 0 || session !== this.#session || this.#closed) return;
      this.#stats.operationFailed.inc(failed.length);
      this.#scheduleRetry(session, describeError(failed[0]!.reason));
    });
  }

  #scheduleRetry(session: Session, why: string): void {
    if (this.#retryTimer !== undefined) return;
    const delay = this.#backoffMs();
    this.#retryAttempt++;
    this.#stats.retryScheduled.inc();
    this.#log.warn("registry sync failed; retrying", { error: why, retry_in_ms: delay });
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      // A reconnect or a new session reconciles by itself; only a still-connected session needs the nudge.
      if (!this.#closed && session === this.#session && session.connected) this.#reconcile(session);
    }, delay);
  }

  #ensureNode(session: Session, node: NodeEntry): Promise<void> {
    if (node.ensuring?.session === session.seq) return node.ensuring.promise;
    const promise = this.#createNode(session, node).finally(() => {
      if (node.ensuring?.promise === promise) node.ensuring = undefined;
    });
    node.ensuring = { session: session.seq, promise };
    return promise;
  }

  async #createNode(session: Session, node: NodeEntry): Promise<void> {
    const zk = session.zk;
    const parent = node.path.slice(0, node.path.lastIndexOf("/"));
    await call<string>((cb) => zk.mkdirp(parent, cb));
    let adopted = false;
    try {
      await call<string>((cb) => zk.create(node.path, node.data, zookeeper.CreateMode.EPHEMERAL, cb));
    } catch (e) {
      if (errorCode(e) !== zookeeper.Exception.NODE_EXISTS) throw e;
      const stat = await call<zookeeper.Stat>((cb) => zk.exists(node.path, cb));
      if (stat && Buffer.from(stat.ephemeralOwner).toString("hex") === session.id) {
        adopted = true; // ours already: created before a connection loss swallowed the answer
      } else {
        // A stale node: an earlier session's, or another process's on this same address. Dubbo replaces it too.
        await call<void>((cb) => zk.remove(node.path, -1, cb)).catch((err) => {
          if (errorCode(err) !== zookeeper.Exception.NO_NODE) throw err;
        });
        await call<string>((cb) => zk.create(node.path, node.data, zookeeper.CreateMode.EPHEMERAL, cb));
      }
    }
    if (session !== this.#session) return; // replaced meanwhile; the new session re-creates it
    if (node.closed) {
      await call<void>((cb) => zk.remove(node.path, -1, cb)).catch(() => {});
      return;
    }
    const recreated = node.everRegistered && node.session !== session.seq;
    if (node.session !== session.seq) {
      (recreated ? this.#stats.registrationRecreated : this.#stats.registrationCreated).inc();
      this.#log.info(recreated ? "registry node re-created" : "registry node created", {
        path: node.path,
        session: session.seq,
        adopted,
      });
    }
    node.session = session.seq;
    node.state = "registered";
    node.everRegistered = true;
    this.#observer.registered?.(node.path, session.seq, recreated);
  }

  async #release(node: NodeEntry): Promise<void> {
    node.refs--;
    if (node.refs > 0 || node.closed) return;
    node.closed = true;
    if (this.#nodes.get(node.path) === node) this.#nodes.delete(node.path);
    this.#stats.registrations.set(this.#nodes.size);
    const session = this.#session;
    if (!session || !session.everConnected || node.session === 0) return;
    const removal = (async () => {
      await node.ensuring?.promise.catch(() => {});
      await new Promise<void>((resolve) => {
        // While disconnected the delete waits in the library's queue; we stop waiting after closeTimeoutMs.
        const timer = this.#clock.setTimeout(resolve, this.#o.closeTimeoutMs);
        session.zk.remove(node.path, -1, (err) => {
          this.#clock.clearTimeout(timer);
          if (err && errorCode(err) !== zookeeper.Exception.NO_NODE) {
            this.#log.warn("could not delete registry node", { path: node.path, error: describeError(err) });
          }
          resolve();
        });
      });
    })();
    this.#removing.set(node.path, removal);
    try {
      await removal;
    } finally {
      if (this.#removing.get(node.path) === removal) this.#removing.delete(node.path);
    }
    this.#log.info("registry node deleted", { path: node.path });
  }

  #nodeState(node: NodeEntry): RegistrationState {
    if (node.closed) return "pending";
    if (node.state === "registered" && this.#state === "disconnected") return "disconnected";
    return node.state;
  }

  // --- subscriptions ---

  #onWatch(sub: Subscription, event: zookeeper.Event): void {
    if (sub.closed || this.#closed) return;
    this.#stats.watchEvents.inc();
    this.#log.debug("registry watch fired", { path: event.getPath(), type: event.getName() });
    const session = this.#session;
    if (!session?.connected) return; // re-read on reconnect
    this.#read(session, sub).catch((e) => {
      this.#stats.operationFailed.inc();
      this.#scheduleRetry(session, describeError(e));
    });
  }

  async #read(session: Session, sub: Subscription): Promise<void> {
    const seq = ++sub.readSeq;
    const zk = session.zk;
    let children: string[];
    try {
      children = await call<string[]>((cb) => zk.getChildren(sub.path, sub.watcher, cb));
    } catch (e) {
      if (errorCode(e) !== zookeeper.Exception.NO_NODE) throw e;
      // No providers path yet: an exists-watch fires when it is created.
      const stat = await call<zookeeper.Stat | undefined>((cb) => zk.exists(sub.path, sub.watcher, cb));
      if (stat && seq === sub.readSeq && !sub.closed) return this.#read(session, sub);
      children = [];
    }
    if (sub.closed || seq !== sub.readSeq || session !== this.#session) return;
    this.#apply(sub, children);
  }

  #apply(sub: Subscription, children: string[]): void {
    const providers: ProviderInstance[] = [];
    const seenAddresses = new Set<string>();
    const skipped = new Set<string>();
    const countNew = (name: string, counter: Counter) => {
      skipped.add(name);
      if (!sub.skipped.has(name)) counter.inc();
    };
    for (const name of [...children].sort()) {
      if (name.length > this.#o.maxNodeNameLength) {
        countNew(name, this.#stats.providerNameTooLong);
        continue;
      }
      const p = parseProviderNode(name);
      if (typeof p === "string") {
        if (!sub.skipped.has(name)) {
          this.#log.warn("skipping unparseable provider node", {
            path: sub.path,
            node: name.slice(0, 200),
            error: p,
          });
        }
        countNew(name, this.#stats.providerUnparseable);
        continue;
      }
      if (!providerMatches(sub.key, p)) continue;
      const hostPort = `${p.host}:${p.port}`;
      if (seenAddresses.has(hostPort)) continue; // two URLs for one address: one host
      if (providers.length >= this.#o.maxProvidersPerSubscription) {
        countNew(name, this.#stats.providerOverLimit);
        continue;
      }
      seenAddresses.add(hostPort);
      providers.push(p);
    }
    sub.skipped = skipped;
    this.#stats.providersRead.inc();
    const fingerprint = providers.map((p) => p.url).join("\n");
    const changed = fingerprint !== sub.fingerprint;
    if (changed) {
      sub.fingerprint = fingerprint;
      sub.providers = providers;
      this.#log.info("providers changed", { path: sub.path, providers: providers.length });
    }
    const notify = changed && sub.initialized;
    this.#observer.providersRead?.(sub.path, providers.length, notify);
    if (notify) {
      try {
        sub.onChange(providers);
      } catch (e) {
        this.#log.error("provider listener threw", { path: sub.path, error: describeError(e) });
      }
    }
  }

  #dropSubscription(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.#subs.delete(sub);
    this.#stats.subscriptions.set(this.#subs.size);
  }
}

/** The library's connection manager internals that a forced close needs. */
interface LibConnectionManager {
  state: number;
  socket?: { destroy(): void };
  connectTimeoutHandler?: ReturnType<typeof setTimeout>;
}
/** ConnectionManager STATES (lib/ConnectionManager.js of node-zookeeper-client 1.1.3). */
const LIB_CONNECTING_STATE = 1;
const LIB_CLOSING_STATE = -1;
const LIB_CLOSED_STATE = -2;
const LIB_EXPIRED_STATE = -3;

/**
 * Full-jitter exponential backoff: uniform in [1, min(max, base × 2^attempt)) ms, so a fleet of sidecars that
 * lost the same ensemble does not come back in step. Attempt 0 is the first retry.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.max(1, Math.floor(random() * ceiling));
}

/** Node-style callback → promise. */
function call<T>(op: (cb: (err: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((err, result) => err ? reject(err) : resolve(result)));
}

export type ZkConnectorOptions = ZkClientOptions;

/** One `ZkRegistryClient` (one session) per distinct address and credentials. */
export class ZkConnector implements RegistryConnector {
  readonly #options: ZkConnectorOptions;
  readonly #clients = new Map<string, ZkRegistryClient>();

  constructor(options: ZkConnectorOptions) {
    this.#options = options;
  }

  /** Throws a clear Error for an address that is not a ZooKeeper connect string. */
  client(address: RegistryAddress): ZkRegistryClient {
    const key = `${address.addr}\u0000${address.username ?? ""}\u0000${address.password ?? ""}`;
    let client = this.#clients.get(key);
    if (!client || client.state() === "closed") {
      client = new ZkRegistryClient(address, this.#options);
      this.#clients.set(key, client);
    }
    return client;
  }

  clients(): readonly ZkRegistryClient[] {
    return [...this.#clients.values()];
  }

  async closeAll(): Promise<void> {
    const all = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(all.map((c) => c.close()));
  }
}
