/**
 * The entry module of a worker thread (`meshctl serve --concurrency N`, N ≥ 2): one event loop running
 * every listener of the snapshot it is sent, on the same addresses as the other workers (reuseport forced
 * on: the kernel spreads connections), with its own clusters and upstream pools. No admin server: the main
 * thread serves admin and asks each worker for its stats when they are read.
 * @module
 */
import type { ConfigSnapshot } from "../config/mod.ts";
import { Logger, SharedCounters } from "../core/mod.ts";
import { Server } from "./server.ts";
import { followerHealthStore } from "./shared_health.ts";
import type { MainToWorker, WorkerToMain } from "./worker_protocol.ts";

interface WorkerScope {
  postMessage(message: WorkerToMain): void;
  onmessage: ((event: MessageEvent<MainToWorker>) => void) | null;
  close(): void;
}
const port = globalThis as unknown as WorkerScope;

/** Every listener bound with SO_REUSEPORT, so all workers share each address. */
export function withReusePort(snapshot: ConfigSnapshot): ConfigSnapshot {
  return {
    ...snapshot,
    servers: snapshot.servers.map((s) => ({
      ...s,
      listeners: s.listeners.map((l) => ({ ...l, reusePort: true })),
    })),
  };
}

let server: Server | undefined;
/** The process-wide limit table (`shared_limits`), attached once and then kept up to date. */
let limits: SharedCounters | undefined;
let logger = new Logger();
/** Messages are handled one at a time, in order (a reload never overlaps a stop). */
let queue: Promise<void> = Promise.resolve();

/** Host health as the main thread decides it (shared_health.ts); outlier detections go there. */
const health = followerHealthStore({
  outlier: (cluster, address, ejection) =>
    port.postMessage({ type: "outlier_detected", cluster, address, ejection }),
  interval: (cluster, counts) => port.postMessage({ type: "outlier_interval", cluster, counts }),
});

port.onmessage = (event) => {
  const message = event.data;
  // Health is applied at once, even during a reload: the store outlives every snapshot.
  if (message.type === "host_health") {
    for (const u of message.updates) {
      health.applyRemote(u);
      // lag_ms: from the main thread's decision to this worker's load balancers (docs: measured).
      logger.debug("host health from the main thread", {
        cluster: u.cluster,
        host: u.address,
        failed_active_hc: u.failedActiveHc,
        ejected: u.ejected,
        lag_ms: Date.now() - u.sinceMs,
      });
    }
    return;
  }
  // Stats are answered at once, even while a reload or a drain is in progress.
  if (message.type === "stats") {
    port.postMessage({ type: "stats", seq: message.seq, scopes: server?.registry.exportRaw() ?? [] });
    return;
  }
  queue = queue.then(() => handle(message)).catch((e) => {
    logger.error("worker message failed (bug)", { error: String(e), stack: (e as Error)?.stack });
  });
};

/** `shared_limits`: attach the main thread's table, or learn the slots a new snapshot's names got. */
function applySharedLimits(message: Extract<MainToWorker, { type: "shared_limits" }>): void {
  if (limits === undefined) limits = SharedCounters.attach(message.table);
  else limits.update(message.table.slots);
}

async function handle(message: MainToWorker): Promise<void> {
  switch (message.type) {
    case "shared_limits":
      return applySharedLimits(message);
    case "start": {
      logger = new Logger({
        level: message.level,
        format: message.format,
        fields: { worker: message.worker },
      });
      globalThis.addEventListener("unhandledrejection", (e) => {
        e.preventDefault();
        server?.registry.scope("meta").counter("internal_error_total").inc();
        logger.error("unhandled rejection (bug)", {
          error: String(e.reason),
          stack: (e.reason as Error)?.stack,
        });
      });
      globalThis.addEventListener("error", (e) => {
        e.preventDefault();
        server?.registry.scope("meta").counter("internal_error_total").inc();
        logger.error("uncaught exception (bug)", {
          error: String(e.error),
          stack: (e.error as Error)?.stack,
        });
      });
      const s = new Server({
        snapshot: withReusePort(message.snapshot),
        logger,
        version: message.version,
        admin: false,
        ...(limits === undefined ? {} : { limits }),
        health,
        onAddressesChange: (addresses) => port.postMessage({ type: "addresses", addresses }),
      });
      try {
        await s.start();
      } catch (e) {
        port.postMessage({ type: "start_failed", error: (e as Error).message });
        return;
      }
      server = s;
      port.postMessage({ type: "started", addresses: s.addresses });
      return;
    }
    case "reload": {
      if (server === undefined) {
        port.postMessage({ type: "reload_failed", seq: message.seq, error: "worker not started" });
        return;
      }
      try {
        const summary = await server.reload(withReusePort(message.snapshot));
        const appliedAt = performance.timeOrigin + performance.now();
        port.postMessage({
          type: "reloaded",
          seq: message.seq,
          summary,
          addresses: server.addresses,
          appliedAt,
        });
      } catch (e) {
        port.postMessage({ type: "reload_failed", seq: message.seq, error: (e as Error).message });
      }
      return;
    }
    case "stop_accepting": {
      await server?.stopAccepting();
      port.postMessage({ type: "stopped_accepting" });
      return;
    }
    case "stop": {
      const t0 = performance.now();
      await server?.stop(message.drainMs);
      logger.info("worker drained", { ms: Math.round(performance.now() - t0) });
      port.postMessage({ type: "stopped" });
      return;
    }
    case "stats":
    case "host_health":
      return;
  }
}
