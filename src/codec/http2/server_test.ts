/**
 * The downstream side: requests in, responses out, interim responses, trailers, refusals, local replies
 * in HTTP and gRPC terms, resets, the two-step drain, EOF and abort.
 */
import assert from "node:assert/strict";
import { type ErrorKind, FakeClock, localReplyStatus, ProxyError } from "../../core/mod.ts";
import { ErrorCode, errorCodeName, Flag, FrameType } from "./_frames.ts";
import {
  CLIENT_PREFACE,
  describeFrames,
  fieldOf,
  fieldsOf,
  h2Options,
  rawFrame,
  requestFields,
  settle,
  startServer,
  textOf,
  type WrittenFrame,
} from "./_test_peer.ts";
import { Http1Headers } from "../http1/mod.ts";
import type { Http2RequestHead } from "./head.ts";
import { grpcStatusFor } from "./_grpc.ts";
import { Http2ServerConnection, REQUEST_LINGER_MS } from "./server.ts";
import { FakeConnectionIO } from "../_test_io.ts";

const te = new TextEncoder();
const ok200 = (headers: [string, string][] = []) => ({ status: 200, headers: new Http1Headers(headers) });

function ofType(frames: WrittenFrame[], type: number): WrittenFrame[] {
  return frames.filter((f) => f.type === type);
}

function rsts(frames: WrittenFrame[]): [number, string][] {
  return ofType(frames, FrameType.RST_STREAM).map((f) => [f.streamId, errorCodeName(f.errorCode)]);
}

function goaways(frames: WrittenFrame[]): [number, string][] {
  return ofType(frames, FrameType.GOAWAY).map((f) => [f.lastStreamId, errorCodeName(f.errorCode)]);
}

const GRPC: [string, string][] = [["content-type", "application/grpc"], ["te", "trailers"]];

// === Requests ===

Deno.test("server: a request head has its pseudo-headers lifted out and the regular fields kept", async () => {
  const h = await startServer();
  await h.send(h.peer.out.headers(1, [
    [":method", "POST"],
    [":scheme", "https"],
    [":authority", "Api.Example.COM:8443"],
    [":path", "/v1/items?limit=5&x=%20"],
    ["user-agent", "nghttp2/1.59"],
    ["accept", "a"],
    ["accept", "b"],
  ], false));
  const s = h.handler.stream(1);
  const r = s.request as Http2RequestHead;
  assert.equal(r.protocol, "Http2");
  assert.equal(r.kind, "http");
  assert.deepEqual([r.method, r.path, r.query, r.host, r.scheme], [
    "POST",
    "/v1/items",
    "?limit=5&x=%20",
    "api.example.com:8443",
    "https",
  ]);
  const fields: [string, string][] = [];
  r.headers.forEach((v, n) => fields.push([n, v]));
  assert.deepEqual(fields, [["user-agent", "nghttp2/1.59"], ["accept", "a"], ["accept", "b"]]);
  assert.equal(s.headOnly, false);
  assert.equal(h.conn.headsReceived > 0, true);
});

Deno.test("server: a request split over CONTINUATION, padded and with priority fields, decodes alike at every split", async () => {
  const h0 = await startServer();
  const block = h0.peer.out.block(requestFields("GET", "/split", [["x-a", "1".repeat(50)]]));
  const frames = [
    rawFrame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, 1, [
      3, // pad length
      0,
      0,
      0,
      0, // depends on stream 0
      200, // weight
      ...block.subarray(0, 10),
      0,
      0,
      0,
    ]),
    rawFrame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 30)),
    rawFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(30)),
  ];
  const wire = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    wire.set(f, o);
    o += f.length;
  }
  for (let cut = 0; cut <= wire.length; cut += 3) {
    const h = await startServer();
    // Same HPACK state as h0's encoder had: a fresh builder encodes the same block the same way.
    assert.deepEqual(h.peer.out.block(requestFields("GET", "/split", [["x-a", "1".repeat(50)]])), block);
    await h.send(wire.subarray(0, cut));
    assert.equal(h.handler.streams.length, cut === wire.length ? 1 : 0, `cut ${cut}`);
    assert.equal(h.conn.awaitingHead, cut > 0 && cut < wire.length, `awaitingHead at cut ${cut}`);
    await h.send(wire.subarray(cut));
    assert.equal(h.handler.streams.length, 1, `cut ${cut}`);
    assert.equal(h.handler.streams[0]!.request.path, "/split");
    assert.equal(h.handler.streams[0]!.request.headers.get("x-a"), "1".repeat(50));
    assert.ok(h.handler.streams[0]!.headOnly);
  }
});

