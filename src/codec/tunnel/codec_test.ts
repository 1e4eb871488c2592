import assert from "node:assert/strict";
import { FakeConnectionIO } from "../_test_io.ts";
import { defaultCodecOptions, type HeaderMap, type ResponseHead, type ResponseReceiver } from "../types.ts";
import { ProxyError } from "../../core/mod.ts";
import { tcpTunnelCodec } from "./codec.ts";

class Recorder implements ResponseReceiver {
  readonly events: unknown[] = [];
  onResponse(head: ResponseHead, end: boolean): void {
    this.events.push(["response", head.status, head.headers.size, end]);
  }
  onData(chunk: Uint8Array, end: boolean): void {
    this.events.push(["data", new TextDecoder().decode(chunk), end]);
  }
  onTrailers(_t: HeaderMap): void {
    this.events.push(["trailers"]);
  }
  onReset(e: ProxyError): void {
    this.events.push(["reset", e.kind]);
  }
}

class HalfClosingIO extends FakeConnectionIO {
  halfClosed = false;
  closeWrite(): Promise<void> {
    this.halfClosed = true;
    return Promise.resolve();
  }
}

Deno.test("tcp_tunnel: answers 200 at once, relays bytes both ways, half-closes on the client's end, ends on EOF", async () => {
  const io = new HalfClosingIO();
  const unusable: string[] = [];
  const conn = tcpTunnelCodec.newClientConnection(
    io,
    { onUnusable: (e) => unusable.push(e.kind) },
    defaultCodecOptions,
  );
  assert.equal(conn.streamCapacity, 1);
  const rec = new Recorder();
  const s = conn.newStream(rec);
  assert.equal(conn.streamCapacity, 0, "one stream per connection");
  assert.equal(conn.reusable, false);
  conn.feed(new TextEncoder().encode("too early")); // before the CONNECT is answered: dropped
  await s.sendRequest({
    protocol: "Http2",
    kind: "http",
    method: "CONNECT",
    path: "",
    query: "",
    host: "x:1",
    headers: {
      get: () => undefined,
      has: () => false,
      set() {},
      add() {},
      delete() {},
      forEach() {},
      size: 0,
    },
  }, false);
  await s.sendData(new TextEncoder().encode("ping"), false);
  conn.feed(new TextEncoder().encode("pong"));
  await s.sendData(new Uint8Array(0), true);
  assert.equal(io.halfClosed, true, "the client's END_STREAM half-closes the upstream");
  conn.onEof();
  assert.deepEqual(rec.events, [["response", 200, 0, false], ["data", "pong", false], ["data", "", true]]);
  assert.equal(new TextDecoder().decode(io.bytes()), "ping", "only the client's bytes went upstream");
  assert.equal(io.closed, true);
  assert.deepEqual(unusable, ["upstream_reset"]);
  assert.throws(() => conn.newStream(new Recorder()), (e) => e instanceof ProxyError && e.retryable);
});

Deno.test("tcp_tunnel: the upstream closing before the CONNECT is answered resets the stream", () => {
  const io = new FakeConnectionIO();
  const conn = tcpTunnelCodec.newClientConnection(io, { onUnusable() {} }, defaultCodecOptions);
  const rec = new Recorder();
  conn.newStream(rec);
  conn.onEof();
  assert.deepEqual(rec.events, [["reset", "upstream_reset"]]);
});
