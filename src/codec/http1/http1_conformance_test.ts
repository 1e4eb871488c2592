import { runCodecConformance } from "../_conformance.ts";
import { http1Codec, Http1Headers, Http1RequestHead, Http1ResponseHead } from "./mod.ts";

const te = new TextEncoder();
const h = (...pairs: [string, string][]) => new Http1Headers(pairs);

Deno.test("Http1 codec conformance", async (t) => {
  await runCodecConformance(t, {
    codec: http1Codec,
    exchanges: [
      {
        name: "wrk GET",
        request: {
          head: new Http1RequestHead("GET", "/", "", "127.0.0.1:8080", h(["Host", "127.0.0.1:8080"])),
        },
        requestBytes: te.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"),
        response: { head: new Http1ResponseHead(200, h(["Content-Length", "5"])), body: te.encode("hello") },
        responseBytes: te.encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
      },
      {
        name: "POST with Content-Length and query",
        request: {
          head: new Http1RequestHead(
            "POST",
            "/api/v1/items",
            "?a=1&b=%20",
            "example.com",
            h(["Host", "example.com"], ["Content-Type", "application/json"], ["Content-Length", "13"]),
          ),
          body: te.encode('{"name":"x"}\n'),
        },
        expectRequest: { headers: [["Content-Type", "application/json"]] },
        response: { head: new Http1ResponseHead(201, h(["X-Id", "7"])), body: te.encode("created") },
        responseBytes: te.encode(
          "HTTP/1.1 201 Created\r\nX-Id: 7\r\ntransfer-encoding: chunked\r\n\r\n7\r\ncreated\r\n0\r\n\r\n",
        ),
      },
      {
        name: "chunked request with trailers",
        request: {
          head: new Http1RequestHead("PUT", "/up", "", "h", h(["Host", "h"])),
          body: te.encode("some streamed bytes"),
          trailers: h(["X-Checksum", "abc"]),
        },
        requestBytes: te.encode(
          "PUT /up HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n\r\n13\r\nsome streamed bytes\r\n0\r\nX-Checksum: abc\r\n\r\n",
        ),
        response: { head: new Http1ResponseHead(204, h(["X-A", "b"])) },
        responseBytes: te.encode("HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"),
      },
      {
        name: "HEAD keeps Content-Length, no body",
        request: { head: new Http1RequestHead("HEAD", "/f", "", "h", h(["Host", "h"])) },
        response: { head: new Http1ResponseHead(200, h(["Content-Length", "100"])) },
        responseBytes: te.encode("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
      },
      {
        name: "latin1 header values round-trip",
        request: {
          head: new Http1RequestHead("GET", "/x", "", "h", h(["Host", "h"], ["X-Latin", "caf\u00e9 \u00ff"])),
        },
        response: { head: new Http1ResponseHead(404, h(["Content-Length", "0"], ["X-R", "\u00e9"])) },
      },
    ],
    badRequests: [
      {
        name: "CL with TE",
        bytes: te.encode(
          "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        ),
      },
      { name: "bare LF", bytes: te.encode("GET / HTTP/1.1\nHost: h\n\n") },
      { name: "obs-fold", bytes: te.encode("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n") },
    ],
  });
});
