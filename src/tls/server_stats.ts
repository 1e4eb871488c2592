import type { Counter, Scope } from "../stats/mod.ts";

/** Why a downstream TLS handshake failed: one counter each, all summed in `tls_handshake_failure_total`. */
export type TlsFailureReason =
  | "no_certificate"
  | "verify_failed"
  | "san_mismatch"
  | "protocol"
  | "handshake_timeout";

/**
 * A TLS listener's handshake counters, in the listener's `downstream` scope beside its connection
 * counters (Envoy's `ssl.*` listener stats, MOSN-style names). The only place they are created.
 * Version and cipher counters are made on first use; their names come from the TLS stack (a handful of
 * versions and AEAD suites), never from the peer.
 */
export class TlsServerStats {
  /** Handshakes that completed and passed every client-certificate check. */
  readonly handshakeOk: Counter;
  /** Every failed handshake, whatever the reason. */
  readonly handshakeFailure: Counter;
  readonly #byReason: Readonly<Record<TlsFailureReason, Counter>>;
  /** A server name the client sent matched no context: the first context served it. */
  readonly unknownSni: Counter;
  /** No server name at all (an IP address, or a client without SNI): the first context served it. */
  readonly noSni: Counter;
  /** Inspector listeners: connections whose first byte was not a TLS handshake, served in plaintext. */
  readonly plaintext: Counter;
  readonly #scope: Scope;
  readonly #byVersion = new Map<string, Counter>();
  readonly #byCipher = new Map<string, Counter>();

  constructor(scope: Scope) {
    this.#scope = scope;
    this.handshakeOk = scope.counter("tls_handshake_total");
    this.handshakeFailure = scope.counter("tls_handshake_failure_total");
    this.#byReason = {
      no_certificate: scope.counter("tls_fail_no_certificate_total"),
      verify_failed: scope.counter("tls_fail_verify_total"),
      san_mismatch: scope.counter("tls_fail_san_total"),
      protocol: scope.counter("tls_fail_protocol_total"),
      handshake_timeout: scope.counter("tls_handshake_timeout_total"),
    };
    this.unknownSni = scope.counter("tls_unknown_sni_total");
    this.noSni = scope.counter("tls_no_sni_total");
    this.plaintext = scope.counter("tls_plaintext_total");
  }

  failed(reason: TlsFailureReason): void {
    this.handshakeFailure.inc();
    this.#byReason[reason].inc();
  }

  /** A handshake completed with this version ("TLSv1.3") and cipher (IANA name). */
  succeeded(version: string, cipher: string): void {
    this.handshakeOk.inc();
    counterFor(this.#byVersion, this.#scope, "tls_version_", version).inc();
    counterFor(this.#byCipher, this.#scope, "tls_cipher_", cipher).inc();
  }
}

function counterFor(cache: Map<string, Counter>, scope: Scope, prefix: string, value: string): Counter {
  let c = cache.get(value);
  if (c === undefined) {
    // "TLSv1.3" → tls_version_TLSv1_3_total: dots and dashes would read as namespace separators.
    c = scope.counter(`${prefix}${value.replace(/[^A-Za-z0-9_]/g, "_")}_total`);
    cache.set(value, c);
  }
  return c;
}