Deno.test("server: awaitingHead holds inside the preface and inside a frame, not between frames", async () => {
  const h = await startServer();
  assert.equal(h.conn.awaitingHead, false, "between frames");
  const req = h.peer.out.request(1);
  await h.send(req.subarray(0, 5));
  assert.equal(h.conn.awaitingHead, true, "inside a frame");
  await h.send(req.subarray(5));
  assert.equal(h.conn.awaitingHead, false);
  const fresh = new Http2ServerConnection(new FakeConnectionIO(), h.handler, h2Options());
  assert.equal(fresh.awaitingHead, false, "nothing received yet");
  await fresh.feed(CLIENT_PREFACE.subarray(0, 10));
  assert.equal(fresh.awaitingHead, true, "inside the preface");
});

Deno.test("server: onRequest's promise is the read loop's backpressure", async () => {
  const h = await startServer();
  let release!: () => void;
  h.handler.onRequestResult = () => new Promise<void>((r) => release = r);
  const r = h.conn.feed(h.peer.out.request(1));
  assert.ok(r instanceof Promise, "feed returns the handler's promise");
  let done = false;
  r.then(() => done = true);
  await settle();
  assert.equal(done, false);
  release();
  await settle();
  assert.equal(done, true);
});

Deno.test("server: PING is answered with an ACK carrying the same 8 octets", async () => {
  const h = await startServer();
  const payload = te.encode("12345678");
  await h.send(h.peer.out.ping(false, payload));
  const [ack] = h.peer.read();
  assert.equal(describeFrames([ack!]), "PING(ack)");
  assert.deepEqual(ack!.payload, payload);
});

// === Interim responses ===

Deno.test("server: 100-continue goes out once, when the proxy asks for the body", async () => {
  const h = await startServer();
  h.handler.receiveBodies = false;
  await h.send(h.peer.out.request(1, false, [["expect", "100-continue"], ["content-length", "4"]], "PUT"));
  assert.deepEqual(h.peer.read(), [], "nothing before the body is wanted");
  const s = h.handler.stream(1);
  const body = h.handler.bodies[0]!;
  s.setBodyReceiver(body);
  await s.sendInformational({ status: 100, headers: new Http1Headers() }); // already sent: not again
  await h.send(h.peer.out.data(1, "body", true));
  await s.sendResponse(ok200(), true);
  await h.send();
  const frames = h.peer.read();
  assert.equal(describeFrames(frames), "HEADERS(1), HEADERS(1, end)");
  assert.deepEqual(fieldsOf(frames[0]), [[":status", "100"]]);
  assert.equal(fieldOf(frames[1], ":status"), "200");
  assert.equal(body.text, "body");
});

Deno.test("server: no 100-continue when body bytes already arrived or a response started", async () => {
  for (const when of ["body arrived", "response started"] as const) {
    const h = await startServer();
    h.handler.receiveBodies = false;
    await h.send(h.peer.out.request(1, false, [["expect", "100-continue"]], "PUT"));
    const s = h.handler.stream(1);
    if (when === "body arrived") await h.send(h.peer.out.data(1, "x", false));
    else await s.sendResponse({ status: 417, headers: new Http1Headers() }, false);
    s.setBodyReceiver(h.handler.bodies[0]!);
    await h.send();
    const statuses = ofType(h.peer.read(), FrameType.HEADERS).map((f) => fieldOf(f, ":status"));
    assert.ok(!statuses.includes("100"), `${when}: ${statuses}`);
  }
});

