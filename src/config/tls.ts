/**
 * MOSN's `tls_context` (pkg/config/v2/tls.go), checked the way pkg/mtls builds it (tls_context.go,
 * confighook.go, types.go), with what meshctl's TLS stack (node:tls on rustls under Deno) cannot do made an
 * error or a warning here rather than a surprise at the first handshake. Certificate material is read and
 * checked now, each file once per load, and what is valid goes into the snapshot as text.
 */
import { isAbsolute, resolve } from "node:path";
import {
  type CertificateInfo,
  certificateValidityProblem,
  describePemLabels,
  didYouMean,
  keyMatchesCertificate,
  parsePem,
  type PemBlock,
  type PrivateKeyInfo,
  readCertificates,
  readPrivateKey,
} from "../core/mod.ts";
import type { Loose, Reporter } from "./_semantics.ts";
import type { TlsContextDocument } from "./schema.ts";
import type { PemSource, SanMatcherConfig, TlsContextConfig, TlsVersion } from "./types.ts";

type TlsDoc = Loose<TlsContextDocument>;

/** Which end of a connection a context is for: a listener terminates TLS, a cluster originates it. */
export type TlsSide = "listener" | "cluster";

/** What reading certificate material needs, shared by every context of one load. */
export interface TlsEnv {
  /** Relative PEM paths resolve against this (the config file's directory). */
  readonly configDir: string;
  readonly maxPemFileBytes: number;
  /** Certificates are checked for validity at this time. */
  readonly nowMs: number;
  /** Each file is read once per load (contexts often share a CA), by absolute path. */
  readonly files: Map<string, string | { readonly problem: string }>;
}

/** A context's outcome: off (status not true: plaintext), invalid (errors reported), or on. */
export type TlsOutcome =
  | { readonly kind: "off" }
  | { readonly kind: "invalid" }
  | { readonly kind: "on"; readonly config: TlsContextConfig };

/** MOSN's version names (pkg/mtls/types.go) → the rank they have, TLS 1.x as 10 + x; tls_auto: none. */
const VERSIONS: Readonly<Record<string, number | undefined>> = {
  tls_auto: undefined,
  tlsv1_0: 10,
  tlsv1_1: 11,
  tlsv1_2: 12,
  tlsv1_3: 13,
};

/** MOSN's curve names (pkg/mtls/types.go allCurves); the TLS stack negotiates the first three. */
const NEGOTIATED_CURVES = ["x25519", "p256", "p384"];

/** MOSN's ALPN names (pkg/mtls/types.go). "sofa" only selects a context: protocols are still sniffed. */
const ALPN_PROTOCOLS = ["h2", "http/1.1", "sofa"];

/** MOSN's cipher names (pkg/mtls/ciphers.go), to tell a typo from a suite meshctl cannot restrict to. */
const MOSN_CIPHERS = [
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-WITH-CHACHA20-POLY1305",
  "ECDHE-RSA-WITH-CHACHA20-POLY1305",
  "ECDHE-RSA-AES256-CBC-SHA",
  "ECDHE-RSA-AES128-CBC-SHA",
  "ECDHE-ECDSA-AES256-CBC-SHA",
  "ECDHE-ECDSA-AES128-CBC-SHA",
  "RSA-AES256-CBC-SHA",
  "RSA-AES128-CBC-SHA",
  "ECDHE-RSA-3DES-EDE-CBC-SHA",
  "RSA-3DES-EDE-CBC-SHA",
  "AES256-GCM-SHA384",
  "AES128-GCM-SHA256",
];

const SAN_KINDS = ["exact", "prefix", "suffix", "contains", "safe_regex"] as const;

/**
 * Checks one tls_context at `path` (e.g. `servers[0].listeners[1].filter_chains[0].tls_context_set[2]`):
 * every error and warning reported, the validated config returned when it is enabled and sound.
 */
