/**
 * Messages between the main thread and a worker thread (`--concurrency N`). Everything is structured-cloneable
 * plain data: config snapshots go over whole, stats as each registry's exact state.
 * @module
 */
import type { ConfigSnapshot } from "../config/mod.ts";
import type { LogFormat, LogLevel, SharedCounterTable } from "../core/mod.ts";
import type { ScopeRaw } from "../stats/mod.ts";
import type { EjectionType, HostHealthUpdate, IntervalCounts } from "../upstream/mod.ts";
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
  | { readonly type: "shared_limits"; readonly table: SharedCounterTable }
  /** Host health decided on the main thread (shared_health.ts): apply to this worker's hosts. */
  | { readonly type: "host_health"; readonly updates: readonly HostHealthUpdate[] };

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
  | { readonly type: "stopped" }
  /** This worker's outlier detection found a host over a threshold: the main thread decides. */
  | {
    readonly type: "outlier_detected";
    readonly cluster: string;
    readonly address: string;
    readonly ejection: EjectionType;
  }
  /** This worker's outlier results of its last interval (success rate is judged on the main thread). */
  | {
    readonly type: "outlier_interval";
    readonly cluster: string;
    readonly counts: readonly IntervalCounts[];
  };
