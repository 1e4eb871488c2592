/**
 * The HTTP/1.1 codec ("Http1"): an incremental, strict (RFC 9112) parser and a write-coalescing encoder
 * over raw bytes, for both the downstream (server) and upstream (client) side.
 *
 * Design decisions:
 * - Pipelining: a server connection parses the next request only after the previous response has ended
 *   (and its request body was read), so responses are written in request order and at most one stream is
 *   active. Pipelined bytes wait in the caller's read buffer (`feed` returns a promise).
 * - `Expect: 100-continue`: the server writes `100 Continue` when `setBodyReceiver` is called (the body is
 *   wanted) if no body byte has arrived and no response has started. If the response ends without the
 *   body having been asked for, the connection closes after it. The client side swallows 1xx interim
 *   responses (except 101), so the upstream's own 100 is never forwarded.
 * - Bare LF: rejected (400) as a line end everywhere, as is a bare CR. RFC 9112 §2.2 allows accepting
 *   bare LF; every real client sends CRLF, and framing disagreements are how requests get smuggled.
 * - Framing is owned by the codec: Connection, Keep-Alive and Transfer-Encoding fields in heads given to
 *   `sendResponse`/`sendRequest` are not copied; the codec writes its own (`transfer-encoding: chunked`
 *   when a body has no Content-Length and the peer speaks 1.1, `connection: close` when closing).
 * - Write coalescing: a head with a body to follow is held until the first `sendData` (or end); bodies
 *   under 16 KiB are copied behind it into one `write`, larger ones are written as they are.
 * - Upgrade: `stream.upgrade` is the Upgrade value when Connection lists `upgrade`. After a 101 both
 *   sides are a raw byte tunnel through the body receiver / `sendData`. So is CONNECT after a 2xx, on both sides.
 * - Request bodies end with `onData(chunk, true)`, or with `onTrailers` when a chunked body has trailers.
 * @module
 */
export { http1Codec } from "./codec.ts";
export { Http1Headers } from "./headers.ts";
export { Http1RequestHead, Http1ResponseHead } from "./head.ts";
export { Http1ServerConnection, Http1ServerStream } from "./server.ts";
export { Http1ClientConnection, Http1ClientStream } from "./client.ts";
