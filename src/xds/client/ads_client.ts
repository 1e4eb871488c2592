/**
 * The state-of-the-world ADS client: one bidi `StreamAggregatedResources` call to the control plane, the
 * xDS v3 ACK/NACK protocol, subscriptions, reconnects and timers. It knows nothing of what resources mean:
 * the integrator decodes them (`decode`) and applies a whole response at once (`apply`).
 *
 * Protocol rules followed (../shared/notes/xds.md): node on a stream's first request only; ACK = the
 * response's version + nonce + names; NACK = the previously accepted version + that nonce + error_detail
 * (code 13), one per response, never resent; nonces die with their stream; unrequested resources are
 * dropped; a reconnect resends each type's accepted version and names with empty nonces; the
 * does-not-exist / initial-fetch timers run only while connected and after the subscribe went out.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Clock, Logger, TimerId } from "../../core/mod.ts";
import { silentLogger, systemClock } from "../../core/mod.ts";
import type { Counter, Gauge, StatsRegistry } from "../../stats/mod.ts";
import { adsProtos } from "./_protos.ts";

export const TYPE_URL = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
} as const;

/** LDS and CDS are wildcard types (xds.md A4); RDS/EDS/SDS are always named. */
const WILDCARD_TYPES: ReadonlySet<string> = new Set([TYPE_URL.listener, TYPE_URL.cluster]);

/** istiod's push order, make-before-break (xds.md A5): a new stream subscribes in this order. */
const SUBSCRIBE_ORDER = [
  TYPE_URL.cluster,
  TYPE_URL.endpoint,
  TYPE_URL.listener,
  TYPE_URL.route,
  TYPE_URL.secret,
];

/** Envoy's stat prefix per type. */
const SHORT_NAME: Record<string, string> = {
  [TYPE_URL.listener]: "lds",
  [TYPE_URL.route]: "rds",
  [TYPE_URL.cluster]: "cds",
  [TYPE_URL.endpoint]: "eds",
  [TYPE_URL.secret]: "sds",
};

/** google.rpc.Code INTERNAL: what Envoy puts in a NACK's error_detail. */
const NACK_CODE = 13;

export type ApplyResult = { ok: true } | { ok: false; message: string };

/**
 * Applies one whole response of `typeUrl` (resources by name, already decoded, unrequested ones removed).
 * Validate everything, then commit; return `ok: false` (or throw) to NACK and keep the old state.
 */
export type ApplyHook = (
  typeUrl: string,
  resources: ReadonlyMap<string, Record<string, unknown>>,
  version: string,
) => ApplyResult;

/** Decodes one resource's bytes as `typeUrl`'s message; throws on bytes that are not. */
export type DecodeResource = (typeUrl: string, bytes: Uint8Array) => Record<string, unknown>;

/** Things a test or the integrator may want to wait on. All optional; called synchronously. */
export interface AdsObserver {
  streamOpened?(stream: number): void;
  /** The stream ended; the next one starts in `retryInMs` (undefined when the client was closed). */
  streamClosed?(stream: number, code: number, details: string, retryInMs: number | undefined): void;
  responseHandled?(typeUrl: string, accepted: boolean, version: string, nonce: string): void;
  /** The channel under the stream became READY (true) or the stream ended (false). */
  connectedChanged?(connected: boolean): void;
}

