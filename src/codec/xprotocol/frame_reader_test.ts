import assert from "node:assert/strict";
import { ByteBudget } from "../../core/mod.ts";
import { concat } from "../_test_io.ts";
import { BUFFER_BUDGET_EXHAUSTED, FRAME_TOO_LARGE, FrameReader, type FrameSink } from "./frame_reader.ts";

/** u16 length-prefixed frames; first byte 0xff is garbage. */
class Sink implements FrameSink {
  frames: Uint8Array[] = [];
  errors: number[] = [];
  frameLength(buf: Uint8Array, off: number, end: number): number {
    if (end - off < 1) return 0;
    if (buf[off] === 0xff) return -7;
    if (end - off < 2) return 0;
    return 2 + ((buf[off] << 8) | buf[off + 1]);
  }
  onFrame(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  onFrameError(code: number): void {
    this.errors.push(code);
  }
}

function frame(n: number, fill: number): Uint8Array {
  const f = new Uint8Array(2 + n).fill(fill);
  f[0] = n >> 8;
  f[1] = n & 0xff;
  return f;
}

Deno.test("FrameReader.push() reassembles frames split at every point", () => {
  const stream = new Uint8Array([...frame(0, 1), ...frame(3, 2), ...frame(1, 3), ...frame(300, 4)]);
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j += 13) {
      const sink = new Sink();
      const r = new FrameReader(sink, 2, 1000);
      r.push(stream.subarray(0, i));
      r.push(stream.subarray(i, j));
      r.push(stream.subarray(j));
      assert.deepEqual(sink.frames.map((f) => f.length), [2, 5, 3, 302], `${i}/${j}`);
      assert.equal(sink.frames[3][301], 4);
      assert.equal(r.buffered, 0);
    }
  }
});

Deno.test("FrameReader.push() copies frames out of the caller's buffer", () => {
  const sink = new Sink();
  const r = new FrameReader(sink, 2, 1000);
  const buf = frame(4, 9);
  r.push(buf);
  buf.fill(0);
  assert.deepEqual([...sink.frames[0]], [0, 4, 9, 9, 9, 9]);
});

Deno.test("FrameReader.push() reports garbage and oversized frames, then stops", () => {
  const sink = new Sink();
  const r = new FrameReader(sink, 2, 1000);
  r.push(new Uint8Array([0, 1, 5, 0xff, 0, 0]));
  assert.equal(sink.frames.length, 1);
  assert.deepEqual(sink.errors, [-7]);
  assert.equal(r.stopped, true);
  r.push(frame(1, 1));
  assert.equal(sink.frames.length, 1);

  const big = new Sink();
  const r2 = new FrameReader(big, 2, 10);
  r2.push(new Uint8Array([0]));
  r2.push(new Uint8Array([20]));
  assert.deepEqual(big.errors, [FRAME_TOO_LARGE]);
});

Deno.test("FrameReader.push() returns a promise only when a sink does", async () => {
  const order: number[] = [];
  const sink: FrameSink = {
    frameLength: (b, o, e) => (e - o < 2 ? 0 : 2 + b[o + 1]),
    onFrame: (f) => f[2] === 1 ? Promise.resolve().then(() => void order.push(1)) : undefined,
    onFrameError: () => {},
  };
  const r = new FrameReader(sink, 2, 100);
  assert.equal(r.push(new Uint8Array([0, 1, 2])), undefined);
  const p = r.push(new Uint8Array([0, 1, 1]));
  assert.ok(p instanceof Promise);
  await p;
  assert.deepEqual(order, [1]);
});

/** u32 length-prefixed frames (declared length after a 4-byte header), as a large-frame protocol. */
class BigSink implements FrameSink {
  frames: Uint8Array[] = [];
  errors: number[] = [];
  frameLength(buf: Uint8Array, off: number, end: number): number {
    if (end - off < 4) return 0;
    return 4 + new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0);
  }
  onFrame(frame: Uint8Array): void {
    this.frames.push(frame);
  }
  onFrameError(code: number): void {
    this.errors.push(code);
  }
}

function bigHeader(bodyBytes: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, bodyBytes);
  return h;
}

Deno.test("FrameReader.push() holds memory for the bytes that arrived, not the length a peer claims", () => {
  const sink = new BigSink();
  const r = new FrameReader(sink, 4, 16 << 20);
  const claimed = 16 << 20;
  r.push(concat(bigHeader(claimed - 4), new Uint8Array(20))); // 24 bytes of a "16 MiB" frame
  assert.equal(r.buffered, 24);
  assert.ok(r.capacity <= 4096, `holds ${r.capacity} bytes for 24 received`);
  // It grows as bytes come (doubling), and the completed frame has exactly the declared length.
  const chunk = new Uint8Array(64 * 1024).fill(7);
  let got = 24;
  while (got + chunk.length <= claimed) {
    r.push(chunk);
    got += chunk.length;
    assert.ok(r.capacity <= Math.max(4096, 2 * got), `capacity ${r.capacity} for ${got} bytes`);
  }
  r.push(new Uint8Array(claimed - got).fill(9));
  assert.equal(sink.frames.length, 1);
  assert.equal(sink.frames[0]!.length, claimed);
  assert.equal(sink.frames[0]![claimed - 1], 9);
  assert.equal(r.buffered, 0);
  assert.equal(r.capacity, 0);
});

