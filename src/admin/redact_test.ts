import assert from "node:assert/strict";
import { isSecretKey, REDACTED, redactSecrets } from "./redact.ts";

Deno.test("redactSecrets() hides secret keys at any depth, in any case", () => {
  const input = {
    servers: [{ listeners: [{ name: "l", tls: { private_key: "-----BEGIN", cert_chain: "c" } }] }],
    Password: "p",
    nested: { deeper: [{ TOKEN: "t", privateKey: { file: "k" }, Secret: 1 }] },
    keep: { tokens_per_fill: 5, name: "x", unset_password: null },
  };
  assert.deepEqual(redactSecrets(input), {
    servers: [{ listeners: [{ name: "l", tls: { private_key: REDACTED, cert_chain: "c" } }] }],
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

Deno.test("isSecretKey() matches the names and suffixes of secrets only", () => {
  for (
    const k of ["private_key", "privateKey", "PRIVATE-KEY", "password", "secret", "token", "client_secret"]
  ) {
    assert.ok(isSecretKey(k), k);
  }
  for (const k of ["name", "tokens", "secret_name", "key", "cert_chain"]) assert.ok(!isSecretKey(k), k);
});
