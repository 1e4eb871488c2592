import {
  deepStrictEqual as assertEquals,
  strictEqual as assertStrictEquals,
  throws as assertThrows,
} from "node:assert/strict";
import type { RequestHead } from "../codec/mod.ts";
import { KvHeaderMap } from "../codec/xprotocol/mod.ts";
import { compileRouteTable } from "./compile_route_table.ts";
import { head, route, router, vhost } from "./_test_utils.ts";

Deno.test("compileRouteTable() picks the virtual host by the request host", () => {
  const table = compileRouteTable(router([
    vhost("api", ["api.example.com"], [route({ prefix: "/" }, { clusterName: "api" })]),
    vhost("default", ["*"], [route({ prefix: "/" }, { clusterName: "default" })]),
  ]));
  assertEquals(table.match(head({ host: "api.example.com:8080" }))?.route.clusterName, "api");
  assertEquals(table.match(head({ host: "other.example.com" }))?.vhost.name, "default");
  assertEquals(table.findVirtualHost("api.example.com")?.name, "api");
});

Deno.test("compileRouteTable() returns undefined without a virtual host or route", () => {
  const table = compileRouteTable(router([vhost("api", ["api.example.com"], [route({ prefix: "/api" })])]));
  assertEquals(table.match(head({ host: "nope.example.com", path: "/api" })), undefined);
  assertEquals(table.match(head({ host: "api.example.com", path: "/web" })), undefined);
});

Deno.test("RouteTable.match() matches prefix case-sensitively", () => {
  const table = compileRouteTable(router([vhost("v", ["*"], [route({ prefix: "/Api/" })])]));
  assertEquals(table.match(head({ path: "/Api/users" }))?.kind, "route");
  assertEquals(table.match(head({ path: "/api/users" })), undefined);
  assertEquals(table.match(head({ path: "/Api" })), undefined);
});

Deno.test("RouteTable.match() matches path exactly but ignoring case", () => {
  const table = compileRouteTable(router([vhost("v", ["*"], [route({ path: "/Health" })])]));
  assertEquals(table.match(head({ path: "/health" }))?.kind, "route");
  assertEquals(table.match(head({ path: "/HEALTH" }))?.kind, "route");
  assertEquals(table.match(head({ path: "/health/x" })), undefined);
  assertEquals(table.match(head({ path: "/Héalth" })), undefined);
});

Deno.test("RouteTable.match() matches regex unanchored and converts RE2 named groups", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ regex: "/v[0-9]+/" }, { clusterName: "versioned" }),
      route({ regex: "^/(?P<id>[a-z]+)$" }, { clusterName: "named" }),
    ]),
  ]));
  assertEquals(table.match(head({ path: "/api/v2/users" }))?.route.clusterName, "versioned");
  assertEquals(table.match(head({ path: "/abc" }))?.route.clusterName, "named");
  assertEquals(table.match(head({ path: "/abc/" })), undefined);
});

Deno.test("RouteTable.match() matches (?i) route and header regexes case-insensitively", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ regex: "(?i)^/api/v[0-9]{1,20}/users$" }, { clusterName: "api" }),
      route({ prefix: "/", headers: [{ name: "x-user", value: "(?i)^vip-", regex: true }] }, {
        clusterName: "vip",
      }),
    ]),
  ]));
  assertEquals(table.match(head({ path: "/API/V2/Users" }))?.route.clusterName, "api");
  assertEquals(
    table.match(head({ path: "/other", headers: { "x-user": "VIP-ann" } }))?.route.clusterName,
    "vip",
  );
  assertEquals(table.match(head({ path: "/other", headers: { "x-user": "ann" } })), undefined);
});

Deno.test("RouteTable.match() stays fast on paths and headers that make a backtracking regex exponential", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ regex: "^/(a+)+$" }, { clusterName: "path" }),
      route({ prefix: "/", headers: [{ name: "x-k", value: "^(a|a)*b$", regex: true }] }, {
        clusterName: "header",
      }),
    ]),
  ]));
  const evil = "/" + "a".repeat(33) + "!"; // 35 bytes: 2^33 steps for a backtracking engine
  const start = performance.now();
  assertEquals(table.match(head({ path: evil, headers: { "x-k": "a".repeat(34) + "!" } })), undefined);
  const ms = performance.now() - start;
  assertEquals(ms < 250, true, `took ${ms.toFixed(1)} ms`);
});