export function checkTlsContext(
  d: TlsDoc,
  path: string,
  side: TlsSide,
  env: TlsEnv,
  reporter: Reporter,
): TlsOutcome {
  let errors = 0;
  const error = (p: string, message: string) => {
    errors++;
    reporter.error(p, message);
  };
  const warn = reporter.warn;
  if (d.status !== true) {
    // MOSN's NewProvider returns nothing for a context without status: everything else in it is dead.
    const set = Object.entries(d).filter(([k, v]) => k !== "status" && !isZero(v)).map(([k]) => k);
    if (set.length > 0) {
      warn(
        d.status === undefined ? path : `${path}.status`,
        `this TLS context is off (status is not true), so ${set.join(", ")} ${
          set.length === 1 ? "is" : "are"
        } unused and the ${side} is plaintext; MOSN reads a context only with status: true`,
      );
    }
    return { kind: "off" };
  }
  if (d.type) {
    error(
      `${path}.type`,
      `type "${d.type}" is not supported: it names a MOSN TLS extension hook (a Go ConfigHooksFactory); ` +
        "meshctl has only the default, certificates from ca_cert, cert_chain and private_key",
    );
  }
  const sds = d.sds_source !== undefined;
  if (sds) {
    error(`${path}.sds_source`, "sds_source is not supported yet: certificates from SDS arrive with xDS");
  }
  const { min, max } = checkVersions(d, path, error, warn);
  checkCurves(d.ecdh_curves, `${path}.ecdh_curves`, error, warn);
  checkCiphers(d.cipher_suites, `${path}.cipher_suites`, error);
  const alpn = checkAlpn(d.alpn, `${path}.alpn`, error);
  const read = (field: "ca_cert" | "cert_chain" | "private_key") =>
    d[field] ? readMaterial(d[field]!, field, `${path}.${field}`, env, error) : undefined;
  const caText = read("ca_cert");
  const chainText = read("cert_chain");
  const keyText = read("private_key");
  const ca = caText && checkCa(caText, `${path}.ca_cert`, env.nowMs, error, warn);
  const chain = chainText && checkChain(chainText, `${path}.cert_chain`, env.nowMs, error);
  const key = keyText && checkKey(keyText, `${path}.private_key`, error);
  if (chain && key && !keyMatchesCertificate(chain.leaf, key.info)) {
    error(
      `${path}.private_key`,
      `private_key ${keyText!.where} does not match the certificate in cert_chain (${chain.leaf.subject}): ` +
        "they are not a key pair",
    );
  }
  const matchers = checkSanMatchers(d, path, error);
  if (side === "listener") {
    checkListenerRules(d, path, sds, matchers.length > 0, error, warn);
  } else {
    checkClusterRules(d, path, matchers.length > 0, error, warn);
  }
  if (errors > 0) return { kind: "invalid" };
  return {
    kind: "on",
    config: {
      serverName: d.server_name || undefined,
      caCert: ca,
      certChain: chain?.source,
      privateKey: key?.source,
      verifyClient: d.verify_client === true,
      requireClientCert: d.require_client_cert === true,
      insecureSkip: d.insecure_skip === true,
      minVersion: min,
      maxVersion: max,
      alpn,
      matchSubjectAltNames: matchers,
      configPath: path,
    },
  };
}

type Report = (path: string, message: string) => void;

/**
 * Listener (MOSN's server side): a certificate is required (MOSN: "no certificate config"); client auth
 * is MOSN's GetClientAuth, so require_client_cert alone asks for a certificate and verifies nothing.
 */
function checkListenerRules(
  d: TlsDoc,
  path: string,
  sds: boolean,
  hasMatchers: boolean,
  error: Report,
  warn: Report,
): void {
  if (!sds) {
    for (const field of ["cert_chain", "private_key"] as const) {
      if (!d[field]) {
        error(
          `${path}.${field}`,
          `missing ${field}: a listener's TLS context needs cert_chain and private_key`,
        );
      }
    }
    if (d.verify_client && !d.ca_cert) {
      error(
        `${path}.verify_client`,
        "verify_client needs ca_cert: the CA certificates that client certificates must chain to",
      );
    }
  }
  if (d.require_client_cert && !d.verify_client) {
    warn(
      `${path}.require_client_cert`,
      "client certificates will not be verified: require_client_cert without verify_client asks for one " +
        "and accepts any, or none (Go's RequestClientCert, as MOSN); add verify_client: true and ca_cert " +
        "to verify them",
    );
  }
  if (d.ca_cert && !d.verify_client && !d.require_client_cert) {
    warn(
      `${path}.ca_cert`,
      "ca_cert is unused: without verify_client the listener asks for no client certificate",
    );
  }
  if (hasMatchers && !d.verify_client) {
    error(
      `${path}.match_subject_alt_names`,
      "match_subject_alt_names needs verify_client: true: only a verified client certificate's SANs can " +
        "be matched",
    );
  }
  if (d.insecure_skip) {
    warn(
      `${path}.insecure_skip`,
      "insecure_skip has no effect on a listener: it turns off a cluster's verification of the server " +
        "certificate",
    );
  }
}

