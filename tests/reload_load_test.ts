/**
 * Reload under load (issue 13, "Never drop a request"): SIGHUP after SIGHUP while wrk (HTTP/1 keep-alive)
 * or a bolt client loop keeps requests in flight; each reload changes the route's cluster, the cluster's
 * hosts, or the route itself, and the next reload waits until the previous one's new upstream is taking
 * traffic. Kept listeners keep their sockets and kept-alive connections (`Listener.swapPlan`); the old
 * Runtime's clusters finish what they carry. Asserts not one failed request at the client.
 */
import { stringify } from "yaml";
import { assert, assertEquals } from "./_assert.ts";
import { Events } from "./_events.ts";
import { type Meshctl, startMeshctl, startOrigin } from "./_e2e.ts";
import { boltLoad, parseWrkCounts } from "./_load.ts";
import {
  type BoltServerPeer,
  encodeRequestFrame,
  int,
  startBoltServer,
  TEST_SERVICE,
} from "./_peers/bolt_peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes outlive steps

/** Reloads per test: three rounds of (new cluster, new hosts, changed route). */
const ROUNDS = 3;
/** Requests the new upstream must have answered before the next reload. */
const SETTLE_REQUESTS = 100;

/** One step of the sequence: which cluster name the route uses, its hosts, and a route-level knob. */
interface Step {
  cluster: string;
  hosts: string[];
  timeout: string;
}

function steps(a: string, b: string, c: string): Step[] {
  const out: Step[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    out.push({ cluster: `one_${r}`, hosts: [b], timeout: "5s" }); // a new cluster, the old one removed
    out.push({ cluster: `one_${r}`, hosts: [c], timeout: "5s" }); // same cluster, hosts changed
    out.push({ cluster: `one_${r}`, hosts: [a], timeout: "4s" }); // hosts and the route changed
  }
  return out;
}

function config(protocol: "Http1" | "bolt", step: Step): Record<string, unknown> {
  const match = protocol === "bolt"
    ? { headers: [{ name: "service", value: `${TEST_SERVICE}:1.0` }] }
    : { prefix: "/" };
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [{ match, route: { cluster_name: step.cluster, timeout: step.timeout } }],
        }],
      }],
      listeners: [{
        name: "in",
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: protocol, router_config_name: "r" } }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: step.cluster,
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: step.hosts.map((address) => ({ address })),
      }],
    },
  };
}

/** Writes the step's config over the running one, SIGHUPs, and waits until `reached()` says it serves. */
async function reloadTo(
  mesh: Meshctl,
  protocol: "Http1" | "bolt",
  step: Step,
  events: Events,
  reached: () => boolean,
): Promise<void> {
  await Deno.writeTextFile(mesh.configPath, stringify(config(protocol, step)));
  mesh.process.kill("SIGHUP");
  await events.until(reached, `traffic at ${step.hosts} after the reload`);
}

Deno.test(
  `HTTP/1: ${ROUNDS * 3} reloads (cluster, hosts, route) under wrk load → no failed request`,
  opts,
  async () => {
    const events = new Events();
    const origins = ["a", "b", "c"].map(() =>
      startOrigin(async () => {
        await new Promise((r) => setTimeout(r, 2)); // requests stay in flight across each swap
        events.notify();
        return new Response("ok");
      })
    );
    const [a, b, c] = origins.map((o) => o.address) as [string, string, string];
    const byAddress = new Map(origins.map((o) => [o.address, o]));
    const mesh = await startMeshctl(config("Http1", { cluster: "start", hosts: [a], timeout: "5s" }));
    const wrk = new Deno.Command("wrk", {
      args: ["-t1", "-c16", "-d60s", "--timeout", "5s", `http://127.0.0.1:${mesh.port("in")}/`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      const first = origins[0]!;
      await events.until(() => first.requests >= SETTLE_REQUESTS, "load through meshctl");
      for (const step of steps(a, b, c)) {
        const origin = byAddress.get(step.hosts[0]!)!;
        const before = origin.requests;
        await reloadTo(mesh, "Http1", step, events, () => origin.requests >= before + SETTLE_REQUESTS);
      }
    } finally {
      try {
        wrk.kill("SIGINT"); // wrk prints its summary on SIGINT
      } catch {
        // gone
      }
      const out = new TextDecoder().decode((await wrk.output()).stdout);
      const code = await mesh.stop();
      for (const o of origins) await o.close();
      const counts = parseWrkCounts(out);
      console.log(`HTTP/1 reload under load: ${ROUNDS * 3} reloads, ${JSON.stringify(counts)}`);
      assertEquals(code, 0, mesh.logs());
      assertEquals([counts.non2xx, counts.connect, counts.read, counts.write, counts.timeout], [
        0,
        0,
        0,
        0,
        0,
      ], out);
      assert(counts.requests >= SETTLE_REQUESTS * (ROUNDS * 3 + 1), out);
      assert(!mesh.logs().includes("reload rejected"), mesh.logs());
    }
  },
);

Deno.test(
  `bolt: ${ROUNDS * 3} reloads (cluster, hosts, route) under load → no failed request`,
  opts,
  async () => {
    const providers: BoltServerPeer[] = [];
    for (let i = 0; i < 3; i++) providers.push(await startBoltServer());
    const [a, b, c] = providers.map((p) => p.address) as [string, string, string];
    const byAddress = new Map(providers.map((p) => [p.address, p]));
    const template = await encodeRequestFrame({
      id: 1,
      service: `${TEST_SERVICE}:1.0`,
      method: "plus",
      args: [int(1), int(2)],
      timeout: 3000,
    });
    const events = new Events();
    let stop = false;
    const mesh = await startMeshctl(config("bolt", { cluster: "start", hosts: [a], timeout: "5s" }));
    const load = boltLoad(mesh.port("in"), template, 8, 2, () => events.notify(), () => stop);
    try {
      const first = providers[0]!;
      await events.until(() => first.calls >= SETTLE_REQUESTS, "load through meshctl");
      for (const step of steps(a, b, c)) {
        const provider = byAddress.get(step.hosts[0]!)!;
        const before = provider.calls;
        await reloadTo(mesh, "bolt", step, events, () => provider.calls >= before + SETTLE_REQUESTS);
      }
    } finally {
      stop = true;
      const counts = await load;
      const code = await mesh.stop();
      for (const p of providers) await p.stop();
      console.log(`bolt reload under load: ${ROUNDS * 3} reloads, ${JSON.stringify(counts)}`);
      assertEquals(code, 0, mesh.logs());
      assertEquals([counts.bad, counts.lost], [0, 0], JSON.stringify(counts));
      assert(counts.ok >= SETTLE_REQUESTS * (ROUNDS * 3 + 1), JSON.stringify(counts));
      assert(!mesh.logs().includes("reload rejected"), mesh.logs());
    }
  },
);
