import type { X509Certificate } from "node:crypto";
import { compileRe2, parseSubjectAltNames as parseSans } from "../core/mod.ts";
import type { SanMatcherConfig } from "../config/mod.ts";
import type { PeerIdentity } from "./types.ts";

/** A certificate's subject alternative names by type. */
export interface SubjectAltNames {
  readonly dns: string[];
  readonly uri: string[];
  readonly ip: string[];
  readonly email: string[];
}

/** node's `subjectaltname` text ("DNS:a, URI:spiffe://x, IP Address:10.0.0.1") by type (core's parser). */
export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const s = parseSans(text);
  return { dns: s.dnsNames, uri: s.uris, ip: s.ips, email: s.emails };
}

/**
 * node's subject text (one attribute per line, in certificate order) in RFC 2253 form, as Envoy prints
 * it: most specific first, comma separated, special characters escaped ("CN=app,O=Acme\, Inc.,C=US").
 */
export function rfc2253Subject(subject: string): string {
  if (subject === "") return "";
  return subject.split("\n").reverse().map((attr) => {
    const eq = attr.indexOf("=");
    if (eq < 0) return attr;
    const value = attr.slice(eq + 1).replace(/[,+"\\<>;]/g, (c) => `\\${c}`)
      .replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, "\\ ");
    return `${attr.slice(0, eq)}=${value}`;
  }).join(",");
}

/** The identity of a verified peer certificate. */
export function peerIdentityOf(cert: X509Certificate): PeerIdentity {
  const sans = parseSubjectAltNames(cert.subjectAltName);
  return {
    uriSans: sans.uri,
    dnsSans: sans.dns,
    subject: rfc2253Subject(cert.subject),
    sha256: cert.fingerprint256.replaceAll(":", "").toLowerCase(),
  };
}

/** Every SAN of a certificate as one list (DNS, URI, IP, email), for `match_subject_alt_names`. */
export function allSubjectAltNames(cert: X509Certificate): string[] {
  const s = parseSubjectAltNames(cert.subjectAltName);
  return [...s.dns, ...s.uri, ...s.ip, ...s.email];
}

/**
 * Envoy's StringMatcher, as `match_subject_alt_names` uses it: case-sensitive; a regex (RE2) must match
 * the whole value.
 */
export function compileSanMatcher(m: SanMatcherConfig): (value: string) => boolean {
  const v = m.value;
  switch (m.kind) {
    case "exact":
      return (s) => s === v;
    case "prefix":
      return (s) => s.startsWith(v);
    case "suffix":
      return (s) => s.endsWith(v);
    case "contains":
      return (s) => s.includes(v);
    case "regex": {
      const re = compileRe2(`^(?:${v})$`);
      return (s) => re.test(s);
    }
  }
}
