/**
 * The Http2 codec's fixtures for the conformance suite. Requests and responses are built as the proxy
 * hands them over (Http2 heads, and heads from an HTTP/1 peer); bad inputs are frames built with
 * FrameWriter and HpackEncoder (tested on their own), or by hand where a well-behaved writer refuses.
 *
 * HTTP/2 differs from the other codecs in two ways the suite is told about:
 * - a connection starts with a preamble (client: preface, SETTINGS, WINDOW_UPDATE; server: SETTINGS,
 *   WINDOW_UPDATE, SETTINGS ACK). A client that closes after whole preamble frames, before any request,
 *   closes cleanly: `cleanRequestCuts` names those offsets, where EOF must not be a protocol error;
 * - a rejection is a connection error: the server's SETTINGS, then GOAWAY with the code RFC 9113 gives
 *   for that input (`assertRejectionReply` looks it up by the bad request's name).
 */
import { ok, strictEqual } from "node:assert/strict";
import { ProxyError } from "../core/mod.ts";
import type { CodecConformanceAdapter, ConformanceExchange } from "./_conformance.ts";
import type { RequestHead, ResponseHead } from "./types.ts";
import { Http1Headers, Http1RequestHead, Http1ResponseHead } from "./http1/mod.ts";
import { Http2RequestHead, Http2ResponseHead } from "./http2/mod.ts";
import { CLIENT_PREFACE, ErrorCode, errorCodeName, Flag, FrameType } from "./http2/_frames.ts";
import { concat } from "./_test_io.ts";
import {
  describeFrames,
  type Field,
  FrameBuilder,
  FrameParser,
  rawFrame,
  requestFields,
  u32,
} from "./http2/_test_peer.ts";

const te = new TextEncoder();
const h = (...pairs: [string, string][]) => new Http1Headers(pairs);

/** A gRPC length-prefixed message (uncompressed). */
function grpcMessage(payload: string): Uint8Array {
  const p = te.encode(payload);
  return concat(new Uint8Array([0, ...u32(p.length)]), p);
}

interface RequestOptions {
  grpc?: boolean;
  deadlineMs?: number;
  expectContinue?: boolean;
  contentLength?: number;
}

/** A request head as the Http2 server side decodes it: pseudo-headers lifted into the head. */
function request(
  method: string,
  path: string,
  query: string,
  headers: [string, string][],
  o: RequestOptions = {},
): Http2RequestHead {
  return new Http2RequestHead(
    method,
    path,
    query,
    "example.com",
    h(...headers),
    "http",
    undefined,
    o.grpc ?? false,
    o.deadlineMs,
    o.expectContinue ?? false,
    o.contentLength ?? -1,
  );
}

function response(status: number, headers: [string, string][], contentLength = -1): Http2ResponseHead {
  return new Http2ResponseHead(status, h(...headers), contentLength);
}

function describeRequest(head: RequestHead): Record<string, unknown> {
  if (!(head instanceof Http2RequestHead)) return {};
  const { scheme, connectProtocol, grpc, deadlineMs, expectContinue, contentLength } = head;
  return { scheme, connectProtocol, grpc, deadlineMs, expectContinue, contentLength };
}

function describeResponse(head: ResponseHead): Record<string, unknown> {
  return head instanceof Http2ResponseHead ? { contentLength: head.contentLength } : {};
}

const GRPC_REQUEST: [string, string][] = [
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ["grpc-timeout", "5S"],
  ["user-agent", "grpc-node-js/1.14.7"],
];

