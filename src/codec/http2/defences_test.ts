/**
 * Defences against peers that make us work without sending requests (`FLOOD_LIMITS`): PING, SETTINGS,
 * empty DATA, WINDOW_UPDATE and PRIORITY floods, rapid reset (CVE-2023-44487), CONTINUATION floods
 * (CVE-2024-27316) and HPACK bombs, the process buffer budget; and the counters each one leaves in the
 * codec's stats scope. Rates run on a FakeClock: a test decides what "within a second" means.
 */
import assert from "node:assert/strict";
import { ByteBudget, FakeClock } from "../../core/mod.ts";
import { Scope } from "../../stats/mod.ts";
import { ErrorCode, errorCodeName, FrameType } from "./_frames.ts";
import { FLOOD_LIMITS } from "./_connection.ts";
import { concat } from "../_test_io.ts";
import {
  describeFrames,
  fieldsOf,
  h2Options,
  rawFrame,
  requestFields,
  startServer,
  type WrittenFrame,
} from "./_test_peer.ts";
import type { CodecOptions } from "../types.ts";
import { Http1Headers } from "../http1/mod.ts";

function setup(overrides: Parameters<typeof h2Options>[0] = {}): {
  options: CodecOptions;
  clock: FakeClock;
  stats: Scope;
} {
  const clock = new FakeClock(1_000_000);
  const stats = new Scope("listener", { listener: "test" });
  return { options: h2Options({ clock, stats, ...overrides }), clock, stats };
}

function goaways(frames: WrittenFrame[]): string[] {
  return frames.filter((f) => f.type === FrameType.GOAWAY).map((f) => errorCodeName(f.errorCode));
}

function count(stats: Scope, name: string): number {
  return stats.snapshot().counters[name] ?? 0;
}

/** `n` copies of `frame` in one read. */
function times(n: number, frame: Uint8Array): Uint8Array {
  return concat(...Array.from({ length: n }, () => frame));
}

/** A stream opened for a body (POST, no END_STREAM). */
async function openStream(h: Awaited<ReturnType<typeof startServer>>, id: number): Promise<void> {
  await h.send(h.peer.out.request(id, false, [], "POST"));
}

function assertCalm(h: Awaited<ReturnType<typeof startServer>>, stats: Scope, what: string): void {
  const frames = h.peer.read();
  assert.deepEqual(goaways(frames), ["ENHANCE_YOUR_CALM"], `${what}: ${describeFrames(frames.slice(-3))}`);
  assert.equal(count(stats, "http2_flood_total"), 1, `${what}: counted`);
  assert.equal(h.handler.protocolErrors.length, 1, `${what}: reported`);
  assert.ok(h.io.closed, `${what}: closed`);
}

// === Rates ===

Deno.test("defences: more PINGs than FLOOD_LIMITS.pingsPerSecond within a second is a flood", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  const limit = FLOOD_LIMITS.pingsPerSecond;
  await h.send(times(limit, h.peer.out.ping()));
  const acks = h.peer.read();
  assert.equal(acks.filter((f) => f.type === FrameType.PING && f.ack).length, limit);
  assert.equal(h.io.closed, false);
  await h.send(h.peer.out.ping());
  assertCalm(h, stats, "PING");
});

Deno.test("defences: the PING allowance starts over every second", async () => {
  const { options, clock, stats } = setup();
  const h = await startServer(options);
  for (let second = 0; second < 3; second++) {
    await h.send(times(FLOOD_LIMITS.pingsPerSecond, h.peer.out.ping()));
    clock.tick(1000);
  }
  assert.equal(h.io.closed, false);
  assert.equal(count(stats, "http2_flood_total"), 0);
});

Deno.test("defences: more SETTINGS than FLOOD_LIMITS.settingsPerSecond within a second is a flood", async () => {
  const { options, clock, stats } = setup();
  const h = await startServer(options);
  clock.tick(1000); // the client's first SETTINGS counted in an earlier second
  await h.send(times(FLOOD_LIMITS.settingsPerSecond, h.peer.out.settings({})));
  assert.equal(h.peer.read().filter((f) => f.type === FrameType.SETTINGS && f.ack).length, 100);
  await h.send(h.peer.out.settings({}));
  assertCalm(h, stats, "SETTINGS");
});

