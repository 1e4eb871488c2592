/**
 * Write batches over scripted conns (FakeConn): the test counts `conn.write` calls, so "one syscall per
 * socket per read" is counted, not inferred, and the byte marks retry safety relies on are checked while
 * bytes are held.
 */
import { assert, assertEquals } from "../../tests/_assert.ts";
import { FakeConn, settle } from "./_fake_conn.ts";
import { runReadLoop } from "./read_loop.ts";
import { SocketIO } from "./socket_io.ts";
import { beginWriteBatch, endWriteBatch, inWriteBatch } from "./write_batch.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("beginWriteBatch() holds a socket's writes until the outermost endWriteBatch(), then sends them as one", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  beginWriteBatch();
  const first = io.write(enc.encode("a|"));
  beginWriteBatch(); // nested: only the outermost end flushes
  const second = io.write(enc.encode("b|"));
  endWriteBatch();
  assert(inWriteBatch());
  assertEquals(fake.writes.length, 0, "nothing is written while the batch is open");
  assert(io.writing, "held bytes count as writing (encoders must not reuse their buffers)");
  assertEquals(io.bytesSubmitted, 4);
  assertEquals(io.bytesWritten, 0);
  endWriteBatch();
  assert(!inWriteBatch());
  assertEquals(fake.writes.length, 1);
  assertEquals(dec.decode(fake.writes[0]!.bytes), "a|b|");
  fake.writes[0]!.accept();
  await Promise.all([first, second]);
  assertEquals(io.bytesWritten, 4);
  assert(!io.writing);
  // Outside a batch a write goes out at once, as before.
  void io.write(enc.encode("c"));
  assertEquals(fake.writes.length, 2);
});

Deno.test("endWriteBatch() flushes every socket that held writes; a socket already writing just queues", async () => {
  const a = new FakeConn();
  const b = new FakeConn();
  const ioA = new SocketIO(a.conn);
  const ioB = new SocketIO(b.conn);
  void ioB.write(enc.encode("in flight"));
  assertEquals(b.writes.length, 1);
  beginWriteBatch();
  for (let i = 0; i < 5; i++) {
    void ioA.write(enc.encode(`${i}`));
    void ioB.write(enc.encode(`${i}`));
  }
  endWriteBatch();
  assertEquals(a.writes.length, 1);
  assertEquals(dec.decode(a.writes[0]!.bytes), "01234");
  assertEquals(b.writes.length, 1, "B's batch waits for its write in flight, as without a batch");
  b.writes[0]!.accept();
  assertEquals(dec.decode((await b.writeCall(1)).bytes), "01234");
});

Deno.test("SocketIO.close() while writes are held drops them: they never left, so bytesWritten stays below the mark", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  void io.write(enc.encode("earlier"));
  fake.writes[0]!.accept();
  await settle();
  beginWriteBatch();
  const mark = io.bytesSubmitted; // what a codec notes before writing a stream's request
  const held = io.write(enc.encode("request"));
  io.close();
  endWriteBatch();
  await held; // settles, never rejects
  assertEquals(fake.writes.length, 1, "the held bytes were never handed to the kernel");
  assert(io.bytesWritten <= mark, "the stream is provably unsent: safe to send again");
});

Deno.test("runReadLoop() feeds each read inside a batch: N writes to M sockets cost M writes", async () => {
  const down = new FakeConn();
  const ups = [new FakeConn(), new FakeConn()];
  const ios = ups.map((u) => new SocketIO(u.conn));
  const echo = new SocketIO(down.conn);
  const sink = {
    feed(d: Uint8Array): void {
      // As a proxy does with a read of RPC frames: every byte is a request routed to one of two
      // upstreams, and answered on the downstream socket too.
      for (const byte of d) {
        void ios[byte % 2]!.write(Uint8Array.of(byte));
        void echo.write(Uint8Array.of(byte));
      }
    },
    onEof(): void {},
  };
  const loop = runReadLoop(down.conn, sink);
  (await down.readCall(0)).deliver(Uint8Array.of(1, 2, 3, 4, 5, 6));
  await down.readCall(1);
  assertEquals(ups.map((u) => u.writes.map((w) => [...w.bytes])), [[[2, 4, 6]], [[1, 3, 5]]]);
  assertEquals(down.writes.map((w) => [...w.bytes]), [[1, 2, 3, 4, 5, 6]]);
  down.reads[1]!.eof();
  await loop;
});

Deno.test("runReadLoop() ends the batch when the sink throws: later writes are not held", async () => {
  const down = new FakeConn();
  const up = new FakeConn();
  const io = new SocketIO(up.conn);
  const loop = runReadLoop(down.conn, {
    feed(): void {
      void io.write(enc.encode("x"));
      throw new Error("codec bug");
    },
    onEof(): void {},
  });
  (await down.readCall(0)).deliver(enc.encode("r"));
  await loop.catch(() => {});
  assert(!inWriteBatch());
  assertEquals(up.writes.length, 1, "what was held went out when the batch closed");
});