const exchanges: ConformanceExchange[] = [
  {
    name: "GET",
    request: () => ({
      head: request("GET", "/index.html", "?q=1", [["user-agent", "curl/8.5.0"], ["accept", "*/*"]]),
    }),
    expectRequest: { headers: [["user-agent", "curl/8.5.0"], ["accept", "*/*"]] },
    response: () => ({
      head: response(200, [["content-type", "text/plain"], ["content-length", "5"]], 5),
      body: te.encode("hello"),
    }),
    expectResponse: { headers: [["content-type", "text/plain"]] },
  },
  {
    name: "POST with content-length",
    request: () => ({
      head: request(
        "POST",
        "/api/v1/items",
        "?a=1&b=%20",
        [["content-type", "application/json"], ["content-length", "13"]],
        { contentLength: 13 },
      ),
      body: te.encode('{"name":"x"}\n'),
    }),
    expectRequest: { headers: [["content-type", "application/json"], ["content-length", "13"]] },
    response: () => ({ head: response(201, [["x-id", "7"]]), body: te.encode("created") }),
    expectResponse: { headers: [["x-id", "7"]] },
  },
  {
    name: "body without content-length",
    request: () => ({ head: request("PUT", "/upload", "", []), body: te.encode("some streamed bytes") }),
    response: () => ({ head: response(200, [["x-stored", "1"]]), body: te.encode("stored") }),
  },
  {
    name: "gRPC request and response trailers",
    request: () => ({
      head: request("POST", "/meshctl.test.Echo/Unary", "", GRPC_REQUEST, { grpc: true, deadlineMs: 5000 }),
      body: grpcMessage("ping"),
      trailers: h(["x-request-checksum", "abc"]),
    }),
    expectRequest: { headers: [["te", "trailers"], ["content-type", "application/grpc"]] },
    response: () => ({
      head: response(200, [["content-type", "application/grpc"]]),
      body: grpcMessage("pong"),
      trailers: h(["grpc-status", "0"], ["x-response-trailer", "t"]),
    }),
    expectResponse: { headers: [["content-type", "application/grpc"]] },
  },
  {
    name: "expect: 100-continue (the 100 never reaches the client's receiver)",
    request: () => ({
      head: request("POST", "/big", "", [["expect", "100-continue"], ["content-length", "4"]], {
        expectContinue: true,
        contentLength: 4,
      }),
      body: te.encode("body"),
    }),
    response: () => ({ head: response(200, [["content-length", "2"]], 2), body: te.encode("ok") }),
  },
  {
    name: "HEAD: content-length, no body",
    request: () => ({ head: request("HEAD", "/file", "", []) }),
    response: () => ({ head: response(200, [["content-length", "100"]], 100) }),
  },
  {
    name: "204",
    request: () => ({ head: request("DELETE", "/items/7", "", []) }),
    response: () => ({ head: response(204, [["x-a", "b"]]) }),
  },
  {
    name: "local reply (no route)",
    request: () => ({ head: request("GET", "/nowhere", "", []) }),
    response: () => ({ localReply: new ProxyError("no_route", "internal", "no route") }),
    expectResponse: {
      fields: { status: 404, contentLength: 9 },
      headers: [["content-type", "text/plain; charset=utf-8"]],
      body: te.encode("no route\n"),
    },
  },
  {
    name: "gRPC local reply is trailers-only",
    request: () => ({
      head: request("POST", "/meshctl.test.Echo/Unary", "", GRPC_REQUEST, { grpc: true, deadlineMs: 5000 }),
      body: grpcMessage("ping"),
    }),
    response: () => ({
      localReply: new ProxyError("no_healthy_upstream", "upstream", "no healthy upstream"),
      body: "no healthy upstream: 100% down",
    }),
    expectResponse: {
      fields: { status: 200, contentLength: -1 },
      headers: [
        ["content-type", "application/grpc"],
        ["grpc-status", "14"],
        ["grpc-message", "no healthy upstream: 100%25 down"],
      ],
      body: new Uint8Array(0),
    },
  },
  {
    name: "obs-text octets in header values",
    request: () => ({ head: request("GET", "/latin", "", [["x-latin", "caf\u00e9 \u00ff\u0080"]]) }),
    expectRequest: { headers: [["x-latin", "caf\u00e9 \u00ff\u0080"]] },
    response: () => ({ head: response(200, [["content-length", "0"], ["x-r", "\u00e9"]], 0) }),
    expectResponse: { headers: [["x-r", "\u00e9"]] },
  },
  {
    name: "heads from an HTTP/1 peer: Host becomes :authority, connection fields are dropped",
    request: () => ({
      head: new Http1RequestHead(
        "GET",
        "/from-h1",
        "",
        "Example.COM",
        h(["Host", "Example.COM"], ["Connection", "keep-alive"], ["Keep-Alive", "timeout=5"], [
          "X-Trace",
          "t1",
        ], ["TE", "gzip"]),
      ),
    }),
    expectRequest: {
      fields: {
        protocol: "Http2",
        method: "GET",
        path: "/from-h1",
        query: "",
        host: "example.com",
        scheme: "http",
        contentLength: -1,
      },
      headers: [["x-trace", "t1"]],
    },
    response: () => ({
      head: new Http1ResponseHead(
        200,
        h(["Content-Length", "2"], ["Connection", "close"], ["Transfer-Encoding", "identity"]),
      ),
      body: te.encode("h1"),
    }),
    expectResponse: { fields: { status: 200, contentLength: 2 }, headers: [["content-length", "2"]] },
  },
];

