import assert from "node:assert/strict";
import { FakeClock, ProxyError } from "../../core/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { SimpleHeaderMap } from "../header_map.ts";
import { type ClientConnection, type CodecOptions, defaultCodecOptions } from "../types.ts";
import type { DubboClientConnection } from "./client.ts";
import { dubboCodec } from "./codec.ts";
import { decodeDubboRequest, DubboRequestHead, DubboResponseHead } from "./frame.ts";
import { Hessian2Reader } from "./hessian2.ts";
import {
  call,
  CAPTURED_REPLY,
  concat,
  FLAG_ONEWAY,
  frame,
  heartbeat,
  heartbeatReply,
  HELLO,
  hex,
  RecordingClientHandler,
  RecordingReceiver,
  reply,
  toHex,
} from "./_test_io.ts";

function dial(options: Partial<CodecOptions> = {}, io = new FakeConnectionIO()) {
  const handler = new RecordingClientHandler();
  const stats = new StatsRegistry().scope("codec", { cluster: "c" });
  const conn = dubboCodec.newClientConnection(io, handler, {
    ...defaultCodecOptions,
    clock: new FakeClock(),
    stats,
    ...options,
  }) as DubboClientConnection;
  const counter = (name: string) => stats.counter(name).value;
  return { io, handler, conn, counter };
}

/** A call as the downstream side decoded it, from a client that used `id`. */
function head(id: bigint | number = 0xaaaa_bbbb_cccc_ddddn, flag = 0xc2): DubboRequestHead {
  const h = decodeDubboRequest(call(id, HELLO, flag), 65536);
  assert.ok(h instanceof DubboRequestHead);
  return h;
}

function dubboStatus(r: RecordingReceiver, i = 0): number {
  const h = r.responses[i];
  assert.ok(h instanceof DubboResponseHead);
  return h.dubboStatus;
}

Deno.test("dubbo client allocates u32 ids and writes them as u64 with a zero high word", async () => {
  const { io, conn } = dial();
  const r = new RecordingReceiver();
  const a = conn.newStream(r);
  const b = conn.newStream(r);
  assert.deepEqual([a.id, b.id], [1, 2]);
  await b.sendRequest(head(), true);
  // The frame is the call as received with only the id replaced.
  assert.equal(toHex(io.writes[0]!), toHex(call(2)));
  assert.equal(conn.activeStreams, 2);
});

Deno.test("dubbo client matches responses to streams by id, in any order", async () => {
  const { conn } = dial();
  const ra = new RecordingReceiver();
  const rb = new RecordingReceiver();
  const a = conn.newStream(ra);
  const b = conn.newStream(rb);
  await a.sendRequest(head(), true);
  await b.sendRequest(head(), true);
  conn.feed(concat(reply(b.id, 70), reply(a.id)));
  assert.equal(dubboStatus(ra), 20);
  assert.equal(ra.responses[0]!.status, 200);
  assert.equal(dubboStatus(rb), 70);
  assert.equal(rb.responses[0]!.status, 500);
  assert.equal(conn.activeStreams, 0);
});

Deno.test("dubbo client decodes a response split at every point", async () => {
  for (let i = 1; i < CAPTURED_REPLY.length; i++) {
    const { conn } = dial();
    const r = new RecordingReceiver();
    await conn.newStream(r).sendRequest(head(), true);
    conn.feed(CAPTURED_REPLY.slice(0, i));
    assert.equal(r.responses.length, 0, `split ${i}`);
    conn.feed(CAPTURED_REPLY.slice(i));
    assert.equal(r.responses.length, 1, `split ${i}`);
    assert.deepEqual((r.responses[0] as DubboResponseHead).frame, CAPTURED_REPLY);
  }
});

Deno.test("dubbo client counts and drops responses for no request in flight", async () => {
  const { conn, counter } = dial();
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  await s.sendRequest(head(), true);
  s.reset(new ProxyError("timeout", "upstream", "timed out"));
  conn.feed(reply(s.id)); // late, after the reset
  conn.feed(reply(99)); // never allocated
  conn.feed(reply((1n << 32n) | 1n)); // a high word this side never writes
  assert.equal(r.responses.length, 0);
  assert.equal(conn.unknownResponses, 3);
  assert.equal(counter("dubbo_unknown_response_total"), 3);
  assert.equal(conn.reusable, true);
});

Deno.test("dubbo client answers a provider's heartbeat with its 64-bit id, and a oneway one not at all", () => {
  const { io, conn } = dial();
  conn.feed(heartbeat(0x0102030405060708n));
  conn.feed(heartbeat(5, 0xa2));
  assert.deepEqual(io.writes.map(toHex), [toHex(heartbeatReply(0x0102030405060708n))]);
  assert.equal(conn.reusable, true);
});

Deno.test("dubbo client consumes event responses without touching a stream of the same id", async () => {
  const { conn } = dial();
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  await s.sendRequest(head(), true);
  conn.feed(heartbeatReply(s.id));
  assert.equal(r.responses.length, 0);
  assert.equal(conn.activeStreams, 1);
  assert.equal(conn.ignoredFrames, 1);
});

