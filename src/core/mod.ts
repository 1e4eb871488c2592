/**
 * The bottom layer: the proxy error type, time, logging, durations, addresses, RE2 regexes. Imports
 * nothing above it.
 * @module
 */
export { localReplyStatus, ProxyError } from "./error.ts";
export type { ErrorKind, ErrorSource } from "./error.ts";
export { formatDuration, parseDuration } from "./duration.ts";
export { formatAddress, parseAddress } from "./address.ts";
export type { SocketAddress } from "./address.ts";
export { cidrContains, parseCidr, parseIp, parsePortList } from "./cidr.ts";
export type { CidrRange, PortRange } from "./cidr.ts";
export { didYouMean, editDistance } from "./did_you_mean.ts";
export { systemClock } from "./clock.ts";
export { AUTO_PROTOCOL } from "./protocol.ts";
export { approximateNow, beginApproximateClock, endApproximateClock } from "./approximate_clock.ts";
export { FakeClock } from "./fake_clock.ts";
export type { Clock, TimerId } from "./clock.ts";
export { isLogLevel, Logger, silentLogger } from "./log.ts";
export type { LogFormat, LogLevel } from "./log.ts";
export { DeadlineQueue, requestDeadlines } from "./deadline_queue.ts";
export { ByteBudget, DEFAULT_BUFFER_BUDGET_BYTES } from "./byte_budget.ts";
export type { Deadline, DeadlineQueueOptions, DeadlineTarget } from "./deadline_queue.ts";
export { checkRe2, compileRe2, LINEAR_REGEXP_V8_FLAGS, Re2 } from "./re2.ts";
export type { CompileRe2Options, Re2Match, Re2Template } from "./re2.ts";
export type { StreamConn } from "./stream_conn.ts";
export {
  certificateValidityProblem,
  describePemLabels,
  keyMatchesCertificate,
  parsePem,
  parseSubjectAltNames,
  readCertificates,
  readPrivateKey,
  TLS_KEY_TYPES,
} from "./certificate.ts";
export type { CertificateInfo, PemBlock, PrivateKeyInfo } from "./certificate.ts";
export {
  clusterCounterNames,
  DEFAULT_SHARED_COUNTER_SLOTS,
  listenerCounterName,
  LocalGauge,
  SharedCounters,
  SharedGauge,
} from "./shared_counters.ts";
export type { LimitGauge, SharedCounterTable } from "./shared_counters.ts";
