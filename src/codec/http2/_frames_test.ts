import assert from "node:assert/strict";
import { ByteBudget } from "../../core/mod.ts";
import { FrameReader, type FrameSink } from "../xprotocol/mod.ts";
import {
  applySettings,
  CLIENT_PREFACE,
  DATA_COPY_LIMIT,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_SETTINGS,
  ErrorCode,
  errorCodeName,
  Flag,
  type Frame,
  FRAME_ERRORS,
  FRAME_HEADER_LENGTH,
  FrameError,
  frameLength,
  type FrameLimits,
  type FrameOutput,
  FrameType,
  frameTypeName,
  FrameWriter,
  matchClientPreface,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW_SIZE,
  ParsedFrame,
  parseFrame,
  SETTING_RANGES,
  SettingId,
  type Settings,
} from "./_frames.ts";

const LIMITS: FrameLimits = { maxFrameSize: DEFAULT_MAX_FRAME_SIZE };

/** A frame built by hand, independent of FrameWriter: header fields as given, payload bytes as given. */
function raw(type: number, flags: number, streamId: number, payload: ArrayLike<number> = []): Uint8Array {
  const n = payload.length;
  const b = new Uint8Array(9 + n);
  b[0] = n >>> 16;
  b[1] = (n >>> 8) & 0xff;
  b[2] = n & 0xff;
  b[3] = type;
  b[4] = flags;
  new DataView(b.buffer).setUint32(5, streamId >>> 0);
  b.set(payload, 9);
  return b;
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function setting(id: number, value: number): number[] {
  return [id >> 8, id & 0xff, ...u32(value)];
}

function parse(bytes: Uint8Array, limits: FrameLimits = LIMITS): Frame | FrameError {
  return parseFrame(bytes, 0, bytes.length, limits);
}

function ok(bytes: Uint8Array, limits: FrameLimits = LIMITS): Frame {
  const r = parse(bytes, limits);
  if (r instanceof FrameError) assert.fail(`unexpected ${r}`);
  return r;
}

function content(f: Frame & { start: number; end: number }): number[] {
  return [...f.buf.subarray(f.start, f.end)];
}

/** Asserts the error's code and scope, and that it is the one named in FRAME_ERRORS. */
function fails(
  bytes: Uint8Array,
  code: number,
  scope: "connection" | "stream",
  limits: FrameLimits = LIMITS,
): FrameError {
  const r = parse(bytes, limits);
  if (!(r instanceof FrameError)) {
    return assert.fail(`expected ${errorCodeName(code)}, got ${frameTypeName(r.wireType)}`);
  }
  assert.equal(errorCodeName(r.code), errorCodeName(code), r.message);
  assert.equal(r.scope, scope, r.message);
  assert.ok(Object.values(FRAME_ERRORS).includes(r), "a preallocated error");
  assert.match(r.message, /^Cannot /);
  return r;
}

/** Records each write by reference and a copy of its bytes at write time. */
class Recorder implements FrameOutput {
  chunks: Uint8Array[] = [];
  copies: Uint8Array[] = [];
  write(data: Uint8Array): Promise<void> {
    this.chunks.push(data);
    this.copies.push(data.slice());
    return Promise.resolve();
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.copies.reduce((n, c) => n + c.length, 0));
    let p = 0;
    for (const c of this.copies) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}

/** Splits bytes into frames with frameLength and parses each (as the connection will). */
function parseAll(bytes: Uint8Array, limits: FrameLimits = LIMITS): Frame[] {
  const frames: Frame[] = [];
  let off = 0;
  while (off < bytes.length) {
    const len = frameLength(bytes, off, bytes.length);
    assert.ok(len > 0 && off + len <= bytes.length, "whole frames only");
    const r = parseFrame(bytes, off, off + len, limits); // a fresh record each, to keep them all
    if (r instanceof FrameError) assert.fail(`unexpected ${r}`);
    frames.push(r);
    off += len;
  }
  return frames;
}

function written(fn: (w: FrameWriter) => void, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Frame[] {
  const out = new Recorder();
  const w = new FrameWriter(out);
  w.maxFrameSize = maxFrameSize;
  fn(w);
  void w.flush();
  return parseAll(out.bytes(), { maxFrameSize });
}

function bytesOf(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

// === Constants ===

Deno.test("FrameType, Flag, ErrorCode, SETTING_RANGES and CLIENT_PREFACE match RFC 9113 §3.4, §4–§7", () => {
  assert.equal(new TextDecoder().decode(CLIENT_PREFACE), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  assert.equal(CLIENT_PREFACE.length, 24);
  assert.equal(FRAME_HEADER_LENGTH, 9);
  assert.equal(DEFAULT_MAX_FRAME_SIZE, 2 ** 14);
  assert.equal(MAX_FRAME_SIZE_LIMIT, 2 ** 24 - 1);
  assert.equal(MAX_WINDOW_SIZE, 2 ** 31 - 1);
  assert.deepEqual(
    [FrameType.DATA, FrameType.HEADERS, FrameType.PRIORITY, FrameType.RST_STREAM, FrameType.SETTINGS],
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    [
      FrameType.PUSH_PROMISE,
      FrameType.PING,
      FrameType.GOAWAY,
      FrameType.WINDOW_UPDATE,
      FrameType.CONTINUATION,
    ],
    [5, 6, 7, 8, 9],
  );
  assert.deepEqual([Flag.END_STREAM, Flag.ACK, Flag.END_HEADERS, Flag.PADDED, Flag.PRIORITY], [
    1,
    1,
    4,
    8,
    0x20,
  ]);
  assert.equal(ErrorCode.HTTP_1_1_REQUIRED, 0xd);
  assert.equal(errorCodeName(ErrorCode.ENHANCE_YOUR_CALM), "ENHANCE_YOUR_CALM");
  assert.equal(errorCodeName(0), "NO_ERROR");
  assert.equal(errorCodeName(0x1f), "0x1f");
  assert.equal(frameTypeName(FrameType.WINDOW_UPDATE), "WINDOW_UPDATE");
  assert.equal(frameTypeName(0xa), "UNKNOWN(0xa)");
  assert.deepEqual(DEFAULT_SETTINGS, {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: Infinity,
    initialWindowSize: 65535,
    maxFrameSize: 16384,
    maxHeaderListSize: Infinity,
  });
  assert.deepEqual(SETTING_RANGES[SettingId.MAX_FRAME_SIZE], [16384, 16777215]);
  assert.deepEqual(SETTING_RANGES[SettingId.INITIAL_WINDOW_SIZE], [0, 2147483647]);
  assert.deepEqual(SETTING_RANGES[SettingId.ENABLE_PUSH], [0, 1]);
});

// === frameLength() ===

Deno.test("frameLength() needs the 9 header bytes, then is 9 + the 24-bit length (§4.1)", () => {
  const f = raw(FrameType.DATA, 0, 1, bytesOf(300));
  for (let n = 0; n < 9; n++) assert.equal(frameLength(f, 0, n), 0, `${n} bytes`);
  for (let n = 9; n <= f.length; n++) assert.equal(frameLength(f, 0, n), 309);
  const shifted = new Uint8Array([7, 7, ...f]);
  assert.equal(frameLength(shifted, 2, 10), 0);
  assert.equal(frameLength(shifted, 2, 11), 309);
  const max = new Uint8Array([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]);
  assert.equal(frameLength(max, 0, 9), 9 + MAX_FRAME_SIZE_LIMIT);
});

Deno.test("frameLength() drives FrameReader: frames split at every point arrive whole", () => {
  const out = new Recorder();
  const w = new FrameWriter(out);
  w.settings({ initialWindowSize: 1 << 20 });
  w.headers(1, bytesOf(40), false);
  void w.data(1, bytesOf(100), true);
  w.ping(false, bytesOf(8));
  void w.flush();
  const stream = out.bytes();
  for (let i = 0; i <= stream.length; i++) {
    const frames: Uint8Array[] = [];
    const sink: FrameSink = {
      frameLength,
      onFrame: (f) => void frames.push(f),
      onFrameError: (code) => assert.fail(`error ${code}`),
    };
    const r = new FrameReader(
      sink,
      FRAME_HEADER_LENGTH,
      FRAME_HEADER_LENGTH + LIMITS.maxFrameSize,
      new ByteBudget(1e6),
    );
    r.push(stream.subarray(0, i));
    r.push(stream.subarray(i));
    const types = frames.map((f) => (ok(f) as Frame).type);
    assert.deepEqual(
      types,
      [FrameType.SETTINGS, FrameType.HEADERS, FrameType.DATA, FrameType.PING],
      `split ${i}`,
    );
  }
});

// === matchClientPreface() ===

Deno.test("matchClientPreface() says again for every proper prefix, match for all 24 bytes (§3.4)", () => {
  for (let n = 0; n < 24; n++) assert.equal(matchClientPreface(CLIENT_PREFACE, 0, n), "again", `${n} bytes`);
  assert.equal(matchClientPreface(CLIENT_PREFACE, 0, 24), "match");
  const followed = new Uint8Array([...CLIENT_PREFACE, ...raw(FrameType.SETTINGS, 0, 0)]);
  assert.equal(matchClientPreface(followed, 0, followed.length), "match");
  const shifted = new Uint8Array([1, 2, ...CLIENT_PREFACE]);
  assert.equal(matchClientPreface(shifted, 2, 10), "again");
  assert.equal(matchClientPreface(shifted, 2, shifted.length), "match");
});

Deno.test("matchClientPreface() fails at the first differing byte, at any position (§3.4)", () => {
  for (let i = 0; i < 24; i++) {
    const bad = CLIENT_PREFACE.slice();
    bad[i] ^= 0x20;
    assert.equal(matchClientPreface(bad, 0, 24), "fail", `byte ${i}`);
    assert.equal(matchClientPreface(bad, 0, i + 1), "fail", `prefix ending at byte ${i}`);
  }
  const http1 = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(matchClientPreface(http1, 0, http1.length), "fail");
  assert.equal(matchClientPreface(http1, 0, 1), "fail");
  const pri = new TextEncoder().encode("PRI * HTTP/1.1\r\n");
  assert.equal(matchClientPreface(pri, 0, pri.length), "fail");
  const settingsFirst = raw(FrameType.SETTINGS, 0, 0); // a server preface is not a client one
  assert.equal(matchClientPreface(settingsFirst, 0, settingsFirst.length), "fail");
});

// === Round trips: FrameWriter → parseFrame ===

Deno.test("FrameWriter.data() round trips DATA with and without END_STREAM and padding (§6.1)", () => {
  const [a, b, c, d] = written((w) => {
    void w.data(1, bytesOf(5), false);
    void w.data(3, bytesOf(7), true);
    void w.data(5, bytesOf(10), true, 4);
    void w.data(7, new Uint8Array(0), true);
  });
  assert.ok(a.type === FrameType.DATA && b.type === FrameType.DATA && c.type === FrameType.DATA);
  assert.equal(d.type, FrameType.DATA);
  assert.deepEqual([a.streamId, a.endStream, a.length, a.padLength, content(a)], [1, false, 5, 0, [
    ...bytesOf(5),
  ]]);
  assert.deepEqual([b.streamId, b.endStream, content(b)], [3, true, [...bytesOf(7)]]);
  assert.equal(c.flags, Flag.END_STREAM | Flag.PADDED);
  assert.deepEqual([c.length, c.padLength, content(c)], [15, 4, [...bytesOf(10)]]);
  assert.deepEqual([...c.buf.subarray(c.end, c.end + 4)], [0, 0, 0, 0], "padding is zeros");
  assert.ok(d.type === FrameType.DATA);
  assert.deepEqual([d.length, d.endStream, content(d)], [0, true, []]);
});

Deno.test("FrameWriter.headers() round trips HEADERS with END_STREAM, END_HEADERS and padding (§6.2)", () => {
  const [a, b, c] = written((w) => {
    w.headers(1, bytesOf(20), true);
    w.headers(3, bytesOf(3), false);
    w.headers(5, bytesOf(9), false, 7);
  });
  assert.ok(a.type === FrameType.HEADERS && b.type === FrameType.HEADERS && c.type === FrameType.HEADERS);
  assert.deepEqual([a.streamId, a.flags, content(a)], [1, Flag.END_STREAM | Flag.END_HEADERS, [
    ...bytesOf(20),
  ]]);
  assert.deepEqual([b.endStream, b.endHeaders, b.hasPriority], [false, true, false]);
  assert.deepEqual([b.dependency, b.weight, b.exclusive], [0, 16, false], "RFC 7540 defaults");
  assert.deepEqual([c.flags, c.length, c.padLength, content(c)], [Flag.END_HEADERS | Flag.PADDED, 17, 7, [
    ...bytesOf(9),
  ]]);
});

Deno.test("parseFrame() reads HEADERS priority fields, with and without padding (§6.2, parsed and ignored)", () => {
  const fragment = [0x82, 0x86];
  const prio = [...u32(0x80000003), 255];
  const a = ok(raw(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 5, [...prio, ...fragment]));
  assert.ok(a.type === FrameType.HEADERS);
  assert.deepEqual([a.hasPriority, a.exclusive, a.dependency, a.weight, content(a)], [
    true,
    true,
    3,
    256,
    fragment,
  ]);
  const b = ok(raw(FrameType.HEADERS, Flag.PRIORITY | Flag.PADDED, 5, [2, ...u32(7), 0, ...fragment, 0, 0]));
  assert.ok(b.type === FrameType.HEADERS);
  assert.deepEqual([b.exclusive, b.dependency, b.weight, b.padLength, content(b)], [
    false,
    7,
    1,
    2,
    fragment,
  ]);
  // A stream depending on itself is no longer an error in RFC 9113 (§5.3.2 deprecates the scheme).
  const self = ok(raw(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 5, [...u32(5), 15]));
  assert.ok(self.type === FrameType.HEADERS && self.dependency === 5 && content(self).length === 0);
});

Deno.test("FrameWriter.priority() round trips PRIORITY (§6.3)", () => {
  const [a, b] = written((w) => {
    w.priority(3, 1, 256, true);
    w.priority(5, 0, 1, false);
  });
  assert.ok(a.type === FrameType.PRIORITY && b.type === FrameType.PRIORITY);
  assert.deepEqual([a.streamId, a.dependency, a.weight, a.exclusive, a.length], [3, 1, 256, true, 5]);
  assert.deepEqual([b.dependency, b.weight, b.exclusive], [0, 1, false]);
});

Deno.test("FrameWriter.rstStream() round trips RST_STREAM, unknown codes included (§6.4, §7)", () => {
  const [a, b] = written((w) => {
    w.rstStream(1, ErrorCode.CANCEL);
    w.rstStream(0x7fffffff, 0xdeadbeef);
  });
  assert.ok(a.type === FrameType.RST_STREAM && b.type === FrameType.RST_STREAM);
  assert.deepEqual([a.streamId, a.errorCode], [1, ErrorCode.CANCEL]);
  assert.deepEqual([b.streamId, b.errorCode], [0x7fffffff, 0xdeadbeef]);
});

Deno.test("FrameWriter.settings() round trips every setting; applySettings() applies them (§6.5)", () => {
  const values: Settings = {
    headerTableSize: 0,
    enablePush: false,
    maxConcurrentStreams: 100,
    initialWindowSize: MAX_WINDOW_SIZE,
    maxFrameSize: MAX_FRAME_SIZE_LIMIT,
    maxHeaderListSize: 0xffffffff,
  };
  const [all, some, none, ack] = written((w) => {
    w.settings(values);
    w.settings({ initialWindowSize: 0 });
    w.settings();
    w.settingsAck();
  });
  assert.ok(all.type === FrameType.SETTINGS && some.type === FrameType.SETTINGS);
  assert.ok(none.type === FrameType.SETTINGS && ack.type === FrameType.SETTINGS);
  assert.deepEqual([all.streamId, all.ack, all.length, all.settingsCount], [0, false, 36, 6]);
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => all.settingId(i)),
    [1, 2, 3, 4, 5, 6],
    "identifier order",
  );
  const s = { ...DEFAULT_SETTINGS };
  applySettings(s, all);
  assert.deepEqual(s, values);
  applySettings(s, some);
  assert.equal(s.initialWindowSize, 0);
  assert.deepEqual([none.length, none.ack], [0, false]);
  assert.deepEqual([ack.length, ack.ack, ack.flags], [0, true, Flag.ACK]);
});

Deno.test("applySettings() lets the last value of an id win and ignores unknown ids (§6.5.2, §6.5.3)", () => {
  const f = ok(raw(FrameType.SETTINGS, 0, 0, [
    ...setting(SettingId.MAX_CONCURRENT_STREAMS, 10),
    ...setting(0x0, 5), // reserved identifier
    ...setting(0x8, 1), // SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441): unknown here
    ...setting(0xffff, 0xffffffff),
    ...setting(SettingId.MAX_CONCURRENT_STREAMS, 20),
    ...setting(SettingId.ENABLE_PUSH, 1),
  ]));
  assert.ok(f.type === FrameType.SETTINGS);
  assert.equal(f.settingsCount, 6);
  assert.deepEqual([f.settingId(3), f.settingValue(3)], [0xffff, 0xffffffff]);
  const s = { ...DEFAULT_SETTINGS, enablePush: false };
  applySettings(s, f);
  assert.deepEqual(s, { ...DEFAULT_SETTINGS, maxConcurrentStreams: 20, enablePush: true });
});

Deno.test("FrameWriter.pushPromise() round trips PUSH_PROMISE, padded or not (§6.6)", () => {
  const [a, b] = written((w) => {
    w.pushPromise(1, 2, bytesOf(30));
    w.pushPromise(3, 0x7ffffffe, bytesOf(4), 3);
  });
  assert.ok(a.type === FrameType.PUSH_PROMISE && b.type === FrameType.PUSH_PROMISE);
  assert.deepEqual([a.streamId, a.promisedStreamId, a.endHeaders, a.length, content(a)], [1, 2, true, 34, [
    ...bytesOf(30),
  ]]);
  assert.deepEqual([b.promisedStreamId, b.padLength, b.flags, content(b)], [
    0x7ffffffe,
    3,
    Flag.END_HEADERS | Flag.PADDED,
    [...bytesOf(4)],
  ]);
});

Deno.test("FrameWriter.ping() round trips PING and its ACK echoing the payload (§6.7)", () => {
  const opaque = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  const [a, b] = written((w) => {
    w.ping(false, opaque);
    w.ping(true, opaque, 2);
  });
  assert.ok(a.type === FrameType.PING && b.type === FrameType.PING);
  assert.deepEqual([a.ack, a.length, content(a)], [false, 8, [9, 8, 7, 6, 5, 4, 3, 2]]);
  assert.deepEqual([b.ack, content(b)], [true, [7, 6, 5, 4, 3, 2, 1, 0]]);
});

Deno.test("FrameWriter.goaway() round trips GOAWAY with string or byte debug data (§6.8)", () => {
  const [a, b, c] = written((w) => {
    w.goaway(7, ErrorCode.ENHANCE_YOUR_CALM, "slow down ✓");
    w.goaway(0x7fffffff, ErrorCode.NO_ERROR);
    w.goaway(0, 0x99, new Uint8Array([1, 2, 3]));
  });
  assert.ok(a.type === FrameType.GOAWAY && b.type === FrameType.GOAWAY && c.type === FrameType.GOAWAY);
  assert.deepEqual([a.lastStreamId, a.errorCode], [7, ErrorCode.ENHANCE_YOUR_CALM]);
  assert.equal(new TextDecoder().decode(a.buf.subarray(a.start, a.end)), "slow down ✓");
  assert.deepEqual([b.lastStreamId, b.errorCode, b.length, content(b)], [0x7fffffff, 0, 8, []]);
  assert.deepEqual([c.errorCode, content(c)], [0x99, [1, 2, 3]]);
});

Deno.test("FrameWriter.goaway() cuts debug data to fit the peer's maximum frame size (§4.2)", () => {
  const [a, b] = written((w) => {
    w.goaway(1, ErrorCode.PROTOCOL_ERROR, "é".repeat(DEFAULT_MAX_FRAME_SIZE));
    w.goaway(1, ErrorCode.PROTOCOL_ERROR, new Uint8Array(DEFAULT_MAX_FRAME_SIZE));
  });
  assert.equal(a.length, DEFAULT_MAX_FRAME_SIZE);
  assert.equal(b.length, DEFAULT_MAX_FRAME_SIZE);
});

Deno.test("FrameWriter.windowUpdate() round trips WINDOW_UPDATE on the connection and a stream (§6.9)", () => {
  const [a, b] = written((w) => {
    w.windowUpdate(0, MAX_WINDOW_SIZE);
    w.windowUpdate(9, 1);
  });
  assert.ok(a.type === FrameType.WINDOW_UPDATE && b.type === FrameType.WINDOW_UPDATE);
  assert.deepEqual([a.streamId, a.increment], [0, MAX_WINDOW_SIZE]);
  assert.deepEqual([b.streamId, b.increment], [9, 1]);
});

Deno.test("FrameWriter.frame() writes extension frames that parse as UNKNOWN with their flags (§4.1, §5.5)", () => {
  const [a, b] = written((w) => {
    w.frame(0xa, 0xff, 0, new Uint8Array([0, 3, 0x61, 0x62, 0x63])); // ALTSVC-shaped
    w.frame(0xfe, 0, 3);
  });
  assert.ok(a.type === FrameType.UNKNOWN && b.type === FrameType.UNKNOWN);
  assert.deepEqual([a.wireType, a.flags, a.streamId, content(a)], [0xa, 0xff, 0, [0, 3, 0x61, 0x62, 0x63]]);
  assert.deepEqual([b.wireType, b.streamId, b.length], [0xfe, 3, 0]);
});

// === Header block fragmentation ===

function headerBlock(frames: Frame[]): number[] {
  const out: number[] = [];
  for (const f of frames) {
    assert.ok(
      f.type === FrameType.HEADERS || f.type === FrameType.CONTINUATION || f.type === FrameType.PUSH_PROMISE,
    );
    out.push(...content(f));
  }
  return out;
}

Deno.test("FrameWriter.headers() splits a large block into HEADERS + CONTINUATION, END_HEADERS last (§6.10)", () => {
  const block = bytesOf(40000, 3);
  const frames = written((w) => w.headers(1, block, true));
  assert.deepEqual(frames.map((f) => [f.type, f.streamId, f.length, f.flags]), [
    [FrameType.HEADERS, 1, 16384, Flag.END_STREAM], // END_STREAM stays on HEADERS (§6.2)
    [FrameType.CONTINUATION, 1, 16384, 0],
    [FrameType.CONTINUATION, 1, 40000 - 2 * 16384, Flag.END_HEADERS],
  ]);
  assert.deepEqual(headerBlock(frames), [...block]);
});

Deno.test("FrameWriter.headers() fills frames exactly and never writes an empty CONTINUATION", () => {
  for (const size of [0, 1, 16383, 16384, 16385, 2 * 16384, 3 * 16384 - 1]) {
    const block = bytesOf(size, size);
    const frames = written((w) => w.headers(3, block, false));
    assert.equal(frames.length, Math.max(1, Math.ceil(size / 16384)), `${size} bytes`);
    assert.ok(frames.every((f, i) => f.length > 0 || size === 0 && i === 0));
    assert.ok(frames.every((f, i) => (f.flags === Flag.END_HEADERS) === (i === frames.length - 1)));
    assert.deepEqual(headerBlock(frames), [...block]);
  }
});

Deno.test("FrameWriter.headers() follows the peer's maxFrameSize and leaves room for padding", () => {
  const block = bytesOf(70000);
  const big = written((w) => w.headers(1, block, false), 65536);
  assert.deepEqual(big.map((f) => f.length), [65536, 70000 - 65536]);
  const padded = written((w) => w.headers(1, bytesOf(16384), false, 10));
  assert.deepEqual(padded.map((f) => [f.type, f.length]), [[FrameType.HEADERS, 16384], [
    FrameType.CONTINUATION,
    11,
  ]]);
  const [first] = padded;
  assert.ok(first.type === FrameType.HEADERS && first.padLength === 10);
  assert.deepEqual(headerBlock(padded), [...bytesOf(16384)]);
});

Deno.test("FrameWriter.pushPromise() splits a large block into CONTINUATION frames too (§6.6)", () => {
  const block = bytesOf(20000);
  const frames = written((w) => w.pushPromise(1, 2, block));
  assert.deepEqual(frames.map((f) => [f.type, f.length, f.flags]), [
    [FrameType.PUSH_PROMISE, 16384, 0],
    [FrameType.CONTINUATION, 20000 - 16380, Flag.END_HEADERS],
  ]);
  assert.deepEqual(headerBlock(frames), [...block]);
});

Deno.test("FrameWriter.headers() encodes a block larger than a slab correctly, then small frames", () => {
  const block = bytesOf(200000, 9);
  const frames = written((w) => {
    w.headers(1, block, false);
    w.windowUpdate(0, 5);
    w.headers(3, bytesOf(10), true);
  });
  const last = frames.pop()!;
  const wu = frames.pop()!;
  assert.deepEqual(headerBlock(frames), [...block]);
  assert.ok(wu.type === FrameType.WINDOW_UPDATE && wu.increment === 5);
  assert.ok(last.type === FrameType.HEADERS && last.streamId === 3);
});

// === DATA output: copies, chunks, coalescing ===

Deno.test("FrameWriter.data() copies small payloads and resolves at once", async () => {
  const out = new Recorder();
  const w = new FrameWriter(out);
  const chunk = bytesOf(100);
  const p = w.data(1, chunk, false);
  chunk.fill(0); // the caller may reuse it right away
  await p;
  assert.equal(out.chunks.length, 0, "held until flush");
  assert.equal(w.held, 109);
  await w.flush();
  const [f] = parseAll(out.bytes());
  assert.deepEqual(content(f as Frame & { start: number; end: number }), [...bytesOf(100)]);
});

Deno.test("FrameWriter.data() writes large payloads uncopied, in order between held frames", async () => {
  const out = new Recorder();
  const w = new FrameWriter(out);
  const chunk = bytesOf(DATA_COPY_LIMIT);
  w.windowUpdate(0, 100);
  const p = w.data(1, chunk, true);
  w.windowUpdate(1, 200);
  await w.flush();
  await p;
  assert.equal(out.chunks.length, 3);
  assert.equal(out.chunks[1], chunk, "the caller's bytes themselves");
  assert.equal(out.chunks[0].length, 13 + 9, "WINDOW_UPDATE and the DATA header, coalesced");
  const frames = parseAll(out.bytes());
  assert.deepEqual(frames.map((f) => f.type), [
    FrameType.WINDOW_UPDATE,
    FrameType.DATA,
    FrameType.WINDOW_UPDATE,
  ]);
  assert.ok(frames[1].type === FrameType.DATA && frames[1].endStream && frames[1].length === DATA_COPY_LIMIT);
});

Deno.test("FrameWriter.data() splits at maxFrameSize with END_STREAM only on the last frame (§6.1)", () => {
  const chunk = bytesOf(16384 * 2 + 100);
  const frames = written((w) => void w.data(5, chunk, true));
  assert.deepEqual(frames.map((f) => [f.type, f.streamId, f.length, f.flags]), [
    [FrameType.DATA, 5, 16384, 0],
    [FrameType.DATA, 5, 16384, 0],
    [FrameType.DATA, 5, 100, Flag.END_STREAM],
  ]);
  const padded = written((w) => void w.data(5, bytesOf(20000), false, 255));
  assert.deepEqual(padded.map((f) => f.length), [16384, 20000 - (16384 - 256) + 256]);
  const data = padded.flatMap((f) => content(f as Frame & { start: number; end: number }));
  assert.deepEqual(data, [...bytesOf(20000)]);
});

Deno.test("FrameWriter.flush() coalesces many frames into one write, and writes nothing when idle", async () => {
  const out = new Recorder();
  const w = new FrameWriter(out);
  await w.flush();
  assert.equal(out.chunks.length, 0);
  w.settingsAck();
  for (let i = 1; i < 200; i += 2) {
    w.headers(i, bytesOf(30), false);
    void w.data(i, bytesOf(50), true);
    w.windowUpdate(i, 10);
  }
  await w.flush();
  assert.equal(out.chunks.length, 1);
  assert.equal(parseAll(out.bytes()).length, 1 + 300);
  assert.equal(w.held, 0);
});

Deno.test("FrameWriter never overwrites bytes already handed out, across interleaved writers", () => {
  const out = new Recorder();
  const a = new FrameWriter(out);
  const b = new FrameWriter(out);
  for (let round = 0; round < 300; round++) {
    a.headers(1, bytesOf(200, round), false);
    b.headers(3, bytesOf(150, round + 1), false);
    void a.data(1, bytesOf(300, round), false); // a's held bytes must move past b's
    if (round % 3 === 0) void a.flush();
    if (round % 5 === 0) void b.flush();
  }
  void a.flush();
  void b.flush();
  // Every chunk still holds exactly what it held when written (the slab is never rewound).
  for (let i = 0; i < out.chunks.length; i++) assert.deepEqual(out.chunks[i], out.copies[i], `chunk ${i}`);
  let aFrames = 0;
  for (const chunk of out.copies) {
    for (const f of parseAll(chunk)) {
      if (f.streamId === 1) aFrames++;
      if (f.type === FrameType.HEADERS) assert.equal(f.length, f.streamId === 1 ? 200 : 150);
    }
  }
  assert.equal(aFrames, 600);
});

Deno.test("FrameWriter writes every frame right when its held bytes must move (shared slab)", () => {
  const writes: [string, (w: FrameWriter) => void, FrameType][] = [
    ["settings", (w) => w.settings({ maxConcurrentStreams: 5 }), FrameType.SETTINGS],
    ["settingsAck", (w) => w.settingsAck(), FrameType.SETTINGS],
    ["ping", (w) => w.ping(true, bytesOf(8)), FrameType.PING],
    ["goaway string", (w) => w.goaway(1, 0, "bye"), FrameType.GOAWAY],
    ["goaway bytes", (w) => w.goaway(1, 0, bytesOf(3)), FrameType.GOAWAY],
    ["rstStream", (w) => w.rstStream(1, 8), FrameType.RST_STREAM],
    ["windowUpdate", (w) => w.windowUpdate(1, 8), FrameType.WINDOW_UPDATE],
    ["priority", (w) => w.priority(1, 0, 16, false), FrameType.PRIORITY],
    ["headers", (w) => w.headers(1, bytesOf(20), true, 2), FrameType.HEADERS],
    ["pushPromise", (w) => w.pushPromise(1, 2, bytesOf(20)), FrameType.PUSH_PROMISE],
    ["data", (w) => void w.data(1, bytesOf(20), true, 2), FrameType.DATA],
    ["frame", (w) => w.frame(0xb, 0, 1, bytesOf(3)), FrameType.UNKNOWN],
  ];
  // Enough rounds for the shared slab to fill up and be replaced under each method at least once.
  for (let round = 0; round < 400; round++) {
    for (const [name, write, type] of writes) {
      const out = new Recorder();
      const w = new FrameWriter(out);
      const other = new FrameWriter(new Recorder());
      w.windowUpdate(0, 1);
      other.frame(0xc, 0, 0, bytesOf(round % 97)); // allocates after w's held bytes
      write(w);
      void w.flush();
      void other.flush();
      const frames = parseAll(out.bytes());
      assert.deepEqual(frames.map((f) => f.type), [FrameType.WINDOW_UPDATE, type], `${name}, round ${round}`);
    }
  }
});

Deno.test("FrameWriter rejects arguments that would put invalid frames on the wire", () => {
  const w = new FrameWriter(new Recorder());
  assert.throws(() => (w.maxFrameSize = 16383), RangeError);
  assert.throws(() => (w.maxFrameSize = MAX_FRAME_SIZE_LIMIT + 1), RangeError);
  assert.throws(() => w.windowUpdate(1, 0), RangeError);
  assert.throws(() => w.windowUpdate(0, MAX_WINDOW_SIZE + 1), RangeError);
  assert.throws(() => w.settings({ maxFrameSize: 100 }), RangeError);
  assert.throws(() => w.settings({ initialWindowSize: 2 ** 31 }), RangeError);
  assert.throws(() => w.settings({ maxConcurrentStreams: Infinity }), RangeError);
  assert.throws(() => w.ping(false, new Uint8Array(7)), RangeError);
  assert.throws(() => w.rstStream(0, 0), RangeError);
  assert.throws(() => w.headers(0, bytesOf(1), false), RangeError);
  assert.throws(() => void w.data(0, bytesOf(1), false), RangeError);
  assert.throws(() => void w.data(1, bytesOf(1), false, 256), RangeError);
  assert.throws(() => w.frame(0xa, 0, 0, new Uint8Array(DEFAULT_MAX_FRAME_SIZE + 1)), RangeError);
  assert.equal(w.held, 0, "nothing half-written");
});

// === parseFrame() validation, by RFC 9113 section ===

Deno.test("parseFrame() ignores the stream id's reserved bit and flags the type does not define (§4.1)", () => {
  const d = ok(raw(FrameType.DATA, 0xff & ~Flag.PADDED, 0x80000003, [1, 2]));
  assert.deepEqual([d.streamId, d.flags], [3, Flag.END_STREAM]);
  const p = ok(raw(FrameType.PING, 0xfe, 0x80000000, bytesOf(8)));
  assert.ok(p.type === FrameType.PING);
  assert.deepEqual([p.streamId, p.flags, p.ack], [0, 0, false]);
  const r = ok(raw(FrameType.RST_STREAM, 0xff, 1, u32(8)));
  assert.equal(r.flags, 0);
  const c = ok(raw(FrameType.CONTINUATION, 0xff, 1, [1]));
  assert.equal(c.flags, Flag.END_HEADERS);
});

Deno.test("parseFrame() returns unknown frame types for the caller to ignore (§4.1, §5.5)", () => {
  for (const type of [0xa, 0xb, 0xc, 0x10, 0xff]) {
    for (const stream of [0, 1]) {
      const f = ok(raw(type, 0x5a, stream, bytesOf(12)));
      assert.ok(f.type === FrameType.UNKNOWN);
      assert.deepEqual([f.wireType, f.flags, f.streamId, content(f)], [type, 0x5a, stream, [...bytesOf(12)]]);
    }
  }
});

Deno.test("parseFrame() accepts frames up to the local SETTINGS_MAX_FRAME_SIZE (§4.2)", () => {
  ok(raw(FrameType.DATA, 0, 1, bytesOf(DEFAULT_MAX_FRAME_SIZE)));
  ok(raw(FrameType.HEADERS, Flag.END_HEADERS, 1, bytesOf(DEFAULT_MAX_FRAME_SIZE)));
  ok(raw(FrameType.DATA, 0, 1, bytesOf(100000)), { maxFrameSize: 100000 });
});

Deno.test("parseFrame() classifies a frame over SETTINGS_MAX_FRAME_SIZE as §4.2 prescribes", () => {
  const big = bytesOf(DEFAULT_MAX_FRAME_SIZE + 1);
  // Frames that can alter connection state: a connection error.
  fails(raw(FrameType.HEADERS, Flag.END_HEADERS, 1, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.SETTINGS, 0, 0, big.subarray(0, 16386)), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.PING, 0, 0, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.GOAWAY, 0, 0, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.WINDOW_UPDATE, 0, 0, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(0xa, 0, 0, big), ErrorCode.FRAME_SIZE_ERROR, "connection"); // any frame on stream 0
  fails(raw(FrameType.DATA, 0, 0, big), ErrorCode.FRAME_SIZE_ERROR, "connection");
  // Other frames on a stream: a stream error, with the header still readable.
  const into = new ParsedFrame();
  const data = raw(FrameType.DATA, Flag.END_STREAM, 7, big);
  const e = parseFrame(data, 0, data.length, LIMITS, into);
  assert.equal(e, FRAME_ERRORS.tooLargeStream);
  assert.deepEqual([into.type, into.streamId, into.length], [FrameType.DATA, 7, big.length]);
  fails(raw(FrameType.PRIORITY, 0, 1, big), ErrorCode.FRAME_SIZE_ERROR, "stream");
  fails(raw(FrameType.RST_STREAM, 0, 1, big), ErrorCode.FRAME_SIZE_ERROR, "stream");
  fails(raw(FrameType.WINDOW_UPDATE, 0, 1, big), ErrorCode.FRAME_SIZE_ERROR, "stream");
  fails(raw(0xa, 0, 1, big), ErrorCode.FRAME_SIZE_ERROR, "stream");
});

Deno.test("parseFrame() DATA: stream 0 and bad padding are connection errors (§6.1)", () => {
  fails(raw(FrameType.DATA, 0, 0, [1]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.DATA, Flag.PADDED, 0, [0]), ErrorCode.PROTOCOL_ERROR, "connection");
  // Pad Length ≥ payload length (the Pad Length byte counts): a connection error.
  fails(raw(FrameType.DATA, Flag.PADDED, 1, [1]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.DATA, Flag.PADDED, 1, [5, 1, 2, 3, 4]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.DATA, Flag.PADDED, 1, [255, 1]), ErrorCode.PROTOCOL_ERROR, "connection");
  // PADDED with no room for the Pad Length: too small for mandatory data (§4.2), a stream frame.
  fails(raw(FrameType.DATA, Flag.PADDED, 1, []), ErrorCode.FRAME_SIZE_ERROR, "stream");
  const empty = ok(raw(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, [4, 0, 0, 0, 0]));
  assert.ok(empty.type === FrameType.DATA);
  assert.deepEqual([empty.padLength, content(empty), empty.endStream, empty.length], [4, [], true, 5]);
  const zeroPad = ok(raw(FrameType.DATA, Flag.PADDED, 1, [0, 7]));
  assert.ok(zeroPad.type === FrameType.DATA && zeroPad.padLength === 0 && content(zeroPad)[0] === 7);
});

Deno.test("parseFrame() HEADERS: stream 0, short or over-padded frames are connection errors (§6.2, §4.2)", () => {
  fails(raw(FrameType.HEADERS, Flag.END_HEADERS, 0, [0x82]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.HEADERS, Flag.PADDED, 1, [3, 0x82, 0]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.HEADERS, Flag.PADDED, 1, [1]), ErrorCode.PROTOCOL_ERROR, "connection");
  // h2spec 6.2/4's shape: padding one byte longer than the frame.
  fails(raw(FrameType.HEADERS, Flag.PADDED, 1, [17, ...bytesOf(15)]), ErrorCode.PROTOCOL_ERROR, "connection");
  // Padding must leave room for the priority fields too.
  fails(
    raw(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, [2, 0, 0, 0, 0, 16]),
    ErrorCode.PROTOCOL_ERROR,
    "connection",
  );
  fails(raw(FrameType.HEADERS, Flag.PADDED, 1, []), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.HEADERS, Flag.PRIORITY, 1, [0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(
    raw(FrameType.HEADERS, Flag.PRIORITY | Flag.PADDED, 1, [0, 0, 0, 0, 0]),
    ErrorCode.FRAME_SIZE_ERROR,
    "connection",
  );
  const exact = ok(raw(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, [2, 0, 0, 0, 0, 16, 0, 0]));
  assert.ok(exact.type === FrameType.HEADERS && content(exact).length === 0 && exact.padLength === 2);
});

Deno.test("parseFrame() PRIORITY: stream 0 is a connection error, a length other than 5 a stream error (§6.3)", () => {
  fails(raw(FrameType.PRIORITY, 0, 0, [0, 0, 0, 1, 16]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.PRIORITY, 0, 1, [0, 0, 0, 1]), ErrorCode.FRAME_SIZE_ERROR, "stream");
  fails(raw(FrameType.PRIORITY, 0, 1, [0, 0, 0, 1, 16, 0]), ErrorCode.FRAME_SIZE_ERROR, "stream");
  fails(raw(FrameType.PRIORITY, 0, 1, []), ErrorCode.FRAME_SIZE_ERROR, "stream");
});

Deno.test("parseFrame() RST_STREAM: stream 0 and a length other than 4 are connection errors (§6.4)", () => {
  fails(raw(FrameType.RST_STREAM, 0, 0, u32(0)), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.RST_STREAM, 0, 1, [0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.RST_STREAM, 0, 1, [0, 0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR, "connection");
});

Deno.test("parseFrame() SETTINGS: stream, ACK payload and length errors are connection errors (§6.5)", () => {
  fails(raw(FrameType.SETTINGS, 0, 1, []), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.SETTINGS, Flag.ACK, 1, []), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(
    raw(FrameType.SETTINGS, Flag.ACK, 0, setting(SettingId.ENABLE_PUSH, 0)),
    ErrorCode.FRAME_SIZE_ERROR,
    "connection",
  );
  fails(raw(FrameType.SETTINGS, Flag.ACK, 0, [0]), ErrorCode.FRAME_SIZE_ERROR, "connection");
  for (const n of [1, 5, 7, 11, 13]) {
    fails(raw(FrameType.SETTINGS, 0, 0, bytesOf(n)), ErrorCode.FRAME_SIZE_ERROR, "connection");
  }
});

Deno.test("parseFrame() SETTINGS: invalid values are connection errors with §6.5.2's codes", () => {
  const s = (id: number, v: number) => raw(FrameType.SETTINGS, 0, 0, [...setting(1, 100), ...setting(id, v)]);
  fails(s(SettingId.ENABLE_PUSH, 2), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(s(SettingId.ENABLE_PUSH, 0xffffffff), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(s(SettingId.INITIAL_WINDOW_SIZE, 2 ** 31), ErrorCode.FLOW_CONTROL_ERROR, "connection");
  fails(s(SettingId.INITIAL_WINDOW_SIZE, 0xffffffff), ErrorCode.FLOW_CONTROL_ERROR, "connection");
  fails(s(SettingId.MAX_FRAME_SIZE, 16383), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(s(SettingId.MAX_FRAME_SIZE, 0), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(s(SettingId.MAX_FRAME_SIZE, 2 ** 24), ErrorCode.PROTOCOL_ERROR, "connection");
  // The bounds themselves are valid, as is any u32 for the other settings.
  for (
    const [id, v] of [
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.ENABLE_PUSH, 1],
      [SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1],
      [SettingId.INITIAL_WINDOW_SIZE, 0],
      [SettingId.MAX_FRAME_SIZE, 16384],
      [SettingId.MAX_FRAME_SIZE, 2 ** 24 - 1],
      [SettingId.HEADER_TABLE_SIZE, 0xffffffff],
      [SettingId.MAX_CONCURRENT_STREAMS, 0],
      [SettingId.MAX_HEADER_LIST_SIZE, 0xffffffff],
      [0x7, 0xffffffff], // unknown: ignored, whatever its value
    ]
  ) ok(s(id, v));
});

Deno.test("parseFrame() SETTINGS: ENABLE_PUSH 1 from a server is a connection error when the sender is known", () => {
  const push1 = raw(FrameType.SETTINGS, 0, 0, setting(SettingId.ENABLE_PUSH, 1));
  fails(push1, ErrorCode.PROTOCOL_ERROR, "connection", { maxFrameSize: 16384, sender: "server" });
  ok(push1, { maxFrameSize: 16384, sender: "client" });
  ok(push1);
  ok(raw(FrameType.SETTINGS, 0, 0, setting(SettingId.ENABLE_PUSH, 0)), {
    maxFrameSize: 16384,
    sender: "server",
  });
});

Deno.test("parseFrame() PUSH_PROMISE: malformed frames and pushes from clients are connection errors (§6.6)", () => {
  const block = [0x82];
  fails(
    raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 0, [...u32(2), ...block]),
    ErrorCode.PROTOCOL_ERROR,
    "connection",
  );
  fails(
    raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [0, 0, 0]),
    ErrorCode.FRAME_SIZE_ERROR,
    "connection",
  );
  fails(raw(FrameType.PUSH_PROMISE, Flag.PADDED, 1, [0, 0, 0, 2]), ErrorCode.FRAME_SIZE_ERROR, "connection");
  fails(raw(FrameType.PUSH_PROMISE, Flag.PADDED, 1, [1, ...u32(2)]), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(
    raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, u32(0x80000000)),
    ErrorCode.PROTOCOL_ERROR,
    "connection",
  );
  const valid = raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [...u32(0x80000002), ...block]);
  fails(valid, ErrorCode.PROTOCOL_ERROR, "connection", { maxFrameSize: 16384, sender: "client" }); // §8.4
  const f = ok(valid, { maxFrameSize: 16384, sender: "server" });
  assert.ok(f.type === FrameType.PUSH_PROMISE && f.promisedStreamId === 2 && content(f)[0] === 0x82);
});

Deno.test("parseFrame() PING: a stream other than 0 and a length other than 8 are connection errors (§6.7)", () => {
  fails(raw(FrameType.PING, 0, 1, bytesOf(8)), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.PING, Flag.ACK, 1, bytesOf(8)), ErrorCode.PROTOCOL_ERROR, "connection");
  for (const n of [0, 7, 9, 16]) {
    fails(raw(FrameType.PING, 0, 0, bytesOf(n)), ErrorCode.FRAME_SIZE_ERROR, "connection");
  }
});

Deno.test("parseFrame() GOAWAY: a stream other than 0 and fewer than 8 bytes are connection errors (§6.8)", () => {
  fails(raw(FrameType.GOAWAY, 0, 1, [...u32(0), ...u32(0)]), ErrorCode.PROTOCOL_ERROR, "connection");
  for (const n of [0, 4, 7]) {
    fails(raw(FrameType.GOAWAY, 0, 0, bytesOf(n)), ErrorCode.FRAME_SIZE_ERROR, "connection");
  }
  const f = ok(raw(FrameType.GOAWAY, 0, 0, [...u32(0xffffffff), ...u32(0x1234)]));
  assert.ok(f.type === FrameType.GOAWAY);
  assert.deepEqual(
    [f.lastStreamId, f.errorCode, content(f)],
    [0x7fffffff, 0x1234, []],
    "reserved bit ignored",
  );
});

Deno.test("parseFrame() WINDOW_UPDATE: bad length is a connection error; increment 0 depends on the stream (§6.9)", () => {
  for (const stream of [0, 1]) {
    for (const n of [0, 3, 5, 8]) {
      fails(raw(FrameType.WINDOW_UPDATE, 0, stream, bytesOf(n)), ErrorCode.FRAME_SIZE_ERROR, "connection");
    }
  }
  fails(raw(FrameType.WINDOW_UPDATE, 0, 0, u32(0)), ErrorCode.PROTOCOL_ERROR, "connection");
  fails(raw(FrameType.WINDOW_UPDATE, 0, 1, u32(0)), ErrorCode.PROTOCOL_ERROR, "stream");
  // The reserved bit is not part of the increment: 0x80000000 is an increment of 0.
  fails(raw(FrameType.WINDOW_UPDATE, 0, 1, u32(0x80000000)), ErrorCode.PROTOCOL_ERROR, "stream");
  const f = ok(raw(FrameType.WINDOW_UPDATE, 0, 1, u32(0x80000001)));
  assert.ok(f.type === FrameType.WINDOW_UPDATE && f.increment === 1);
});

Deno.test("parseFrame() CONTINUATION: stream 0 is a connection error (§6.10)", () => {
  fails(raw(FrameType.CONTINUATION, Flag.END_HEADERS, 0, [0x82]), ErrorCode.PROTOCOL_ERROR, "connection");
  const f = ok(raw(FrameType.CONTINUATION, 0, 1, [0x82, 0x84]));
  assert.ok(f.type === FrameType.CONTINUATION && !f.endHeaders && content(f).length === 2);
});

Deno.test("parseFrame() keeps the header of a frame in error for the connection to act on", () => {
  const into = new ParsedFrame();
  const bad = raw(FrameType.WINDOW_UPDATE, 0, 9, u32(0));
  assert.equal(parseFrame(bad, 0, bad.length, LIMITS, into), FRAME_ERRORS.windowUpdateZeroStream);
  assert.deepEqual([into.type, into.streamId, into.length], [FrameType.WINDOW_UPDATE, 9, 4]);
  const badData = raw(FrameType.DATA, Flag.PADDED, 3, [9, 1, 2]);
  assert.equal(parseFrame(badData, 0, badData.length, LIMITS, into), FRAME_ERRORS.dataPadding);
  assert.deepEqual([into.type, into.streamId, into.length], [FrameType.DATA, 3, 3], "its flow-control cost");
});

Deno.test("parseFrame() reuses its record and reads only the frame at the offset", () => {
  const into = new ParsedFrame();
  const two = new Uint8Array([
    0xee,
    ...raw(FrameType.PING, 0, 0, bytesOf(8)),
    ...raw(FrameType.DATA, 0, 1, [5]),
  ]);
  const a = parseFrame(two, 1, two.length, LIMITS, into);
  assert.equal(a, into);
  assert.ok(!(a instanceof FrameError) && a.type === FrameType.PING && a.offset === 1 && a.start === 10);
  const b = parseFrame(two, 18, two.length, LIMITS, into);
  assert.equal(b, into);
  assert.ok(!(b instanceof FrameError) && b.type === FrameType.DATA && content(b)[0] === 5);
});

Deno.test("parseFrame() throws a RangeError for an incomplete frame (a caller bug)", () => {
  const f = raw(FrameType.DATA, 0, 1, [1, 2, 3]);
  for (let n = 0; n < f.length; n++) {
    assert.throws(() => parseFrame(f, 0, n, LIMITS), RangeError, `${n} bytes`);
  }
});

Deno.test("parseFrame() answers every garbage frame with a frame or an error, never a throw", () => {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const into = new ParsedFrame();
  const counts = { frames: 0, connection: 0, stream: 0 };
  for (let i = 0; i < 20000; i++) {
    const len = rand() % 40;
    const payload = Array.from({ length: len }, () => rand() & 0xff);
    const type = rand() % 12;
    const bytes = raw(type, rand() & 0xff, rand() % 3 === 0 ? 0 : rand(), payload);
    const limits: FrameLimits = { maxFrameSize: 16384, sender: rand() % 2 ? "client" : "server" };
    const r = parseFrame(bytes, 0, bytes.length, limits, into);
    if (r instanceof FrameError) counts[r.scope]++;
    else {
      counts.frames++;
      assert.ok(r.streamId <= 0x7fffffff);
      if ("start" in r) assert.ok(r.start >= 9 && r.start <= r.end && r.end <= bytes.length);
    }
  }
  assert.ok(counts.frames > 1000 && counts.connection > 1000 && counts.stream > 100, JSON.stringify(counts));
  // An HTTP/1 request read as frames: a nonsense length and type, never a crash.
  const http1 = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(frameLength(http1, 0, http1.length), 9 + 0x474554);
  assert.throws(() => parseFrame(http1, 0, http1.length, LIMITS), RangeError);
});
