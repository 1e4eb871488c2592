/**
 * RPC frames in batches (transport/write_batch.ts), end to end through the bolt codecs over real
 * `SocketIO`s on scripted conns, as the proxy's hot path runs them: a minimal forwarder stands where
 * ProxyStream does (each request on an upstream stream, each response back
 * to its downstream stream), and the test counts `conn.write` calls and checks what provably never left.
 */
import assert from "node:assert/strict";
import type { ProxyError } from "../core/mod.ts";
import { FakeConn } from "../transport/_fake_conn.ts";
import { runReadLoop, SocketIO } from "../transport/mod.ts";
import {
  boltCodec,
  defaultCodecOptions,
  type HeaderMap,
  type ResponseHead,
  type ResponseReceiver,
  type ServerConnectionHandler,
  type ServerStream,
} from "../codec/mod.ts";
import { CAPTURED_REQUEST, CAPTURED_RESPONSE, RecordingClientHandler } from "../codec/bolt/_test_io.ts";

function withId(frame: Uint8Array, id: number): Uint8Array {
  const f = frame.slice();
  new DataView(f.buffer).setUint32(5, id);
  return f;
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The ids of the bolt v1 frames back to back in `b`. */
function ids(b: Uint8Array, frameLength: number): number[] {
  const out: number[] = [];
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let off = 0; off < b.length; off += frameLength) out.push(view.getUint32(off + 5));
  return out;
}

class Forwarded implements ResponseReceiver {
  reset: ProxyError | undefined;
  constructor(readonly ds: ServerStream) {}
  onResponse(head: ResponseHead, endStream: boolean): void {
    void this.ds.sendResponse(head, endStream);
  }
  onData(): void {}
  onTrailers(_t: HeaderMap): void {}
  onReset(error: ProxyError): void {
    this.reset = error;
  }
}

function setup() {
  const down = new FakeConn();
  const up = new FakeConn();
  const downIo = new SocketIO(down.conn);
  const upIo = new SocketIO(up.conn);
  const client = boltCodec.newClientConnection(upIo, new RecordingClientHandler(), defaultCodecOptions);
  const forwarded: Forwarded[] = [];
  const handler: ServerConnectionHandler = {
    onRequest(ds: ServerStream): void {
      const f = new Forwarded(ds);
      forwarded.push(f);
      void client.newStream(f).sendRequest(ds.request, true);
    },
    onProtocolError(): void {},
  };
  const server = boltCodec.newServerConnection(downIo, handler, defaultCodecOptions);
  const loops = [runReadLoop(down.conn, server), runReadLoop(up.conn, client)];
  return { down, up, forwarded, loops };
}

const N = 8;

Deno.test("bolt: N frames in one read leave as one upstream write; N responses in one read as one downstream write", async () => {
  const { down, up, loops } = setup();
  const requests = Array.from({ length: N }, (_, i) => withId(CAPTURED_REQUEST, 100 + i));
  (await down.readCall(0)).deliver(join(requests));
  await down.readCall(1);
  assert.equal(up.writes.length, 1, "one upstream write for the read's frames");
  const upstreamIds = ids(up.writes[0]!.bytes, CAPTURED_REQUEST.length);
  assert.equal(upstreamIds.length, N);
  up.writes[0]!.accept();

  // The upstream answers all of them, out of order, in one read.
  const answers = [...upstreamIds].reverse().map((id) => withId(CAPTURED_RESPONSE, id));
  (await up.readCall(0)).deliver(join(answers));
  await up.readCall(1);
  assert.equal(down.writes.length, 1, "one downstream write for the read's responses");
  const downIds = ids(down.writes[0]!.bytes, CAPTURED_RESPONSE.length);
  assert.deepEqual(downIds, requests.map((_, i) => 100 + i).reverse(), "each answered under its own id");
  down.writes[0]!.accept();

  down.reads[1]!.eof();
  up.reads[1]!.eof();
  await Promise.all(loops);
});

Deno.test("bolt: streams whose batch the kernel took are never retryable; those of a batch still waiting are", async () => {
  const { down, up, forwarded, loops } = setup();
  const first = Array.from({ length: N }, (_, i) => withId(CAPTURED_REQUEST, i + 1));
  (await down.readCall(0)).deliver(join(first));
  const second = Array.from({ length: N }, (_, i) => withId(CAPTURED_REQUEST, N + i + 1));
  (await down.readCall(1)).deliver(join(second));
  await down.readCall(2);
  assert.equal(up.writes.length, 1, "the second read's frames wait behind the first read's write");
  up.writes[0]!.accept(); // the kernel took the first batch: those requests may reach the server
  await up.writeCall(1); // the second batch is in flight, not yet accepted
  // The upstream closes before the second write completes.
  (await up.readCall(0)).eof();
  await loops[1];
  assert.equal(forwarded.length, 2 * N);
  assert.deepEqual(
    forwarded.map((f) => f.reset?.retryable),
    [...Array(N).fill(false), ...Array(N).fill(true)],
  );
  down.reads[2]!.eof();
  await loops[0];
});
