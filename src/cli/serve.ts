import { parseArgs } from "node:util";
import { isLogLevel, type LogFormat, Logger, type LogLevel, parseDuration } from "../core/mod.ts";
import { type ConfigSnapshot, formatConfigError, loadConfigFile } from "../config/mod.ts";
import {
  type BoundAddresses,
  ConfigReloader,
  createRegistryRuntime,
  createXdsRuntime,
  loadServer,
  logConfigWarnings,
  type RegistryRuntime,
  validationContext,
  WorkerPool,
} from "../server/mod.ts";
import { formatAddress } from "../core/mod.ts";
import { VERSION } from "./version.ts";

export const help = `meshctl serve — run the proxy

Usage: meshctl serve [options] <config>

Starts every listener in the config (YAML or JSON, MOSN's schema), the upstream clusters and the
admin server (127.0.0.1:34901 unless the config's admin.address says otherwise).
SIGTERM or SIGINT drain gracefully: stop accepting, let in-flight requests finish (up to the drain
timeout), then exit 0. A second signal exits at once. SIGHUP reloads the config file: the new snapshot
replaces the old one whole (listeners keep their sockets); an invalid file is rejected and logged.
A change to a certificate or key file the config loads (replaced by rename, written in place, or a
Kubernetes secret's ..data symlink swapped) reloads the config the same way.

Restart without downtime: give listeners reuseport: true, start a second meshctl on the same config (its
listeners serve at once; it waits for the admin address), then SIGTERM the first: it hands the admin
address over and drains.

A listener address or admin port_value of 0 binds a port the OS picks; --address-file tells you which.

With an enabled extends[] dubbo_registry entry, the registry API (POST /pub /unpub /sub /unsub, GET
/registry) listens on its api_address:api_port (default 127.0.0.1:22222); on shutdown its nodes are
deleted from the registry before the listeners drain.

Options:
  --log-level LEVEL     debug|info|warn|error (default: the config's default_log_level, else info;
                        env MESHCTL_LOG_LEVEL)
  --log-format FORMAT   text|json (default text; env MESHCTL_LOG_FORMAT)
  --drain-timeout DUR   how long to wait for in-flight requests on shutdown (default: the config's
                        graceful_timeout, 30s)
  --address-file PATH   once every listener and the admin API are bound, write where they are bound
                        as JSON: {"admin": "127.0.0.1:34901", "listeners": {"<name>": "127.0.0.1:2045"}}
                        (plus "registry_api": "127.0.0.1:22222" with the registry API).
                        Rewritten after every accepted SIGHUP reload. Written atomically (a temporary
                        file in the same directory, then renamed), so a reader never sees half a file;
                        left in place on exit. Failing to write it at startup is fatal (exit 1).
  --concurrency N       worker threads, each running every listener on the same addresses (SO_REUSEPORT:
                        the kernel spreads connections), with its own upstream pools; the main thread
                        keeps config, reload and admin, and sums the workers' stats when they are read.
                        Circuit breakers and listener max_connections count for the whole process.
                        "auto": the cores this process may use (its CPU affinity). Default 1: no worker
                        thread, everything on one event loop. Before workers bind, each fixed-port
                        listener without reuseport: true is bound once exclusively, so a second meshctl
                        on the same config fails with "address already in use" as with 1. xDS and the
                        registry API run on the main thread and feed every worker. A worker that dies
                        makes the process exit 1 (a supervisor restarts it).
  -h, --help            show this help`;

