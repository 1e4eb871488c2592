import {
  type ByteBudget,
  listenerCounterName,
  type Logger,
  SharedCounters,
  systemClock,
} from "../core/mod.ts";
import type {
  ConfigSnapshot,
  ListenerConfig,
  ProxyFilterConfig,
  TcpProxyFilterConfig,
} from "../config/mod.ts";
import { type CodecOptions, defaultCodecOptions } from "../codec/mod.ts";
import { compileRouteTable, type RouteTable } from "../router/mod.ts";
import { ClusterManager, type HealthStore } from "../upstream/mod.ts";
import { type FilterEnvironment, getStreamFilter, type StreamFilterFactory } from "../filter/mod.ts";
import { AccessLogWriter, compileAccessLogFormat, DEFAULT_ACCESS_LOG_FORMAT } from "../accesslog/mod.ts";
import { type AccessLogSink, DownstreamStats, type ProxyContext } from "../proxy/mod.ts";
import { type ListenerPlan, resolveCodecs, TcpProxy } from "../listener/mod.ts";
import type { Scope, StatsRegistry } from "../stats/mod.ts";
import { alpnForCodecs, TlsServer, TlsServerStats } from "../tls/mod.ts";

/** Largest request body buffered for replay when a route has a retry policy. */
const RETRY_BUFFER_LIMIT = 1024 * 1024;

/**
 * Everything one config snapshot runs: clusters, compiled route tables and a plan per listener. Built
 * whole from an immutable snapshot and never patched: a reload builds a new Runtime, hands its plans to
 * the bound listeners, and drains the old one. Binding sockets is the Server's job, so a Runtime can be
 * built (and fail) without touching the listeners that are serving.
 */
export class Runtime {
  readonly snapshot: ConfigSnapshot;
  readonly clusters: ClusterManager;
  readonly routeTables: ReadonlyMap<string, RouteTable>;
  readonly plans: readonly ListenerPlan[];
  readonly #limits: SharedCounters;

