import type { SocketAddress } from "../core/mod.ts";
import { formatAddress } from "../core/mod.ts";
import { createAdminHandler } from "./handler.ts";
import type { AdminViews } from "./handler.ts";

/** Options of `startAdmin()`: where to bind and what to show. */
export interface AdminOptions extends AdminViews {
  /** Interface to bind; only this one. MOSN's default is 127.0.0.1 (decided by config). */
  readonly hostname: string;
  /** Port to bind; 0 picks a free one (tests). */
  readonly port: number;
  /** Aborting it shuts the server down, like `shutdown()`. */
  readonly signal?: AbortSignal;
  /**
   * Awaited before a stats endpoint renders `registry` (workers across cores: the main thread fetches each
   * worker's stats then, so reads are exact and the data path never pushes any). A rejection still renders.
   */
  readonly refreshStats?: () => Promise<void>;
}

/** The endpoints that render the stats registry. */
const STATS_PATHS = new Set(["/api/v1/stats", "/stats/prometheus"]);

/** A running admin server. */
export interface AdminServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: SocketAddress;
  /** Stops accepting, finishes in-flight requests and resolves once closed. Safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * Starts the admin HTTP server on exactly `hostname:port`. Throws (e.g. `Deno.errors.AddrInUse`) when
 * the address cannot be bound.
 */
export function startAdmin(options: AdminOptions): AdminServer {
  const { hostname, port, logger, signal } = options;
  const render = createAdminHandler(options);
  const refresh = options.refreshStats;
  const handler = refresh === undefined
    ? render
    : (request: Request): Response | Promise<Response> =>
      STATS_PATHS.has(new URL(request.url).pathname)
        ? refresh().then(() => render(request), () => render(request))
        : render(request);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      ...(signal === undefined ? {} : { signal }),
      onListen() {},
      onError(err) {
        logger?.error("admin request failed", { error: String(err) });
        return new Response(JSON.stringify({ error: "internal error" }), { status: 500 });
      },
    }, handler);
  } catch (err) {
    const where = formatAddress({ hostname, port });
    if (err instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(`Cannot start the admin API on ${where}: address already in use`, {
        cause: err,
      });
    }
    if (err instanceof Error) err.message = `Cannot start the admin API on ${where}: ${err.message}`;
    throw err;
  }
  const addr: SocketAddress = { hostname: server.addr.hostname, port: server.addr.port };
  logger?.info("admin API listening", { address: formatAddress(addr) });
  let closing: Promise<void> | undefined;
  return {
    addr,
    async shutdown() {
      closing ??= signal?.aborted ? server.finished : server.shutdown();
      await closing;
      await server.finished;
    },
  };
}
