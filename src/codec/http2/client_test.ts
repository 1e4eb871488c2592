/**
 * The upstream side: the preface, stream ids, requests from any protocol's head, responses with 1xx,
 * bodies and trailers, bodiless statuses, GOAWAY and resets and when a failed request may be resent.
 */
import assert from "node:assert/strict";
import { ProxyError } from "../../core/mod.ts";
import { ErrorCode, errorCodeName, FrameType, SettingId } from "./_frames.ts";
import {
  BodyRecorder,
  CLIENT_PREFACE,
  describeFrames,
  type Field,
  fieldsOf,
  FrameBuilder,
  h2Options,
  literalBlock,
  rawFrame,
  settle,
  startClient,
  textOf,
  type WrittenFrame,
} from "./_test_peer.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { Http1Headers, Http1RequestHead } from "../http1/mod.ts";
import { Http2RequestHead } from "./head.ts";
import { Http2ClientConnection } from "./client.ts";

const te = new TextEncoder();

function head(method = "GET", path = "/", headers: [string, string][] = []): Http2RequestHead {
  return new Http2RequestHead(
    method,
    path,
    "",
    "upstream.local",
    new Http1Headers(headers),
    "http",
    undefined,
    false,
    undefined,
    false,
    -1,
  );
}

function rsts(frames: WrittenFrame[]): [number, string][] {
  return frames.filter((f) => f.type === FrameType.RST_STREAM).map((
    f,
  ) => [f.streamId, errorCodeName(f.errorCode)]);
}

const STATUS_200: Field[] = [[":status", "200"]];

/** Opens a stream and sends a bodiless request on it. */
async function request(h: Awaited<ReturnType<typeof startClient>>, method = "GET") {
  const rec = new BodyRecorder();
  const stream = h.conn.newStream(rec);
  await stream.sendRequest(head(method), true);
  return { rec, stream };
}

// === Preface and requests ===

Deno.test("client: the connection starts with the preface, SETTINGS without push, and the connection window", async () => {
  const io = new FakeConnectionIO();
  new Http2ClientConnection(io, { onUnusable() {} }, h2Options());
  await settle();
  const out = io.bytes();
  assert.deepEqual(out.subarray(0, 24), CLIENT_PREFACE);
  const h = await startClient(h2Options(), { serverSettings: null });
  const [settings, update] = h.peer.read();
  assert.equal(settings!.type, FrameType.SETTINGS);
  assert.equal(settings!.settings.get(SettingId.ENABLE_PUSH), 0);
  assert.equal(settings!.settings.get(SettingId.INITIAL_WINDOW_SIZE), 256 * 1024);
  assert.equal(describeFrames([update!]), "WINDOW_UPDATE(0, +16711681)");
});

Deno.test("client: stream ids are odd and follow the order requests are sent, not opened", async () => {
  const h = await startClient();
  const [a, b, c] = [0, 1, 2].map(() => h.conn.newStream(new BodyRecorder()));
  assert.deepEqual([a!.id, b!.id, c!.id], [0, 0, 0], "no id before the request head goes out");
  await c!.sendRequest(head(), true);
  await a!.sendRequest(head(), true);
  await b!.sendRequest(head(), true);
  assert.deepEqual([c!.id, a!.id, b!.id], [1, 3, 5]);
  assert.deepEqual(h.peer.read().map((f) => f.streamId), [1, 3, 5], "HEADERS in increasing id order");
});

Deno.test("client: a stream reset before its request was sent writes nothing and uses no id", async () => {
  const h = await startClient();
  const a = h.conn.newStream(new BodyRecorder());
  a.reset(new ProxyError("downstream_reset", "downstream", "client went away"));
  await a.sendRequest(head(), true); // too late: nothing happens
  assert.equal(h.conn.activeStreams, 0);
  const { stream } = await request(h);
  assert.equal(stream.id, 1);
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1, end)");
});

Deno.test("client: a request from an HTTP/1 head: pseudo-headers first, Host as :authority, connection fields dropped", async () => {
  const h = await startClient();
  const s = h.conn.newStream(new BodyRecorder());
  await s.sendRequest(
    new Http1RequestHead(
      "POST",
      "/submit",
      "?a=1",
      "svc.local:8080",
      new Http1Headers([
        ["Host", "svc.local:8080"],
        ["Connection", "keep-alive"],
        ["Keep-Alive", "timeout=5"],
        ["Transfer-Encoding", "chunked"],
        ["TE", "trailers"],
        ["Content-Type", "text/plain"],
      ]),
    ),
    false,
  );
  await s.sendData(te.encode("hi"), true);
  await h.send();
  const frames = h.peer.read();
  assert.deepEqual(fieldsOf(frames[0]), [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", "svc.local:8080"],
    [":path", "/submit?a=1"],
    ["te", "trailers"],
    ["content-type", "text/plain"],
  ]);
  assert.equal(textOf(frames), "hi");
});