Deno.test("RouteTable.match() lets the first matching route win", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ prefix: "/a" }, { clusterName: "first" }),
      route({ prefix: "/a/b" }, { clusterName: "second" }),
    ]),
  ]));
  assertEquals(table.match(head({ path: "/a/b/c" }))?.route.clusterName, "first");
});

Deno.test("RouteTable.match() requires every header condition, exact or regex", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({
        prefix: "/",
        headers: [{ name: "x-env", value: "canary", regex: false }, {
          name: "x-user",
          value: "^vip-",
          regex: true,
        }],
      }, { clusterName: "canary" }),
      route({ prefix: "/" }, { clusterName: "stable" }),
    ]),
  ]));
  const pick = (headers: Record<string, string>) => table.match(head({ headers }))?.route.clusterName;
  assertEquals(pick({ "x-env": "canary", "x-user": "vip-7" }), "canary");
  assertEquals(pick({ "x-env": "canary", "x-user": "std-vip-7" }), "stable");
  assertEquals(pick({ "x-env": "Canary", "x-user": "vip-7" }), "stable");
  assertEquals(pick({ "x-env": "canary" }), "stable");
});

Deno.test("RouteTable.match() reads header condition `method` from the request method", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ prefix: "/", headers: [{ name: "method", value: "POST|PUT", regex: true }] }, {
        clusterName: "write",
      }),
      route({ prefix: "/", headers: [{ name: "method", value: "GET", regex: false }] }, {
        clusterName: "read",
      }),
    ]),
  ]));
  assertEquals(table.match(head({ method: "PUT" }))?.route.clusterName, "write");
  assertEquals(table.match(head({ method: "GET" }))?.route.clusterName, "read");
  assertEquals(table.match(head({ method: "DELETE" })), undefined);
});

Deno.test("RouteTable.match() routes RPC requests (empty path) by headers alone", () => {
  const table = compileRouteTable(router([
    vhost("rpc", ["*"], [
      route({ headers: [{ name: "service", value: "com.foo.Svc:1.0", regex: false }] }, {
        clusterName: "foo",
      }),
      route({ headers: [{ name: "service", value: ".*", regex: true }] }, { clusterName: "any" }),
    ]),
  ]));
  const rpc = (service: string) => ({
    ...head({ path: "", method: "" }),
    protocol: "bolt",
    headers: head({ headers: { service } }).headers,
  });
  assertEquals(table.match(rpc("com.foo.Svc:1.0"))?.route.clusterName, "foo");
  assertEquals(table.match(rpc("com.bar.Svc:1.0"))?.route.clusterName, "any");
});

/** A bolt-like request: no path, routed by its header map. */
function rpcHead(headers: Record<string, string>, protocol = "bolt") {
  return {
    ...head({ path: "", method: "" }),
    protocol,
    kind: "rpc" as const,
    headers: head({ headers }).headers,
  };
}

Deno.test("RouteTable.match() takes a lone `service` matcher by value, `.*` meaning any service (MOSN's RPC rule)", () => {
  const any = compileRouteTable(router([
    vhost("v", ["*"], [route({ headers: [{ name: "service", value: ".*", regex: false }] })]),
  ]));
  assertEquals(any.match(rpcHead({ service: "com.foo.Svc:1.0" }))?.route.clusterName, "c");
  assertEquals(any.match(rpcHead({ service: "x" }, "dubbo"))?.route.clusterName, "c");
  assertEquals(
    any.match(head({ path: "/any", headers: { service: "web" } }))?.route.clusterName,
    "c",
    "any request with a service header, HTTP too",
  );
  assertEquals(any.match(rpcHead({})), undefined, "no service header");
  assertEquals(any.match(rpcHead({ service: "" })), undefined, "an empty service is none");
  assertEquals(any.match(head({ path: "/" })), undefined, "an HTTP request without one");

  const exact = compileRouteTable(router([
    vhost("v", ["*"], [route({ headers: [{ name: "service", value: "com.foo.Svc:1.0", regex: false }] })]),
  ]));
  assertEquals(exact.match(rpcHead({ service: "com.foo.Svc:1.0" }))?.route.clusterName, "c");
  assertEquals(exact.match(rpcHead({ service: "com.foo.Svc:2.0" })), undefined);
});

