/**
 * The proxy: per-request sessions from downstream stream to upstream stream and back.
 * @module
 */
export { ProxyStream, UpstreamRequest } from "./proxy_stream.ts";
export { ProxyConnectionHandler } from "./proxy_connection.ts";
export { DownstreamStats } from "./downstream_stats.ts";
export type { AccessLogSink, ConnectionInfo, EnvoyHttpBehaviour, ProxyContext } from "./context.ts";
export type { PeerIdentity, TlsSessionInfo } from "../tls/mod.ts";
export { clientCertDetails, DEFAULT_FORWARDING, prepareHttpRequest, XFCC_HEADER } from "./http_headers.ts";
export type { ForwardingPolicy } from "./http_headers.ts";
