import assert from "node:assert/strict";
import { ByteBudget, ProxyError } from "../../core/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { SimpleHeaderMap } from "../header_map.ts";
import { type CodecOptions, defaultCodecOptions, type ServerStream } from "../types.ts";
import { dubboCodec } from "./codec.ts";
import { DubboRequestHead, DubboResponseHead } from "./frame.ts";
import { Hessian2Reader } from "./hessian2.ts";
import type { DubboServerConnection } from "./server.ts";
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
  RecordingServerHandler,
  reply,
  toHex,
} from "./_test_io.ts";

function serve(options: Partial<CodecOptions> = {}) {
  const io = new FakeConnectionIO();
  const handler = new RecordingServerHandler();
  const stats = new StatsRegistry().scope("codec", { listener: "l" });
  const conn = dubboCodec.newServerConnection(io, handler, {
    ...defaultCodecOptions,
    stats,
    ...options,
  }) as DubboServerConnection;
  const counter = (name: string) => stats.counter(name).value;
  return { io, handler, conn, counter };
}

function request(s: ServerStream): DubboRequestHead {
  assert.ok(s.request instanceof DubboRequestHead);
  return s.request;
}

/** The status byte and the hessian2 string body of a status reply. */
function statusReply(bytes: Uint8Array): { id: string; status: number; message: string } {
  assert.equal(bytes[2], 0x02, "flag: response, hessian2");
  return {
    id: toHex(bytes.subarray(4, 12)),
    status: bytes[3]!,
    message: new Hessian2Reader(bytes, 16, bytes.length).readString(),
  };
}

Deno.test("dubbo server decodes a call into a stream with MOSN's headers", () => {
  const { io, handler, conn } = serve();
  conn.feed(call(1));
  assert.equal(handler.streams.length, 1);
  const s = handler.streams[0]!;
  const head = request(s);
  assert.equal(s.id, 1);
  assert.equal(s.headOnly, true);
  assert.equal(head.protocol, "dubbo");
  assert.equal(head.kind, "rpc");
  assert.equal(head.method, "sayHello");
  assert.equal(head.path, "");
  assert.equal(head.host, "");
  assert.equal(head.deadlineMs, 3000);
  for (
    const [k, v] of [["service", "com.demo.HelloService"], ["version", "1.0.0"], ["group", "blue"], [
      "method",
      "sayHello",
    ], ["dubbo", "2.0.2"]]
  ) {
    assert.equal(head.headers.get(k!), v, k);
  }
  assert.equal(conn.activeStreams, 1);
  assert.equal(io.closed, false);
});

Deno.test("dubbo server copies each frame out of the reused read buffer", () => {
  const { handler, conn } = serve();
  const buf = call(1);
  conn.feed(buf);
  buf.fill(0);
  const head = request(handler.streams[0]!);
  assert.deepEqual(head.frame, call(1));
  assert.equal(head.headers.get("service"), "com.demo.HelloService");
});

Deno.test("dubbo server sends the upstream's response raw with the client's 64-bit id written back", async () => {
  const { io, handler, conn } = serve();
  conn.feed(call(0xfedcba9876543210n));
  const s = handler.streams[0]!;
  assert.equal(s.id, 0xfedcba9876543210 /* as a Number: the low bits are lost, only logs see it */);
  // The upstream side patched its own id into the frame; the response comes back with that id.
  request(s).encode(7);
  await s.sendResponse(new DubboResponseHead(reply(7)), true);
  assert.equal(toHex(io.writes[0]!), toHex(reply(0xfedcba9876543210n)));
  assert.equal(conn.activeStreams, 0);
});

Deno.test("dubbo server decodes a call split at every point and frames fed byte by byte", () => {
  const whole = call(1);
  for (let i = 1; i < whole.length; i++) {
    const { handler, conn } = serve();
    conn.feed(whole.slice(0, i));
    assert.equal(handler.streams.length, 0, `split ${i}`);
    conn.feed(whole.slice(i));
    assert.equal(handler.streams.length, 1, `split ${i}`);
    assert.deepEqual(request(handler.streams[0]!).frame, whole);
  }
  const { handler, conn, io } = serve();
  const three = concat(call(1), heartbeat(9), call(2));
  for (let i = 0; i < three.length; i++) conn.feed(three.subarray(i, i + 1));
  assert.deepEqual(handler.streams.map((s) => s.id), [1, 2]);
  assert.equal(handler.heartbeats, 1);
  assert.equal(io.writes.length, 1);
});