  /**
   * @param writers access-log writers by path, shared across runtimes so a reload neither reopens files
   *   nor closes one an in-flight request of the old runtime is about to log to.
   * @param budget the process-wide buffer budget (`limits.max_buffered_bytes`), shared across runtimes
   *   because connections of the old one still hold what they reserved.
   * @param health host health shared across runtimes, so hosts that stay keep their health state.
   * @param limits where circuit breakers and listener `max_connections` count: by name, shared across
   *   runtimes (and, with workers, across threads).
   */
  constructor(
    snapshot: ConfigSnapshot,
    registry: StatsRegistry,
    logger: Logger,
    writers: Map<string, AccessLogWriter>,
    budget: ByteBudget,
    health?: HealthStore,
    limits: SharedCounters = SharedCounters.local(),
  ) {
    this.snapshot = snapshot;
    this.#limits = limits;
    const tables = new Map<string, RouteTable>();
    for (const server of snapshot.servers) {
      for (const r of server.routers) tables.set(r.routerConfigName, compileRouteTable(r));
    }
    this.routeTables = tables;
    this.clusters = new ClusterManager(snapshot.clusters, registry, logger, budget, health, limits);
    const plans: ListenerPlan[] = [];
    try {
      for (const server of snapshot.servers) {
        for (const l of server.listeners) plans.push(this.#plan(l, registry, logger, writers, budget));
      }
    } catch (e) {
      this.clusters.close(); // no DNS timers left behind by a runtime that never runs
      throw e;
    }
    this.plans = plans;
  }

  #plan(
    l: ListenerConfig,
    registry: StatsRegistry,
    logger: Logger,
    writers: Map<string, AccessLogWriter>,
    budget: ByteBudget,
  ): ListenerPlan {
    const stats = new DownstreamStats(registry.scope("downstream", { listener: l.name }));
    const proxyCfg = l.networkFilters.find((f): f is ProxyFilterConfig => f.type === "proxy");
    const tcpCfg = l.networkFilters.find((f): f is TcpProxyFilterConfig => f.type === "tcp_proxy");
    const listenerLogger = logger.with({ listener: l.name });
    const accessLogs: AccessLogSink[] = l.accessLogs.map((a) => {
      let writer = writers.get(a.path);
      if (writer === undefined) {
        // One writer per path for the process's life (see `writers`): its first config sets its buffer.
        const s = registry.scope("accesslog", { path: a.path });
        const dropped = s.counter("dropped_total");
        const errors = s.counter("write_error_total");
        writer = new AccessLogWriter(a.path, {
          maxBufferBytes: a.bufferLimitBytes,
          onDrop: (n) => dropped.inc(n),
          onError: () => errors.inc(),
        });
        writers.set(a.path, writer);
      }
      return { format: compileAccessLogFormat(a.format || DEFAULT_ACCESS_LOG_FORMAT), writer };
    });
    let proxy: ProxyContext | undefined;
    let codecOptions: CodecOptions = { ...defaultCodecOptions, bufferBudget: budget };
    if (proxyCfg !== undefined) {
      const table = this.routeTables.get(proxyCfg.routerConfigName);
      if (table === undefined) throw new RangeError(`Cannot find router "${proxyCfg.routerConfigName}"`);
      const env: FilterEnvironment = {
        clusterNames: new Set(this.snapshot.clusters.map((c) => c.name)),
        clusterHealth: (name) => {
          const c = this.clusters.get(name);
          if (c === undefined) return undefined;
          let healthy = 0;
          for (const h of c.hosts) if (h.healthy) healthy++;
          return { total: c.hosts.length, healthy };
        },
        clock: systemClock,
        stats: registry.scope("downstream", { listener: l.name }),
      };
      const factories: StreamFilterFactory[] = l.streamFilters.map((f) => {
        const made = getStreamFilter(f.type)!.create(f.config, env);
        if ("errors" in made) {
          const why = made.errors.map((e) => typeof e === "string" ? e : `${e.path}: ${e.message}`);
          throw new RangeError(`Cannot build stream filter ${f.type}: ${why.join("; ")}`);
        }
        return made;
      });
      proxy = {
        listenerName: l.name,
        routeTable: table,
        clusters: this.clusters,
        stats,
        logger: listenerLogger,
        filterFactories: factories,
        accessLogs,
        upstreamProtocol: proxyCfg.upstreamProtocol,
        retryBufferLimit: RETRY_BUFFER_LIMIT,
        forwarding: {
          useRemoteAddress: proxyCfg.useRemoteAddress,
          xffNumTrustedHops: proxyCfg.xffNumTrustedHops,
        },
        streamIdleTimeoutMs: proxyCfg.streamIdleTimeoutMs,
        ...(proxyCfg.normalizePath || proxyCfg.generateRequestId || proxyCfg.serverHeader
          ? {
            envoyHttp: {
              normalizePath: proxyCfg.normalizePath,
              generateRequestId: proxyCfg.generateRequestId,
              serverHeader: proxyCfg.serverHeader,
            },
          }
          : {}),
      };
      codecOptions = codecOptionsFor(proxyCfg, budget, registry.scope("codec", { listener: l.name }));
      // A filter that answers health checks gets them: the codecs stop answering bolt heartbeats.
      if (l.streamFilters.some((f) => getStreamFilter(f.type)?.takesHealthChecks === true)) {
        codecOptions = { ...codecOptions, deliverHealthChecks: true };
      }
    }
    const codecs = proxyCfg ? resolveCodecs(proxyCfg.downstreamProtocols) : [];
    // Built once per snapshot: a bad certificate or key fails this Runtime (a reload keeps the old one).
    const tls = l.tlsContexts.length === 0 ? undefined : new TlsServer({
      contexts: l.tlsContexts,
      defaultAlpn: alpnForCodecs(codecs),
      handshakeTimeoutMs: l.tlsHandshakeTimeoutMs,
      stats: new TlsServerStats(registry.scope("downstream", { listener: l.name })),
      logger: listenerLogger,
    });
    return {
      config: l,
      stats,
      proxy,
      tls,
      connectionLimit: this.#limits.gauge(listenerCounterName(l.name)),
      codecs,
      autoDetect: proxyCfg?.autoDetect ?? false,
      codecOptions,
      tcpProxy: tcpCfg
        ? new TcpProxy(
          tcpCfg,
          this.clusters,
          listenerLogger,
          registry.scope("downstream", { listener: l.name }),
        )
        : undefined,
      fallbackToTcpProxy: proxyCfg?.fallbackForUnknownProtocol ?? false,
      requestHeadersTimeoutMs: proxyCfg?.requestHeadersTimeoutMs ?? 0,
      logger: listenerLogger,
    };
  }

  /** Stops DNS refresh and closes idle upstream connections; in-flight streams finish. */
  drain(): void {
    this.clusters.drain();
  }

  close(): void {
    this.clusters.close();
  }
}

function codecOptionsFor(cfg: ProxyFilterConfig, budget: ByteBudget, stats: Scope): CodecOptions {
  // MOSN writes extend_config both flat ({ enable_bolt_goaway: true, sub_protocol: bolt }) and keyed by
  // protocol ({ Http1: { max_header_size } }); codecs see one flat map of both.
  const extend: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg.extendConfig)) {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) Object.assign(extend, v);
    else extend[k] = v;
  }
  const maxHeader = typeof extend["max_header_size"] === "number" ? extend["max_header_size"] : undefined;
  return {
    ...defaultCodecOptions,
    maxHeaderBytes: maxHeader ?? defaultCodecOptions.maxHeaderBytes,
    extend,
    maxConcurrentStreams: cfg.maxConcurrentStreams,
    bufferBudget: budget,
    http2: cfg.http2,
    stats,
  };
}
