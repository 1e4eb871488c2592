/**
 * The codec contract every protocol implements (MOSN's stream.Register / xprotocol model).
 *
 * A codec turns one connection's bytes into stream events keyed by stream id and encodes the other way.
 * The server side (downstream) decodes requests and encodes responses; the client side (upstream)
 * encodes requests and decodes responses, allocating the upstream stream id itself. HTTP/1.1 is the
 * one-stream-at-a-time case; bolt/dubbo/HTTP/2 multiplex many streams on one connection.
 *
 * Bytes handed to `feed()` and body chunks handed to receivers are views into a reused read buffer:
 * they are valid only until the returned promise settles (or the call returns, if it returns void).
 *
 * Codecs own their framing: when encoding a head they ignore any Connection, Keep-Alive and
 * Transfer-Encoding headers they are given and write their own, so the proxy never strips those.
 * Anything kept longer must be copied. A returned promise is backpressure: the read loop does not read
 * again until it settles.
 */
import type { ByteBudget, Clock, ProxyError } from "../core/mod.ts";
import type { Scope } from "../stats/mod.ts";

/** Result of sniffing the first bytes of a connection. */
export type MatchResult = "match" | "again" | "fail";

/** Header map view shared by all protocols. Names are matched case-insensitively (pass lowercase). */
export interface HeaderMap {
  get(name: string): string | undefined;
  has(name: string): boolean;
  /** Replaces every value of `name`. */
  set(name: string, value: string): void;
  /** Adds another value (HTTP) or replaces (protocols without repeated headers). */
  add(name: string, value: string): void;
  delete(name: string): void;
  /** Calls fn for each entry with the name as received (original case). */
  forEach(fn: (value: string, name: string) => void): void;
  readonly size: number;
  /**
   * True only when `other` certainly holds the same entries in the same order (e.g. both maps are the
   * same undecoded bytes of two RPC frames); false when they differ or it cannot tell cheaply. Lets the
   * router answer a request identical to the last one without matching again. Absent: never the same.
   */
  sameEntries?(other: HeaderMap): boolean;
}

/**
 * What a request means to the proxy, so `proxy/` never tests protocol names: "http" for HTTP/1.x and
 * HTTP/2 (X-Forwarded-* apply, a gRPC request is answered in gRPC terms), "rpc" for framed RPC protocols.
 */
export type RequestKind = "http" | "rpc";

/**
 * What router, filters and load balancers read from a request, whatever the protocol. A decoded head
 * carries end-to-end fields only: each codec drops its connection-specific headers when decoding
 * (HTTP/1's hop-by-hop set and whatever Connection names; HTTP/2 rejects them as malformed).
 */
export interface RequestHead {
  readonly protocol: string;
  readonly kind: RequestKind;
  /** HTTP method; for RPC the method name when the frame carries one, else "". */
  method: string;
  /** HTTP path without the query; "" for RPC. Mutable for prefix/regex rewrites. */
  path: string;
  /** The query including its "?", or "". */
  query: string;
  /** Host / authority, lowercased, for virtual host matching; "" when absent. */
  host: string;
  readonly headers: HeaderMap;
  /**
   * Per-request timeout the frame itself carries (bolt's timeout field), in ms: it replaces the route
   * timeout (MOSN's xprotocol rule). undefined = none.
   */
  readonly frameTimeoutMs?: number;
  /**
   * The client's own deadline (gRPC `grpc-timeout`), in ms: it caps the route timeout (Envoy's
   * `max_grpc_timeout` semantics) but never extends it. undefined = none.
   */
  readonly deadlineMs?: number;
  /**
   * The protocol's own health check (a bolt heartbeat), handed to the proxy only when the listener asks
   * for them (`CodecOptions.deliverHealthChecks`): a `healthcheck` stream filter answers it, or it is
   * routed like any request. Its local replies and responses go out in the health check's terms (a
   * heartbeat ack).
   */
  readonly healthCheck?: boolean;
}

/** A response head. RPC codecs map their status to an HTTP-like status (bolt: 0→200, 4→503, 7→504…). */
export interface ResponseHead {
  status: number;
  reason?: string;
  readonly headers: HeaderMap;
}

