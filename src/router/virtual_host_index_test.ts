import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { VirtualHostIndex } from "./virtual_host_index.ts";

function index(domains: Record<string, string>): VirtualHostIndex<string> {
  const idx = new VirtualHostIndex<string>();
  for (const [domain, value] of Object.entries(domains)) idx.add(domain, value, "test");
  return idx;
}

Deno.test("VirtualHostIndex.find() prefers host:port, then host, then wildcard:port, wildcard, default", () => {
  const idx = index({
    "www.example.com:8080": "exact-port",
    "www.example.com": "exact",
    "*.example.com:8080": "wild-port",
    "*.example.com": "wild",
    "*": "default",
  });
  assertEquals(idx.find("www.example.com:8080"), "exact-port");
  assertEquals(idx.find("www.example.com:9090"), "exact");
  assertEquals(idx.find("www.example.com"), "exact");
  assertEquals(idx.find("api.example.com:8080"), "wild-port");
  assertEquals(idx.find("api.example.com:9090"), "wild");
  assertEquals(idx.find("api.example.com"), "wild");
  assertEquals(idx.find("example.com"), "default");
  assertEquals(idx.find("other.org"), "default");
});

Deno.test("VirtualHostIndex.find() tries the longest wildcard suffix first", () => {
  const idx = index({ "*.com": "com", "*.example.com": "example", "*.a.example.com": "a" });
  assertEquals(idx.find("x.a.example.com"), "a");
  assertEquals(idx.find("b.example.com"), "example");
  assertEquals(idx.find("foo.com"), "com");
  assertEquals(idx.find("foo.org"), undefined);
});

Deno.test("VirtualHostIndex.find() lets a port-specific wildcard beat a longer any-port wildcard", () => {
  const idx = index({ "*.b.example.com": "long", "*.example.com:80": "port" });
  assertEquals(idx.find("a.b.example.com:80"), "port");
  assertEquals(idx.find("a.b.example.com:81"), "long");
});

Deno.test("VirtualHostIndex.find() treats a domain without a port or with :* as every port", () => {
  const idx = index({ "a.com": "a", "b.com:*": "b", "c.com:81": "c" });
  assertEquals(idx.find("a.com:1234"), "a");
  assertEquals(idx.find("b.com:80"), "b");
  assertEquals(idx.find("b.com"), "b");
  assertEquals(idx.find("c.com"), undefined);
  assertEquals(idx.find("c.com:81"), "c");
});

Deno.test("VirtualHostIndex.find() matches *:port on any host of that port", () => {
  const idx = index({ "*:8080": "p", "*": "d" });
  assertEquals(idx.find("anything:8080"), "p");
  assertEquals(idx.find("anything:80"), "d");
});

Deno.test("VirtualHostIndex.find() handles IPv6 literals and case-folds domains", () => {
  const idx = index({ "[::1]:8080": "v6port", "[::1]": "v6", "WWW.Example.COM": "mixed" });
  assertEquals(idx.find("[::1]:8080"), "v6port");
  assertEquals(idx.find("[::1]:9"), "v6");
  assertEquals(idx.find("www.example.com"), "mixed");
});

Deno.test("VirtualHostIndex.find() gives an empty host the default", () => {
  assertEquals(index({ "a.com": "a", "*": "d" }).find(""), "d");
  assertEquals(index({ "a.com": "a" }).find(""), undefined);
  assertEquals(index({ "*": "d" }).find("whatever:1"), "d");
});

Deno.test("VirtualHostIndex.add() rejects repeated and malformed domains", () => {
  assertThrows(() => index({ "*": "a", "*:*": "b" }), RangeError);
  const idx = index({ "a.com": "a" });
  assertThrows(() => idx.add("A.com", "b", "test"), RangeError);
  idx.add("*.a.com", "x", "test");
  assertThrows(() => idx.add("*.a.com:*", "y", "test"), RangeError);
  assertThrows(() => idx.add("a.*.com", "x", "test"), /Cannot use domain "a\.\*\.com"/);
});
