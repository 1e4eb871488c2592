/**
 * TLS: downstream termination (SNI, ALPN, client certificates) and upstream origination over `node:tls`,
 * presented to the transport as `StreamConn`s; certificate operations (expiry stats, reload on change).
 * @module
 */
export { NodeSocketConn } from "./node_conn.ts";
export { UpstreamTls } from "./client.ts";
export type { TlsFailureReason as UpstreamTlsFailureReason, UpstreamTlsSession } from "./client.ts";
export type { PeerIdentity, TlsSessionInfo } from "./types.ts";
export {
  CertificateExpiryStats,
  type LoadedCertificate,
  MAX_CERTS_PER_PEM,
  parseCertificates,
  snapshotCertificates,
  TLS_STATS_TYPE,
} from "./expiry.ts";
export {
  CERT_WATCH_DEBOUNCE_MS,
  CERT_WATCH_MAX_DELAY_MS,
  CertificateWatcher,
  type CertificateWatcherOptions,
  MAX_COMPARED_PEM_BYTES,
  snapshotPemFiles,
  type WatchedPemFile,
} from "./reload.ts";

export { alpnForCodecs, type ClientAuth, clientAuthOf, matchesServerName, TlsServer } from "./server.ts";
export type { TlsAccepted, TlsServerOptions } from "./server.ts";
export { TlsServerStats } from "./server_stats.ts";
export type { TlsFailureReason as DownstreamTlsFailureReason } from "./server_stats.ts";
export { parseSubjectAltNames, rfc2253Subject } from "./peer.ts";