/** Thin, write-coalescing wrapper over a socket that codecs write through. */
export interface ConnectionIO {
  /** Queues data; bytes are copied or written before the promise settles. Resolves when written. */
  write(data: Uint8Array): Promise<void>;
  /** Closes the socket (idempotent). */
  close(): void;
  readonly closed: boolean;
  readonly remoteAddress: string;
  /**
   * True while a write is in flight or queued. Lets an encoder reuse its output buffer without
   * tracking each write's promise; an IO without it makes encoders track writes themselves.
   */
  readonly writing?: boolean;
  /**
   * More output is queued than the socket's high-water mark: whoever produces for it should stop reading
   * its own source until `drained()`. An IO without it is never congested.
   */
  readonly congested?: boolean;
  /** Resolves once queued output fell below the low-water mark (or the socket closed). */
  drained?(): Promise<void>;
  /**
   * Bytes handed to `write()` so far, and bytes the kernel accepted. A stream that notes `bytesSubmitted`
   * before writing knows none of its bytes left this host while `bytesWritten` has not passed the mark:
   * the request provably never reached the peer, so it is safe to send again. An IO without them makes
   * codecs assume every written byte may have arrived.
   */
  readonly bytesSubmitted?: number;
  readonly bytesWritten?: number;
}

/** Options a codec gets from the listener/cluster config (`extend_config` and limits). */
export interface CodecOptions {
  /** Max bytes of request line + headers (HTTP) or of a frame's header section (RPC). */
  readonly maxHeaderBytes: number;
  /** Max frame size for framed protocols (bytes). */
  readonly maxFrameBytes: number;
  /** Protocol-specific extend_config, as configured. */
  readonly extend: Readonly<Record<string, unknown>>;
  /**
   * Server side: most streams one connection may have in flight (0 = unlimited). A stream beyond it is
   * refused in the protocol's own terms (bolt THREADPOOL_BUSY, HTTP/2 REFUSED_STREAM) and counted.
   */
  readonly maxConcurrentStreams: number;
  /** Process-wide cap on bytes held in incomplete frames, shared by every connection; none when unset. */
  readonly bufferBudget?: ByteBudget;
  /** HTTP/2 settings this side advertises and enforces. */
  readonly http2: Http2Options;
  /**
   * Where a codec counts what is its own (HTTP/2 resets, GOAWAYs, flow-control pauses…): one scope per
   * listener or cluster and protocol; none in unit tests.
   */
  readonly stats?: Scope;
  /**
   * Server side: hand the protocol's health checks (bolt heartbeats) to the handler as streams with
   * `RequestHead.healthCheck` set, instead of answering them in the codec (MOSN's xprotocol default, and
   * meshctl's without a `healthcheck` stream filter). Default false.
   */
  readonly deliverHealthChecks?: boolean;
  /**
   * Time for the timers a codec keeps itself (bolt's heartbeat timeout); `systemClock` when absent. The
   * multiplexed pool passes its own, so its keepalive and the codec agree, and tests can fake both.
   */
  readonly clock?: Clock;
}

/** Streams per downstream connection unless `max_concurrent_streams` says otherwise. */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1024;

/**
 * HTTP/2 settings (`http2_protocol_options`, Envoy's names). Windows bound what one stream can make the
 * proxy buffer: a stream's window is returned to the peer only as its consumer takes the bytes.
 */
export interface Http2Options {
  /** SETTINGS_INITIAL_WINDOW_SIZE this side advertises (bytes a peer may send on a stream unacknowledged). */
  readonly initialStreamWindowSize: number;
  /** The connection-level receive window this side opens at start. */
  readonly initialConnectionWindowSize: number;
  /** SETTINGS_MAX_FRAME_SIZE this side accepts. */
  readonly maxFrameSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the peer may use towards us. */
  readonly hpackTableSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE (decoded header list: names + values + 32 per field). */
  readonly maxHeaderListSize: number;
  /**
   * Streams per connection, 0 = unset. Server side: replaces `CodecOptions.maxConcurrentStreams` (what
   * SETTINGS_MAX_CONCURRENT_STREAMS says). Client side: opens at most this many, below the server's limit.
   */
  readonly maxConcurrentStreams: number;
}

export const DEFAULT_HTTP2_OPTIONS: Http2Options = {
  initialStreamWindowSize: 256 * 1024,
  initialConnectionWindowSize: 16 * 1024 * 1024,
  maxFrameSize: 16 * 1024,
  hpackTableSize: 4096,
  maxHeaderListSize: 64 * 1024,
  maxConcurrentStreams: 0,
};

export const defaultCodecOptions: CodecOptions = {
  maxHeaderBytes: 64 * 1024,
  maxFrameBytes: 16 * 1024 * 1024,
  extend: {},
  maxConcurrentStreams: DEFAULT_MAX_CONCURRENT_STREAMS,
  http2: DEFAULT_HTTP2_OPTIONS,
};

