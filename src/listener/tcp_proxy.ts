import type { Logger, StreamConn } from "../core/mod.ts";
import type { TcpProxyFilterConfig } from "../config/mod.ts";
import type { Counter, Scope } from "../stats/mod.ts";
import type { ClusterManager, Host } from "../upstream/mod.ts";
import { runReadLoop, SocketIO } from "../transport/mod.ts";
import { TcpRouteTable } from "./tcp_routes.ts";

/**
 * The `tcp_proxy` network filter: raw L4 forwarding to a host of a cluster, both directions with
 * backpressure, half-close propagated, closed after `idle_timeout` without traffic. The cluster is
 * `cluster`, or picked by the connection's addresses from `routes` ({@link TcpRouteTable}); a connection
 * no route takes is closed and counted (`tcp_proxy_no_route_total`). Connects within the cluster's
 * `connect_timeout`, and each relayed connection counts against the cluster's `max_connections` circuit
 * breaker like a pooled one.
 */
export class TcpProxy {
  readonly #config: TcpProxyFilterConfig;
  readonly #routes: TcpRouteTable;
  readonly #clusters: ClusterManager;
  readonly #logger: Logger;
  readonly #noRoute: Counter | undefined;

  /** @param stats the listener's downstream scope, for `tcp_proxy_no_route_total` */
  constructor(config: TcpProxyFilterConfig, clusters: ClusterManager, logger: Logger, stats?: Scope) {
    this.#config = config;
    this.#routes = new TcpRouteTable(config);
    this.#clusters = clusters;
    this.#logger = logger;
    this.#noRoute = stats?.counter("tcp_proxy_no_route_total");
  }

  /** Proxies `down` (with bytes already read while sniffing) until both sides are done. */
  async handle(down: SocketIO, initial: Uint8Array | undefined): Promise<void> {
    const conn = down.conn;
    const name = this.#routes.clusterFor({
      remote: conn.remoteAddr as Deno.NetAddr,
      local: conn.localAddr as Deno.NetAddr,
    });
    const cluster = name === undefined ? undefined : this.#clusters.get(name);
    if (cluster === undefined) {
      this.#noRoute?.inc();
      this.#logger.debug("tcp_proxy: no route for the connection", {
        remote: formatEnd(conn.remoteAddr),
        local: formatEnd(conn.localAddr),
      });
      return down.close();
    }
    let up: StreamConn | undefined;
    let upHost: Host | undefined;
    for (let i = 0; i < this.#config.maxConnectAttempts && up === undefined; i++) {
      const host = cluster.chooseHost();
      if (host === undefined) break;
      if (!cluster.tryOpenConnection(host)) break; // max_connections: refuse rather than pile up
      try {
        up = await cluster.connectHost(host); // TLS when the cluster has a tls_context
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

function formatEnd(a: Deno.Addr): string {
  const n = a as Deno.NetAddr;
  return n.hostname.includes(":") ? `[${n.hostname}]:${n.port}` : `${n.hostname}:${n.port}`;
}
