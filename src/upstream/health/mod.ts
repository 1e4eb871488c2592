/**
 * Upstream host health: active checks (MOSN's health_check), passive outlier detection (Envoy's
 * outlier_detection) and the state they share across config snapshots.
 * @module
 */
export { ClusterHealth, HealthStore, HostHealth } from "./host_health.ts";
export type { EjectionType, HealthRole, HostHealthUpdate, UnhealthyReason } from "./host_health.ts";
export { OutlierDetector, OutlierStats } from "./outlier.ts";
export type { LocalOriginFailure, OutlierDetectorOptions } from "./outlier.ts";
export type { IntervalCounts } from "./host_health.ts";
export { heartbeatProbe } from "./heartbeat.ts";
export { ActiveHealthChecker, httpProbe, statusAccepted, tcpProbe } from "./active.ts";
export type {
  ActiveHealthCheckerOptions,
  CheckedHost,
  CheckFailure,
  HealthProbe,
  ProbeResult,
  ProbeTarget,
} from "./active.ts";
