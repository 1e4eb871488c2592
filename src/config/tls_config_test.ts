/**
 * MOSN's tls_context as validated config: every rule with its message and line:col, the snapshot fields,
 * and MOSN's own TLS examples. Certificates come from a fresh test PKI (tests/_peers/certs.ts).
 */
import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { makeTestPki } from "../../tests/_peers/certs.ts";
import { type ConfigResult, DEFAULT_VALIDATION_CONTEXT, loadConfigFile, parseConfigText } from "./mod.ts";

const pki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

const ROOT = new URL("../../", import.meta.url).pathname;

async function openssl(...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: pki.dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * `line:col` just after the first occurrence of `marker` in `text` (where the value after a key starts),
 * or `back` characters before that.
 */
function at(text: string, marker: string, back = 0): string {
  const i = text.indexOf(marker);
  if (i < 0) throw new Error(`marker ${JSON.stringify(marker)} not in the config`);
  const before = text.slice(0, i + marker.length - back);
  const line = before.split("\n").length;
  return `${line}:${before.length - before.lastIndexOf("\n")}`;
}

type Fields = Record<string, unknown>;

/** A YAML block mapping at `indent`, one field per line, values as JSON (which YAML reads as written). */
function block(fields: Fields, indent: number): string {
  return Object.entries(fields).map(([k, v]) => `${" ".repeat(indent)}${k}: ${JSON.stringify(v)}`).join("\n");
}

const LISTENER_CTX: Fields = {
  status: true,
  cert_chain: pki.server.certPath,
  private_key: pki.server.keyPath,
};

/** One listener; `chain` is the filter chain's TLS part (indented 12), `extra` more listener fields. */
function listenerConfig(chain: string, extra: Fields = {}): string {
  const more = Object.keys(extra).length > 0 ? `\n${block(extra, 8)}` : "";
  return `servers:
  - routers:
      - router_config_name: r
        virtual_hosts: [{ name: v, domains: ["*"], routers: [{ match: { prefix: / }, route: { cluster_name: c } }] }]
    listeners:
      - name: l
        address: 127.0.0.1:0${more}
        filter_chains:
          - filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }]
${chain}
cluster_manager:
  clusters:
    - name: c
      hosts: [{ address: 127.0.0.1:2046 }]
`;
}

/** A listener with one tls_context holding `fields`. */
function listenerTls(fields: Fields, extra: Fields = {}): string {
  return listenerConfig(`            tls_context:\n${block(fields, 14)}`, extra);
}

/** A plaintext listener and one cluster whose tls_context holds `fields`. */
function clusterTls(fields: Fields): string {
  return `servers:
  - routers:
      - router_config_name: r
        virtual_hosts: [{ name: v, domains: ["*"], routers: [{ match: { prefix: / }, route: { cluster_name: c } }] }]
    listeners:
      - name: l
        address: 127.0.0.1:0
        filter_chains:
          - filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }]
cluster_manager:
  clusters:
    - name: c
      hosts: [{ address: 127.0.0.1:2046 }]
      tls_context:
${block(fields, 8)}
`;
}

const LCTX = "servers[0].listeners[0].filter_chains[0].tls_context";
const CCTX = "cluster_manager.clusters[0].tls_context";

function problems(r: ConfigResult): { errors: string[]; warnings: string[] } {
  const f = (list: ConfigResult["errors"]) => list.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`);
  return { errors: f(r.errors), warnings: f(r.warnings) };
}

function check(text: string): { errors: string[]; warnings: string[] } {
  return problems(parseConfigText(text, "t.yaml"));
}

// === Snapshot ===

Deno.test("a listener's tls_context_set becomes its tlsContexts in order, without the disabled ones, PEM text inside", () => {
  const text = listenerConfig(
    `            tls_context_set:
              - status: true
                server_name: server.test
                ca_cert: ${JSON.stringify(pki.ca.certPath)}
                cert_chain: ${JSON.stringify(pki.server.certPath)}
                private_key: ${JSON.stringify(pki.server.keyPath)}
                verify_client: true
                require_client_cert: true
                min_version: TLSv1_2
                max_version: tls_auto
                alpn: "h2,HTTP/1.1"
                match_subject_alt_names:
                  - exact: spiffe://cluster.local/ns/default/sa/app
                  - safe_regex: { google_re2: {}, regex: "spiffe://cluster\\\\.local/ns/[a-z]+/sa/app" }
              - status: false
                cert_chain: /nonexistent/never-read.pem
              - status: true
                cert_chain: ${JSON.stringify(pki.other.certPath)}
                private_key: ${JSON.stringify(pki.other.keyPath)}
                min_version: tlsv1_3`,
    { inspector: true, tls_handshake_timeout: "3s" },
  );
  const r = parseConfigText(text, "t.yaml");
  const set = "servers[0].listeners[0].filter_chains[0].tls_context_set";
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${
        at(text, "- status: false", "false".length)
      } ${set}[1].status: this TLS context is off (status is not true), so cert_chain is unused and the listener is plaintext; MOSN reads a context only with status: true`,
    ],
  });
  const l = r.snapshot!.servers[0]!.listeners[0]!;
  equal(l.inspector, true);
  equal(l.tlsHandshakeTimeoutMs, 3000);
  assertEquals(l.tlsContexts, [
    {
      serverName: "server.test",
      caCert: { path: pki.ca.certPath, pem: pki.ca.cert },
      certChain: { path: pki.server.certPath, pem: pki.server.cert },
      privateKey: { path: pki.server.keyPath, pem: pki.server.key },
      verifyClient: true,
      requireClientCert: true,
      insecureSkip: false,
      minVersion: "TLSv1.2",
      maxVersion: undefined,
      alpn: ["h2", "http/1.1"],
      matchSubjectAltNames: [
        { kind: "exact", value: "spiffe://cluster.local/ns/default/sa/app" },
        { kind: "regex", value: "spiffe://cluster\\.local/ns/[a-z]+/sa/app" },
      ],
      configPath: `${set}[0]`,
    },
    {
      serverName: undefined,
      caCert: undefined,
      certChain: { path: pki.other.certPath, pem: pki.other.cert },
      privateKey: { path: pki.other.keyPath, pem: pki.other.key },
      verifyClient: false,
      requireClientCert: false,
      insecureSkip: false,
      minVersion: "TLSv1.3",
      maxVersion: undefined,
      alpn: [],
      matchSubjectAltNames: [],
      configPath: `${set}[2]`,
    },
  ]);
  ok(Object.isFrozen(l.tlsContexts[0]!.certChain));
});