Deno.test("defences: a run of empty DATA frames longer than FLOOD_LIMITS.consecutiveEmptyData is a flood", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  await openStream(h, 1);
  const empty = h.peer.out.data(1, "", false);
  const limit = FLOOD_LIMITS.consecutiveEmptyData;
  // Runs up to the limit, broken by a non-empty frame, are fine.
  await h.send(times(limit, empty), h.peer.out.data(1, "x", false), times(limit, empty));
  assert.equal(h.io.closed, false);
  assert.equal(h.handler.body(1).text, "x");
  await h.send(empty);
  assertCalm(h, stats, "empty DATA");
});

Deno.test("defences: an empty DATA frame ending the stream is not part of a flood", async () => {
  const { options } = setup();
  const h = await startServer(options);
  await openStream(h, 1);
  await h.send(
    times(FLOOD_LIMITS.consecutiveEmptyData, h.peer.out.data(1, "", false)),
    h.peer.out.data(1, "", true),
  );
  assert.equal(h.io.closed, false);
  assert.ok(h.handler.body(1).ended);
});

Deno.test("defences: stream WINDOW_UPDATEs beyond the allowance when we send nothing are a flood", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  await openStream(h, 1);
  await h.send(times(FLOOD_LIMITS.windowUpdateAllowance, h.peer.out.windowUpdate(1, 1)));
  assert.equal(h.io.closed, false);
  await h.send(h.peer.out.windowUpdate(1, 1));
  assertCalm(h, stats, "WINDOW_UPDATE");
});

Deno.test("defences: DATA we send raises the WINDOW_UPDATE allowance", async () => {
  const { options } = setup();
  const h = await startServer(options, { clientSettings: { initialWindowSize: 1 << 20 } });
  await h.send(h.peer.out.windowUpdate(0, 1 << 20), h.peer.out.request(1)); // connection updates are free
  const s = h.handler.stream(1);
  void s.sendResponse({ status: 200, headers: new Http1Headers() }, false);
  await s.sendData(new Uint8Array(10 * 16384), false); // 10 frames: 100 more updates allowed
  const allowed = FLOOD_LIMITS.windowUpdateAllowance + 10 * FLOOD_LIMITS.windowUpdatesPerDataFrame;
  await h.send(times(allowed, h.peer.out.windowUpdate(1, 1)));
  assert.equal(h.io.closed, false);
  await h.send(h.peer.out.windowUpdate(1, 1));
  assert.deepEqual(goaways(h.peer.read()), ["ENHANCE_YOUR_CALM"]);
});

Deno.test("defences: PRIORITY frames beyond FLOOD_LIMITS.priorityPerStream per stream opened are a flood", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  const allowance = FLOOD_LIMITS.priorityPerStream;
  await h.send(times(allowance, h.peer.out.priority(3, 0)));
  await openStream(h, 1); // one more stream: another allowance
  await h.send(times(allowance, h.peer.out.priority(3, 0)));
  assert.equal(h.io.closed, false);
  await h.send(h.peer.out.priority(3, 0));
  assertCalm(h, stats, "PRIORITY");
});

Deno.test("defences: rapid reset: streams opened and reset faster than FLOOD_LIMITS.resetsPerSecond end the connection", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  const pairs: Uint8Array[] = [];
  const limit = FLOOD_LIMITS.resetsPerSecond;
  for (let i = 0; i <= limit; i++) {
    const id = 1 + 2 * i;
    pairs.push(h.peer.out.request(id, false, [], "POST"), h.peer.out.rst(id, ErrorCode.CANCEL));
  }
  await h.send(...pairs.slice(0, 2 * limit));
  assert.equal(h.io.closed, false, `${limit} resets in a second are tolerated`);
  assert.equal(h.handler.streams.length, limit);
  await h.send(...pairs.slice(2 * limit));
  const frames = h.peer.read();
  assert.deepEqual(goaways(frames), ["ENHANCE_YOUR_CALM"]);
  assert.equal(count(stats, "http2_flood_total"), 1);
  assert.equal(count(stats, "http2_rst_received_total"), limit + 1);
  assert.equal(count(stats, "http2_rst_received_cancel"), limit + 1);
});

