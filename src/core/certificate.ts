/**
 * PEM and X.509 inspection over `node:crypto`: the blocks of a PEM text, the certificates in it with their
 * names and validity, and a private key the TLS stack can sign with. Config validation uses it to refuse
 * material that would only fail at the first handshake; anything describing a certificate may too.
 * Problems come back as text (a reason to put after a file name), never as exceptions.
 */
import { Buffer } from "node:buffer";
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";

/** One `-----BEGIN <label>-----` … `-----END <label>-----` block. */
export interface PemBlock {
  readonly label: string;
  /** The block as written, BEGIN line to END line. */
  readonly text: string;
  readonly der: Uint8Array;
  /** RFC 1421 headers before the base64 body (OpenSSL's legacy encrypted keys: `Proc-Type: 4,ENCRYPTED`). */
  readonly headers: ReadonlyMap<string, string>;
  /** 1-based line of the BEGIN line in the text. */
  readonly line: number;
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----\s*$/;
const END = /^-----END ([A-Z0-9 ]+)-----\s*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The PEM blocks of `text`, in order. Text between blocks is ignored (OpenSSL writes `subject=` and
 * `Bag Attributes` lines there). A block without its END line, or with a body that is not base64, is a
 * problem.
 */
export function parsePem(text: string): PemBlock[] | string {
  const lines = text.split(/\r?\n/);
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec(lines[i]!);
    if (!begin) continue;
    const label = begin[1]!;
    const start = i;
    const headers = new Map<string, string>();
    let body = "";
    let ended = false;
    for (i++; i < lines.length; i++) {
      const line = lines[i]!.trim();
      const end = END.exec(line);
      if (end) {
        if (end[1] !== label) {
          return `the "${label}" block at line ${start + 1} ends with "-----END ${end[1]}-----"`;
        }
        ended = true;
        break;
      }
      if (BEGIN.test(line)) break;
      const header = body === "" ? /^([A-Za-z-]+):\s*(.*)$/.exec(line) : null;
      if (header) headers.set(header[1]!, header[2]!);
      else body += line;
    }
    if (!ended) return `the "${label}" block at line ${start + 1} has no "-----END ${label}-----" line`;
    if (body.length % 4 !== 0 || !BASE64.test(body)) {
      return `the "${label}" block at line ${start + 1} is not valid base64`;
    }
    blocks.push({
      label,
      text: lines.slice(start, i + 1).map((l) => l.trimEnd()).join("\n") + "\n",
      der: new Uint8Array(Buffer.from(body, "base64")),
      headers,
      line: start + 1,
    });
  }
  return blocks;
}

/** The labels of `blocks`, for "it holds: …" in messages. */
export function describePemLabels(blocks: readonly PemBlock[]): string {
  return blocks.length === 0 ? "nothing" : [...new Set(blocks.map((b) => b.label))].join(", ");
}

/** A parsed certificate: what messages, SNI selection and identity checks need from it. */
export interface CertificateInfo {
  /** Distinguished name, RDNs joined by ", " (e.g. "CN=server, O=Acme"). */
  readonly subject: string;
  readonly issuer: string;
  /** basicConstraints CA:TRUE. */
  readonly isCa: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  readonly ips: readonly string[];
  readonly emails: readonly string[];
  /** SHA-256 of the DER encoding, lowercase hex (Envoy's XFCC Hash). */
  readonly sha256: string;
  readonly x509: X509Certificate;
}

/** The certificates among `blocks` (CERTIFICATE blocks; others are skipped, as Go's X509KeyPair does). */
export function readCertificates(blocks: readonly PemBlock[]): CertificateInfo[] | string {
  const certs: CertificateInfo[] = [];
  for (const block of blocks) {
    if (block.label !== "CERTIFICATE") continue;
    try {
      // Inside the try too: a certificate the parser took may still fail on a field it decodes lazily.
      const x509 = new X509Certificate(Buffer.from(block.der));
      certs.push({
        subject: distinguishedName(x509.subject),
        issuer: distinguishedName(x509.issuer),
        isCa: x509.ca,
        notBefore: x509.validFromDate,
        notAfter: x509.validToDate,
        ...parseSubjectAltNames(x509.subjectAltName ?? ""),
        sha256: createHash("sha256").update(block.der).digest("hex"),
        x509,
      });
    } catch (e) {
      return `the certificate at line ${block.line} cannot be parsed (${e instanceof Error ? e.message : e})`;
    }
  }
  return certs;
}

/** Why `cert` cannot be used at `nowMs` (expired or not yet valid), or undefined when it can. */
export function certificateValidityProblem(cert: CertificateInfo, nowMs: number): string | undefined {
  if (nowMs > cert.notAfter.getTime()) return `expired on ${cert.notAfter.toISOString()}`;
  if (nowMs < cert.notBefore.getTime()) return `is not valid before ${cert.notBefore.toISOString()}`;
  return undefined;
}

