/**
 * Route matching cost per request: 50 virtual hosts × 20 routes, requests hitting early, late and
 * missing routes, exact and wildcard domains, plus header-only RPC routing and RE2 regex routes (run with
 * the binary's --v8-flags, as `deno task test` does, so regexes compile for the linear-time engine).
 */
import { compileRouteTable } from "./mod.ts";
import { head, route, router, vhost } from "./_test_utils.ts";
import type { RouteConfig, VirtualHostConfig } from "../config/mod.ts";

function routesFor(v: number): RouteConfig[] {
  const routes: RouteConfig[] = [];
  for (let r = 0; r < 20; r++) {
    const cluster = `c${v}_${r}`;
    if (r % 4 === 0) routes.push(route({ path: `/svc${r}/health` }, { clusterName: cluster }));
    else if (r % 4 === 1) routes.push(route({ regex: `^/svc${r}/[0-9]+$` }, { clusterName: cluster }));
    else if (r % 4 === 2) {
      routes.push(route({
        prefix: `/svc${r}/`,
        headers: [{ name: "x-env", value: "canary", regex: false }],
      }, { clusterName: cluster }));
    } else routes.push(route({ prefix: `/svc${r}/` }, { clusterName: cluster }));
  }
  return routes;
}

const hosts: VirtualHostConfig[] = [];
for (let v = 0; v < 49; v++) {
  hosts.push(
    vhost(
      `vh${v}`,
      [`svc${v}.example.com`, `svc${v}.example.com:8080`, `*.svc${v}.example.org`],
      routesFor(v),
    ),
  );
}
hosts.push(vhost("default", ["*"], routesFor(49)));
const table = compileRouteTable(router(hosts));

const rpcTable = compileRouteTable(router([
  vhost(
    "rpc",
    ["*"],
    Array.from(
      { length: 20 },
      (_, i) =>
        route({ headers: [{ name: "service", value: `com.foo.Svc${i}:1.0`, regex: false }] }, {
          clusterName: `s${i}`,
        }),
    ),
  ),
]));

const early = head({ host: "svc25.example.com", path: "/svc0/health" });
const late = head({ host: "svc25.example.com:8080", path: "/svc19/abc" });
const wildcard = head({ host: "a.svc30.example.org", path: "/svc17/x" });
const regex = head({ host: "svc3.example.com", path: "/svc13/12345" });
const miss = head({ host: "unknown.example.net", path: "/nothing/here" });
const rpc = {
  ...head({ path: "", method: "", headers: { service: "com.foo.Svc15:1.0" } }),
  protocol: "bolt",
};

if (table.match(late)?.route.clusterName !== "c25_19") throw new Error("bench setup: late route not matched");
if (rpcTable.match(rpc)?.route.clusterName !== "s15") throw new Error("bench setup: rpc route not matched");

Deno.bench({
  name: "match: exact host, first route",
  group: "route match",
  baseline: true,
  fn: () => void table.match(early),
});
Deno.bench({
  name: "match: host:port, last route (20 tried)",
  group: "route match",
  fn: () => void table.match(late),
});
Deno.bench({
  name: "match: wildcard host, prefix route 18",
  group: "route match",
  fn: () => void table.match(wildcard),
});
Deno.bench({ name: "match: regex route 14", group: "route match", fn: () => void table.match(regex) });
Deno.bench({
  name: "match: default vhost, no route",
  group: "route match",
  fn: () => void table.match(miss),
});
Deno.bench({
  name: "match: rpc header-only route 16",
  group: "route match",
  fn: () => void rpcTable.match(rpc),
});
Deno.bench({
  name: "compile: 50 vhosts × 20 routes",
  group: "compile",
  fn: () => void compileRouteTable(router(hosts)),
});

// Regex routes: RE2 patterns translated once by core/re2.ts, matched on V8's backtracking engine with
// the linear-time fallback (run `deno bench` with the binary's --v8-flags).
const regexTable = compileRouteTable(router([
  vhost("regex", ["*"], [
    route({ regex: "^/api/v[0-9]+/users/[a-z0-9]+$" }, { clusterName: "users" }),
    route({ regex: "(?i)^/static/.*\\.(css|js)$" }, { clusterName: "static" }),
    route({ regex: "^/[a-z]{1,30}/[0-9]{1,10}$" }, { clusterName: "counted" }),
    route({ regex: "^/(a+)+$" }, { clusterName: "evil" }),
    route({ prefix: "/", headers: [{ name: "x-user", value: "^vip-[0-9]+$", regex: true }] }, {
      clusterName: "vip",
    }),
  ]),
]));
const rewriteTable = compileRouteTable(router([
  vhost("rewrite", ["*"], [
    route({ prefix: "/" }, {
      clusterName: "u",
      regexRewrite: { pattern: "^/users/(?P<id>[0-9]+)/", substitution: "/u/${id}/" },
    }),
  ]),
]));
const usersPath = head({ path: "/api/v2/users/abc123" });
const staticPath = head({ path: "/STATIC/css/site.CSS" });
const countedPath = head({ path: "/orders/1234567" });
const vipHeader = head({ path: "/x", headers: { "x-user": "vip-42" } });
const evilPath = head({ path: "/" + "a".repeat(33) + "!" });
const rewriteRoute = rewriteTable.match(head({ path: "/users/42/x" }))!.route;
if (regexTable.match(countedPath)?.route.clusterName !== "counted") throw new Error("bench setup: counted");

Deno.bench({
  name: "regex: path regex, first route",
  group: "regex",
  baseline: true,
  fn: () => void regexTable.match(usersPath),
});
Deno.bench({
  name: "regex: (?i) path regex, 2nd route",
  group: "regex",
  fn: () => void regexTable.match(staticPath),
});
Deno.bench({
  name: "regex: {1,30}{1,10} path regex, 3rd route",
  group: "regex",
  fn: () => void regexTable.match(countedPath),
});
Deno.bench({
  name: "regex: header regex, 5th route",
  group: "regex",
  fn: () => void regexTable.match(vipHeader),
});
Deno.bench({
  name: "regex: 35-byte path against ^/(a+)+$ (linear fallback)",
  group: "regex",
  fn: () => void regexTable.match(evilPath),
});
Deno.bench({
  name: "regex: regex_rewrite with a named group (incl. a fresh head)",
  group: "regex",
  fn: () => void rewriteRoute.rewrite(head({ path: "/users/42/x" })),
});
