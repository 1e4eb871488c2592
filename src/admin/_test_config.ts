/**
 * A MOSN-style config with secrets in every place a config can hold them, for the redaction tests.
 * `SECRETS` must never appear in a dump; `KEPT` must.
 */

/** Strings that must not survive redaction anywhere in the dump's JSON text. */
export const SECRETS = [
  "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig",
  "sid=8f14e45fceea167a",
  "k-3f9a1c",
  "csrf-77aa",
  "-----BEGIN PRIVATE KEY-----",
  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
  "-----BEGIN CERTIFICATE-----",
  "/etc/certs/ca.pem",
  "up-key-2b1e",
  "basic dXNlcjpwYXNz",
  "s3cr3t-variable",
  "rpc-secret-9",
  "hunter2",
];

/** Non-secret values an operator needs to see; they must survive redaction. */
export const KEPT = [
  '"x-request-source"',
  '"mesh"',
  '":authority"',
  '"api.example.com"',
  '"x-author"',
  '"alice"',
  '"authorization"', // a header name to remove is not a secret
  '"Authorization"',
  '"Cookie"',
  '"tls_context"',
  '"private_key"',
  '"cert_chain"',
  '"sds_source"',
  '"min_version"',
  '"egress_http"',
  '"backend"',
  '"127.0.0.1:8080"',
];

export function secretConfig(): Record<string, unknown> {
  return {
    servers: [{
      default_log_path: "stdout",
      routers: [{
        router_config_name: "egress_http",
        request_headers_to_add: [
          { header: { key: "x-request-source", value: "mesh" }, append: false },
          { header: { key: "Authorization", value: "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig" } },
        ],
        virtual_hosts: [{
          name: "api",
          domains: ["*"],
          request_headers_to_add: [{ header: { key: "X-API-Key", value: "k-3f9a1c" } }],
          response_headers_to_add: [
            { header: { key: "Set-Cookie", value: "sid=8f14e45fceea167a; HttpOnly" }, append: true },
          ],
          routers: [{
            match: {
              prefix: "/",
              headers: [
                { name: ":authority", value: "api.example.com" },
                { name: "x-author", value: "alice" },
                { name: "Cookie", value: "sid=8f14e45fceea167a", regex: false },
                { name: "x-csrf-token", value: "^csrf-77aa.*$", regex: true },
              ],
              variables: [{ name: "x-rpc-secret", value: "rpc-secret-9" }],
            },
            route: {
              cluster_name: "backend",
              request_headers_to_add: [
                { header: { key: "proxy_authorization", value: "basic dXNlcjpwYXNz" } },
                { header: { key: "x-session-variable", value: "s3cr3t-variable" } },
              ],
              request_headers_to_remove: ["authorization"],
            },
          }],
        }],
      }],
      listeners: [{
        name: "egress",
        address: "127.0.0.1:2046",
        filter_chains: [{
          tls_context: {
            status: true,
            private_key:
              "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            cert_chain: "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
            ca_cert: "/etc/certs/ca.pem",
            min_version: "TLSv1_2",
            sds_source: { ca_config: { name: "ca", config: { uds: "/etc/certs/ca.pem" } } },
          },
          filters: [{ type: "proxy", config: { router_config_name: "egress_http" } }],
        }],
        stream_filters: [{ type: "header_auth", config: { headers: { Cookie: "sid=8f14e45fceea167a" } } }],
      }],
    }],
    cluster_manager: {
      tls_context: { private_key: "-----BEGIN PRIVATE KEY-----\nup-key-2b1e" },
      clusters: [{
        name: "backend",
        hosts: [{ address: "127.0.0.1:8080" }],
        cluster_manager_tls: true,
        tls_context_set: [{ cert_chain: "-----BEGIN CERTIFICATE-----", private_key: "up-key-2b1e" }],
      }],
    },
    admin: { password: "hunter2", address: { socket_address: { address: "127.0.0.1", port_value: 34901 } } },
  };
}