Deno.test("dubbo server decodes many frames in one feed", () => {
  const { handler, conn } = serve();
  const frames = [];
  for (let id = 1; id <= 50; id++) frames.push(call(id));
  conn.feed(concat(...frames));
  assert.deepEqual(handler.streams.map((s) => s.id), Array.from({ length: 50 }, (_, i) => i + 1));
});

Deno.test("dubbo server answers a heartbeat itself with the exact frame and its 64-bit id", () => {
  const { io, handler, conn } = serve();
  conn.feed(heartbeat(0));
  conn.feed(heartbeat(0x0102030405060708n));
  assert.equal(handler.streams.length, 0, "never forwarded");
  assert.equal(handler.heartbeats, 2);
  assert.deepEqual(io.writes.map(toHex), [
    toHex(heartbeatReply(0)),
    toHex(heartbeatReply(0x0102030405060708n)),
  ]);
  assert.equal(toHex(io.writes[0]!), "dabb22140000000000000000000000014e");
});

Deno.test("dubbo server sends nothing for an event without the two-way flag, nor for a client's readonly event", () => {
  const { io, handler, conn } = serve();
  conn.feed(heartbeat(3, 0xa2));
  assert.equal(handler.heartbeats, 1);
  conn.feed(frame(0xa2, 0, 4, hex("0152")));
  assert.equal(handler.heartbeats, 1);
  assert.equal(conn.ignoredFrames, 1);
  assert.equal(io.writes.length, 0);
  assert.equal(io.closed, false);
});

Deno.test("dubbo server ignores response frames from its client", () => {
  const { io, handler, conn } = serve();
  conn.feed(CAPTURED_REPLY);
  conn.feed(heartbeatReply(5));
  assert.equal(handler.streams.length, 0);
  assert.equal(conn.ignoredFrames, 2);
  assert.equal(io.closed, false);
});

Deno.test("dubbo server forwards a oneway call and sends nothing back, whatever the answer", async () => {
  const { io, handler, conn } = serve();
  conn.feed(concat(call(1, HELLO, FLAG_ONEWAY), call(2, HELLO, FLAG_ONEWAY)));
  const [a, b] = handler.streams;
  assert.equal(request(a!).oneway, true);
  await a!.sendResponse(new DubboResponseHead(reply(1)), true);
  await b!.sendLocalReply(new ProxyError("no_route", "downstream", "no route"));
  assert.equal(io.writes.length, 0);
  assert.equal(conn.activeStreams, 0);
});

Deno.test('dubbo server local replies: MOSN\'s status per code and a hessian2 "<code>|<message>" body', async () => {
  const cases: [ProxyError, number, string][] = [
    [new ProxyError("no_route", "downstream", "no route matched"), 60, "404|no route matched"],
    [new ProxyError("no_healthy_upstream", "upstream", "no healthy host"), 60, "502|no healthy host"],
    [new ProxyError("overflow", "upstream", "circuit breaker"), 40, "503|circuit breaker"],
    [
      new ProxyError("timeout", "upstream", "upstream request timed out"),
      30,
      "504|upstream request timed out",
    ],
    [new ProxyError("forbidden", "downstream", "denied"), 80, "403|denied"],
    [new ProxyError("rate_limited", "downstream", "slow down"), 40, "509|slow down"],
    [new ProxyError("internal", "internal", "bug"), 70, "500|bug"],
  ];
  for (const [error, status, message] of cases) {
    const { io, handler, conn } = serve();
    conn.feed(call(0x1_0000_0002n));
    await handler.streams[0]!.sendLocalReply(error);
    assert.deepEqual(statusReply(io.writes[0]!), { id: "0000000100000002", status, message }, error.kind);
  }
  const { io, handler, conn } = serve();
  conn.feed(call(1));
  await handler.streams[0]!.sendLocalReply(new ProxyError("no_route", "downstream", "x"), "custom body");
  assert.equal(statusReply(io.writes[0]!).message, "404|custom body");
});

