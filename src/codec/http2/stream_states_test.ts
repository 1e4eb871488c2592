/**
 * RFC 9113 §5.1 stream states as the server side sees them: idle, open, half-closed (remote), closed,
 * and what each does with the frames that arrive on it; §5.1.1 stream identifiers.
 */
import assert from "node:assert/strict";
import { ErrorCode, errorCodeName, Flag, FrameType } from "./_frames.ts";
import {
  describeFrames,
  type FrameBuilder,
  rawFrame,
  requestFields,
  startServer,
  u32,
  type WrittenFrame,
} from "./_test_peer.ts";
import { Http1Headers } from "../http1/mod.ts";
import { ProxyError } from "../../core/mod.ts";

function only(frames: WrittenFrame[], type: number): WrittenFrame[] {
  return frames.filter((f) => f.type === type);
}

function assertGoaway(frames: WrittenFrame[], code: number, lastStreamId?: number): void {
  const g = only(frames, FrameType.GOAWAY);
  assert.equal(g.length, 1, `one GOAWAY in ${describeFrames(frames)}`);
  assert.equal(errorCodeName(g[0]!.errorCode), errorCodeName(code), describeFrames(frames));
  if (lastStreamId !== undefined) assert.equal(g[0]!.lastStreamId, lastStreamId, describeFrames(frames));
}

function assertRst(frames: WrittenFrame[], id: number, code: number): void {
  const r = only(frames, FrameType.RST_STREAM).filter((f) => f.streamId === id);
  assert.equal(r.length, 1, `one RST_STREAM on ${id} in ${describeFrames(frames)}`);
  assert.equal(errorCodeName(r[0]!.errorCode), errorCodeName(code), describeFrames(frames));
}

const { END_HEADERS, END_STREAM, PRIORITY } = Flag;
const response = (status = 200) => ({ status, headers: new Http1Headers() });

Deno.test("idle stream: DATA, WINDOW_UPDATE and RST_STREAM on it are connection PROTOCOL_ERRORs", async () => {
  const frames: [string, (b: FrameBuilder) => Uint8Array][] = [
    ["DATA", (b) => b.data(1, "x", false)],
    ["WINDOW_UPDATE", (b) => b.windowUpdate(1, 10)],
    ["RST_STREAM", (b) => b.rst(1, ErrorCode.CANCEL)],
  ];
  for (const [what, frame] of frames) {
    const h = await startServer();
    await h.send(frame(h.peer.out));
    assertGoaway(h.peer.read(), ErrorCode.PROTOCOL_ERROR, 0);
    assert.equal(h.handler.protocolErrors.length, 1, what);
    assert.ok(h.io.closed, what);
  }
});

Deno.test("idle stream: PRIORITY on it is accepted and opens nothing", async () => {
  const h = await startServer();
  await h.send(h.peer.out.priority(5, 0), h.peer.out.request(1));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1], "stream 1 still opens after PRIORITY on 5");
  assert.equal(h.io.closed, false);
});

Deno.test("idle → open → half-closed (remote): the request body flows until END_STREAM", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"));
  assert.equal(h.conn.activeStreams, 1);
  await h.send(h.peer.out.data(1, "ab", false), h.peer.out.data(1, "cd", true));
  const body = h.handler.body(1);
  assert.equal(body.text, "abcd");
  assert.ok(body.ended);
  assert.equal(h.conn.activeStreams, 1, "half-closed (remote): the response is still to come");
  await h.handler.stream(1).sendResponse(response(), true);
  await h.send();
  assert.equal(h.conn.activeStreams, 0, "closed once both sides ended");
  const frames = h.peer.read();
  assert.equal(describeFrames(frames), "HEADERS(1, end)");
});

Deno.test("half-closed (remote): DATA after the peer's END_STREAM is a stream STREAM_CLOSED error", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, true));
  await h.send(h.peer.out.data(1, "late", false));
  assertRst(h.peer.read(), 1, ErrorCode.STREAM_CLOSED);
  assert.equal(h.handler.body(1).resets.length, 1, "the consumer hears of the reset");
  assert.equal(h.conn.activeStreams, 0);
  // The connection is fine: another request is served.
  await h.send(h.peer.out.request(3));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1, 3]);
  assert.equal(h.io.closed, false);
});

Deno.test("half-closed (remote): HEADERS after END_STREAM is a stream STREAM_CLOSED error, HPACK kept in sync", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, true));
  // A trailer block that adds a field to the peer's dynamic table...
  await h.send(h.peer.out.headers(1, [["x-late", "v", "incremental"]], true));
  assertRst(h.peer.read(), 1, ErrorCode.STREAM_CLOSED);
  // ...which the next request refers to by index: the server decoded the rejected block.
  await h.send(h.peer.out.headers(3, requestFields("GET", "/", [["x-late", "v"]]), true));
  assert.equal(h.handler.stream(3).request.headers.get("x-late"), "v");
});

Deno.test("half-closed (remote): WINDOW_UPDATE and the response still work", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, true), h.peer.out.windowUpdate(1, 1000));
  const s = h.handler.stream(1);
  await s.sendResponse(response(), false);
  await s.sendData(new TextEncoder().encode("ok"), true);
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1), DATA(1, end)");
  assert.equal(h.io.closed, false);
});

