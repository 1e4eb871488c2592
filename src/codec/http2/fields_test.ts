/**
 * Field validation (RFC 9113 §8.2, §8.3): what makes a request, response or trailer section malformed,
 * what the codec does with one (a stream error, HPACK kept in sync), content-length against DATA, and
 * never-indexed fields kept never-indexed when re-encoded (RFC 7541 §7.1.3).
 */
import assert from "node:assert/strict";
import { errorCodeName, FrameType } from "./_frames.ts";
import { RequestFields, ResponseFields, TrailerFields } from "./_fields.ts";
import {
  BodyRecorder,
  describeFrames,
  literalBlock,
  requestFields,
  startClient,
  startServer,
  type WrittenFrame,
} from "./_test_peer.ts";
import { Http1Headers } from "../http1/mod.ts";
import { Http2RequestHead } from "./head.ts";

type Pairs = readonly (readonly [string, string])[];

const BASE: Pairs = [[":method", "GET"], [":scheme", "http"], [":authority", "example.com"], [":path", "/"]];

function decodeRequest(fields: Pairs): { head: Http2RequestHead | undefined; error: string | undefined } {
  const f = new RequestFields();
  f.reset();
  for (const [n, v] of fields) f.header(n, v, false);
  const head = f.build();
  return { head, error: f.error };
}

function decodeResponse(fields: Pairs) {
  const f = new ResponseFields();
  f.reset();
  for (const [n, v] of fields) f.header(n, v, false);
  const head = f.build();
  return { head, error: f.error };
}

function rsts(frames: WrittenFrame[]): [number, string][] {
  return frames.filter((f) => f.type === FrameType.RST_STREAM).map((
    f,
  ) => [f.streamId, errorCodeName(f.errorCode)]);
}

// === Requests (§8.3.1) ===

const MALFORMED_REQUESTS: [string, Pairs][] = [
  ["no :method", BASE.filter(([n]) => n !== ":method")],
  ["no :scheme", BASE.filter(([n]) => n !== ":scheme")],
  ["no :path", BASE.filter(([n]) => n !== ":path")],
  ["an empty :path", [...BASE.slice(0, 3), [":path", ""]]],
  ["an empty :method", [[":method", ""], ...BASE.slice(1)]],
  ["a second :method", [...BASE, [":method", "POST"]]],
  ["a second :path", [...BASE, [":path", "/b"]]],
  ["a second :scheme", [...BASE, [":scheme", "https"]]],
  ["a second :authority", [...BASE, [":authority", "other"]]],
  ["an unknown pseudo-header", [...BASE, [":foo", "x"]]],
  ["a response pseudo-header", [...BASE, [":status", "200"]]],
  ["a pseudo-header after a regular field", [...BASE.slice(0, 3), ["accept", "*/*"], [":path", "/"]]],
  ["an uppercase field name", [...BASE, ["Accept", "*/*"]]],
  ["a space in a field name", [...BASE, ["x y", "1"]]],
  ["a colon inside a field name", [...BASE, ["x:y", "1"]]],
  ["an empty field name", [...BASE, ["", "1"]]],
  ["a DEL in a field name", [...BASE, ["x\x7f", "1"]]],
  ["a value with a leading space", [...BASE, ["x", " v"]]],
  ["a value with a trailing tab", [...BASE, ["x", "v\t"]]],
  ["a value with NUL", [...BASE, ["x", "a\x00b"]]],
  ["a value with CR", [...BASE, ["x", "a\rb"]]],
  ["a value with LF", [...BASE, ["x", "a\nb"]]],
  ["connection", [...BASE, ["connection", "close"]]],
  ["keep-alive", [...BASE, ["keep-alive", "timeout=5"]]],
  ["proxy-connection", [...BASE, ["proxy-connection", "keep-alive"]]],
  ["transfer-encoding", [...BASE, ["transfer-encoding", "chunked"]]],
  ["upgrade", [...BASE, ["upgrade", "websocket"]]],
  ["te other than trailers", [...BASE, ["te", "gzip"]]],
  ["te listing trailers and more", [...BASE, ["te", "trailers, deflate"]]],
  ["a non-numeric content-length", [...BASE, ["content-length", "abc"]]],
  ["an empty content-length", [...BASE, ["content-length", ""]]],
  ["a content-length list", [...BASE, ["content-length", "1,2"]]],
  ["a negative content-length", [...BASE, ["content-length", "-1"]]],
  ["two content-lengths that differ", [...BASE, ["content-length", "5"], ["content-length", "6"]]],
  ["a host that differs from :authority", [...BASE, ["host", "other.example"]]],
  ["two host fields", [...BASE.filter(([n]) => n !== ":authority"), ["host", "a"], ["host", "a"]]],
  ["an http :path that is not absolute", [...BASE.slice(0, 3), [":path", "index.html"]]],
  ["'*' as the path of a GET", [...BASE.slice(0, 3), [":path", "*"]]],
  ["CONNECT with :path", [[":method", "CONNECT"], [":authority", "db:5432"], [":path", "/"]]],
  ["CONNECT with :scheme", [[":method", "CONNECT"], [":authority", "db:5432"], [":scheme", "http"]]],
  ["CONNECT without :authority", [[":method", "CONNECT"]]],
  [":protocol without CONNECT", [...BASE, [":protocol", "websocket"]]],
];

