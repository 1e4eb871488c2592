import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { makeTestPki } from "../../tests/_peers/certs.ts";
import {
  certificateValidityProblem,
  keyMatchesCertificate,
  parsePem,
  parseSubjectAltNames,
  readCertificates,
  readPrivateKey,
} from "./mod.ts";
import type { PemBlock } from "./mod.ts";

function blocksOf(text: string): PemBlock[] {
  const blocks = parsePem(text);
  if (typeof blocks === "string") throw new Error(blocks);
  return blocks;
}

Deno.test("parsePem() finds blocks between other text, with CRLF lines and RFC 1421 headers", () => {
  const text =
    "subject=CN = x\r\n-----BEGIN CERTIFICATE-----\r\nAAEC\r\nAw==\r\n-----END CERTIFICATE-----\r\n" +
    "Bag Attributes\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nBAUG\n" +
    "-----END RSA PRIVATE KEY-----\n";
  const blocks = parsePem(text);
  ok(Array.isArray(blocks));
  assertEquals(blocks.map((b) => [b.label, Array.from(b.der), b.line]), [
    ["CERTIFICATE", [0, 1, 2, 3], 2],
    ["RSA PRIVATE KEY", [4, 5, 6], 7],
  ]);
  equal(blocks[0]!.text, "-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n");
  equal(blocks[1]!.headers.get("Proc-Type"), "4,ENCRYPTED");
  assertEquals(parsePem("no pem here"), []);
});

Deno.test("parsePem() reports a block without its END line, a mismatched END and a body that is not base64", () => {
  equal(
    parsePem("x\n-----BEGIN CERTIFICATE-----\nAAAA\n"),
    'the "CERTIFICATE" block at line 2 has no "-----END CERTIFICATE-----" line',
  );
  equal(
    parsePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----\n"),
    'the "CERTIFICATE" block at line 1 ends with "-----END PRIVATE KEY-----"',
  );
  equal(
    parsePem("-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----\n"),
    'the "CERTIFICATE" block at line 1 is not valid base64',
  );
});

Deno.test("parseSubjectAltNames() reads node's subjectaltname text, quoted values included", () => {
  assertEquals(
    parseSubjectAltNames(
      'DNS:localhost, DNS:"a, b.test", URI:spiffe://cluster.local/ns/default/sa/app, IP Address:127.0.0.1, ' +
        "email:ops@example.com, othername:<unsupported>, IP Address:::1",
    ),
    {
      dnsNames: ["localhost", "a, b.test"],
      uris: ["spiffe://cluster.local/ns/default/sa/app"],
      ips: ["127.0.0.1", "::1"],
      emails: ["ops@example.com"],
    },
  );
  assertEquals(parseSubjectAltNames(""), { dnsNames: [], uris: [], ips: [], emails: [] });
});

Deno.test("readCertificates() and readPrivateKey() describe the test PKI's server pair", async () => {
  const pki = await makeTestPki();
  try {
    const certs = readCertificates(blocksOf(pki.server.cert + pki.ca.cert));
    ok(Array.isArray(certs));
    const [leaf, ca] = certs;
    assertEquals([leaf!.subject, leaf!.issuer, leaf!.isCa, ca!.isCa], [
      "CN=server",
      "CN=ca, O=meshctl tests",
      false,
      true,
    ]);
    assertEquals([leaf!.dnsNames, leaf!.ips, leaf!.uris], [["localhost", "server.test"], ["127.0.0.1"], []]);
    ok(/^[0-9a-f]{64}$/.test(leaf!.sha256));
    equal(certificateValidityProblem(leaf!, Date.now()), undefined);
    equal(
      certificateValidityProblem(leaf!, leaf!.notAfter.getTime() + 1),
      `expired on ${leaf!.notAfter.toISOString()}`,
    );
    const key = readPrivateKey(blocksOf(pki.server.key));
    ok(typeof key !== "string");
    equal(key.description, "EC P-256");
    equal(keyMatchesCertificate(leaf!, key), true);
    equal(keyMatchesCertificate(ca!, key), false);
  } finally {
    await pki.remove();
  }
});

Deno.test("random bytes in CERTIFICATE and PRIVATE KEY blocks are problems, never exceptions", async () => {
  const pki = await makeTestPki();
  try {
    // Truncations and bit flips of real DER as well as noise: parsers fail deeper inside those.
    const real = [blocksOf(pki.server.cert)[0]!.der, blocksOf(pki.server.key)[0]!.der];
    for (let i = 0; i < 300; i++) {
      const base = real[i % 2]!;
      const der = i % 3 === 0
        ? crypto.getRandomValues(new Uint8Array(1 + (i % 64)))
        : i % 3 === 1
        ? base.slice(0, i % base.length)
        : base.map((b, j) => (j === i % base.length ? b ^ (1 << (i % 8)) : b));
      const b64 = btoa(String.fromCharCode(...der));
      for (const label of ["CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY"]) {
        const blocks = blocksOf(`-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`);
        const certs = readCertificates(blocks);
        const key = readPrivateKey(blocks);
        ok(typeof certs === "string" || Array.isArray(certs));
        ok(typeof key === "string" || key.description.length > 0);
      }
    }
  } finally {
    await pki.remove();
  }
});
