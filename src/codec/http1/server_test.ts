import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { FakeClock, ProxyError } from "../../core/mod.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { defaultCodecOptions } from "../types.ts";
import { http1Codec } from "./codec.ts";
import { LOCAL_REPLY_CLOSE_DELAY_MS } from "./server.ts";
import { feed, recorder, server, te, tick } from "./_test_helpers.ts";
import { Http1Headers } from "./headers.ts";
import { Http1ResponseHead } from "./head.ts";

const ok200 = (...pairs: [string, string][]) => new Http1ResponseHead(200, new Http1Headers(pairs));

function rejects(name: string, input: string, status = 400) {
  Deno.test(`Http1 server rejects ${name}`, async () => {
    const s = server();
    await feed(s.conn, input);
    await tick();
    strictEqual(s.errors.length, 1, "onProtocolError");
    ok(s.io.text().startsWith(`HTTP/1.1 ${status} `), s.io.text());
    ok(s.io.text().includes("connection: close"));
    ok(s.io.closed);
    strictEqual(s.streams.length, /chunk-size|after chunk/.test(name) ? 1 : 0);
  });
}

rejects(
  "Content-Length with Transfer-Encoding",
  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
);
rejects(
  "differing duplicate Content-Length",
  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
);
rejects("non-numeric Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\nabc");
rejects("negative Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n");
rejects("Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc");
rejects(
  "Transfer-Encoding gzip, chunked",
  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
);
rejects(
  "Transfer-Encoding chunked twice",
  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
);
rejects("Transfer-Encoding identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n");
rejects("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
rejects("invalid header name char", "GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n");
rejects("empty header name", "GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n");
rejects("whitespace before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n");
rejects("control char in header value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u0001b\r\n\r\n");
rejects("NUL in header value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\u0000b\r\n\r\n");
rejects("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n");
rejects("bare LF", "GET / HTTP/1.1\nHost: h\n\n");
rejects("bare LF in one header line", "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n");
rejects("bare CR", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n");
rejects("invalid method token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n");
rejects("missing method", " / HTTP/1.1\r\nHost: h\r\n\r\n");
rejects("request-target with CTL", "GET /a\u0001b HTTP/1.1\r\nHost: h\r\n\r\n");
rejects("relative request-target", "GET abc HTTP/1.1\r\nHost: h\r\n\r\n");
rejects("two spaces in request line", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n");
rejects("invalid version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n");
rejects("lowercase version", "GET / http/1.1\r\nHost: h\r\n\r\n");
rejects("HTTP/0.9 request", "GET /\r\n\r\n");
rejects("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: y\r\n\r\n");
rejects("two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
rejects(
  "chunk-size garbage",
  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
);
rejects(
  "chunk-size overflow",
  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
);
rejects(
  "missing CRLF after chunk",
  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n",
);
rejects(
  "oversized header section",
  "GET / HTTP/1.1\r\nHost: h\r\nX: " + "a".repeat(70_000) + "\r\n\r\n",
  431,
);
rejects("oversized request line", "GET /" + "a".repeat(70_000) + " HTTP/1.1\r\nHost: h\r\n\r\n", 431);
rejects("too many headers", "GET / HTTP/1.1\r\nHost: h\r\n" + "X: 1\r\n".repeat(101) + "\r\n", 431);

Deno.test("Http1 server honours extend.max_header_size", async () => {
  const s = server({ extend: { max_header_size: 64 } });
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + "a".repeat(60) + "\r\n\r\n");
  ok(s.io.text().startsWith("HTTP/1.1 431 "));
  strictEqual(s.errors[0].kind, "header_too_large");
  ok(s.io.closed);
});

Deno.test("Http1 server oversized header is detected without waiting for its end", async () => {
  const s = server({ maxHeaderBytes: 100 });
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
  await feed(s.conn, "a".repeat(200));
  strictEqual(s.errors.length, 1);
});

Deno.test("Http1 server decodes the request head", async () => {
  const s = server();
  await feed(
    s.conn,
    "\r\nGET /a/b?x=1&y HTTP/1.1\r\nHost: ExAmple.COM:8080\r\nX-Custom: v  \r\ncontent-length: 0\r\n\r\n",
  );
  const st = s.streams[0];
  const r = st.request;
  strictEqual(r.protocol, "Http1");
  strictEqual(r.method, "GET");
  strictEqual(r.path, "/a/b");
  strictEqual(r.query, "?x=1&y");
  strictEqual(r.host, "example.com:8080");
  strictEqual(r.headers.get("x-custom"), "v");
  const names: string[] = [];
  r.headers.forEach((_v, n) => names.push(n));
  deepStrictEqual(names, ["Host", "X-Custom", "content-length"]);
  ok(st.headOnly);
});

Deno.test("Http1 server folds identical duplicate Content-Length", async () => {
  const s = server();
  await feed(s.conn, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  strictEqual(s.errors.length, 0);
  strictEqual(s.body.join(""), "abc");
  strictEqual(s.streams[0].request.headers.size, 2);
});

Deno.test("Http1 server accepts absolute-form target", async () => {
  const s = server();
  await feed(s.conn, "GET http://Other.example:81/p?q HTTP/1.1\r\nHost: ignored\r\n\r\n");
  const r = s.streams[0].request;
  strictEqual(r.host, "other.example:81");
  strictEqual(r.path, "/p");
  strictEqual(r.query, "?q");
});

Deno.test("Http1 server delivers a chunked body with trailers", async () => {
  const s = server();
  await feed(
    s.conn,
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 9\r\n\r\n",
  );
  strictEqual(s.errors.length, 0);
  strictEqual(s.body.join(""), "hello world");
  strictEqual(s.trailers[0].get("x-sum"), "9");
  strictEqual(s.ended, 1);
});

Deno.test("Http1 server passes body chunks as views of the input (zero copy)", async () => {
  const s = server();
  const input = te.encode("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd");
  let view: Uint8Array | undefined;
  strictEqual(s.streams.length, 0);
  const s2 = server({}, false);
  const r = s2.conn.feed(input);
  s2.streams[0].setBodyReceiver({
    onData(c) {
      view = c;
    },
    onTrailers() {},
    onReset() {},
  });
  await r;
  ok(view !== undefined && view.buffer === input.buffer);
});

Deno.test("Http1 server waits for the body receiver before delivering the body", async () => {
  const s = server({}, false);
  const p = s.conn.feed(te.encode("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"));
  ok(p instanceof Promise, "feed must return a promise while no receiver is set");
  await tick();
  s.streams[0].setBodyReceiver(recorder(s));
  await p;
  strictEqual(s.body.join(""), "abc");
});

Deno.test("Http1 server backpressure: a pending onData promise pauses feed", async () => {
  const s = server({}, false);
  let release!: () => void;
  const got: string[] = [];
  const p = s.conn.feed(
    te.encode(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n",
    ),
  );
  s.streams[0].setBodyReceiver({
    onData(c) {
      got.push(new TextDecoder().decode(c));
      if (got.length === 1) return new Promise<void>((r) => release = r);
      return undefined;
    },
    onTrailers() {},
    onReset() {},
  });
  ok(p instanceof Promise);
  await tick();
  deepStrictEqual(got, ["a"]);
  release();
  await p;
  deepStrictEqual(got, ["a", "b", ""]);
});

Deno.test("Http1 server pipelining: responses are written in request order", async () => {
  const s = server();
  const p = s.conn.feed(te.encode("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"));
  strictEqual(s.streams.length, 1, "second request waits for the first response");
  strictEqual(s.conn.activeStreams, 1);
  await s.streams[0].sendResponse(ok200(["Content-Length", "1"]), false);
  await s.streams[0].sendData(te.encode("1"), true);
  await p;
  strictEqual(s.streams.length, 2);
  await s.streams[1].sendResponse(ok200(["Content-Length", "1"]), false);
  await s.streams[1].sendData(te.encode("2"), true);
  strictEqual(
    s.io.text(),
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2",
  );
  strictEqual(s.conn.activeStreams, 0);
  ok(!s.io.closed);
});

Deno.test("Http1 server coalesces head and small body into one write", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  await s.streams[0].sendResponse(ok200(["Content-Length", "5"]), false);
  strictEqual(s.io.writes.length, 0);
  await s.streams[0].sendData(te.encode("hello"), true);
  strictEqual(s.io.writes.length, 1);
});

Deno.test("Http1 server writes a large body chunk without copying", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  const big = new Uint8Array(64 * 1024).fill(97);
  await s.streams[0].sendResponse(ok200(["Content-Length", String(big.length)]), false);
  await s.streams[0].sendData(big, true);
  strictEqual(s.io.writes.length, 2);
  strictEqual(s.io.writes[1].length, big.length);
});

Deno.test("Http1 server chunks a body without Content-Length for HTTP/1.1", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  await s.streams[0].sendResponse(
    ok200(["Transfer-Encoding", "chunked"], ["Connection", "keep-alive"]),
    false,
  );
  await s.streams[0].sendData(te.encode("abc"), false);
  await s.streams[0].sendTrailers(new Http1Headers([["X-T", "1"]]));
  strictEqual(
    s.io.text(),
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
  );
});

Deno.test("Http1 server HTTP/1.0 without Content-Length: close-delimited body", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.0\r\n\r\n");
  await s.streams[0].sendResponse(ok200(), false);
  await s.streams[0].sendData(te.encode("abc"), true);
  await tick();
  strictEqual(s.io.text(), "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc");
  ok(s.io.closed);
});

