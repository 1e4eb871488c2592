/**
 * SocketIO over a scripted conn (FakeConn) where the test must count `conn.write` calls or hold a write in
 * flight, and over real loopback sockets where the kernel's behaviour is the point (EPIPE, byte order).
 */
import { assert, assertEquals } from "../../tests/_assert.ts";
import { FakeConn } from "./_fake_conn.ts";
import { SocketIO } from "./socket_io.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function text(s: string): Uint8Array {
  return enc.encode(s);
}

/** Tracks when a promise settles, so a test can say "not yet" without waiting for it. */
function track(p: Promise<unknown>): { readonly settled: boolean } {
  const state = { settled: false };
  p.then(() => state.settled = true, () => state.settled = true);
  return state;
}

/** True when `p` is already settled (its callbacks run before this await resumes). */
async function settledNow(p: Promise<unknown>): Promise<boolean> {
  const t = track(p);
  await Promise.resolve();
  return t.settled;
}

/** A connected pair over 127.0.0.1: a SocketIO on one end, a raw conn on the other. */
async function loopback(): Promise<{ io: SocketIO; peer: Deno.TcpConn; close(): void }> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = l.accept();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port });
  const peer = await accepted;
  l.close();
  const io = new SocketIO(client);
  return {
    io,
    peer,
    close() {
      io.close();
      try {
        peer.close();
      } catch {
        // already closed
      }
    },
  };
}

/** Reads `n` bytes, or until EOF. */
async function readAll(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await conn.read(out.subarray(got));
    if (r === null) break;
    got += r;
  }
  return out.subarray(0, got);
}

Deno.test("SocketIO.write() sends writes issued while one is in flight as one conn.write, in order", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  const first = io.write(text("head|"));
  const rest = ["a|", "b|", "c|", "tail"].map((s) => io.write(text(s)));
  assertEquals(fake.writes.length, 1, "only the first write goes out while it is in flight");
  assert(io.writing);
  const queued = rest.map(track);

  (await fake.writeCall(0)).accept();
  await first;
  const batch = await fake.writeCall(1);
  assertEquals(dec.decode(batch.bytes), "a|b|c|tail");
  assert(queued.every((q) => !q.settled), "queued writes settle only once their batch is written");

  batch.accept();
  await Promise.all(rest);
  assertEquals(fake.writes.length, 2);
  assert(!io.writing);
  assertEquals(io.bytesWritten, "head|a|b|c|tail".length);
  assertEquals(io.bytesSubmitted, "head|a|b|c|tail".length);
});

Deno.test("SocketIO.write() delivers many coalesced writes in order over a real socket", async () => {
  const p = await loopback();
  try {
    // Sizes straddle the 64 KiB pooled join buffer: batches both fit in one and need their own.
    const sizes = [5, 1, 70_000, 3, 40_000, 30_000, 1, 128 * 1024, 7];
    const parts = sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
    const total = sizes.reduce((a, b) => a + b, 0);
    const reading = readAll(p.peer, total);
    await Promise.all(parts.map((b) => p.io.write(b)));
    const got = await reading;
    assertEquals(got.length, total);
    let off = 0;
    for (let i = 0; i < parts.length; i++) {
      assert(got.subarray(off, off + sizes[i]!).every((b) => b === i + 1), `part ${i} intact and in order`);
      off += sizes[i]!;
    }
    assertEquals(p.io.bytesWritten, total);
  } finally {
    p.close();
  }
});

Deno.test("SocketIO.write() finishes a partial write before the next batch and counts bytesWritten exactly", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  const a = io.write(text("AAAAAAAAAA")); // 10
  const b = io.write(text("BBBBB"));
  const c = io.write(text("CCCCC"));
  const aDone = track(a);
  assertEquals(io.bytesSubmitted, 20);
  assertEquals(io.queuedBytes, 20);

  (await fake.writeCall(0)).accept(4);
  const aRest = await fake.writeCall(1);
  assertEquals(dec.decode(aRest.bytes), "AAAAAA", "the rest of the first write, not the batch");
  assertEquals(io.bytesWritten, 4);
  assertEquals(io.queuedBytes, 16);
  assert(!aDone.settled, "a partly written write is not done");

  aRest.accept();
  await a;
  const batch = await fake.writeCall(2);
  assertEquals(dec.decode(batch.bytes), "BBBBBCCCCC");
  assertEquals(io.bytesWritten, 10);
  batch.accept(3);
  const batchRest = await fake.writeCall(3);
  assertEquals(dec.decode(batchRest.bytes), "BBCCCCC");
  assertEquals(io.bytesWritten, 13);
  batchRest.accept();
  await Promise.all([b, c]);
  assertEquals(io.bytesWritten, 20);
  assertEquals(io.queuedBytes, 0);
  assertEquals(fake.writes.length, 4);
});

