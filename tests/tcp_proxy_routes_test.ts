/**
 * tcp_proxy `routes` (MOSN's StreamRoute) through the real meshctl: the cluster is picked by the client's
 * address and port and the address and port it connected to. Clients connect from 127.0.0.1 or 127.0.0.2
 * (node:net's localAddress: the loopback /8 is all local); meshctl's listeners bind 127.0.0.1:0, so the
 * destination address is always 127.0.0.1 and its port is the one the OS picked (never below 1024).
 * Each upstream writes its name and closes: what the client reads says which cluster took it.
 */
import net from "node:net";
import { assertEquals } from "./_assert.ts";
import { adminStats, startMeshctl } from "./_e2e.ts";
import { writeAll } from "./_peers/bolt_raw.ts";
import { type LoopbackServer, startLoopbackServer } from "./_peers/loopback_server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child process, node:net sockets

function startNamed(name: string): LoopbackServer {
  return startLoopbackServer(async (conn) => await writeAll(conn, new TextEncoder().encode(name)));
}

/** Connects to 127.0.0.1:port from `from` and reads until the connection ends. */
function readFrom(from: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const s = net.connect({ host: "127.0.0.1", port, localAddress: from });
    s.setEncoding("utf8");
    s.on("data", (d: string) => got += d);
    s.on("error", reject);
    s.on("close", () => resolve(got));
    s.setTimeout(5000, () => s.destroy(new Error("no end within 5s")));
  });
}

const ANY = { address: "0.0.0.0", length: 0 };

function route(cluster: string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    cluster,
    SourceAddrs: [ANY],
    SourcePort: "1-65535",
    DestinationAddrs: [{ address: "127.0.0.1", length: 32 }],
    DestinationPort: "1-65535",
    ...fields,
  };
}

function listener(name: string, config: Record<string, unknown>): Record<string, unknown> {
  return { name, address: "127.0.0.1:0", filter_chains: [{ filters: [{ type: "tcp_proxy", config }] }] };
}

Deno.test(
  "tcp_proxy routes pick the cluster by source and destination, first match, cluster winning when set",
  opts,
  async () => {
    const peers = { two: startNamed("two"), rest: startNamed("rest"), never: startNamed("never") };
    try {
      const mesh = await startMeshctl({
        servers: [{
          default_log_level: "WARN",
          listeners: [
            listener("routed", {
              routes: [
                route("never", { DestinationPort: "1-1023" }), // the listener's port is never below 1024
                route("two", { SourceAddrs: [{ address: "127.0.0.2", length: 32 }] }),
                route("never", { DestinationAddrs: [{ address: "127.0.0.2", length: 32 }] }),
                route("rest", { SourceAddrs: [{ address: "127.0.0.0", length: 8 }] }),
              ],
            }),
            listener("only_two", {
              routes: [route("two", { SourceAddrs: [{ address: "127.0.0.2", length: 32 }] })],
            }),
            listener("fixed", { cluster: "rest", routes: [route("two", {})] }),
          ],
        }],
        cluster_manager: {
          clusters: Object.entries(peers).map(([name, p]) => ({ name, hosts: [{ address: p.address }] })),
        },
      });
      try {
        assertEquals(await readFrom("127.0.0.2", mesh.port("routed")), "two");
        assertEquals(await readFrom("127.0.0.1", mesh.port("routed")), "rest");
        assertEquals(await readFrom("127.0.0.2", mesh.port("only_two")), "two");
        assertEquals(await readFrom("127.0.0.1", mesh.port("only_two")), "", "no route: closed at once");
        assertEquals(await readFrom("127.0.0.2", mesh.port("fixed")), "rest", "cluster set: routes unused");
        assertEquals(peers.never.connections, 0);
        const ds = (await adminStats(mesh.adminPort))["downstream"] ?? {};
        assertEquals(ds["listener.only_two"]?.["tcp_proxy_no_route_total"], 1);
        assertEquals(ds["listener.routed"]?.["tcp_proxy_no_route_total"] ?? 0, 0);
        // The config's routes MOSN would never consult are named at start.
        const warning =
          "listeners[2].filter_chains[0].filters[0].config.routes: warning: routes are never consulted";
        assertEquals(mesh.logs().includes(warning), true, mesh.logs());
      } finally {
        assertEquals(await mesh.stop(), 0, mesh.logs());
      }
    } finally {
      for (const p of Object.values(peers)) await p.stop();
    }
  },
);
