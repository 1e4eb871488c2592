/**
 * Messages between the main thread and a worker thread (`--concurrency N`). Everything is structured-cloneable
 * plain data: config snapshots go over whole, stats as each registry's exact state.
 * @module
 */
import type { ConfigSnapshot } from "../config/mod.ts";
import type { LogFormat, LogLevel, SharedCounterTable } from "../core/mod.ts";
import type { ScopeRaw } from "../stats/mod.ts";
import type { BoundAddresses, ReloadSummary } from "./server.ts";

export type MainToWorker =
  | {
    readonly type: "start";
    readonly worker: number;
    readonly snapshot: ConfigSnapshot;
    readonly level: LogLevel;
    readonly format: LogFormat;
    readonly version: string;
  }
  | { readonly type: "reload"; readonly seq: number; readonly snapshot: ConfigSnapshot }
  | { readonly type: "stats"; readonly seq: number }
  /** Phase 1 of a drain, in every worker before any drains: close the listening sockets. */
  | { readonly type: "stop_accepting" }
  | { readonly type: "stop"; readonly drainMs: number | undefined }
  /**
   * Process-wide limits (circuit breakers, listener max_connections): the shared table and every slot
   * assigned so far. Sent before `start` and before each `reload`, so the snapshot's names have slots.
   */
  | { readonly type: "shared_limits"; readonly table: SharedCounterTable };

export type WorkerToMain =
  | { readonly type: "started"; readonly addresses: BoundAddresses }
  | { readonly type: "start_failed"; readonly error: string }
  | {
    readonly type: "reloaded";
    readonly seq: number;
    readonly summary: ReloadSummary;
    readonly addresses: BoundAddresses;
    /** `performance.timeOrigin + performance.now()` when the new snapshot took over. */
    readonly appliedAt: number;
  }
  | { readonly type: "reload_failed"; readonly seq: number; readonly error: string }
  | { readonly type: "addresses"; readonly addresses: BoundAddresses }
  | { readonly type: "stats"; readonly seq: number; readonly scopes: readonly ScopeRaw[] }
  | { readonly type: "stopped_accepting" }
  | { readonly type: "stopped" };
