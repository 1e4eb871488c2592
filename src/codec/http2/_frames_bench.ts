/** Cost per frame of parsing and serializing the small HEADERS and DATA frames a proxied request makes. */
import {
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  FrameError,
  frameLength,
  type FrameOutput,
  FrameType,
  FrameWriter,
  ParsedFrame,
  parseFrame,
} from "./_frames.ts";

const RESOLVED = Promise.resolve();
/** Drops what it is given: measures encoding, not I/O. */
const nullOutput: FrameOutput = { write: () => RESOLVED };

const LIMITS = { maxFrameSize: DEFAULT_MAX_FRAME_SIZE };
/** A typical HPACK-encoded request head (indexed :method, :scheme, :path, literal :authority, two fields). */
const BLOCK = new Uint8Array(40).map((_, i) => i * 7);
const BODY = new Uint8Array(100).map((_, i) => i);

function encoded(fn: (w: FrameWriter) => void): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new FrameWriter({
    write: (d) => {
      chunks.push(d.slice());
      return RESOLVED;
    },
  });
  fn(w);
  void w.flush();
  return chunks[0]!;
}

const HEADERS = encoded((w) => w.headers(1, BLOCK, true));
const DATA = encoded((w) => void w.data(1, BODY, true));
const PADDED_HEADERS = encoded((w) => w.headers(1, BLOCK, false, 8));
const BATCH = encoded((w) => {
  for (let i = 1; i < 128; i += 2) {
    w.headers(i, BLOCK, false);
    void w.data(i, BODY, true);
  }
});

const into = new ParsedFrame();
let sink = 0;

Deno.bench({ name: "parse HEADERS (40-byte block)", group: "parse", baseline: true }, () => {
  const f = parseFrame(HEADERS, 0, HEADERS.length, LIMITS, into);
  if (f instanceof FrameError || f.type !== FrameType.HEADERS) throw new Error("bad frame");
  sink += f.end - f.start;
});

Deno.bench({ name: "parse DATA (100 bytes)", group: "parse" }, () => {
  const f = parseFrame(DATA, 0, DATA.length, LIMITS, into);
  if (f instanceof FrameError || f.type !== FrameType.DATA) throw new Error("bad frame");
  sink += f.end - f.start;
});

Deno.bench({ name: "parse padded HEADERS", group: "parse" }, () => {
  const f = parseFrame(PADDED_HEADERS, 0, PADDED_HEADERS.length, LIMITS, into);
  if (f instanceof FrameError) throw new Error("bad frame");
  sink += f.flags & Flag.PADDED;
});

Deno.bench({ name: "frameLength + parse, 128 frames in one buffer (per batch)", group: "parse" }, () => {
  let off = 0;
  while (off < BATCH.length) {
    const len = frameLength(BATCH, off, BATCH.length);
    const f = parseFrame(BATCH, off, off + len, LIMITS, into);
    if (f instanceof FrameError) throw new Error("bad frame");
    sink += f.length;
    off += len;
  }
});

const writer = new FrameWriter(nullOutput);

Deno.bench({ name: "write HEADERS + flush", group: "write", baseline: true }, () => {
  writer.headers(1, BLOCK, true);
  void writer.flush();
});

Deno.bench({ name: "write DATA (100 bytes, copied) + flush", group: "write" }, () => {
  void writer.data(1, BODY, true);
  void writer.flush();
});

Deno.bench({ name: "write HEADERS + DATA + WINDOW_UPDATE, one flush", group: "write" }, () => {
  writer.headers(1, BLOCK, false);
  void writer.data(1, BODY, true);
  writer.windowUpdate(0, 100);
  void writer.flush();
});

Deno.bench({ name: "write 64 × (HEADERS + DATA), one flush (per batch)", group: "write" }, () => {
  for (let i = 1; i < 128; i += 2) {
    writer.headers(i, BLOCK, false);
    void writer.data(i, BODY, true);
  }
  void writer.flush();
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
