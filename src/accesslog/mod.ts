/**
 * Access logs: MOSN `%variable%` formats compiled once, and bounded writers that batch lines into
 * asynchronous writes so a slow disk or pipe never blocks the event loop.
 * @module
 */
export { ACCESS_LOG_VARIABLES, compileAccessLogFormat, DEFAULT_ACCESS_LOG_FORMAT } from "./format.ts";
export type { AccessLogRecord, AccessLogTlsInfo } from "./format.ts";
export { AccessLogWriter } from "./writer.ts";
export type { AccessLogOutput, AccessLogWriterOptions } from "./writer.ts";