Deno.test("a listener without TLS is plaintext with the 10 s handshake default; tls_context {} and status false too", () => {
  for (const chain of ["", "            tls_context: {}", "            tls_context: { status: false }"]) {
    const r = parseConfigText(listenerConfig(chain), "t.yaml");
    assertEquals(problems(r), { errors: [], warnings: [] });
    const l = r.snapshot!.servers[0]!.listeners[0]!;
    assertEquals([l.tlsContexts, l.inspector, l.tlsHandshakeTimeoutMs], [[], false, 10_000]);
  }
});

Deno.test("a cluster with cluster_manager_tls dials with cluster_manager.tls_context; tls_disable marks a host", () => {
  const text = `servers:
  - listeners: []
cluster_manager:
  tls_context:
    status: true
    ca_cert: ${JSON.stringify(pki.ca.certPath)}
    server_name: server.test
  clusters:
    - name: shared
      cluster_manager_tls: true
      hosts: [{ address: 127.0.0.1:2046 }, { address: 127.0.0.1:2047, tls_disable: true }]
    - name: own
      tls_context:
        status: true
        insecure_skip: true
        cert_chain: ${JSON.stringify(pki.client.certPath)}
        private_key: ${JSON.stringify(pki.client.keyPath)}
        match_subject_alt_names: [{ suffix: .test }]
      hosts: [{ address: 127.0.0.1:2048 }]
    - name: plain
      hosts: [{ address: 127.0.0.1:2049 }]
`;
  const r = parseConfigText(text, "t.yaml");
  assertEquals(problems(r).errors, [
    `18:34 cluster_manager.clusters[1].tls_context.match_subject_alt_names: match_subject_alt_names cannot be checked with insecure_skip: the SANs of a certificate nobody verified prove nothing`,
  ]);
  const fixed = parseConfigText(
    text.replace("        match_subject_alt_names: [{ suffix: .test }]\n", ""),
    "t.yaml",
  );
  assertEquals(problems(fixed), { errors: [], warnings: [] });
  const [shared, own, plain] = fixed.snapshot!.clusters;
  assertEquals(shared!.tls, {
    serverName: "server.test",
    caCert: { path: pki.ca.certPath, pem: pki.ca.cert },
    certChain: undefined,
    privateKey: undefined,
    verifyClient: false,
    requireClientCert: false,
    insecureSkip: false,
    minVersion: undefined,
    maxVersion: undefined,
    alpn: [],
    matchSubjectAltNames: [],
    configPath: "cluster_manager.tls_context",
  });
  assertEquals(shared!.hosts.map((h) => h.tlsDisable), [false, true]);
  equal(own!.tls?.configPath, "cluster_manager.clusters[1].tls_context");
  equal(own!.tls?.insecureSkip, true);
  assertEquals(own!.tls?.certChain, { path: pki.client.certPath, pem: pki.client.cert });
  equal(plain!.tls, undefined);
});

Deno.test("relative PEM paths resolve against the config file's directory; inline PEM has no path", async () => {
  const file = `${pki.dir}/relative.yaml`;
  const text = clusterTls({
    status: true,
    ca_cert: "ca.pem",
    cert_chain: pki.client.cert,
    private_key: "./client.key",
  });
  await Deno.writeTextFile(file, text);
  const r = await loadConfigFile(file);
  assertEquals(problems(r), { errors: [], warnings: [] });
  const tls = r.snapshot!.clusters[0]!.tls!;
  assertEquals(tls.caCert, { path: pki.ca.certPath, pem: pki.ca.cert });
  assertEquals(tls.certChain, { path: undefined, pem: pki.client.cert });
  assertEquals(tls.privateKey, { path: pki.client.keyPath, pem: pki.client.key });
  // The same text elsewhere (here: parsed as t.yaml in the working directory) looks beside that file.
  const elsewhere = check(text);
  assertEquals(elsewhere.errors, [
    `${at(text, "ca_cert: ")} ${CCTX}.ca_cert: ca_cert "ca.pem" (${Deno.cwd()}/ca.pem): no such file`,
    `${
      at(text, "private_key: ")
    } ${CCTX}.private_key: private_key "./client.key" (${Deno.cwd()}/client.key): no such file`,
  ]);
});