Deno.test("dubbo server answers a head from another protocol: 2xx a null value, else a status reply", async () => {
  const { io, handler, conn } = serve();
  conn.feed(concat(call(1), call(2)));
  await handler.streams[0]!.sendResponse({ status: 200, headers: new SimpleHeaderMap() }, true);
  await handler.streams[1]!.sendResponse(
    { status: 504, reason: "late", headers: new SimpleHeaderMap() },
    true,
  );
  assert.equal(toHex(io.writes[0]!), "dabb021400000000000000010000000192");
  assert.deepEqual(statusReply(io.writes[1]!), { id: "0000000000000002", status: 30, message: "504|late" });
});

Deno.test("dubbo server refuses calls over max_concurrent_streams with THREADPOOL_EXHAUSTED (100)", async () => {
  const { io, handler, conn } = serve({ maxConcurrentStreams: 2 });
  conn.feed(concat(call(1), call(2), call(3), call(4, HELLO, FLAG_ONEWAY)));
  assert.equal(handler.streams.length, 2);
  assert.equal(handler.refused, 2);
  assert.equal(io.writes.length, 1, "the oneway call is refused silently");
  const refusal = statusReply(io.writes[0]!);
  assert.equal(refusal.id, "0000000000000003");
  assert.equal(refusal.status, 100);
  assert.match(refusal.message, /^503\|.*max_concurrent_streams/);
  await handler.streams[0]!.sendResponse(new DubboResponseHead(reply(1)), true);
  conn.feed(call(5));
  assert.equal(handler.streams.length, 3, "room again once a call finished");
  assert.equal(io.closed, false);
});

const BAD_INPUTS: {
  name: string;
  bytes: Uint8Array;
  message: RegExp;
  decodeError?: boolean;
  replyStatus?: number;
}[] = [
  { name: "a wrong magic", bytes: hex("dabc c2 00"), message: /not a dubbo frame/ },
  {
    name: "foreign bytes",
    bytes: new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"),
    message: /not a dubbo frame/,
  },
  {
    name: "a body length over the limit (before the body arrives)",
    bytes: frame(0xc2, 0, 1, new Uint8Array(0)).fill(0x7f, 12, 13),
    message: /larger than the configured limit/,
  },
  {
    name: "a serialization other than hessian2",
    bytes: frame(0xc6, 0, 1, new Uint8Array(3)),
    message: /serialization 6 is not supported/,
    decodeError: true,
    replyStatus: 40,
  },
  {
    name: "a truncated hessian2 body",
    bytes: (() => {
      const f = call(1);
      return frame(0xc2, 0, 1, f.subarray(16, f.length - 3));
    })(),
    message: /malformed dubbo request body: .*truncated/,
    decodeError: true,
    replyStatus: 40,
  },
  {
    name: "a reserved hessian2 tag",
    bytes: frame(0xc2, 0, 1, hex("05322e302e32 40")),
    message: /malformed dubbo request body: the service path is not a string/,
    decodeError: true,
    replyStatus: 40,
  },
  {
    name: "an argument count that does not match",
    bytes: call(1, { ...HELLO, argTypes: "Ljava/lang/String;Ljava/lang/String;" }),
    message: /attachments are missing after 2 arguments/,
    decodeError: true,
    replyStatus: 40,
  },
  {
    name: "a malformed oneway call (no reply)",
    bytes: call(1, { ...HELLO, argTypes: "" }, FLAG_ONEWAY),
    message: /expected the attachments map/,
    decodeError: true,
  },
];