export interface AdsClientOptions {
  /** The control plane, "host:port" (plaintext gRPC). */
  readonly target: string;
  /** core.v3.Node as a plain object (snake_case fields). Sent on each stream's first request only. */
  readonly node: Record<string, unknown>;
  readonly apply: ApplyHook;
  readonly decode: DecodeResource;
  readonly registry: StatsRegistry;
  readonly clock?: Clock;
  /** [0, 1); injectable for deterministic jitter. */
  readonly random?: () => number;
  readonly logger?: Logger;
  readonly observer?: AdsObserver;
  /** Stream retry backoff (Envoy): first ceiling. Default 500 ms. */
  readonly backoffBaseMs?: number;
  /** Stream retry backoff cap (Envoy). Default 30 s. */
  readonly backoffMaxMs?: number;
  /** ConfigSource.initial_fetch_timeout: 15 s (Envoy); 0 = wait for ever. Also the does-not-exist timer. */
  readonly initialFetchTimeoutMs?: number;
  /** Largest DiscoveryResponse accepted; a larger one fails the stream (`message_too_large`). 16 MiB. */
  readonly maxReceiveMessageBytes?: number;
  /** HTTP/2 keepalive ping interval on the channel. 30 s (Istio's agent uses 30 s). */
  readonly keepaliveTimeMs?: number;
  /** A ping unanswered this long drops the connection. 10 s. */
  readonly keepaliveTimeoutMs?: number;
  /** A named resource not in any response this long after its subscribe went out is reported absent. */
  readonly onDoesNotExist?: (typeUrl: string, name: string) => void;
}

export const ADS_DEFAULTS = {
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  initialFetchTimeoutMs: 15_000,
  maxReceiveMessageBytes: 16 * 1024 * 1024,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  /** error_detail messages longer than this are cut (a NACK must stay small). */
  maxNackMessageChars: 4_096,
} as const;

export interface NackRecord {
  /** The rejected response's version (what the control plane tried). */
  readonly version: string;
  readonly nonce: string;
  readonly message: string;
  /** Wall-clock time of the rejection (ISO 8601). */
  readonly at: string;
}

/** Per type, for config_dump. */
export interface AdsTypeDescription {
  readonly typeUrl: string;
  readonly acceptedVersion: string;
  readonly names: readonly string[];
  readonly wildcard: boolean;
  readonly lastNack: NackRecord | undefined;
  /** First response applied or initial_fetch_timeout passed. */
  readonly initialFetchDone: boolean;
}

export interface AdsDescription {
  readonly target: string;
  /** The stream's limits and keepalive, as configured (or defaulted). */
  readonly limits: {
    readonly maxReceiveMessageBytes: number;
    readonly keepaliveTimeMs: number;
    readonly keepaliveTimeoutMs: number;
  };
  readonly connected: boolean;
  readonly streams: number;
  readonly ready: boolean;
  readonly types: readonly AdsTypeDescription[];
}

interface TypeStats {
  readonly updateAttempt: Counter;
  readonly updateSuccess: Counter;
  readonly updateRejected: Counter;
  readonly updateFailure: Counter;
  readonly initFetchTimeout: Counter;
  readonly unrequestedResource: Counter;
  /** FNV-1a of the accepted version (Envoy's `version` gauge is a hash, too). */
  readonly version: Gauge;
}

interface TypeState {
  readonly typeUrl: string;
  names: Set<string>;
  /** LDS/CDS until named explicitly, or "*" given. */
  wildcard: boolean;
  explicitlyNamed: boolean;
  acceptedVersion: string;
  /** The latest nonce on the current stream; "" on a new stream. */
  nonce: string;
  lastNack: NackRecord | undefined;
  initialFetchDone: boolean;
  initialFetchTimer: TimerId | undefined;
  /** Named resources awaited, with their does-not-exist timers (only while connected). */
  readonly absentTimers: Map<string, TimerId>;
  /** Names seen in an accepted response (not awaited any more). */
  readonly received: Set<string>;
  readonly stats: TypeStats;
}

type AdsCall = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;

export class AdsClient {
  readonly #o: AdsClientOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #types = new Map<string, TypeState>();
  readonly #client: grpc.Client;
  readonly #connectedState: Gauge;
  readonly #unknownTypeUrl: Counter;
  readonly #messageTooLarge: Counter;
  readonly #initialFetchTimeoutMs: number;
  #call: AdsCall | undefined;
  #streamSeq = 0;
  #nodeSent = false;
  #connected = false;
  #retryAttempt = 0;
  #retryTimer: TimerId | undefined;
  #closed = false;
  /** The type whose `apply` is running: its own ACK/NACK follows and carries any names set meanwhile. */
  #applyingType: string | undefined;
  #ready = false;
  #resolveReady!: () => void;
  /** Resolves once every type subscribed so far has had its initial fetch (applied or timed out). */
  readonly ready: Promise<void>;