Deno.test("a context with settings but without status: true is off, and says so", () => {
  const text = listenerTls({ cert_chain: pki.server.certPath, private_key: pki.server.keyPath });
  const r = parseConfigText(text, "t.yaml");
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${
        at(text, "tls_context:\n              ")
      } ${LCTX}: this TLS context is off (status is not true), so cert_chain, private_key are unused and the listener is plaintext; MOSN reads a context only with status: true`,
    ],
  });
  assertEquals(r.snapshot!.servers[0]!.listeners[0]!.tlsContexts, []);
  const off = clusterTls({ status: false, insecure_skip: true });
  assertEquals(check(off).warnings, [
    `${
      at(off, "status: ")
    } ${CCTX}.status: this TLS context is off (status is not true), so insecure_skip is unused and the cluster is plaintext; MOSN reads a context only with status: true`,
  ]);
});

// === Listener rules ===

Deno.test("tls_context and tls_context_set together are an error, as in MOSN", () => {
  const text = listenerConfig(
    `            tls_context: {}\n            tls_context_set:\n${
      block(LISTENER_CTX, 16).replace("                ", "              - ")
    }`,
  );
  assertEquals(check(text).errors, [
    `${
      at(text, "tls_context_set:\n              ")
    } servers[0].listeners[0].filter_chains[0].tls_context_set: set either tls_context or tls_context_set, not both (MOSN refuses both too)`,
  ]);
  // An empty set beside tls_context is not "both".
  equal(
    check(listenerConfig(`            tls_context: {}\n            tls_context_set: []`)).errors.length,
    0,
  );
});

Deno.test("inspector and tls_handshake_timeout without an enabled TLS context warn that they do nothing", () => {
  const text = listenerConfig("            tls_context: { status: false }", {
    inspector: true,
    tls_handshake_timeout: "5s",
  });
  const plain = "the listener has no enabled TLS context (status: true), so it is plaintext";
  const r = parseConfigText(text, "t.yaml");
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${at(text, "inspector: ")} servers[0].listeners[0].inspector: inspector does nothing: ${plain}`,
      `${
        at(text, "tls_handshake_timeout: ")
      } servers[0].listeners[0].tls_handshake_timeout: tls_handshake_timeout does nothing: ${plain}`,
    ],
  });
  equal(r.snapshot!.servers[0]!.listeners[0]!.inspector, false);
  const tls = listenerTls(LISTENER_CTX, { inspector: true, tls_handshake_timeout: "5s" });
  assertEquals(check(tls), { errors: [], warnings: [] });
  const bad = listenerTls(LISTENER_CTX, { inspector: "yes", tls_handshake_timeout: 5 });
  assertEquals(check(bad).errors, [
    `${
      at(bad, "inspector: ")
    } servers[0].listeners[0].inspector: expected true or false, got the string "yes"`,
    `${
      at(bad, "tls_handshake_timeout: ")
    } servers[0].listeners[0].tls_handshake_timeout: expected a duration string like "5s" or "5ms" (MOSN reads bare numbers as nanoseconds)`,
  ]);
});

Deno.test("a listener's context needs cert_chain and private_key, and verify_client needs ca_cert", () => {
  const text = listenerTls({ status: true, verify_client: true });
  const ctxAt = at(text, "tls_context:\n              ");
  assertEquals(check(text).errors, [
    `${ctxAt} ${LCTX}.cert_chain: missing cert_chain: a listener's TLS context needs cert_chain and private_key`,
    `${ctxAt} ${LCTX}.private_key: missing private_key: a listener's TLS context needs cert_chain and private_key`,
    `${
      at(text, "verify_client: ")
    } ${LCTX}.verify_client: verify_client needs ca_cert: the CA certificates that client certificates must chain to`,
  ]);
  const good = listenerTls({ ...LISTENER_CTX, ca_cert: pki.ca.certPath, verify_client: true });
  assertEquals(check(good), { errors: [], warnings: [] });
});

Deno.test("require_client_cert without verify_client warns that client certificates are not verified", () => {
  const text = listenerTls({ ...LISTENER_CTX, require_client_cert: true });
  const r = parseConfigText(text, "t.yaml");
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${
        at(text, "require_client_cert: ")
      } ${LCTX}.require_client_cert: client certificates will not be verified: require_client_cert without verify_client asks for one and accepts any, or none (Go's RequestClientCert, as MOSN); add verify_client: true and ca_cert to verify them`,
    ],
  });
  const tls = r.snapshot!.servers[0]!.listeners[0]!.tlsContexts[0]!;
  assertEquals([tls.verifyClient, tls.requireClientCert], [false, true]);
  const both = listenerTls({
    ...LISTENER_CTX,
    ca_cert: pki.ca.certPath,
    verify_client: true,
    require_client_cert: true,
  });
  assertEquals(check(both), { errors: [], warnings: [] });
});

Deno.test("a listener's ca_cert without verify_client and its insecure_skip warn that they are unused", () => {
  const text = listenerTls({ ...LISTENER_CTX, ca_cert: pki.ca.certPath, insecure_skip: true });
  assertEquals(check(text), {
    errors: [],
    warnings: [
      `${
        at(text, "ca_cert: ")
      } ${LCTX}.ca_cert: ca_cert is unused: without verify_client the listener asks for no client certificate`,
      `${
        at(text, "insecure_skip: ")
      } ${LCTX}.insecure_skip: insecure_skip has no effect on a listener: it turns off a cluster's verification of the server certificate`,
    ],
  });
});