Deno.test("client: CONNECT carries :method and :authority only (§8.5)", async () => {
  const h = await startClient();
  const s = h.conn.newStream(new BodyRecorder());
  const connect = new Http2RequestHead(
    "CONNECT",
    "",
    "",
    "db.local:5432",
    new Http1Headers(),
    "",
    undefined,
    false,
    undefined,
    false,
    -1,
  );
  await s.sendRequest(connect, false);
  assert.deepEqual(fieldsOf(h.peer.read()[0]), [[":method", "CONNECT"], [":authority", "db.local:5432"]]);
});

Deno.test("client: request trailers follow the body, after DATA held for window", async () => {
  const h = await startClient(undefined, { serverSettings: { initialWindowSize: 10 } });
  const s = h.conn.newStream(new BodyRecorder());
  await s.sendRequest(head("POST"), false);
  void s.sendData(te.encode("0123456789abcdef"), false);
  void s.sendTrailers(new Http1Headers([["x-sum", "1"]]));
  await h.send();
  assert.equal(describeFrames(h.peer.read()), "HEADERS(1), DATA(1)");
  await h.send(h.peer.out.windowUpdate(1, 100));
  const rest = h.peer.read();
  assert.equal(describeFrames(rest), "DATA(1), HEADERS(1, end)");
  assert.deepEqual(fieldsOf(rest[1]), [["x-sum", "1"]]);
});

// === Responses ===

Deno.test("client: a response with body and trailers reaches the receiver in order", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(
    h.peer.out.headers(1, [[":status", "200"], ["content-type", "application/grpc"]], false),
    h.peer.out.data(1, "abc", false),
    h.peer.out.data(1, "def", false),
    h.peer.out.headers(1, [["grpc-status", "0"]], true),
  );
  assert.equal(rec.heads[0]!.status, 200);
  assert.equal(rec.heads[0]!.headers.get("content-type"), "application/grpc");
  assert.deepEqual(rec.headEnds, [false]);
  assert.equal(rec.text, "abcdef");
  assert.deepEqual(rec.trailers, [[["grpc-status", "0"]]]);
  assert.equal(h.conn.activeStreams, 0);
  assert.ok(h.conn.reusable);
});

Deno.test("client: a response decodes alike from every split of reads", async () => {
  const b = new FrameBuilder();
  const block = b.block([[":status", "201"], ["x-long", "z".repeat(40)], ["content-length", "6"]]);
  const wire = [
    rawFrame(FrameType.HEADERS, 0, 1, block.subarray(0, 7)),
    rawFrame(FrameType.CONTINUATION, 0x4, 1, block.subarray(7)),
    b.data(1, "abc", false, 7),
    b.data(1, "def", true),
  ];
  const all = new Uint8Array(wire.reduce((n, w) => n + w.length, 0));
  let o = 0;
  for (const w of wire) {
    all.set(w, o);
    o += w.length;
  }
  for (let cut = 1; cut < all.length; cut++) {
    const h = await startClient();
    const { rec } = await request(h);
    await h.send(all.subarray(0, cut));
    await h.send(all.subarray(cut));
    assert.deepEqual(rec.resets, [], `cut ${cut}`);
    assert.equal(rec.heads[0]?.status, 201, `cut ${cut}`);
    assert.equal(rec.heads[0]!.headers.get("x-long"), "z".repeat(40));
    assert.equal(rec.text, "abcdef", `cut ${cut}`);
    assert.ok(rec.ended, `cut ${cut}`);
  }
});

Deno.test("client: 100 Continue is swallowed, 103 goes to onInformational, then the final response", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(
    h.peer.out.headers(1, [[":status", "100"]], false),
    h.peer.out.headers(1, [[":status", "103"], ["link", "</a.js>; rel=preload"]], false),
    h.peer.out.headers(1, STATUS_200, true),
  );
  assert.deepEqual(rec.informational.map((i) => [i.status, i.headers.get("link")]), [[
    103,
    "</a.js>; rel=preload",
  ]]);
  assert.deepEqual(rec.heads.map((x) => x.status), [200]);
  assert.deepEqual(rec.resets, []);
});

Deno.test("client: a 1xx with END_STREAM, or a 101, is a stream PROTOCOL_ERROR", async () => {
  for (
    const [what, fields, end] of [["103 with END_STREAM", [[":status", "103"]], true], ["101", [[
      ":status",
      "101",
    ]], false]] as const
  ) {
    const h = await startClient();
    const { rec } = await request(h);
    await h.send(h.peer.out.headers(1, fields, end));
    assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]], what);
    assert.equal(rec.resets.length, 1, what);
    assert.equal(rec.resets[0]!.kind, "upstream_protocol_error", what);
    assert.equal(rec.heads.length, 0, what);
    assert.ok(h.conn.reusable, `${what}: a stream error leaves the connection usable`);
  }
});

