import nodeAssert from "node:assert/strict";
import { SimpleHeaderMap } from "../codec/mod.ts";
import type { RequestHead } from "../codec/mod.ts";
import { DEFAULT_FORWARDING, prepareHttpRequest, stripHopByHop } from "./http_headers.ts";

function names(h: SimpleHeaderMap): string[] {
  const out: string[] = [];
  h.forEach((_v, n) => out.push(n.toLowerCase()));
  return out;
}

Deno.test("stripHopByHop() removes hop-by-hop headers and those Connection names", () => {
  const h = new SimpleHeaderMap([
    ["Connection", "keep-alive, X-Secret-Hop"],
    ["X-Secret-Hop", "1"],
    ["TE", "trailers"],
    ["Trailer", "X-Sum"],
    ["Proxy-Connection", "keep-alive"],
    ["Upgrade", "h2c"],
    ["X-Keep", "yes"],
  ]);
  stripHopByHop(h, false);
  // Connection itself stays for the codec, which owns framing and never forwards it.
  nodeAssert.deepEqual(names(h), ["connection", "x-keep"]);
});

Deno.test("stripHopByHop() keeps Upgrade on an upgrade", () => {
  const h = new SimpleHeaderMap([["Connection", "Upgrade"], ["Upgrade", "websocket"], ["TE", "x"]]);
  stripHopByHop(h, true);
  nodeAssert.equal(h.get("upgrade"), "websocket");
  nodeAssert.equal(h.has("te"), false);
});

function request(headers: SimpleHeaderMap): RequestHead {
  return { protocol: "Http1", method: "GET", path: "/", query: "", host: "svc", headers };
}

Deno.test("prepareHttpRequest() with use_remote_address appends the peer and sets the real scheme", () => {
  const headers = new SimpleHeaderMap([["X-Forwarded-For", "10.0.0.1"], ["X-Forwarded-Proto", "https"]]);
  prepareHttpRequest(request(headers), "127.0.0.1", "http", DEFAULT_FORWARDING);
  nodeAssert.equal(headers.get("x-forwarded-for"), "10.0.0.1, 127.0.0.1");
  nodeAssert.equal(
    headers.get("x-forwarded-proto"),
    "http",
    "a client cannot claim https on a plain connection",
  );
  const fresh = new SimpleHeaderMap();
  prepareHttpRequest(request(fresh), "192.0.2.7", "https", DEFAULT_FORWARDING);
  nodeAssert.equal(fresh.get("x-forwarded-for"), "192.0.2.7");
  nodeAssert.equal(fresh.get("x-forwarded-proto"), "https");
});

Deno.test("prepareHttpRequest() keeps a trusted hop's X-Forwarded-Proto (xff_num_trusted_hops)", () => {
  const headers = new SimpleHeaderMap([["X-Forwarded-For", "203.0.113.9"], ["X-Forwarded-Proto", "https"]]);
  prepareHttpRequest(request(headers), "10.0.0.2", "http", { useRemoteAddress: true, xffNumTrustedHops: 1 });
  nodeAssert.equal(headers.get("x-forwarded-proto"), "https");
  nodeAssert.equal(headers.get("x-forwarded-for"), "203.0.113.9, 10.0.0.2");
  const none = new SimpleHeaderMap();
  prepareHttpRequest(request(none), "10.0.0.2", "http", { useRemoteAddress: true, xffNumTrustedHops: 1 });
  nodeAssert.equal(none.get("x-forwarded-proto"), "http", "missing is filled from the connection");
});

Deno.test("prepareHttpRequest() without use_remote_address passes X-Forwarded-For through untouched", () => {
  const policy = { useRemoteAddress: false, xffNumTrustedHops: 0 };
  const headers = new SimpleHeaderMap([["X-Forwarded-For", "198.51.100.4"], ["X-Forwarded-Proto", "https"]]);
  prepareHttpRequest(request(headers), "10.0.0.2", "http", policy);
  nodeAssert.equal(headers.get("x-forwarded-for"), "198.51.100.4");
  nodeAssert.equal(headers.get("x-forwarded-proto"), "https");
  const none = new SimpleHeaderMap();
  prepareHttpRequest(request(none), "10.0.0.2", "http", policy);
  nodeAssert.equal(none.has("x-forwarded-for"), false);
  nodeAssert.equal(none.get("x-forwarded-proto"), "http");
});