Deno.test("match_subject_alt_names: one non-empty kind per entry, RE2 checked, and on a listener only with verify_client", () => {
  const text = listenerConfig(`            tls_context:
${block(LISTENER_CTX, 14)}
              match_subject_alt_names:
                - { exact: a, prefix: b }
                - {}
                - { suffix: "" }
                - { safe_regex: { regex: "(a" } }
                - { contains: evil, ignore_case: true }`);
  const m = `${LCTX}.match_subject_alt_names`;
  assertEquals(check(text).errors, [
    `${
      at(text, "match_subject_alt_names:\n                ")
    } ${m}: match_subject_alt_names needs verify_client: true: only a verified client certificate's SANs can be matched`,
    `${
      at(text, "                - ")
    } ${m}[0]: a matcher takes only one of exact, prefix, suffix, contains or safe_regex (got exact, prefix)`,
    `${
      at(text, "- { exact: a, prefix: b }\n                - ")
    } ${m}[1]: a matcher needs one of exact, prefix, suffix, contains or safe_regex`,
    `${at(text, "suffix: ")} ${m}[2].suffix: suffix must not be empty`,
    `${at(text, "{ regex: ")} ${m}[3].safe_regex.regex: invalid regex "(a": missing closing ): \`(a\``,
    `${at(text, "evil, ")} ${m}[4].ignore_case: unknown field "ignore_case"`,
  ]);
});

// === Cluster rules ===

Deno.test("a cluster's client certificate needs cert_chain and private_key together", () => {
  const text = clusterTls({ status: true, cert_chain: pki.client.certPath });
  assertEquals(check(text).errors, [
    `${
      at(text, "tls_context:\n        ")
    } ${CCTX}.private_key: missing private_key: a client certificate needs both cert_chain and private_key (or neither)`,
  ]);
  const keyOnly = clusterTls({ status: true, private_key: pki.client.keyPath });
  assertEquals(check(keyOnly).errors, [
    `${
      at(keyOnly, "tls_context:\n        ")
    } ${CCTX}.cert_chain: missing cert_chain: a client certificate needs both cert_chain and private_key (or neither)`,
  ]);
  assertEquals(check(clusterTls({ status: true })), { errors: [], warnings: [] });
});

Deno.test("a cluster's insecure_skip ignores ca_cert, and verify_client / require_client_cert do nothing there (warnings)", () => {
  const text = clusterTls({
    status: true,
    ca_cert: pki.ca.certPath,
    insecure_skip: true,
    verify_client: true,
    require_client_cert: true,
  });
  assertEquals(check(text), {
    errors: [],
    warnings: [
      `${
        at(text, "ca_cert: ")
      } ${CCTX}.ca_cert: ca_cert is ignored: insecure_skip turns verification of the server certificate off`,
      `${
        at(text, "verify_client: ")
      } ${CCTX}.verify_client: verify_client has no effect on a cluster: client certificates are a listener's setting (a cluster sends its cert_chain when the server asks for one)`,
      `${
        at(text, "require_client_cert: ")
      } ${CCTX}.require_client_cert: require_client_cert has no effect on a cluster: client certificates are a listener's setting (a cluster sends its cert_chain when the server asks for one)`,
    ],
  });
  assertEquals(check(clusterTls({ status: true, ca_cert: pki.ca.certPath })), { errors: [], warnings: [] });
});

