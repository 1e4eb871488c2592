import nodeAssert from "node:assert/strict";
import { SocketIO } from "./socket_io.ts";
import { runReadLoop } from "./read_loop.ts";

/** A connected pair over 127.0.0.1: our SocketIO on one end, a raw conn on the other. */
async function pair(): Promise<{ io: SocketIO; peer: Deno.TcpConn; close(): void }> {
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

Deno.test("SocketIO.write() coalesces writes issued while one is in flight, in order", async () => {
  const p = await pair();
  try {
    const enc = new TextEncoder();
    const parts = ["head|", "a|", "b|", "c|", "tail"];
    const done = parts.map((s) => p.io.write(enc.encode(s)));
    nodeAssert.equal(p.io.writing, true);
    await Promise.all(done);
    nodeAssert.equal(p.io.writing, false);
    const total = parts.join("").length;
    nodeAssert.equal(new TextDecoder().decode(await readAll(p.peer, total)), parts.join(""));
    nodeAssert.equal(p.io.bytesWritten, total);
  } finally {
    p.close();
  }
});

Deno.test("SocketIO.write() never rejects after the peer is gone, and reports closed", async () => {
  const p = await pair();
  try {
    p.peer.close();
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < 20 && !p.io.closed; i++) await p.io.write(big); // EPIPE/ECONNRESET must not throw
    nodeAssert.equal(p.io.closed, true);
    await p.io.write(new Uint8Array([1])); // after close: resolved, dropped
  } finally {
    p.close();
  }
});

Deno.test("SocketIO.close() runs onClose once and settles queued writes", async () => {
  const p = await pair();
  try {
    let closes = 0;
    p.io.onClose = () => closes++;
    const first = p.io.write(new Uint8Array(8));
    const queued = p.io.write(new Uint8Array(8));
    p.io.close();
    p.io.close();
    await Promise.all([first, queued]);
    nodeAssert.equal(closes, 1);
  } finally {
    p.close();
  }
});

Deno.test("runReadLoop() feeds initial bytes first, waits on a sink's promise, then reports EOF", async () => {
  const p = await pair();
  try {
    const seen: string[] = [];
    let eof = false;
    const dec = new TextDecoder();
    const loop = runReadLoop(p.peer, {
      feed(d) {
        seen.push(dec.decode(d));
        return new Promise((r) => setTimeout(r, 5)); // backpressure: no read until this settles
      },
      onEof() {
        eof = true;
      },
    }, new TextEncoder().encode("sniffed|"));
    await p.io.write(new TextEncoder().encode("rest"));
    p.io.close();
    await loop;
    nodeAssert.equal(seen.join(""), "sniffed|rest");
    nodeAssert.equal(seen[0], "sniffed|");
    nodeAssert.ok(eof);
  } finally {
    p.close();
  }
});

Deno.test("SocketIO.closeAfterWrites() lets issued writes out, then closes", async () => {
  const p = await pair();
  try {
    const data = new Uint8Array(256 * 1024).fill(7);
    void p.io.write(data);
    p.io.closeAfterWrites();
    nodeAssert.equal(p.io.closed, false);
    const got = await readAll(p.peer, data.length + 1); // reads until EOF
    nodeAssert.equal(got.length, data.length);
    nodeAssert.equal(p.io.closed, true);
  } finally {
    p.close();
  }
});
