/**
 * Envoy v3 resources and helpers the xDS end-to-end cases share: a bootstrap naming only the control plane,
 * clusters (STATIC, EDS), ClusterLoadAssignments, a listener with an RDS HCM, route tables, and waiting
 * helpers that poll meshctl's observable state (addresses, admin, HTTP answers).
 * @module
 */
import { curl, type Meshctl, type Origin } from "./_e2e.ts";
import type { XdsControlPlane } from "./_peers/xds_control_plane.ts";
import { encodeResource } from "../src/xds/mod.ts";

export type Obj = Record<string, unknown>;

export const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes, gRPC channels

export const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
export const CORS = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors";

export function bootstrap(cp: XdsControlPlane): Obj {
  return {
    node: { id: "sidecar~127.0.0.1~app-1.default~default.svc.cluster.local", cluster: "app" },
    dynamic_resources: {
      ads_config: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "xds-grpc" } }] },
      lds_config: { ads: {} },
      cds_config: { ads: {} },
    },
    static_resources: {
      clusters: [{
        name: "xds-grpc",
        type: "STATIC",
        connect_timeout: "1s",
        http2_protocol_options: {},
        load_assignment: {
          cluster_name: "xds-grpc",
          endpoints: [{
            lb_endpoints: [{
              endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: cp.port } } },
            }],
          }],
        },
      }],
    },
  };
}

/** `bootstrap` with LDS/CDS `initial_fetch_timeout` (also the does-not-exist timer) set to `timeout`. */
export function bootstrapWithTimeout(cp: XdsControlPlane, timeout: string): Obj {
  const config = bootstrap(cp);
  const dyn = config["dynamic_resources"] as Obj;
  dyn["lds_config"] = { ads: {}, initial_fetch_timeout: timeout };
  dyn["cds_config"] = { ads: {}, initial_fetch_timeout: timeout };
  return config;
}

export function staticCluster(name: string, origin: Origin): Obj {
  return {
    name,
    type: "STATIC",
    connect_timeout: { seconds: 1 },
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: name,
      endpoints: [{
        lb_endpoints: [{
          endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: origin.port } } },
        }],
      }],
    },
  };
}

/** An EDS cluster over ADS (as istiod sends them); its CLA is `serviceName`, else the cluster's name. */
export function edsCluster(name: string, serviceName?: string, extra: Obj = {}): Obj {
  return {
    name,
    type: "EDS",
    connect_timeout: { seconds: 1 },
    lb_policy: "ROUND_ROBIN",
    eds_cluster_config: {
      ...(serviceName === undefined ? {} : { service_name: serviceName }),
      eds_config: { ads: {}, resource_api_version: "V3" },
    },
    ...extra,
  };
}

/** A ClusterLoadAssignment with one locality holding `origins`. */
export function cla(name: string, ...origins: Origin[]): Obj {
  return {
    cluster_name: name,
    endpoints: [{
      lb_endpoints: origins.map((o) => ({
        endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: o.port } } },
      })),
    }],
  };
}

export function listener(httpFilters: Obj[] = [], name = "ingress", routeName = "r1"): Obj {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [{
      filters: [{
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
          "@type": HCM,
          stat_prefix: name,
          codec_type: "AUTO",
          rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: "V3" } },
          http_filters: [...httpFilters, {
            name: "envoy.filters.http.router",
            typed_config: { "@type": ROUTER },
          }],
        },
      }],
    }],
  };
}

export function routeTo(cluster: string): Obj {
  return routeTable("r1", [["/", cluster]]);
}

/** A route table with one catch-all virtual host: each `[prefix, cluster]` in order. */
export function routeTable(name: string, routes: [string, string][]): Obj {
  return {
    name,
    virtual_hosts: [{
      name: "all",
      domains: ["*"],
      routes: routes.map(([prefix, cluster]) => ({ match: { prefix }, route: { cluster } })),
    }],
  };
}

/** Encoded with meshctl's own descriptor (nested Anys packed), as a control plane sends them. */
export function any(typeUrl: string, resource: Obj) {
  return { any: { type_url: typeUrl, value: encodeResource(typeUrl, resource) } };
}

/** GET `path` on listener "ingress": the body, or a placeholder saying why there is none. */
export async function get(mesh: Meshctl, path = "/"): Promise<string> {
  const addresses = await mesh.readAddresses();
  const a = addresses.listeners["ingress"];
  if (a === undefined) return "(no listener yet)";
  const r = await curl(["-s", `http://${a}${path}`]);
  return r.code === 0 ? r.stdout : `(curl ${r.code})`;
}

/** Polls `cond` every 10 ms; resolves with the time it took, rejects after `ms`. */
export async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

export async function readyStatus(mesh: Meshctl): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${mesh.adminPort}/ready`);
  await r.body?.cancel();
  return r.status;
}

/** config_dump's `xds_status.warming`. */
export async function warming(mesh: Meshctl): Promise<{ clusters: string[]; listeners: string[] }> {
  const dump = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump`)).json();
  return dump["xds_status"]["warming"];
}

/**
 * `loops` keep-alive GET loops against `address` until `stop()`: counts answers by body, records anything
 * that is not a 200 with an expected body.
 */
export function load(address: string, expected: readonly string[], loops = 4) {
  let stopped = false;
  const bodies = new Map<string, number>();
  const failures: string[] = [];
  let ok = 0;
  let last = "";
  const running = Array.from({ length: loops }, async () => {
    while (!stopped) {
      try {
        const r = await fetch(`http://${address}/`);
        const body = await r.text();
        if (r.status === 200 && expected.includes(body)) {
          ok++;
          last = body;
          bodies.set(body, (bodies.get(body) ?? 0) + 1);
        } else failures.push(`${r.status} ${body}`);
      } catch (e) {
        failures.push(String(e));
      }
    }
  });
  return {
    get ok() {
      return ok;
    },
    get last() {
      return last;
    },
    bodies,
    failures,
    /** Resolves once `n` more requests succeeded than when called. */
    async more(n: number, ms = 10_000): Promise<void> {
      const target = ok + n;
      await until(
        `${n} more successful requests`,
        () => Promise.resolve(ok >= target || failures.length > 0),
        ms,
      );
    },
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(running);
    },
  };
}
