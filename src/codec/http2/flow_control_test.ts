/**
 * Flow control (RFC 9113 §5.2, §6.9) in both directions: what we let the peer send (stream windows
 * credited as the consumer finishes, the connection window on receipt, padding) and what we send
 * (within the peer's stream and connection windows, resumed by WINDOW_UPDATE, promises that settle only
 * once every byte left).
 */
import assert from "node:assert/strict";
import { errorCodeName, FrameType, MAX_WINDOW_SIZE } from "./_frames.ts";
import {
  describeFrames,
  h2Options,
  settle,
  startClient,
  startServer,
  textOf,
  type WrittenFrame,
} from "./_test_peer.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { Http1Headers } from "../http1/mod.ts";
import { Http2RequestHead } from "./head.ts";
import { BodyRecorder } from "./_test_peer.ts";

function requestHead(method: string): Http2RequestHead {
  return new Http2RequestHead(
    method,
    "/",
    "",
    "h",
    new Http1Headers(),
    "http",
    undefined,
    false,
    undefined,
    false,
    -1,
  );
}

function windowUpdates(frames: WrittenFrame[], id: number): number[] {
  return frames.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === id).map((f) =>
    f.increment
  );
}

function dataSizes(frames: WrittenFrame[], id: number): number[] {
  return frames.filter((f) => f.type === FrameType.DATA && f.streamId === id).map((f) => f.payload.length);
}

function rstCode(frames: WrittenFrame[], id: number): string | undefined {
  const f = frames.find((x) => x.type === FrameType.RST_STREAM && x.streamId === id);
  return f === undefined ? undefined : errorCodeName(f.errorCode);
}

function goawayCode(frames: WrittenFrame[]): string | undefined {
  const f = frames.find((x) => x.type === FrameType.GOAWAY);
  return f === undefined ? undefined : errorCodeName(f.errorCode);
}

/** Tracks whether a promise settled. */
function track(p: Promise<void>): { done: boolean } {
  const t = { done: false };
  p.then(() => t.done = true);
  return t;
}

const bytes = (n: number, c = 0x61) => new Uint8Array(n).fill(c);
const ok200 = () => ({ status: 200, headers: new Http1Headers() });

/** Stream windows of 1000 (credit in batches of 500), the connection's of 65535 (no extra credit). */
const SMALL_WINDOWS = h2Options({
  http2: { initialStreamWindowSize: 1000, initialConnectionWindowSize: 65535 },
});

// === Receiving ===

Deno.test("receive: a stream's window is credited back only when its consumer's promise settles", async () => {
  const h = await startServer(SMALL_WINDOWS);
  h.handler.receiveBodies = false;
  await h.send(h.peer.out.request(1, false, [], "POST"));
  const body = new BodyRecorder();
  body.hold = true;
  h.handler.streams[0]!.setBodyReceiver(body);
  await h.send(h.peer.out.data(1, bytes(600), false));
  assert.equal(body.text.length, 600, "delivered");
  assert.deepEqual(windowUpdates(h.peer.read(), 1), [], "no credit while the consumer holds the chunk");
  body.release();
  await h.send();
  assert.deepEqual(windowUpdates(h.peer.read(), 1), [600], "credit once it is done");
});

Deno.test("receive: bytes held before the body receiver is set are not credited either", async () => {
  const h = await startServer(SMALL_WINDOWS);
  h.handler.receiveBodies = false;
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.data(1, bytes(700), false));
  assert.deepEqual(windowUpdates(h.peer.read(), 1), []);
  const body = new BodyRecorder();
  h.handler.streams[0]!.setBodyReceiver(body);
  await h.send();
  assert.equal(body.text.length, 700);
  assert.deepEqual(windowUpdates(h.peer.read(), 1), [700]);
});