for (const [what, fields] of MALFORMED_REQUESTS) {
  Deno.test(`RequestFields: ${what} is malformed (§8.2, §8.3.1)`, () => {
    const { head, error } = decodeRequest(fields);
    assert.equal(head, undefined, `accepted: ${JSON.stringify(fields)}`);
    assert.ok(error !== undefined && error.length > 0, "says why");
  });
}

Deno.test("RequestFields: a well-formed request becomes a head with the pseudo-headers lifted out", () => {
  const { head, error } = decodeRequest([
    [":method", "PUT"],
    [":scheme", "https"],
    [":authority", "API.Example.com"],
    [":path", "/a/b?x=1&y"],
    ["te", "trailers"],
    ["content-length", "5"],
    ["content-length", "5"], // repeated with one value: fine
    ["x-latin", "caf\u00e9 \u00ff"], // obs-text is allowed in values
  ]);
  assert.equal(error, undefined);
  assert.deepEqual(
    [head!.method, head!.scheme, head!.host, head!.path, head!.query, head!.contentLength],
    ["PUT", "https", "api.example.com", "/a/b", "?x=1&y", 5],
  );
  assert.equal(head!.headers.get("te"), "trailers");
  assert.equal(head!.headers.get("x-latin"), "caf\u00e9 \u00ff");
});

Deno.test("RequestFields: Host stands in for a missing :authority and leaves the fields (the head carries it)", () => {
  const { head } = decodeRequest([[":method", "GET"], [":scheme", "http"], [":path", "/"], [
    "host",
    "Legacy.Example",
  ]]);
  assert.equal(head!.host, "legacy.example");
  assert.equal(head!.headers.has("host"), false);
});

Deno.test("RequestFields: Host naming what :authority names (any case) is accepted and dropped", () => {
  const { head, error } = decodeRequest([...BASE, ["host", "EXAMPLE.com"]]);
  assert.equal(error, undefined);
  assert.equal(head!.host, "example.com");
  assert.equal(head!.headers.has("host"), false);
});

Deno.test("RequestFields: CONNECT carries :authority only, and gets no path or scheme (§8.5)", () => {
  const { head, error } = decodeRequest([[":method", "CONNECT"], [":authority", "db.local:5432"]]);
  assert.equal(error, undefined);
  assert.deepEqual([head!.method, head!.host, head!.path, head!.scheme], [
    "CONNECT",
    "db.local:5432",
    "",
    "",
  ]);
});

Deno.test("RequestFields: OPTIONS may ask for '*'; extended CONNECT keeps :protocol", () => {
  assert.equal(decodeRequest([[":method", "OPTIONS"], ...BASE.slice(1, 3), [":path", "*"]]).head?.path, "*");
  const ws = decodeRequest([[":method", "CONNECT"], ...BASE.slice(1), [":protocol", "websocket"]]).head;
  assert.equal(ws?.connectProtocol, "websocket");
  assert.equal(ws?.path, "/");
});

Deno.test("RequestFields: gRPC requests are recognised and their grpc-timeout read; others' ignored", () => {
  const grpc =
    decodeRequest([...BASE, ["content-type", "application/grpc+proto"], ["grpc-timeout", "250m"]]).head;
  assert.deepEqual([grpc!.grpc, grpc!.deadlineMs], [true, 250]);
  const plain = decodeRequest([...BASE, ["content-type", "text/plain"], ["grpc-timeout", "250m"]]).head;
  assert.deepEqual([plain!.grpc, plain!.deadlineMs], [false, undefined]);
});