for (const bad of BAD_INPUTS) {
  Deno.test(`dubbo server closes only its connection, counted, on ${bad.name}`, async () => {
    const { io, handler, conn, counter } = serve({ maxFrameBytes: 1 << 20 });
    const other = serve();
    conn.feed(call(100)); // in flight: reset by the close
    other.conn.feed(call(100));
    conn.feed(bad.bytes);
    assert.equal(handler.protocolErrors.length, 1);
    const err = handler.protocolErrors[0]!;
    assert.equal(err.kind, "downstream_protocol_error");
    assert.equal(err.source, "downstream");
    assert.match(err.message, bad.message);
    assert.equal(counter("dubbo_protocol_error_total"), 1);
    assert.equal(counter("dubbo_decode_error_total"), bad.decodeError ? 1 : 0);
    assert.equal(handler.resets.length, 1, "the call in flight is reset");
    await Promise.resolve();
    assert.equal(io.closed, true);
    if (bad.replyStatus === undefined) assert.equal(io.writes.length, 0, "nothing written");
    else {
      // A whole frame whose body cannot be read is answered for its id before the close, as a provider would.
      assert.equal(io.writes.length, 1);
      const r = statusReply(io.writes[0]!);
      assert.equal(r.status, bad.replyStatus);
      assert.equal(r.id, "0000000000000001");
      assert.match(r.message, /^400\|/);
    }
    assert.equal(conn.activeStreams, 0);
    // Later bytes are ignored; the other connection is untouched.
    conn.feed(call(2));
    assert.equal(handler.streams.length, 1);
    assert.equal(io.writesAfterClose, 0);
    assert.equal(other.io.closed, false);
    assert.equal(other.conn.activeStreams, 1);
  });
}

Deno.test("dubbo server writes the BAD_REQUEST reply before it closes (close() drops queued output)", async () => {
  const io = new FakeConnectionIO({ manual: true });
  const handler = new RecordingServerHandler();
  const conn = dubboCodec.newServerConnection(io, handler, defaultCodecOptions);
  conn.feed(frame(0xc6, 0, 1, new Uint8Array(3)));
  assert.equal(io.writes.length, 1);
  assert.equal(io.closed, false, "not before the reply is written");
  io.settleWrites();
  await Promise.resolve();
  assert.equal(io.closed, true);
});

Deno.test("dubbo server reports a frame cut by EOF as truncated", () => {
  const { io, handler, conn, counter } = serve();
  conn.feed(call(1).subarray(0, 20));
  assert.equal(conn.awaitingHead, true);
  conn.onEof();
  assert.equal(handler.protocolErrors.length, 1);
  assert.match(handler.protocolErrors[0]!.message, /truncated dubbo frame at end of stream/);
  assert.equal(counter("dubbo_protocol_error_total"), 1);
  assert.equal(io.closed, true);
});

Deno.test("dubbo server EOF between frames resets in-flight calls without a protocol error", () => {
  const { io, handler, conn } = serve();
  conn.feed(call(1));
  conn.onEof();
  assert.equal(handler.protocolErrors.length, 0);
  assert.equal(handler.resets.length, 1);
  assert.equal(handler.resets[0]!.kind, "downstream_reset");
  assert.equal(io.closed, true);
});

Deno.test("dubbo server never throws out of feed when a handler throws", () => {
  const io = new FakeConnectionIO();
  const handler = Object.assign(new RecordingServerHandler(), {
    onRequest(): void {
      throw new Error("boom");
    },
  });
  const conn = dubboCodec.newServerConnection(io, handler, defaultCodecOptions);
  conn.feed(call(1));
  assert.equal(io.closed, true);
  assert.equal(handler.protocolErrors[0]!.kind, "internal");
});

Deno.test("dubbo server drain closes once in-flight calls finish, or at once when idle", async () => {
  const busy = serve();
  busy.conn.feed(call(1));
  busy.conn.drain();
  assert.equal(busy.io.closed, false);
  await busy.handler.streams[0]!.sendResponse(new DubboResponseHead(reply(1)), true);
  assert.equal(busy.io.writes.length, 1, "the response went out first");
  assert.equal(busy.io.closed, true);
  const idle = serve();
  idle.conn.drain();
  assert.equal(idle.io.closed, true);
});

Deno.test("dubbo server stops reading while its client does not read its responses (congested socket)", async () => {
  const { io, handler, conn } = serve();
  io.congested = true;
  const paused = conn.feed(call(1));
  assert.ok(paused instanceof Promise, "feed returns the socket's drain while congested");
  let resumed = false;
  void paused.then(() => resumed = true);
  await Promise.resolve();
  assert.equal(resumed, false);
  io.drain();
  await paused;
  assert.equal(resumed, true);
  assert.equal(handler.streams.length, 1);
});