Deno.test("server: 103 Early Hints go out as interim HEADERS ahead of the response", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  await s.sendInformational({ status: 103, headers: new Http1Headers([["link", "</s.css>; rel=preload"]]) });
  await s.sendResponse(ok200(), true);
  await s.sendInformational({ status: 103, headers: new Http1Headers() }); // after the response: ignored
  await h.send();
  const frames = h.peer.read();
  assert.equal(describeFrames(frames), "HEADERS(1), HEADERS(1, end)");
  assert.deepEqual(fieldsOf(frames[0]), [[":status", "103"], ["link", "</s.css>; rel=preload"]]);
});

Deno.test("server: sendInformational refuses 101 and final statuses", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  for (const status of [101, 200, 99]) {
    await assert.rejects(
      h.handler.stream(1).sendInformational({ status, headers: new Http1Headers() }),
      RangeError,
    );
  }
});

// === Responses and trailers ===

Deno.test("server: request trailers reach onTrailers; response trailers end the stream without pseudo-headers", async () => {
  const h = await startServer();
  await h.send(
    h.peer.out.headers(1, requestFields("POST", "/svc/M", GRPC), false),
    h.peer.out.data(1, "msg", false),
    h.peer.out.headers(1, [["x-checksum", "abc"]], true),
  );
  const body = h.handler.body(1);
  assert.equal(body.text, "msg");
  assert.deepEqual(body.trailers, [[["x-checksum", "abc"]]]);
  const s = h.handler.stream(1);
  await s.sendResponse(ok200([["content-type", "application/grpc"]]), false);
  await s.sendData(te.encode("reply"), false);
  await s.sendTrailers(new Http1Headers([["grpc-status", "0"], ["grpc-message", "OK"]]));
  await h.send();
  const frames = h.peer.read();
  assert.equal(describeFrames(frames), "HEADERS(1), DATA(1), HEADERS(1, end)");
  assert.deepEqual(fieldsOf(frames[2]), [["grpc-status", "0"], ["grpc-message", "OK"]]);
  assert.equal(h.conn.activeStreams, 0);
});

Deno.test("server: a second response head is refused", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  await assert.rejects(s.sendResponse(ok200(), true), ProxyError);
});

Deno.test("server: connection-specific fields of a response from HTTP/1 are not written (§8.2.2)", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  await h.handler.stream(1).sendResponse(
    ok200([
      ["Connection", "keep-alive"],
      ["Keep-Alive", "timeout=5"],
      ["Transfer-Encoding", "chunked"],
      ["Upgrade", "h2c"],
      ["Proxy-Connection", "x"],
      ["X-Kept", "yes"],
    ]),
    true,
  );
  await h.send();
  assert.deepEqual(fieldsOf(h.peer.read()[0]), [[":status", "200"], ["x-kept", "yes"]]);
});

Deno.test("server: a response ending before the request body lingers for the rest, then resets the request side with NO_ERROR", async () => {
  const clock = new FakeClock();
  const h = await startServer({ ...h2Options(), clock });
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.data(1, "part", false));
  const s = h.handler.stream(1);
  await s.sendResponse({ status: 413, headers: new Http1Headers() }, true);
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1, end)", "no reset yet: §8.1 lets the client finish");
  assert.equal(h.conn.activeStreams, 1, "half-closed (local) while it lingers");
  await h.send(h.peer.out.data(1, "more", false)); // still held to the rules, but dropped
  clock.tick(REQUEST_LINGER_MS);
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "RST_STREAM(1, NO_ERROR)");
  assert.equal(h.conn.activeStreams, 0);
  await h.send(h.peer.out.data(1, "rest", true)); // sent before the client saw the reset
  assert.equal(describeFrames(h.peer.read()), "", "ignored");
  assert.equal(h.handler.body(1).text, "part", "nothing after the response reaches the proxy");
  assert.deepEqual(h.handler.body(1).resets, [], "the proxy's own response ended it: no reset to report");
});