// === Bad input ===

/** What a client sends first: the preface and SETTINGS as curl/nghttp2 would. */
function clientPreamble(b: FrameBuilder): Uint8Array {
  return concat(CLIENT_PREFACE, b.settings({ enablePush: false, initialWindowSize: 65535 }));
}

/** A bad request: bytes built on a fresh peer (its own HPACK state), and the GOAWAY code they earn. */
function bad(
  name: string,
  code: number,
  build: (b: FrameBuilder) => Uint8Array[],
): { name: string; code: number; bytes: Uint8Array } {
  return { name, code, bytes: concat(...build(new FrameBuilder())) };
}

const GET: Field[] = requestFields("GET", "/");
const { PROTOCOL_ERROR, FRAME_SIZE_ERROR, COMPRESSION_ERROR, FLOW_CONTROL_ERROR } = ErrorCode;
const { HEADERS, CONTINUATION, DATA, PING, SETTINGS, PUSH_PROMISE, GOAWAY, PRIORITY } = FrameType;
const { END_HEADERS, END_STREAM, ACK, PRIORITY: PRIORITY_FLAG } = Flag;

const BAD_REQUESTS = [
  bad("an HTTP/1.1 request", PROTOCOL_ERROR, () => [te.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n")]),
  bad("a preface with one wrong byte", PROTOCOL_ERROR, () => [te.encode("PRI * HTTP/2.0\r\n\r\nSN\r\n\r\n")]),
  bad("a PING as the first frame", PROTOCOL_ERROR, (b) => [CLIENT_PREFACE, b.ping()]),
  bad("a SETTINGS ACK as the first frame", PROTOCOL_ERROR, (b) => [CLIENT_PREFACE, b.settingsAck()]),
  bad("a frame larger than SETTINGS_MAX_FRAME_SIZE", FRAME_SIZE_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(DATA, 0, 1, [], 16385), // the header alone is enough to refuse it
  ]),
  bad("HPACK garbage (index 0)", COMPRESSION_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(HEADERS, END_HEADERS | END_STREAM, 1, [0x80]),
  ]),
  bad("an HPACK table size update above SETTINGS_HEADER_TABLE_SIZE", COMPRESSION_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(HEADERS, END_HEADERS | END_STREAM, 1, [0x3f, 0xe1, 0x3f, 0x82]), // size 8192 > 4096
  ]),
  bad("DATA on an idle stream", PROTOCOL_ERROR, (b) => [clientPreamble(b), b.data(1, "x", true)]),
  bad("HEADERS on stream 0", PROTOCOL_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(HEADERS, END_HEADERS | END_STREAM, 0, b.block(GET)),
  ]),
  bad("HEADERS on an even stream id", PROTOCOL_ERROR, (b) => [clientPreamble(b), b.headers(2, GET, true)]),
  bad("stream ids that do not increase", PROTOCOL_ERROR, (b) => [
    clientPreamble(b),
    b.headers(3, GET, true),
    b.headers(1, GET, true),
  ]),
  bad("HEADERS that depend on their own stream", PROTOCOL_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, 1, [...u32(1), 15, ...b.block(GET)]),
  ]),
  bad("CONTINUATION without HEADERS", PROTOCOL_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(CONTINUATION, END_HEADERS, 1, b.block(GET)),
  ]),
  bad("a frame between HEADERS and its CONTINUATION", PROTOCOL_ERROR, (b) => {
    const block = b.block(GET);
    return [clientPreamble(b), rawFrame(HEADERS, END_STREAM, 1, block.subarray(0, 2)), b.ping()];
  }),
  bad("CONTINUATION on another stream", PROTOCOL_ERROR, (b) => {
    const block = b.block(GET);
    return [
      clientPreamble(b),
      rawFrame(HEADERS, END_STREAM, 1, block.subarray(0, 2)),
      rawFrame(CONTINUATION, END_HEADERS, 3, block.subarray(2)),
    ];
  }),
  bad("PUSH_PROMISE from a client", PROTOCOL_ERROR, (b) => [
    clientPreamble(b),
    b.headers(1, GET, false),
    rawFrame(PUSH_PROMISE, END_HEADERS, 1, [...u32(2), ...b.block(GET)]),
  ]),
  bad(
    "SETTINGS_ENABLE_PUSH 2",
    PROTOCOL_ERROR,
    () => [CLIENT_PREFACE, rawFrame(SETTINGS, 0, 0, [0, 2, ...u32(2)])],
  ),
  bad("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1", FLOW_CONTROL_ERROR, () => [
    CLIENT_PREFACE,
    rawFrame(SETTINGS, 0, 0, [0, 4, ...u32(0x80000000)]),
  ]),
  bad("SETTINGS_MAX_FRAME_SIZE below 2^14", PROTOCOL_ERROR, () => [
    CLIENT_PREFACE,
    rawFrame(SETTINGS, 0, 0, [0, 5, ...u32(16383)]),
  ]),
  bad("SETTINGS whose length is not a multiple of 6", FRAME_SIZE_ERROR, () => [
    CLIENT_PREFACE,
    rawFrame(SETTINGS, 0, 0, [0, 4, 0, 0, 1]),
  ]),
  bad("a SETTINGS ACK with a payload", FRAME_SIZE_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(SETTINGS, ACK, 0, [0, 4, ...u32(1)]),
  ]),
  bad("WINDOW_UPDATE overflowing the connection window", FLOW_CONTROL_ERROR, (b) => [
    clientPreamble(b),
    b.windowUpdate(0, 0x7fffffff),
  ]),
  bad("WINDOW_UPDATE of 0 on the connection", PROTOCOL_ERROR, (b) => [
    clientPreamble(b),
    rawFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(0)),
  ]),
  bad("WINDOW_UPDATE on an idle stream", PROTOCOL_ERROR, (b) => [clientPreamble(b), b.windowUpdate(5, 100)]),
  bad("RST_STREAM on an idle stream", PROTOCOL_ERROR, (b) => [clientPreamble(b), b.rst(5, ErrorCode.CANCEL)]),
  bad(
    "PRIORITY on stream 0",
    PROTOCOL_ERROR,
    (b) => [clientPreamble(b), rawFrame(PRIORITY, 0, 0, [0, 0, 0, 1, 15])],
  ),
  bad(
    "a PING of 7 bytes",
    FRAME_SIZE_ERROR,
    (b) => [clientPreamble(b), rawFrame(PING, 0, 0, [1, 2, 3, 4, 5, 6, 7])],
  ),
  bad(
    "GOAWAY on a stream",
    PROTOCOL_ERROR,
    (b) => [clientPreamble(b), rawFrame(GOAWAY, 0, 1, [...u32(0), ...u32(0)])],
  ),
];

