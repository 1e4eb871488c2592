import {
  type ByteBudget,
  type Clock,
  clusterCounterNames,
  type LimitGauge,
  type Logger,
  ProxyError,
  SharedCounters,
  type StreamConn,
  systemClock,
  type TimerId,
} from "../../core/mod.ts";
import type { ClusterConfig, HostConfig } from "../../config/mod.ts";
import { type CodecOptions, defaultCodecOptions, getCodec } from "../../codec/mod.ts";
import type { Counter, Gauge, Histogram, Scope, StatsRegistry } from "../../stats/mod.ts";
import { UpstreamTls } from "../../tls/mod.ts";
import { PriorityBalancer } from "../lb/mod.ts";
import {
  ActiveHealthChecker,
  type ClusterHealth,
  type EjectionType,
  type HealthProbe,
  HealthStore,
  heartbeatProbe,
  type IntervalCounts,
  OutlierDetector,
  OutlierStats,
} from "../health/mod.ts";
import { connectWithTimeout } from "../pool/dial.ts";
import { ExclusivePool } from "../pool/http1_pool.ts";
import { MultiplexPool } from "../pool/multiplex_pool.ts";
import type { ConnectionPool, PoolHooks } from "../pool/types.ts";
import { Host, hostStats } from "./host.ts";
import { type DnsResolver, isIpLiteral, newDnsResolver } from "./dns.ts";

/** Cluster-wide counters (MOSN's upstream stats with the cluster label). */
export interface ClusterStats {
  readonly requestTotal: Counter;
  readonly requestActive: Gauge;
  readonly requestTimeout: Counter;
  readonly requestPendingOverflow: Counter;
  readonly requestPendingActive: Gauge;
  readonly requestRetry: Counter;
  readonly requestRetryOverflow: Counter;
  readonly requestLocalReset: Counter;
  readonly requestRemoteReset: Counter;
  readonly requestNoHealthyHost: Counter;
  readonly connectionTotal: Counter;
  readonly connectionActive: Gauge;
  readonly connectionConFail: Counter;
  /** A connection was refused by max_connections (tcp_proxy; pools queue or count pending overflow). */
  readonly connectionOverflow: Counter;
  /** A connection was closed because the upstream stopped reading (write queue over its hard limit). */
  readonly connectionBufferOverflow: Counter;
  readonly connectionBytesRead: Counter;
  readonly responseSuccess: Counter;
  readonly responseFailed: Counter;
  readonly requestDurationTime: Histogram;
  /** Hosts the load balancers may pick (Envoy's membership_healthy). */
  readonly membershipHealthy: Gauge;
  readonly membershipTotal: Gauge;
  /** Picks made over all hosts of a level because too few were healthy (Envoy's lb_healthy_panic). */
  readonly lbHealthyPanic: Counter;
}

export interface ClusterOptions {
  /** Bounds the bytes RPC connections may hold in incomplete frames (default: no shared budget). */
  readonly budget?: ByteBudget;
  /** Drives the STRICT_DNS refresh timer (default: the system clock). */
  readonly clock?: Clock;
  /** Resolves STRICT_DNS names (default: the one the cluster's config asks for). */
  readonly resolver?: DnsResolver;
  /**
   * Host health that outlives this cluster (the Server's, shared by every snapshot), so a host that
   * stays across a reload keeps its state. Default: this cluster's own.
   */
  readonly health?: HealthStore;
  /** Random source for jitter, enforcement draws and priority picks (tests). Default Math.random. */
  readonly random?: () => number;
  /** Replaces the health check probe (tests). */
  readonly healthProbe?: HealthProbe;
  /**
   * Where the circuit breakers count (`core/shared_counters`): the process-wide table with workers, so
   * `circuit_breakers` hold for the whole process; by cluster name, so a reload's old and new cluster count
   * together. Default: this cluster's own gauges.
   */
  readonly limits?: SharedCounters;
}

/** The gauges `circuit_breakers` are checked against. */
export interface CircuitBreakerGauges {
  /** Upstream connections open or being opened (max_connections). */
  readonly connections: LimitGauge;
  /** Requests waiting for a connection (max_pending_requests). */
  readonly pending: LimitGauge;
  /** Upstream requests in flight (max_requests). */
  readonly requests: LimitGauge;
  /** Retries waiting for their back-off or in flight (max_retries). */
  readonly retries: LimitGauge;
}