/** Cluster (MOSN's client side): a client certificate is optional but whole; verification is on by default. */
function checkClusterRules(d: TlsDoc, path: string, hasMatchers: boolean, error: Report, warn: Report): void {
  if (!d.cert_chain !== !d.private_key) {
    const missing = d.cert_chain ? "private_key" : "cert_chain";
    error(
      `${path}.${missing}`,
      `missing ${missing}: a client certificate needs both cert_chain and private_key (or neither)`,
    );
  }
  if (d.insecure_skip && d.ca_cert) {
    warn(
      `${path}.ca_cert`,
      "ca_cert is ignored: insecure_skip turns verification of the server certificate off",
    );
  }
  if (d.insecure_skip && hasMatchers) {
    error(
      `${path}.match_subject_alt_names`,
      "match_subject_alt_names cannot be checked with insecure_skip: the SANs of a certificate nobody " +
        "verified prove nothing",
    );
  }
  for (const field of ["verify_client", "require_client_cert"] as const) {
    if (d[field]) {
      warn(
        `${path}.${field}`,
        `${field} has no effect on a cluster: client certificates are a listener's setting (a cluster ` +
          "sends its cert_chain when the server asks for one)",
      );
    }
  }
}

/**
 * min_version / max_version in MOSN's names. The TLS stack offers TLS 1.2 and 1.3 only: a minimum of 1.0
 * or 1.1 is 1.2 (a warning), a maximum below 1.2 leaves nothing to negotiate (an error).
 */
function checkVersions(
  d: TlsDoc,
  path: string,
  error: Report,
  warn: Report,
): { min: TlsVersion | undefined; max: TlsVersion | undefined } {
  const parse = (field: "min_version" | "max_version"): number | undefined | null => {
    const v = d[field];
    if (!v) return undefined; // Go's zero value: not set
    const name = v.toLowerCase();
    if (!(name in VERSIONS)) {
      const hint = didYouMean(name, Object.keys(VERSIONS));
      error(
        `${path}.${field}`,
        `unknown TLS version "${v}"; ${
          hint ? `did you mean "${hint}"?` : `expected one of ${Object.keys(VERSIONS).join(", ")} (any case)`
        }`,
      );
      return null;
    }
    return VERSIONS[name];
  };
  const minRank = parse("min_version");
  const maxRank = parse("max_version");
  if (minRank != null && minRank < 12) {
    warn(
      `${path}.min_version`,
      `min_version "${d.min_version}" means TLS 1.2: the TLS stack offers TLS 1.2 and 1.3 only`,
    );
  }
  if (maxRank != null && maxRank < 12) {
    error(
      `${path}.max_version`,
      `max_version "${d.max_version}" leaves no version to negotiate: the TLS stack offers TLS 1.2 and 1.3 ` +
        "only",
    );
    return { min: undefined, max: undefined };
  }
  const effectiveMin = minRank == null ? undefined : Math.max(minRank, 12);
  if (effectiveMin !== undefined && maxRank != null && effectiveMin > maxRank) {
    error(`${path}.max_version`, `max_version "${d.max_version}" is below min_version "${d.min_version}"`);
  }
  return { min: versionName(effectiveMin), max: versionName(maxRank ?? undefined) };
}

function versionName(rank: number | undefined): TlsVersion | undefined {
  return rank === 12 ? "TLSv1.2" : rank === 13 ? "TLSv1.3" : undefined;
}

/** Splits MOSN's comma lists (it does not trim; meshctl does, and refuses empty entries). */
function commaList(text: string, path: string, error: Report): string[] {
  const items = text.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) {
    error(path, `"${text}" has an empty entry; expected names separated by commas`);
    return items.filter((s) => s !== "");
  }
  return items;
}

/**
 * ecdh_curves: MOSN restricts the key-exchange groups to these; the TLS stack always offers X25519, P-256
 * and P-384. Those three load with a warning (MOSN's protocol-auto sample sets "P256"); P-521, which the
 * stack cannot negotiate at all, and unknown names are errors.
 */
function checkCurves(text: string | undefined, path: string, error: Report, warn: Report): void {
  if (!text) return;
  let bad = false;
  for (const curve of commaList(text, path, error)) {
    const name = curve.toLowerCase();
    if (NEGOTIATED_CURVES.includes(name)) continue;
    bad = true;
    error(
      path,
      name === "p521"
        ? `"${curve}": the TLS stack cannot negotiate P-521 (it offers X25519, P-256 and P-384)`
        : `unknown curve "${curve}"; expected x25519, p256 or p384 (MOSN's names, any case)`,
    );
  }
  if (!bad) {
    warn(
      path,
      `ecdh_curves "${text}" cannot be honoured: the TLS stack negotiates X25519, P-256 and P-384 and ` +
        "cannot be restricted (accepted so MOSN configs load)",
    );
  }
}