Deno.test("cluster_manager_tls: the cluster's own context is ignored, a disabled shared one is plaintext, an unused one warns", () => {
  const text = `servers:
  - listeners: []
cluster_manager:
  tls_context: { status: false }
  clusters:
    - name: a
      cluster_manager_tls: true
      tls_context: { status: true, ca_cert: /nonexistent/not-read.pem }
      hosts: [{ address: 127.0.0.1:2046, tls_disable: true }]
`;
  const r = parseConfigText(text, "t.yaml");
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${
        at(text, "cluster_manager_tls: ")
      } cluster_manager.clusters[0].cluster_manager_tls: cluster_manager.tls_context is not enabled (status: true), so this cluster dials in plaintext`,
      `${
        at(text, "      tls_context: ")
      } cluster_manager.clusters[0].tls_context: this tls_context is ignored: with cluster_manager_tls the cluster uses cluster_manager.tls_context (MOSN)`,
      `${
        at(text, "tls_disable: ")
      } cluster_manager.clusters[0].hosts[0].tls_disable: tls_disable does nothing: the cluster has no enabled TLS context, so every host is plaintext`,
    ],
  });
  equal(r.snapshot!.clusters[0]!.tls, undefined);
  const unused = text.replace("tls_context: { status: false }", "tls_context: { status: true }").replace(
    "      cluster_manager_tls: true\n      tls_context: { status: true, ca_cert: /nonexistent/not-read.pem }\n",
    "",
  );
  assertEquals(check(unused).warnings, [
    `${
      at(unused, "tls_context: ")
    } cluster_manager.tls_context: cluster_manager.tls_context is unused: no cluster sets cluster_manager_tls: true`,
    `${
      at(unused, "tls_disable: ")
    } cluster_manager.clusters[0].hosts[0].tls_disable: tls_disable does nothing: the cluster has no enabled TLS context, so every host is plaintext`,
  ]);
});

// === Fields the TLS stack cannot honour ===

Deno.test("cipher_suites is an error, naming names MOSN does not know either", () => {
  const text = clusterTls({ status: true, cipher_suites: "ECDHE-RSA-AES128-GCM-SHA256:RC4-MD5" });
  const base =
    "cipher_suites cannot be honoured: the TLS stack (rustls) cannot restrict cipher suites; it offers only TLS 1.3 suites and TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305 (remove the field)";
  assertEquals(check(text).errors, [
    `${
      at(text, "cipher_suites: ")
    } ${CCTX}.cipher_suites: ${base}; "RC4-MD5" is not a cipher name MOSN knows either (pkg/mtls/ciphers.go)`,
  ]);
  const known = clusterTls({ status: true, cipher_suites: "ECDHE-RSA-AES128-GCM-SHA256" });
  assertEquals(check(known).errors, [`${at(known, "cipher_suites: ")} ${CCTX}.cipher_suites: ${base}`]);
  assertEquals(check(clusterTls({ status: true, cipher_suites: "" })), { errors: [], warnings: [] });
});

Deno.test("ecdh_curves: x25519, p256 and p384 in any case warn that groups cannot be restricted; p521 and unknown names are errors", () => {
  const text = clusterTls({ status: true, ecdh_curves: "X25519, P256,p384" });
  assertEquals(check(text), {
    errors: [],
    warnings: [
      `${
        at(text, "ecdh_curves: ")
      } ${CCTX}.ecdh_curves: ecdh_curves "X25519, P256,p384" cannot be honoured: the TLS stack negotiates X25519, P-256 and P-384 and cannot be restricted (accepted so MOSN configs load)`,
    ],
  });
  const bad = clusterTls({ status: true, ecdh_curves: "P521,secp256k1,,x25519" });
  const pos = at(bad, "ecdh_curves: ");
  assertEquals(check(bad), {
    errors: [
      `${pos} ${CCTX}.ecdh_curves: "P521,secp256k1,,x25519" has an empty entry; expected names separated by commas`,
      `${pos} ${CCTX}.ecdh_curves: "P521": the TLS stack cannot negotiate P-521 (it offers X25519, P-256 and P-384)`,
      `${pos} ${CCTX}.ecdh_curves: unknown curve "secp256k1"; expected x25519, p256 or p384 (MOSN's names, any case)`,
    ],
    warnings: [],
  });
});

Deno.test("min/max_version take MOSN's names in any case; a 1.0/1.1 minimum warns, a maximum below 1.2 or under the minimum is an error", () => {
  const low = clusterTls({ status: true, min_version: "TLSv1_0", max_version: "TLSV1_3" });
  const r = parseConfigText(low, "t.yaml");
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${
        at(low, "min_version: ")
      } ${CCTX}.min_version: min_version "TLSv1_0" means TLS 1.2: the TLS stack offers TLS 1.2 and 1.3 only`,
    ],
  });
  const tls = r.snapshot!.clusters[0]!.tls!;
  assertEquals([tls.minVersion, tls.maxVersion], ["TLSv1.2", "TLSv1.3"]);
  const max11 = clusterTls({ status: true, max_version: "tlsv1_1" });
  assertEquals(check(max11).errors, [
    `${
      at(max11, "max_version: ")
    } ${CCTX}.max_version: max_version "tlsv1_1" leaves no version to negotiate: the TLS stack offers TLS 1.2 and 1.3 only`,
  ]);
  const inverted = clusterTls({ status: true, min_version: "tlsv1_3", max_version: "tlsv1_2" });
  assertEquals(check(inverted).errors, [
    `${
      at(inverted, "max_version: ")
    } ${CCTX}.max_version: max_version "tlsv1_2" is below min_version "tlsv1_3"`,
  ]);
  const typo = clusterTls({ status: true, min_version: "tlsv1.2", max_version: "ssl3" });
  assertEquals(check(typo).errors, [
    `${
      at(typo, "min_version: ")
    } ${CCTX}.min_version: unknown TLS version "tlsv1.2"; did you mean "tlsv1_2"?`,
    `${
      at(typo, "max_version: ")
    } ${CCTX}.max_version: unknown TLS version "ssl3"; expected one of tls_auto, tlsv1_0, tlsv1_1, tlsv1_2, tlsv1_3 (any case)`,
  ]);
  const auto = parseConfigText(
    clusterTls({ status: true, min_version: "tls_auto", max_version: "" }),
    "t.yaml",
  );
  assertEquals([auto.snapshot!.clusters[0]!.tls!.minVersion, auto.snapshot!.clusters[0]!.tls!.maxVersion], [
    undefined,
    undefined,
  ]);
});

Deno.test("alpn takes h2, http/1.1 and sofa; unknown, empty and repeated entries are errors", () => {
  const good = parseConfigText(clusterTls({ status: true, alpn: "H2, http/1.1,sofa" }), "t.yaml");
  assertEquals(good.snapshot!.clusters[0]!.tls!.alpn, ["h2", "http/1.1", "sofa"]);
  const bad = clusterTls({ status: true, alpn: "h2,h3,,h2" });
  const pos = at(bad, "alpn: ");
  assertEquals(check(bad).errors, [
    `${pos} ${CCTX}.alpn: "h2,h3,,h2" has an empty entry; expected names separated by commas`,
    `${pos} ${CCTX}.alpn: unknown ALPN protocol "h3"; expected h2, http/1.1, sofa (MOSN's names)`,
    `${pos} ${CCTX}.alpn: ALPN protocol "h2" is listed twice`,
  ]);
});

