/**
 * Test certificates, made fresh by each test run with the `openssl` CLI (never checked-in secrets that
 * expire): a CA, server and client certificates signed by it, a second CA nobody trusts, and an
 * expired client certificate. Every key is EC P-256 unless asked otherwise.
 */

export interface CertPair {
  /** Paths of the PEM files. */
  readonly certPath: string;
  readonly keyPath: string;
  /** The PEM text. */
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  /** The trusted CA. */
  readonly ca: CertPair;
  /** CN=server; SANs DNS:localhost, DNS:server.test, IP:127.0.0.1. */
  readonly server: CertPair;
  /** CN=other; SAN DNS:other.test (a second certificate for SNI selection). */
  readonly other: CertPair;
  /** CN=client; SAN URI:spiffe://cluster.local/ns/default/sa/app (an Istio-style identity). */
  readonly client: CertPair;
  /** CN=intruder; SAN URI:spiffe://cluster.local/ns/evil/sa/app, signed by the trusted CA. */
  readonly otherClient: CertPair;
  /** A CA nobody trusts, and a client certificate it signed. */
  readonly untrustedCa: CertPair;
  readonly untrustedClient: CertPair;
  /** Signed by the trusted CA, valid from 2020-01-01 to 2020-01-02. */
  readonly expiredClient: CertPair;
  /** Makes another certificate signed by the trusted CA (e.g. to rotate a server certificate). */
  issue(name: string, san: string, opts?: { days?: number; rsa?: boolean }): Promise<CertPair>;
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function pair(dir: string, name: string): Promise<CertPair> {
  const certPath = `${dir}/${name}.pem`;
  const keyPath = `${dir}/${name}.key`;
  return {
    certPath,
    keyPath,
    cert: await Deno.readTextFile(certPath),
    key: await Deno.readTextFile(keyPath),
  };
}

function keyArgs(rsa: boolean | undefined): string[] {
  return rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
}

async function makeCa(dir: string, name: string): Promise<CertPair> {
  await openssl([
    "req",
    "-x509",
    ...keyArgs(false),
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "3",
    "-subj",
    `/CN=${name}/O=meshctl tests`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  return pair(dir, name);
}

async function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  san: string,
  opts: { days?: number; rsa?: boolean; notBefore?: string; notAfter?: string } = {},
): Promise<CertPair> {
  await openssl(
    [
      "req",
      ...keyArgs(opts.rsa),
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ],
    dir,
  );
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n` +
      `extendedKeyUsage=serverAuth,clientAuth\n`,
  );
  if (opts.notBefore !== undefined) {
    // `openssl x509` (3.0) cannot backdate; `openssl ca` can, with a throwaway database.
    await Deno.writeTextFile(`${dir}/${name}.db`, "");
    await Deno.writeTextFile(
      `${dir}/${name}.cnf`,
      `[ca]\ndefault_ca=d\n[d]\ndatabase=${name}.db\nnew_certs_dir=.\nserial=${name}.serial\n` +
        `default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`,
    );
    await Deno.writeTextFile(`${dir}/${name}.serial`, "1000\n");
    await openssl([
      "ca",
      "-batch",
      "-notext",
      "-config",
      `${name}.cnf`,
      "-cert",
      `${ca}.pem`,
      "-keyfile",
      `${ca}.key`,
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.pem`,
      "-startdate",
      opts.notBefore,
      "-enddate",
      opts.notAfter!,
      "-extfile",
      `${name}.ext`,
    ], dir);
    return pair(dir, name);
  }
  const validity = ["-days", String(opts.days ?? 3)];
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    // A random serial per certificate: -CAcreateserial shares ca.srl, which the leaves made in parallel
    // read half-written ("asn1 encoding routines:a2i_ASN1_INTEGER:short line").
    "-set_serial",
    `0x${
      Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")
    }`,
    "-out",
    `${name}.pem`,
    ...validity,
    "-extfile",
    `${name}.ext`,
  ], dir);
  return pair(dir, name);
}

/** Creates a fresh PKI in a temporary directory (about 0.2 s). */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-pki-" });
  const ca = await makeCa(dir, "ca");
  const untrustedCa = await makeCa(dir, "untrusted-ca");
  const [server, other, client, otherClient, untrustedClient, expiredClient] = await Promise.all([
    makeLeaf(dir, "ca", "server", "DNS:localhost,DNS:server.test,IP:127.0.0.1"),
    makeLeaf(dir, "ca", "other", "DNS:other.test"),
    makeLeaf(dir, "ca", "client", "URI:spiffe://cluster.local/ns/default/sa/app"),
    makeLeaf(dir, "ca", "intruder", "URI:spiffe://cluster.local/ns/evil/sa/app"),
    makeLeaf(dir, "untrusted-ca", "untrusted-client", "URI:spiffe://cluster.local/ns/default/sa/app"),
    makeLeaf(dir, "ca", "expired-client", "URI:spiffe://cluster.local/ns/default/sa/app", {
      notBefore: "20200101000000Z",
      notAfter: "20200102000000Z",
    }),
  ]);
  return {
    dir,
    ca,
    server,
    other,
    client,
    otherClient,
    untrustedCa,
    untrustedClient,
    expiredClient,
    issue: (name, san, opts) => makeLeaf(dir, "ca", name, san, opts),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
