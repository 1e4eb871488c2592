/**
 * What istiod sends a sidecar for its outbound side to bookinfo's `reviews` (port 9080), shaped after
 * istiod's config_dump: a listener per port with an HCM on RDS "9080", a route table with one virtual host
 * per service (Istio's domain list) and the `allow_any` catch-all, EDS clusters
 * `outbound|9080|<subset>|reviews.default.svc.cluster.local` on ADS, and CLAs with localities, weights,
 * health status and Istio's endpoint metadata.
 *
 * `istiod: true` adds the fields istiod always sends that meshctl's converter refuses today (a NACK naming
 * each); the e2e case sends the resources without them:
 * - Listener: listener_filters (http_inspector / tls_inspector), listener_filters_timeout,
 *   continue_on_listener_filters_timeout, filter_chains[].filter_chain_match (application_protocols);
 * - HCM: tracing, normalize_path, request_id_extension, path_with_escaped_slashes_action, the
 *   envoy.filters.http.cors filter;
 * - Route: retry_policy.retry_on `unavailable` / `cancelled` (istiod's default policy), retry_host_predicate,
 *   max_stream_duration.max_stream_duration; VirtualHost: include_request_attempt_count;
 * - Cluster: transport_socket_matches, common_lb_config; PassthroughCluster is ORIGINAL_DST with
 *   CLUSTER_PROVIDED (meshctl has no original-destination cluster, so a STATIC stand-in takes its place).
 * @module
 */
import type { Origin } from "./_e2e.ts";
import { HCM, type Obj, ROUTER } from "./_xds_fixtures.ts";

export const HOST = "reviews.default.svc.cluster.local";
export const REVIEWS = `outbound|9080||${HOST}`;
export const REVIEWS_V1 = `outbound|9080|v1|${HOST}`;
export const REVIEWS_V2 = `outbound|9080|v2|${HOST}`;
export const PASSTHROUGH = "PassthroughCluster";

export interface IstioOptions {
  /** Add what istiod always sends and meshctl does not convert yet. */
  readonly istiod?: boolean;
}

/** The outbound listener for port 9080, bound on 127.0.0.1:<port 0> (istiod's is virtual on 0.0.0.0). */
export function outboundListener(o: IstioOptions = {}): Obj {
  const hcm: Obj = {
    "@type": HCM,
    stat_prefix: "outbound_0.0.0.0_9080",
    rds: {
      config_source: { ads: {}, initial_fetch_timeout: { seconds: 0 }, resource_api_version: "V3" },
      route_config_name: "9080",
    },
    use_remote_address: { value: false },
    upgrade_configs: [{ upgrade_type: "websocket" }],
    stream_idle_timeout: { seconds: 0 },
    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }],
  };
  if (o.istiod) {
    hcm["http_filters"] = [
      {
        name: "envoy.filters.http.cors",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors" },
      },
      ...(hcm["http_filters"] as Obj[]),
    ];
    hcm["normalize_path"] = { value: true };
    hcm["path_with_escaped_slashes_action"] = "KEEP_UNCHANGED";
    hcm["tracing"] = { client_sampling: { value: 100 }, random_sampling: { value: 1 } };
    hcm["request_id_extension"] = {
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
        use_request_id_for_trace_sampling: true,
      },
    };
  }
  const listener: Obj = {
    name: "0.0.0.0_9080",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    traffic_direction: "OUTBOUND",
    filter_chains: [{
      filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }],
    }],
  };
  if (o.istiod) {
    (listener["filter_chains"] as Obj[])[0]!["filter_chain_match"] = {
      application_protocols: ["http/1.0", "http/1.1", "h2c"],
    };
    listener["listener_filters"] = [{
      name: "envoy.filters.listener.http_inspector",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
      },
    }];
    listener["listener_filters_timeout"] = { seconds: 0 };
    listener["continue_on_listener_filters_timeout"] = true;
  }
  return listener;
}

/** Istio's domains for a service on a port: every short form, with and without the port. */
export function istioDomains(name: string, ns: string, port: number): string[] {
  const forms = [`${name}.${ns}.svc.cluster.local`, name, `${name}.${ns}.svc`, `${name}.${ns}`];
  return forms.flatMap((d) => [d, `${d}:${port}`]);
}

/**
 * Route table "9080": the reviews virtual host (`end-user: jason` → v2, `/split` 75 % v1 / 25 % v2, else the
 * service cluster) and istiod's `allow_any` catch-all to PassthroughCluster.
 */