Deno.test("defences: the same resets spread over seconds are no attack", async () => {
  const { options, clock, stats } = setup();
  const h = await startServer(options);
  let id = 1;
  for (let second = 0; second < 3; second++) {
    const pairs: Uint8Array[] = [];
    for (let i = 0; i < FLOOD_LIMITS.resetsPerSecond; i++, id += 2) {
      pairs.push(h.peer.out.request(id, false, [], "POST"), h.peer.out.rst(id, ErrorCode.CANCEL));
    }
    await h.send(...pairs);
    clock.tick(1000);
  }
  assert.equal(h.io.closed, false);
  assert.equal(count(stats, "http2_flood_total"), 0);
  assert.equal(h.conn.activeStreams, 0);
});

Deno.test("defences: streams refused faster than FLOOD_LIMITS.resetsPerSecond count as rapid reset too", async () => {
  const { options, stats } = setup({ maxConcurrentStreams: 1 });
  const h = await startServer(options);
  await h.send(h.peer.out.request(1, false, [], "POST")); // holds the one slot
  const requests: Uint8Array[] = [];
  for (let i = 1; i <= FLOOD_LIMITS.resetsPerSecond + 1; i++) requests.push(h.peer.out.request(1 + 2 * i));
  await h.send(...requests);
  const frames = h.peer.read();
  assert.equal(frames.filter((f) => f.type === FrameType.RST_STREAM).length, FLOOD_LIMITS.resetsPerSecond);
  assert.deepEqual(goaways(frames), ["ENHANCE_YOUR_CALM"]);
  assert.equal(count(stats, "http2_refused_streams_total"), FLOOD_LIMITS.resetsPerSecond);
  // Every stream beyond the limit was reported, the last one too (it ended the connection instead).
  assert.equal(h.handler.refused, FLOOD_LIMITS.resetsPerSecond + 1);
});

Deno.test("defences: frames provoking RST_STREAM on closed streams faster than the reset limit are a flood", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  const limit = FLOOD_LIMITS.resetsPerSecond;
  // Opening a high id closes every lower one (§5.1.1); DATA on each is answered STREAM_CLOSED.
  const top = 1 + 2 * (limit + 1);
  await h.send(h.peer.out.request(top));
  const data: Uint8Array[] = [];
  for (let id = 1; id < top; id += 2) data.push(h.peer.out.data(id, "x", false));
  // Again on a stream we just reset: ignored (§5.1), so it provokes nothing.
  await h.send(...data.slice(0, limit), h.peer.out.data(2 * limit - 1, "again", false));
  const answered = h.peer.read();
  assert.equal(
    answered.filter((f) => f.type === FrameType.RST_STREAM).length,
    limit,
    "one RST_STREAM per stream",
  );
  assert.equal(h.io.closed, false);
  await h.send(data[limit]!);
  assert.deepEqual(goaways(h.peer.read()), ["ENHANCE_YOUR_CALM"]);
  assert.equal(count(stats, "http2_flood_total"), 1);
});

// === Field blocks ===

Deno.test("defences: a field block in more than FLOOD_LIMITS.continuationFrames frames is a flood", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  const block = h.peer.out.block(requestFields("GET", "/"));
  const n = FLOOD_LIMITS.continuationFrames;
  // HEADERS and n - 1 CONTINUATIONs (the last ending the block): allowed.
  const ok = [rawFrame(FrameType.HEADERS, 0x1, 1, block)];
  for (let i = 1; i < n; i++) ok.push(rawFrame(FrameType.CONTINUATION, i === n - 1 ? 0x4 : 0, 1));
  await h.send(...ok);
  assert.equal(h.handler.streams.length, 1);
  // One frame more, never ending: a flood, whatever the size.
  const flood = [rawFrame(FrameType.HEADERS, 0x1, 3, h.peer.out.block(requestFields("GET", "/")))];
  for (let i = 0; i < n; i++) flood.push(rawFrame(FrameType.CONTINUATION, 0, 3));
  await h.send(...flood);
  assertCalm(h, stats, "CONTINUATION frames");
});

Deno.test("defences: a field block growing past the header list limit is refused before it ends", async () => {
  const { options, stats } = setup({ http2: { maxHeaderListSize: 1000 } });
  const h = await startServer(options);
  const junk = new Uint8Array(16384).fill(0x61);
  // 1000 + 16 KiB of slack is all a block may hold; the second fragment passes it.
  await h.send(rawFrame(FrameType.HEADERS, 0x1, 1, junk));
  assert.equal(h.io.closed, false);
  await h.send(rawFrame(FrameType.CONTINUATION, 0, 1, junk.subarray(0, 2000)));
  assertCalm(h, stats, "CONTINUATION size");
});