Deno.test("type, sds_source, ticket, fall_back, extend_verify and callbacks are not supported, each named; zero values load", () => {
  const text = listenerTls({
    ...LISTENER_CTX,
    type: "loader",
    ticket: "k",
    fall_back: true,
    extend_verify: { a: 1 },
    callbacks: ["cb"],
    sds_source: { CertificateConfig: { name: "default" } },
  });
  assertEquals(check(text).errors, [
    `${
      at(text, "              type: ")
    } ${LCTX}.type: type "loader" is not supported: it names a MOSN TLS extension hook (a Go ConfigHooksFactory); meshctl has only the default, certificates from ca_cert, cert_chain and private_key`,
    `${
      at(text, "ticket: ")
    } ${LCTX}.ticket: ticket is not supported yet (session ticket keys: the TLS stack issues and rotates its own)`,
    `${
      at(text, "fall_back: ")
    } ${LCTX}.fall_back: fall_back is not supported yet (meshctl never falls back to plaintext when TLS cannot be set up)`,
    `${
      at(text, "extend_verify: ")
    } ${LCTX}.extend_verify: extend_verify is not supported yet (configuration of MOSN's TLS extension hooks (type))`,
    `${
      at(text, "callbacks: ")
    } ${LCTX}.callbacks: callbacks is not supported yet (SDS certificate-update callbacks; SDS arrives with xDS)`,
    `${
      at(text, "sds_source: ")
    } ${LCTX}.sds_source: sds_source is not supported yet: certificates from SDS arrive with xDS`,
  ]);
  // With sds_source the certificates would come from SDS: no second error about cert_chain.
  const sds = listenerTls({ status: true, sds_source: {} });
  equal(check(sds).errors.length, 1);
  const zero = listenerTls({
    ...LISTENER_CTX,
    type: "",
    ticket: "",
    fall_back: false,
    extend_verify: {},
    callbacks: [],
  });
  assertEquals(check(zero), { errors: [], warnings: [] });
});

// === Certificate material ===

Deno.test("missing files, directories, FIFOs, oversized and non-PEM files are errors naming the file", async () => {
  const fifo = `${pki.dir}/fifo.pem`;
  ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
  await Deno.writeTextFile(`${pki.dir}/big.pem`, "x".repeat(5000));
  await Deno.writeTextFile(`${pki.dir}/notes.pem`, "just text\n");
  const text = listenerTls({
    status: true,
    ca_cert: `${pki.dir}/nope.pem`,
    cert_chain: pki.dir,
    private_key: fifo, // never opened: opening a FIFO without a writer would block
  });
  assertEquals(check(text).errors, [
    `${at(text, "ca_cert: ")} ${LCTX}.ca_cert: ca_cert "${pki.dir}/nope.pem": no such file`,
    `${at(text, "cert_chain: ")} ${LCTX}.cert_chain: cert_chain "${pki.dir}": is a directory`,
    `${at(text, "private_key: ")} ${LCTX}.private_key: private_key "${fifo}": is not a regular file`,
  ]);
  const big = `limits: { max_pem_file_bytes: 4096 }\n${
    listenerTls({ status: true, cert_chain: `${pki.dir}/big.pem`, private_key: `${pki.dir}/notes.pem` })
  }`;
  const noPem =
    'holds no PEM data (no "-----BEGIN" line; a DER file needs converting, e.g. openssl x509 -inform der)';
  assertEquals(check(big).errors, [
    `${
      at(big, "cert_chain: ")
    } ${LCTX}.cert_chain: cert_chain "${pki.dir}/big.pem": is 5000 bytes, more than limits.max_pem_file_bytes (4096)`,
    `${at(big, "private_key: ")} ${LCTX}.private_key: private_key "${pki.dir}/notes.pem" ${noPem}`,
  ]);
  await openssl("x509", "-in", "server.pem", "-outform", "der", "-out", "server.der");
  const der = listenerTls({ ...LISTENER_CTX, cert_chain: `${pki.dir}/server.der` });
  assertEquals(check(der).errors, [
    `${at(der, "cert_chain: ")} ${LCTX}.cert_chain: cert_chain "${pki.dir}/server.der" ${noPem}`,
  ]);
});

