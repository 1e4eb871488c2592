import assert from "node:assert/strict";
import { ByteBudget, ProxyError } from "../../core/mod.ts";
import { STATUS_THREADPOOL_BUSY } from "./constants.ts";
import { defaultCodecOptions } from "../types.ts";
import type { CodecOptions, ResponseHead } from "../types.ts";
import { KvHeaderMap } from "../xprotocol/mod.ts";
import {
  CAPTURED_CRC_HEARTBEAT,
  CAPTURED_CRC_REQUEST,
  CAPTURED_REQUEST,
  CAPTURED_RESPONSE,
  concat,
  hex,
  RecordingServerHandler,
  toHex,
} from "./_test_io.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { boltCodec, boltV2Codec } from "./codec.ts";
import {
  BoltRequestHead,
  type BoltResponseHead,
  decodeBoltFrame,
  encodeBoltFrame,
  encodeHeartbeatRequest,
} from "./frame.ts";
import type { BoltServerConnection } from "./server.ts";

function serve(options: CodecOptions = defaultCodecOptions) {
  const io = new FakeConnectionIO();
  const handler = new RecordingServerHandler();
  const conn = boltCodec.newServerConnection(io, handler, options) as BoltServerConnection;
  return { io, handler, conn };
}

/** The captured request with another id. */
function requestWithId(id: number): Uint8Array {
  const f = CAPTURED_REQUEST.slice();
  new DataView(f.buffer).setUint32(5, id);
  return f;
}

/** The captured request as a v2 frame. */
function v2Request(id: number, type = 1): Uint8Array {
  const h = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  return encodeBoltFrame(2, type, 1, id, 1, 0, 3000, h.classBytes, h.headers, h.content);
}

/** A 25-byte request with no class or headers, under every limit the garbage tests set. */
function smallRequest(id: number): Uint8Array {
  return encodeBoltFrame(1, 1, 1, id, 1, 0, -1, undefined, undefined, new Uint8Array(3));
}

function responseWithId(id: number): BoltResponseHead {
  const f = CAPTURED_RESPONSE.slice();
  new DataView(f.buffer).setUint32(5, id);
  return decodeBoltFrame(f) as BoltResponseHead;
}

Deno.test("bolt server decodes the captured sofa-rpc-node request", () => {
  const { io, handler, conn } = serve();
  conn.feed(CAPTURED_REQUEST);
  assert.equal(handler.streams.length, 1);
  const s = handler.streams[0];
  assert.equal(s.id, 1);
  assert.equal(s.headOnly, true);
  assert.equal(s.request.protocol, "bolt");
  assert.equal(s.request.method, "");
  assert.equal(s.request.path, "");
  assert.equal(s.request.host, "");
  assert.equal(s.request.frameTimeoutMs, 3000);
  assert.equal(s.request.headers.get("service"), "com.nodejs.test.TestService:1.0");
  assert.ok(s.request instanceof BoltRequestHead);
  assert.deepEqual(s.request.frame, CAPTURED_REQUEST);
  assert.equal(conn.activeStreams, 1);
  assert.equal(io.closed, false);
});

Deno.test("bolt server copies each frame out of the reused read buffer", () => {
  const { handler, conn } = serve();
  const buf = CAPTURED_REQUEST.slice();
  conn.feed(buf);
  buf.fill(0);
  const head = handler.streams[0].request as BoltRequestHead;
  assert.deepEqual(head.frame, CAPTURED_REQUEST);
});

Deno.test("bolt server decodes a request split at every point", () => {
  for (let i = 1; i < CAPTURED_REQUEST.length; i++) {
    const { handler, conn } = serve();
    conn.feed(CAPTURED_REQUEST.slice(0, i));
    assert.equal(handler.streams.length, 0, `split ${i}`);
    conn.feed(CAPTURED_REQUEST.slice(i));
    assert.equal(handler.streams.length, 1, `split ${i}`);
    assert.deepEqual((handler.streams[0].request as BoltRequestHead).frame, CAPTURED_REQUEST);
  }
});

Deno.test("bolt server decodes frames fed one byte at a time", () => {
  const { handler, conn, io } = serve();
  const two = concat(requestWithId(1), encodeHeartbeatRequest(1, 9), v2Request(2));
  for (let i = 0; i < two.length; i++) conn.feed(two.subarray(i, i + 1));
  assert.deepEqual(handler.streams.map((s) => s.id), [1, 2]);
  assert.equal(handler.heartbeats, 1);
  assert.equal(io.writes.length, 1);
});

