/**
 * Parsed field lines that nothing changed are forwarded as received (Http1Headers `forwardable`): the
 * bytes must be exactly what encoding the same fields one by one gives. Each case encodes the parsed
 * head and an eagerly built copy of it (the same fields in a plain Http1Headers, after the same edits)
 * and compares the wire bytes, and checks whether the forwarding path was taken.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { FakeConnectionIO } from "../_test_io.ts";
import { defaultCodecOptions, type ResponseHead, type ResponseReceiver } from "../types.ts";
import { feed, server, te } from "./_test_helpers.ts";
import { http1Codec } from "./codec.ts";
import { Http1Headers } from "./headers.ts";
import { Http1RequestHead, Http1ResponseHead } from "./head.ts";

const latin1 = new TextDecoder("latin1");

function bytesOf(io: FakeConnectionIO): string {
  return io.writes.map((w) => latin1.decode(w)).join("");
}

/** Latin1 text to bytes one char per byte (so obs-text round-trips). */
function raw(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function eagerCopy(h: Http1Headers): Http1Headers {
  const out = new Http1Headers();
  h.forEach((v, n) => out.add(n, v));
  return out;
}

async function parseRequest(text: string): Promise<Http1RequestHead> {
  const rec = server();
  await feed(rec.conn, raw(text));
  strictEqual(rec.errors.length, 0, `parse error: ${rec.errors[0]?.message}`);
  return rec.streams[0]!.request as Http1RequestHead;
}

async function encodeRequest(head: Http1RequestHead, body?: string): Promise<string> {
  const io = new FakeConnectionIO();
  const conn = http1Codec.newClientConnection(io, { onUnusable() {} }, defaultCodecOptions);
  const noop = () => {};
  const s = conn.newStream({ onResponse: noop, onData: noop, onTrailers: noop, onReset: noop });
  await s.sendRequest(head, body === undefined);
  if (body !== undefined) await s.sendData(te.encode(body), true);
  return bytesOf(io);
}

/** The parsed head and an eager copy, both with `edit` applied, encode to the same bytes. */
async function sameRequestBytes(
  text: string,
  forwarded: boolean,
  edit: (h: Http1RequestHead) => void = () => {},
  body?: string,
): Promise<string> {
  const parsed = await parseRequest(text);
  const copy = new Http1RequestHead(
    parsed.method,
    parsed.path,
    parsed.query,
    parsed.host,
    eagerCopy(parsed.headers),
    parsed.minorVersion,
    parsed.keepAlive,
    parsed.upgrade,
    parsed.expectContinue,
  );
  edit(parsed);
  edit(copy);
  strictEqual(parsed.headers.forwardable(parsed.host) > 0, forwarded, "forwarding path taken");
  strictEqual(copy.headers.forwardable(copy.host), 0);
  const a = await encodeRequest(parsed, body);
  const b = await encodeRequest(copy, body);
  strictEqual(a, b);
  return a;
}

/** What the proxy does to every HTTP request (prepareHttpRequest). */
function forwardedFor(h: Http1RequestHead): void {
  const xff = h.headers.get("x-forwarded-for");
  h.headers.set("x-forwarded-for", xff === undefined ? "10.0.0.1" : `${xff}, 10.0.0.1`);
  if (!h.headers.has("x-forwarded-proto")) h.headers.set("x-forwarded-proto", "http");
}

Deno.test("Http1 forward: wrk's request goes out as received, X-Forwarded-* appended", async () => {
  const out = await sameRequestBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", true, forwardedFor);
  strictEqual(
    out,
    "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nx-forwarded-for: 10.0.0.1\r\nx-forwarded-proto: http\r\n\r\n",
  );
});

Deno.test("Http1 forward: Connection and Keep-Alive lines in the middle are left out, the rest copied", async () => {
  const out = await sameRequestBytes(
    "GET /a?b=1 HTTP/1.1\r\nHost: h.example\r\nUser-Agent: curl/8\r\nConnection: keep-alive\r\n" +
      "Keep-Alive: timeout=5\r\nAccept: */*\r\n\r\n",
    true,
    forwardedFor,
  );
  ok(!/connection|keep-alive/i.test(out), out);
  ok(out.includes("User-Agent: curl/8\r\nAccept: */*\r\nx-forwarded-for: 10.0.0.1\r\n"), out);
  // A received X-Forwarded-For is edited in place: the fields are encoded one by one.
  const appended = await sameRequestBytes(
    "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\nConnection: keep-alive\r\n\r\n",
    false,
    forwardedFor,
  );
  strictEqual(
    appended,
    "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.1\r\nx-forwarded-proto: http\r\n\r\n",
  );
});

Deno.test("Http1 forward: lines not in the encoder's form are re-encoded (whitespace normalised)", async () => {
  const out = await sameRequestBytes("GET / HTTP/1.1\r\nHost:  h\r\nX-A:b\r\nX-B: c \t\r\n\r\n", false);
  strictEqual(out, "GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\nX-B: c\r\n\r\n");
});

Deno.test("Http1 forward: a Host the encoder rewrites is not copied (case, absolute form, route rewrite)", async () => {
  strictEqual(
    await sameRequestBytes("GET / HTTP/1.1\r\nHost: EXAMPLE.com\r\nX: 1\r\n\r\n", false),
    "GET / HTTP/1.1\r\nHost: example.com\r\nX: 1\r\n\r\n",
  );
  strictEqual(
    await sameRequestBytes("GET http://other.example/x HTTP/1.1\r\nHost: ignored\r\n\r\n", false),
    "GET /x HTTP/1.1\r\nHost: other.example\r\n\r\n",
  );
  const rewritten = await parseRequest("GET / HTTP/1.1\r\nHost: a.example\r\nX: 1\r\n\r\n");
  ok(rewritten.headers.forwardable(rewritten.host) > 0);
  rewritten.host = "b.example";
  strictEqual(rewritten.headers.forwardable(rewritten.host), 0);
  strictEqual(await encodeRequest(rewritten), "GET / HTTP/1.1\r\nHost: b.example\r\nX: 1\r\n\r\n");
});

Deno.test("Http1 forward: route header edits on received fields switch to field-by-field encoding", async () => {
  const text = "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nCookie: c=1\r\n\r\n";
  const removed = await sameRequestBytes(text, false, (h) => h.headers.delete("user-agent"));
  strictEqual(removed, "GET / HTTP/1.1\r\nHost: h\r\nCookie: c=1\r\n\r\n");
  const set = await sameRequestBytes(text, false, (h) => h.headers.set("cookie", "c=2"));
  strictEqual(set, "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nCookie: c=2\r\n\r\n");
  const added = await sameRequestBytes(text, true, (h) => h.headers.add("x-route", "1"));
  strictEqual(added, "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nCookie: c=1\r\nx-route: 1\r\n\r\n");
});

Deno.test("Http1 forward: hop-by-hop fields are still removed before anything is forwarded", async () => {
  const out = await sameRequestBytes(
    "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: gzip\r\n" +
      "Trailer: X-T\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-End: 2\r\n\r\n",
    false,
  );
  strictEqual(out, "GET / HTTP/1.1\r\nHost: h\r\nX-End: 2\r\n\r\n");
  const trailers = await sameRequestBytes("GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n", true);
  strictEqual(trailers, "GET / HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n");
});

Deno.test("Http1 forward: bodies keep the codec's framing (Content-Length, chunked, folded duplicate)", async () => {
  const cl = await sameRequestBytes(
    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
    true,
    undefined,
    "hi",
  );
  strictEqual(cl, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
  const chunked = await sameRequestBytes(
    "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: h\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    true,
    undefined,
    "hi",
  );
  strictEqual(
    chunked,
    "POST /p HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
  );
  const folded = await sameRequestBytes(
    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
    false,
    undefined,
    "hi",
  );
  strictEqual(folded, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi");
});

Deno.test("Http1 forward: obs-text bytes in values go out byte for byte", async () => {
  const out = await sameRequestBytes("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9\r\n\r\n", true);
  deepStrictEqual(raw(out), raw("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9\r\n\r\n"));
});

Deno.test("Http1 forward: lazy fields answer lookups like eager ones", async () => {
  const h = (await parseRequest(
    "GET / HTTP/1.1\r\nHost: h\r\nSet-Cookie: a=1\r\nX-Multi: 1\r\nset-cookie: b=2\r\nX-Multi: 2\r\n\r\n",
  )).headers;
  const e = eagerCopy(h);
  for (const name of ["host", "set-cookie", "x-multi", "missing", "x-mult"]) {
    strictEqual(h.get(name), e.get(name), name);
    strictEqual(h.has(name), e.has(name), name);
    deepStrictEqual(h.getAll(name), e.getAll(name), name);
  }
  strictEqual(h.get("x-multi"), "1, 2");
  h.delete("set-cookie");
  e.delete("set-cookie");
  const pairs = (m: Http1Headers) => {
    const out: [string, string][] = [];
    m.forEach((v, n) => out.push([n, v]));
    return out;
  };
  deepStrictEqual(pairs(h), pairs(e));
  deepStrictEqual(pairs(h), [["Host", "h"], ["X-Multi", "1"], ["X-Multi", "2"]]);
});

// === Responses: upstream (client codec) parses, downstream (server codec) encodes ===

async function parseResponse(text: string): Promise<ResponseHead> {
  const io = new FakeConnectionIO();
  const conn = http1Codec.newClientConnection(io, { onUnusable() {} }, defaultCodecOptions);
  const heads: ResponseHead[] = [];
  const noop = () => {};
  const r: ResponseReceiver = {
    onResponse: (h) => void heads.push(h),
    onData: noop,
    onTrailers: noop,
    onReset: noop,
  };
  await conn.newStream(r).sendRequest(new Http1RequestHead("GET", "/", "", "h"), true);
  await feed(conn, raw(text));
  return heads[0]!;
}

async function encodeResponse(head: ResponseHead, body: string): Promise<string> {
  const rec = server();
  await feed(rec.conn, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  const s = rec.streams[0]!;
  await s.sendResponse(head, false);
  await s.sendData(te.encode(body), true);
  return bytesOf(rec.io);
}

async function sameResponseBytes(text: string, forwarded: boolean, body: string): Promise<string> {
  const parsed = await parseResponse(text) as Http1ResponseHead;
  const copy = new Http1ResponseHead(
    parsed.status,
    eagerCopy(parsed.headers),
    parsed.reason,
    parsed.minorVersion,
  );
  strictEqual(parsed.headers.forwardable("") > 0, forwarded, "forwarding path taken");
  const a = await encodeResponse(parsed, body);
  strictEqual(a, await encodeResponse(copy, body));
  return a;
}

Deno.test("Http1 forward: nginx's response goes out as received, less its Connection line", async () => {
  const out = await sameResponseBytes(
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
      "Content-Type: application/octet-stream\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
    true,
    "hello",
  );
  strictEqual(
    out,
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
      "Content-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\nhello",
  );
});

Deno.test("Http1 forward: an upstream's Connection: close still closes the downstream response", async () => {
  const out = await sameResponseBytes(
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    true,
    "hi",
  );
  strictEqual(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nconnection: close\r\n\r\nhi");
});

Deno.test("Http1 forward: a chunked upstream response is framed by the codec again", async () => {
  const out = await sameResponseBytes(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: 1\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    true,
    "hi",
  );
  strictEqual(out, "HTTP/1.1 200 OK\r\nX: 1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
});

Deno.test("Http1 forward: a head split across reads at every offset forwards the same bytes", async () => {
  const text = "GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n";
  const whole = await encodeRequest(await parseRequest(text));
  const bytes = raw(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    const rec = server();
    // The first part's buffer is overwritten after the read, as a reused read buffer would be.
    const first = bytes.slice(0, cut);
    await feed(rec.conn, first);
    first.fill(0x58);
    await feed(rec.conn, bytes.slice(cut));
    const head = rec.streams[0]!.request as Http1RequestHead;
    ok(head.headers.forwardable(head.host) > 0, `cut ${cut}`);
    strictEqual(await encodeRequest(head), whole, `cut ${cut}`);
  }
});
