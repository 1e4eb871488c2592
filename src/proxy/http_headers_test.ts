import nodeAssert from "node:assert/strict";
import { SimpleHeaderMap } from "../codec/mod.ts";
import type { RequestHead } from "../codec/mod.ts";
import { DEFAULT_FORWARDING, prepareHttpRequest } from "./http_headers.ts";

function request(headers: SimpleHeaderMap): RequestHead {
  return {
    protocol: "Http1",
    kind: "http" as const,
    method: "GET",
    path: "/",
    query: "",
    host: "svc",
    headers,
  };
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