Deno.test("Http1 server HTTP/1.0 keep-alive is honoured", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  await s.streams[0].sendResponse(ok200(["Content-Length", "0"]), true);
  await tick();
  ok(s.io.text().includes("connection: keep-alive"));
  ok(!s.io.closed);
});

Deno.test("Http1 server Connection: close closes after the response", async () => {
  const s = server();
  const p = s.conn.feed(
    te.encode("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n"),
  );
  await s.streams[0].sendResponse(ok200(["Content-Length", "2"]), false);
  await s.streams[0].sendData(te.encode("ok"), true);
  await p;
  await tick();
  ok(s.io.text().includes("connection: close"));
  ok(s.io.closed);
  strictEqual(s.streams.length, 1);
});

for (
  const [what, req, status] of [
    ["HEAD", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", 200],
    ["204", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 204],
    ["304", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 304],
  ] as const
) {
  Deno.test(`Http1 server ${what} response carries no body`, async () => {
    const s = server();
    await feed(s.conn, req);
    const headers: [string, string][] = status === 204 ? [] : [["Content-Length", "5"]];
    await s.streams[0].sendResponse(new Http1ResponseHead(status, new Http1Headers(headers)), false);
    await s.streams[0].sendData(te.encode("hello"), true);
    ok(!s.io.text().includes("hello"));
    ok(!s.io.text().includes("chunked"));
    ok(s.io.text().endsWith("\r\n\r\n"));
    ok(!s.io.closed);
  });
}

Deno.test("Http1 server Expect: 100-continue is answered when the receiver is set", async () => {
  const s = server({}, false);
  const p = s.conn.feed(
    te.encode("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"),
  );
  strictEqual(s.io.writes.length, 0);
  s.streams[0].setBodyReceiver(recorder(s));
  await p;
  strictEqual(s.io.text(), "HTTP/1.1 100 Continue\r\n\r\n");
  await feed(s.conn, "ok");
  strictEqual(s.body.join(""), "ok");
});

Deno.test("Http1 server Expect: 100-continue unanswered closes after a final response", async () => {
  const s = server({}, false);
  await feed(s.conn, "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  await s.streams[0].sendLocalReply(new ProxyError("forbidden", "downstream", "no"));
  await tick();
  ok(s.io.text().startsWith("HTTP/1.1 403 Forbidden\r\n"));
  ok(!s.io.text().includes("100 Continue"));
  ok(s.io.closed);
});

Deno.test("Http1 server discards an unread body after the response and keeps the connection", async () => {
  const s = server({}, false);
  await feed(s.conn, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n");
  await s.streams[0].sendLocalReply(new ProxyError("no_route", "downstream", "x"));
  await feed(s.conn, "abcGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  strictEqual(s.streams.length, 2);
  ok(s.io.text().includes("no route\n"));
  ok(!s.io.closed);
});

Deno.test("Http1 server sendLocalReply writes status, text body and content-type", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  await s.streams[0].sendLocalReply(new ProxyError("no_route", "downstream", "x"));
  strictEqual(
    s.io.text(),
    "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\n\r\nno route\n",
  );
  strictEqual(s.io.writes.length, 1);
});

Deno.test("Http1 server Upgrade: after 101 bytes tunnel raw both ways", async () => {
  const s = server();
  const p = s.conn.feed(
    te.encode(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x01\x05hello",
    ),
  );
  const st = s.streams[0];
  strictEqual(st.upgrade, "websocket");
  ok(st.headOnly);
  await st.sendResponse(new Http1ResponseHead(101, new Http1Headers([["Upgrade", "websocket"]])), false);
  await p;
  strictEqual(s.body.join(""), "\x01\x05hello");
  await feed(s.conn, "GET / HTTP/1.1\r\n\r\n");
  strictEqual(s.body.join(""), "\x01\x05helloGET / HTTP/1.1\r\n\r\n", "never parsed after 101");
  await st.sendData(te.encode("raw-out"), false);
  ok(
    s.io.text().startsWith(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nconnection: upgrade\r\n\r\n",
    ),
  );
  ok(s.io.text().endsWith("raw-out"));
  s.conn.onEof();
  strictEqual(s.ended, 1);
  await st.sendData(new Uint8Array(0), true);
  await tick();
  ok(s.io.closed);
});

Deno.test("Http1 server Upgrade declined: next request is parsed normally", async () => {
  const s = server();
  const p = s.conn.feed(
    te.encode(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
    ),
  );
  await s.streams[0].sendResponse(ok200(["Content-Length", "0"]), true);
  await p;
  strictEqual(s.streams.length, 2);
  strictEqual(s.streams[1].request.path, "/2");
});

Deno.test("Http1 server truncated body then EOF resets the stream", async () => {
  const s = server();
  await feed(s.conn, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
  s.conn.onEof();
  strictEqual(s.resets[0].kind, "downstream_reset");
  ok(s.io.closed);
});

Deno.test("Http1 server drain closes after the in-flight response and answers an idle connection's next request with Connection: close", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  s.conn.drain();
  ok(!s.io.closed);
  await s.streams[0].sendResponse(ok200(["Content-Length", "0"]), true);
  await tick();
  ok(s.io.text().includes("connection: close"));
  ok(s.io.closed);
  const idle = server();
  idle.conn.drain();
  ok(!idle.io.closed, "an idle connection stays open: a request may be on its way");
  await feed(idle.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  await idle.streams[0].sendResponse(ok200(["Content-Length", "0"]), true);
  await tick();
  ok(idle.io.text().includes("connection: close"));
  ok(idle.io.closed);
});

Deno.test("Http1 server drain after a keep-alive response head went out keeps the connection for the next request, which gets Connection: close", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  await s.streams[0].sendResponse(ok200(["Content-Length", "2"]), false); // head out: keep-alive promised
  s.conn.drain();
  await s.streams[0].sendData(te.encode("ok"), true);
  await tick();
  ok(!s.io.text().includes("connection: close"));
  ok(!s.io.closed, "the client was promised keep-alive and may already be sending its next request");
  await feed(s.conn, "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  await s.streams[1].sendResponse(ok200(["Content-Length", "0"]), true);
  await tick();
  ok(s.io.text().includes("connection: close"));
  ok(s.io.closed);
});

Deno.test("Http1 server strips codec-owned headers from the response and re-emits its own", async () => {
  const s = server();
  await feed(s.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  await s.streams[0].sendResponse(
    ok200(["Keep-Alive", "timeout=5"], ["Content-Length", "0"], ["X-Weird", "a\r\nInjected: 1"]),
    true,
  );
  strictEqual(s.io.text(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Weird: a  Injected: 1\r\n\r\n");
});

Deno.test("Http1 server reuses its accumulation buffer across split heads", async () => {
  const s = server();
  for (let i = 0; i < 3; i++) {
    await feed(s.conn, "GET /" + i + " HTTP/1.1\r\nHo");
    await feed(s.conn, "st: h\r\n\r\n");
    await s.streams[i].sendResponse(ok200(["Content-Length", "0"]), true);
  }
  deepStrictEqual(s.streams.map((x) => x.request.path), ["/0", "/1", "/2"]);
});

Deno.test("Http1 server reports a head as incomplete only while the client owes bytes of it", async () => {
  const rec = server();
  strictEqual(rec.conn.awaitingHead, false);
  await feed(rec.conn, "GET / HTTP/1.1\r\nHo");
  strictEqual(rec.conn.awaitingHead, true);
  strictEqual(rec.conn.headsReceived, 0);
  await feed(rec.conn, "st: x\r\n\r\n");
  strictEqual(rec.conn.awaitingHead, false);
  strictEqual(rec.conn.headsReceived, 1);
  // Empty lines before a request are bytes of the next head: a trickle of CRLFs is still a slow head.
  const crlf = server();
  await feed(crlf.conn, "\r\n");
  strictEqual(crlf.conn.awaitingHead, true);
});

Deno.test("Http1 server abort() answers 408 when no response started, then closes", async () => {
  const rec = server();
  await feed(rec.conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slo");
  rec.conn.abort(new ProxyError("request_timeout", "downstream", "request header timeout"));
  await tick();
  ok(rec.io.text().startsWith("HTTP/1.1 408 Request Timeout\r\n"), rec.io.text());
  ok(rec.io.text().includes("connection: close"));
  strictEqual(rec.io.closed, true);
});

/** A socket that can half-close, as the listener's SocketIO does. */
class HalfClosingIO extends FakeConnectionIO {
  closeWrites = 0;
  closeWrite(): Promise<void> {
    this.closeWrites++;
    return Promise.resolve();
  }
}

Deno.test("Http1 server half-closes after a local reply that ends the connection, then closes on the client's EOF or after LOCAL_REPLY_CLOSE_DELAY_MS", async () => {
  for (const ending of ["client EOF", "delay"]) {
    const clock = new FakeClock();
    const io = new HalfClosingIO();
    const conn = http1Codec.newServerConnection(io, { onRequest() {}, onProtocolError() {} }, {
      ...defaultCodecOptions,
      clock,
    });
    await feed(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slo");
    conn.abort(new ProxyError("request_timeout", "downstream", "request header timeout"));
    await tick();
    ok(io.text().startsWith("HTTP/1.1 408 Request Timeout\r\n"), io.text());
    strictEqual(io.closeWrites, 1, ending);
    // Still reading: a close now, with the client's bytes unread, would RST the reply away.
    strictEqual(io.closed, false, ending);
    await feed(conn, "wly-arriving-header-bytes"); // read and dropped
    strictEqual(io.writes.length, 1, "nothing more is written");
    if (ending === "client EOF") conn.onEof();
    else {
      clock.tick(LOCAL_REPLY_CLOSE_DELAY_MS - 1);
      strictEqual(io.closed, false);
      clock.tick(1);
    }
    strictEqual(io.closed, true, ending);
    strictEqual(clock.pending, 0, "no timer left behind");
  }
});

Deno.test("Http1 server decodes request heads without hop-by-hop headers", async () => {
  const rec = server();
  await feed(
    rec.conn,
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: gzip\r\nX-Keep: y\r\n\r\n",
  );
  const h = rec.streams[0]!.request.headers;
  strictEqual(h.has("x-hop"), false);
  strictEqual(h.has("te"), false);
  strictEqual(h.get("x-keep"), "y");
});

Deno.test("Http1 server sends an interim response ahead of the final one", async () => {
  const rec = server();
  await feed(rec.conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const s = rec.streams[0]!;
  await s.sendInformational(
    new Http1ResponseHead(103, new Http1Headers([["link", "</a.css>; rel=preload"]])),
  );
  await s.sendResponse(new Http1ResponseHead(200, new Http1Headers([["content-length", "0"]])), true);
  ok(
    rec.io.text().startsWith(
      "HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n",
    ),
    rec.io.text(),
  );
});