const REJECTION_CODES = new Map(BAD_REQUESTS.map((b) => [b.name, b.code]));

/** What a server sends first: SETTINGS, then (once the client's arrive) the ACK. */
function serverPreamble(b: FrameBuilder): Uint8Array {
  return concat(b.settings({ maxConcurrentStreams: 100, initialWindowSize: 65535 }), b.settingsAck());
}

function badResponse(name: string, build: (b: FrameBuilder) => Uint8Array[]) {
  return { name, bytes: concat(...build(new FrameBuilder())) };
}

const RESPONSE_200: Field[] = [[":status", "200"]];

const BAD_RESPONSES = [
  badResponse("an HTTP/1.1 response", () => [te.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]),
  badResponse("a PING as the first frame", (b) => [b.ping()]),
  badResponse("HEADERS on an even stream (push is disabled)", (b) => [
    serverPreamble(b),
    b.headers(2, RESPONSE_200, true),
  ]),
  badResponse(
    "HEADERS on a stream never opened",
    (b) => [serverPreamble(b), b.headers(3, RESPONSE_200, true)],
  ),
  badResponse("HPACK garbage (index 0)", (b) => [
    serverPreamble(b),
    rawFrame(HEADERS, END_HEADERS | END_STREAM, 1, [0x80]),
  ]),
  badResponse("PUSH_PROMISE with push disabled", (b) => [
    serverPreamble(b),
    rawFrame(PUSH_PROMISE, END_HEADERS, 1, [...u32(2), ...b.block(GET)]),
  ]),
  badResponse("SETTINGS_ENABLE_PUSH 1 from a server", () => [rawFrame(SETTINGS, 0, 0, [0, 2, ...u32(1)])]),
  badResponse("a frame larger than SETTINGS_MAX_FRAME_SIZE", (b) => [
    serverPreamble(b),
    rawFrame(DATA, 0, 1, [], 16385),
  ]),
  badResponse("DATA on an idle stream", (b) => [serverPreamble(b), b.data(3, "x", true)]),
  badResponse("CONTINUATION without HEADERS", (b) => [
    serverPreamble(b),
    rawFrame(CONTINUATION, END_HEADERS, 1, b.block(RESPONSE_200)),
  ]),
  badResponse("a frame between HEADERS and its CONTINUATION", (b) => {
    const block = b.block([[":status", "200"], ["x-long", "abcdefgh"]]);
    return [serverPreamble(b), rawFrame(HEADERS, 0, 1, block.subarray(0, 2)), b.ping()];
  }),
  badResponse("WINDOW_UPDATE overflowing the connection window", (b) => [
    serverPreamble(b),
    b.windowUpdate(0, 0x7fffffff),
  ]),
];

