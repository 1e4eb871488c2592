/**
 * Codec bugs the h2spec conformance cases (tests/h2spec_test.ts) found, each shown on an in-memory
 * server connection: frames in through `feed()`, frames out as the connection wrote them. The test names
 * say which h2spec case caught the bug.
 */
import assert from "node:assert/strict";
import { FakeClock } from "../../core/mod.ts";
import type { CodecOptions, ConnectionIO, ServerStream } from "../types.ts";
import { DEFAULT_HTTP2_OPTIONS } from "../types.ts";
import { Http2ServerConnection, REQUEST_LINGER_MS } from "./server.ts";
import { Http2ResponseHead } from "./head.ts";
import {
  dataFrame,
  decodeGoaway,
  decodeRstStream,
  encodeHeaderBlock,
  ErrorCode,
  type Frame,
  FrameType,
  headersFrame,
  parseFrames,
  PREFACE,
  requestBlock,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../../../tests/_peers/h2_raw.ts";

/** An IO that keeps what the connection writes. */
class MemoryIO implements ConnectionIO {
  closed = false;
  readonly remoteAddress = "127.0.0.1:1";
  #out: Uint8Array[] = [];
  write(data: Uint8Array): Promise<void> {
    this.#out.push(data.slice());
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
  /** The frames written since the last call. */
  take(): Frame[] {
    let total = 0;
    for (const c of this.#out) total += c.length;
    const all = new Uint8Array(total);
    let off = 0;
    for (const c of this.#out) {
      all.set(c, off);
      off += c.length;
    }
    this.#out = [];
    const { frames, rest } = parseFrames(all);
    assert.equal(rest.length, 0, "a frame was written in part");
    return frames;
  }
}

const OPTIONS: CodecOptions = {
  maxHeaderBytes: 64 * 1024,
  maxFrameBytes: 16 * 1024 * 1024,
  extend: {},
  maxConcurrentStreams: 100,
  http2: { ...DEFAULT_HTTP2_OPTIONS, initialConnectionWindowSize: 65535, initialStreamWindowSize: 65535 },
};

/** A server connection past the preface and SETTINGS exchange; `streams` are the requests it handed over. */
function connect(clientSettings: [number, number][] = [], clock?: FakeClock) {
  const io = new MemoryIO();
  const streams: ServerStream[] = [];
  const conn = new Http2ServerConnection(io, {
    onRequest: (s) => void streams.push(s),
    onProtocolError: () => {},
  }, clock === undefined ? OPTIONS : { ...OPTIONS, clock });
  const feed = (...frames: Uint8Array[]) => {
    for (const f of frames) conn.feed(f);
  };
  feed(PREFACE, settingsFrame(clientSettings), settingsFrame([], { ack: true }));
  return { io, conn, streams, feed };
}

/** Every microtask queued so far has run (the connection flushes its output in one). */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** "type/flags/stream/length", and the error code of RST_STREAM and GOAWAY ("7/0/0 5": no length). */
function describe(frames: Frame[]): string[] {
  return frames.map((f) => {
    if (f.type === FrameType.GOAWAY) return `${f.type}/${f.flags}/${f.streamId} ${decodeGoaway(f).code}`;
    const code = f.type === FrameType.RST_STREAM ? ` ${decodeRstStream(f)}` : "";
    return `${f.type}/${f.flags}/${f.streamId}/${f.payload.length}${code}`;
  });
}

const GET = requestBlock({ authority: "h2spec.test" });

Deno.test("Http2ServerConnection sends the part of a DATA frame the window allows at once, not at the next write (http2/6.9.1/1)", async () => {
  const { io, streams, feed } = connect([[Setting.INITIAL_WINDOW_SIZE, 1]]);
  feed(headersFrame(1, GET, { endStream: true }));
  await turn();
  const s = streams[0]!;
  void s.sendResponse(new Http2ResponseHead(200), false);
  await turn();
  io.take(); // SETTINGS, ACK, HEADERS
  // The body comes in a later turn, as a proxied one does: one octet fits the window.
  void s.sendData(new TextEncoder().encode("hello"), true);
  await turn();
  const out = io.take();
  assert.deepEqual(describe(out), [`${FrameType.DATA}/0/1/1`]);
});

Deno.test("Http2ServerConnection answers HEADERS on a closed stream with STREAM_CLOSED, on a skipped id with PROTOCOL_ERROR (http2/5.1/6, 5.1/9, 5.1/12)", async () => {
  // Reset by the client: a stream error, the connection goes on.
  {
    const { io, conn, streams, feed } = connect();
    // The late block adds "x-a: 1" to the HPACK table (a literal with incremental indexing, new name).
    const indexing = Uint8Array.of(...GET, 0x40, 3, 0x78, 0x2d, 0x61, 1, 0x31);
    feed(
      headersFrame(1, GET),
      rstStreamFrame(1, ErrorCode.CANCEL),
      headersFrame(1, indexing, { endStream: true }),
    );
    await turn();
    const out = io.take().filter((f) => f.type === FrameType.RST_STREAM || f.type === FrameType.GOAWAY);
    assert.deepEqual(describe(out), [`${FrameType.RST_STREAM}/0/1/4 ${ErrorCode.STREAM_CLOSED}`]);
    assert.equal(io.closed, false);
    // It was decoded: the next request's reference to it (dynamic index 62) resolves.
    feed(headersFrame(3, Uint8Array.of(...GET, 0x80 | 62), { endStream: true }));
    assert.equal(conn.activeStreams, 1);
    assert.equal(streams[1]?.request.headers.get("x-a"), "1");
  }
  // Ended both ways: a connection error STREAM_CLOSED.
  {
    const { io, streams, feed } = connect();
    feed(headersFrame(1, GET, { endStream: true }));
    void streams[0]!.sendResponse(new Http2ResponseHead(204), true);
    await turn();
    io.take();
    feed(headersFrame(1, GET, { endStream: true }));
    await turn();
    assert.deepEqual(describe(io.take()), [`${FrameType.GOAWAY}/0/0 ${ErrorCode.STREAM_CLOSED}`]);
    assert.equal(io.closed, true);
  }
  // Never opened (skipped when 5 was opened): §5.1.1, a connection error PROTOCOL_ERROR.
  {
    const { io, feed } = connect();
    feed(headersFrame(5, GET, { endStream: true }), headersFrame(3, GET, { endStream: true }));
    await turn();
    const goaway = io.take().find((f) => f.type === FrameType.GOAWAY)!;
    assert.equal(decodeGoaway(goaway).code, ErrorCode.PROTOCOL_ERROR);
  }
});

// === a response complete before its request (RFC 9113 §8.1) ===

/**
 * A POST on stream 1 (`content-length` when given) answered at once with a complete 200, as a
 * direct_response is; `early` is what the connection reset or closed meanwhile (nothing, it must be).
 */
async function answeredEarly(contentLength?: number, clock?: FakeClock) {
  const c = connect([], clock);
  const fields: [string, string][] = [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "h2spec.test"],
  ];
  if (contentLength !== undefined) fields.push(["content-length", String(contentLength)]);
  c.feed(headersFrame(1, encodeHeaderBlock(fields)));
  const s = c.streams[0]!;
  const delivered: string[] = [];
  s.setBodyReceiver({
    onData: (chunk, end) => void delivered.push(`data ${chunk.length}${end ? " end" : ""}`),
    onTrailers: () => void delivered.push("trailers"),
    onReset: (e) => void delivered.push(`reset ${e.message}`),
  });
  void s.sendResponse(new Http2ResponseHead(200), false);
  void s.sendData(new TextEncoder().encode("early"), true);
  await turn();
  assert.deepEqual(resets(c.io), [], "the stream was reset as soon as the response was complete");
  return { ...c, delivered };
}

/** Only the RST_STREAM and GOAWAY frames written since the last look. */
function resets(io: MemoryIO): string[] {
  return describe(io.take().filter((f) => f.type === FrameType.RST_STREAM || f.type === FrameType.GOAWAY));
}

const RST = FrameType.RST_STREAM;

Deno.test("Http2ServerConnection still checks a request answered before it ended: content-length, trailers, windows (http2/8.1.2.6, 8.1, 8.1.2.1/3, 6.9/2, 6.9.1/3)", async () => {
  const cases: [string, Uint8Array[], number, number?][] = [
    ["DATA beyond content-length", [dataFrame(1, "test", { endStream: true })], ErrorCode.PROTOCOL_ERROR, 1],
    [
      "DATA short of content-length",
      [dataFrame(1, "test", { endStream: true })],
      ErrorCode.PROTOCOL_ERROR,
      5,
    ],
    [
      "a second HEADERS without END_STREAM",
      [headersFrame(1, encodeHeaderBlock([["x-test", "ok"]]))],
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "a pseudo-header field in trailers",
      [headersFrame(1, encodeHeaderBlock([[":method", "POST"]]), { endStream: true })],
      ErrorCode.PROTOCOL_ERROR,
    ],
    ["a WINDOW_UPDATE of 0", [windowUpdateFrame(1, 0)], ErrorCode.PROTOCOL_ERROR],
    [
      "a stream window above 2^31-1",
      [windowUpdateFrame(1, 0x7fffffff), windowUpdateFrame(1, 0x7fffffff)],
      ErrorCode.FLOW_CONTROL_ERROR,
    ],
  ];
  for (const [what, frames, code, contentLength] of cases) {
    const { io, feed, delivered } = await answeredEarly(contentLength);
    feed(...frames);
    await turn();
    assert.deepEqual(resets(io), [`${RST}/0/1/4 ${code}`], what);
    assert.deepEqual(delivered, [], `${what}: the consumer, done with the stream, heard of it`);
  }
});

Deno.test("Http2ServerConnection closes a request answered early without a reset when it ends soon, its body dropped", async () => {
  const { io, conn, feed, delivered } = await answeredEarly(8);
  feed(dataFrame(1, "test"), dataFrame(1, "test", { endStream: true }));
  await turn();
  assert.deepEqual(describe(io.take()), [], "nothing to say: the request just ended");
  assert.equal(conn.activeStreams, 0);
  assert.deepEqual(delivered, []);
});

Deno.test("Http2ServerConnection tells a request answered early to stop (RST_STREAM NO_ERROR) after REQUEST_LINGER_MS", async () => {
  const clock = new FakeClock();
  const { io, conn, feed } = await answeredEarly(undefined, clock);
  feed(dataFrame(1, "test"));
  clock.tick(REQUEST_LINGER_MS - 1);
  await turn();
  assert.deepEqual(resets(io), []);
  assert.equal(conn.activeStreams, 1);
  clock.tick(1);
  await turn();
  assert.deepEqual(resets(io), [`${RST}/0/1/4 ${ErrorCode.NO_ERROR}`]);
  assert.equal(conn.activeStreams, 0);
  // Its late frames are ignored, as after any reset of ours (§5.1).
  feed(dataFrame(1, "late", { endStream: true }));
  await turn();
  assert.deepEqual(resets(io), []);
});

Deno.test("Http2ServerConnection tells a request answered early to stop as soon as its window is spent (no credit for dropped DATA)", async () => {
  const clock = new FakeClock();
  const { io, conn, feed } = await answeredEarly(undefined, clock);
  const window = OPTIONS.http2.initialStreamWindowSize;
  const chunk = new Uint8Array(16384);
  for (let sent = 0; sent < window; sent += chunk.length) {
    feed(dataFrame(1, chunk.subarray(0, Math.min(chunk.length, window - sent))));
  }
  await turn();
  const out = io.take();
  assert.deepEqual(
    describe(out.filter((f) => f.type !== FrameType.WINDOW_UPDATE || f.streamId !== 0)),
    [`${RST}/0/1/4 ${ErrorCode.NO_ERROR}`],
    "no WINDOW_UPDATE for the stream, and the reset at once",
  );
  assert.equal(conn.activeStreams, 0);
  assert.equal(clock.runAll(), 0, "no linger timer left behind");
});