Deno.test("FrameReader.push() reserves partial frames from a shared ByteBudget and fails the one that would overflow it", () => {
  const budget = new ByteBudget(10_000);
  const a = new BigSink();
  const b = new BigSink();
  const ra = new FrameReader(a, 4, 1 << 20, budget);
  const rb = new FrameReader(b, 4, 1 << 20, budget);
  ra.push(concat(bigHeader(100_000), new Uint8Array(5000)));
  assert.equal(budget.used, 5004);
  rb.push(concat(bigHeader(100_000), new Uint8Array(3000)));
  assert.equal(budget.used, 5004 + 4096);
  // a grows past what is left: a fails, its bytes go back to the budget; b is untouched.
  ra.push(new Uint8Array(5000));
  assert.deepEqual(a.errors, [BUFFER_BUDGET_EXHAUSTED]);
  assert.equal(ra.stopped, true);
  assert.equal(budget.used, 4096);
  assert.equal(budget.refused, 1);
  assert.deepEqual(b.errors, []);
  // A completed frame is the sink's: its bytes leave the budget.
  const small = new FrameReader(new BigSink(), 4, 1 << 20, budget);
  small.push(bigHeader(10));
  small.push(new Uint8Array(10));
  assert.equal(budget.used, 4096);
  rb.stop();
  assert.equal(budget.used, 0);
});

Deno.test("FrameReader.framesRead counts completed frames (what a request timeout tells apart)", () => {
  const sink = new Sink();
  const r = new FrameReader(sink, 2, 1000);
  r.push(new Uint8Array([...frame(1, 1), ...frame(2, 2), 0]));
  assert.equal(r.framesRead, 2);
  assert.equal(r.buffered, 1);
  r.push(new Uint8Array([1, 5]));
  assert.equal(r.framesRead, 3);
});

Deno.test("FrameReader.push() copies a read's run of small frames once, as adjacent views of one copy", () => {
  const sink = new Sink();
  const r = new FrameReader(sink, 2, 100_000);
  const read = new Uint8Array([
    ...frame(3, 1),
    ...frame(0, 2),
    ...frame(5, 3),
    ...frame(9000, 4),
    ...frame(2, 5),
  ]);
  r.push(read);
  assert.deepEqual(sink.frames.map((f) => f.length), [5, 2, 7, 9002, 4]);
  const [a, b, c, big, d] = sink.frames as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  // The first three are one run: same buffer, end to end, not the caller's buffer.
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.buffer, c.buffer);
  assert.notEqual(a.buffer, read.buffer);
  assert.equal(b.byteOffset, a.byteOffset + a.length);
  assert.equal(c.byteOffset, b.byteOffset + b.length);
  // A frame over the slab limit has its own buffer; the run after it starts anew.
  assert.equal(big.byteLength, big.buffer.byteLength);
  assert.equal(big[9001], 4);
  assert.deepEqual([...d], [0, 2, 5, 5]);
  read.fill(0);
  assert.deepEqual([...c], [0, 5, 3, 3, 3, 3, 3]);
});

Deno.test("FrameReader.push() stops inside a run when a sink stops it, and reports an error after the run", () => {
  // The second frame's sink stops the reader: the third is never delivered.
  const frames: number[] = [];
  const holder: { reader?: FrameReader } = {};
  const stopping: FrameSink = {
    frameLength: (b, o, e) => (e - o < 2 ? 0 : 2 + b[o + 1]!),
    onFrame: (f) => {
      frames.push(f[2]!);
      if (f[2] === 2) holder.reader!.stop();
    },
    onFrameError: () => assert.fail("no error"),
  };
  const reader = holder.reader = new FrameReader(stopping, 2, 100);
  reader.push(new Uint8Array([...frame(1, 1), ...frame(1, 2), ...frame(1, 3)]));
  assert.deepEqual(frames, [1, 2]);
  assert.equal(reader.framesRead, 2);

  // Frames before garbage are delivered, then the error, once.
  const sink = new Sink();
  const r = new FrameReader(sink, 2, 100);
  r.push(new Uint8Array([...frame(1, 1), ...frame(2, 2), 0xff, 0, 0]));
  assert.deepEqual(sink.frames.map((f) => f[2]), [1, 2]);
  assert.deepEqual(sink.errors, [-7]);

  // An oversized frame right after a run: the run first, then FRAME_TOO_LARGE.
  const big = new Sink();
  const rb = new FrameReader(big, 2, 10);
  rb.push(new Uint8Array([...frame(1, 1), ...frame(20, 2)]));
  assert.deepEqual(big.frames.map((f) => f[2]), [1]);
  assert.deepEqual(big.errors, [FRAME_TOO_LARGE]);
});

Deno.test("FrameReader.push() keeps runs apart when a sink feeds another reader while one is delivered", () => {
  const inner = new Sink();
  const innerReader = new FrameReader(inner, 2, 100);
  const outer: number[] = [];
  const sink: FrameSink = {
    frameLength: (b, o, e) => (e - o < 2 ? 0 : 2 + b[o + 1]!),
    onFrame: (f) => {
      outer.push(f[2]!);
      if (f[2] === 1) innerReader.push(new Uint8Array([...frame(3, 7), ...frame(1, 8)]));
    },
    onFrameError: () => assert.fail("no error"),
  };
  new FrameReader(sink, 2, 100).push(new Uint8Array([...frame(1, 1), ...frame(4, 2), ...frame(2, 3)]));
  assert.deepEqual(outer, [1, 2, 3]);
  assert.deepEqual(inner.frames.map((f) => [f.length, f[2]]), [[5, 7], [3, 8]]);
});
