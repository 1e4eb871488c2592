import nodeAssert from "node:assert/strict";
import { SimpleHeaderMap } from "../codec/mod.ts";
import type { RequestHead } from "../codec/mod.ts";
import { prepareHttpRequest, stripHopByHop } from "./http_headers.ts";

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

Deno.test("prepareHttpRequest() appends X-Forwarded-For and sets X-Forwarded-Proto once", () => {
  const headers = new SimpleHeaderMap([["X-Forwarded-For", "10.0.0.1"], ["Host", "svc"]]);
  const head: RequestHead = { protocol: "Http1", method: "GET", path: "/", query: "", host: "svc", headers };
  prepareHttpRequest(head, "127.0.0.1");
  nodeAssert.equal(headers.get("x-forwarded-for"), "10.0.0.1, 127.0.0.1");
  nodeAssert.equal(headers.get("x-forwarded-proto"), "http");
  const fresh = new SimpleHeaderMap([["X-Forwarded-Proto", "https"]]);
  prepareHttpRequest({ ...head, headers: fresh }, "192.0.2.7");
  nodeAssert.equal(fresh.get("x-forwarded-for"), "192.0.2.7");
  nodeAssert.equal(fresh.get("x-forwarded-proto"), "https", "an edge proxy's value is kept");
});
