import assert from "node:assert/strict";
import { FakeClock, ProxyError } from "../../core/mod.ts";
import { defaultCodecOptions } from "../types.ts";
import type { RequestHead } from "../types.ts";
import { KvHeaderMap } from "../xprotocol/mod.ts";
import {
  CAPTURED_REQUEST,
  CAPTURED_RESPONSE,
  concat,
  hex,
  RecordingClientHandler,
  RecordingReceiver,
  toHex,
} from "./_test_io.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { boltCodec, boltV2Codec } from "./codec.ts";
import type { BoltClientConnection } from "./client.ts";
import {
  type BoltRequestHead,
  type BoltResponseHead,
  decodeBoltFrame,
  encodeBoltFrame,
  encodeGoAway,
  encodeHeartbeatResponse,
} from "./frame.ts";

function dial(codec = boltCodec, extend: Record<string, unknown> = {}) {
  const io = new FakeConnectionIO();
  const handler = new RecordingClientHandler();
  const clock = new FakeClock();
  const conn = codec.newClientConnection(io, handler, {
    ...defaultCodecOptions,
    extend,
    clock,
  }) as BoltClientConnection;
  return { io, handler, conn, clock };
}

function request(): BoltRequestHead {
  return decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
}

function response(id: number, status = 0): Uint8Array {
  const f = CAPTURED_RESPONSE.slice();
  new DataView(f.buffer).setUint32(5, id);
  new DataView(f.buffer).setUint16(10, status);
  return f;
}

Deno.test("bolt client allocates ids and sends the raw frame with the id patched", async () => {
  const { io, conn } = dial();
  const r = new RecordingReceiver();
  const a = conn.newStream(r);
  const b = conn.newStream(r);
  assert.deepEqual([a.id, b.id], [1, 2]);
  await b.sendRequest(request(), true);
  const expected = CAPTURED_REQUEST.slice();
  expected[8] = 2;
  assert.equal(toHex(io.writes[0]), toHex(expected));
  assert.equal(conn.activeStreams, 2);
});

Deno.test("bolt client matches out-of-order responses by id", async () => {
  const { conn } = dial();
  const receivers = [new RecordingReceiver(), new RecordingReceiver(), new RecordingReceiver()];
  const streams = receivers.map((r) => conn.newStream(r));
  for (const s of streams) await s.sendRequest(request(), true);
  conn.feed(concat(response(3), response(1, 4)));
  conn.feed(response(2, 7));
  const statuses = receivers.map((r) => (r.responses[0] as BoltResponseHead).boltStatus);
  assert.deepEqual(statuses, [4, 7, 0]);
  assert.deepEqual(receivers.map((r) => r.responses[0].status), [503, 504, 200]);
  assert.equal(conn.activeStreams, 0);
  // The downstream side patches the id back onto the raw frame.
  const head = receivers[2].responses[0] as BoltResponseHead;
  assert.equal(toHex(head.encode(1)), toHex(CAPTURED_RESPONSE));
});

Deno.test("bolt client counts and drops responses for unknown ids", () => {
  const { conn } = dial();
  const r = new RecordingReceiver();
  conn.newStream(r);
  conn.feed(response(99));
  assert.equal(conn.unknownResponses, 1);
  assert.equal(r.responses.length, 0);
  assert.equal(conn.reusable, true);
});

Deno.test("bolt client reset() forgets the id; a late response is unknown", async () => {
  const { conn } = dial();
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  await s.sendRequest(request(), true);
  s.reset(new ProxyError("timeout", "upstream", "t"));
  conn.feed(response(s.id));
  assert.equal(r.responses.length, 0);
  assert.equal(conn.unknownResponses, 1);
});

Deno.test("bolt client EOF resets every pending stream, not retryable", async () => {
  const { io, conn, handler } = dial();
  const rs = [new RecordingReceiver(), new RecordingReceiver()];
  for (const r of rs) await conn.newStream(r).sendRequest(request(), true);
  conn.onEof();
  for (const r of rs) {
    assert.equal(r.resets.length, 1);
    assert.equal(r.resets[0].kind, "upstream_reset");
    assert.equal(r.resets[0].retryable, false);
  }
  assert.equal(conn.reusable, false);
  assert.equal(handler.unusable.length, 1);
  assert.equal(io.closed, true);
  assert.throws(() => conn.newStream(new RecordingReceiver()), (e) => e instanceof ProxyError && e.retryable);
});

Deno.test("bolt client EOF marks retryable exactly the streams whose bytes never left", () => {
  const io = new FakeConnectionIO({ manual: true });
  const conn = boltCodec.newClientConnection(io, new RecordingClientHandler(), defaultCodecOptions);
  const sent = new RecordingReceiver();
  void conn.newStream(sent).sendRequest(request(), true);
  io.settleWrites(); // the kernel took the first request: the server may be executing it
  const queued = new RecordingReceiver();
  void conn.newStream(queued).sendRequest(request(), true); // still in our queue when the peer dies
  const unsent = new RecordingReceiver();
  conn.newStream(unsent); // never written at all
  conn.onEof();
  assert.equal(sent.resets[0]!.retryable, false);
  assert.equal(queued.resets[0]!.retryable, true);
  assert.equal(unsent.resets[0]!.retryable, true);
});

Deno.test("bolt client responses are not awaited: one slow consumer cannot stall the connection", () => {
  const { conn } = dial();
  const slow: RecordingReceiver & { onResponse(): Promise<void> } = Object.assign(new RecordingReceiver(), {
    onResponse(): Promise<void> {
      return new Promise<void>(() => {}); // a downstream that never drains
    },
  });
  const fast = new RecordingReceiver();
  const a = conn.newStream(slow);
  const b = conn.newStream(fast);
  void a.sendRequest(request(), true);
  void b.sendRequest(request(), true);
  assert.equal(conn.feed(concat(response(a.id), response(b.id))), undefined);
  assert.equal(fast.responses.length, 1);
});