// === Server (downstream) side ===

/** Receives a request's body after its head. */
export interface BodyReceiver {
  onData(chunk: Uint8Array, endStream: boolean): void | Promise<void>;
  onTrailers(trailers: HeaderMap): void | Promise<void>;
  /** The stream was reset (peer closed, protocol error) before it ended. */
  onReset(error: ProxyError): void;
  /**
   * The response ended before the request body did and the codec drops the rest of it (HTTP/2 §8.1): no
   * more body events follow, and none is owed. Not an error: the request was answered.
   */
  onDropped?(): void;
}

export interface ServerStream {
  readonly id: number;
  readonly request: RequestHead;
  /** True when the request had no body (its head ended the stream). */
  readonly headOnly: boolean;
  /** Where body events go. Until set, the codec holds body bytes (read backpressure). */
  setBodyReceiver(receiver: BodyReceiver): void;
  /**
   * An interim (1xx other than 101) response ahead of the final one, e.g. 103 Early Hints: sent where the
   * protocol has them (HTTP/1.1, HTTP/2), ignored elsewhere. 100 Continue is the codec's own business: it
   * answers `Expect: 100-continue` when the proxy starts reading the body.
   */
  sendInformational(head: ResponseHead): Promise<void>;
  sendResponse(head: ResponseHead, endStream: boolean): Promise<void>;
  /**
   * Body bytes, valid for the codec until the returned promise settles. The promise is the stream's
   * backpressure: it settles once the bytes are accepted for writing — within the peer's flow-control
   * window for HTTP/2 — so the proxy reads no more from the other side than this stream can take.
   */
  sendData(chunk: Uint8Array, endStream: boolean): Promise<void>;
  sendTrailers(trailers: HeaderMap): Promise<void>;
  /**
   * Replies locally in the protocol's own terms (HTTP status + short body, bolt status code, dubbo status,
   * gRPC status in trailers for a gRPC request), e.g. no route → 404 / NO_PROCESSOR / UNIMPLEMENTED.
   */
  sendLocalReply(error: ProxyError, body?: string): Promise<void>;
  /** Aborts the stream (HTTP/1: closes the connection; multiplexed: resets just this stream). */
  reset(error: ProxyError): void;
  /** For `Upgrade`: after a 101, the codec hands over the raw socket (HTTP/1 only). */
  readonly upgrade?: string;
}

export interface ServerConnectionHandler {
  /**
   * A request's head is decoded. Body (if any) follows via the stream's BodyReceiver. A returned promise
   * is backpressure (e.g. the upstream it went to is congested): the codec stops reading until it settles.
   */
  onRequest(stream: ServerStream): void | Promise<void>;
  /** The codec rejected the connection's bytes; it has replied if it could and will close. */
  onProtocolError(error: ProxyError): void;
  /** A heartbeat was answered locally (counted, never forwarded). */
  onHeartbeat?(): void;
  /** A stream beyond `maxConcurrentStreams` was refused (answered by the codec, never proxied). */
  onStreamRefused?(): void;
}

export interface ServerConnection {
  feed(data: Uint8Array): void | Promise<void>;
  /** The peer closed its write side. */
  onEof(): void;
  /**
   * Graceful shutdown: tell the client in the protocol's terms (HTTP/1 `Connection: close` on the
   * in-flight or next response, HTTP/2 two-step GOAWAY, bolt GoAway) and close once it has been told.
   * A codec whose client has seen a signal leaves an idle connection open (a request may be on its way):
   * the listener closes it after `drain_idle_grace`. A codec with no signal (dubbo, bolt without GoAway)
   * closes as soon as nothing is in flight.
   */
  drain(): void;
  readonly activeStreams: number;
  /**
   * True while a request head (HTTP) or frame (RPC) has begun arriving and is not complete: the
   * listener's request header timeout runs. Bytes the codec holds back itself (pipelining) do not count.
   */
  readonly awaitingHead: boolean;
  /** Heads (or frames) received so far: tells one slow head from many quick ones. */
  readonly headsReceived: number;
  /**
   * False when bytes that start no request are no sign of use for `connection_idle_timeout`: only a new
   * head (`headsReceived`) or a stream in flight is. HTTP/2 says false, as Envoy's idle_timeout does: a
   * peer sending PING or SETTINGS forever must not hold a connection open. Default true (any read).
   */
  readonly readsAreActivity?: boolean;
  /**
   * Closes a connection that stayed idle for `connection_idle_timeout`, the protocol's way (HTTP/2:
   * GOAWAY NO_ERROR first, so the client knows nothing was lost). Absent: the socket is just closed.
   */
  closeIdle?(): void;
  /**
   * Gives up on the connection (request header timeout, stalled stream): replies in the protocol's terms
   * when no response has started (HTTP 408), resets in-flight streams and closes.
   */
  abort(error: ProxyError): void;
}