Deno.test("bolt server decodes split points straddling two frames", () => {
  const two = concat(requestWithId(1), requestWithId(2));
  for (let i = 1; i < two.length; i += 7) {
    const { handler, conn } = serve();
    conn.feed(two.slice(0, i));
    conn.feed(two.slice(i));
    assert.deepEqual(handler.streams.map((s) => s.id), [1, 2], `split ${i}`);
  }
});

Deno.test("bolt server decodes many frames in one feed", () => {
  const { handler, conn } = serve();
  const frames = [];
  for (let id = 1; id <= 50; id++) frames.push(requestWithId(id));
  conn.feed(concat(...frames));
  assert.equal(handler.streams.length, 50);
  assert.deepEqual(handler.streams.map((s) => s.id), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.equal(conn.activeStreams, 50);
});

Deno.test("bolt server decodes v1 and v2 frames mixed on one connection and answers in kind", async () => {
  const { io, handler, conn } = serve();
  conn.feed(concat(requestWithId(11), v2Request(12), requestWithId(13)));
  assert.deepEqual(handler.streams.map((s) => s.request.protocol), ["bolt", "boltv2", "bolt"]);
  // Out of order, each answered in its own version from a v1 upstream response.
  await handler.streams[1].sendResponse(responseWithId(100), true);
  await handler.streams[0].sendResponse(responseWithId(101), true);
  await handler.streams[2].sendLocalReply(new ProxyError("timeout", "upstream", "t"));
  const [a, b, c] = io.writes.map((w) => decodeBoltFrame(w) as BoltResponseHead);
  assert.deepEqual([a.version, a.requestId, a.status], [2, 12, 200]);
  assert.deepEqual([b.version, b.requestId, b.status], [1, 11, 200]);
  assert.deepEqual([c.version, c.requestId, c.boltStatus], [1, 13, 7]);
  assert.equal(toHex(io.writes[1]), toHex(CAPTURED_RESPONSE).replace(/^(.{10})00000001/, "$10000000b"));
  assert.equal(conn.activeStreams, 0);
});

Deno.test("bolt server forwards an upstream response raw with the id patched back", async () => {
  const { io, handler, conn } = serve();
  conn.feed(CAPTURED_REQUEST);
  const upstream = responseWithId(77);
  await handler.streams[0].sendResponse(upstream, true);
  assert.equal(io.writes.length, 1);
  assert.equal(toHex(io.writes[0]), toHex(CAPTURED_RESPONSE));
});

Deno.test("bolt server answers heartbeats locally with the exact frame", () => {
  const { io, handler, conn } = serve();
  conn.feed(concat(encodeHeartbeatRequest(1, 5), encodeHeartbeatRequest(2, 6)));
  assert.equal(handler.streams.length, 0);
  assert.equal(handler.heartbeats, 2);
  assert.equal(toHex(io.writes[0]), "0100000001000000050100000000000000000000");
  assert.equal(toHex(io.writes[1]), "02010000000100000006010000000000000000000000");
});

Deno.test("bolt server hands heartbeats over as health-check streams when asked, answering them with acks", async () => {
  const { io, handler, conn } = serve({ ...defaultCodecOptions, deliverHealthChecks: true });
  conn.feed(concat(encodeHeartbeatRequest(1, 5), encodeHeartbeatRequest(2, 6), CAPTURED_CRC_HEARTBEAT));
  assert.equal(handler.heartbeats, 0, "not answered by the codec");
  assert.equal(io.writes.length, 0);
  assert.deepEqual(handler.streams.map((s) => [s.id, s.request.healthCheck]), [[5, true], [6, true], [
    7,
    true,
  ]]);
  const status = (code: number): ResponseHead => ({
    status: code,
    headers: new KvHeaderMap(["content-length"], ["0"]),
  });
  await handler.streams[0]!.sendResponse(status(200), true);
  await handler.streams[1]!.sendResponse(status(503), true);
  await handler.streams[2]!.sendLocalReply(new ProxyError("no_route", "downstream", "no route"));
  // Heartbeat acks (cmd 0), no header map, the status mapped as for any reply; the v2 CRC one mirrored.
  assert.equal(toHex(io.writes[0]!), "0100000001000000050100000000000000000000");
  assert.equal(toHex(io.writes[1]!), "02010000000100000006010000040000000000000000");
  const ack = decodeBoltFrame(io.writes[2]!) as BoltResponseHead;
  assert.deepEqual([ack.cmdCode, ack.requestId, ack.boltStatus, ack.crc32], [0, 7, 6, true]);
  assert.equal(conn.activeStreams, 0);
  // A normal request on the same connection is still a request.
  conn.feed(CAPTURED_REQUEST);
  assert.equal(handler.streams[3]!.request.healthCheck, false);
});

Deno.test("bolt server checks and rewrites CRC-32 frames end to end", async () => {
  const { io, handler, conn } = serve();
  conn.feed(CAPTURED_CRC_REQUEST);
  const s = handler.streams[0]!;
  assert.equal((s.request as BoltRequestHead).crc32, true);
  await s.sendLocalReply(new ProxyError("timeout", "upstream", "late"));
  const reply = decodeBoltFrame(io.writes[0]!) as BoltResponseHead;
  assert.ok(reply !== undefined, "a reply with a valid CRC-32");
  assert.deepEqual([reply.crc32, reply.boltStatus, reply.requestId], [true, 7, 1]);
});

Deno.test("bolt server surfaces oneway requests and sends nothing back", async () => {
  const { io, handler, conn } = serve();
  const oneway = requestWithId(3);
  oneway[1] = 2;
  conn.feed(concat(oneway, v2Request(4, 2)));
  assert.equal(handler.streams.length, 2);
  assert.equal((handler.streams[0].request as BoltRequestHead).oneway, true);
  assert.equal((handler.streams[1].request as BoltRequestHead).oneway, true);
  await handler.streams[0].sendResponse(responseWithId(1), true);
  await handler.streams[1].sendLocalReply(new ProxyError("no_route", "internal", "x"));
  assert.equal(io.writes.length, 0);
  assert.equal(conn.activeStreams, 0);
});

const localReplies: [ProxyError["kind"], number, number][] = [
  ["no_route", 6, 6],
  ["no_healthy_upstream", 6, 6],
  ["upstream_reset", 6, 6],
  ["overflow", 4, 4],
  ["timeout", 7, 7],
  ["downstream_protocol_error", 9, 9],
  ["forbidden", 2, 3],
  ["internal", 3, 3],
  ["rate_limited", 3, 3],
];

Deno.test("bolt server local replies carry the mapped status", async () => {
  for (const [kind, v1Status, v2Status] of localReplies) {
    const { io, handler, conn } = serve();
    conn.feed(concat(requestWithId(21), v2Request(22)));
    await handler.streams[0].sendLocalReply(new ProxyError(kind, "internal", "x"));
    await handler.streams[1].sendLocalReply(new ProxyError(kind, "internal", "x"));
    const s1 = v1Status.toString(16).padStart(4, "0");
    const s2 = v2Status.toString(16).padStart(4, "0");
    assert.equal(toHex(io.writes[0]), `01000002010000001501${s1}0000000000000000`, kind);
    assert.equal(toHex(io.writes[1]), `0201000002010000001601${"00"}${s2}0000000000000000`, kind);
  }
});

Deno.test("bolt server maps a non-bolt response head to a bolt status", async () => {
  const { io, handler, conn } = serve();
  conn.feed(requestWithId(8));
  const head: ResponseHead = { status: 503, headers: new KvHeaderMap(["x"], ["y"]) };
  await handler.streams[0].sendResponse(head, true);
  const out = decodeBoltFrame(io.writes[0]) as BoltResponseHead;
  assert.equal(out.boltStatus, 4);
  assert.equal(out.requestId, 8);
  assert.equal(out.headers.get("x"), "y");
});

Deno.test("bolt server re-encodes a request whose headers were edited", () => {
  const { handler, conn } = serve();
  conn.feed(CAPTURED_REQUEST);
  const head = handler.streams[0].request as BoltRequestHead;
  head.headers.set("x-mosn-rpc-service", "svc");
  const out = decodeBoltFrame(head.encode(42)) as BoltRequestHead;
  assert.equal(out.headers.get("x-mosn-rpc-service"), "svc");
  assert.equal(out.requestId, 42);
});

const garbage: [string, Uint8Array, Partial<CodecOptions>?][] = [
  ["unknown protocol code", hex("0301000100")],
  ["unknown type byte", hex("0105000100")],
  ["unknown v2 type byte", hex("02010700")],
  ["unknown v2 ver1", hex("02030100")],
  [
    "CRC32 mismatch",
    (() => {
      const f = CAPTURED_CRC_REQUEST.slice();
      f[100] ^= 0x10;
      return f;
    })(),
  ],
  [
    "unknown cmdcode",
    (() => {
      const f = CAPTURED_REQUEST.slice();
      f[3] = 7;
      return f;
    })(),
  ],
  ["frame over maxFrameBytes", CAPTURED_REQUEST.slice(0, 30), { maxFrameBytes: 300 }],
  ["header map over maxHeaderBytes", CAPTURED_REQUEST.slice(0, 30), { maxHeaderBytes: 16 }],
  [
    "malformed header map",
    (() => {
      const f = CAPTURED_REQUEST.slice();
      f[22 + 0x2c + 3] = 0x40;
      return f;
    })(),
  ],
];

for (const [name, bytes, opts] of garbage) {
  Deno.test(`bolt server closes the connection on ${name}`, () => {
    const { io, handler, conn } = serve({ ...defaultCodecOptions, ...opts });
    conn.feed(smallRequest(1)); // in flight: must hear a reset
    const other = serve();
    conn.feed(concat(bytes, smallRequest(2)));
    assert.equal(handler.protocolErrors.length, 1);
    assert.equal(handler.protocolErrors[0].kind, "downstream_protocol_error");
    assert.equal(io.closed, true);
    assert.equal(handler.streams.length, 1);
    assert.equal(handler.resets.length, 1);
    assert.equal(conn.activeStreams, 0);
    conn.feed(smallRequest(3)); // ignored after the error, never throws
    assert.equal(handler.streams.length, 1);
    other.conn.feed(CAPTURED_REQUEST);
    assert.equal(other.handler.streams.length, 1);
    assert.equal(other.io.closed, false);
  });
}

Deno.test("bolt server closes the connection on a truncated frame at EOF", () => {
  const { io, handler, conn } = serve();
  conn.feed(CAPTURED_REQUEST.subarray(0, 100));
  conn.onEof();
  assert.equal(handler.protocolErrors.length, 1);
  assert.equal(handler.protocolErrors[0].kind, "downstream_protocol_error");
  assert.equal(io.closed, true);
});

Deno.test("bolt server EOF resets in-flight streams without a protocol error", () => {
  const { io, handler, conn } = serve();
  conn.feed(CAPTURED_REQUEST);
  conn.onEof();
  assert.equal(handler.protocolErrors.length, 0);
  assert.equal(handler.resets[0].kind, "downstream_reset");
  assert.equal(io.closed, true);
});

Deno.test("bolt server never throws out of feed when a handler throws", () => {
  const io = new FakeConnectionIO();
  const errors: ProxyError[] = [];
  const conn = boltCodec.newServerConnection(io, {
    onRequest() {
      throw new Error("boom");
    },
    onProtocolError(e) {
      errors.push(e);
    },
  }, defaultCodecOptions);
  conn.feed(CAPTURED_REQUEST);
  assert.equal(errors.length, 1);
  assert.equal(io.closed, true);
});

Deno.test("bolt server drain with GoAway sends it and leaves closing to the listener's idle grace", async () => {
  const { io, handler, conn } = serve({ ...defaultCodecOptions, extend: { enable_bolt_goaway: true } });
  conn.feed(CAPTURED_REQUEST);
  conn.drain();
  assert.equal(toHex(io.writes[0]), "01010064010000000001ffffffff0000000000000000");
  assert.equal(io.closed, false);
  await handler.streams[0].sendResponse(responseWithId(1), true);
  assert.equal(io.writes.length, 2);
  assert.equal(io.closed, false, "a request sent before the client read the GoAway may still arrive");
  conn.feed(requestWithId(2));
  await handler.streams[1].sendResponse(responseWithId(2), true);
  assert.equal(io.writes.length, 3, "and is answered");
});

Deno.test("bolt server drain without GoAway closes once in-flight requests finish", async () => {
  const { io, handler, conn } = serve(defaultCodecOptions);
  conn.feed(CAPTURED_REQUEST);
  conn.drain();
  assert.equal(io.writes.length, 0);
  assert.equal(io.closed, false);
  await handler.streams[0].sendResponse(responseWithId(1), true);
  assert.equal(io.closed, true);
});

Deno.test("boltv2 server drain sends no GoAway (v2 has none)", () => {
  const io = new FakeConnectionIO();
  const conn = boltV2Codec.newServerConnection(io, new RecordingServerHandler(), {
    ...defaultCodecOptions,
    extend: { enable_bolt_goaway: true },
  });
  conn.drain();
  assert.equal(io.writes.length, 0);
  assert.equal(io.closed, true);
});

Deno.test("bolt codecs match on the first byte", () => {
  assert.equal(boltCodec.match(new Uint8Array()), "again");
  assert.equal(boltCodec.match(hex("01")), "match");
  assert.equal(boltCodec.match(hex("02")), "fail");
  assert.equal(boltV2Codec.match(hex("02")), "match");
  assert.equal(boltV2Codec.match(hex("4745")), "fail");
  assert.equal(boltCodec.name, "bolt");
  assert.equal(boltV2Codec.name, "boltv2");
  assert.equal(boltCodec.multiplexed, true);
});

Deno.test("bolt server refuses streams over max_concurrent_streams with THREADPOOL_BUSY", () => {
  const { io, handler, conn } = serve({ ...defaultCodecOptions, maxConcurrentStreams: 2 });
  conn.feed(concat(requestWithId(1), requestWithId(2), requestWithId(3)));
  assert.equal(handler.streams.length, 2, "only two streams reach the proxy");
  assert.equal(handler.refused, 1);
  const busy = decodeBoltFrame(io.bytes()) as BoltResponseHead;
  assert.equal(busy.requestId, 3);
  assert.equal(busy.boltStatus, STATUS_THREADPOOL_BUSY);
  assert.equal(io.closed, false, "a busy answer, not a broken connection");
  // Once one finishes there is room again.
  io.clear();
  void handler.streams[0]!.sendResponse(responseWithId(1), true);
  conn.feed(requestWithId(4));
  assert.equal(handler.streams.length, 3);
  assert.equal(handler.refused, 1);
});

Deno.test("bolt server stops reading while its client does not read its responses (congested socket)", async () => {
  const { io, handler, conn } = serve();
  io.congested = true;
  const paused = conn.feed(requestWithId(1));
  assert.ok(paused instanceof Promise, "feed returns the socket's drain while congested");
  let resumed = false;
  void paused.then(() => resumed = true);
  await Promise.resolve();
  assert.equal(resumed, false);
  io.drain();
  await paused;
  assert.equal(resumed, true);
  assert.equal(handler.streams.length, 1);
  assert.equal(conn.feed(requestWithId(2)), undefined, "no promise once drained");
});

Deno.test("bolt server passes the proxy's backpressure from onRequest back to the read loop", async () => {
  const io = new FakeConnectionIO();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const handler = Object.assign(new RecordingServerHandler(), {
    onRequest(this: RecordingServerHandler, s: import("../types.ts").ServerStream): Promise<void> {
      this.streams.push(s);
      return gate;
    },
  });
  const conn = boltCodec.newServerConnection(io, handler, defaultCodecOptions);
  const r = conn.feed(requestWithId(1));
  assert.ok(r instanceof Promise);
  let done = false;
  void r.then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false);
  release();
  await r;
  assert.equal(done, true);
});

