import nodeAssert from "node:assert/strict";
import { SimpleHeaderMap } from "../codec/mod.ts";
import type { RequestHead } from "../codec/mod.ts";
import {
  clientCertDetails,
  DEFAULT_FORWARDING,
  prepareHttpRequest,
  setClientCertHeader,
} from "./http_headers.ts";

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

Deno.test("clientCertDetails() is Envoy's XFCC element: Hash, quoted Subject, the first URI, every DNS", () => {
  const hash = "ab".repeat(32);
  nodeAssert.equal(
    clientCertDetails({
      sha256: hash,
      subject: 'CN=app,O=Acme\\, "Inc"',
      uriSans: ["spiffe://cluster.local/ns/default/sa/app", "spiffe://second"],
      dnsSans: ["a.test", "b.test"],
    }),
    `Hash=${hash};Subject="CN=app,O=Acme\\\\, \\"Inc\\"";URI=spiffe://cluster.local/ns/default/sa/app;DNS=a.test;DNS=b.test`,
  );
  nodeAssert.equal(
    clientCertDetails({ sha256: hash, subject: "CN=x", uriSans: ["urn:a;b"], dnsSans: [] }),
    `Hash=${hash};Subject="CN=x";URI="urn:a;b"`,
    "a value with a separator is quoted",
  );
});

Deno.test("setClientCertHeader() replaces whatever the client sent, or only removes it", () => {
  const forged = new SimpleHeaderMap([["X-Forwarded-Client-Cert", "URI=spiffe://forged"]]);
  setClientCertHeader(request(forged), "Hash=1");
  nodeAssert.equal(forged.get("x-forwarded-client-cert"), "Hash=1");
  const anonymous = new SimpleHeaderMap([["x-forwarded-client-cert", "URI=spiffe://forged"]]);
  setClientCertHeader(request(anonymous), undefined);
  nodeAssert.equal(anonymous.has("x-forwarded-client-cert"), false);
});