Deno.test("SocketIO.write() never rejects after the peer is gone, and reports closed", async () => {
  const p = await loopback();
  try {
    let closes = 0;
    p.io.onClose = () => closes++;
    p.peer.close();
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < 50 && !p.io.closed; i++) await p.io.write(big); // EPIPE/ECONNRESET must not throw
    assert(p.io.closed, "the failed write closed the socket");
    assertEquals(closes, 1);
    await p.io.write(new Uint8Array([1])); // after close: resolved, dropped
    assertEquals(closes, 1);
  } finally {
    p.close();
  }
});

Deno.test("SocketIO.write() resolves the in-flight and queued writes when conn.write fails", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  let closes = 0;
  io.onClose = () => closes++;
  const first = io.write(text("one"));
  const queued = io.write(text("two"));
  (await fake.writeCall(0)).fail();
  await Promise.all([first, queued]); // a rejection here fails the test
  assert(io.closed);
  assertEquals(closes, 1);
  assertEquals(fake.closes, 1);
  assertEquals(fake.writes.length, 1, "nothing is written after the failure");
  await io.write(text("late"));
  assertEquals(fake.writes.length, 1);
});

Deno.test("SocketIO.close() settles queued writes and runs onClose once", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  let closes = 0;
  io.onClose = () => closes++;
  const first = io.write(text("in flight"));
  const queued = track(io.write(text("queued")));
  io.close();
  io.close();
  await first; // the conn's close failed the write in flight; SocketIO resolves it anyway
  assert(queued.settled, "the queued write settled on close");
  assertEquals(closes, 1);
  assertEquals(fake.closes, 1);
  assertEquals(fake.writes.length, 1, "the queued write was dropped, not sent");
  assert(io.closed);
  assert(!io.writing);
});

Deno.test("SocketIO.closeAfterWrites() lets every issued write out, then closes", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  let closes = 0;
  io.onClose = () => closes++;
  void io.write(text("last response"));
  void io.write(text("goaway"));
  io.closeAfterWrites();
  assert(!io.closed);
  (await fake.writeCall(0)).accept();
  const queued = await fake.writeCall(1);
  assertEquals(dec.decode(queued.bytes), "goaway", "the queued write still goes out");
  assert(!io.closed, "not closed while a write is in flight");
  queued.accept(2);
  const rest = await fake.writeCall(2); // the rest of a partial write
  assert(!io.closed, "not closed while a partial write is unfinished");
  rest.accept();
  await fake.whenClosed();
  assert(io.closed, "closed once everything was written");
  assertEquals(fake.closes, 1);
  assertEquals(closes, 1);
  assertEquals(io.bytesWritten, "last responsegoaway".length);

  const idle = new FakeConn();
  const idleIO = new SocketIO(idle.conn);
  idleIO.closeAfterWrites();
  assert(idleIO.closed, "nothing to write: closed at once");
  assertEquals(idle.closes, 1);
});

Deno.test("SocketIO.closeAfterWrites() over a real socket: the peer reads everything, then EOF", async () => {
  const p = await loopback();
  try {
    const data = new Uint8Array(256 * 1024).fill(7);
    void p.io.write(data);
    p.io.closeAfterWrites();
    assert(!p.io.closed);
    const got = await readAll(p.peer, data.length + 1); // reads until EOF
    assertEquals(got.length, data.length);
    assert(p.io.closed);
  } finally {
    p.close();
  }
});

Deno.test("SocketIO.congested is true above highWaterMark; drained() resolves at half the mark", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn, { highWaterMark: 100 });
  assert(await settledNow(io.drained()), "nothing queued: drained at once");
  void io.write(new Uint8Array(30));
  void io.write(new Uint8Array(70));
  assertEquals(io.queuedBytes, 100);
  assert(!io.congested, "at the mark is not above it");
  void io.write(new Uint8Array(1));
  assert(io.congested);
  const drained = track(io.drained());

  (await fake.writeCall(0)).accept(); // 71 left: under the mark, above half
  const batch = await fake.writeCall(1);
  assertEquals(io.queuedBytes, 71);
  assert(!io.congested);
  assert(!drained.settled, "not drained above half the mark");

  void io.write(new Uint8Array(50)); // 121
  assert(io.congested);
  batch.accept(); // 50 left: exactly half
  await fake.writeCall(2);
  assertEquals(io.queuedBytes, 50);
  assert(!io.congested);
  assert(drained.settled, "drained at half the mark");
  assert(await settledNow(io.drained()), "at half the mark a new waiter is drained at once");

  // A socket that closes wakes whoever waits for it to drain.
  void io.write(new Uint8Array(200));
  const waiting = track(io.drained());
  assert(!waiting.settled);
  io.close();
  assert(await settledNow(io.drained()));
  assert(waiting.settled, "close wakes drain waiters");
});

