/**
 * Certificate expiry as stats: one `tls` scope per loaded certificate, with the seconds until it expires
 * computed when the stats are read (so the figure is never stale), for every PEM the running snapshot
 * holds — listener cert chains and client CAs, cluster client certificates and server CAs.
 * @module
 */
import { X509Certificate } from "node:crypto";
import type { ConfigSnapshot, PemSource, TlsContextConfig } from "../config/mod.ts";
import type { Labels, Scope, StatsRegistry } from "../stats/mod.ts";

/** The PEM fields of a TLS context that hold certificates (the private key has no expiry). */
const CERT_FIELDS = [["certChain", "cert_chain"], ["caCert", "ca_cert"]] as const;

/**
 * Certificates reported per PEM; the rest of a longer one are not (a CA bundle such as the system's
 * holds ~150, and each certificate is a stats scope).
 */
export const MAX_CERTS_PER_PEM = 256;

/** One certificate of the running snapshot and where it is used. */
export interface LoadedCertificate {
  /**
   * Where it is used: `listener` + `tls_context` (index in the filter chain's contexts) or `cluster`;
   * `field` (`cert_chain` / `ca_cert`), `index` (position in that PEM: 0 is the leaf of a chain) and
   * `subject`.
   */
  readonly labels: Labels;
  readonly subject: string;
  /** Expiry (notAfter), milliseconds since the epoch. */
  readonly notAfterMs: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** RFC 4514-ish one-line subject: node's "CN=server\nO=Acme" as "CN=server,O=Acme". */
function oneLineSubject(subject: string): string {
  return subject.split("\n").filter((p) => p.length > 0).join(",");
}

/**
 * The certificates in `pem`, in order; blocks that do not parse are skipped (config validation reports
 * them; this only measures what loaded). At most `MAX_CERTS_PER_PEM`.
 */
export function parseCertificates(pem: string): { subject: string; notAfterMs: number }[] {
  const out: { subject: string; notAfterMs: number }[] = [];
  for (const m of pem.matchAll(PEM_CERT)) {
    if (out.length >= MAX_CERTS_PER_PEM) break;
    try {
      const cert = new X509Certificate(m[0]);
      const notAfterMs = Date.parse(cert.validTo);
      if (Number.isFinite(notAfterMs)) out.push({ subject: oneLineSubject(cert.subject), notAfterMs });
    } catch {
      // not a certificate the stack can read: nothing to measure
    }
  }
  return out;
}

function contextCertificates(ctx: TlsContextConfig, where: Labels): LoadedCertificate[] {
  const out: LoadedCertificate[] = [];
  for (const [key, field] of CERT_FIELDS) {
    const source: PemSource | undefined = ctx[key];
    if (source === undefined || source.pem.length === 0) continue;
    parseCertificates(source.pem).forEach((c, i) => {
      out.push({
        labels: { ...where, field, index: String(i), subject: c.subject },
        subject: c.subject,
        notAfterMs: c.notAfterMs,
      });
    });
  }
  return out;
}

/** Every certificate `snapshot` loaded, labelled by where it is used. */
export function snapshotCertificates(snapshot: ConfigSnapshot): LoadedCertificate[] {
  const out: LoadedCertificate[] = [];
  for (const server of snapshot.servers) {
    for (const l of server.listeners) {
      l.tlsContexts.forEach((ctx, i) => {
        out.push(...contextCertificates(ctx, { listener: l.name, tls_context: String(i) }));
      });
    }
  }
  for (const c of snapshot.clusters) {
    if (c.tls !== undefined) out.push(...contextCertificates(c.tls, { cluster: c.name }));
  }
  return out;
}

/** The stats type of certificate scopes (and of the certificate reload counters). */
export const TLS_STATS_TYPE = "tls";

/**
 * Keeps one `tls` scope per certificate of the running snapshot, with two gauges:
 * `cert_expires_in_seconds` (negative once expired) and `cert_not_after_timestamp_seconds` (the
 * expiry as a Unix time, for Prometheus rules). Both are set when the stats are read. `update()` on
 * every applied snapshot drops the scopes of certificates no longer loaded.
 */
export class CertificateExpiryStats {
  readonly #registry: StatsRegistry;
  readonly #now: () => number;
  #current: { scope: Scope; notAfterMs: number }[] = [];

  /** @param now wall-clock milliseconds since the epoch (expiry is a calendar time, not a duration). */
  constructor(registry: StatsRegistry, now: () => number = Date.now) {
    this.#registry = registry;
    this.#now = now;
    registry.addCollector(() => this.#refresh());
  }

  /** Reports the certificates of `snapshot` from now on. */
  update(snapshot: ConfigSnapshot): void {
    const next = snapshotCertificates(snapshot).map((c) => ({
      scope: this.#registry.scope(TLS_STATS_TYPE, c.labels),
      notAfterMs: c.notAfterMs,
    }));
    const kept = new Set(next.map((c) => c.scope));
    for (const old of this.#current) if (!kept.has(old.scope)) this.#registry.removeScope(old.scope);
    this.#current = next;
    this.#refresh();
  }

  /** How many certificates are reported. */
  get size(): number {
    return this.#current.length;
  }

  #refresh(): void {
    const now = this.#now();
    for (const { scope, notAfterMs } of this.#current) {
      scope.gauge("cert_expires_in_seconds").set(Math.floor((notAfterMs - now) / 1000));
      scope.gauge("cert_not_after_timestamp_seconds").set(Math.floor(notAfterMs / 1000));
    }
  }
}