Deno.test("closed: DATA on a stream that ended both ways is a stream STREAM_CLOSED error", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, true));
  await h.handler.stream(1).sendResponse(response(), true);
  await h.send();
  h.peer.read();
  await h.send(h.peer.out.data(1, "x", false));
  assertRst(h.peer.read(), 1, ErrorCode.STREAM_CLOSED);
  assert.equal(h.io.closed, false);
});

Deno.test("closed: HEADERS reusing the id of a stream the client ended is a connection STREAM_CLOSED (§5.1)", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, true));
  await h.handler.stream(1).sendResponse(response(), true);
  await h.send(h.peer.out.request(1, true));
  assertGoaway(h.peer.read(), ErrorCode.STREAM_CLOSED, 1);
  assert.equal(h.handler.streams.length, 1);
});

Deno.test("closed by our RST_STREAM: late DATA and HEADERS are ignored, the trailers still decoded", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.data(1, "part", false));
  h.handler.stream(1).reset(new ProxyError("internal", "internal", "proxy gave up"));
  await h.send();
  assertRst(h.peer.read(), 1, ErrorCode.INTERNAL_ERROR);
  // The client sent these before it saw our RST_STREAM.
  await h.send(
    h.peer.out.data(1, "more", false),
    h.peer.out.headers(1, [["x-trailer", "t", "incremental"]], true),
    h.peer.out.windowUpdate(1, 100),
    h.peer.out.rst(1, ErrorCode.CANCEL),
  );
  assert.equal(describeFrames(h.peer.read()), "", "nothing answers frames on a stream we reset");
  assert.equal(h.handler.body(1).text, "part", "nothing more reaches the consumer");
  // The ignored trailer block was decoded: the next request's reference to its field resolves.
  await h.send(h.peer.out.headers(3, requestFields("GET", "/", [["x-trailer", "t"]]), true));
  assert.equal(h.handler.stream(3).request.headers.get("x-trailer"), "t");
  assert.equal(h.io.closed, false);
});

Deno.test("closed by the peer's RST_STREAM: the consumer hears it; frames after are STREAM_CLOSED", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"));
  await h.send(h.peer.out.rst(1, ErrorCode.CANCEL));
  const body = h.handler.body(1);
  assert.equal(body.resets.length, 1);
  assert.equal(body.resets[0]!.kind, "downstream_reset");
  assert.match(body.resets[0]!.message, /CANCEL/);
  assert.equal(h.conn.activeStreams, 0);
  // Our response races the reset: it is dropped, not written on a closed stream.
  await h.handler.stream(1).sendResponse(response(), true);
  await h.send(h.peer.out.data(1, "x", false));
  const frames = h.peer.read();
  assert.equal(only(frames, FrameType.HEADERS).length, 0, describeFrames(frames));
  assertRst(frames, 1, ErrorCode.STREAM_CLOSED);
});

Deno.test("stream ids: a client's even id opens nothing, a connection PROTOCOL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(2));
  assertGoaway(h.peer.read(), ErrorCode.PROTOCOL_ERROR, 0);
  assert.equal(h.handler.streams.length, 0);
});

Deno.test("stream ids: ids must increase; a lower new id is a connection PROTOCOL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(5), h.peer.out.request(3));
  assertGoaway(h.peer.read(), ErrorCode.PROTOCOL_ERROR, 5);
  assert.deepEqual(h.handler.streams.map((s) => s.id), [5]);
  assert.equal(h.handler.body(5).resets.length, 1, "the open stream is reset by the connection error");
});

Deno.test("stream ids: skipping ids is allowed and closes the skipped ones (§5.1.1)", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1), h.peer.out.request(7));
  assert.deepEqual(h.handler.streams.map((s) => s.id), [1, 7]);
  // Stream 3 was implicitly closed by opening 7: it can no longer be opened.
  await h.send(h.peer.out.request(3));
  assertGoaway(h.peer.read(), ErrorCode.PROTOCOL_ERROR, 7);
});

Deno.test("stream ids: DATA on a skipped (implicitly closed) id is STREAM_CLOSED, not a connection error", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(5));
  await h.send(h.peer.out.data(3, "x", false));
  assertRst(h.peer.read(), 3, ErrorCode.STREAM_CLOSED);
  assert.equal(h.io.closed, false);
});

Deno.test("open: trailers HEADERS depending on its own stream end the connection, never desync HPACK (§5.3.1)", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"));
  // A stream error here would skip the block, and the field it adds would be missing from our table.
  const block = h.peer.out.block([["x-self", "v", "incremental"]]);
  await h.send(
    rawFrame(FrameType.HEADERS, END_HEADERS | END_STREAM | PRIORITY, 1, [...u32(1), 15, ...block]),
  );
  assertGoaway(h.peer.read(), ErrorCode.PROTOCOL_ERROR, 1);
  assert.equal(h.handler.body(1).resets.length, 1);
  assert.equal(h.handler.protocolErrors.length, 1);
  assert.ok(h.io.closed);
});