Deno.test("server: a request that ends while its answered stream lingers closes without a reset", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.data(1, "part", false));
  await h.handler.stream(1).sendResponse({ status: 413, headers: new Http1Headers() }, true);
  await h.send(h.peer.out.data(1, "rest", true));
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1, end)");
  assert.equal(h.conn.activeStreams, 0);
});

Deno.test("server: reset() sends CANCEL for timeouts and INTERNAL_ERROR for anything else", async () => {
  const cases: [ErrorKind, string][] = [
    ["timeout", "CANCEL"],
    ["request_timeout", "CANCEL"],
    ["upstream_reset", "INTERNAL_ERROR"],
    ["internal", "INTERNAL_ERROR"],
  ];
  for (const [kind, code] of cases) {
    const h = await startServer();
    await h.send(h.peer.out.request(1));
    h.handler.stream(1).reset(new ProxyError(kind, "internal", kind));
    await h.send();
    assert.deepEqual(rsts(h.peer.read()), [[1, code]], kind);
    assert.equal(h.conn.activeStreams, 0, kind);
  }
});

// === Refusals ===

Deno.test("server: streams beyond maxConcurrentStreams are refused with REFUSED_STREAM and reported", async () => {
  const h = await startServer(h2Options({ maxConcurrentStreams: 2 }));
  await h.send(h.peer.out.request(1), h.peer.out.request(3), h.peer.out.request(5, false, [], "POST"));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1, 3]);
  assert.deepEqual(rsts(h.peer.read()), [[5, "REFUSED_STREAM"]]);
  assert.equal(h.handler.refused, 1);
  // The refused stream's body, already on its way, is ignored.
  await h.send(h.peer.out.data(5, "x", true));
  assert.deepEqual(h.peer.read(), []);
  // A slot frees: the next stream is taken.
  await h.handler.stream(1).sendResponse(ok200(), true);
  await h.send(h.peer.out.request(7));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1, 3, 7]);
  assert.equal(h.io.closed, false);
});

Deno.test("server: a header list over SETTINGS_MAX_HEADER_LIST_SIZE gets 431 and RST_STREAM; HPACK stays in sync", async () => {
  const h = await startServer(h2Options({ http2: { maxHeaderListSize: 400 } }));
  await h.send(
    h.peer.out.headers(
      1,
      requestFields("GET", "/", [["x-id", "abc", "incremental"], ["x-big", "y".repeat(500)]]),
      false,
    ),
  );
  assert.equal(h.handler.streams.length, 0, "never reaches the proxy");
  const frames = h.peer.read();
  assert.equal(describeFrames(frames), "HEADERS(1, end), RST_STREAM(1, NO_ERROR)");
  assert.deepEqual(fieldsOf(frames[0]), [[":status", "431"]]);
  // The connection goes on; the field the rejected block indexed is known to the decoder.
  await h.send(h.peer.out.data(1, "body sent before the 431 arrived", true));
  await h.send(h.peer.out.request(3, true, [["x-id", "abc"]]));
  assert.deepEqual(h.handler.protocolErrors, []);
  assert.equal(h.handler.stream(3).request.headers.get("x-id"), "abc");
  assert.equal(h.io.closed, false);
});

// === Local replies ===

/** Every ErrorKind once (the compiler checks the list is complete). */
const KINDS = Object.keys(
  {
    no_route: 1,
    no_healthy_upstream: 1,
    connect_failure: 1,
    upstream_reset: 1,
    upstream_protocol_error: 1,
    overflow: 1,
    timeout: 1,
    per_try_timeout: 1,
    downstream_protocol_error: 1,
    header_too_large: 1,
    body_too_large: 1,
    downstream_reset: 1,
    request_timeout: 1,
    forbidden: 1,
    rate_limited: 1,
    internal: 1,
  } satisfies Record<ErrorKind, 1>,
) as ErrorKind[];

const OPAQUE = new Set(["connect_failure", "upstream_reset", "upstream_protocol_error", "internal"]);

