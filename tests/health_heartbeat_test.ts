/**
 * A bolt cluster's health_check with protocol bolt sends SOFA heartbeats (a fresh connection per check):
 * a sofa-rpc-node server answers and stays healthy; a server that accepts connections but never answers
 * bolt fails by timeout and leaves, which a TCP connect check would not notice.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, startMeshctl } from "./_e2e.ts";
import { startBoltServer } from "./_peers/bolt_peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

// With --concurrency 2 the main thread sends the heartbeats (tests/health_workers_test.ts has the rest).
for (const workers of [1, 2]) {
  const label = workers === 1 ? "health" : "--concurrency 2 health";
  Deno.test(
    `${label}: bolt heartbeat checks keep a live provider in and take a silent one out`,
    opts,
    async () => {
      const live = await startBoltServer();
      const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const silentAddress = `127.0.0.1:${(silent.addr as Deno.NetAddr).port}`;
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const c of silent) held.push(c); // accepts, reads nothing, answers nothing
      })();
      const mesh = await startMeshctl({
        servers: [{
          default_log_level: "WARN",
          routers: [{
            router_config_name: "rpc",
            virtual_hosts: [{
              name: "rpc",
              domains: ["*"],
              routers: [{
                match: { headers: [{ name: "service", value: ".*" }] },
                route: { cluster_name: "rpc" },
              }],
            }],
          }],
          listeners: [{
            name: "bolt_in",
            address: "127.0.0.1:0",
            bind_port: true,
            filter_chains: [{
              filters: [{
                type: "proxy",
                config: { downstream_protocol: "bolt", router_config_name: "rpc" },
              }],
            }],
          }],
        }],
        cluster_manager: {
          clusters: [{
            name: "rpc",
            type: "SIMPLE",
            lb_type: "LB_ROUNDROBIN",
            hosts: [{ address: live.address }, { address: silentAddress }],
            health_check: { service_name: "rpc-hc", protocol: "bolt", interval: "200ms", timeout: "300ms" },
          }],
        },
      }, { args: ["--concurrency", String(workers)] });
      try {
        const hostStats = async (address: string) => {
          const up = (await adminStats(mesh.adminPort))["upstream"]!;
          return up[Object.keys(up).find((k) => k.endsWith(address))!]!;
        };
        // Wait on the stats (events), bounded: the silent host's first check times out after 300 ms.
        for (let i = 0; i < 100 && (await hostStats(silentAddress))["unhealthy_active_hc"] !== 1; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const s = await hostStats(silentAddress);
        assertEquals(s["unhealthy_active_hc"], 1);
        assert(s["health_check_failure_timeout_total"]! >= 1, JSON.stringify(s));
        const l = await hostStats(live.address);
        assertEquals(l["healthy"], 1);
        assert(l["health_check_success_total"]! >= 1, JSON.stringify(l));
        assert(live.heartbeats >= 1, "the provider saw bolt heartbeats");
      } finally {
        await mesh.stop();
        silent.close();
        await accepting.catch(() => {});
        for (const c of held) c.close();
        await live.stop();
      }
    },
  );
}