/** cipher_suites: the TLS stack's suites cannot be restricted, so any list is refused. */
function checkCiphers(text: string | undefined, path: string, error: Report): void {
  if (!text) return;
  const unknown = text.split(":").map((s) => s.trim()).filter((s) => s !== "" && !MOSN_CIPHERS.includes(s));
  const also = unknown.length === 0
    ? ""
    : `; ${unknown.map((s) => `"${s}"`).join(", ")} ${
      unknown.length === 1 ? "is not a cipher name" : "are not cipher names"
    } MOSN knows either (pkg/mtls/ciphers.go)`;
  error(
    path,
    "cipher_suites cannot be honoured: the TLS stack (rustls) cannot restrict cipher suites; it offers " +
      "only TLS 1.3 suites and TLS 1.2 ECDHE suites with AES-GCM or ChaCha20-Poly1305 (remove the field)" +
      also,
  );
}

/** alpn: MOSN's comma list; MOSN drops unknown names silently, meshctl refuses them (and duplicates). */
function checkAlpn(text: string | undefined, path: string, error: Report): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const item of commaList(text, path, error)) {
    const name = item.toLowerCase();
    if (!ALPN_PROTOCOLS.includes(name)) {
      error(path, `unknown ALPN protocol "${item}"; expected ${ALPN_PROTOCOLS.join(", ")} (MOSN's names)`);
    } else if (out.includes(name)) {
      error(path, `ALPN protocol "${item}" is listed twice`);
    } else {
      out.push(name);
    }
  }
  return out;
}

/** match_subject_alt_names: Envoy StringMatchers, one kind each, none empty (it would match any SAN). */
function checkSanMatchers(d: TlsDoc, path: string, error: Report): SanMatcherConfig[] {
  const out: SanMatcherConfig[] = [];
  d.match_subject_alt_names?.forEach((m, i) => {
    if (!m) return;
    const p = `${path}.match_subject_alt_names[${i}]`;
    const kinds = SAN_KINDS.filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) {
      error(
        p,
        kinds.length === 0
          ? "a matcher needs one of exact, prefix, suffix, contains or safe_regex"
          : `a matcher takes only one of exact, prefix, suffix, contains or safe_regex (got ${
            kinds.join(", ")
          })`,
      );
      return;
    }
    const kind = kinds[0]!;
    if (kind === "safe_regex") {
      const regex = m.safe_regex?.regex;
      if (regex === "") error(`${p}.safe_regex.regex`, "regex must not be empty");
      else if (regex !== undefined) out.push({ kind: "regex", value: regex });
      return;
    }
    const value = m[kind] as string;
    if (value === "") error(`${p}.${kind}`, `${kind} must not be empty`);
    else out.push({ kind, value });
  });
  return out;
}

/** PEM text as configured, with where it came from for messages. */
interface Material {
  readonly path: string | undefined;
  /** `"../certs/ca.pem" (/abs/certs/ca.pem)`, `"/abs/ca.pem"` or `(inline PEM)`. */
  readonly where: string;
  readonly blocks: readonly PemBlock[];
}

/** Inline PEM (MOSN: the value contains "-----BEGIN") or a file, read and split into PEM blocks. */
function readMaterial(
  value: string,
  field: string,
  path: string,
  env: TlsEnv,
  error: Report,
): Material | undefined {
  let text: string;
  let file: string | undefined;
  let where: string;
  if (value.includes("-----BEGIN")) {
    text = value;
    where = "(inline PEM)";
  } else {
    file = resolve(env.configDir, value);
    where = isAbsolute(value) ? `"${value}"` : `"${value}" (${file})`;
    let read = env.files.get(file);
    if (read === undefined) {
      read = readPemFile(file, env.maxPemFileBytes);
      env.files.set(file, read);
    }
    if (typeof read !== "string") {
      error(path, `${field} ${where}: ${read.problem}`);
      return undefined;
    }
    text = read;
  }
  const blocks = parsePem(text);
  if (typeof blocks === "string") {
    error(path, `${field} ${where}: ${blocks}`);
    return undefined;
  }
  if (blocks.length === 0) {
    error(
      path,
      `${field} ${where} holds no PEM data (no "-----BEGIN" line${
        file ? "; a DER file needs converting, e.g. openssl x509 -inform der" : ""
      })`,
    );
    return undefined;
  }
  return { path: file, where, blocks };
}