/**
 * Offsets in a connection's first request bytes where the client has sent only whole frames after its
 * preface (SETTINGS, WINDOW_UPDATE) and no request began: EOF there is a clean close. Inside the
 * preface, or before its SETTINGS, it is not.
 */
function cleanRequestCuts(bytes: Uint8Array): number[] {
  const cuts: number[] = [];
  let p = CLIENT_PREFACE.length;
  while (p + 9 <= bytes.length) {
    const type = bytes[p + 3];
    if (type === HEADERS) break;
    p += 9 + ((bytes[p]! << 16) | (bytes[p + 1]! << 8) | bytes[p + 2]!);
    cuts.push(p);
  }
  return cuts;
}

export const http2Adapter: CodecConformanceAdapter = {
  exchanges,
  describeRequest,
  describeResponse,
  badRequests: BAD_REQUESTS.map(({ name, bytes }) => ({ name, bytes })),
  badResponses: BAD_RESPONSES,
  cleanRequestCuts,
  assertRejectionReply(written, name) {
    const code = REJECTION_CODES.get(name);
    if (code === undefined) throw new RangeError(`Cannot find the bad request "${name}"`);
    const frames = new FrameParser().push(written);
    const shown = describeFrames(frames);
    ok(frames.length >= 2, `a rejection writes SETTINGS and GOAWAY, wrote ${shown}`);
    strictEqual(frames[0]!.type, SETTINGS, `the server's preface comes first: ${shown}`);
    ok(!frames[0]!.ack, `the server's preface is not an ACK: ${shown}`);
    const last = frames[frames.length - 1]!;
    strictEqual(last.type, GOAWAY, `a rejection ends with GOAWAY: ${shown}`);
    strictEqual(errorCodeName(last.errorCode), errorCodeName(code), `the GOAWAY code: ${shown}`);
    ok(
      frames.every((f) => f.type === SETTINGS || f.type === FrameType.WINDOW_UPDATE || f === last),
      `nothing but the preamble before the GOAWAY: ${shown}`,
    );
  },
  foreignBytes: [
    { name: "an HTTP/1.1 request", bytes: te.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n") },
    {
      name: "an HTTP/1.1 request with the PRI method",
      bytes: te.encode("PRI / HTTP/1.1\r\nHost: h\r\n\r\n"),
    },
    {
      name: "a TLS ClientHello",
      bytes: new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]),
    },
    {
      name: "a bolt request frame",
      bytes: new Uint8Array([0x01, 0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00]),
    },
  ],
};
