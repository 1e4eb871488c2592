import nodeAssert from "node:assert/strict";
import { SimpleHeaderMap } from "../header_map.ts";
import { stripHopByHop } from "./_hop_by_hop.ts";

function names(h: SimpleHeaderMap): string[] {
  const out: string[] = [];
  h.forEach((_v, n) => out.push(n.toLowerCase()));
  return out;
}

Deno.test("stripHopByHop() removes hop-by-hop headers and those Connection names", () => {
  const h = new SimpleHeaderMap([
    ["Connection", "keep-alive, X-Secret-Hop"],
    ["X-Secret-Hop", "1"],
    ["TE", "gzip"],
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

Deno.test("stripHopByHop() keeps TE: trailers, the one TE an HTTP/2 upstream may receive", () => {
  const h = new SimpleHeaderMap([["TE", "trailers"], ["X-Keep", "yes"]]);
  stripHopByHop(h, false);
  nodeAssert.equal(h.get("te"), "trailers");
});