Deno.test("PEM that does not hold what the field needs is an error: no certificate, no key, broken blocks, unparseable DER", () => {
  const text = listenerTls({
    status: true,
    cert_chain: pki.server.keyPath,
    private_key: pki.server.certPath,
  });
  assertEquals(check(text).errors, [
    `${
      at(text, "cert_chain: ")
    } ${LCTX}.cert_chain: cert_chain "${pki.server.keyPath}" holds no certificate (it holds: PRIVATE KEY)`,
    `${
      at(text, "private_key: ")
    } ${LCTX}.private_key: private_key "${pki.server.certPath}": holds no private key (it holds: CERTIFICATE)`,
  ]);
  const b64 = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
  const open = "-----BEGIN CERTIFICATE-----\nAAAA\n";
  const notDer = "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n";
  const broken = listenerTls({ status: true, ca_cert: b64, cert_chain: open, private_key: notDer });
  const errors = check(broken).errors;
  assertEquals(errors.slice(0, 2), [
    `${
      at(broken, "ca_cert: ")
    } ${LCTX}.ca_cert: ca_cert (inline PEM): the "CERTIFICATE" block at line 1 is not valid base64`,
    `${
      at(broken, "cert_chain: ")
    } ${LCTX}.cert_chain: cert_chain (inline PEM): the "CERTIFICATE" block at line 1 has no "-----END CERTIFICATE-----" line`,
  ]);
  equal(
    errors[2],
    `${
      at(broken, "private_key: ")
    } ${LCTX}.private_key: private_key (inline PEM): holds no private key (it holds: CERTIFICATE)`,
  );
  const garbage = listenerTls({ ...LISTENER_CTX, cert_chain: notDer });
  const [e] = check(garbage).errors;
  ok(
    e?.startsWith(
      `${
        at(garbage, "cert_chain: ")
      } ${LCTX}.cert_chain: cert_chain (inline PEM): the certificate at line 1 cannot be parsed (`,
    ),
    e,
  );
  const badKey = listenerTls({
    ...LISTENER_CTX,
    private_key: "-----BEGIN PRIVATE KEY-----\nAAECAwQF\n-----END PRIVATE KEY-----\n",
  });
  const [k] = check(badKey).errors;
  ok(
    k?.startsWith(
      `${
        at(badKey, "private_key: ")
      } ${LCTX}.private_key: private_key (inline PEM): the private key cannot be parsed (`,
    ),
    k,
  );
});

Deno.test("a private key that is not the certificate's, encrypted, or of a kind the TLS stack cannot sign with is an error", async () => {
  const text = listenerTls({ status: true, cert_chain: pki.server.certPath, private_key: pki.other.keyPath });
  assertEquals(check(text).errors, [
    `${
      at(text, "private_key: ")
    } ${LCTX}.private_key: private_key "${pki.other.keyPath}" does not match the certificate in cert_chain (CN=server): they are not a key pair`,
  ]);
  await openssl(
    "pkcs8",
    "-topk8",
    "-in",
    "server.key",
    "-out",
    "encrypted.key",
    "-v2",
    "aes256",
    "-passout",
    "pass:x",
  );
  await openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa1024.key");
  await openssl("genpkey", "-algorithm", "ED448", "-out", "ed448.key");
  for (
    const [name, reason] of [
      [
        "encrypted.key",
        "the private key is encrypted; only unencrypted keys can be read (there is no passphrase field)",
      ],
      [
        "rsa1024.key",
        "the TLS stack cannot sign with this key (RSA 1024 bits; it takes RSA of 2048 bits or more, ECDSA P-256, P-384 or P-521, or Ed25519)",
      ],
      [
        "ed448.key",
        "the TLS stack cannot sign with this key (ED448; it takes RSA of 2048 bits or more, ECDSA P-256, P-384 or P-521, or Ed25519)",
      ],
    ]
  ) {
    const bad = listenerTls({ ...LISTENER_CTX, private_key: `${pki.dir}/${name}` });
    assertEquals(check(bad).errors, [
      `${at(bad, "private_key: ")} ${LCTX}.private_key: private_key "${pki.dir}/${name}": ${reason}`,
    ]);
  }
  // PKCS#1 RSA and SEC1 EC keys (MOSN's example key is SEC1) load like PKCS#8 ones.
  const rsa = await pki.issue("rsa-server", "DNS:rsa.test", { rsa: true });
  await openssl("pkey", "-in", "rsa-server.key", "-traditional", "-out", "rsa-server.pkcs1.key");
  await openssl("ec", "-in", "server.key", "-out", "server.sec1.key");
  for (
    const [cert, key] of [[rsa.certPath, "rsa-server.pkcs1.key"], [pki.server.certPath, "server.sec1.key"]]
  ) {
    assertEquals(check(listenerTls({ status: true, cert_chain: cert, private_key: `${pki.dir}/${key}` })), {
      errors: [],
      warnings: [],
    });
  }
});

Deno.test("expired and not yet valid certificates are errors, leaf or intermediate", async () => {
  const text = clusterTls({
    status: true,
    cert_chain: pki.expiredClient.certPath,
    private_key: pki.expiredClient.keyPath,
  });
  assertEquals(check(text).errors, [
    `${
      at(text, "cert_chain: ")
    } ${CCTX}.cert_chain: cert_chain "${pki.expiredClient.certPath}": the certificate (CN=expired-client) expired on 2020-01-02T00:00:00.000Z`,
  ]);
  const future = await pki.issue("future", "DNS:future.test", {
    notBefore: "20990101000000Z",
    notAfter: "20990102000000Z",
  });
  const chain = `${pki.dir}/future-chain.pem`;
  await Deno.writeTextFile(chain, pki.server.cert + future.cert);
  const later = listenerTls({ ...LISTENER_CTX, cert_chain: chain });
  assertEquals(check(later).errors, [
    `${
      at(later, "cert_chain: ")
    } ${LCTX}.cert_chain: cert_chain "${chain}": certificate 2 of 2 (CN=future) is not valid before 2099-01-01T00:00:00.000Z`,
  ]);
});