Deno.test("RequestFields: reset() forgets everything of the previous block", () => {
  const f = new RequestFields();
  f.reset();
  for (const [n, v] of [...BASE, ["Bad", "x"]] as const) f.header(n, v, false);
  assert.equal(f.build(), undefined);
  f.reset();
  for (const [n, v] of BASE) f.header(n, v, false);
  assert.ok(f.build() !== undefined);
  assert.equal(f.error, undefined);
});

// === Responses (§8.3.2) ===

const MALFORMED_RESPONSES: [string, Pairs][] = [
  ["no :status", [["content-type", "text/plain"]]],
  ["a second :status", [[":status", "200"], [":status", "204"]]],
  ["a two-digit :status", [[":status", "20"]]],
  ["a four-digit :status", [[":status", "2000"]]],
  ["a non-numeric :status", [[":status", "2x0"]]],
  ["a :status below 100", [[":status", "099"]]],
  ["a request pseudo-header", [[":status", "200"], [":path", "/"]]],
  ["a pseudo-header after a regular field", [["server", "x"], [":status", "200"]]],
  ["an uppercase field name", [[":status", "200"], ["Server", "x"]]],
  ["connection", [[":status", "200"], ["connection", "close"]]],
  ["transfer-encoding", [[":status", "200"], ["transfer-encoding", "chunked"]]],
  ["an invalid content-length", [[":status", "200"], ["content-length", "12a"]]],
  ["a value with LF", [[":status", "200"], ["x", "a\nb"]]],
];

for (const [what, fields] of MALFORMED_RESPONSES) {
  Deno.test(`ResponseFields: ${what} is malformed (§8.3.2)`, () => {
    const { head, error } = decodeResponse(fields);
    assert.equal(head, undefined, `accepted: ${JSON.stringify(fields)}`);
    assert.ok(error !== undefined);
  });
}

Deno.test("ResponseFields: a well-formed response keeps its status, fields and content-length", () => {
  const { head, error } = decodeResponse([[":status", "206"], ["content-length", "10"], ["x-r", "\u00e9"]]);
  assert.equal(error, undefined);
  assert.deepEqual([head!.status, head!.contentLength, head!.headers.get("x-r")], [206, 10, "\u00e9"]);
});

// === Trailers ===

Deno.test("TrailerFields: pseudo-headers, uppercase names and connection-specific fields are malformed", () => {
  for (
    const bad of [[":status", "200"], ["Grpc-Status", "0"], ["connection", "close"], ["x", "a\rb"]] as const
  ) {
    const t = new TrailerFields();
    t.reset();
    t.header(bad[0], bad[1], false);
    assert.equal(t.build(), undefined, bad[0]);
  }
  const t = new TrailerFields();
  t.reset();
  t.header("grpc-status", "0", false);
  t.header("grpc-message", "", false);
  assert.deepEqual([t.build()!.get("grpc-status"), t.build()!.get("grpc-message")], ["0", ""]);
});

// === Through the server: stream errors, HPACK in sync ===

Deno.test("server: a malformed request is a stream PROTOCOL_ERROR that never reaches the proxy; HPACK stays in sync", async () => {
  const h = await startServer();
  // The block indexes a field, then carries an uppercase name (only a hand-built block can).
  const block = new Uint8Array([
    ...h.peer.out.block([...BASE, ["x-kept", "1", "incremental"]]),
    ...literalBlock([["Bad-Name", "v"]]),
  ]);
  await h.send(h.peer.out.headers(1, block, true));
  assert.equal(h.handler.streams.length, 0);
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  await h.send(h.peer.out.request(3, true, [["x-kept", "1"]]));
  assert.equal(h.handler.stream(3).request.headers.get("x-kept"), "1");
  assert.deepEqual(h.handler.protocolErrors, []);
});

Deno.test("server: DATA beyond the content-length is a stream PROTOCOL_ERROR (§8.1.1)", async () => {
  const h = await startServer();
  await h.send(
    h.peer.out.request(1, false, [["content-length", "3"]], "POST"),
    h.peer.out.data(1, "abcd", false),
  );
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.equal(h.handler.body(1).resets.length, 1);
  assert.equal(h.handler.body(1).text, "", "the excess never reaches the consumer");
});

