/**
 * SETTINGS (RFC 9113 §6.5): what each side advertises, acknowledgements, and every peer setting put to
 * use — HPACK table sizes both ways, initial window changes on open streams, frame size, concurrency.
 */
import assert from "node:assert/strict";
import { errorCodeName, FrameType, MAX_WINDOW_SIZE, SettingId } from "./_frames.ts";
import {
  BodyRecorder,
  describeFrames,
  h2Options,
  rawFrame,
  requestFields,
  startClient,
  startServer,
  u32,
  type WrittenFrame,
} from "./_test_peer.ts";
import { Http1Headers } from "../http1/mod.ts";
import { Http2RequestHead } from "./head.ts";
import { ProxyError } from "../../core/mod.ts";

const ok200 = (headers: [string, string][] = []) => ({ status: 200, headers: new Http1Headers(headers) });
const bytes = (n: number) => new Uint8Array(n).fill(0x62);

function ofType(frames: WrittenFrame[], type: number): WrittenFrame[] {
  return frames.filter((f) => f.type === type);
}

function dataSizes(frames: WrittenFrame[], id: number): number[] {
  return frames.filter((f) => f.type === FrameType.DATA && f.streamId === id).map((f) => f.payload.length);
}

function goawayCode(frames: WrittenFrame[]): string | undefined {
  const g = ofType(frames, FrameType.GOAWAY)[0];
  return g === undefined ? undefined : errorCodeName(g.errorCode);
}