Deno.test("dubbo server passes the proxy's backpressure from onRequest back to the read loop", async () => {
  const io = new FakeConnectionIO();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const handler = Object.assign(new RecordingServerHandler(), {
    onRequest(this: RecordingServerHandler, s: ServerStream): Promise<void> {
      this.streams.push(s);
      return gate;
    },
  });
  const conn = dubboCodec.newServerConnection(io, handler, defaultCodecOptions);
  const r = conn.feed(call(1));
  assert.ok(r instanceof Promise);
  let done = false;
  void r.then(() => done = true);
  await Promise.resolve();
  assert.equal(done, false);
  release();
  await r;
  assert.equal(done, true);
});

Deno.test("dubbo server reports a partial frame as an incomplete head and counts frames", () => {
  const { conn } = serve();
  assert.equal(conn.awaitingHead, false);
  conn.feed(call(1).subarray(0, 10));
  assert.equal(conn.awaitingHead, true);
  assert.equal(conn.headsReceived, 0);
  conn.feed(call(1).subarray(10));
  assert.equal(conn.awaitingHead, false);
  assert.equal(conn.headsReceived, 1);
});

Deno.test("dubbo server abort() resets in-flight calls and closes", () => {
  const { io, handler, conn } = serve();
  conn.feed(call(1));
  conn.abort(new ProxyError("request_timeout", "downstream", "request header timeout"));
  assert.equal(io.closed, true);
  assert.equal(handler.resets[0]!.kind, "request_timeout");
});

Deno.test("dubbo server reset() forgets one stream: the client gets nothing for it", () => {
  const { io, handler, conn } = serve();
  conn.feed(concat(call(1), call(2)));
  handler.streams[0]!.reset(new ProxyError("upstream_reset", "upstream", "gone"));
  assert.equal(conn.activeStreams, 1);
  assert.equal(io.writes.length, 0);
  assert.equal(io.closed, false);
});

Deno.test("dubbo server keeps count of calls ended in any order; an abort resets the rest in arrival order", async () => {
  const { handler, conn } = serve();
  conn.feed(concat(call(1), call(2), call(3), call(4)));
  assert.equal(conn.activeStreams, 4);
  const [first, second, third, fourth] = handler.streams;
  await second!.sendResponse(new DubboResponseHead(reply(1)), true); // from the middle
  fourth!.reset(new ProxyError("upstream_reset", "upstream", "gone")); // the newest
  await second!.sendResponse(new DubboResponseHead(reply(1)), true); // twice: counted once
  assert.equal(conn.activeStreams, 2);
  const order: number[] = [];
  for (const [n, s] of [[1, first], [3, third]] as const) {
    s!.setBodyReceiver({ onData() {}, onTrailers() {}, onReset: () => void order.push(n) });
  }
  conn.abort(new ProxyError("downstream_reset", "downstream", "gone"));
  assert.deepEqual(order, [1, 3]);
  assert.equal(conn.activeStreams, 0);
});

Deno.test("dubbo server fails only its own connection when the shared buffer budget is exhausted", () => {
  const budget = new ByteBudget(10_000);
  const a = serve({ bufferBudget: budget });
  const b = serve({ bufferBudget: budget });
  const huge = call(9, { ...HELLO, args: (w) => w.string("x".repeat(1 << 20)) });
  a.conn.feed(huge.subarray(0, 5000));
  b.conn.feed(huge.subarray(0, 2000));
  a.conn.feed(huge.subarray(5000, 9000));
  assert.equal(a.io.closed, true);
  assert.equal(a.handler.protocolErrors[0]!.kind, "overflow");
  assert.equal(a.counter("dubbo_protocol_error_total"), 0, "the listener counts budget exhaustion itself");
  assert.equal(b.io.closed, false);
  assert.equal(budget.used, 4096, "a gave its reservation back");
});

Deno.test("dubbo codec matches on the magic: again with one 0xda byte, fail on anything else", () => {
  assert.equal(dubboCodec.match(new Uint8Array(0)), "again");
  assert.equal(dubboCodec.match(hex("da")), "again");
  assert.equal(dubboCodec.match(hex("dabb")), "match");
  assert.equal(dubboCodec.match(call(1)), "match");
  assert.equal(dubboCodec.match(hex("daba")), "fail");
  assert.equal(dubboCodec.match(hex("01")), "fail");
  assert.equal(dubboCodec.match(hex("dabc0000")), "fail");
});
