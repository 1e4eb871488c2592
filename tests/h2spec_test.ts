/**
 * h2spec's conformance cases (summerwind/h2spec, server mode: `generic`, `http2`, `hpack`) against the real
 * meshctl on an `Http2` listener (h2c, prior knowledge). The cases live in `_h2spec_cases.ts`, each on its
 * own connection with bounded waits; this file runs them against two listeners of one meshctl:
 *
 * - `direct`: the route answers with `direct_response`, at once (before a request body has arrived);
 * - `proxied`: the route goes to an HTTP/1.1 origin that reads the whole request body before it answers,
 *   so streams stay open while a case sends its frames.
 *
 * h2spec runs against one path of one server; which answer a sidecar gives is configuration, so every case
 * must pass against both. The strict case (a SHOULD) runs too.
 */
import { assertEquals } from "./_assert.ts";
import { type Meshctl, startMeshctl } from "./_e2e.ts";
import { type DualOrigin, startDualOrigin } from "./_peers/h2_origin.ts";
import { H2SPEC_GROUPS, runCase } from "./_h2spec_cases.ts";

/** Streams one connection may have open: small, so http2/5.1.2 opens only this many + 1. */
const MAX_CONCURRENT_STREAMS = 64;

function listener(name: string, router: string): Record<string, unknown> {
  return {
    name,
    address: "127.0.0.1:0",
    bind_port: true,
    filter_chains: [{
      filters: [{
        type: "proxy",
        config: {
          downstream_protocol: "Http2",
          router_config_name: router,
          http2_protocol_options: { max_concurrent_streams: MAX_CONCURRENT_STREAMS },
        },
      }],
    }],
  };
}

function config(origin: DualOrigin): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "ERROR",
      routers: [
        {
          router_config_name: "direct",
          virtual_hosts: [{
            name: "all",
            domains: ["*"],
            routers: [{ match: { prefix: "/" }, direct_response: { status: 200, body: "h2spec direct\n" } }],
          }],
        },
        {
          router_config_name: "proxied",
          virtual_hosts: [{
            name: "all",
            domains: ["*"],
            routers: [{
              match: { prefix: "/" },
              route: { cluster_name: "origin", upstream_protocol: "Http1" },
            }],
          }],
        },
      ],
      listeners: [listener("direct", "direct"), listener("proxied", "proxied")],
    }],
    cluster_manager: {
      clusters: [{
        name: "origin",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: origin.address }],
      }],
    },
  };
}

Deno.test("h2spec: every generic, http2 and hpack case passes against meshctl", async (t) => {
  const origin = startDualOrigin({ name: "h2spec-origin" });
  let mesh: Meshctl;
  try {
    mesh = await startMeshctl(config(origin));
  } catch (e) {
    await origin.stop();
    throw e;
  }
  let exit: number;
  try {
    for (const target of ["direct", "proxied"] as const) {
      const port = mesh.port(target);
      await t.step(`${target} route`, async (t) => {
        for (const [group, cases] of Object.entries(H2SPEC_GROUPS)) {
          await t.step(group, async (t) => {
            for (const spec of cases) {
              const name = `${spec.id}${spec.strict ? " (strict)" : ""}: ${spec.desc} → ${spec.expect}`;
              await t.step(name, () => runCase(spec, { port, path: "/" }));
            }
          });
        }
      });
    }
  } finally {
    exit = await mesh.stop();
    await origin.stop();
  }
  assertEquals(exit, 0, mesh.logs());
});
