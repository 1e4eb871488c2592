import assert from "node:assert/strict";
import type { TcpProxyRouteConfig } from "../config/mod.ts";
import { type ConnectionEnds, TcpRouteTable } from "./tcp_routes.ts";

const ANY_PORT = [{ min: 1, max: 65535 }];

function route(cluster: string, overrides: Partial<TcpProxyRouteConfig> = {}): TcpProxyRouteConfig {
  return {
    cluster,
    sourceAddrs: [{ address: "0.0.0.0", length: 0 }],
    sourcePorts: ANY_PORT,
    destinationAddrs: [{ address: "0.0.0.0", length: 0 }],
    destinationPorts: ANY_PORT,
    ...overrides,
  };
}

function ends(remote: string, local: string): ConnectionEnds {
  const split = (s: string) => {
    const i = s.lastIndexOf(":");
    return { hostname: s.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(s.slice(i + 1)) };
  };
  return { remote: split(remote), local: split(local) };
}

Deno.test("TcpRouteTable.clusterFor() uses cluster for every connection when it is set, as MOSN", () => {
  const t = new TcpRouteTable({ cluster: "fixed", routes: [route("routed")] });
  assert.equal(t.clusterFor(ends("127.0.0.2:40000", "127.0.0.1:2045")), "fixed");
});

Deno.test("TcpRouteTable.clusterFor() takes the first route whose four lists all match", () => {
  const t = new TcpRouteTable({
    cluster: undefined,
    routes: [
      route("from_two", { sourceAddrs: [{ address: "127.0.0.2", length: 32 }] }),
      route("high_ports", { sourcePorts: [{ min: 50000, max: 65535 }] }),
      route("to_listener", {
        destinationAddrs: [{ address: "127.0.0.1", length: 8 }],
        destinationPorts: [{ min: 2045, max: 2045 }],
      }),
      route("rest"),
    ],
  });
  assert.equal(t.clusterFor(ends("127.0.0.2:50001", "127.0.0.1:2045")), "from_two", "first match wins");
  assert.equal(t.clusterFor(ends("127.0.0.1:50001", "127.0.0.1:2045")), "high_ports");
  assert.equal(t.clusterFor(ends("127.0.0.1:40000", "127.9.9.9:2045")), "to_listener");
  assert.equal(t.clusterFor(ends("127.0.0.1:40000", "127.0.0.1:2046")), "rest", "destination port differs");
});

Deno.test("TcpRouteTable.clusterFor() finds nothing when no route matches, and an empty list matches none", () => {
  const t = new TcpRouteTable({
    cluster: undefined,
    routes: [
      route("no_source_ports", { sourcePorts: [] }),
      route("no_destinations", { destinationAddrs: [] }),
      route("ten", { sourceAddrs: [{ address: "10.0.0.0", length: 8 }] }),
    ],
  });
  assert.equal(t.clusterFor(ends("127.0.0.1:40000", "127.0.0.1:2045")), undefined);
  assert.equal(t.clusterFor(ends("10.1.2.3:40000", "127.0.0.1:2045")), "ten");
  assert.equal(
    new TcpRouteTable({ cluster: undefined, routes: [] }).clusterFor(ends("1.2.3.4:5", "1.2.3.4:6")),
    undefined,
  );
});

Deno.test("TcpRouteTable.clusterFor() matches a dual-stack socket's mapped IPv4 and IPv6 ranges", () => {
  const t = new TcpRouteTable({
    cluster: undefined,
    routes: [
      route("v4", { sourceAddrs: [{ address: "192.0.2.0", length: 24 }] }),
      route("v6", {
        sourceAddrs: [{ address: "2001:db8::", length: 32 }],
        destinationAddrs: [{ address: "::", length: 0 }],
      }),
    ],
  });
  assert.equal(t.clusterFor(ends("[::ffff:192.0.2.7]:40000", "[::ffff:127.0.0.1]:2045")), "v4");
  assert.equal(t.clusterFor(ends("[2001:db8::5]:40000", "[::1]:2045")), "v6");
  assert.equal(t.clusterFor(ends("[2001:db9::5]:40000", "[::1]:2045")), undefined);
});

Deno.test("TcpRouteTable.clusterFor() never matches port 0", () => {
  const t = new TcpRouteTable({ cluster: undefined, routes: [route("any")] });
  assert.equal(t.clusterFor(ends("127.0.0.1:0", "127.0.0.1:2045")), undefined);
});

Deno.test("new TcpRouteTable() refuses a range validation would have refused", () => {
  assert.throws(
    () =>
      new TcpRouteTable({
        cluster: undefined,
        routes: [route("x", { sourceAddrs: [{ address: "1.2.3.4", length: 40 }] })],
      }),
    /Cannot use tcp_proxy range 1\.2\.3\.4\/40: prefix length 40 is out of range for IPv4/,
  );
});