function readPemFile(file: string, maxBytes: number): string | { problem: string } {
  try {
    // stat first: a FIFO or device must not be opened (it could block), a huge file not read.
    const info = Deno.statSync(file);
    if (info.isDirectory) return { problem: "is a directory" };
    if (!info.isFile) return { problem: "is not a regular file" };
    if (info.size > maxBytes) {
      return { problem: `is ${info.size} bytes, more than limits.max_pem_file_bytes (${maxBytes})` };
    }
    const bytes = Deno.readFileSync(file);
    if (bytes.length > maxBytes) {
      return { problem: `is more than limits.max_pem_file_bytes (${maxBytes}) bytes` };
    }
    return new TextDecoder().decode(bytes);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { problem: "no such file" };
    if (e instanceof Deno.errors.PermissionDenied) return { problem: "permission denied" };
    if (e instanceof Deno.errors.NotCapable) return { problem: "meshctl may not read it (--allow-read)" };
    return { problem: e instanceof Error ? e.message : String(e) };
  }
}

function certificateBlocks(m: Material): string {
  return m.blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.text).join("");
}

function nameOf(cert: CertificateInfo, index: number, count: number): string {
  return count === 1
    ? `the certificate (${cert.subject})`
    : `certificate ${index + 1} of ${count} (${cert.subject})`;
}

function certificatesOf(
  m: Material,
  field: string,
  path: string,
  error: Report,
): CertificateInfo[] | undefined {
  const certs = readCertificates(m.blocks);
  if (typeof certs === "string") {
    error(path, `${field} ${m.where}: ${certs}`);
    return undefined;
  }
  if (certs.length === 0) {
    error(path, `${field} ${m.where} holds no certificate (it holds: ${describePemLabels(m.blocks)})`);
    return undefined;
  }
  return certs;
}

/** cert_chain: leaf first, then intermediates; every one must be valid now. */
function checkChain(
  m: Material,
  path: string,
  nowMs: number,
  error: Report,
): { source: PemSource; leaf: CertificateInfo } | undefined {
  const certs = certificatesOf(m, "cert_chain", path, error);
  if (certs === undefined) return undefined;
  let ok = true;
  certs.forEach((cert, i) => {
    const problem = certificateValidityProblem(cert, nowMs);
    if (problem === undefined) return;
    ok = false;
    error(path, `cert_chain ${m.where}: ${nameOf(cert, i, certs.length)} ${problem}`);
  });
  if (!ok) return undefined;
  return { source: { path: m.path, pem: certificateBlocks(m) }, leaf: certs[0]! };
}

/**
 * ca_cert: at least one CA certificate valid now. A bundle may hold expired CAs besides valid ones (system
 * bundles do): those are a warning, since certificates they signed will not verify.
 */
function checkCa(
  m: Material,
  path: string,
  nowMs: number,
  error: Report,
  warn: Report,
): PemSource | undefined {
  const certs = certificatesOf(m, "ca_cert", path, error);
  if (certs === undefined) return undefined;
  const cas = certs.map((cert, i) => ({ cert, i })).filter(({ cert }) => cert.isCa);
  if (cas.length === 0) {
    error(
      path,
      `ca_cert ${m.where} holds no CA certificate (${
        certs.length === 1 ? "its certificate has" : `none of its ${certs.length} certificates has`
      } basicConstraints CA:TRUE)`,
    );
    return undefined;
  }
  const problems = cas.map(({ cert, i }) => ({ cert, i, problem: certificateValidityProblem(cert, nowMs) }));
  const usable = problems.filter((p) => p.problem === undefined);
  if (usable.length === 0) {
    const first = problems[0]!;
    error(
      path,
      `ca_cert ${m.where}: ${
        cas.length === 1 ? nameOf(first.cert, first.i, certs.length) : "every CA certificate in it"
      } ${cas.length === 1 ? first.problem : `is expired or not yet valid (first: ${first.problem})`}`,
    );
    return undefined;
  }
  for (const p of problems) {
    if (p.problem === undefined) continue;
    warn(
      path,
      `ca_cert ${m.where}: ${nameOf(p.cert, p.i, certs.length)} ${p.problem}; certificates it signed will ` +
        "not verify",
    );
  }
  return { path: m.path, pem: certificateBlocks(m) };
}

function checkKey(
  m: Material,
  path: string,
  error: Report,
): { source: PemSource; info: PrivateKeyInfo } | undefined {
  const key = readPrivateKey(m.blocks);
  if (typeof key === "string") {
    error(path, `private_key ${m.where}: ${key}`);
    return undefined;
  }
  return { source: { path: m.path, pem: key.block.text }, info: key };
}

/** Go's zero values, which MOSN's decoder treats as unset. */
function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === "" || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}