Deno.test("SocketIO.write() past maxQueuedBytes closes the socket and calls onOverflow once", async () => {
  const fake = new FakeConn();
  let overflows = 0;
  let closes = 0;
  const io = new SocketIO(fake.conn, {
    highWaterMark: 10,
    maxQueuedBytes: 100,
    onOverflow: () => overflows++,
  });
  io.onClose = () => closes++;
  void io.write(new Uint8Array(60)); // in flight, never completes: the peer does not read
  void io.write(new Uint8Array(40));
  assertEquals(io.queuedBytes, 100);
  assert(!io.closed, "at the cap is still allowed");
  assertEquals(overflows, 0);
  await io.write(new Uint8Array(1)); // resolves, though dropped
  assert(io.closed);
  assertEquals(fake.closes, 1);
  assertEquals(overflows, 1);
  assertEquals(closes, 1);
  await io.write(new Uint8Array(1000));
  assertEquals(overflows, 1, "told once");
  assertEquals(io.bytesSubmitted, 100, "the dropped write is not counted as submitted");

  // Without maxQueuedBytes the cap is 16 × highWaterMark.
  const fake2 = new FakeConn();
  let overflows2 = 0;
  const io2 = new SocketIO(fake2.conn, { highWaterMark: 10, onOverflow: () => overflows2++ });
  void io2.write(new Uint8Array(160));
  assert(!io2.closed);
  void io2.write(new Uint8Array(1));
  assert(io2.closed);
  assertEquals(overflows2, 1);
});

Deno.test("SocketIO.write() joins a batch in a pooled buffer and keeps none once it is written", async () => {
  /** One burst: a write, then two queued behind it; returns the batch's write call. */
  async function burst(fake: FakeConn, io: SocketIO) {
    const first = fake.writes.length;
    const done = Promise.all([io.write(text("x")), io.write(text("yy")), io.write(text("zzz"))]);
    (await fake.writeCall(first)).accept();
    return { batch: await fake.writeCall(first + 1), done };
  }
  const fakeA = new FakeConn();
  const a = await burst(fakeA, new SocketIO(fakeA.conn));
  assertEquals(dec.decode(a.batch.bytes), "yyzzz");
  const joinBuffer = a.batch.data.buffer;
  assertEquals(joinBuffer.byteLength, 64 * 1024, "joined in a pooled 64 KiB buffer");

  // While A's batch is in flight its buffer is A's alone.
  const fakeB = new FakeConn();
  const b = await burst(fakeB, new SocketIO(fakeB.conn));
  assert(b.batch.data.buffer !== joinBuffer, "a buffer in use is not handed out twice");
  b.batch.accept();
  await b.done;

  // Once written, A holds nothing: the next burst anywhere gets that very buffer (the pool is LIFO).
  a.batch.accept();
  await a.done;
  const fakeC = new FakeConn();
  const c = await burst(fakeC, new SocketIO(fakeC.conn));
  assert(c.batch.data.buffer === joinBuffer, "A's join buffer went back to the pool");
  c.batch.accept();
  await c.done;
});

Deno.test("SocketIO.drained() wakes as soon as a partial write brings the queue under half the mark", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn, { highWaterMark: 100 });
  void io.write(new Uint8Array(300)); // one large chunk in flight
  assert(io.congested);
  const drained = track(io.drained());
  const w = await fake.writeCall(0);
  w.accept(260); // 40 left, still in the same chunk
  await fake.writeCall(1);
  assertEquals(io.queuedBytes, 40);
  assert(drained.settled, "producers resume before the chunk's tail is out");
});

Deno.test("SocketIO.close() leaves no queued bytes: a closed socket is never congested", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn, { highWaterMark: 100 });
  void io.write(new Uint8Array(500));
  await fake.writeCall(0);
  assert(io.congested);
  io.close();
  assertEquals(io.queuedBytes, 0);
  assert(!io.congested);
});

Deno.test("SocketIO.write() sends queued chunks that sit end to end in one buffer as one view, uncopied", async () => {
  const fake = new FakeConn();
  const io = new SocketIO(fake.conn);
  void io.write(text("first"));
  const slab = text("aaabbbccc---ddd");
  for (const [s, e] of [[0, 3], [3, 6], [6, 9]]) void io.write(slab.subarray(s, e));
  (await fake.writeCall(0)).accept();
  const joined = await fake.writeCall(1);
  assertEquals(dec.decode(joined.bytes), "aaabbbccc");
  assertEquals(joined.data.buffer, slab.buffer, "a view of the slab itself, no join buffer");
  assertEquals(joined.data.byteOffset, 0);
  // Runs in different places are copied, one run at a time, in order.
  void io.write(slab.subarray(12, 15));
  void io.write(text("x"));
  void io.write(slab.subarray(0, 3));
  void io.write(slab.subarray(3, 6));
  joined.accept();
  const mixed = await fake.writeCall(2);
  assertEquals(dec.decode(mixed.bytes), "dddxaaabbb");
  assert(mixed.data.buffer !== slab.buffer);
});
