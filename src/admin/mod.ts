/**
 * The admin API (MOSN `/api/v1/*`, `/stats/prometheus`, `/ready`, `/healthz`) and a client for it.
 * Not a hot path. Views (stats, config, readiness) are injected by the server composition root.
 * @module
 */
export { startAdmin } from "./server.ts";
export type { AdminOptions, AdminServer } from "./server.ts";
export { createAdminHandler, PROMETHEUS_TYPE } from "./handler.ts";
export type { AdminViews } from "./handler.ts";
export { selectConfigDump } from "./config_dump.ts";
export type { ConfigDumpResult } from "./config_dump.ts";
export { isSecretKey, isSensitiveHeader, isTlsKey, REDACTED, redactSecrets } from "./redact.ts";
export { AdminClient, AdminRequestError } from "./client.ts";
export type { AdminErrorReason } from "./client.ts";
