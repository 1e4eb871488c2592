/**
 * The one reload path: re-read and re-validate the config file, then swap the whole snapshot in
 * (`Server.reload`), or keep serving the old one and log why. SIGHUP and a changed certificate file both
 * come here, so a broken new certificate is rejected exactly like a broken config.
 * @module
 */
import type { Logger } from "../core/mod.ts";
import {
  type ConfigSnapshot,
  type ConfigWarning,
  formatConfigError,
  formatConfigWarning,
  loadConfigFile,
} from "../config/mod.ts";
import type { Counter } from "../stats/mod.ts";
import { CertificateWatcher, snapshotPemFiles, TLS_STATS_TYPE } from "../tls/mod.ts";
import type { Server } from "./server.ts";

/** What a reload is applied to: the in-process `Server`, or the `WorkerPool` that fans it out. */
export type ReloadTarget = Pick<Server, "registry" | "reload"> & {
  readonly runtime: { readonly snapshot: ConfigSnapshot };
};
import { validationContext } from "./validation_context.ts";

/** What asked for a reload. */
export type ReloadCause = "SIGHUP" | "certificate_change";

export interface ConfigReloaderOptions {
  /** The config file `serve` was started with. */
  readonly file: string;
  readonly server: ReloadTarget;
  readonly logger: Logger;
  /** Certificate watch debounce (default 200 ms); tests shorten it. */
  readonly certificateDebounceMs?: number;
  /**
   * Turns the re-read file into the snapshot to run (xDS: the accepted dynamic resources composed onto the
   * new bootstrap); throws to keep the old one. Default: the file's snapshot as it is.
   */
  readonly compose?: (fileSnapshot: ConfigSnapshot) => ConfigSnapshot;
}

/** One warn line per config warning, as `meshctl validate` prints it, so what is not acted on is visible. */
export function logConfigWarnings(logger: Logger, warnings: readonly ConfigWarning[]): void {
  for (const w of warnings) logger.warn(`config ${formatConfigWarning(w)}`);
}

/**
 * Reloads the config file on request and whenever a certificate file of the running snapshot changes.
 * Reloads never overlap: one asked for while another runs follows it (once, however many were asked).
 * Certificate-caused reloads are counted in the `tls` scope `{cause: certificate_change}`:
 * `reload_total` (attempted) and `reload_failure_total` (rejected; the old certificates keep serving).
 */
export class ConfigReloader {
  readonly #file: string;
  readonly #server: ReloadTarget;
  readonly #logger: Logger;
  readonly #compose: ((fileSnapshot: ConfigSnapshot) => ConfigSnapshot) | undefined;
  readonly #watcher: CertificateWatcher;
  readonly #certReloads: Counter;
  readonly #certReloadFailures: Counter;
  #running: Promise<void> | undefined;
  /** A reload asked for while one runs; a certificate cause wins (it is the one counted). */
  #queued: ReloadCause | undefined;
  #closed = false;

  constructor(options: ConfigReloaderOptions) {
    this.#file = options.file;
    this.#server = options.server;
    this.#logger = options.logger;
    this.#compose = options.compose;
    const stats = options.server.registry.scope(TLS_STATS_TYPE, { cause: "certificate_change" });
    this.#certReloads = stats.counter("reload_total");
    this.#certReloadFailures = stats.counter("reload_failure_total");
    this.#watcher = new CertificateWatcher({
      logger: options.logger,
      debounceMs: options.certificateDebounceMs,
      onChange: (paths) => {
        this.#logger.info("certificate files changed; reloading the config", { files: paths.join(",") });
        void this.reload("certificate_change");
      },
    });
    this.#watcher.watch(snapshotPemFiles(options.server.runtime.snapshot));
  }

  /** The directories watched for certificate changes. */
  get watchedDirectories(): string[] {
    return this.#watcher.directories;
  }

  /** Reloads now, or right after the reload in progress; resolves once this request was served. */
  reload(cause: ReloadCause): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running !== undefined) {
      if (this.#queued !== "certificate_change") this.#queued = cause;
      return this.#running; // the running loop takes the queued request before it settles
    }
    this.#running = (async () => {
      let next: ReloadCause | undefined = cause;
      while (next !== undefined && !this.#closed) {
        await this.#reloadOnce(next);
        next = this.#queued;
        this.#queued = undefined;
      }
    })().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #reloadOnce(cause: ReloadCause): Promise<void> {
    const counted = cause === "certificate_change";
    if (counted) this.#certReloads.inc();
    try {
      const next = await loadConfigFile(this.#file, validationContext());
      if (this.#closed) return;
      if (next.snapshot === undefined) {
        if (counted) this.#certReloadFailures.inc();
        for (const e of next.errors) this.#logger.error("reload rejected: " + formatConfigError(e));
        this.#logger.error("config reload rejected; still serving the previous config", {
          cause,
          errors: next.errors.length,
        });
        return;
      }
      logConfigWarnings(this.#logger, next.warnings);
      const snapshot = this.#compose === undefined ? next.snapshot : this.#compose(next.snapshot);
      const summary = await this.#server.reload(snapshot);
      this.#watcher.watch(snapshotPemFiles(snapshot));
      this.#logger.info("config reloaded", { config: this.#file, cause, ...summary });
    } catch (e) {
      if (counted) this.#certReloadFailures.inc();
      this.#logger.error("config reload failed; still serving the previous config", {
        cause,
        error: (e as Error).message,
      });
    }
  }

  /** Stops watching and refuses further reloads; resolves once a reload in progress ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watcher.close();
    await this.#running;
  }
}