Deno.test("RouteTable.match() reads no regex in the lone `service` match, as MOSN", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [route({ headers: [{ name: "service", value: "com\\.foo\\..*", regex: true }] })]),
  ]));
  assertEquals(table.match(rpcHead({ service: "com.foo.Svc" })), undefined);
  assertEquals(table.match(rpcHead({ service: "com\\.foo\\..*" }))?.route.clusterName, "c");
  const anyRegex = compileRouteTable(router([
    vhost("v", ["*"], [route({ headers: [{ name: "service", value: ".*", regex: true }] })]),
  ]));
  assertEquals(anyRegex.match(rpcHead({ service: "com.foo.Svc" }))?.route.clusterName, "c");
  assertEquals(anyRegex.match(rpcHead({ service: "" })), undefined, "unlike the regex .*, not an empty one");
});

Deno.test("RouteTable.match() compares `service` by value only in a path-less route with no other matcher", () => {
  const withPrefix = compileRouteTable(router([
    vhost("v", ["*"], [route({ prefix: "/", headers: [{ name: "service", value: ".*", regex: false }] })]),
  ]));
  assertEquals(withPrefix.match(head({ path: "/", headers: { service: "web" } })), undefined);
  assertEquals(withPrefix.match(head({ path: "/", headers: { service: ".*" } }))?.route.clusterName, "c");

  const two = compileRouteTable(router([
    vhost("v", ["*"], [
      route({
        headers: [{ name: "service", value: ".*", regex: false }, {
          name: "x-env",
          value: "a",
          regex: false,
        }],
      }),
    ]),
  ]));
  assertEquals(two.match(rpcHead({ service: "com.foo.Svc", "x-env": "a" })), undefined);
  assertEquals(two.match(rpcHead({ service: ".*", "x-env": "a" }))?.route.clusterName, "c");

  // An empty value is no fast match in MOSN either: the header must then be present and empty.
  const empty = compileRouteTable(router([
    vhost("v", ["*"], [route({ headers: [{ name: "service", value: "", regex: false }] })]),
  ]));
  assertEquals(empty.match(rpcHead({ service: "" }))?.route.clusterName, "c");
  assertEquals(empty.match(rpcHead({ service: "x" })), undefined);
  assertEquals(empty.match(rpcHead({})), undefined);
});

Deno.test("RouteTable.match() reads `method` as a header in a path-less route (MOSN's RPC rule)", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [route({ headers: [{ name: "method", value: "sayHello", regex: false }] })]),
  ]));
  assertEquals(table.match(rpcHead({ method: "sayHello" }))?.route.clusterName, "c");
  const get = head({ method: "sayHello", path: "/" });
  assertEquals(table.match(get), undefined, "not the HTTP method");
});

Deno.test("RouteTable.match() returns the same frozen match object for a route", () => {
  const table = compileRouteTable(router([vhost("v", ["*"], [route({ prefix: "/" })])]));
  const a = table.match(head({ path: "/x" }));
  assertStrictEquals(a, table.match(head({ path: "/y" })));
  assertEquals(Object.isFrozen(a), true);
});

Deno.test("RouteTable.match() reports direct_response and redirect kinds", () => {
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ prefix: "/dr" }, { directResponse: { status: 503, body: "down" } }),
      route({ prefix: "/old" }, { redirect: { responseCode: 302, pathRedirect: "/new" } }),
    ]),
  ]));
  const dr = table.match(head({ path: "/dr" }));
  assertEquals(dr?.kind, "direct_response");
  assertEquals(dr?.route.directResponse, { status: 503, body: "down" });
  const rd = table.match(head({ path: "/old" }));
  assertEquals(rd?.kind, "redirect");
  assertEquals(rd?.route.redirect?.responseCode, 302);
});

