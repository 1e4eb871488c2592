/**
 * TLS: downstream termination (SNI, ALPN, client certificates) and upstream origination over `node:tls`,
 * presented to the transport as `StreamConn`s.
 * @module
 */
export { NodeSocketConn } from "./node_conn.ts";
export type { PeerIdentity, TlsSessionInfo } from "./types.ts";
export { alpnForProtocols, type ClientAuth, clientAuthOf, matchesServerName, TlsServer } from "./server.ts";
export type { TlsAccepted, TlsServerOptions } from "./server.ts";
export { TlsServerStats } from "./server_stats.ts";
export type { TlsFailureReason } from "./server_stats.ts";
export { parseSubjectAltNames, rfc2253Subject } from "./peer.ts";