function get(): Http2RequestHead {
  return new Http2RequestHead(
    "GET",
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

// === What we advertise, and ACKs ===

Deno.test("SETTINGS: the server's preface advertises the configured settings, then opens the connection window", async () => {
  const options = h2Options({
    maxConcurrentStreams: 50,
    http2: {
      initialStreamWindowSize: 100_000,
      initialConnectionWindowSize: 1 << 20,
      maxFrameSize: 32768,
      hpackTableSize: 1024,
      maxHeaderListSize: 8192,
    },
  });
  const h = await startServer(options);
  const [settings, update] = h.peer.frames;
  assert.equal(settings!.type, FrameType.SETTINGS);
  assert.deepEqual(
    Object.fromEntries(settings!.settings),
    {
      [SettingId.HEADER_TABLE_SIZE]: 1024,
      [SettingId.MAX_CONCURRENT_STREAMS]: 50,
      [SettingId.INITIAL_WINDOW_SIZE]: 100_000,
      [SettingId.MAX_FRAME_SIZE]: 32768,
      [SettingId.MAX_HEADER_LIST_SIZE]: 8192,
    },
    "a server never sends ENABLE_PUSH (§6.5.2: only clients may)",
  );
  assert.equal(update!.type, FrameType.WINDOW_UPDATE);
  assert.equal(update!.streamId, 0);
  assert.equal(update!.increment, (1 << 20) - 65535);
});

Deno.test("SETTINGS: the default table size is not advertised, and maxConcurrentStreams 0 means unlimited", async () => {
  const h = await startServer(h2Options({ maxConcurrentStreams: 0 }));
  const ids = [...h.peer.frames[0]!.settings.keys()];
  assert.ok(!ids.includes(SettingId.HEADER_TABLE_SIZE), `sent ${ids}`);
  assert.ok(!ids.includes(SettingId.MAX_CONCURRENT_STREAMS), `sent ${ids}`);
});

Deno.test("SETTINGS: every SETTINGS from the peer is acknowledged once", async () => {
  const h = await startServer();
  assert.equal(describeFrames(h.peer.frames), "SETTINGS, WINDOW_UPDATE(0, +16711681), SETTINGS(ack)");
  await h.send(h.peer.out.settings({ initialWindowSize: 1000 }), h.peer.out.settings({}));
  assert.equal(describeFrames(h.peer.read()), "SETTINGS(ack), SETTINGS(ack)");
});

Deno.test("SETTINGS: unknown identifiers are ignored (§6.5.2) and still acknowledged", async () => {
  const h = await startServer();
  await h.send(rawFrame(FrameType.SETTINGS, 0, 0, [0x00, 0x99, ...u32(7), 0xfa, 0xfa, ...u32(1)]));
  assert.equal(describeFrames(h.peer.read()), "SETTINGS(ack)");
  assert.equal(h.io.closed, false);
});

// === HPACK table sizes ===

/** A request whose block adds a 600-octet field to the peer's dynamic table. */
const BIG_FIELD = ["x-big", "v".repeat(600), "incremental"] as const;

Deno.test("SETTINGS_HEADER_TABLE_SIZE: until our SETTINGS are acknowledged the peer may use the default table", async () => {
  const h = await startServer(h2Options({ http2: { hpackTableSize: 256 } }), { ack: false });
  // A 637-octet entry: larger than the 256 we announced, within the 4096 in force until the ACK.
  await h.send(h.peer.out.headers(1, requestFields("GET", "/", [BIG_FIELD]), true));
  assert.deepEqual(h.handler.protocolErrors, []);
  await h.send(
    h.peer.out.headers(3, requestFields("GET", "/", [BIG_FIELD.slice(0, 2) as [string, string]]), true),
  );
  assert.equal(h.handler.stream(3).request.headers.get("x-big")?.length, 600, "decoded from the table");
});

Deno.test("SETTINGS_HEADER_TABLE_SIZE: once acknowledged, a block that does not shrink the table is a COMPRESSION_ERROR", async () => {
  const h = await startServer(h2Options({ http2: { hpackTableSize: 256 } }), { ack: false });
  await h.send(h.peer.out.headers(1, requestFields("GET", "/", [BIG_FIELD]), true));
  await h.send(h.peer.out.settingsAck());
  // The peer's encoder ignores the new limit: its block carries no size update.
  await h.send(h.peer.out.request(3));
  assert.equal(goawayCode(h.peer.read()), "COMPRESSION_ERROR");
});

Deno.test("SETTINGS_HEADER_TABLE_SIZE: once acknowledged, a block that shrinks the table first decodes", async () => {
  const h = await startServer(h2Options({ http2: { hpackTableSize: 256 } }), { ack: false });
  await h.send(h.peer.out.headers(1, requestFields("GET", "/", [BIG_FIELD]), true));
  await h.send(h.peer.out.settingsAck());
  h.peer.out.encoder.setPeerMaxTableSize(256);
  await h.send(h.peer.out.request(3, true, [["x-small", "s", "incremental"]]));
  assert.deepEqual(h.handler.protocolErrors, []);
  assert.equal(h.handler.stream(3).request.headers.get("x-small"), "s");
});

Deno.test("SETTINGS_HEADER_TABLE_SIZE from the peer: our next block starts with the size update it needs", async () => {
  const h = await startServer(undefined, { clientSettings: { headerTableSize: 0 } });
  // The peer's decoder now allows no dynamic table: a block without the size update would not decode.
  h.peer.in.decoder.setMaxTableSize(0);
  await h.send(h.peer.out.request(1));
  await h.handler.stream(1).sendResponse(ok200([["x-custom", "a"], ["x-custom", "a"]]), true);
  await h.send();
  const [head] = h.peer.read();
  assert.deepEqual(head!.fields.slice(1).map(([n, v]) => [n, v]), [["x-custom", "a"], ["x-custom", "a"]]);
  assert.equal(h.peer.in.decoder.table.length, 0, "nothing was indexed");
});

// === Windows ===

Deno.test("SETTINGS_INITIAL_WINDOW_SIZE: a change moves open streams' send windows, even below zero (§6.9.2)", async () => {
  const h = await startServer(undefined, { clientSettings: { initialWindowSize: 100 } });
  await h.send(h.peer.out.request(1));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  void s.sendData(bytes(150), true);
  await h.send();
  assert.deepEqual(dataSizes(h.peer.read(), 1), [100]);
  // 100 used of 100; the window shrinks by 60: -60.
  await h.send(h.peer.out.settings({ initialWindowSize: 40 }));
  await h.send(h.peer.out.windowUpdate(1, 80)); // -60 + 80 = 20
  assert.deepEqual(dataSizes(h.peer.read(), 1), [20]);
  await h.send(h.peer.out.settings({ initialWindowSize: 100 })); // 0 + 60
  const last = h.peer.read();
  assert.deepEqual(dataSizes(last, 1), [30]);
  assert.ok(last.find((f) => f.type === FrameType.DATA)!.endStream);
});

Deno.test("SETTINGS_INITIAL_WINDOW_SIZE: streams opened after a change start from the new size", async () => {
  const h = await startServer();
  await h.send(h.peer.out.settings({ initialWindowSize: 10 }), h.peer.out.request(1));
  const s = h.handler.stream(1);
  void s.sendResponse(ok200(), false);
  void s.sendData(bytes(25), true);
  await h.send();
  assert.deepEqual(dataSizes(h.peer.read(), 1), [10]);
});

Deno.test("SETTINGS_INITIAL_WINDOW_SIZE: a change taking an open stream's window above 2^31-1 is a FLOW_CONTROL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  await h.send(h.peer.out.windowUpdate(1, MAX_WINDOW_SIZE - 65535)); // exactly 2^31-1
  assert.equal(h.io.closed, false);
  await h.send(h.peer.out.settings({ initialWindowSize: 65536 }));
  assert.equal(goawayCode(h.peer.read()), "FLOW_CONTROL_ERROR");
  assert.equal(h.handler.body(1).resets.length, 1);
});

// === Frame size ===

Deno.test("SETTINGS_MAX_FRAME_SIZE from the peer: DATA we send is cut at its size, not the default", async () => {
  const def = await startServer(undefined, { clientSettings: { initialWindowSize: 1 << 20 } });
  const big = await startServer(undefined, {
    clientSettings: { initialWindowSize: 1 << 20, maxFrameSize: 20000 },
  });
  for (const h of [def, big]) {
    await h.send(h.peer.out.request(1));
    const s = h.handler.stream(1);
    void s.sendResponse(ok200(), false);
    await s.sendData(bytes(40000), true);
    await h.send();
  }
  assert.deepEqual(dataSizes(def.peer.read(), 1), [16384, 16384, 7232]);
  assert.deepEqual(dataSizes(big.peer.read(), 1), [20000, 20000]);
});

Deno.test("SETTINGS_MAX_FRAME_SIZE from the peer: a field block larger than it continues in CONTINUATION frames", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  await h.handler.stream(1).sendResponse(ok200([["x-large", "x".repeat(40000)]]), true);
  await h.send();
  const [head] = h.peer.read();
  assert.equal(head!.type, FrameType.HEADERS);
  assert.equal(head!.continuations, 2, "40 KB of fields in frames of 16 KiB");
  assert.equal(head!.fields.find(([n]) => n === "x-large")![1].length, 40000);
});

