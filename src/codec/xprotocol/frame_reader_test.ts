import assert from "node:assert/strict";
import { FRAME_TOO_LARGE, FrameReader, type FrameSink } from "./frame_reader.ts";

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