Deno.test("server: a body ending short of its content-length is a stream PROTOCOL_ERROR", async () => {
  for (const [what, end] of [["by DATA", "data"], ["by trailers", "trailers"]] as const) {
    const h = await startServer();
    await h.send(
      h.peer.out.request(1, false, [["content-length", "10"]], "POST"),
      h.peer.out.data(1, "abc", false),
    );
    await h.send(
      end === "data" ? h.peer.out.data(1, "d", true) : h.peer.out.headers(1, [["x-t", "1"]], true),
    );
    assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]], what);
    assert.equal(h.handler.body(1).resets.length, 1, what);
    assert.equal(h.handler.body(1).ended, false, what);
  }
});

Deno.test("server: HEADERS ending the stream with a content-length above 0 is a stream PROTOCOL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, true, [["content-length", "5"]], "POST"));
  assert.equal(h.handler.streams.length, 0);
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  // content-length: 0 with END_STREAM is fine.
  await h.send(h.peer.out.request(3, true, [["content-length", "0"]], "POST"));
  assert.equal(h.handler.streams.length, 1);
});

Deno.test("server: trailers carrying a pseudo-header are a stream PROTOCOL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.headers(1, [[":path", "/x"]], true));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
  assert.deepEqual(h.handler.body(1).trailers, []);
});

Deno.test("server: a second HEADERS without END_STREAM (not trailers) is a stream PROTOCOL_ERROR", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1, false, [], "POST"), h.peer.out.headers(1, [["x-t", "1"]], false));
  assert.deepEqual(rsts(h.peer.read()), [[1, "PROTOCOL_ERROR"]]);
});

// === Never-indexed fields (RFC 7541 §7.1.3) ===

Deno.test("never-indexed request fields stay never-indexed when the proxy re-encodes them upstream", async () => {
  const down = await startServer();
  await down.send(down.peer.out.headers(
    1,
    requestFields("GET", "/", [["x-api-secret", "s3cr3t", "never"], ["x-plain", "p"], ["cookie", "a=b"]]),
    true,
  ));
  const request = down.handler.stream(1).request;
  const up = await startClient();
  await up.conn.newStream(new BodyRecorder()).sendRequest(request, true);
  const [headers] = up.peer.read();
  assert.equal(describeFrames([headers!]), "HEADERS(1, end)");
  const flags = Object.fromEntries(headers!.fields.map(([n, , never]) => [n, never]));
  assert.equal(flags["x-api-secret"], true, "marked by the downstream client");
  assert.equal(flags["cookie"], true, "credentials are never indexed anyway");
  assert.equal(flags["x-plain"], false);
});

Deno.test("never-indexed response fields stay never-indexed when the proxy re-encodes them downstream", async () => {
  const up = await startClient();
  const rec = new BodyRecorder();
  const get = new Http2RequestHead(
    "GET",
    "/",
    "",
    "h",
    new Http1Headers(),
    "http",
    undefined,
    false,
    undefined,
    false,
    -1,
  );
  await up.conn.newStream(rec).sendRequest(get, true);
  await up.send(
    up.peer.out.headers(1, [[":status", "200"], ["x-token-reply", "t", "never"], ["x-other", "o"]], true),
  );
  const down = await startServer();
  await down.send(down.peer.out.request(1));
  await down.handler.stream(1).sendResponse(rec.heads[0]!, true);
  await down.send();
  const [head] = down.peer.read();
  const flags = Object.fromEntries(head!.fields.map(([n, , never]) => [n, never]));
  assert.deepEqual([flags["x-token-reply"], flags["x-other"]], [true, false]);
});

Deno.test("a never-indexed mark belongs to its header map: a plain map with the same names is encoded normally", async () => {
  const h = await startServer();
  await h.send(h.peer.out.request(1));
  await h.handler.stream(1).sendResponse(
    { status: 200, headers: new Http1Headers([["x-api-secret", "s"]]) },
    true,
  );
  await h.send();
  const [head] = h.peer.read();
  assert.equal(head!.fields.find(([n]) => n === "x-api-secret")![2], false);
});
