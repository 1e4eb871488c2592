/**
 * TLS: downstream termination (SNI, ALPN, client certificates) and upstream origination over `node:tls`,
 * presented to the transport as `StreamConn`s.
 * @module
 */
export { NodeSocketConn } from "./node_conn.ts";
export { UpstreamTls } from "./client.ts";
export type { TlsFailureReason, UpstreamTlsSession } from "./client.ts";
export type { PeerIdentity, TlsSessionInfo } from "./types.ts";
