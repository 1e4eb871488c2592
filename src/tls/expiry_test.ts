import assert from "node:assert/strict";
import { makeTestPki, type TestPki } from "../../tests/_peers/certs.ts";
import { parsePrometheus, StatsRegistry } from "../stats/mod.ts";
import { CertificateExpiryStats, parseCertificates, snapshotCertificates } from "./expiry.ts";
import { pemFrom, snapshotWithTls, tlsContext } from "./_test_snapshot.ts";

/** notAfter as `openssl x509 -enddate` prints it, in ms since the epoch: the truth to compare with. */
async function opensslNotAfter(certPath: string): Promise<number> {
  const out = await new Deno.Command("openssl", {
    args: ["x509", "-noout", "-enddate", "-in", certPath],
    stdout: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim(); // notAfter=Dec  4 15:15:22 2026 GMT
  return Date.parse(line.slice("notAfter=".length));
}

function pkiSnapshot(pki: TestPki) {
  return snapshotWithTls(
    [
      tlsContext({
        certChain: pemFrom(pki.server.certPath),
        privateKey: pemFrom(pki.server.keyPath),
        caCert: pemFrom(pki.ca.certPath),
      }),
      tlsContext({ certChain: pemFrom(undefined, pki.other.cert + pki.ca.cert) }), // inline chain
    ],
    tlsContext({
      certChain: pemFrom(pki.client.certPath),
      privateKey: pemFrom(pki.client.keyPath),
      caCert: pemFrom(pki.ca.certPath),
    }),
  );
}

Deno.test("parseCertificates() reads every certificate of a chain with its subject and expiry", async () => {
  const pki = await makeTestPki();
  try {
    const certs = parseCertificates(pki.server.cert + "\n" + pki.ca.cert);
    assert.deepEqual(certs.map((c) => c.subject), ["CN=server", "CN=ca,O=meshctl tests"]);
    assert.equal(certs[0]!.notAfterMs, await opensslNotAfter(pki.server.certPath));
    assert.equal(certs[1]!.notAfterMs, await opensslNotAfter(pki.ca.certPath));
    assert.deepEqual(parseCertificates(pki.server.key), [], "a private key has no expiry");
    assert.deepEqual(
      parseCertificates("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"),
      [],
      "an unreadable block is skipped",
    );
  } finally {
    await pki.remove();
  }
});

Deno.test("snapshotCertificates() labels each certificate by listener context or cluster, field and index", async () => {
  const pki = await makeTestPki();
  try {
    const labels = snapshotCertificates(pkiSnapshot(pki)).map((c) => c.labels);
    assert.deepEqual(labels, [
      { listener: "ingress", tls_context: "0", field: "cert_chain", index: "0", subject: "CN=server" },
      {
        listener: "ingress",
        tls_context: "0",
        field: "ca_cert",
        index: "0",
        subject: "CN=ca,O=meshctl tests",
      },
      { listener: "ingress", tls_context: "1", field: "cert_chain", index: "0", subject: "CN=other" },
      {
        listener: "ingress",
        tls_context: "1",
        field: "cert_chain",
        index: "1",
        subject: "CN=ca,O=meshctl tests",
      },
      { cluster: "backend", field: "cert_chain", index: "0", subject: "CN=client" },
      { cluster: "backend", field: "ca_cert", index: "0", subject: "CN=ca,O=meshctl tests" },
    ]);
  } finally {
    await pki.remove();
  }
});

Deno.test("CertificateExpiryStats: the seconds-to-expiry gauge is within 2 s of openssl's notAfter", async () => {
  const pki = await makeTestPki();
  try {
    const registry = new StatsRegistry();
    const expiry = new CertificateExpiryStats(registry);
    expiry.update(pkiSnapshot(pki));
    assert.equal(expiry.size, 6);
    const truth = (await opensslNotAfter(pki.server.certPath) - Date.now()) / 1000;
    const json = registry.toMosnJson()["tls"]!;
    const ns = "field.cert_chain.index.0.listener.ingress.subject.CN=server.tls_context.0";
    const seconds = Number(json[ns]!["cert_expires_in_seconds"]);
    assert.ok(Math.abs(seconds - truth) <= 2, `gauge ${seconds} s, truth ${truth} s`);
    assert.ok(seconds > 2 * 86400 && seconds <= 3 * 86400, "the test certificates are valid for 3 days");
    assert.equal(
      Number(json[ns]!["cert_not_after_timestamp_seconds"]),
      (await opensslNotAfter(pki.server.certPath)) / 1000,
    );
    // Prometheus: the same series, labelled; the subject is readable there too.
    const fam = parsePrometheus(registry.toPrometheus()).find((f) =>
      f.name === "meshctl_tls_cert_expires_in_seconds"
    )!;
    assert.equal(fam.type, "gauge");
    const cluster = fam.samples.find((s) =>
      s.labels["cluster"] === "backend" && s.labels["field"] === "cert_chain"
    )!;
    assert.equal(cluster.labels["subject"], "CN=client");
    const clientTruth = (await opensslNotAfter(pki.client.certPath) - Date.now()) / 1000;
    assert.ok(Math.abs(cluster.value - clientTruth) <= 2, `gauge ${cluster.value} s, truth ${clientTruth} s`);
  } finally {
    await pki.remove();
  }
});

Deno.test("CertificateExpiryStats computes on read, goes negative when expired and drops certificates no longer loaded", async () => {
  const pki = await makeTestPki();
  try {
    const registry = new StatsRegistry();
    let now = Date.parse("2020-01-01T12:00:00Z");
    const expiry = new CertificateExpiryStats(registry, () => now);
    expiry.update(snapshotWithTls([tlsContext({ caCert: pemFrom(pki.expiredClient.certPath) })]));
    const read = () =>
      parsePrometheus(registry.toPrometheus()).find((f) => f.name === "meshctl_tls_cert_expires_in_seconds")
        ?.samples ?? [];
    assert.equal(read()[0]!.value, 12 * 3600, "12 h before 2020-01-02T00:00:00Z");
    now += 36 * 3600 * 1000;
    assert.equal(read()[0]!.value, -24 * 3600, "read again: a day past expiry");
    // A reload that no longer loads it: its scope is gone, the new one is there.
    expiry.update(snapshotWithTls([tlsContext({ certChain: pemFrom(pki.server.certPath) })]));
    assert.deepEqual(read().map((s) => s.labels["subject"]), ["CN=server"]);
    expiry.update(snapshotWithTls([]));
    assert.deepEqual(read(), []);
    assert.equal(registry.toMosnJson()["tls"], undefined);
  } finally {
    await pki.remove();
  }
});