Deno.test("bolt client garbage from upstream resets streams and closes", async () => {
  const { io, conn, handler } = dial();
  const r = new RecordingReceiver();
  await conn.newStream(r).sendRequest(request(), true);
  conn.feed(hex("0909090909"));
  assert.equal(r.resets[0].kind, "upstream_reset");
  assert.equal(handler.unusable[0].kind, "upstream_protocol_error");
  assert.equal(io.closed, true);
});

Deno.test("bolt client GoAway makes the connection unusable but keeps pending streams", async () => {
  const { conn, handler } = dial();
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  await s.sendRequest(request(), true);
  conn.feed(encodeGoAway(0));
  assert.equal(conn.reusable, false);
  assert.equal(handler.unusable.length, 1);
  conn.feed(response(s.id));
  assert.equal(r.responses.length, 1);
});

Deno.test("bolt client heartbeat() sends a heartbeat and takes its answer", () => {
  for (
    const [codec, hb] of [[boltCodec, "01010000010000000101ffffffff0000000000000000"], [
      boltV2Codec,
      "020101000001000000010100ffffffff0000000000000000",
    ]] as const
  ) {
    const { io, conn } = dial(codec);
    const r = new RecordingReceiver();
    const s = conn.heartbeat(r)!;
    assert.equal(toHex(io.writes[0]), hb);
    conn.feed(encodeHeartbeatResponse(codec === boltCodec ? 1 : 2, s.id));
    assert.equal(r.responses.length, 1);
    assert.equal(r.responses[0].status, 200);
    assert.equal(conn.activeStreams, 0);
  }
});

Deno.test("bolt client heartbeat times out after heartbeat_timeout_ms when unanswered", () => {
  const { conn, clock } = dial(boltCodec, { heartbeat_timeout_ms: 10 });
  const r = new RecordingReceiver();
  conn.heartbeat(r);
  clock.tick(9);
  assert.equal(r.resets.length, 0);
  assert.equal(conn.activeStreams, 1);
  clock.tick(1);
  assert.equal(r.resets.length, 1);
  assert.equal(r.resets[0].kind, "timeout");
  assert.equal(conn.activeStreams, 0);
});

Deno.test("bolt client heartbeat waits 3 s for its answer by default", () => {
  const { conn, clock } = dial();
  const r = new RecordingReceiver();
  conn.heartbeat(r);
  clock.tick(2999);
  assert.equal(r.resets.length, 0);
  clock.tick(1);
  assert.equal(r.resets.length, 1);
});

Deno.test("bolt client heartbeat answered in time is not timed out later", () => {
  const { conn, clock } = dial(boltCodec, { heartbeat_timeout_ms: 10 });
  const r = new RecordingReceiver();
  const s = conn.heartbeat(r)!;
  clock.tick(9);
  conn.feed(encodeHeartbeatResponse(1, s.id));
  assert.equal(clock.pending, 0, "the answer stops the deadline timer");
  clock.tick(60_000);
  assert.equal(r.responses.length, 1);
  assert.equal(r.resets.length, 0);
});

Deno.test("bolt client closing clears a pending heartbeat timer", () => {
  const { conn, clock } = dial(boltCodec, { heartbeat_timeout_ms: 60_000 });
  const r = new RecordingReceiver();
  conn.heartbeat(r);
  assert.equal(clock.pending, 1);
  conn.onEof();
  assert.equal(clock.pending, 0);
  assert.equal(r.resets.length, 1);
  assert.equal(r.resets[0].kind, "upstream_reset");
  clock.tick(60_000);
  assert.equal(r.resets.length, 1, "no timeout after the close");
});

Deno.test("bolt client oneway request ends once written", async () => {
  const { io, conn } = dial();
  const r = new RecordingReceiver();
  const head = request();
  head.frame[1] = 2;
  const oneway = decodeBoltFrame(head.frame) as BoltRequestHead;
  await conn.newStream(r).sendRequest(oneway, true);
  assert.equal(io.writes.length, 1);
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0].status, 200);
  assert.equal(conn.activeStreams, 0);
});

Deno.test("bolt client answers an upstream heartbeat", () => {
  const { io, conn } = dial();
  conn.feed(encodeBoltFrame(1, 1, 0, 33, 1, 0, -1, undefined, undefined, undefined));
  assert.equal(toHex(io.writes[0]), "0100000001000000210100000000000000000000");
});

Deno.test("boltv2 client encodes a non-bolt request head as a v2 frame", async () => {
  const { io, conn } = dial(boltV2Codec);
  const head: RequestHead = {
    protocol: "Http1",
    kind: "http",
    method: "GET",
    path: "/",
    query: "",
    host: "a",
    headers: new KvHeaderMap(["service"], ["svc"]),
    frameTimeoutMs: 500,
  };
  await conn.newStream(new RecordingReceiver()).sendRequest(head, true);
  const out = decodeBoltFrame(io.writes[0]) as BoltRequestHead;
  assert.equal(out.version, 2);
  assert.equal(out.requestId, 1);
  assert.equal(out.timeout, 500);
  assert.equal(out.headers.get("service"), "svc");
});

Deno.test("bolt client decodes responses split across reads", () => {
  const { conn } = dial();
  const r = new RecordingReceiver();
  conn.newStream(r);
  const f = response(1);
  for (let i = 0; i < f.length; i += 5) conn.feed(f.subarray(i, i + 5));
  assert.equal(r.responses.length, 1);
  assert.equal(toHex((r.responses[0] as BoltResponseHead).frame), toHex(f));
});
