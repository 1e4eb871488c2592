import type { Logger, SocketAddress } from "../core/mod.ts";
import type { ConfigSnapshot } from "../config/mod.ts";
import { StatsRegistry } from "../stats/mod.ts";
import { type AdminServer, startAdmin } from "../admin/mod.ts";
import { Runtime } from "./runtime.ts";

export interface ServerOptions {
  readonly snapshot: ConfigSnapshot;
  readonly logger: Logger;
  readonly version: string;
}

/**
 * The composition root: a stats registry, the admin server and the Runtime of the current snapshot.
 * `reload` swaps in a whole new Runtime is future work (listeners keep their sockets); today a config
 * change is applied by restarting.
 */
export class Server {
  readonly registry = new StatsRegistry();
  readonly #logger: Logger;
  readonly #version: string;
  #runtime: Runtime;
  #admin: AdminServer | undefined;
  #ready = false;

  constructor(options: ServerOptions) {
    this.#logger = options.logger;
    this.#version = options.version;
    this.#runtime = new Runtime(options.snapshot, this.registry, options.logger);
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  get adminAddress(): SocketAddress | undefined {
    return this.#admin?.addr;
  }

  start(): void {
    const snap = this.#runtime.snapshot;
    this.#runtime.start(this.#logger);
    try {
      this.#admin = startAdmin({
        hostname: snap.admin.address.hostname,
        port: snap.admin.address.port,
        registry: this.registry,
        configDump: () => snap.raw,
        ready: () => this.#ready,
        version: this.#version,
        logger: this.#logger,
      });
    } catch (e) {
      this.#runtime.close();
      throw e;
    }
    this.#ready = true;
  }

  /** Graceful stop: not ready, drain listeners (up to the servers' graceful_timeout), stop admin. */
  async stop(drainTimeoutMs?: number): Promise<void> {
    this.#ready = false;
    const timeout = drainTimeoutMs ??
      Math.max(0, ...this.#runtime.snapshot.servers.map((s) => s.gracefulTimeoutMs));
    await this.#runtime.drain(timeout);
    await this.#admin?.shutdown();
  }
}
