import assert from "node:assert/strict";
import { FakeClock } from "../core/mod.ts";
import { type AccessLogOutput, AccessLogWriter } from "./writer.ts";

const decoder = new TextDecoder();

/**
 * An output that records each write. Writes complete at once unless `hold` is set, in which case they
 * wait for `release()`; `limit` makes each write take at most that many bytes; `fail` rejects them.
 */
class RecordingOutput implements AccessLogOutput {
  readonly writes: string[] = [];
  hold = false;
  limit = Infinity;
  fail: Error | undefined;
  closed = false;
  #held: (() => void)[] = [];

  write(p: Uint8Array): Promise<number> {
    if (this.fail !== undefined) return Promise.reject(this.fail);
    const n = Math.min(p.length, this.limit);
    const done = () => this.writes.push(decoder.decode(p.subarray(0, n)));
    if (!this.hold) {
      done();
      return Promise.resolve(n);
    }
    return new Promise((resolve) => this.#held.push(() => (done(), resolve(n))));
  }

  get held(): number {
    return this.#held.length;
  }

  release(): void {
    const held = this.#held;
    this.#held = [];
    for (const r of held) r();
  }

  close(): void {
    this.closed = true;
  }

  get text(): string {
    return this.writes.join("");
  }
}

/** Lets pending promise callbacks (write completions) run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function setup(options: { maxBufferBytes?: number; flushBytes?: number; closeTimeoutMs?: number } = {}) {
  const clock = new FakeClock();
  const output = new RecordingOutput();
  const drops: number[] = [];
  const errors: unknown[] = [];
  const writer = new AccessLogWriter("test", {
    ...options,
    clock,
    output,
    onDrop: (n) => drops.push(n),
    onError: (e) => errors.push(e),
  });
  return { clock, output, writer, drops, errors };
}

Deno.test("AccessLogWriter.write() batches lines into one write after the flush interval", async () => {
  const { clock, output, writer } = setup();
  for (let i = 0; i < 50; i++) writer.write(`line ${i}`);
  await settle();
  assert.equal(output.writes.length, 0, "nothing is written before the interval");
  assert.equal(writer.pendingBytes, 50 * 7 + 40);
  clock.tick(99);
  assert.equal(output.writes.length, 0);
  clock.tick(1);
  await settle();
  assert.deepEqual(output.writes, [Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join("")]);
  assert.equal(clock.pending, 0, "no timer while idle");
  await writer.close();
});

Deno.test("AccessLogWriter.write() starts a write at flushBytes without waiting for the interval", async () => {
  const { output, writer } = setup({ flushBytes: 100 });
  for (let i = 0; i < 9; i++) writer.write("x".repeat(9)); // 90 bytes
  await settle();
  assert.equal(output.writes.length, 0);
  writer.write("x".repeat(9));
  await settle();
  assert.equal(output.writes.length, 1);
  assert.equal(output.writes[0]!.length, 100);
  await writer.close();
});

Deno.test("AccessLogWriter keeps one write in flight; lines written meanwhile go out as the next write", async () => {
  const { clock, output, writer } = setup({ flushBytes: 10 });
  output.hold = true;
  writer.write("first-line"); // 11 bytes: starts a write
  assert.equal(output.held, 1);
  for (let i = 0; i < 100; i++) writer.write(`more ${i}`);
  assert.equal(output.held, 1, "no second write while one is in flight");
  output.hold = false;
  output.release();
  await settle();
  assert.equal(output.writes.length, 2, "everything that waited went out in one write");
  assert.equal(output.writes[1], Array.from({ length: 100 }, (_, i) => `more ${i}\n`).join(""));
  assert.equal(clock.pending, 0);
  await writer.close();
});

Deno.test("AccessLogWriter waits for the interval again after a write when little is pending", async () => {
  const { clock, output, writer } = setup();
  output.hold = true;
  writer.write("a");
  const flushed = writer.flush();
  assert.equal(output.held, 1);
  writer.write("b");
  output.hold = false;
  output.release();
  await flushed;
  assert.deepEqual(output.writes, ["a\n"]);
  await settle();
  assert.deepEqual(output.writes, ["a\n"], "b waits for its interval");
  clock.tick(100);
  await settle();
  assert.deepEqual(output.writes, ["a\n", "b\n"]);
  await writer.close();
});

Deno.test("AccessLogWriter.write() drops and counts lines beyond maxBufferBytes", async () => {
  const { output, writer, drops } = setup({ maxBufferBytes: 100, flushBytes: 1000 });
  for (let i = 0; i < 15; i++) writer.write(`line-${String(i).padStart(3, "0")}`); // 9 bytes each
  assert.equal(writer.pendingBytes, 99, "11 lines fit");
  assert.equal(writer.dropped, 4);
  assert.deepEqual(drops, [1, 1, 1, 1]);
  writer.write("x".repeat(200));
  assert.equal(writer.dropped, 5, "a line longer than the buffer is dropped");
  await writer.flush();
  assert.equal(
    output.text,
    Array.from({ length: 11 }, (_, i) => `line-${String(i).padStart(3, "0")}\n`).join(""),
  );
  writer.write("after");
  await writer.flush();
  assert.ok(output.text.endsWith("after\n"), "room again once written");
  await writer.close();
});

Deno.test("AccessLogWriter counts failed writes and the lines they lost, and keeps going", async () => {
  const { output, writer, errors } = setup();
  output.fail = new Error("ENOSPC");
  writer.write("one");
  writer.write("two");
  await writer.flush();
  assert.equal(writer.writeErrors, 1);
  assert.equal(writer.dropped, 2);
  assert.deepEqual(errors, [output.fail]);
  output.fail = undefined;
  writer.write("three");
  await writer.flush();
  assert.equal(output.text, "three\n");
  await writer.close();
});

Deno.test("AccessLogWriter never throws from write() when the output throws or a callback throws", async () => {
  const writer = new AccessLogWriter("test", {
    output: {
      write: () => {
        throw new Error("closed");
      },
    },
    onDrop: () => {
      throw new Error("bad counter");
    },
    onError: () => {
      throw new Error("bad logger");
    },
    maxBufferBytes: 10,
    flushBytes: 1,
  });
  writer.write("a");
  writer.write("too long for the buffer");
  await writer.flush();
  assert.equal(writer.writeErrors, 1);
  assert.equal(writer.dropped, 2);
  await writer.close();
});

Deno.test("AccessLogWriter continues partial writes until the batch is out", async () => {
  const { output, writer } = setup();
  output.limit = 7;
  writer.write("0123456789");
  writer.write("abcdefghij");
  await writer.flush();
  assert.deepEqual(output.writes, ["0123456", "789\nabc", "defghij", "\n"]);
  await writer.close();
});

Deno.test("AccessLogWriter encodes non-ASCII lines as UTF-8", async () => {
  const { output, writer } = setup();
  const line = "путь=/ü/😀 ".repeat(3000); // bigger than the first slab, 1-4 bytes per character
  writer.write(line);
  writer.write("ascii");
  await writer.flush();
  assert.equal(output.text, `${line}\nascii\n`);
  await writer.close();
});

Deno.test("AccessLogWriter.close() flushes, closes only what it opened and drops later lines", async () => {
  const { output, writer, drops } = setup();
  writer.write("last words");
  await writer.close();
  assert.equal(output.text, "last words\n");
  assert.equal(output.closed, false, "an output given in the options is the caller's");
  writer.write("too late");
  assert.equal(writer.dropped, 1);
  assert.deepEqual(drops, [1]);
  assert.equal(writer.close(), writer.close(), "idempotent");

  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/access.log`;
    const file = new AccessLogWriter(path);
    file.write("to the file");
    await file.close();
    assert.equal(await Deno.readTextFile(path), "to the file\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AccessLogWriter.close() gives up after closeTimeoutMs and counts what it dropped", async () => {
  const { clock, output, writer, drops } = setup({ flushBytes: 10, closeTimeoutMs: 500 });
  output.hold = true;
  writer.write("stuck in flight"); // starts a write that never completes
  writer.write("pending 1");
  writer.write("pending 2");
  let closed = false;
  const closing = writer.close().then(() => closed = true);
  await settle();
  clock.tick(499);
  await settle();
  assert.equal(closed, false);
  clock.tick(1);
  await closing;
  assert.equal(writer.dropped, 2, "the pending lines");
  assert.deepEqual(drops, [2]);
  output.release(); // the stuck write ends after all
  await settle();
  assert.equal(output.text, "stuck in flight\n");
  assert.equal(clock.pending, 0);
});

Deno.test("AccessLogWriter rejects options that make no sense", () => {
  assert.throws(() => new AccessLogWriter("stdout", { maxBufferBytes: 0 }), {
    name: "RangeError",
    message: "Cannot create an access log writer: maxBufferBytes must be positive, got 0",
  });
  assert.throws(() => new AccessLogWriter("stdout", { flushBytes: NaN }), RangeError);
  assert.throws(() => new AccessLogWriter("stdout", { flushIntervalMs: -1 }), RangeError);
  assert.throws(() => new AccessLogWriter("stdout", { closeTimeoutMs: Infinity }), RangeError);
});

// === A real pipe whose reader does not read ===

async function mkfifo(): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/access.fifo`;
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success, "mkfifo");
  return { dir, path };
}

/**
 * A reader process that opens the FIFO and then, with `pauseS`, copies it to stdout after that many
 * seconds, or without, never reads. `exec`, so that no child of the shell holds the read end open once
 * the reader is killed.
 */
function reader(path: string, pauseS?: number): Deno.ChildProcess {
  const script = pauseS === undefined
    ? `exec 3<"$1"; exec sleep 60`
    : `exec 3<"$1"; sleep ${pauseS}; exec cat <&3`;
  return new Deno.Command("sh", { args: ["-c", script, "sh", path], stdout: "piped", stderr: "null" })
    .spawn();
}

const LINE_CHARS = 99; // + "\n" = 100 bytes

/**
 * How long a call may take and still count as "did not block". A write() that blocked on the full pipe
 * would return only once the reader goes (it never reads: `sleep 60`), so any bound well under that
 * tells the two apart; a tight one (50 ms) failed when the test process merely waited for a core.
 */
const NOT_BLOCKED_MS = 5_000;

function numbered(i: number): string {
  return `line ${String(i).padStart(6, "0")} `.padEnd(LINE_CHARS, "x");
}

Deno.test("AccessLogWriter does not block the event loop on a pipe nobody reads", async () => {
  const { dir, path } = await mkfifo();
  const child = reader(path);
  try {
    const writer = new AccessLogWriter(path, { maxBufferBytes: 256 * 1024, closeTimeoutMs: 300 });
    const scheduled = performance.now();
    let firedAfter = -1;
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        firedAfter = performance.now() - scheduled;
        resolve();
      }, 10)
    );
    const lines = 20_000; // 2 MB: the pipe holds 64 KiB, the buffer 256 KiB
    let slowest = 0;
    for (let i = 0; i < lines; i++) {
      const t = performance.now();
      writer.write(numbered(i));
      slowest = Math.max(slowest, performance.now() - t);
    }
    const loopMs = performance.now() - scheduled;
    await timer;
    assert.ok(slowest < NOT_BLOCKED_MS, `write() returns at once (slowest ${slowest.toFixed(1)} ms)`);
    assert.ok(loopMs < 2 * NOT_BLOCKED_MS, `the write loop ran in ${loopMs.toFixed(0)} ms`);
    assert.ok(
      firedAfter < loopMs + NOT_BLOCKED_MS,
      `a 10 ms timer fired after ${firedAfter.toFixed(0)} ms (loop ${loopMs.toFixed(0)} ms)`,
    );
    // one 64 KiB batch went to the (stuck) write, 256 KiB wait, the rest is dropped
    const inFlight = Math.ceil(65536 / 100);
    const waiting = Math.floor(256 * 1024 / 100);
    assert.equal(writer.dropped, lines - inFlight - waiting);
    const t0 = performance.now();
    await writer.close();
    const closeMs = performance.now() - t0;
    // not before its 300 ms timeout (less the timer's 1 ms rounding), and not blocked on the pipe
    assert.ok(closeMs >= 250 && closeMs < NOT_BLOCKED_MS, `close() returned after ${closeMs.toFixed(0)} ms`);
    assert.equal(writer.dropped, lines - inFlight, "the waiting lines are dropped at the close timeout");
    child.kill("SIGKILL");
    await child.status;
    // the stuck write ends (EPIPE or a short write) once the reader is gone
    while (writer.writeErrors === 0) await new Promise((r) => setTimeout(r, 10));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.stdout.cancel();
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AccessLogWriter delivers every line it did not drop, in order, once a slow reader drains", async () => {
  const { dir, path } = await mkfifo();
  const child = reader(path, 0.3);
  const output = new Response(child.stdout).text(); // read as cat writes, or cat stops reading the FIFO
  try {
    const writer = new AccessLogWriter(path, { maxBufferBytes: 128 * 1024, closeTimeoutMs: 30_000 });
    const kept: number[] = [];
    let next = 0;
    const burst = (n: number) => {
      for (let i = 0; i < n; i++, next++) {
        const dropped = writer.dropped;
        writer.write(numbered(next));
        if (writer.dropped === dropped) kept.push(next);
      }
    };
    burst(5000); // 500 KB while the reader sleeps: 64 KiB in flight, 128 KiB waiting, the rest dropped
    assert.equal(writer.dropped, 5000 - Math.ceil(65536 / 100) - Math.floor(128 * 1024 / 100));
    // The reader wakes up and drains: wait for it (flush() resolves once every kept line is out), not
    // for a time it may miss when it waits for a core.
    await writer.flush();
    for (let round = 0; round < 20; round++) {
      burst(300); // 30 KB: one write in flight, the rest waiting behind it
      await writer.flush();
    }
    await writer.close();
    const received = (await output).split("\n");
    assert.equal(received.pop(), "", "ends with a newline");
    const numbers = received.map((l) => {
      assert.equal(l.length, LINE_CHARS, "lines arrive whole");
      return Number(l.slice(5, 11));
    });
    assert.equal(numbers.length, next - writer.dropped);
    assert.deepEqual(numbers, kept);
    assert.ok(kept.length > 6000 * 0.5, `most lines written after the drain arrive (${kept.length})`);
  } finally {
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
