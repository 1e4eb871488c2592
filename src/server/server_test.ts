/**
 * Server.reload, in process: what a caller may rely on once a reload has resolved.
 */
import assert from "node:assert/strict";
import { Logger } from "../core/mod.ts";
import { parseConfigText } from "../config/mod.ts";
import { Server } from "./server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function config(listeners: string[]): string {
  const entries = listeners.map((name) => `
      - name: ${name}
        address: 127.0.0.1:0
        filter_chains: [{ filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }] }]`);
  return `
servers:
  - routers: [{ router_config_name: r, virtual_hosts: [{ name: v, domains: ["*"], routers: [] }] }]
    listeners:${entries.join("")}
cluster_manager:
  clusters: [{ name: backend, type: SIMPLE, lb_type: LB_ROUNDROBIN, hosts: [{ address: "127.0.0.1:9" }] }]
`;
}

/**
 * A connection that got through: queued on our closing socket, it is reset when that socket goes; a
 * listener of another process (the suite binds port 0 everywhere, so the freed port may be taken at once)
 * keeps it open or answers. Only the first is the failure this test is about.
 */
async function ownerOf(c: Deno.Conn): Promise<string> {
  const timer = setTimeout(() => c.close(), 1000);
  try {
    await c.read(new Uint8Array(1));
    return "another process";
  } catch (e) {
    return e instanceof Deno.errors.ConnectionReset
      ? "connected, then reset by our closing socket"
      : "another process";
  } finally {
    clearTimeout(timer);
    try {
      c.close();
    } catch {
      // closed by the timer
    }
  }
}

function snapshotOf(listeners: string[]) {
  const { snapshot, errors } = parseConfigText(config(listeners), "c.yaml");
  assert.deepEqual(errors, []);
  return snapshot!;
}

Deno.test(
  "Server.reload: once a removed listener is gone from the published addresses, its port refuses connections",
  opts,
  async () => {
    // Whoever reads the addresses (the address file, config_dump) may connect at once: the test connects
    // from inside the callback, the earliest moment anyone can learn the listener is gone.
    let port = 0;
    let attempt: Promise<string> | undefined;
    const server = new Server({
      snapshot: snapshotOf(["keep", "gone"]),
      logger: new Logger({ level: "error", write: () => {} }),
      version: "test",
      onAddressesChange: (a) => {
        if (port === 0 || a.listeners["gone"] !== undefined) return;
        attempt = Deno.connect({ hostname: "127.0.0.1", port }).then(
          ownerOf,
          (e) => e instanceof Deno.errors.ConnectionRefused ? "refused" : String(e),
        );
      },
    });
    await server.start();
    try {
      for (let i = 0; i < 20; i++) {
        port = Number(server.addresses.listeners["gone"]!.split(":")[1]);
        attempt = undefined;
        await server.reload(snapshotOf(["keep"]));
        assert.ok(attempt !== undefined, "the reload published addresses without the removed listener");
        const outcome = await attempt;
        // "another process" took the freed port: nothing to say about ours this round.
        if (outcome !== "another process") {
          assert.equal(outcome, "refused", `round ${i}: the removed listener's port still accepted`);
        }
        port = 0;
        await server.reload(snapshotOf(["keep", "gone"]));
      }
    } finally {
      await server.stop(0);
    }
  },
);
