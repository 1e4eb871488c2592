/**
 * Access logs: MOSN `%variable%` formats compiled once, buffered writers.
 * @module
 */
export {
  ACCESS_LOG_VARIABLES,
  AccessLogWriter,
  compileAccessLogFormat,
  DEFAULT_ACCESS_LOG_FORMAT,
} from "./access_log.ts";
export type { AccessLogRecord } from "./access_log.ts";