Deno.test("dubbo client stops new calls on a provider's readonly event; those in flight finish", async () => {
  const { handler, conn, counter } = dial();
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  await s.sendRequest(head(), true);
  conn.feed(frame(0xa2, 0, 77, hex("0152")));
  assert.equal(conn.reusable, false);
  assert.equal(conn.streamCapacity, 0);
  assert.equal(handler.unusable.length, 1);
  assert.equal(handler.unusable[0]!.retryable, true);
  assert.equal(counter("dubbo_readonly_event_total"), 1);
  assert.throws(
    () => conn.newStream(new RecordingReceiver()),
    (e: unknown) => e instanceof ProxyError && e.retryable,
  );
  conn.feed(reply(s.id));
  assert.equal(r.responses.length, 1);
});

Deno.test("dubbo client answers a call from its provider SERVICE_NOT_FOUND (no callbacks)", () => {
  const { io, conn } = dial();
  conn.feed(call(0x10n));
  conn.feed(call(0x11n, HELLO, FLAG_ONEWAY));
  assert.equal(io.writes.length, 1);
  const w = io.writes[0]!;
  assert.equal(toHex(w.subarray(0, 12)), "dabb023c0000000000000010");
  assert.match(new Hessian2Reader(w, 16, w.length).readString(), /^404\|/);
  assert.equal(conn.reusable, true);
});

Deno.test("dubbo client ends a oneway call once it is written, with a synthetic success", async () => {
  const io = new FakeConnectionIO({ manual: true });
  const { conn } = dial({}, io);
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  const sent = s.sendRequest(head(1, FLAG_ONEWAY), true);
  assert.equal(r.responses.length, 0, "not before the write");
  io.settleWrites();
  await sent;
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0]!.status, 200);
  assert.equal(conn.activeStreams, 0);
});

Deno.test("dubbo client refuses a request from another protocol without writing it", async () => {
  const { io, conn } = dial();
  const r = new RecordingReceiver();
  await conn.newStream(r).sendRequest({
    protocol: "Http1",
    kind: "http",
    method: "GET",
    path: "/",
    query: "",
    host: "h",
    headers: new SimpleHeaderMap(),
  }, true);
  await Promise.resolve();
  assert.equal(io.writes.length, 0);
  assert.equal(r.resets.length, 1);
  assert.equal(r.resets[0]!.retryable, false);
  assert.match(r.resets[0]!.message, /cannot send a Http1 request to a dubbo upstream/);
  assert.equal(conn.activeStreams, 0);
});

Deno.test("dubbo client marks a request retryable only when none of its bytes left this host", () => {
  const io = new FakeConnectionIO({ manual: true });
  const { conn } = dial({}, io);
  const sent = new RecordingReceiver();
  const queued = new RecordingReceiver();
  const unwritten = new RecordingReceiver();
  void conn.newStream(sent).sendRequest(head(), true);
  io.settleWrites(); // the first call's bytes reached the kernel
  void conn.newStream(queued).sendRequest(head(), true); // handed to the socket, still queued
  conn.newStream(unwritten); // opened, never written
  conn.onEof();
  assert.equal(sent.resets[0]!.retryable, false, "may have run on the provider");
  assert.equal(queued.resets[0]!.retryable, true, "dropped by close(): provably unsent");
  assert.equal(unwritten.resets[0]!.retryable, true);
  for (const r of [sent, queued, unwritten]) assert.equal(r.resets[0]!.kind, "upstream_reset");
  assert.equal(conn.reusable, false);
  assert.equal(io.closed, true);
});

Deno.test("dubbo client on a closed connection fails a send retryably, asynchronously", async () => {
  const { conn } = dial();
  const r = new RecordingReceiver();
  const s = conn.newStream(r);
  conn.onEof();
  r.resets.length = 0;
  await s.sendRequest(head(), true);
  await Promise.resolve();
  assert.equal(r.resets.length, 1);
  assert.equal(r.resets[0]!.retryable, true);
  assert.throws(() => conn.newStream(r), ProxyError);
});

for (
  const [name, bytes, message] of [
    ["a wrong magic", hex("dabc02140000"), /not a dubbo frame/],
    [
      "a frame over the limit",
      frame(0x02, 20, 1, new Uint8Array(0)).fill(0x7f, 12, 13),
      /larger than the configured limit/,
    ],
  ] as const
) {
  Deno.test(`dubbo client fails the connection, counted, on ${name}`, async () => {
    const { io, handler, conn, counter } = dial({ maxFrameBytes: 1 << 20 });
    const r = new RecordingReceiver();
    await conn.newStream(r).sendRequest(head(), true);
    conn.feed(bytes);
    assert.equal(r.resets.length, 1);
    assert.equal(r.resets[0]!.source, "upstream");
    assert.equal(r.resets[0]!.retryable, false, "the call was written");
    assert.match(handler.unusable[0]!.message, message);
    assert.equal(handler.unusable[0]!.kind, "upstream_protocol_error");
    assert.equal(counter("dubbo_protocol_error_total"), 1);
    assert.equal(io.closed, true);
  });
}

Deno.test("dubbo client counts a response cut by EOF as a protocol error", async () => {
  const { conn, counter } = dial();
  const r = new RecordingReceiver();
  await conn.newStream(r).sendRequest(head(), true);
  conn.feed(CAPTURED_REPLY.subarray(0, 20));
  conn.onEof();
  assert.match(r.resets[0]!.message, /mid-frame/);
  assert.equal(counter("dubbo_protocol_error_total"), 1);
});

Deno.test("dubbo client has no stream limit of its own and sends no heartbeats (as MOSN)", () => {
  const { conn } = dial();
  assert.equal(conn.streamCapacity, Infinity);
  assert.equal((conn as ClientConnection).heartbeat, undefined);
});