Deno.test("server: a gRPC request's local reply is trailers-only: :status 200 and grpc-status for each error kind", async () => {
  for (const kind of KINDS) {
    const h = await startServer();
    await h.send(h.peer.out.headers(1, requestFields("POST", "/pkg.Svc/Call", GRPC), true));
    await h.handler.stream(1).sendLocalReply(new ProxyError(kind, "internal", "it failed: 100%"));
    await h.send();
    const frames = h.peer.read();
    assert.equal(describeFrames(frames), "HEADERS(1, end)", kind);
    assert.deepEqual(fieldsOf(frames[0]), [
      [":status", "200"],
      ["content-type", "application/grpc"],
      ["grpc-status", String(grpcStatusFor(kind))],
      // Failures whose messages carry upstream addresses or internal detail are named by their kind only.
      ["grpc-message", OPAQUE.has(kind) ? kind.replaceAll("_", " ") : "it failed: 100%25"],
    ], kind);
  }
});

Deno.test("server: a plain request's local reply carries the error's HTTP status and a text body", async () => {
  for (const kind of KINDS) {
    const h = await startServer();
    await h.send(h.peer.out.request(1));
    await h.handler.stream(1).sendLocalReply(new ProxyError(kind, "internal", "x"));
    await h.send();
    const frames = h.peer.read();
    assert.equal(describeFrames(frames), "HEADERS(1), DATA(1, end)", kind);
    const text = kind.replaceAll("_", " ") + "\n";
    assert.deepEqual(fieldsOf(frames[0]), [
      [":status", String(localReplyStatus(kind))],
      ["content-type", "text/plain; charset=utf-8"],
      ["content-length", String(text.length)],
    ], kind);
    assert.equal(textOf(frames), text, kind);
  }
});

Deno.test("server: a local reply with a body of its own sends that body", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  await h.handler.stream(1).sendLocalReply(new ProxyError("forbidden", "internal", "x"), "go away\n");
  await h.send();
  const frames = h.peer.read();
  assert.equal(fieldOf(frames[0], ":status"), "403");
  assert.equal(textOf(frames), "go away\n");
});

Deno.test("server: a local reply after the response started resets the stream instead", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  await s.sendResponse(ok200(), false);
  await s.sendLocalReply(new ProxyError("upstream_reset", "upstream", "upstream died"));
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1), RST_STREAM(1, INTERNAL_ERROR)");
});

// === Drain, abort, EOF ===

const DRAIN_PING = te.encode("mshdrain");

Deno.test("server: drain() is two-step: GOAWAY 2^31-1 and a PING, then the last id once the PING is acknowledged", async () => {
  const clock = new FakeClock();
  const h = await startServer(h2Options({ clock }));
  await h.send(h.peer.out.request(1));
  h.conn.drain();
  await h.send();
  const first = h.peer.read();
  assert.equal(describeFrames(first), "GOAWAY(2147483647, NO_ERROR), PING");
  assert.deepEqual(first[1]!.payload, DRAIN_PING);
  // A stream the client opened before it saw the GOAWAY is still served.
  await h.send(h.peer.out.request(3));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1, 3]);
  await h.send(h.peer.out.ping(true, DRAIN_PING));
  assert.deepEqual(goaways(h.peer.read()), [[3, "NO_ERROR"]]);
  // Streams above the last id are ignored.
  await h.send(h.peer.out.request(5));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1, 3]);
  assert.deepEqual(h.peer.read(), []);
  // The connection closes when the last stream ends.
  await h.handler.stream(1).sendResponse(ok200(), true);
  await h.send();
  assert.equal(h.io.closed, false);
  await h.handler.stream(3).sendResponse(ok200(), true);
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1, end), HEADERS(3, end)");
  assert.equal(h.io.closed, true);
  assert.deepEqual(h.handler.protocolErrors, []);
  assert.equal(clock.pending, 0, "the PING timer is cleared");
});

Deno.test("server: drain() sends the final GOAWAY after 1 s without the PING ACK", async () => {
  const clock = new FakeClock();
  const h = await startServer(h2Options({ clock }));
  await h.send(h.peer.out.request(1));
  h.conn.drain();
  await h.send(h.peer.out.ping(true, te.encode("otherack"))); // not our PING's ACK
  h.peer.read();
  clock.tick(999);
  await h.send();
  assert.deepEqual(h.peer.read(), []);
  clock.tick(1);
  await h.send();
  assert.deepEqual(goaways(h.peer.read()), [[1, "NO_ERROR"]]);
  assert.equal(h.io.closed, false, "stream 1 is still in flight");
});

