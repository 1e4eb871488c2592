/**
 * The HTTP/2 codec ("Http2", RFC 9113; gRPC rides on it): cleartext HTTP/2 with prior knowledge on both
 * sides, our own frame layer, HPACK (RFC 7541) and flow control over raw bytes.
 *
 * Design decisions:
 * - Flow control follows the consumer. A stream's receive window is credited back (WINDOW_UPDATE) only
 *   when the proxy is done with the bytes, so a slow upstream holds at most one window of one stream;
 *   the connection window is credited on receipt, so one slow stream never stalls the others.
 * - Sends respect the peer's windows: `sendData` resolves once every byte went out, which is the
 *   proxy's backpressure; blocked streams resume round-robin when WINDOW_UPDATE arrives.
 * - Malformed messages (RFC 9113 §8.1.1, §8.2, §8.3) are stream errors; framing, HPACK and flow-control
 *   violations are connection errors (GOAWAY, then close), as §5.4 prescribes. Counted in the codec scope.
 * - Defences: PING and SETTINGS floods, empty DATA, WINDOW_UPDATE and PRIORITY floods, rapid reset
 *   (CVE-2023-44487), CONTINUATION floods (CVE-2024-27316), HPACK bombs: each ends the connection with
 *   ENHANCE_YOUR_CALM or COMPRESSION_ERROR (see `FLOOD_LIMITS`).
 * - Drain is the two-step GOAWAY of §6.8 (last id 2^31-1 and a PING, then the real last id).
 * - Upstream: streams within the server's SETTINGS_MAX_CONCURRENT_STREAMS (`streamCapacity`); streams
 *   GOAWAY or REFUSED_STREAM says were not processed come back retryable.
 * - gRPC: a request with `content-type: application/grpc*` gets local replies as trailers-only gRPC
 *   statuses, and its `grpc-timeout` caps the route timeout.
 * - Server push is never enabled; a PUSH_PROMISE is a protocol error. h2c upgrade from HTTP/1.1 (RFC 7540
 *   §3.2, removed in RFC 9113) is not offered.
 * @module
 */
export { http2Codec } from "./codec.ts";
export { Http2RequestHead, Http2ResponseHead } from "./head.ts";
export { Http2ServerConnection, Http2ServerStream } from "./server.ts";
export { Http2ClientConnection, Http2ClientStream } from "./client.ts";
export { FLOOD_LIMITS } from "./_connection.ts";
