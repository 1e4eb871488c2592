/** The Http1 codec's fixtures for the conformance suite: wire bytes as curl, wrk and nginx write them. */
import { ok } from "node:assert/strict";
import { ProxyError } from "../core/mod.ts";
import type { CodecConformanceAdapter } from "./_conformance.ts";
import { Http1Headers, Http1RequestHead, Http1ResponseHead } from "./http1/mod.ts";

const te = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const h = (...pairs: [string, string][]) => new Http1Headers(pairs);

export const http1Adapter: CodecConformanceAdapter = {
  exchanges: [
    {
      name: "wrk GET",
      request: () => ({
        head: new Http1RequestHead("GET", "/", "", "127.0.0.1:8080", h(["Host", "127.0.0.1:8080"])),
      }),
      requestBytes: te.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"),
      response: () => ({
        head: new Http1ResponseHead(200, h(["Content-Length", "5"])),
        body: te.encode("hello"),
      }),
      responseBytes: te.encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    },
    {
      name: "POST with Content-Length and query",
      request: () => ({
        head: new Http1RequestHead(
          "POST",
          "/api/v1/items",
          "?a=1&b=%20",
          "example.com",
          h(["Host", "example.com"], ["Content-Type", "application/json"], ["Content-Length", "13"]),
        ),
        body: te.encode('{"name":"x"}\n'),
      }),
      expectRequest: { headers: [["Content-Type", "application/json"]] },
      response: () => ({ head: new Http1ResponseHead(201, h(["X-Id", "7"])), body: te.encode("created") }),
      responseBytes: te.encode(
        "HTTP/1.1 201 Created\r\nX-Id: 7\r\ntransfer-encoding: chunked\r\n\r\n7\r\ncreated\r\n0\r\n\r\n",
      ),
      expectResponse: { headers: [["X-Id", "7"]] },
    },
    {
      name: "chunked request with trailers",
      request: () => ({
        head: new Http1RequestHead("PUT", "/up", "", "h", h(["Host", "h"])),
        body: te.encode("some streamed bytes"),
        trailers: h(["X-Checksum", "abc"]),
      }),
      requestBytes: te.encode(
        "PUT /up HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n\r\n13\r\nsome streamed bytes\r\n0\r\nX-Checksum: abc\r\n\r\n",
      ),
      response: () => ({ head: new Http1ResponseHead(204, h(["X-A", "b"])) }),
      responseBytes: te.encode("HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"),
    },
    {
      name: "HEAD keeps Content-Length, no body",
      request: () => ({ head: new Http1RequestHead("HEAD", "/f", "", "h", h(["Host", "h"])) }),
      response: () => ({ head: new Http1ResponseHead(200, h(["Content-Length", "100"])) }),
      responseBytes: te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
    },
    {
      name: "latin1 header values round-trip",
      request: () => ({
        head: new Http1RequestHead("GET", "/x", "", "h", h(["Host", "h"], ["X-Latin", "caf\u00e9 \u00ff"])),
      }),
      expectRequest: { headers: [["X-Latin", "caf\u00e9 \u00ff"]] },
      response: () => ({ head: new Http1ResponseHead(404, h(["Content-Length", "0"], ["X-R", "\u00e9"])) }),
      expectResponse: { headers: [["X-R", "\u00e9"]] },
    },
    {
      name: "local reply (no route)",
      request: () => ({ head: new Http1RequestHead("GET", "/nowhere", "", "h", h(["Host", "h"])) }),
      response: () => ({ localReply: new ProxyError("no_route", "internal", "no route") }),
      responseBytes: te.encode(
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 9\r\n\r\nno route\n",
      ),
      expectResponse: {
        fields: { status: 404 },
        headers: [["content-type", "text/plain; charset=utf-8"]],
        body: te.encode("no route\n"),
      },
    },
    {
      name: "Connection: close response",
      closesConnection: true,
      request: () => ({ head: new Http1RequestHead("GET", "/s", "", "a", h(["Host", "a"])) }),
      response: () => ({
        head: new Http1ResponseHead(200, h(["Connection", "close"])),
        body: new Uint8Array([1, 2, 3]),
      }),
    },
  ],
  badRequests: [
    {
      name: "Content-Length with Transfer-Encoding",
      bytes: te.encode(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      ),
    },
    { name: "bare LF", bytes: te.encode("GET / HTTP/1.1\nHost: h\n\n") },
    { name: "obs-fold", bytes: te.encode("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n") },
    {
      name: "bad chunk size",
      bytes: te.encode("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    },
  ],
  badResponses: [
    { name: "a non-HTTP status line", bytes: te.encode("SSH-2.0-OpenSSH_9.6\r\n\r\n") },
    { name: "a bad Content-Length", bytes: te.encode("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") },
  ],
  assertRejectionReply(written) {
    const text = latin1.decode(written);
    ok(/^HTTP\/1\.1 4\d\d /.test(text), `a rejection replies 4xx, wrote ${JSON.stringify(text)}`);
    ok(
      /\r\nconnection: close\r\n/i.test(text),
      `a rejection says connection: close, wrote ${JSON.stringify(text)}`,
    );
  },
  foreignBytes: [
    {
      name: "TLS ClientHello",
      bytes: new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]),
    },
    { name: "HTTP/2 preface", bytes: te.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") },
    { name: "lower-case method", bytes: te.encode("get / HTTP/1.1\r\n\r\n") },
    { name: "over-long method", bytes: te.encode("ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n") },
  ],
};