Deno.test("server: drain() with nothing in flight closes after the final GOAWAY", async () => {
  const clock = new FakeClock();
  const h = await startServer(h2Options({ clock }));
  h.conn.drain();
  h.conn.drain(); // once is enough
  await h.send(h.peer.out.ping(true, DRAIN_PING));
  assert.deepEqual(goaways(h.peer.read()), [[2147483647, "NO_ERROR"], [0, "NO_ERROR"]]);
  assert.equal(h.io.closed, true);
});

Deno.test("server: abort() sends GOAWAY with the last stream, resets the streams and closes", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1), h.peer.out.request(3, false, [], "POST"));
  h.conn.abort(new ProxyError("request_timeout", "downstream", "stalled"));
  await settle();
  assert.deepEqual(goaways(h.peer.read()), [[3, "NO_ERROR"]]);
  assert.equal(h.handler.body(3).resets.length, 1);
  assert.equal(h.handler.body(3).resets[0]!.kind, "request_timeout");
  assert.ok(h.io.closed);
  assert.equal(h.io.writesAfterClose, 0);
});

Deno.test("server: EOF between frames resets the open streams without a protocol error", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"));
  h.conn.onEof();
  await settle();
  assert.deepEqual(h.handler.protocolErrors, []);
  assert.equal(h.handler.body(1).resets[0]?.kind, "downstream_reset");
  assert.ok(h.io.closed);
});

Deno.test("server: EOF inside a frame, a field block or the preface is a protocol error", async () => {
  const cuts: [string, (h: Awaited<ReturnType<typeof startServer>>) => Uint8Array][] = [
    ["inside a frame", (h) => h.peer.out.request(1).subarray(0, 12)],
    [
      "inside a field block",
      (h) => rawFrame(FrameType.HEADERS, 0, 1, h.peer.out.block(requestFields("GET", "/"))),
    ],
  ];
  for (const [what, bytes] of cuts) {
    const h = await startServer();
    await h.send(bytes(h));
    h.conn.onEof();
    await settle();
    assert.equal(h.handler.protocolErrors.length, 1, what);
    assert.deepEqual(goaways(h.peer.read()), [[0, "PROTOCOL_ERROR"]], what);
  }
  for (
    const [what, bytes] of [["inside the preface", CLIENT_PREFACE.subarray(0, 7)], [
      "before its SETTINGS",
      CLIENT_PREFACE,
    ]] as const
  ) {
    const errors: ProxyError[] = [];
    const io = new FakeConnectionIO();
    const conn = new Http2ServerConnection(
      io,
      { onRequest() {}, onProtocolError: (e) => errors.push(e) },
      h2Options(),
    );
    await conn.feed(bytes);
    conn.onEof();
    assert.equal(errors.length, 1, what);
    assert.equal(errors[0]!.kind, "downstream_protocol_error", what);
  }
});

Deno.test("server: a GOAWAY from the client lets the streams in flight finish", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1), h.peer.out.goaway(1, ErrorCode.NO_ERROR));
  await h.handler.stream(1).sendResponse(ok200(), true);
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1, end)");
  assert.deepEqual(h.handler.protocolErrors, []);
});

Deno.test("server: a handler that throws does not escape feed(); the connection reports and closes", async () => {
  const h = await startServer();
  h.handler.onRequestResult = () => {
    throw new TypeError("proxy bug");
  };
  let threw: unknown;
  try {
    await h.conn.feed(h.peer.out.request(1));
  } catch (e) {
    threw = e;
  }
  await settle();
  assert.equal(threw, undefined, "feed() threw");
  assert.deepEqual(h.handler.protocolErrors.map((e) => e.kind), ["internal"]);
  assert.deepEqual(goaways(h.peer.read()), [[1, "INTERNAL_ERROR"]]);
  assert.ok(h.io.closed);
});