/**
 * Subject alternative names from node's `subjectaltname` text ("DNS:a, URI:spiffe://…, IP Address:1.2.3.4",
 * values with separators quoted as JSON strings), by kind; other kinds are left out.
 */
export function parseSubjectAltNames(text: string | undefined): {
  dnsNames: string[];
  uris: string[];
  ips: string[];
  emails: string[];
} {
  const out = { dnsNames: [] as string[], uris: [] as string[], ips: [] as string[], emails: [] as string[] };
  if (text === undefined || text === "") return out;
  // Deno does not quote values, so a ", " not followed by a known kind belongs to the value before it.
  const entries: [keyof typeof out | undefined, string][] = [];
  for (const piece of text.split(", ")) {
    const kind = SAN_KINDS.find(([prefix]) => piece.startsWith(prefix));
    if (kind === undefined && entries.length > 0) entries[entries.length - 1]![1] += `, ${piece}`;
    else if (kind !== undefined) entries.push([kind[1], piece.slice(kind[0].length)]);
  }
  for (const [kind, raw] of entries) {
    if (kind === undefined) continue;
    let value = raw;
    if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) {
      try {
        value = JSON.parse(raw) as string; // node's quoting of values with separators
      } catch {
        // not node's quoting after all: keep the text
      }
    }
    out[kind].push(value);
  }
  return out;
}

/** The kind prefixes of node's `subjectaltname` text, and where each lands (undefined: left out). */
const SAN_KINDS: readonly [string, "dnsNames" | "uris" | "ips" | "emails" | undefined][] = [
  ["DNS:", "dnsNames"],
  ["URI:", "uris"],
  ["IP Address:", "ips"],
  ["email:", "emails"],
  ["othername:", undefined],
  ["DirName:", undefined],
  ["Registered ID:", undefined],
];

/** node prints a DN one RDN per line. */
function distinguishedName(dn: string): string {
  return dn.split("\n").filter((p) => p !== "").join(", ");
}

/** A private key the TLS stack can sign with. */
export interface PrivateKeyInfo {
  readonly key: KeyObject;
  /** e.g. "EC P-256", "RSA 2048 bits", "Ed25519". */
  readonly description: string;
  readonly block: PemBlock;
}

const EC_CURVES: Readonly<Record<string, string>> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/** What the TLS stack signs with (measured on Deno 2.9.6: others fail in the handshake or at setup). */
export const TLS_KEY_TYPES = "RSA of 2048 bits or more, ECDSA P-256, P-384 or P-521, or Ed25519";

/**
 * The private key among `blocks`: the first block labelled "PRIVATE KEY" or "… PRIVATE KEY" (PKCS#8,
 * PKCS#1 RSA, SEC1 EC; others are skipped, as Go's X509KeyPair does). Encrypted keys are refused (there is
 * no passphrase to give), and so are keys the TLS stack cannot sign with: RSA under 2048 bits (refused
 * when the context is made), RSA-PSS, DSA, other curves, Ed448 (the handshake fails).
 */
export function readPrivateKey(blocks: readonly PemBlock[]): PrivateKeyInfo | string {
  const block = blocks.find((b) => b.label === "PRIVATE KEY" || b.label.endsWith(" PRIVATE KEY"));
  if (block === undefined) return `holds no private key (it holds: ${describePemLabels(blocks)})`;
  if (block.label === "ENCRYPTED PRIVATE KEY" || /ENCRYPTED/.test(block.headers.get("Proc-Type") ?? "")) {
    return "the private key is encrypted; only unencrypted keys can be read (there is no passphrase field)";
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.text, format: "pem" });
  } catch (e) {
    return `the private key cannot be parsed (${e instanceof Error ? e.message : e})`;
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  let description: string;
  let usable: boolean;
  if (type === "rsa") {
    const bits = details.modulusLength ?? 0;
    description = `RSA ${bits} bits`;
    usable = bits >= 2048;
  } else if (type === "ec") {
    const curve = details.namedCurve ?? "unknown curve";
    description = `EC ${EC_CURVES[curve] ?? curve}`;
    usable = curve in EC_CURVES;
  } else if (type === "ed25519") {
    description = "Ed25519";
    usable = true;
  } else {
    description = String(type ?? "unknown").toUpperCase();
    usable = false;
  }
  if (!usable) return `the TLS stack cannot sign with this key (${description}; it takes ${TLS_KEY_TYPES})`;
  return { key, description, block };
}

/** Whether `key` is the private half of `cert`'s public key. */
export function keyMatchesCertificate(cert: CertificateInfo, key: PrivateKeyInfo): boolean {
  try {
    return cert.x509.checkPrivateKey(key.key);
  } catch {
    return false;
  }
}