/** The peer's dynamic table index of its entry `name` (62 is the newest). */
function indexOf(table: { length: number; name(i: number): string }, name: string): number {
  for (let i = 0; i < table.length; i++) if (table.name(i) === name) return 62 + i;
  throw new Error(`no ${name} in the table`);
}

Deno.test("defences: an HPACK bomb (one-octet references to a large entry) gets 431, the connection lives on", async () => {
  const { options, stats } = setup();
  const h = await startServer(options);
  const value = "b".repeat(4000);
  await h.send(h.peer.out.request(1, true, [["x-bomb", value, "incremental"]]));
  assert.equal(h.handler.stream(1).request.headers.get("x-bomb"), value);
  h.peer.read();
  const ref = 0x80 | indexOf(h.peer.out.encoder.table, "x-bomb");
  // 16 000 references would decode to 64 MB of fields; the limit (64 KiB) is crossed after 16.
  const bomb = new Uint8Array([
    ...h.peer.out.block(requestFields("GET", "/")),
    ...new Uint8Array(16000).fill(ref),
  ]);
  await h.send(h.peer.out.headers(3, bomb, true));
  const frames = h.peer.read();
  assert.equal(describeFrames(frames), "HEADERS(3, end), RST_STREAM(3, NO_ERROR)");
  assert.deepEqual(fieldsOf(frames[0]), [[":status", "431"]]);
  assert.equal(count(stats, "http2_header_list_overflow_total"), 1);
  assert.equal(h.handler.streams.length, 1, "the bomb never became a request");
  // The table is intact: one reference is an ordinary request.
  await h.send(
    h.peer.out.headers(5, new Uint8Array([...h.peer.out.block(requestFields("GET", "/")), ref]), true),
  );
  assert.equal(h.handler.stream(5).request.headers.get("x-bomb"), value);
  assert.equal(h.io.closed, false);
});

// === Memory ===

Deno.test("defences: a connection that would exceed the process buffer budget is closed with ENHANCE_YOUR_CALM", async () => {
  const budget = new ByteBudget(1000);
  const { options } = setup({ bufferBudget: budget });
  const h = await startServer(options);
  await openStream(h, 1);
  // A DATA frame's header promising 5000 bytes: holding them would take more than the budget.
  await h.send(rawFrame(FrameType.DATA, 0, 1, new Uint8Array(100), 5000));
  assert.deepEqual(goaways(h.peer.read()), ["ENHANCE_YOUR_CALM"]);
  assert.ok(h.io.closed);
  assert.equal(budget.used, 0, "what it held is released");
});

// === Counters ===

Deno.test("defences: streams, resets and GOAWAYs are counted in the codec's stats scope", async () => {
  const { options, stats } = setup({ maxConcurrentStreams: 2 });
  const h = await startServer(options);
  await h.send(h.peer.out.request(1), h.peer.out.request(3), h.peer.out.request(5));
  let snap = stats.snapshot();
  assert.equal(snap.counters["http2_streams_total"], 2);
  assert.equal(snap.gauges["http2_streams_active"], 2);
  assert.equal(snap.counters["http2_refused_streams_total"], 1);
  assert.equal(snap.counters["http2_rst_sent_total"], 1);
  assert.equal(snap.counters["http2_rst_sent_refused_stream"], 1);
  await h.send(h.peer.out.rst(1, ErrorCode.CANCEL));
  await h.handler.stream(3).sendResponse({ status: 200, headers: new Http1Headers() }, true);
  await h.send(h.peer.out.goaway(3, ErrorCode.NO_ERROR), h.peer.out.windowUpdate(0, 0x7fffffff));
  snap = stats.snapshot();
  assert.equal(snap.counters["http2_rst_received_total"], 1);
  assert.equal(snap.gauges["http2_streams_active"], 0);
  assert.equal(snap.counters["http2_goaway_received_total"], 1);
  assert.equal(snap.counters["http2_goaway_sent_total"], 1);
  assert.equal(snap.counters["http2_protocol_error_total"], 1);
  assert.equal(snap.counters["http2_flood_total"] ?? 0, 0);
});
