import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ProxyError } from "../../core/mod.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { defaultCodecOptions, type HeaderMap, type ResponseHead, type ResponseReceiver } from "../types.ts";
import { feed, td, te } from "./_test_helpers.ts";
import { http1Codec } from "./codec.ts";
import { Http1Headers } from "./headers.ts";
import { Http1RequestHead } from "./head.ts";

class Rec implements ResponseReceiver {
  heads: ResponseHead[] = [];
  ends: boolean[] = [];
  body = "";
  ended = false;
  trailers: HeaderMap[] = [];
  resets: ProxyError[] = [];
  onResponse(h: ResponseHead, end: boolean) {
    this.heads.push(h);
    this.ends.push(end);
    if (end) this.ended = true;
  }
  onData(c: Uint8Array, end: boolean) {
    this.body += td.decode(c);
    if (end) this.ended = true;
  }
  onTrailers(t: HeaderMap) {
    this.trailers.push(t);
    this.ended = true;
  }
  onReset(e: ProxyError) {
    this.resets.push(e);
  }
}

function client() {
  const io = new FakeConnectionIO();
  const unusable: ProxyError[] = [];
  const conn = http1Codec.newClientConnection(
    io,
    { onUnusable: (e) => unusable.push(e) },
    defaultCodecOptions,
  );
  return { io, conn, unusable };
}

const get = (path = "/", host = "up:80", ...pairs: [string, string][]) =>
  new Http1RequestHead("GET", path, "", host, new Http1Headers(pairs));

Deno.test("Http1 client encodes the request line, rewritten host and query in one write", async () => {
  const { io, conn } = client();
  const s = conn.newStream(new Rec());
  const head = new Http1RequestHead(
    "POST",
    "/p",
    "?q=1",
    "new.host",
    new Http1Headers([["HOST", "old"], ["Content-Length", "2"]]),
  );
  await s.sendRequest(head, false);
  strictEqual(io.writes.length, 0);
  await s.sendData(te.encode("hi"), true);
  strictEqual(io.writes.length, 1);
  strictEqual(io.text(), "POST /p?q=1 HTTP/1.1\r\nHOST: new.host\r\nContent-Length: 2\r\n\r\nhi");
});

Deno.test("Http1 client adds Host first when the headers have none", async () => {
  const { io, conn } = client();
  await conn.newStream(new Rec()).sendRequest(get("/", "a.b", ["X", "1"]), true);
  strictEqual(io.text(), "GET / HTTP/1.1\r\nhost: a.b\r\nX: 1\r\n\r\n");
});