// === Concurrency, client side ===

Deno.test("SETTINGS_MAX_CONCURRENT_STREAMS: the client assumes 100 until the server's SETTINGS arrive", async () => {
  const h = await startClient(undefined, { serverSettings: null });
  assert.equal(h.conn.streamCapacity, 100);
  assert.equal(h.conn.capacityKnown, false, "a pool is told the 100 is a guess");
  await h.send(h.peer.out.settings({ maxConcurrentStreams: 2 }));
  assert.equal(h.conn.streamCapacity, 2);
});

Deno.test("SETTINGS_MAX_CONCURRENT_STREAMS: streamCapacity counts open streams; newStream beyond it throws retryable", async () => {
  const h = await startClient(undefined, { serverSettings: { maxConcurrentStreams: 2 } });
  const a = h.conn.newStream(new BodyRecorder());
  assert.equal(h.conn.streamCapacity, 1, "a stream counts from newStream, before its request is sent");
  h.conn.newStream(new BodyRecorder());
  assert.equal(h.conn.streamCapacity, 0);
  assert.throws(() => h.conn.newStream(new BodyRecorder()), (e) => e instanceof ProxyError && e.retryable);
  await a.sendRequest(get(), true);
  await h.send(h.peer.out.headers(1, [[":status", "200"]], true));
  assert.equal(h.conn.streamCapacity, 1, "a finished stream frees its slot");
});

Deno.test("SETTINGS_MAX_CONCURRENT_STREAMS: the first SETTINGS (the limit becomes known) and raising it call onCapacity, lowering it does not", async () => {
  const h = await startClient(undefined, { serverSettings: { maxConcurrentStreams: 1 } });
  assert.equal(h.conn.capacityKnown, true);
  assert.equal(h.handler.capacity, 1, "the pool learns the limit with the first SETTINGS");
  h.conn.newStream(new BodyRecorder());
  assert.equal(h.conn.streamCapacity, 0);
  await h.send(h.peer.out.settings({ maxConcurrentStreams: 4 }));
  assert.equal(h.handler.capacity, 2);
  assert.equal(h.conn.streamCapacity, 3);
  await h.send(h.peer.out.settings({ maxConcurrentStreams: 2 }));
  assert.equal(h.handler.capacity, 2);
  assert.equal(h.conn.streamCapacity, 1);
});

Deno.test("SETTINGS_MAX_CONCURRENT_STREAMS: the server refuses streams beyond what it advertised", async () => {
  const h = await startServer(h2Options({ maxConcurrentStreams: 1 }));
  await h.send(h.peer.out.request(1), h.peer.out.request(3));
  const rst = ofType(h.peer.read(), FrameType.RST_STREAM);
  assert.deepEqual(rst.map((f) => [f.streamId, errorCodeName(f.errorCode)]), [[3, "REFUSED_STREAM"]]);
});