export default async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        "drain-timeout": { type: "string" },
        "address-file": { type: "string" },
        "concurrency": { type: "string" },
      },
    });
  } catch (e) {
    console.error(`meshctl serve: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    console.error(`meshctl serve: expected exactly one config file\n\n${help}`);
    return 2;
  }
  const format = values["log-format"] ?? Deno.env.get("MESHCTL_LOG_FORMAT") ?? "text";
  if (format !== "text" && format !== "json") {
    console.error(`meshctl serve: --log-format must be text or json, got "${format}"`);
    return 2;
  }
  const levelText = (values["log-level"] ?? Deno.env.get("MESHCTL_LOG_LEVEL"))?.toLowerCase();
  if (levelText !== undefined && !isLogLevel(levelText)) {
    console.error(`meshctl serve: --log-level must be debug, info, warn or error, got "${levelText}"`);
    return 2;
  }
  let drainMs: number | undefined;
  if (values["drain-timeout"] !== undefined) {
    drainMs = parseDuration(values["drain-timeout"]);
    if (drainMs === undefined) {
      console.error(
        `meshctl serve: --drain-timeout must be a duration such as "30s", got "${values["drain-timeout"]}"`,
      );
      return 2;
    }
  }

  const concurrency = parseConcurrency(values["concurrency"]);
  if (concurrency === undefined) {
    console.error(
      `meshctl serve: --concurrency must be a whole number from 1 to ${MAX_CONCURRENCY} or "auto", got "${
        values["concurrency"]
      }"`,
    );
    return 2;
  }

  const file = positionals[0]!;
  const { snapshot, errors, warnings } = await loadConfigFile(file, validationContext());
  if (snapshot === undefined) {
    for (const e of errors) console.error(formatConfigError(e));
    console.error(
      `meshctl serve: ${file} is not valid (${errors.length} error${errors.length === 1 ? "" : "s"})`,
    );
    return 1;
  }
  const level: LogLevel = (levelText as LogLevel | undefined) ?? snapshot.servers[0]?.defaultLogLevel ??
    "info";
  const logger = new Logger({ level, format: format as LogFormat });
  logConfigWarnings(logger, warnings);

  const addressFile = values["address-file"];
  // The sidecar registry API (extends[] dubbo_registry): it adds clusters and routes to the file's
  // config, starting with the `dubbo` router listeners may name.
  let registry: RegistryRuntime | undefined;
  let startSnapshot = snapshot;
  if (snapshot.registry !== undefined) {
    try {
      registry = await createRegistryRuntime(snapshot, logger);
      startSnapshot = registry.initialSnapshot();
    } catch (e) {
      console.error(`meshctl serve: cannot start the registry: ${(e as Error).message}`);
      return 1;
    }
  }
  const withRegistry = (addresses: BoundAddresses): BoundAddresses & { registry_api?: string } =>
    registry?.address === undefined
      ? addresses
      : { ...addresses, registry_api: formatAddress(registry.address) };
  const onAddressesChange = (addresses: BoundAddresses) => {
    if (addressFile === undefined) return;
    try {
      writeAddressFile(addressFile, withRegistry(addresses));
    } catch (e) {
      logger.error("cannot update the address file", { path: addressFile, error: (e as Error).message });
    }
  };
  const server = concurrency === 1
    ? new (await loadServer())({ snapshot: startSnapshot, logger, version: VERSION, onAddressesChange })
    : new WorkerPool({
      snapshot: startSnapshot,
      count: concurrency,
      logger,
      level,
      format: format as LogFormat,
      version: VERSION,
      onAddressesChange,
      onWorkerDied: () => Deno.exit(1),
    });
  // A proxy must not die because one stream hit a bug: log it loudly, count it, keep serving everyone
  // else. (Deno's default for both events is to exit.)
  const internalErrors = server.registry.scope("meta").counter("internal_error_total");
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    internalErrors.inc();
    logger.error("unhandled rejection (bug)", { error: String(e.reason), stack: (e.reason as Error)?.stack });
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    internalErrors.inc();
    logger.error("uncaught exception (bug)", { error: String(e.error), stack: (e.error as Error)?.stack });
  });

  try {
    await server.start();
  } catch (e) {
    logger.error((e as Error).message);
    await registry?.close();
    return 1;
  }
  if (registry !== undefined) {
    try {
      registry.start(server);
    } catch (e) {
      logger.error(`cannot start the registry API: ${(e as Error).message}`);
      await registry.close();
      await server.stop(0);
      return 1;
    }
  }
  logger.info("meshctl started", { version: VERSION, config: file, pid: Deno.pid, concurrency });

  const { promise: stopSignal, resolve: stop } = Promise.withResolvers<string>();
  let stopping = false;
  const onSignal = (sig: Deno.Signal) => () => {
    if (stopping) {
      logger.warn("second signal: exiting now", { signal: sig });
      Deno.exit(1);
    }
    stopping = true;
    stop(sig);
  };
  // SIGHUP, and a changed certificate file: re-read the config file and swap in the whole new
  // snapshot; an invalid file changes nothing.
  // Config from a control plane (the bootstrap's dynamic_resources): ADS feeds the same Server.reload.
  const xds = snapshot.xds === undefined
    ? undefined
    : await createXdsRuntime({ bootstrap: snapshot, server, logger, version: VERSION });
  if (xds !== undefined) {
    server.setDynamicConfig(() => xds.isReady(), () => xds.describe());
    xds.start();
  }
  const reloader = new ConfigReloader({
    file,
    server,
    logger,
    ...(xds === undefined ? {} : { compose: (next: ConfigSnapshot) => xds.rebase(next) }),
    ...(registry === undefined ? {} : { compose: (next: ConfigSnapshot) => registry.rebase(next) }),
  });
  const onHangupSignal = () => {
    if (!stopping) void reloader.reload("SIGHUP");
  };
  Deno.addSignalListener("SIGHUP", onHangupSignal);
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const handlers = signals.map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  const unlisten = () => {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    Deno.removeSignalListener("SIGHUP", onHangupSignal);
  };
  // Only once the handlers are in place: whoever waits for this file may signal at once.
  if (addressFile !== undefined) {
    try {
      writeAddressFile(addressFile, withRegistry(server.addresses));
    } catch (e) {
      logger.error(`Cannot write the address file ${addressFile}: ${(e as Error).message}`);
      stopping = true;
      xds?.close();
      await registry?.close();
      await reloader.close();
      await server.stop(0);
      unlisten();
      return 1;
    }
  }
  const sig = await stopSignal;
  logger.info("draining", { signal: sig });
  xds?.close();
  // Nodes first: consumers stop choosing this sidecar before its listeners drain.
  await registry?.close();
  await reloader.close();
  await server.stop(drainMs);
  unlisten();
  logger.info("stopped");
  return 0;
}

/** Upper bound of --concurrency: each worker is an isolate (~20–25 MiB idle, docs/performance.md). */
const MAX_CONCURRENCY = 256;

/** --concurrency: a number, "auto" (the cores this process may use), or absent (1). undefined: invalid. */
function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return 1;
  if (text === "auto") return usableCores();
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= MAX_CONCURRENCY ? n : undefined;
}

/**
 * The CPUs this process may run on. Deno's `navigator.hardwareConcurrency` is Rust's
 * `available_parallelism`: the scheduler affinity mask (measured: 2 here, 1 under `taskset -c 0`; node:os
 * `availableParallelism()` gives the same), and cgroup CPU quotas.
 */
export function usableCores(): number {
  return Math.min(MAX_CONCURRENCY, Math.max(1, navigator.hardwareConcurrency || 1));
}

/**
 * Writes `addresses` to `path` atomically: a temporary file in the same directory (so the rename never
 * crosses file systems), then a rename over `path`.
 */
function writeAddressFile(path: string, addresses: BoundAddresses): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(tmp, JSON.stringify(addresses) + "\n");
    Deno.renameSync(tmp, path);
  } catch (e) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // never written
    }
    throw e;
  }
}