Deno.test("Http1 client parses Content-Length, chunked and trailers", async () => {
  const { conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
  strictEqual(r.heads[0].status, 200);
  strictEqual(r.body, "abc");
  strictEqual(r.trailers[0].get("x-t"), "1");
  strictEqual(conn.activeStreams, 0);
  ok(conn.reusable);
  const r2 = new Rec();
  await conn.newStream(r2).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
  strictEqual(r2.heads[0].reason, "Not Found");
  strictEqual(r2.body, "no");
  ok(r2.ended);
});

Deno.test("Http1 client HEAD response has no body", async () => {
  const { conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(new Http1RequestHead("HEAD", "/", "", "h"), true);
  await feed(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  deepStrictEqual(r.ends, [true]);
  ok(conn.reusable);
});

Deno.test("Http1 client skips 100 Continue", async () => {
  const { conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  strictEqual(r.heads.length, 1);
  strictEqual(r.heads[0].status, 200);
});

Deno.test("Http1 client Connection: close makes the connection unusable", async () => {
  const { io, conn, unusable } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  ok(!conn.reusable);
  ok(io.closed);
  strictEqual(unusable.length, 1);
});

Deno.test("Http1 client HTTP/1.0 response body until close", async () => {
  const { conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(conn, "HTTP/1.0 200 OK\r\n\r\nabc");
  ok(!conn.reusable);
  await feed(conn, "def");
  conn.onEof();
  strictEqual(r.body, "abcdef");
  ok(r.ended);
  strictEqual(r.resets.length, 0);
});

Deno.test("Http1 client premature EOF resets with upstream_reset", async () => {
  const { conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  conn.onEof();
  strictEqual(r.resets[0].kind, "upstream_reset");
  strictEqual(r.resets[0].source, "upstream");
  ok(!conn.reusable);
});

Deno.test("Http1 client protocol error resets with upstream_protocol_error", async () => {
  const { io, conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  strictEqual(r.resets[0].kind, "upstream_protocol_error");
  ok(io.closed && !conn.reusable);
});

Deno.test("Http1 client response before the request body finished is delivered", async () => {
  const { conn } = client();
  const r = new Rec();
  const s = conn.newStream(r);
  await s.sendRequest(new Http1RequestHead("POST", "/", "", "h"), false);
  await s.sendData(te.encode("part"), false);
  await feed(conn, "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n");
  strictEqual(r.heads[0].status, 413);
  ok(r.ended);
  ok(!conn.reusable, "request body was not finished");
});

Deno.test("Http1 client chunks a request body without Content-Length", async () => {
  const { io, conn } = client();
  const s = conn.newStream(new Rec());
  await s.sendRequest(new Http1RequestHead("POST", "/", "", "h"), false);
  await s.sendData(te.encode("ab"), false);
  await s.sendData(new Uint8Array(0), true);
  strictEqual(
    io.text(),
    "POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
  );
});

Deno.test("Http1 client Upgrade: 101 turns the connection into a tunnel", async () => {
  const { io, conn } = client();
  const r = new Rec();
  const s = conn.newStream(r);
  const head = new Http1RequestHead(
    "GET",
    "/ws",
    "",
    "h",
    new Http1Headers([["Host", "h"]]),
    1,
    true,
    "websocket",
  );
  await s.sendRequest(head, true);
  strictEqual(io.text(), "GET /ws HTTP/1.1\r\nHost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
  await feed(
    conn,
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nHTTP/1.1 raw",
  );
  strictEqual(r.heads[0].status, 101);
  strictEqual(r.body, "HTTP/1.1 raw");
  ok(!conn.reusable);
  io.clear();
  await s.sendData(te.encode("frame"), false);
  strictEqual(io.text(), "frame");
  conn.onEof();
  ok(r.ended);
});

Deno.test("Http1 client rejects a second concurrent stream, as a request another connection may carry", () => {
  const { conn } = client();
  strictEqual(conn.streamCapacity, 1);
  conn.newStream(new Rec());
  strictEqual(conn.streamCapacity, 0);
  let threw = false;
  try {
    conn.newStream(new Rec());
  } catch (e) {
    threw = e instanceof ProxyError && e.retryable;
  }
  ok(threw);
});

Deno.test("Http1 client unsolicited response is a protocol error", async () => {
  const { io, conn, unusable } = client();
  await feed(conn, "HTTP/1.1 408 Request Timeout\r\n\r\n");
  ok(io.closed);
  strictEqual(unusable[0].kind, "upstream_protocol_error");
});

Deno.test("Http1 client backpressure: a pending onData pauses feed", async () => {
  const { conn } = client();
  let release!: () => void;
  const got: string[] = [];
  const rec: ResponseReceiver = {
    onResponse() {},
    onData(c) {
      got.push(td.decode(c));
      if (got.length === 1) return new Promise<void>((r) => release = r);
      return undefined;
    },
    onTrailers() {},
    onReset() {},
  };
  await conn.newStream(rec).sendRequest(get(), true);
  const p = conn.feed(
    te.encode("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n"),
  );
  ok(p instanceof Promise);
  deepStrictEqual(got, ["a"]);
  release();
  await p;
  deepStrictEqual(got, ["a", "b", ""]);
});

/** Serves one request on the connection so the next stream rides a kept-alive connection. */
async function reuse(conn: ReturnType<typeof client>["conn"]): Promise<void> {
  const first = new Rec();
  await conn.newStream(first).sendRequest(get(), true);
  await feed(conn, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  ok(first.ended && conn.reusable);
}

Deno.test("Http1 client marks an idempotent request on a kept-alive connection resendable when it closes first", async () => {
  const { conn } = client();
  await reuse(conn);
  const r = new Rec();
  await conn.newStream(r).sendRequest(get("/again"), true);
  conn.onEof(); // the upstream closed its idle side just as we reused it
  strictEqual(r.resets.length, 1);
  strictEqual(r.resets[0]!.retryable, true);
});

Deno.test("Http1 client never marks a sent POST resendable: the upstream may have executed it", async () => {
  const { conn } = client();
  await reuse(conn);
  const r = new Rec();
  const post = new Http1RequestHead("POST", "/pay", "", "up", new Http1Headers([["Content-Length", "0"]]));
  await conn.newStream(r).sendRequest(post, true);
  conn.onEof();
  strictEqual(r.resets[0]!.retryable, false);
});

Deno.test("Http1 client marks any request resendable when none of its bytes left this host", () => {
  const io = new FakeConnectionIO({ manual: true }); // writes are "accepted by the kernel" only when settled
  const conn = http1Codec.newClientConnection(io, { onUnusable: () => {} }, defaultCodecOptions);
  const r = new Rec();
  const post = new Http1RequestHead("POST", "/pay", "", "up", new Http1Headers([["Content-Length", "0"]]));
  void conn.newStream(r).sendRequest(post, true);
  conn.onEof();
  strictEqual(r.resets[0]!.retryable, true);
});

Deno.test("Http1 client does not resend a request on a fresh connection or after response bytes", async () => {
  const fresh = client();
  const a = new Rec();
  await fresh.conn.newStream(a).sendRequest(get(), true);
  fresh.conn.onEof(); // a first request on a new connection: not the keep-alive race
  strictEqual(a.resets[0]!.retryable, false);
  const partial = client();
  await reuse(partial.conn);
  const b = new Rec();
  await partial.conn.newStream(b).sendRequest(get(), true);
  await feed(partial.conn, "HTTP/1.1 200 OK\r\nContent-Le");
  partial.conn.onEof();
  strictEqual(b.resets[0]!.retryable, false, "the upstream was answering");
});

Deno.test("Http1 client hands 103 Early Hints to the receiver and swallows 100 Continue", async () => {
  const { conn } = client();
  const infos: number[] = [];
  const r = Object.assign(new Rec(), { onInformational: (h: ResponseHead) => void infos.push(h.status) });
  await conn.newStream(r).sendRequest(get(), true);
  await feed(
    conn,
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
  );
  deepStrictEqual(infos, [103]);
  strictEqual(r.heads.length, 1);
  strictEqual(r.heads[0]!.status, 200);
  strictEqual(r.body, "ok");
});

Deno.test("Http1 client decodes response heads without hop-by-hop headers", async () => {
  const { conn } = client();
  const r = new Rec();
  await conn.newStream(r).sendRequest(get(), true);
  await feed(
    conn,
    "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: 1\r\nProxy-Connection: keep-alive\r\nX-Keep: y\r\nContent-Length: 0\r\n\r\n",
  );
  strictEqual(r.heads[0]!.headers.has("x-hop"), false);
  strictEqual(r.heads[0]!.headers.has("proxy-connection"), false);
  strictEqual(r.heads[0]!.headers.get("x-keep"), "y");
});