Deno.test("client: HEAD, 204 and 304 responses are bodiless whatever their content-length says", async () => {
  const cases: [string, string][] = [["HEAD", "200"], ["GET", "204"], ["GET", "304"]];
  for (const [method, status] of cases) {
    const h = await startClient();
    const { rec } = await request(h, method);
    await h.send(h.peer.out.headers(1, [[":status", status], ["content-length", "100"]], true));
    assert.deepEqual(rec.resets, [], `${method} ${status}`);
    assert.deepEqual(rec.headEnds, [true], `${method} ${status}`);
    assert.equal(h.conn.activeStreams, 0);
  }
});

Deno.test("client: a body shorter than its content-length is a stream PROTOCOL_ERROR (§8.1.1)", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(h.peer.out.headers(1, [[":status", "200"], ["content-length", "10"]], false));
  await h.send(h.peer.out.data(1, "short", true));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.equal(rec.resets.length, 1);
});

Deno.test("client: a head ending the stream while its content-length promises a body is a stream PROTOCOL_ERROR", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(h.peer.out.headers(1, [[":status", "200"], ["content-length", "10"]], true));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.equal(rec.resets.length, 1);
  assert.deepEqual(rec.heads, [], "a malformed response is not passed on");
});

Deno.test("client: DATA before the response head is a stream PROTOCOL_ERROR (§8.1)", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(h.peer.out.data(1, "early", false));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.equal(rec.resets.length, 1);
});

Deno.test("client: a malformed response head is a stream error; the connection goes on", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(h.peer.out.headers(1, literalBlock([[":status", "200"], ["X-Upper", "v"]]), true));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.equal(rec.resets[0]!.kind, "upstream_protocol_error");
  const next = await request(h);
  await h.send(h.peer.out.headers(3, STATUS_200, true));
  assert.equal(next.rec.heads[0]!.status, 200);
});

Deno.test("client: trailers without END_STREAM are a stream PROTOCOL_ERROR", async () => {
  const h = await startClient();
  const { rec } = await request(h);
  await h.send(h.peer.out.headers(1, STATUS_200, false), h.peer.out.headers(1, [["x-t", "1"]], false));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.equal(rec.resets.length, 1);
});

Deno.test("client: a late response on a stream we reset is dropped, its fields still decoded", async () => {
  const h = await startClient();
  const { rec, stream } = await request(h);
  stream.reset(new ProxyError("timeout", "upstream", "gave up"));
  await h.send();
  assert.deepEqual(rsts(h.peer.read()), [[1, "CANCEL"]]);
  await h.send(
    h.peer.out.headers(1, [[":status", "200"], ["x-idx", "kept", "incremental"]], false),
    h.peer.out.data(1, "late", true),
  );
  assert.deepEqual(rec.heads, []);
  assert.deepEqual(h.peer.read(), [], "no reaction to frames on a stream we reset");
  const next = await request(h);
  await h.send(h.peer.out.headers(3, [[":status", "200"], ["x-idx", "kept"]], true));
  assert.equal(next.rec.heads[0]!.headers.get("x-idx"), "kept", "HPACK in sync");
});

// === GOAWAY, resets, resending ===

Deno.test("client: GOAWAY fails the streams above its last id retryable and lets the others finish", async () => {
  const h = await startClient();
  const s1 = await request(h);
  const s3 = await request(h);
  const s5 = await request(h);
  const unsent = new BodyRecorder();
  h.conn.newStream(unsent);
  await h.send(h.peer.out.goaway(3, ErrorCode.NO_ERROR));
  assert.equal(s5.rec.resets.length, 1);
  assert.ok(s5.rec.resets[0]!.retryable, "never processed: safe to resend");
  assert.ok(unsent.resets[0]?.retryable, "an opened stream not yet sent fails retryable too");
  assert.deepEqual([s1.rec.resets, s3.rec.resets], [[], []]);
  assert.equal(h.handler.unusable.length, 1);
  assert.ok(h.handler.unusable[0]!.retryable);
  assert.equal(h.conn.reusable, false);
  assert.equal(h.conn.streamCapacity, 0);
  assert.throws(() => h.conn.newStream(new BodyRecorder()), (e) => e instanceof ProxyError && e.retryable);
  await h.send(h.peer.out.headers(1, STATUS_200, true));
  assert.equal(h.io.closed, false, "stream 3 is still in flight");
  await h.send(h.peer.out.headers(3, STATUS_200, true));
  assert.deepEqual([s1.rec.heads.length, s3.rec.heads.length], [1, 1]);
  assert.equal(h.io.closed, true, "closed once the last stream below the GOAWAY ended");
});