// === Client (upstream) side ===

/**
 * Receives an upstream stream's response. A returned promise is that stream's backpressure: the chunk
 * handed to `onData` is the codec's until then. A one-stream-per-connection codec (HTTP/1) stops reading
 * its socket meanwhile; a multiplexed one must not stall its other streams: it keeps reading, holds the
 * stream's further bytes within its flow-control window (HTTP/2 returns window credit only when the
 * promise settles), or does not wait at all (bolt frames are whole responses).
 */
export interface ResponseReceiver {
  /** An interim (1xx other than 100 and 101) response; the final one follows. */
  onInformational?(head: ResponseHead): void;
  onResponse(head: ResponseHead, endStream: boolean): void | Promise<void>;
  onData(chunk: Uint8Array, endStream: boolean): void | Promise<void>;
  onTrailers(trailers: HeaderMap): void | Promise<void>;
  /** The upstream stream failed (connection closed or reset, protocol error) before it ended. */
  onReset(error: ProxyError): void;
}

export interface ClientStream {
  /**
   * The upstream id the codec allocated. HTTP/2 allocates it when the request head is sent (ids must
   * reach the server in increasing order), so it reads 0 before `sendRequest`.
   */
  readonly id: number;
  sendRequest(head: RequestHead, endStream: boolean): Promise<void>;
  sendData(chunk: Uint8Array, endStream: boolean): Promise<void>;
  sendTrailers(trailers: HeaderMap): Promise<void>;
  /** Cancels the stream (HTTP/1: closes the connection; multiplexed: forgets the id). */
  reset(error: ProxyError): void;
}

export interface ClientConnectionHandler {
  /** The connection can no longer be used (closed, protocol error, GoAway received). */
  onUnusable(reason: ProxyError): void;
  /** More streams may be opened now (the peer raised SETTINGS_MAX_CONCURRENT_STREAMS). */
  onCapacity?(): void;
}

export interface ClientConnection {
  feed(data: Uint8Array): void | Promise<void>;
  onEof(): void;
  /**
   * Opens a stream. Throws a ProxyError when the connection cannot take one now: `retryable` when the
   * request was certainly not sent (no capacity, GOAWAY received, closed), so another connection may
   * carry it.
   */
  newStream(receiver: ResponseReceiver): ClientStream;
  readonly activeStreams: number;
  /**
   * Streams `newStream` would accept right now: the peer's limit (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)
   * minus the active ones; 1 or 0 for HTTP/1; unbounded (Infinity) for bolt. 0 once not reusable.
   */
  readonly streamCapacity: number;
  /**
   * False while the peer has not said yet how many streams it takes (HTTP/2 before the server's SETTINGS:
   * `streamCapacity` is the RFC's optimistic default). A pool opens one stream on it meanwhile and waits
   * for `onCapacity` (called when the limit becomes known) instead of dialling more connections for
   * requests that will fit. Absent: always known.
   */
  readonly capacityKnown?: boolean;
  /** False after Connection: close, GoAway, a protocol error or EOF. */
  readonly reusable: boolean;
  /** Builds a heartbeat request frame for keepalive, if the protocol has one. */
  heartbeat?(receiver: ResponseReceiver): ClientStream | undefined;
}

// === Registration ===

export interface ProtocolCodec {
  /** The config name: "Http1", "bolt", "boltv2", "dubbo". */
  readonly name: string;
  /** Many streams at once on one connection. */
  readonly multiplexed: boolean;
  /**
   * The protocol's ALPN id over TLS (RFC 7301): "h2", "http/1.1". Undefined for protocols that have
   * none (RPC): a TLS upstream connection then offers only what its tls_context's `alpn` lists.
   */
  readonly alpn?: string;
  /** Sniffs the first bytes of a downstream connection. */
  match(data: Uint8Array): MatchResult;
  newServerConnection(
    io: ConnectionIO,
    handler: ServerConnectionHandler,
    options: CodecOptions,
  ): ServerConnection;
  newClientConnection(
    io: ConnectionIO,
    handler: ClientConnectionHandler,
    options: CodecOptions,
  ): ClientConnection;
}
