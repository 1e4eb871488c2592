import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { compileRouteTable } from "./compile_route_table.ts";
import type { CompiledRoute } from "./compiled_route.ts";
import { ORIGINAL_PATH_HEADER } from "./compiled_route.ts";
import { head, hv, route, router, TestHeaders, vhost } from "./_test_utils.ts";
import type { RouteConfig, RouterConfig } from "../config/mod.ts";

function only(
  r: RouteConfig,
  wrap: (rc: RouteConfig) => RouterConfig = (rc) => router([vhost("v", ["*"], [rc])]),
) {
  return compileRouteTable(wrap(r)).virtualHosts[0]!.routes[0]! as CompiledRoute;
}

/** A seeded PRNG (mulberry32) so distributions are reproducible. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("CompiledRoute.rewrite() replaces the matched prefix and keeps the original path", () => {
  const r = only(route({ prefix: "/api/" }, { prefixRewrite: "/v2/" }));
  const h = head({ path: "/api/users", query: "?a=1" });
  assertEquals(r.rewrite(h), true);
  assertEquals(h.path, "/v2/users");
  assertEquals(h.query, "?a=1");
  assertEquals(h.headers.get(ORIGINAL_PATH_HEADER), "/api/users");
});

Deno.test("CompiledRoute.rewrite() replaces a whole exact path and accepts prefix_rewrite /", () => {
  const r = only(route({ path: "/old" }, { prefixRewrite: "/" }));
  const h = head({ path: "/OLD" });
  r.rewrite(h);
  assertEquals(h.path, "/");
  assertEquals(h.headers.get(ORIGINAL_PATH_HEADER), "/OLD");
});

Deno.test("CompiledRoute.rewrite() applies regex_rewrite to every match with Go-style groups", () => {
  const r = only(route({ prefix: "/" }, {
    regexRewrite: { pattern: "/users/(?P<id>[0-9]+)", substitution: "/u/${id}/$1$$" },
  }));
  const h = head({ path: "/users/42/x/users/7" });
  assertEquals(r.rewrite(h), true);
  assertEquals(h.path, "/u/42/42$/x/u/7/7$");
  assertEquals(h.headers.get(ORIGINAL_PATH_HEADER), "/users/42/x/users/7");
});

Deno.test("CompiledRoute.rewrite() follows RE2 and Go's ReplaceAllString", () => {
  const rewrite = (pattern: string, substitution: string, path: string) => {
    const h = head({ path });
    only(route({ prefix: "/" }, { regexRewrite: { pattern, substitution } })).rewrite(h);
    return h.path;
  };
  assertEquals(rewrite("(?i)/API/", "/api/", "/Api/x"), "/api/x");
  assertEquals(rewrite("^/([a-z]{1,20})/v[0-9]+", "/$1", "/users/v2/7"), "/users/7");
  assertEquals(rewrite("x*", "-", "/ab"), "-/-a-b-"); // no empty match right after a match, as in Go
  assertEquals(rewrite("^/(?P<a>[a-z]+)/(?P<b>[0-9]+)$", "/${b}/$a", "/abc/12"), "/12/abc");
});

Deno.test("CompiledRoute.rewrite() leaves an unmatched path and the original header alone", () => {
  const r = only(route({ prefix: "/" }, { regexRewrite: { pattern: "^/nope", substitution: "/x" } }));
  const h = head({ path: "/api" });
  assertEquals(r.rewrite(h), false);
  assertEquals(h.path, "/api");
  assertEquals(h.headers.has(ORIGINAL_PATH_HEADER), false);
});

Deno.test("CompiledRoute.rewrite() prefers prefix_rewrite over regex_rewrite", () => {
  const r = only(
    route({ prefix: "/a" }, { prefixRewrite: "/b", regexRewrite: { pattern: "a", substitution: "z" } }),
  );
  const h = head({ path: "/a/a" });
  r.rewrite(h);
  assertEquals(h.path, "/b/a");
});

Deno.test("CompiledRoute.rewrite() applies host_rewrite to head.host and the host header", () => {
  const r = only(route({ prefix: "/" }, { hostRewrite: "backend.internal" }));
  const h = head({ host: "www.example.com", headers: { host: "www.example.com" } });
  assertEquals(r.rewrite(h), false);
  assertEquals(h.host, "backend.internal");
  assertEquals(h.headers.get("host"), "backend.internal");
});

Deno.test("CompiledRoute.applyRequestHeaders() applies route, then vhost, then router edits", () => {
  const r = only(
    route({ prefix: "/" }, {
      requestHeadersToAdd: [hv("x-level", "route"), hv("x-multi", "route", true)],
      requestHeadersToRemove: ["x-secret"],
    }),
    (rc) =>
      router([
        vhost("v", ["*"], [rc], {
          requestHeadersToAdd: [hv("x-level", "vhost"), hv("x-multi", "vhost", true), hv("x-drop", "1")],
          requestHeadersToRemove: ["x-drop-client"],
        }),
      ], {
        requestHeadersToAdd: [hv("X-Multi", "router", true), hv("x-router", "1")],
        requestHeadersToRemove: ["x-drop"],
      }),
  );
  const headers = new TestHeaders({ "x-multi": "client", "x-secret": "s", "x-drop-client": "d" });
  r.applyRequestHeaders(headers);
  assertEquals(headers.get("x-level"), "vhost");
  assertEquals(headers.getAll("x-multi"), ["client", "route", "vhost", "router"]);
  assertEquals(headers.has("x-secret"), false);
  assertEquals(headers.has("x-drop-client"), false);
  assertEquals(headers.has("x-drop"), false);
  assertEquals(headers.get("x-router"), "1");
});

Deno.test("CompiledRoute.applyResponseHeaders() uses the response lists only", () => {
  const r = only(
    route({ prefix: "/" }, {
      responseHeadersToAdd: [hv("x-served-by", "meshctl")],
      responseHeadersToRemove: ["server"],
    }),
    (rc) => router([vhost("v", ["*"], [rc], { responseHeadersToAdd: [hv("x-vh", "1")] })]),
  );
  const headers = new TestHeaders({ server: "nginx" });
  r.applyResponseHeaders(headers);
  assertEquals(headers.entries(), [["x-served-by", "meshctl"], ["x-vh", "1"]]);
  const req = new TestHeaders();
  r.applyRequestHeaders(req);
  assertEquals(req.size, 0);
});

Deno.test("CompiledRoute.pickCluster() returns cluster_name without weighted clusters", () => {
  assertEquals(only(route({ prefix: "/" }, { clusterName: "solo" })).pickCluster(), "solo");
});

Deno.test("CompiledRoute.pickCluster() follows the weights and is deterministic given random", () => {
  const r = only(route({ prefix: "/" }, {
    clusterName: "",
    weightedClusters: [{ name: "a", weight: 10 }, { name: "b", weight: 30 }, { name: "c", weight: 60 }, {
      name: "z",
      weight: 0,
    }],
  }));
  assertEquals(r.pickCluster(() => 0), "a");
  assertEquals(r.pickCluster(() => 0.0999), "a");
  assertEquals(r.pickCluster(() => 0.1), "b");
  assertEquals(r.pickCluster(() => 0.9999), "c");
  const counts: Record<string, number> = { a: 0, b: 0, c: 0, z: 0 };
  const random = seeded(7);
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[r.pickCluster(random)]!++;
  assertEquals(counts.z, 0);
  for (const [name, share] of [["a", 0.1], ["b", 0.3], ["c", 0.6]] as const) {
    const got = counts[name]! / n;
    if (Math.abs(got - share) > 0.01) throw new Error(`cluster ${name}: share ${got}, want ${share}`);
  }
});

Deno.test("CompiledRoute.redirectLocation() builds scheme://host/path?query from rule and request", () => {
  const path = only(route({ prefix: "/" }, { redirect: { responseCode: 301, pathRedirect: "/new" } }));
  assertEquals(
    path.redirectLocation(head({ host: "a.com", path: "/old", query: "?q=1" })),
    "http://a.com/new?q=1",
  );

  const https = only(route({ prefix: "/" }, { redirect: { responseCode: 308, schemeRedirect: "HTTPS" } }));
  assertEquals(https.redirect?.schemeRedirect, "https");
  assertEquals(https.redirectLocation(head({ host: "a.com:80", path: "/x" }), "http"), "https://a.com/x");
  assertEquals(
    https.redirectLocation(head({ host: "a.com:8080", path: "/x" }), "http"),
    "https://a.com:8080/x",
  );

  const host = only(route({ prefix: "/" }, { redirect: { responseCode: 302, hostRedirect: "b.com" } }));
  assertEquals(host.redirectLocation(head({ host: "a.com", path: "/p" }), "https"), "https://b.com/p");

  const bare = only(route({ prefix: "/" }, { redirect: { responseCode: 301, pathRedirect: "rel" } }));
  assertEquals(bare.redirectLocation(head({ host: "a.com" })), "http://a.com/rel");
});

Deno.test("CompiledRoute exposes the route action's policies", () => {
  const r = only(route({ prefix: "/" }, {
    timeoutMs: 1500,
    retryPolicy: { retryOn: true, retryTimeoutMs: 500, numRetries: 2, statusCodes: [503] },
    hashPolicy: [{ type: "header", key: "x-user" }],
    upstreamProtocol: "Http1",
  }));
  assertEquals(r.kind, "route");
  assertEquals(r.timeoutMs, 1500);
  assertEquals(r.retryPolicy?.numRetries, 2);
  assertEquals(r.hashPolicy, [{ type: "header", key: "x-user" }]);
  assertEquals(r.upstreamProtocol, "Http1");
});

Deno.test("CompiledRoute rejects an invalid redirect scheme", () => {
  assertThrows(
    () => only(route({ prefix: "/" }, { redirect: { responseCode: 301, schemeRedirect: "1http" } })),
    RangeError,
  );
});

Deno.test("CompiledRoute.matches(): a CONNECT (authority, no path) matches connect_matcher routes only", () => {
  const connect = head({ method: "CONNECT", path: "", host: "db.internal:5432" });
  const connectRoute = only(route({ connect: true }, { connect: "terminate" }));
  assertEquals(connectRoute.matches(connect), true);
  assertEquals(connectRoute.connect, "terminate");
  assertEquals(connectRoute.matches(head({ path: "/" })), false, "connect_matcher takes no other request");
  for (const m of [{ prefix: "/" }, { prefix: "" }, { regex: ".*" }, {}]) {
    assertEquals(only(route(m)).matches(connect), false, `${JSON.stringify(m)} took a CONNECT`);
  }
  // Extended CONNECT (RFC 8441) has a path and routes like any request.
  assertEquals(only(route({ prefix: "/chat" })).matches(head({ method: "CONNECT", path: "/chat" })), true);
});

Deno.test("CompiledRoute.upstreamProtocolFor(): the route's, else the proxy's, Auto meaning the request's own", () => {
  const bolt = { ...head(), protocol: "bolt" };
  const h2 = { ...head(), protocol: "Http2" };
  const unset = only(route({ prefix: "/" }));
  assertEquals(unset.upstreamProtocolFor(bolt, undefined), "bolt");
  assertEquals(unset.upstreamProtocolFor(h2, "Auto"), "Http2");
  assertEquals(unset.upstreamProtocolFor(h2, "Http1"), "Http1");
  const fixed = only(route({ prefix: "/" }, { upstreamProtocol: "boltv2" }));
  assertEquals(fixed.upstreamProtocolFor(bolt, "Auto"), "boltv2");
  const auto = only(route({ prefix: "/" }, { upstreamProtocol: "Auto" }));
  assertEquals(auto.upstreamProtocolFor(h2, "Http1"), "Http2", "the route's Auto beats the proxy's protocol");
});

Deno.test("query_parameters: exact, regex and present conditions on the first, percent-decoded occurrence", () => {
  const r = only(route({
    prefix: "/",
    queryParameters: [
      { name: "user", value: "jason smith", regex: false },
      { name: "v", value: "^v[0-9]+$", regex: true },
      { name: "debug", value: undefined, regex: false },
    ],
  }));
  const m = (query: string) => r.matches(head({ path: "/p", query }));
  assertEquals(m("?user=jason%20smith&v=v2&debug"), true);
  assertEquals(m("?debug=&v=v10&user=jason%20smith"), true, "order does not matter; debug= is present");
  assertEquals(m("?user=jason%20smith&v=v2"), false, "debug absent");
  assertEquals(m("?user=jason+smith&v=v2&debug"), false, "+ is not a space (Envoy)");
  assertEquals(m("?user=bob&user=jason%20smith&v=v2&debug"), false, "the first occurrence counts");
  assertEquals(m("?user=jason%20smith&v=x2&debug"), false, "regex");
  assertEquals(m(""), false);
});

Deno.test("query_parameters: a route table falls through to the next route when the query does not match", () => {
  const table = compileRouteTable(router([vhost("v", ["*"], [
    route({ prefix: "/", queryParameters: [{ name: "canary", value: "1", regex: false }] }, {
      clusterName: "canary",
    }),
    route({ prefix: "/" }, { clusterName: "stable" }),
  ])]));
  const pick = (query: string) => table.match(head({ path: "/x", query }))!.route.clusterName;
  assertEquals([pick("?canary=1"), pick("?canary=0"), pick("")], ["canary", "stable", "stable"]);
});