Deno.test("receive: a slow consumer on one stream does not stop another", async () => {
  const h = await startServer(SMALL_WINDOWS);
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.request(3, false, [], "POST"));
  h.handler.body(1).hold = true;
  // Stream 1 fills its window and its consumer sits on it.
  await h.send(h.peer.out.data(1, bytes(1000), false));
  // Stream 3 carries three windows' worth meanwhile: each chunk consumed is credited.
  for (let i = 0; i < 3; i++) await h.send(h.peer.out.data(3, bytes(1000), false));
  assert.equal(h.handler.body(3).text.length, 3000);
  const frames = h.peer.read();
  assert.deepEqual(windowUpdates(frames, 3), [1000, 1000, 1000]);
  assert.deepEqual(windowUpdates(frames, 1), []);
  assert.equal(h.io.closed, false);
});

Deno.test("receive: DATA beyond a stream's window is a stream FLOW_CONTROL_ERROR", async () => {
  const h = await startServer(SMALL_WINDOWS);
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.request(3, false, [], "POST"));
  h.handler.body(1).hold = true;
  await h.send(h.peer.out.data(1, bytes(1000), false), h.peer.out.data(1, bytes(1), false));
  const frames = h.peer.read();
  assert.equal(rstCode(frames, 1), "FLOW_CONTROL_ERROR", describeFrames(frames));
  assert.equal(h.handler.body(1).resets.length, 1);
  await h.send(h.peer.out.data(3, "still fine", true));
  assert.equal(h.handler.body(3).text, "still fine");
  assert.equal(h.io.closed, false);
});

Deno.test("receive: the connection window is credited on receipt, whatever the consumers do", async () => {
  // Credit in batches of 1000 (half of 2000).
  const h = await startServer(
    h2Options({ http2: { initialStreamWindowSize: 65535, initialConnectionWindowSize: 2000 } }),
  );
  await h.send(h.peer.out.request(1, false, [], "POST"));
  h.handler.body(1).hold = true;
  await h.send(h.peer.out.data(1, bytes(600), false), h.peer.out.data(1, bytes(600), false));
  const frames = h.peer.read();
  assert.deepEqual(windowUpdates(frames, 0), [1200], describeFrames(frames));
  assert.deepEqual(windowUpdates(frames, 1), [], "the stream's credit waits for its consumer");
});

Deno.test("receive: DATA beyond the connection window is a connection FLOW_CONTROL_ERROR", async () => {
  const h = await startServer(
    h2Options({
      http2: { initialStreamWindowSize: 1 << 20, initialConnectionWindowSize: 65535, maxFrameSize: 1 << 17 },
    }),
  );
  await h.send(h.peer.out.request(1, false, [], "POST"));
  h.peer.out.maxFrameSize = 1 << 17;
  await h.send(h.peer.out.data(1, bytes(65536), false));
  assert.equal(goawayCode(h.peer.read()), "FLOW_CONTROL_ERROR");
  assert.ok(h.io.closed);
});

Deno.test("receive: padding counts against the windows and is credited at once, the data when consumed", async () => {
  const h = await startServer(SMALL_WINDOWS);
  await h.send(h.peer.out.request(1, false, [], "POST"));
  h.handler.body(1).hold = true;
  // Two frames of 3 data bytes, 255 of padding and the Pad Length octet: 259 each.
  const body = h.handler.body(1);
  await h.send(h.peer.out.data(1, "abc", false, 255), h.peer.out.data(1, "def", false, 255));
  assert.deepEqual(windowUpdates(h.peer.read(), 1), [512], "2 × 256 octets of padding back at once");
  body.release();
  await h.send();
  body.release();
  await h.send();
  assert.equal(body.text, "abcdef", "padding is never delivered");
  assert.deepEqual(windowUpdates(h.peer.read(), 1), [], "6 consumed octets wait for the next batch");
});

Deno.test("receive: padding alone can overflow a stream window", async () => {
  const h = await startServer(h2Options({ http2: { initialStreamWindowSize: 100 } }));
  await h.send(h.peer.out.request(1, false, [], "POST"));
  await h.send(h.peer.out.data(1, "0123456789", false, 95)); // 10 + 95 + 1 = 106 > 100
  assert.equal(rstCode(h.peer.read(), 1), "FLOW_CONTROL_ERROR");
  assert.equal(h.handler.body(1).text, "", "nothing of the frame was delivered");
});