Deno.test("ca_cert must hold a CA certificate valid now; an expired CA beside a valid one warns", async () => {
  const text = clusterTls({ status: true, ca_cert: pki.server.certPath });
  assertEquals(check(text).errors, [
    `${
      at(text, "ca_cert: ")
    } ${CCTX}.ca_cert: ca_cert "${pki.server.certPath}" holds no CA certificate (its certificate has basicConstraints CA:TRUE)`,
  ]);
  // An expired CA: `openssl ca -selfsign` can set the dates (`req -x509` in OpenSSL 3.0 cannot backdate).
  await openssl(
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "old-ca.key",
    "-out",
    "old-ca.csr",
    "-subj",
    "/CN=old-ca",
  );
  await Deno.writeTextFile(`${pki.dir}/old-ca.db`, "");
  await Deno.writeTextFile(`${pki.dir}/old-ca.serial`, "1000\n");
  await Deno.writeTextFile(
    `${pki.dir}/old-ca.cnf`,
    "[ca]\ndefault_ca=d\n[d]\ndatabase=old-ca.db\nnew_certs_dir=.\nserial=old-ca.serial\ndefault_md=sha256\n" +
      "policy=p\nunique_subject=no\n[p]\ncommonName=supplied\n[v3]\nbasicConstraints=critical,CA:TRUE\n" +
      "keyUsage=critical,keyCertSign\n",
  );
  await openssl(
    "ca",
    "-batch",
    "-notext",
    "-selfsign",
    "-config",
    "old-ca.cnf",
    "-keyfile",
    "old-ca.key",
    "-in",
    "old-ca.csr",
    "-out",
    "old-ca.pem",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extensions",
    "v3",
  );
  const oldCa = await Deno.readTextFile(`${pki.dir}/old-ca.pem`);
  const only = clusterTls({ status: true, ca_cert: oldCa });
  assertEquals(check(only).errors, [
    `${
      at(only, "ca_cert: ")
    } ${CCTX}.ca_cert: ca_cert (inline PEM): the certificate (CN=old-ca) expired on 2020-01-02T00:00:00.000Z`,
  ]);
  const bundle = `${pki.dir}/bundle.pem`;
  await Deno.writeTextFile(bundle, oldCa + pki.ca.cert);
  const mixed = clusterTls({ status: true, ca_cert: bundle });
  const r = parseConfigText(mixed, "t.yaml");
  assertEquals(problems(r), {
    errors: [],
    warnings: [
      `${
        at(mixed, "ca_cert: ")
      } ${CCTX}.ca_cert: ca_cert "${bundle}": certificate 1 of 2 (CN=old-ca) expired on 2020-01-02T00:00:00.000Z; certificates it signed will not verify`,
    ],
  });
  assertEquals(r.snapshot!.clusters[0]!.tls!.caCert, { path: bundle, pem: oldCa + pki.ca.cert });
});

Deno.test("only the certificate blocks of a combined file go into the snapshot, and only the key block", async () => {
  const combined = `${pki.dir}/combined.pem`;
  await Deno.writeTextFile(combined, `subject=CN = server\n${pki.server.cert}${pki.server.key}`);
  const r = parseConfigText(
    listenerTls({ status: true, cert_chain: combined, private_key: combined }),
    "t.yaml",
  );
  assertEquals(problems(r), { errors: [], warnings: [] });
  const tls = r.snapshot!.servers[0]!.listeners[0]!.tlsContexts[0]!;
  assertEquals([tls.certChain, tls.privateKey], [{ path: combined, pem: pki.server.cert }, {
    path: combined,
    pem: pki.server.key,
  }]);
});

// === MOSN's examples ===

Deno.test("MOSN's TLS example configs validate against their certs, with the warnings meshctl owes them", async () => {
  const dir = `${ROOT}config/mosn_examples/tls`;
  const certs = `${ROOT}config/mosn_examples/certs`;
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assertEquals(files, [
    "http-sample_tls_client_config.json",
    "http-sample_tls_server_config.json",
    "protocol-auto-sample_tls_client_config.json",
    "protocol-auto-sample_tls_server_config.json",
    "sofarpc-with-xprotocol-sample_tls_client_config.json",
    "sofarpc-with-xprotocol-sample_tls_server_config.json",
  ]);
  const warnings: string[] = [];
  for (const name of files) {
    // The registry's names, as `meshctl validate` has them (the sofarpc sample uses the healthcheck filter).
    const r = await loadConfigFile(`${dir}/${name}`, {
      ...DEFAULT_VALIDATION_CONTEXT,
      streamFilters: ["healthcheck"],
    });
    assertEquals(r.errors, [], name);
    warnings.push(...r.warnings.map((w) => `${name}:${w.line}:${w.col} ${w.path}`));
    const s = r.snapshot!;
    const tls = name.includes("client") ? s.clusters[0]!.tls! : s.servers[0]!.listeners[0]!.tlsContexts[0]!;
    assertEquals([tls.caCert?.path, tls.certChain?.path, tls.privateKey?.path], [
      `${certs}/ca.pem`,
      `${certs}/cert.pem`,
      `${certs}/key.pem`,
    ]);
    if (name.includes("client")) equal(tls.serverName, "127.0.0.1");
    else equal(tls.verifyClient, true);
  }
  assertEquals(warnings, [
    "protocol-auto-sample_tls_client_config.json:56:23 cluster_manager.clusters[0].tls_context.verify_client",
    "protocol-auto-sample_tls_client_config.json:57:21 cluster_manager.clusters[0].tls_context.ecdh_curves",
    "protocol-auto-sample_tls_server_config.json:33:23 servers[0].listeners[0].filter_chains[0].tls_context.ecdh_curves",
  ]);
});
