/**
 * TLS to a static_resources cluster (Envoy's transport_socket with an UpstreamTlsContext): converted into the
 * cluster's TlsContextConfig, certificates read and checked, findings at the Envoy fields.
 */
import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { makeTestPki } from "../../tests/_peers/certs.ts";
import { type ConfigError, parseConfigText } from "./mod.ts";

const pki = await makeTestPki();
globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));

/** A bootstrap whose ADS cluster has `typedConfig` (YAML, indented 10) as its UpstreamTlsContext. */
function boot(typedConfig: string): string {
  return `dynamic_resources:
  ads_config: { api_type: GRPC, grpc_services: [{ envoy_grpc: { cluster_name: cp } }] }
  cds_config: { ads: {} }
static_resources:
  clusters:
    - name: cp
      type: STRICT_DNS
      load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: localhost, port_value: 15012 } } } }] }] }
      http2_protocol_options: {}
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
${typedConfig}
node: { id: test-id }
`;
}

const show = (e: ConfigError) => `${e.line}:${e.col} ${e.path}: ${e.message}`;

Deno.test("transport_socket TLS: trusted_ca, mTLS certificate, sni, ALPN and SANs reach the cluster's TLS config", () => {
  const text = boot(`          sni: server.test
          common_tls_context:
            tls_params: { tls_minimum_protocol_version: TLSv1_3 }
            alpn_protocols: [h2]
            tls_certificates:
              - certificate_chain: { filename: ${pki.client.certPath} }
                private_key: { inline_string: ${JSON.stringify(pki.client.key)} }
            validation_context:
              trusted_ca: { filename: ${pki.ca.certPath} }
              match_subject_alt_names: [{ exact: server.test }]`);
  const { snapshot, errors, warnings } = parseConfigText(text, "b.yaml");
  assertEquals(errors, []);
  assertEquals(warnings, []);
  const tls = snapshot!.clusters[0]!.tls!;
  ok(tls);
  equal(tls.serverName, "server.test");
  equal(tls.caCert!.path, pki.ca.certPath);
  equal(tls.certChain!.path, pki.client.certPath);
  equal(tls.privateKey!.path, undefined); // inline
  ok(tls.privateKey!.pem.includes("PRIVATE KEY"));
  assertEquals([tls.insecureSkip, tls.minVersion, tls.alpn], [false, "TLSv1.3", ["h2"]]);
  assertEquals(tls.matchSubjectAltNames, [{ kind: "exact", value: "server.test" }]);
  equal(tls.configPath, "static_resources.clusters[0].transport_socket.typed_config");
});

Deno.test("transport_socket TLS without trusted_ca does not verify (Envoy's meaning), with a warning", () => {
  const { snapshot, errors, warnings } = parseConfigText(boot("          common_tls_context: {}"), "b.yaml");
  assertEquals(errors, []);
  assertEquals(warnings.map(show), [
    "14:31 static_resources.clusters[0].transport_socket.typed_config.common_tls_context: the server " +
    "certificate is not verified: no validation_context.trusted_ca (Envoy's meaning); set one to verify the " +
    "control plane",
  ]);
  equal(snapshot!.clusters[0]!.tls!.insecureSkip, true);
  // SAN matchers without a trust root would prove nothing: refused, as Envoy does.
  const sans = boot(
    "          common_tls_context: { validation_context: { match_subject_alt_names: [{ exact: a }] } }",
  );
  assertEquals(parseConfigText(sans, "b.yaml").errors.map(show), [
    "14:80 static_resources.clusters[0].transport_socket.typed_config.common_tls_context.validation_context." +
    "match_subject_alt_names: needs trusted_ca: without it the certificate is not verified, so its SANs prove " +
    "nothing (Envoy refuses this too)",
  ]);
});

Deno.test("transport_socket TLS problems are reported at the Envoy field", () => {
  const errs = (typed: string) => parseConfigText(boot(typed), "b.yaml").errors.map(show);
  const missing = `${pki.dir}/missing.pem`;
  assertEquals(
    errs(`          common_tls_context: { validation_context: { trusted_ca: { filename: ${missing} } } }`),
    [
      `14:79 static_resources.clusters[0].transport_socket.typed_config.common_tls_context.validation_context.` +
      `trusted_ca.filename: ca_cert "${missing}": no such file`,
    ],
  );
  assertEquals(
    errs(
      `          common_tls_context: { validation_context: { trusted_ca: { filename: a, inline_string: b } } }`,
    ),
    [
      "14:67 static_resources.clusters[0].transport_socket.typed_config.common_tls_context.validation_context." +
      "trusted_ca: needs exactly one of filename or inline_string",
    ],
  );
  assertEquals(
    errs("          common_tls_context: { tls_certificate_sds_secret_configs: [{ name: default }] }"),
    [
      "14:69 static_resources.clusters[0].transport_socket.typed_config.common_tls_context." +
      "tls_certificate_sds_secret_configs: tls_certificate_sds_secret_configs is not supported yet (SDS)",
    ],
  );
  assertEquals(
    errs("          common_tls_context: { tls_params: { tls_minimum_protocol_version: TLSv1_0 } }"),
    [
      "14:77 static_resources.clusters[0].transport_socket.typed_config.common_tls_context.tls_params." +
      'tls_minimum_protocol_version: "TLSv1_0" is not supported yet (supported: TLS_AUTO, TLSv1_2, TLSv1_3)',
    ],
  );
});
