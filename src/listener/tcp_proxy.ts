import type { Logger } from "../core/mod.ts";
import type { TcpProxyFilterConfig } from "../config/mod.ts";
import { type ClusterManager, connectWithTimeout, type Host } from "../upstream/mod.ts";
import { runReadLoop, SocketIO } from "../transport/mod.ts";

/**
 * The `tcp_proxy` network filter: raw L4 forwarding to a host of a cluster, both directions with
 * backpressure, half-close propagated, closed after `idle_timeout` without traffic. Connects within the
 * cluster's `connect_timeout`, and each relayed connection counts against the cluster's
 * `max_connections` circuit breaker like a pooled one.
 */
export class TcpProxy {
  readonly #config: TcpProxyFilterConfig;
  readonly #clusters: ClusterManager;
  readonly #logger: Logger;

  constructor(config: TcpProxyFilterConfig, clusters: ClusterManager, logger: Logger) {
    this.#config = config;
    this.#clusters = clusters;
    this.#logger = logger;
  }

  /** Proxies `down` (with bytes already read while sniffing) until both sides are done. */
  async handle(down: SocketIO, initial: Uint8Array | undefined): Promise<void> {
    const cluster = this.#clusters.get(this.#config.cluster);
    if (cluster === undefined) return down.close();
    let up: Deno.TcpConn | undefined;
    let upHost: Host | undefined;
    for (let i = 0; i < this.#config.maxConnectAttempts && up === undefined; i++) {
      const host = cluster.chooseHost();
      if (host === undefined) break;
      if (!cluster.tryOpenConnection(host)) break; // max_connections: refuse rather than pile up
      try {
        up = await connectWithTimeout(host.hostname, host.port, cluster.config.connectTimeoutMs);
        upHost = host;
      } catch (e) {
        cluster.connectionClosed(host);
        cluster.stats.connectionConFail.inc();
        this.#logger.debug("tcp_proxy connect failed", {
          cluster: cluster.name,
          host: host.address,
          error: String(e),
        });
      }
    }
    if (up === undefined || upHost === undefined) return down.close();
    const upIo = new SocketIO(up);
    let lastActive = performance.now();
    const idleMs = this.#config.idleTimeoutMs;
    const idleTimer = idleMs !== undefined && idleMs > 0
      ? setInterval(() => {
        if (performance.now() - lastActive >= idleMs) {
          down.close();
          upIo.close();
        }
      }, Math.min(idleMs, 1000))
      : undefined;
    const touch = () => lastActive = performance.now();
    try {
      await Promise.all([
        runReadLoop(
          down.conn,
          { feed: (d) => upIo.write(d), onEof: () => void upIo.closeWrite() },
          initial,
          touch,
        ),
        runReadLoop(
          up,
          { feed: (d) => down.write(d), onEof: () => void down.closeWrite() },
          undefined,
          touch,
        ),
      ]);
    } finally {
      clearInterval(idleTimer);
      down.close();
      upIo.close();
      cluster.connectionClosed(upHost);
    }
  }
}