export function routes9080(o: IstioOptions = {}): Obj {
  // istiod's default retry_on also has unavailable and cancelled (gRPC conditions meshctl refuses today).
  const retry: Obj = {
    retry_on: o.istiod
      ? "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
      : "connect-failure,refused-stream,retriable-status-codes",
    num_retries: { value: 2 },
    retriable_status_codes: [503],
  };
  if (o.istiod) {
    retry["retry_host_predicate"] = [{
      name: "envoy.retry_host_predicates.previous_hosts",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
      },
    }];
    retry["host_selection_retry_max_attempts"] = 5;
  }
  const route = (name: string, match: Obj, action: Obj): Obj => ({
    name,
    match,
    route: {
      ...action,
      timeout: { seconds: 0 },
      retry_policy: retry,
      max_stream_duration: {
        ...(o.istiod ? { max_stream_duration: { seconds: 0 } } : {}),
        grpc_timeout_header_max: { seconds: 0 },
      },
    },
    ...(o.istiod ? { decorator: { operation: `${HOST}:9080/*` } } : {}),
  });
  return {
    name: "9080",
    validate_clusters: { value: false },
    virtual_hosts: [
      {
        name: `${HOST}:9080`,
        domains: istioDomains("reviews", "default", 9080),
        routes: [
          route("jason", { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] }, {
            cluster: REVIEWS_V2,
          }),
          route("split", { prefix: "/split" }, {
            weighted_clusters: {
              clusters: [{ name: REVIEWS_V1, weight: { value: 75 } }, {
                name: REVIEWS_V2,
                weight: { value: 25 },
              }],
            },
          }),
          route("default", { prefix: "/" }, { cluster: REVIEWS }),
        ],
        ...(o.istiod ? { include_request_attempt_count: true } : {}),
      },
      {
        name: "allow_any",
        domains: ["*"],
        routes: [{
          name: "allow_any",
          match: { prefix: "/" },
          route: { cluster: PASSTHROUGH, timeout: { seconds: 0 } },
        }],
        ...(o.istiod ? { include_request_attempt_count: true } : {}),
      },
    ],
  };
}

/** An outbound EDS cluster as istiod builds it (service_name = its own name, ADS, initial_fetch_timeout 0). */
export function outboundCluster(name: string, o: IstioOptions = {}): Obj {
  const c: Obj = {
    name,
    type: "EDS",
    eds_cluster_config: {
      eds_config: { ads: {}, initial_fetch_timeout: { seconds: 0 }, resource_api_version: "V3" },
      service_name: name,
    },
    connect_timeout: { seconds: 10 },
    circuit_breakers: {
      thresholds: [{
        max_connections: { value: 4294967295 },
        max_pending_requests: { value: 4294967295 },
        max_requests: { value: 4294967295 },
        max_retries: { value: 4294967295 },
      }],
    },
    metadata: {
      filter_metadata: {
        istio: {
          services: [{ host: HOST, name: "reviews", namespace: "default" }],
          default_original_port: 9080,
        },
      },
    },
  };
  if (o.istiod) {
    ((c["circuit_breakers"] as Obj)["thresholds"] as Obj[])[0]!["track_remaining"] = true;
    c["common_lb_config"] = {};
    c["transport_socket_matches"] = [{
      name: "tlsMode-disabled",
      match: {},
      transport_socket: {
        name: "envoy.transport_sockets.raw_buffer",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
        },
      },
    }];
  }
  return c;
}

/** istiod's PassthroughCluster is ORIGINAL_DST (meshctl has none): here a STATIC stand-in to `origin`. */
export function passthroughCluster(origin: Origin, o: IstioOptions = {}): Obj {
  if (o.istiod) {
    return {
      name: PASSTHROUGH,
      type: "ORIGINAL_DST",
      connect_timeout: { seconds: 10 },
      lb_policy: "CLUSTER_PROVIDED",
    };
  }
  return {
    name: PASSTHROUGH,
    type: "STATIC",
    connect_timeout: { seconds: 10 },
    load_assignment: {
      cluster_name: PASSTHROUGH,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(origin) } }] }],
    },
  };
}

export interface IstioEndpoint {
  readonly origin: Origin;
  readonly healthy: boolean;
  readonly subset: string;
}

/**
 * A CLA with two localities (region/zone/sub_zone), locality weights, per-endpoint weights, HEALTHY and
 * UNHEALTHY endpoints and istiod's endpoint metadata (`istio.workload`, `envoy.transport_socket_match`).
 */
export function istioCla(name: string, zoneA: IstioEndpoint[], zoneB: IstioEndpoint[]): Obj {
  const lb = (e: IstioEndpoint) => ({
    endpoint: { address: socket(e.origin) },
    health_status: e.healthy ? "HEALTHY" : "UNHEALTHY",
    metadata: {
      filter_metadata: {
        istio: { workload: `reviews-${e.subset};default;reviews;${e.subset};Kubernetes` },
        "envoy.transport_socket_match": { tlsMode: "istio" },
      },
    },
    load_balancing_weight: { value: 1 },
  });
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: "us-east1", zone: "us-east1-b", sub_zone: "rack-1" },
        lb_endpoints: zoneA.map(lb),
        load_balancing_weight: { value: zoneA.length },
      },
      {
        locality: { region: "us-west1", zone: "us-west1-a", sub_zone: "rack-7" },
        lb_endpoints: zoneB.map(lb),
        load_balancing_weight: { value: zoneB.length },
      },
    ],
  };
}

function socket(origin: Origin): Obj {
  return { socket_address: { address: "127.0.0.1", port_value: origin.port } };
}