Deno.test("receive: a client consumer holding one response does not stop the others", async () => {
  const h = await startClient(SMALL_WINDOWS);
  const slow = new BodyRecorder();
  slow.hold = true;
  const fast = new BodyRecorder();
  const a = h.conn.newStream(slow);
  const b = h.conn.newStream(fast);
  await a.sendRequest(requestHead("GET"), true);
  await b.sendRequest(requestHead("GET"), true);
  const status = [[":status", "200"]] as const;
  await h.send(h.peer.out.headers(1, status, false), h.peer.out.headers(3, status, false));
  await h.send(h.peer.out.data(1, bytes(1000), false));
  for (let i = 0; i < 3; i++) await h.send(h.peer.out.data(3, bytes(1000), false));
  await h.send(h.peer.out.data(3, "", true));
  assert.equal(fast.text.length, 3000);
  assert.ok(fast.ended);
  const frames = h.peer.read();
  assert.deepEqual(windowUpdates(frames, 3), [1000, 1000, 1000]);
  assert.deepEqual(windowUpdates(frames, 1), []);
  slow.release();
  await h.send();
  assert.deepEqual(windowUpdates(h.peer.read(), 1), [1000]);
});

// === Sending ===

Deno.test("send: DATA stays within the peer's stream window and resumes on WINDOW_UPDATE", async () => {
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 100 } });
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  await s.sendResponse(ok200(), false);
  const sent = track(s.sendData(bytes(250), true));
  await h.send();
  assert.deepEqual(dataSizes(h.peer.read(), 1), [100]);
  assert.equal(sent.done, false, "sendData settles only once every byte left");
  await h.send(h.peer.out.windowUpdate(1, 100));
  assert.deepEqual(dataSizes(h.peer.read(), 1), [100]);
  assert.equal(sent.done, false);
  await h.send(h.peer.out.windowUpdate(1, 100));
  const last = h.peer.read();
  assert.deepEqual(dataSizes(last, 1), [50]);
  assert.ok(last[0]!.endStream);
  assert.equal(sent.done, true);
  assert.equal(h.conn.activeStreams, 0);
});

Deno.test("send: DATA stays within the peer's connection window and resumes on its WINDOW_UPDATE", async () => {
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 1 << 20 } });
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  await s.sendResponse(ok200(), false);
  const sent = track(s.sendData(bytes(70000), true));
  await h.send();
  const first = h.peer.read();
  assert.equal(dataSizes(first, 1).reduce((a, b) => a + b, 0), 65535, describeFrames(first));
  assert.equal(sent.done, false);
  await h.send(h.peer.out.windowUpdate(0, 10000));
  assert.deepEqual(dataSizes(h.peer.read(), 1), [70000 - 65535]);
  assert.equal(sent.done, true);
});

Deno.test("send: streams blocked on the connection window take turns as it opens", async () => {
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 1 << 20 } });
  await h.send(h.peer.out.request(1), h.peer.out.request(3));
  for (const id of [1, 3]) {
    const s = h.handler.stream(id);
    await s.sendResponse(ok200(), false);
    void s.sendData(bytes(70000), true);
  }
  await h.send();
  h.peer.read();
  const order: number[] = [];
  for (let i = 0; i < 4; i++) {
    await h.send(h.peer.out.windowUpdate(0, 1000));
    for (const f of h.peer.read()) if (f.type === FrameType.DATA) order.push(f.streamId);
  }
  assert.deepEqual(order, [1, 3, 1, 3]);
});

Deno.test("send: a large chunk's promise settles only once the socket took it (it is written uncopied)", async () => {
  const io = new FakeConnectionIO({ manual: true });
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 1 << 20 }, io });
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  const chunk = bytes(16384);
  const sent = track(s.sendData(chunk, true));
  await h.send();
  assert.equal(sent.done, false, "the chunk is the codec's (and the socket's) until the write completes");
  io.settleWrites();
  await settle();
  assert.equal(sent.done, true);
  assert.equal(textOf(h.peer.read()).length, 16384);
});

