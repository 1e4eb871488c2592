import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import type { PeerIdentity } from "./types.ts";

/** A certificate's subject alternative names by kind, as `subjectaltname` lists them. */
export interface SubjectAltNames {
  readonly dns: readonly string[];
  readonly uri: readonly string[];
  readonly ip: readonly string[];
  readonly email: readonly string[];
}

const SAN_KINDS: Record<string, keyof SubjectAltNames> = {
  "DNS": "dns",
  "URI": "uri",
  "IP Address": "ip",
  "email": "email",
};

/**
 * Parses node's `subjectaltname` text ("DNS:a, URI:spiffe://x, IP Address:127.0.0.1"). Entries are
 * split only before a known kind, so a comma inside a URI does not cut it; node quotes values that
 * would be ambiguous (JSON string syntax), and those are unquoted.
 */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const out = { dns: [] as string[], uri: [] as string[], ip: [] as string[], email: [] as string[] };
  if (text === undefined || text === "") return out;
  for (const entry of text.split(/, (?=(?:DNS|URI|IP Address|email|DirName|othername|Registered ID):)/)) {
    const colon = entry.indexOf(":");
    if (colon < 0) continue;
    const kind = SAN_KINDS[entry.slice(0, colon)];
    if (kind === undefined) continue;
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value);
      } catch {
        continue; // not a value we can read: it matches nothing
      }
    }
    out[kind].push(value);
  }
  return out;
}

/** The identity of a peer certificate node verified (subject, SANs, SHA-256 of the DER). */
export function peerIdentity(cert: PeerCertificate): PeerIdentity {
  const sans = parseSubjectAltNames(cert.subjectaltname);
  const subject = Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`)
    .join(",");
  return {
    uriSans: sans.uri,
    dnsSans: sans.dns,
    subject,
    sha256: cert.raw === undefined ? "" : createHash("sha256").update(cert.raw).digest("hex"),
  };
}