Deno.test("compileRouteTable() rejects bad regexes, duplicate domains and redirect codes", () => {
  assertThrows(() => compileRouteTable(router([vhost("v", ["*"], [route({ regex: "([" })])])), SyntaxError);
  assertThrows(
    () => compileRouteTable(router([vhost("v", ["*"], [route({ regex: "(a)\\1" })])])),
    /Cannot compile regex "\(a\)\\1" in router "r" virtual host "v" route 0: invalid escape sequence: `\\1`/,
  );
  assertThrows(
    () => compileRouteTable(router([vhost("a", ["x.com"], []), vhost("b", ["x.com"], [])])),
    /Cannot use domain "x\.com" twice in router "r" virtual host "b"/,
  );
  assertThrows(
    () =>
      compileRouteTable(
        router([vhost("v", ["*"], [route({ prefix: "/" }, { redirect: { responseCode: 300 } })])]),
      ),
    RangeError,
  );
});

/** An RPC head whose header map is the undecoded bytes of a frame (bolt's u32-length-prefixed layout). */
function rawFrameHead(entries: Record<string, string>, init: { path?: string; kind?: "rpc" | "http" } = {}) {
  const enc = new TextEncoder();
  const parts: number[] = [];
  for (const [k, v] of Object.entries(entries)) {
    for (const s of [k, v]) {
      const b = enc.encode(s);
      parts.push(0, 0, b.length >> 8, b.length & 0xff, ...b);
    }
  }
  const bytes = Uint8Array.from(parts);
  return {
    protocol: "bolt",
    kind: init.kind ?? "rpc" as const,
    method: "",
    path: init.path ?? "",
    query: "",
    host: "",
    headers: KvHeaderMap.fromLengthPrefixed(bytes, 0, bytes.length)!,
  };
}

Deno.test("RouteTable.match() answers a request identical to the last one from memory, and only then", () => {
  // Not `service`: a route whose only header matcher is `service` follows MOSN's RPC rule (by value).
  const table = compileRouteTable(router([
    vhost("v", ["*"], [
      route({ prefix: "/b", headers: [{ name: "x-svc", value: "^a\\.", regex: true }] }, {
        clusterName: "b",
      }),
      route({ headers: [{ name: "x-svc", value: "^a\\.", regex: true }] }, { clusterName: "a" }),
      route({ headers: [{ name: "x-svc", value: "x", regex: false }] }, { clusterName: "x" }),
    ]),
  ]));
  const pick = (h: RequestHead) => table.match(h)?.route.clusterName;
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "a.S" })), "a");
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "a.S" })), "a", "same bytes, same answer");
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "x" })), "x", "other bytes are matched afresh");
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "y" })), undefined);
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "y" })), undefined, "a remembered miss is still a miss");
  assertStrictEquals(
    pick(rawFrameHead({ "x-svc": "a.S" }, { path: "/b" })),
    "b",
    "the path is part of the key",
  );

  // The proxy rewrites a head after matching it: what is remembered is the head as it was matched.
  const first = rawFrameHead({ "x-svc": "a.S" });
  assertStrictEquals(pick(first), "a");
  first.path = "/b";
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "a.S" }, { path: "/b" })), "b");
  // An edited map is never "the same entries" as another: the next identical frame is matched afresh.
  const edited = rawFrameHead({ "x-svc": "x" });
  assertStrictEquals(pick(edited), "x");
  edited.headers.set("x-svc", "a.S");
  assertStrictEquals(pick(rawFrameHead({ "x-svc": "x" })), "x");
  assertStrictEquals(pick(edited), "a");
  // Heads without sameEntries (HTTP) are always matched.
  assertStrictEquals(table.match(head({ headers: { "x-svc": "x" } }))?.route.clusterName, "x");
  assertStrictEquals(table.match(head({ headers: { "x-svc": "q" } })), undefined);
});