Deno.test("send: a large chunk held for window settles once its last part's write completed", async () => {
  const io = new FakeConnectionIO({ manual: true });
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 10000 }, io });
  io.settleWrites();
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  const sent = track(s.sendData(bytes(30000), true));
  await h.send(h.peer.out.windowUpdate(1, 20000));
  assert.deepEqual(dataSizes(h.peer.read(), 1), [10000, 16384, 3616]);
  assert.equal(sent.done, false, "all of it is on its way, but the socket has not taken it");
  io.settleWrites();
  await settle();
  assert.equal(sent.done, true);
});

Deno.test("send: trailers wait behind DATA held for window", async () => {
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 100 } });
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  void s.sendData(bytes(250), false);
  const trailers = track(s.sendTrailers(new Http1Headers([["grpc-status", "0"]])));
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1), DATA(1)", "trailers must not overtake the body");
  assert.equal(trailers.done, false);
  await h.send(h.peer.out.windowUpdate(1, 1000));
  const rest = h.peer.read();
  assert.equal(describeFrames(rest), "DATA(1), HEADERS(1, end)");
  assert.deepEqual(rest[1]!.fields, [["grpc-status", "0", false]]);
  assert.equal(trailers.done, true);
  assert.equal(h.conn.activeStreams, 0);
});

Deno.test("send: a response held for window still goes out after the request ends", async () => {
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 100 } });
  await h.send(h.peer.out.request(1, false, [], "POST"));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  const sent = track(s.sendData(bytes(250), true));
  await h.send(h.peer.out.data(1, "request body end", true));
  await h.send(h.peer.out.windowUpdate(1, 1000));
  const frames = h.peer.read();
  assert.deepEqual(dataSizes(frames, 1), [100, 150], describeFrames(frames));
  assert.ok(frames.at(-1)!.endStream, "the response ends");
  assert.equal(sent.done, true);
  assert.equal(h.conn.activeStreams, 0);
});

Deno.test("send: WINDOW_UPDATE taking a stream window above 2^31-1 is a stream FLOW_CONTROL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1), h.peer.out.request(3));
  await h.send(h.peer.out.windowUpdate(1, MAX_WINDOW_SIZE));
  assert.equal(rstCode(h.peer.read(), 1), "FLOW_CONTROL_ERROR");
  assert.equal(h.handler.body(1).resets.length, 1);
  assert.equal(h.io.closed, false);
  // Stream 3 can still be answered.
  await h.handler.stream(3).sendResponse(ok200(), true);
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(3, end)");
});

Deno.test("send: WINDOW_UPDATE taking the connection window above 2^31-1 is a connection FLOW_CONTROL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.windowUpdate(0, MAX_WINDOW_SIZE - 65535), h.peer.out.windowUpdate(0, 1));
  assert.equal(goawayCode(h.peer.read()), "FLOW_CONTROL_ERROR");
  assert.ok(h.io.closed);
});

Deno.test("send: WINDOW_UPDATE on a closed stream is ignored (§6.9)", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  await h.handler.stream(1).sendResponse(ok200(), true);
  await h.send(h.peer.out.windowUpdate(1, 100));
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1, end)");
  assert.equal(h.io.closed, false);
});

Deno.test("send: the client's request body stays within the server's windows", async () => {
  const h = await startClient(undefined, { serverSettings: { initialWindowSize: 100 } });
  const s = h.conn.newStream(new BodyRecorder());
  await s.sendRequest(requestHead("POST"), false);
  const sent = track(s.sendData(bytes(150), true));
  await h.send();
  assert.deepEqual(dataSizes(h.peer.read(), 1), [100]);
  assert.equal(sent.done, false);
  await h.send(h.peer.out.windowUpdate(1, 100));
  assert.deepEqual(dataSizes(h.peer.read(), 1), [50]);
  assert.equal(sent.done, true);
});