/** A host to have in the cluster: its address, weight, and what its configuration says about it. */
interface HostEntry {
  readonly hostname: string;
  readonly port: number;
  readonly weight: number;
  /** The configured name (for STRICT_DNS, the name it resolved from). */
  readonly name: string;
  readonly tlsDisable: boolean;
  readonly priority: number;
}

/** One configured STRICT_DNS host and what it resolved to. */
interface DnsTarget {
  readonly config: HostConfig;
  /** The last answer, sorted; the configured name until the first one (as MOSN: dialing resolves it). */
  addresses: string[];
  /** The failure last logged, so one repeating at every refresh is logged once. */
  failure: string | undefined;
}

/**
 * A cluster at run time: its hosts and load balancer, circuit breakers, per-host pools and stats.
 * The host list is immutable per load balancer; STRICT_DNS re-resolution builds a new one.
 */
export class Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly stats: ClusterStats;
  #hosts: Host[] = [];
  #lb: PriorityBalancer;
  readonly #health: ClusterHealth;
  readonly #healthStore: HealthStore;
  /**
   * A worker of `--concurrency N` (the store's role is `follower`): no active checks, outlier detections
   * reported to the main thread, no health gauges (the main thread's, once per process).
   */
  readonly #follower: boolean;
  /** `#health.version` when the priority load was last computed. */
  #healthVersion = -1;
  #healthReleased = false;
  readonly #random: () => number;
  readonly #outlier: OutlierDetector | undefined;
  readonly #checker: ActiveHealthChecker | undefined;
  #registry: StatsRegistry;
  #logger: Logger;
  #clock: Clock;
  #dnsTargets: DnsTarget[] = [];
  #dnsTimer: TimerId | undefined;
  #dnsStopped = false;
  /** What the circuit breakers count, process-wide with workers. */
  readonly breakers: CircuitBreakerGauges;
  readonly #codecOptions: CodecOptions;
  /** The cluster's TLS origination (one secure context for every host); undefined = plaintext. */
  readonly tls: UpstreamTls | undefined;

  constructor(config: ClusterConfig, registry: StatsRegistry, logger: Logger, options: ClusterOptions = {}) {
    this.name = config.name;
    this.config = config;
    const limits = options.limits ?? SharedCounters.local();
    const names = clusterCounterNames(config.name);
    this.breakers = {
      connections: limits.gauge(names.connections),
      pending: limits.gauge(names.pending),
      requests: limits.gauge(names.requests),
      retries: limits.gauge(names.retries),
    };
    this.#registry = registry;
    this.#logger = logger;
    this.#clock = options.clock ?? systemClock;
    this.#codecOptions = {
      ...defaultCodecOptions,
      ...(options.budget === undefined ? {} : { bufferBudget: options.budget }),
      http2: config.http2,
      stats: registry.scope("codec", { cluster: config.name }),
    };
    const s = registry.scope("upstream", { cluster: config.name });
    this.stats = {
      requestTotal: s.counter("request_total"),
      requestActive: s.gauge("request_active"),
      requestTimeout: s.counter("request_timeout"),
      requestPendingOverflow: s.counter("request_pending_overflow"),
      requestPendingActive: s.gauge("request_pending_active"),
      requestRetry: s.counter("request_retry"),
      requestRetryOverflow: s.counter("request_retry_overflow"),
      requestLocalReset: s.counter("request_local_reset"),
      requestRemoteReset: s.counter("request_remote_reset"),
      requestNoHealthyHost: s.counter("request_no_healthy_host"),
      connectionTotal: s.counter("connection_total"),
      connectionActive: s.gauge("connection_active"),
      connectionConFail: s.counter("connection_con_fail"),
      connectionOverflow: s.counter("connection_overflow"),
      connectionBufferOverflow: s.counter("connection_buffer_overflow"),
      connectionBytesRead: s.counter("connection_bytes_read_total"),
      responseSuccess: s.counter("response_success"),
      responseFailed: s.counter("response_failed"),
      requestDurationTime: s.histogram("request_duration_time"),
      membershipHealthy: s.gauge("membership_healthy"),
      membershipTotal: s.gauge("membership_total"),
      lbHealthyPanic: s.counter("lb_healthy_panic"),
    };
    this.#random = options.random ?? Math.random;
    this.#healthStore = options.health ?? new HealthStore();
    this.#health = this.#healthStore.cluster(config.name);
    const role = this.#healthStore.role;
    this.#follower = role?.kind === "follower";
    const od = config.outlierDetection;
    this.#outlier = od === undefined ? undefined : new OutlierDetector(od, new OutlierStats(s), {
      clock: this.#clock,
      random: this.#random,
      logger,
      clusterName: config.name,
      onHostEjected: (hh) => this.#hosts.find((h) => h.health === hh)?.stats.outlierEjections.inc(),
      onChange: () => this.#refreshHealth(),
      ...(role?.kind === "follower"
        ? {
          report: (hh, type) => role.reportOutlier(config.name, hh.address, type),
          reportInterval: (counts) => role.reportInterval(config.name, counts),
        }
        : {}),
    });
    // A worker runs no checks: the main thread checks each host once for the process.
    const hc = this.#follower ? undefined : config.healthCheck;
    const probe = options.healthProbe ?? this.#rpcProbe();
    this.#checker = hc === undefined ? undefined : new ActiveHealthChecker(hc, {
      clock: this.#clock,
      random: this.#random,
      logger,
      clusterName: config.name,
      ...(probe === undefined ? {} : { probe }),
      serviceScope: registry.scope("healthcheck", { service: hc.serviceName }),
      onSuccess: (hh) => this.#outlier?.onActiveCheckSuccess(hh),
      onChange: () => this.#refreshHealth(),
    });
    this.tls = config.tls === undefined ? undefined : new UpstreamTls(config.tls, { stats: s, logger });
    this.#setHosts(
      config.hosts.map((h) => ({
        hostname: h.address.hostname,
        port: h.address.port,
        weight: h.weight,
        name: h.address.hostname,
        tlsDisable: h.tlsDisable,
        priority: h.priority,
      })),
    );
    this.#lb = this.#buildLb();
    this.#refreshHealth();
    this.#outlier?.start();
    if (config.type === "STRICT_DNS") {
      this.#startDns(options.resolver ?? newDnsResolver(config.dnsResolver, config.dnsLookupFamily), s);
    }
  }

  /**
   * An RPC cluster's check: `health_check.protocol` naming a registered codec other than HTTP (bolt,
   * boltv2, dubbo) sends that protocol's heartbeat. Not over TLS (a TLS cluster's check stays a TCP
   * connect); undefined = the checker's own choice (HTTP or TCP).
   */
  #rpcProbe(): HealthProbe | undefined {
    const hc = this.config.healthCheck;
    if (hc === undefined || hc.http !== undefined || this.config.tls !== undefined) return undefined;
    const name = hc.protocol.toLowerCase();
    if (name === "" || name === "http1" || name === "http2") return undefined;
    const codec = getCodec(hc.protocol) ?? getCodec(name);
    if (codec === undefined) return undefined;
    return heartbeatProbe(codec, this.#codecOptions, Math.min(this.config.connectTimeoutMs, hc.timeoutMs));
  }

  get hosts(): readonly Host[] {
    return this.#hosts;
  }

  /**
   * Picks a host for a request (hashKey drives LB_MAGLEV): a priority level by the priority load, then a
   * healthy host of it, or any host of it in panic.
   */
  chooseHost(hashKey?: string): Host | undefined {
    // A health change made elsewhere (another snapshot's checker) shows as a new version: O(1) to see.
    if (this.#health.version !== this.#healthVersion) this.#refreshHealth();
    const lb = this.#lb;
    const panicBefore = lb.panicPicks;
    const host = lb.choose(hashKey === undefined ? undefined : { hashKey }) as Host | undefined;
    if (lb.panicPicks !== panicBefore) this.stats.lbHealthyPanic.inc();
    return host;
  }

  /** The priority load and panic state now (diagnostics, tests). */
  get priorityLoad(): PriorityBalancer["state"] {
    return this.#lb.state;
  }

  /**
   * The main thread of `--concurrency N`: a worker's outlier detection found `address` over its
   * threshold. Decided here (enforcement, cap, ejection time); false when this cluster has no such host
   * (a STRICT_DNS answer not seen here yet) or no outlier detection.
   */
  onOutlierDetectedElsewhere(address: string, type: EjectionType): boolean {
    const host = this.#hosts.find((h) => h.address === address);
    if (host === undefined || this.#outlier === undefined) return false;
    this.#outlier.onDetectedElsewhere(host.health, type);
    return true;
  }

  /**
   * The main thread of `--concurrency N`: a worker's outlier-detection results of its last interval, summed
   * into this cluster's for the next sweep's success-rate and failure-percentage judgement. Returns how
   * many rows named a host this cluster does not have.
   */
  addOutlierIntervalCounts(counts: readonly IntervalCounts[]): number {
    return this.#outlier?.addIntervalCounts(counts) ?? counts.length;
  }

  /** Recomputes the priority load and the health gauges after a host's health changed. */
  #refreshHealth(): void {
    this.#healthVersion = this.#health.version;
    this.#lb.refresh();
    // Drained (a newer snapshot runs): the shared stats scopes show the newer cluster's view. A worker
    // leaves them to the main thread.
    if (this.#healthReleased || this.#follower) return;
    let healthy = 0;
    for (const h of this.#hosts) {
      if (h.healthy) healthy++;
      h.updateHealthStats();
    }
    this.stats.membershipHealthy.set(healthy);
    this.stats.membershipTotal.set(this.#hosts.length);
  }

  /** circuit_breakers.max_requests: may one more request start? */
  canStartRequest(): boolean {
    const max = this.config.circuitBreakers.maxRequests;
    return max === 0 || this.breakers.requests.value < max;
  }

  /** circuit_breakers.max_retries: may one more retry start? */
  canRetry(): boolean {
    const max = this.config.circuitBreakers.maxRetries;
    return max === 0 || this.breakers.retries.value < max;
  }

  /** Retries waiting or in flight, counted against max_retries (process-wide with workers). */
  get activeRetries(): number {
    return this.breakers.retries.value;
  }

  /** circuit_breakers.max_connections: may one more connection be opened? */
  canOpenConnection(): boolean {
    const max = this.config.circuitBreakers.maxConnections;
    return max === 0 || this.breakers.connections.value < max;
  }

  /** Upstream connections open or being opened, counted against max_connections (process-wide). */
  get connections(): number {
    return this.breakers.connections.value;
  }

  /**
   * Counts a connection that is not pooled (tcp_proxy) against max_connections: false (and counted as
   * connection_overflow) when the breaker is open. Call `connectionClosed` once it is gone.
   */
  tryOpenConnection(host: Host): boolean {
    // Check and count in one atomic step: two workers cannot both take the last connection.
    if (!this.breakers.connections.tryAcquire(this.config.circuitBreakers.maxConnections)) {
      this.stats.connectionOverflow.inc();
      return false;
    }
    this.#countOpened(host);
    return true;
  }

  /**
   * A byte stream to `host` for a connection that is not pooled (tcp_proxy): TLS when the cluster has a
   * tls_context and the host is not tls_disable (no ALPN: raw bytes), else TCP; within connect_timeout.
   * Count it with `tryOpenConnection` first.
   * @throws {ProxyError} `connect_failure`
   */
  async connectHost(host: Host): Promise<StreamConn> {
    const timeoutMs = this.config.connectTimeoutMs;
    if (this.tls === undefined || host.tlsDisable) {
      return await connectWithTimeout(host.hostname, host.port, timeoutMs);
    }
    return (await this.tls.connect(host.hostname, host.port, timeoutMs, undefined, host.name)).conn;
  }

  connectionClosed(host: Host): void {
    this.#closedOne(host);
  }

  #opened(host: Host): void {
    this.breakers.connections.add();
    this.#countOpened(host);
  }

  #countOpened(host: Host): void {
    this.stats.connectionTotal.inc();
    this.stats.connectionActive.inc();
    host.stats.connectionTotal.inc();
    host.stats.connectionActive.inc();
  }

  #closedOne(host: Host): void {
    this.breakers.connections.sub();
    this.stats.connectionActive.dec();
    host.stats.connectionActive.dec();
  }

  /** The pool for `host` speaking `protocol`, created on first use. */
  pool(host: Host, protocol: string): ConnectionPool {
    let p = host.pools.get(protocol);
    if (p !== undefined) return p;
    const codec = getCodec(protocol);
    if (codec === undefined) {
      throw new ProxyError("internal", "internal", `no codec registered for ${protocol}`);
    }
    const base = {
      hostname: host.hostname,
      port: host.port,
      codec,
      codecOptions: this.#codecOptions,
      connectTimeoutMs: this.config.connectTimeoutMs,
      idleTimeoutMs: this.config.idleTimeoutMs,
      maxRequestsPerConnection: this.config.maxRequestPerConn,
      bufferLimitBytes: this.config.connBufferLimitBytes,
      hooks: this.#hooks(host),
      ...(this.tls === undefined || host.tlsDisable ? {} : { tls: this.tls, tlsName: host.name }),
    };
    p = codec.multiplexed
      ? new MultiplexPool({
        ...base,
        maxRequestsPerConnection: 0,
        connectionsPerHost: this.config.maxConnectionsPerHost,
        keepalive: this.config.keepalive,
      })
      : new ExclusivePool(base);
    host.pools.set(protocol, p);
    return p;
  }

  #hooks(host: Host): PoolHooks {
    const cb = this.config.circuitBreakers;
    const cs = this.stats;
    const hs = host.stats;
    return {
      // With workers (a shared breaker) a pool with no connection may open one past max_connections, as
      // Envoy's pools do (conn_pool_base.cc): the connections filling the breaker may all sit in other
      // workers' pools, and requests queued here would wait for a connection that never comes.
      canOpenConnection: (poolConnections) =>
        this.canOpenConnection() || (poolConnections === 0 && this.breakers.connections.shared),
      canQueue: () => cb.maxPendingRequests === 0 || this.breakers.pending.value < cb.maxPendingRequests,
      onConnectionOpened: () => this.#opened(host),
      onConnectionClosed: () => this.#closedOne(host),
      onConnectFailure: (err) => {
        cs.connectionConFail.inc();
        hs.connectionConFail.inc();
        this.#logger.debug("upstream connect failed", {
          cluster: this.name,
          host: host.address,
          error: err.message,
        });
      },
      onPendingChange: (d) => {
        this.breakers.pending.add(d);
        cs.requestPendingActive.inc(d);
      },
      onBytesRead: (n) => cs.connectionBytesRead.inc(n),
      onWriteOverflow: () => cs.connectionBufferOverflow.inc(),
    };
  }

  #setHosts(list: HostEntry[]): void {
    const old = new Map(this.#hosts.map((h) => [h.address, h]));
    const next: Host[] = [];
    for (const h of list) {
      const key = h.hostname.includes(":") ? `[${h.hostname}]:${h.port}` : `${h.hostname}:${h.port}`;
      const existing = old.get(key);
      if (
        existing !== undefined && existing.weight === h.weight && existing.name === h.name &&
        existing.tlsDisable === h.tlsDisable && existing.priority === h.priority
      ) {
        next.push(existing);
        old.delete(key);
        continue;
      }
      const scope = this.#registry.scope("upstream", { cluster: this.name, host: key });
      next.push(
        new Host(h.hostname, h.port, h.weight, hostStats(scope), {
          name: h.name,
          tlsDisable: h.tlsDisable,
          priority: h.priority,
          // Acquired before the old Host (if any) releases it below: the state carries over.
          health: this.#health.acquire(key),
          ...(this.#outlier === undefined ? {} : { outlier: this.#outlier }),
          publishHealth: !this.#follower,
        }),
      );
    }
    const kept = new Set(next.map((h) => h.address));
    for (const gone of old.values()) {
      gone.closePools();
      this.#health.release(gone.address);
      if (!kept.has(gone.address)) {
        this.#registry.removeScope("upstream", { cluster: this.name, host: gone.address });
      }
    }
    this.#hosts = next;
    this.#outlier?.setHosts(next.map((h) => h.health));
    this.#checker?.setHosts(
      next.map((h) => ({
        hostname: h.hostname,
        port: h.port,
        address: h.address,
        health: h.health,
        scope: this.#registry.scope("upstream", { cluster: this.name, host: h.address }),
      })),
    );
  }

  #buildLb(): PriorityBalancer {
    const levels: Host[][] = [[]];
    for (const h of this.#hosts) {
      while (levels.length <= h.priority) levels.push([]);
      levels[h.priority]!.push(h);
    }
    return new PriorityBalancer(levels, {
      lbType: this.config.lbType,
      choiceCount: this.config.leastRequestChoiceCount,
      panicThresholdPercent: this.config.healthyPanicThresholdPercent,
      overprovisioningFactorPercent: this.config.overprovisioningFactorPercent,
      random: this.#random,
    });
  }

  /**
   * Resolves every host name now and again `dns_refresh_rate` after each round completes (so a slow
   * resolver delays refreshes instead of piling them up). IP addresses are hosts as they are.
   */
  #startDns(resolver: DnsResolver, scope: Scope): void {
    // Not in ClusterStats, and only for STRICT_DNS clusters: MOSN has no such counters.
    const total = scope.counter("dns_resolve_total");
    const failures = scope.counter("dns_resolve_failure");
    this.#dnsTargets = this.config.hosts.map((h) => ({
      config: h,
      addresses: [h.address.hostname],
      failure: undefined,
    }));
    const names = this.#dnsTargets.filter((t) => !isIpLiteral(t.config.address.hostname));
    if (names.length === 0) return;
    const resolveOne = async (t: DnsTarget) => {
      const name = t.config.address.hostname;
      total.inc();
      try {
        const found = await resolver.resolve(name);
        if (found.length === 0) throw new Error("the answer has no address");
        t.addresses = [...new Set(found)].sort();
        if (t.failure !== undefined) {
          this.#logger.info("dns resolution recovered", { cluster: this.name, host: name });
          t.failure = undefined;
        }
      } catch (e) {
        failures.inc();
        const reason = e instanceof Error ? e.message : String(e);
        if (reason !== t.failure) {
          // A transient failure must not empty the cluster: this name keeps its last addresses.
          this.#logger.warn("dns resolution failed; keeping the previous hosts", {
            cluster: this.name,
            host: name,
            error: reason,
          });
          t.failure = reason;
        }
      }
    };
    const round = async () => {
      try {
        await Promise.all(names.map(resolveOne));
        // Drained meanwhile: its hosts are closing, so no new ones.
        if (!this.#dnsStopped) this.#applyDns();
      } finally {
        if (!this.#dnsStopped) this.#dnsTimer = this.#clock.setTimeout(round, this.config.dnsRefreshRateMs);
      }
    };
    void round();
  }

  #applyDns(): void {
    const seen = new Set<string>();
    const list: HostEntry[] = [];
    for (const t of this.#dnsTargets) {
      const { port } = t.config.address;
      for (const hostname of t.addresses) {
        // Two names resolving to one address make one host (the first name's weight).
        const key = `${hostname} ${port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        list.push({
          hostname,
          port,
          weight: t.config.weight,
          name: t.config.address.hostname,
          tlsDisable: t.config.tlsDisable,
          priority: t.config.priority,
        });
      }
    }
    const before = this.#hosts.map((h) => h.address).join(",");
    this.#setHosts(list);
    if (this.#hosts.map((h) => h.address).join(",") === before) return;
    this.#lb = this.#buildLb();
    this.#refreshHealth();
    this.#logger.info("cluster hosts updated from dns", {
      cluster: this.name,
      hosts: this.#hosts.map((h) => h.address),
    });
  }

  /** Stops DNS refresh and closes idle connections; in-flight streams finish. */
  drain(): void {
    this.#clock.clearTimeout(this.#dnsTimer);
    this.#dnsStopped = true;
    this.#checker?.stop();
    this.#outlier?.stop();
    if (!this.#healthReleased) {
      // The next snapshot has acquired the hosts it keeps: the others' state goes now.
      this.#healthReleased = true;
      for (const h of this.#hosts) this.#health.release(h.address);
      this.#healthStore.forgetIfEmpty(this.name);
    }
    for (const h of this.#hosts) h.closePools();
  }

  close(): void {
    this.drain();
    for (const h of this.#hosts) for (const p of h.pools.values()) p.close();
  }
}