  constructor(options: AdsClientOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#log = (options.logger ?? silentLogger).with({ component: "xds", target: options.target });
    this.#initialFetchTimeoutMs = options.initialFetchTimeoutMs ?? ADS_DEFAULTS.initialFetchTimeoutMs;
    this.ready = new Promise((resolve) => this.#resolveReady = resolve);
    const cp = options.registry.scope("xds", { control_plane: "ads" });
    this.#connectedState = cp.gauge("connected_state");
    this.#unknownTypeUrl = cp.counter("unknown_type_url");
    this.#messageTooLarge = cp.counter("message_too_large");
    const pkg = grpc.loadPackageDefinition(adsProtos().packageDefinition);
    // deno-lint-ignore no-explicit-any
    const Ads = (pkg as any).envoy.service.discovery.v3
      .AggregatedDiscoveryService as grpc.ServiceClientConstructor;
    const base = options.backoffBaseMs ?? ADS_DEFAULTS.backoffBaseMs;
    const max = options.backoffMaxMs ?? ADS_DEFAULTS.backoffMaxMs;
    this.#client = new Ads(options.target, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": options.maxReceiveMessageBytes ??
        ADS_DEFAULTS.maxReceiveMessageBytes,
      "grpc.keepalive_time_ms": options.keepaliveTimeMs ?? ADS_DEFAULTS.keepaliveTimeMs,
      "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? ADS_DEFAULTS.keepaliveTimeoutMs,
      // The connection's own retry follows the stream's, so neither waits far longer than the other.
      "grpc.initial_reconnect_backoff_ms": base,
      "grpc.max_reconnect_backoff_ms": max,
      // Envoy and istiod speak no service config; don't let a resolver's one change behaviour.
      "grpc.service_config_disable_resolution": 1,
    });
  }

  /** Opens the stream (and keeps one open, reconnecting, until `close()`). */
  start(): void {
    if (this.#closed || this.#call || this.#retryTimer !== undefined) return;
    this.#openStream();
  }

  /**
   * Sets what to subscribe to for `typeUrl` and tells the control plane (current version, latest nonce).
   * LDS/CDS: empty before anything was named = wildcard ("*"); after names were given, empty = none.
   * An unchanged set sends nothing.
   */
  setNames(typeUrl: string, names: Iterable<string>): void {
    const wanted = new Set(names);
    let t = this.#types.get(typeUrl);
    const isNew = t === undefined;
    t ??= this.#newType(typeUrl);
    let wildcard: boolean;
    if (wanted.has("*")) {
      wanted.delete("*");
      wildcard = true;
    } else if (wanted.size > 0) {
      t.explicitlyNamed = true;
      wildcard = false;
    } else {
      wildcard = WILDCARD_TYPES.has(typeUrl) && !t.explicitlyNamed;
    }
    if (!isNew && wildcard === t.wildcard && sameSet(wanted, t.names)) return;
    t.wildcard = wildcard;
    for (const gone of [...t.names].filter((n) => !wanted.has(n))) {
      this.#clock.clearTimeout(t.absentTimers.get(gone));
      t.absentTimers.delete(gone);
      t.received.delete(gone);
    }
    t.names = wanted;
    // Inside this type's apply the nonce is already the new response's but the version not yet: a request
    // now would look like an ACK of the old version. The ACK/NACK about to go out carries the new names.
    if (this.#applyingType === typeUrl) return;
    this.#sendRequest(t, undefined);
  }

  /** Closes the stream and the channel; no reconnect after this. Accepted state stays readable. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#disconnected();
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
    this.#client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  get connected(): boolean {
    return this.#connected;
  }

  isReady(): boolean {
    return this.#ready;
  }

  describe(): AdsDescription {
    return {
      target: this.#o.target,
      limits: {
        maxReceiveMessageBytes: this.#o.maxReceiveMessageBytes ?? ADS_DEFAULTS.maxReceiveMessageBytes,
        keepaliveTimeMs: this.#o.keepaliveTimeMs ?? ADS_DEFAULTS.keepaliveTimeMs,
        keepaliveTimeoutMs: this.#o.keepaliveTimeoutMs ?? ADS_DEFAULTS.keepaliveTimeoutMs,
      },
      connected: this.#connected,
      streams: this.#streamSeq,
      ready: this.#ready,
      types: [...this.#types.values()].map((t) => ({
        typeUrl: t.typeUrl,
        acceptedVersion: t.acceptedVersion,
        names: [...t.names].sort(),
        wildcard: t.wildcard,
        lastNack: t.lastNack,
        initialFetchDone: t.initialFetchDone,
      })),
    };
  }

  /** The ceiling of the next retry's delay (before jitter): base × 2^attempt, capped. */
  #backoffCeilingMs(attempt: number): number {
    const base = this.#o.backoffBaseMs ?? ADS_DEFAULTS.backoffBaseMs;
    const max = this.#o.backoffMaxMs ?? ADS_DEFAULTS.backoffMaxMs;
    return Math.min(max, base * 2 ** Math.min(attempt, 30));
  }

  #newType(typeUrl: string): TypeState {
    const scope = this.#o.registry.scope("xds", { type: SHORT_NAME[typeUrl] ?? typeUrl });
    const t: TypeState = {
      typeUrl,
      names: new Set(),
      wildcard: false,
      explicitlyNamed: false,
      acceptedVersion: "",
      nonce: "",
      lastNack: undefined,
      initialFetchDone: false,
      initialFetchTimer: undefined,
      absentTimers: new Map(),
      received: new Set(),
      stats: {
        updateAttempt: scope.counter("update_attempt"),
        updateSuccess: scope.counter("update_success"),
        updateRejected: scope.counter("update_rejected"),
        updateFailure: scope.counter("update_failure"),
        initFetchTimeout: scope.counter("init_fetch_timeout"),
        unrequestedResource: scope.counter("unrequested_resource"),
        version: scope.gauge("version"),
      },
    };
    this.#types.set(typeUrl, t);
    return t;
  }

  #openStream(): void {
    this.#retryTimer = undefined;
    if (this.#closed) return;
    const stream = ++this.#streamSeq;
    // deno-lint-ignore no-explicit-any
    const call = (this.#client as any).StreamAggregatedResources() as AdsCall;
    this.#call = call;
    this.#nodeSent = false;
    for (const t of this.#types.values()) t.nonce = ""; // nonces belong to their stream (envoy#15767)
    let ended = false;
    call.on("data", (resp: Record<string, unknown>) => {
      if (this.#call !== call) return;
      this.#retryAttempt = 0; // a response proves the control plane is healthy (A57)
      this.#onResponse(resp);
    });
    call.on("error", () => {/* reported once through "status" */});
    call.on("status", (status: grpc.StatusObject) => {
      if (ended) return;
      ended = true;
      this.#onStreamEnd(call, stream, status.code, status.details);
    });
    this.#o.observer?.streamOpened?.(stream);
    // Subscribe every known type, make-before-break order, then any others in insertion order.
    const ordered = [...this.#types.values()].sort((a, b) => rank(a.typeUrl) - rank(b.typeUrl));
    for (const t of ordered) this.#sendRequest(t, undefined);
    this.#watchConnected(call);
  }

  /** Marks the stream connected once the channel is READY (the timers only run then, A57). */
  #watchConnected(call: AdsCall): void {
    const channel = this.#client.getChannel();
    const check = () => {
      if (this.#call !== call || this.#closed) return;
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) {
        this.#onConnected();
        return;
      }
      if (state === grpc.connectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(state, Infinity, check);
    };
    check();
  }

  #onConnected(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.#connectedState.set(1);
    for (const t of this.#types.values()) this.#armTimers(t);
    this.#o.observer?.connectedChanged?.(true);
  }

  #disconnected(): void {
    if (this.#connected) this.#o.observer?.connectedChanged?.(false);
    this.#connected = false;
    this.#connectedState.set(0);
    // No does-not-exist or initial-fetch timer runs while disconnected (A57); they restart on connect.
    for (const t of this.#types.values()) {
      this.#clock.clearTimeout(t.initialFetchTimer);
      t.initialFetchTimer = undefined;
      for (const id of t.absentTimers.values()) this.#clock.clearTimeout(id);
      t.absentTimers.clear();
    }
  }

  #onStreamEnd(call: AdsCall, stream: number, code: number, details: string): void {
    if (this.#closed) { // close() already cleaned up; the cancelled stream is no failure
      this.#o.observer?.streamClosed?.(stream, code, details, undefined);
      return;
    }
    if (this.#call !== call) return;
    this.#call = undefined;
    this.#disconnected();
    if (code === grpc.status.RESOURCE_EXHAUSTED) this.#messageTooLarge.inc();
    for (const t of this.#types.values()) t.stats.updateFailure.inc();
    // Envoy's JitteredExponentialBackOffStrategy: uniformly random below a ceiling that doubles, capped.
    const delay = Math.floor(this.#random() * this.#backoffCeilingMs(this.#retryAttempt++));
    this.#log.warn("ADS stream closed, retrying", { stream, code, details, retry_in_ms: delay });
    this.#retryTimer = this.#clock.setTimeout(() => this.#openStream(), delay);
    this.#o.observer?.streamClosed?.(stream, code, details, delay);
  }

  /** Starts the initial-fetch timer and the does-not-exist timers of names not yet seen. */
  #armTimers(t: TypeState): void {
    const ms = this.#initialFetchTimeoutMs;
    if (!this.#connected || ms <= 0 || this.#call === undefined) return;
    if (!t.initialFetchDone && t.initialFetchTimer === undefined) {
      t.initialFetchTimer = this.#clock.setTimeout(() => {
        t.initialFetchTimer = undefined;
        t.stats.initFetchTimeout.inc();
        this.#log.warn("xDS initial fetch timed out", { type: t.typeUrl, timeout_ms: ms });
        this.#initialFetchFinished(t);
      }, ms);
    }
    for (const name of t.names) {
      if (t.received.has(name) || t.absentTimers.has(name)) continue;
      t.absentTimers.set(
        name,
        this.#clock.setTimeout(() => {
          t.absentTimers.delete(name);
          t.received.add(name); // reported once; a later response with it clears nothing
          this.#o.onDoesNotExist?.(t.typeUrl, name);
        }, ms),
      );
    }
  }

  #initialFetchFinished(t: TypeState): void {
    if (t.initialFetchDone) return;
    t.initialFetchDone = true;
    this.#clock.clearTimeout(t.initialFetchTimer);
    t.initialFetchTimer = undefined;
    if (this.#ready) return;
    for (const other of this.#types.values()) if (!other.initialFetchDone) return;
    this.#ready = true;
    this.#resolveReady();
  }

  /** One DiscoveryRequest for `t`: ACK/subscription (error undefined) or NACK. */
  #sendRequest(t: TypeState, errorMessage: string | undefined): void {
    const call = this.#call;
    if (!call) return; // sent when the next stream opens
    const names = [...t.names].sort();
    if (t.wildcard) names.unshift("*");
    const req: Record<string, unknown> = {
      version_info: t.acceptedVersion,
      resource_names: names,
      type_url: t.typeUrl,
      response_nonce: t.nonce,
    };
    if (!this.#nodeSent) {
      req.node = this.#o.node;
      this.#nodeSent = true;
    }
    if (errorMessage !== undefined) {
      req.error_detail = {
        code: NACK_CODE,
        message: errorMessage.slice(0, ADS_DEFAULTS.maxNackMessageChars),
      };
    }
    call.write(req);
    this.#armTimers(t);
  }

  #onResponse(resp: Record<string, unknown>): void {
    const typeUrl = String(resp.type_url ?? "");
    const version = String(resp.version_info ?? "");
    const nonce = String(resp.nonce ?? "");
    const t = this.#types.get(typeUrl);
    if (!t) {
      // Not subscribed (or not a type at all): NACK it once so the server's log shows why.
      this.#unknownTypeUrl.inc();
      this.#call?.write({
        version_info: "",
        resource_names: [],
        type_url: typeUrl,
        response_nonce: nonce,
        error_detail: { code: NACK_CODE, message: `type_url "${typeUrl}" is not subscribed by this client` },
      });
      return;
    }
    t.nonce = nonce;
    t.stats.updateAttempt.inc();
    const result = this.#decodeAndApply(t, resp, version);
    if (result.ok) {
      t.acceptedVersion = version;
      t.lastNack = undefined;
      t.stats.updateSuccess.inc();
      t.stats.version.set(fnv1a32(version));
      this.#sendRequest(t, undefined);
      this.#initialFetchFinished(t);
    } else {
      t.lastNack = { version, nonce, message: result.message, at: new Date().toISOString() };
      t.stats.updateRejected.inc();
      this.#log.warn("xDS update rejected", { type: typeUrl, version, nonce, reason: result.message });
      this.#sendRequest(t, result.message);
    }
    this.#o.observer?.responseHandled?.(typeUrl, result.ok, version, nonce);
  }

  /** Decodes the whole response, then applies it in one call; anything wrong rejects all of it. */
  #decodeAndApply(t: TypeState, resp: Record<string, unknown>, version: string): ApplyResult {
    const anys = (resp.resources as { type_url?: string; value?: Uint8Array }[] | undefined) ?? [];
    const byName = new Map<string, Record<string, unknown>>();
    const seenNow = new Set<string>();
    for (let i = 0; i < anys.length; i++) {
      const any = anys[i]!;
      if (any.type_url !== t.typeUrl) {
        return fail(
          `resource #${i}: Any type_url "${any.type_url ?? ""}" is not the response's "${t.typeUrl}"`,
        );
      }
      let decoded: Record<string, unknown>;
      try {
        decoded = this.#o.decode(t.typeUrl, any.value ?? new Uint8Array());
      } catch (e) {
        return fail(`resource #${i}: cannot decode ${typeName(t.typeUrl)}: ${errorText(e)}`);
      }
      const name = resourceName(t.typeUrl, decoded);
      if (name === "") return fail(`resource #${i}: ${typeName(t.typeUrl)} has no name`);
      if (seenNow.has(name)) return fail(`duplicate resource name "${name}"`);
      seenNow.add(name);
      if (!t.wildcard && !t.names.has(name)) {
        t.stats.unrequestedResource.inc(); // ignored, not an error (xds.md A4)
        continue;
      }
      byName.set(name, decoded);
    }
    let result: ApplyResult;
    this.#applyingType = t.typeUrl;
    try {
      result = this.#o.apply(t.typeUrl, byName, version);
    } catch (e) {
      result = fail(errorText(e));
    } finally {
      this.#applyingType = undefined;
    }
    if (result.ok) {
      for (const name of byName.keys()) {
        t.received.add(name);
        this.#clock.clearTimeout(t.absentTimers.get(name));
        t.absentTimers.delete(name);
      }
    }
    return result;
  }
}

function fail(message: string): ApplyResult {
  return { ok: false, message };
}

function rank(typeUrl: string): number {
  const i = SUBSCRIBE_ORDER.indexOf(typeUrl as typeof SUBSCRIBE_ORDER[number]);
  return i < 0 ? SUBSCRIBE_ORDER.length : i;
}

function typeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

/** A ClusterLoadAssignment is named by `cluster_name`; every other xDS resource by `name`. */
function resourceName(typeUrl: string, decoded: Record<string, unknown>): string {
  const v = typeUrl === TYPE_URL.endpoint ? decoded.cluster_name : decoded.name;
  return typeof v === "string" ? v : "";
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
