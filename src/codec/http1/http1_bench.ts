/** Micro-benchmarks of the HTTP/1 codec's hot path: `deno bench src/codec/http1/http1_bench.ts`. */
import type { ConnectionIO, ResponseHead, ServerStream } from "../types.ts";
import { defaultCodecOptions } from "../types.ts";
import { http1Codec } from "./codec.ts";
import { Http1Headers } from "./headers.ts";
import { Http1RequestHead, Http1ResponseHead } from "./head.ts";

const te = new TextEncoder();
const done: Promise<void> = Promise.resolve();
/** A sink that completes writes at once and keeps nothing. */
const io: ConnectionIO = { write: () => done, close() {}, closed: false, remoteAddress: "127.0.0.1:1" };

const wrk = te.encode("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
const browser = te.encode(
  "GET /api/v1/users/12345/profile?tab=activity HTTP/1.1\r\nHost: example.com\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
    "Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n" +
    "Cookie: session=abcdef0123456789; theme=dark\r\nReferer: https://example.com/home\r\nCache-Control: max-age=0\r\n" +
    "Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\n\r\n",
);
const response = te.encode(
  "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
);

let current: ServerStream | null = null;
const server = http1Codec.newServerConnection(io, {
  onRequest(s) {
    current = s;
  },
  onProtocolError(e) {
    throw e;
  },
}, defaultCodecOptions);
const head = new Http1ResponseHead(200, new Http1Headers([["Content-Length", "5"]]));
const body = te.encode("hello");

/** Ends the current response so the next request is parsed at once. */
function finish(): void {
  const s = current!;
  current = null;
  void s.sendResponse(head, true);
}

Deno.bench({ name: "parse wrk request", group: "parse", baseline: true }, () => {
  server.feed(wrk);
  finish();
});

Deno.bench({ name: "parse browser request (12 headers)", group: "parse" }, () => {
  server.feed(browser);
  finish();
});

Deno.bench({ name: "wrk round: parse request + encode head and 5-byte body", group: "round" }, () => {
  server.feed(wrk);
  const s = current!;
  current = null;
  void s.sendResponse(head, false);
  void s.sendData(body, true);
});

const client = http1Codec.newClientConnection(io, { onUnusable() {} }, defaultCodecOptions);
const noop = () => {};
const receiver = { onResponse: noop, onData: noop, onTrailers: noop, onReset: noop };
const req = new Http1RequestHead(
  "GET",
  "/",
  "",
  "127.0.0.1:8080",
  new Http1Headers([["Host", "127.0.0.1:8080"]]),
);

Deno.bench({ name: "client: encode request + parse response (5-byte body)", group: "client" }, () => {
  const s = client.newStream(receiver);
  void s.sendRequest(req, true);
  client.feed(response);
});

// === One proxied request, codec side only (what `make bench`'s http family costs in this module) ===
// wrk's request is parsed, gets X-Forwarded-For/-Proto as the proxy adds them, is encoded upstream;
// nginx's response is parsed and encoded downstream with its 5-byte body.

const nginxResponse = te.encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
    "Content-Type: application/octet-stream\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
);
let proxied: ServerStream | null = null;
const downstream = http1Codec.newServerConnection(io, {
  onRequest(s) {
    proxied = s;
  },
  onProtocolError(e) {
    throw e;
  },
}, defaultCodecOptions);
const upstream = http1Codec.newClientConnection(io, { onUnusable() {} }, defaultCodecOptions);
const relay = {
  onResponse(h: ResponseHead, end: boolean) {
    void proxied!.sendResponse(h, end);
  },
  onData(chunk: Uint8Array, end: boolean) {
    const s = proxied!;
    if (end) proxied = null;
    void s.sendData(chunk, end);
  },
  onTrailers: noop,
  onReset: noop,
};

Deno.bench(
  { name: "proxy round: wrk request → upstream, nginx response → downstream", group: "proxy" },
  () => {
    downstream.feed(wrk);
    const h = proxied!.request.headers;
    const xff = h.get("x-forwarded-for");
    h.set("x-forwarded-for", xff === undefined ? "127.0.0.1" : `${xff}, 127.0.0.1`);
    if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", "http");
    const s = upstream.newStream(relay);
    void s.sendRequest(proxied!.request, true);
    upstream.feed(nginxResponse);
  },
);

Deno.bench({ name: "proxy round, browser request (12 headers)", group: "proxy" }, () => {
  downstream.feed(browser);
  const h = proxied!.request.headers;
  const xff = h.get("x-forwarded-for");
  h.set("x-forwarded-for", xff === undefined ? "127.0.0.1" : `${xff}, 127.0.0.1`);
  if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", "http");
  const s = upstream.newStream(relay);
  void s.sendRequest(proxied!.request, true);
  upstream.feed(nginxResponse);
});