Deno.test("client: REFUSED_STREAM is retryable; another reset of a request that was written is not", async () => {
  const h = await startClient();
  const a = await request(h);
  const b = await request(h);
  await h.send(h.peer.out.rst(1, ErrorCode.REFUSED_STREAM), h.peer.out.rst(3, ErrorCode.INTERNAL_ERROR));
  assert.equal(a.rec.resets[0]!.retryable, true);
  assert.equal(b.rec.resets[0]!.retryable, false, "the server may have acted on it");
  assert.match(b.rec.resets[0]!.message, /INTERNAL_ERROR/);
  assert.ok(h.conn.reusable);
});

Deno.test("client: a request none of whose bytes left this host fails retryable, once written it does not", async () => {
  const io = new FakeConnectionIO({ manual: true });
  const h = await startClient(undefined, { io });
  io.settleWrites(); // the preface is out
  const a = await request(h);
  // a's HEADERS are submitted but not written: a reset now means the server never saw the request.
  await h.send(h.peer.out.rst(1, ErrorCode.INTERNAL_ERROR));
  assert.equal(a.rec.resets[0]!.retryable, true);
  const b = await request(h);
  io.settleWrites();
  await h.send(h.peer.out.rst(3, ErrorCode.INTERNAL_ERROR));
  assert.equal(b.rec.resets[0]!.retryable, false);
  const c = await request(h);
  h.conn.onEof(); // c's bytes never left: the connection's end fails it retryable
  assert.equal(c.rec.resets[0]!.retryable, true);
  assert.equal(c.rec.resets[0]!.kind, "upstream_reset");
});

Deno.test("client: over an IO that counts no bytes, every written request may have arrived: nothing is retryable", async () => {
  const written: Uint8Array[] = [];
  const io = {
    closed: false,
    remoteAddress: "127.0.0.1:1",
    write(d: Uint8Array) {
      written.push(d.slice());
      return Promise.resolve();
    },
    close() {
      this.closed = true;
    },
  };
  const conn = new Http2ClientConnection(io, { onUnusable() {} }, h2Options());
  const b = new FrameBuilder();
  conn.feed(b.settings());
  const a = new BodyRecorder();
  const c = new BodyRecorder();
  await conn.newStream(a).sendRequest(head(), true);
  await conn.newStream(c).sendRequest(head(), true);
  conn.feed(b.rst(1, ErrorCode.INTERNAL_ERROR));
  assert.equal(a.resets[0]!.retryable, false);
  conn.onEof();
  assert.equal(c.resets[0]!.retryable, false);
  assert.ok(written.length > 0);
});

Deno.test("client: EOF fails every stream and makes the connection unusable", async () => {
  const h = await startClient();
  const a = await request(h);
  h.conn.onEof();
  assert.equal(a.rec.resets[0]!.kind, "upstream_reset");
  assert.equal(a.rec.resets[0]!.source, "upstream");
  assert.equal(a.rec.resets[0]!.retryable, false, "its request was written");
  assert.equal(h.handler.unusable.length, 1);
  assert.equal(h.conn.reusable, false);
  assert.ok(h.io.closed);
});

Deno.test("client: a connection error fails the streams, sends GOAWAY and closes", async () => {
  const h = await startClient();
  const a = await request(h);
  await h.send(h.peer.out.headers(2, STATUS_200, true)); // a server cannot open streams
  const frames = h.peer.read();
  assert.equal(
    describeFrames(frames.filter((f) => f.type === FrameType.GOAWAY)),
    "GOAWAY(0, PROTOCOL_ERROR)",
  );
  assert.equal(a.rec.resets[0]!.kind, "upstream_protocol_error");
  assert.ok(h.io.closed);
  assert.equal(h.conn.reusable, false);
});

Deno.test("client: RST_STREAM NO_ERROR after a complete response stops the request body, not the response (§8.1)", async () => {
  const h = await startClient(undefined, { serverSettings: { initialWindowSize: 10 } });
  const rec = new BodyRecorder();
  const s = h.conn.newStream(rec);
  await s.sendRequest(head("POST"), false);
  let sent = false;
  void s.sendData(new Uint8Array(100), true).then(() => sent = true);
  await h.send(
    h.peer.out.headers(1, [[":status", "413"]], true),
    h.peer.out.rst(1, ErrorCode.NO_ERROR),
  );
  assert.deepEqual(rec.heads.map((x) => x.status), [413]);
  assert.deepEqual(rec.resets, [], "the response is complete: nothing failed");
  assert.equal(sent, true, "the held body is let go");
  assert.equal(h.conn.activeStreams, 0);
  await h.send(h.peer.out.windowUpdate(1, 1000));
  assert.deepEqual(h.peer.read().filter((f) => f.type === FrameType.DATA && f.length > 10), []);
});