Deno.test("bolt server reports a partial frame as an incomplete head and counts frames", () => {
  const { conn } = serve();
  assert.equal(conn.awaitingHead, false);
  conn.feed(CAPTURED_REQUEST.subarray(0, 10));
  assert.equal(conn.awaitingHead, true);
  assert.equal(conn.headsReceived, 0);
  conn.feed(CAPTURED_REQUEST.subarray(10));
  assert.equal(conn.awaitingHead, false);
  assert.equal(conn.headsReceived, 1);
});

Deno.test("bolt server abort() resets in-flight streams and closes", () => {
  const { io, handler, conn } = serve();
  conn.feed(requestWithId(1));
  conn.abort(new ProxyError("request_timeout", "downstream", "request header timeout"));
  assert.equal(io.closed, true);
  assert.equal(handler.resets.length, 1);
  assert.equal(handler.resets[0]!.kind, "request_timeout");
});

Deno.test("bolt server fails only its own connection when the shared buffer budget is exhausted", () => {
  const budget = new ByteBudget(10_000);
  const options = { ...defaultCodecOptions, bufferBudget: budget };
  const a = serve(options);
  const b = serve(options);
  // Each claims a 1 MiB frame and sends part of it.
  const huge = encodeBoltFrame(1, 1, 1, 9, 1, 0, -1, undefined, undefined, new Uint8Array(1 << 20));
  a.conn.feed(huge.subarray(0, 5000));
  b.conn.feed(huge.subarray(0, 2000));
  a.conn.feed(huge.subarray(5000, 9000)); // a needs more than the budget has left
  assert.equal(a.io.closed, true);
  assert.equal(a.handler.protocolErrors[0]!.kind, "overflow");
  assert.equal(b.io.closed, false);
  assert.equal(budget.used, 4096, "a gave its reservation back");
});
