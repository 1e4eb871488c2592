/**
 * runReadLoop over a scripted conn (FakeConn): the test sees every `read` call and the buffer it was
 * given, so backpressure (no read while the sink is busy) and buffer sizes are counted, not inferred.
 */
import { assert, assertEquals } from "../../tests/_assert.ts";
import { FakeConn, settle } from "./_fake_conn.ts";
import { readBuffers } from "./buffer_pool.ts";
import { IDLE_READ_BYTES, runReadLoop } from "./read_loop.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A sink whose `feed` returns a promise the test resolves, recording what it was fed. */
function slowSink() {
  const fed: string[] = [];
  const release: (() => void)[] = [];
  let eof = 0;
  let onFeed: (() => void) | undefined;
  return {
    fed,
    get eof() {
      return eof;
    },
    sink: {
      feed(d: Uint8Array): Promise<void> {
        fed.push(dec.decode(d));
        onFeed?.();
        return new Promise<void>((r) => release.push(r));
      },
      onEof() {
        eof++;
      },
    },
    /** Resolves once `n` feeds have happened. */
    fedCount(n: number): Promise<void> {
      if (fed.length >= n) return Promise.resolve();
      return new Promise((resolve) => {
        onFeed = () => {
          if (fed.length < n) return;
          onFeed = undefined;
          resolve();
        };
      });
    },
    /** Settles the promise the `i`-th feed returned. */
    finish(i: number): void {
      release[i]!();
    },
  };
}

Deno.test("runReadLoop() feeds initial bytes first and reads nothing while the sink's promise is pending", async () => {
  const fake = new FakeConn();
  const s = slowSink();
  const loop = runReadLoop(fake.conn, s.sink, enc.encode("sniffed|"));
  await s.fedCount(1);
  assertEquals(s.fed, ["sniffed|"], "the sniffed bytes come first");
  await settle();
  assertEquals(fake.reads.length, 0, "no read while the sink still holds the initial bytes");

  s.finish(0);
  (await fake.readCall(0)).deliver(enc.encode("rest"));
  await s.fedCount(2);
  assertEquals(s.fed, ["sniffed|", "rest"]);
  await settle();
  assertEquals(fake.reads.length, 1, "no second read while the sink's promise is pending");

  s.finish(1);
  (await fake.readCall(1)).eof();
  await loop;
  assertEquals(s.eof, 1);
  assertEquals(fake.reads.length, 2, "nothing read after EOF");
});

Deno.test("runReadLoop() keeps reading while the sink returns nothing, and treats a read error as EOF", async () => {
  const fake = new FakeConn();
  const fed: string[] = [];
  let eof = 0;
  const loop = runReadLoop(fake.conn, {
    feed: (d) => void fed.push(dec.decode(d)),
    onEof: () => eof++,
  });
  (await fake.readCall(0)).deliver(enc.encode("a"));
  (await fake.readCall(1)).deliver(enc.encode("b"));
  (await fake.readCall(2)).fail(); // connection reset
  await loop; // does not reject
  assertEquals(fed, ["a", "b"]);
  assertEquals(eof, 1);
});

Deno.test("runReadLoop() reads into a small buffer while idle and a pooled large one while data flows", async () => {
  const fake = new FakeConn();
  let eof = 0;
  const freeBefore = readBuffers.free;
  const loop = runReadLoop(fake.conn, { feed() {}, onEof: () => eof++ });

  const idle = await fake.readCall(0);
  assertEquals(idle.buf.length, IDLE_READ_BYTES);
  assertEquals(IDLE_READ_BYTES, 4096);
  idle.fill(); // a full read: data is flowing

  const large = await fake.readCall(1);
  assertEquals(large.buf.length, readBuffers.size);
  assertEquals(readBuffers.size, 64 * 1024);
  large.fill(); // still flowing: keep the large buffer
  const stillLarge = await fake.readCall(2);
  assert(stillLarge.buf === large.buf, "the same large buffer while reads come back full");
  stillLarge.deliver(enc.encode("short")); // a short read: the burst is over

  const backToSmall = await fake.readCall(3);
  assert(backToSmall.buf === idle.buf, "back to the connection's small buffer");
  assertEquals(readBuffers.free, freeBefore + 1, "the large buffer went back to the pool");

  // The next burst takes it from the pool again; EOF in the middle of a burst returns it too.
  backToSmall.fill();
  const again = await fake.readCall(4);
  assert(again.buf === large.buf, "the pooled buffer is reused");
  assertEquals(readBuffers.free, freeBefore);
  again.eof();
  await loop;
  assertEquals(eof, 1);
  assertEquals(readBuffers.free, freeBefore + 1, "a loop that ends holds no large buffer");
});
