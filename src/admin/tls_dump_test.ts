/**
 * config_dump of TLS configs in every shape MOSN accepts them — listener `tls_context`, listener
 * `tls_context_set`, cluster `tls_context`, `cluster_manager.tls_context` — with real inline PEM (a key
 * made by this run's test PKI, never checked in) and with file paths: no view shows a private key.
 */
import assert from "node:assert/strict";
import { makeTestPki } from "../../tests/_peers/certs.ts";
import { StatsRegistry } from "../stats/mod.ts";
import { createAdminHandler } from "./handler.ts";
import { REDACTED } from "./redact.ts";

/** The base64 body lines of a PEM (what would leak even without the BEGIN line). */
function bodyLines(pem: string): string[] {
  return pem.split("\n").filter((l) => l.length > 16 && !l.startsWith("-----"));
}

Deno.test("config_dump shows no private key of tls_context, tls_context_set or cluster TLS in any view", async () => {
  const pki = await makeTestPki();
  try {
    const listenerTls = {
      status: true,
      cert_chain: pki.server.cert,
      private_key: pki.server.key,
      ca_cert: pki.ca.cert,
      verify_client: true,
    };
    const config = {
      servers: [{
        routers: [{ router_config_name: "r", virtual_hosts: [] }],
        listeners: [
          {
            name: "inline",
            address: "127.0.0.1:2046",
            filter_chains: [{ tls_context: listenerTls, filters: [] }],
          },
          {
            name: "by_sni",
            address: "127.0.0.1:2047",
            filter_chains: [{
              tls_context_set: [
                { ...listenerTls, server_name: "server.test" },
                {
                  status: true,
                  server_name: "other.test",
                  cert_chain: "/etc/certs/other.pem",
                  private_key: pki.other.key,
                },
              ],
              filters: [],
            }],
          },
        ],
      }],
      cluster_manager: {
        tls_context: { status: true, cert_chain: pki.client.cert, private_key: pki.client.key },
        clusters: [{
          name: "backend",
          hosts: [{ address: "127.0.0.1:8080", tls_disable: false }],
          tls_context: {
            status: true,
            server_name: "server.test",
            ca_cert: pki.ca.cert,
            cert_chain: pki.otherClient.cert,
            private_key: pki.otherClient.key,
          },
        }],
      },
    };
    const handler = createAdminHandler({
      registry: new StatsRegistry(),
      configDump: () => config,
      ready: () => true,
      version: "v",
    });
    const keys = [pki.server.key, pki.other.key, pki.client.key, pki.otherClient.key];
    const views = [
      "",
      "?mosnconfig",
      "?alllisteners",
      "?allclusters",
      "?listener=inline",
      "?listener=by_sni",
      "?cluster=backend",
    ];
    for (const view of views) {
      const text = await handler(new Request(`http://admin/api/v1/config_dump${view}`)).text();
      assert.ok(!text.includes("PRIVATE KEY"), `${view}: a PEM key header survived`);
      for (const key of keys) {
        for (const line of bodyLines(key)) assert.ok(!text.includes(line), `${view}: key material survived`);
      }
    }
    // The structure stays: operators see what is configured, not the material.
    const inline = await handler(new Request("http://admin/api/v1/config_dump?listener=inline")).json();
    assert.deepEqual(inline.filter_chains[0].tls_context, {
      status: REDACTED,
      cert_chain: REDACTED,
      private_key: REDACTED,
      ca_cert: REDACTED,
      verify_client: REDACTED,
    });
    const sni = await handler(new Request("http://admin/api/v1/config_dump?listener=by_sni")).json();
    assert.equal(sni.filter_chains[0].tls_context_set.length, 2);
    assert.equal(sni.filter_chains[0].tls_context_set[1].private_key, REDACTED);
    const cluster = await handler(new Request("http://admin/api/v1/config_dump?cluster=backend")).json();
    assert.equal(cluster.tls_context.private_key, REDACTED);
    assert.equal(cluster.name, "backend");
    const mosn = await handler(new Request("http://admin/api/v1/config_dump?mosnconfig")).json();
    assert.equal(mosn.cluster_manager.tls_context.private_key, REDACTED);
  } finally {
    await pki.remove();
  }
});
