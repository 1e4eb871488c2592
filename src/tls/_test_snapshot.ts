/**
 * Snapshots with TLS contexts for the unit tests, built directly (the config loader fills TLS contexts
 * only once the TLS config work lands): a plaintext snapshot from `parseConfigText` with contexts put in.
 */
import { parseConfigText } from "../config/mod.ts";
import type { ConfigSnapshot, PemSource, TlsContextConfig } from "../config/mod.ts";

/** A PEM as the loader would hold it: read from `path` now (or inline text when `path` is undefined). */
export function pemFrom(path: string | undefined, inline?: string): PemSource {
  return { path, pem: path === undefined ? inline ?? "" : Deno.readTextFileSync(path) };
}

export function tlsContext(fields: Partial<TlsContextConfig>): TlsContextConfig {
  return {
    serverName: undefined,
    caCert: undefined,
    certChain: undefined,
    privateKey: undefined,
    verifyClient: false,
    requireClientCert: false,
    insecureSkip: false,
    minVersion: undefined,
    maxVersion: undefined,
    alpn: [],
    matchSubjectAltNames: [],
    configPath: "test",
    ...fields,
  };
}

const BASE = `
servers:
  - routers: [{ router_config_name: r, virtual_hosts: [{ name: v, domains: ["*"], routers: [] }] }]
    listeners:
      - name: ingress
        address: 127.0.0.1:0
        filter_chains: [{ filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }] }]
cluster_manager:
  clusters: [{ name: backend, type: SIMPLE, lb_type: LB_ROUNDROBIN, hosts: [{ address: "127.0.0.1:9" }] }]
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
`;

/** Listener `ingress` with `listenerTls` contexts and cluster `backend` with `clusterTls`. */
export function snapshotWithTls(
  listenerTls: readonly TlsContextConfig[],
  clusterTls?: TlsContextConfig,
): ConfigSnapshot {
  const { snapshot, errors } = parseConfigText(BASE, "test.yaml");
  if (snapshot === undefined) throw new Error(`test config invalid: ${JSON.stringify(errors)}`);
  return {
    ...snapshot,
    servers: snapshot.servers.map((s) => ({
      ...s,
      listeners: s.listeners.map((l) => ({ ...l, tlsContexts: listenerTls })),
    })),
    clusters: snapshot.clusters.map((c) => ({ ...c, tls: clusterTls })),
  };
}
