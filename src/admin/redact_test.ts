import assert from "node:assert/strict";
import { isSecretKey, isSensitiveHeader, isTlsKey, REDACTED, redactSecrets } from "./redact.ts";
import { KEPT, secretConfig, SECRETS } from "./_test_config.ts";

/** The value at a dotted path (`servers.0.routers`) of the redacted realistic config. */
function redactedAt(path: string): unknown {
  let v: unknown = redactSecrets(secretConfig());
  for (const step of path.split(".")) v = (v as Record<string, unknown>)[step];
  return v;
}

const VHOST = "servers.0.routers.0.virtual_hosts.0";

Deno.test("redactSecrets() hides secret keys at any depth, in any case", () => {
  const input = {
    servers: [{ listeners: [{ name: "l", auth: { private_key: "-----BEGIN", cert_chain: "c" } }] }],
    Password: "p",
    nested: { deeper: [{ TOKEN: "t", privateKey: { file: "k" }, Secret: 1 }] },
    keep: { tokens_per_fill: 5, name: "x", unset_password: null },
  };
  assert.deepEqual(redactSecrets(input), {
    servers: [{ listeners: [{ name: "l", auth: { private_key: REDACTED, cert_chain: "c" } }] }],
    Password: REDACTED,
    nested: { deeper: [{ TOKEN: REDACTED, privateKey: REDACTED, Secret: REDACTED }] },
    keep: { tokens_per_fill: 5, name: "x", unset_password: null },
  });
  assert.equal(input.Password, "p", "the input is not modified");
});

Deno.test("redactSecrets() returns null for undefined and copies through toJSON()", () => {
  assert.equal(redactSecrets(undefined), null);
  assert.deepEqual(redactSecrets({ toJSON: () => ({ token: "x" }) }), { token: REDACTED });
});

Deno.test("redactSecrets() leaves nothing secret of a realistic MOSN config in the JSON text", () => {
  const text = JSON.stringify(redactSecrets(secretConfig()));
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} survived: ${text}`);
  for (const kept of KEPT) assert.ok(text.includes(kept), `${kept} was lost: ${text}`);
});

Deno.test("redactSecrets() hides values of sensitive headers in header edits at every level", () => {
  assert.deepEqual(redactedAt("servers.0.routers.0.request_headers_to_add"), [
    { header: { key: "x-request-source", value: "mesh" }, append: false },
    { header: { key: "Authorization", value: REDACTED } },
  ]);
  assert.deepEqual(redactedAt(`${VHOST}.request_headers_to_add`), [
    { header: { key: "X-API-Key", value: REDACTED } },
  ]);
  assert.deepEqual(redactedAt(`${VHOST}.response_headers_to_add`), [
    { header: { key: "Set-Cookie", value: REDACTED }, append: true },
  ]);
  assert.deepEqual(redactedAt(`${VHOST}.routers.0.route.request_headers_to_add`), [
    { header: { key: "proxy_authorization", value: REDACTED } },
    { header: { key: "x-session-variable", value: REDACTED } },
  ]);
  assert.deepEqual(redactedAt(`${VHOST}.routers.0.route.request_headers_to_remove`), ["authorization"]);
});

Deno.test("redactSecrets() hides values of header matchers, regexes included, and keeps routing ones", () => {
  assert.deepEqual(redactedAt(`${VHOST}.routers.0.match.headers`), [
    { name: ":authority", value: "api.example.com" },
    { name: "x-author", value: "alice" },
    { name: "Cookie", value: REDACTED, regex: false },
    { name: "x-csrf-token", value: REDACTED, regex: true },
  ]);
  assert.deepEqual(redactedAt(`${VHOST}.routers.0.match.variables`), [{
    name: "x-rpc-secret",
    value: REDACTED,
  }]);
});

Deno.test("redactSecrets() hides values in header maps under a *headers key", () => {
  assert.deepEqual(
    redactSecrets({
      config: { headers: { Cookie: "c", "x-request-source": "mesh" }, request_headers: null },
    }),
    { config: { headers: { Cookie: REDACTED, "x-request-source": "mesh" }, request_headers: null } },
  );
});

Deno.test("redactSecrets() redacts every leaf under TLS sections at any depth and keeps their keys", () => {
  assert.deepEqual(redactedAt("servers.0.listeners.0.filter_chains.0.tls_context"), {
    status: REDACTED,
    private_key: REDACTED,
    cert_chain: REDACTED,
    ca_cert: REDACTED,
    min_version: REDACTED,
    sds_source: { ca_config: { name: REDACTED, config: { uds: REDACTED } } },
  });
  assert.deepEqual(redactedAt("cluster_manager.tls_context"), { private_key: REDACTED });
  assert.deepEqual(redactedAt("cluster_manager.clusters.0"), {
    name: "backend",
    hosts: [{ address: "127.0.0.1:8080" }],
    cluster_manager_tls: REDACTED,
    tls_context_set: [{ cert_chain: REDACTED, private_key: REDACTED }],
  });
  assert.deepEqual(redactSecrets({ tlsContext: { list: [1, null, "x"], empty: {} } }), {
    tlsContext: { list: [REDACTED, null, REDACTED], empty: {} },
  });
});

Deno.test("isSecretKey() matches the names and suffixes of secrets only", () => {
  for (
    const k of [
      "private_key",
      "privateKey",
      "PRIVATE-KEY",
      "password",
      "passwd",
      "secret",
      "token",
      "client_secret",
      "api_key",
      "credentials",
    ]
  ) {
    assert.ok(isSecretKey(k), k);
  }
  for (const k of ["name", "tokens", "secret_name", "key", "cert_chain", "value"]) {
    assert.ok(!isSecretKey(k), k);
  }
});

Deno.test("isTlsKey() matches every TLS section name", () => {
  for (const k of ["tls_context", "tls_context_set", "cluster_manager_tls", "upstreamTlsContext", "TLS"]) {
    assert.ok(isTlsKey(k), k);
  }
  for (const k of ["cluster_manager", "filter_chains", "ttl", "settings"]) assert.ok(!isTlsKey(k), k);
});

Deno.test("isSensitiveHeader() matches credential headers in any case and spares routing headers", () => {
  for (
    const h of [
      "authorization",
      "Proxy-Authorization",
      "COOKIE",
      "set-cookie",
      "x-api-key",
      "api-key",
      "X_Api_Key",
      "x-goog-apikey",
      "x-auth-token",
      "x-csrf-token",
      "x-vault-token",
      "x-client-secret",
      "x-db-password",
      "x-passwd",
      "x-session-id",
      "x-amz-credential",
      "x-authorization-aux",
      "authentication",
      "x-oauth",
      "x-auth",
    ]
  ) {
    assert.ok(isSensitiveHeader(h), h);
  }
  for (
    const h of [
      ":authority",
      "Authority",
      "x-author",
      "x-authors",
      "host",
      "content-type",
      "x-request-source",
      "x-forwarded-for",
      "user-agent",
      "method",
      "x-key-id",
    ]
  ) {
    assert.ok(!isSensitiveHeader(h), h);
  }
});

Deno.test("redactSecrets() hides a PEM private key under any key name, and only that", () => {
  const ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----";
  const input = {
    filter: { config: { signing: ec, list: ["-----BEGIN ENCRYPTED PRIVATE KEY-----\nx", "plain"] } },
    cert: "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----",
  };
  assert.deepEqual(redactSecrets(input), {
    filter: { config: { signing: REDACTED, list: [REDACTED, "plain"] } },
    cert: input.cert,
  });
  assert.equal(redactSecrets(ec), REDACTED);
});
