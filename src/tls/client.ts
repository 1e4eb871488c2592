import tls from "node:tls";
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { compileRe2, ProxyError, type Re2, type StreamConn, type TimerId } from "../core/mod.ts";
import type { PemSource, SanMatcherConfig, TlsContextConfig } from "../config/mod.ts";
import type { Counter, Scope } from "../stats/mod.ts";
import { NodeSocketConn } from "./node_conn.ts";
import { parseSubjectAltNames, peerIdentity, type SubjectAltNames } from "./_peer.ts";
import type { TlsSessionInfo } from "./types.ts";

/** Why a handshake failed, as counted (`tls_fail_<reason>_total`). */
export type TlsFailureReason = "verify" | "san" | "protocol" | "timeout";

/** A TLS session to an upstream host, ready for the codec. */
export interface UpstreamTlsSession {
  readonly conn: StreamConn;
  readonly info: TlsSessionInfo;
  /**
   * The error that ended the session after its handshake, if one did. A TLS 1.3 server that refuses
   * our client certificate says so only after our side of the handshake is done, as an alert the first
   * read meets: this is where that reason is kept for the message the failed request gets.
   */
  closeReason(): string | undefined;
}

/** Counters of one cluster's handshakes (in its `upstream` scope, beside MOSN's connection stats). */
interface TlsClientStats {
  readonly handshakes: Counter;
  readonly failures: Counter;
  readonly byReason: Readonly<Record<TlsFailureReason, Counter>>;
  /** TLS errors that ended an established session (alerts, bad records). */
  readonly connectionErrors: Counter;
  readonly scope: Scope;
}

const FAILURE_COUNTER: Readonly<Record<TlsFailureReason, string>> = {
  verify: "tls_fail_verify_total",
  san: "tls_fail_san_total",
  protocol: "tls_fail_protocol_total",
  timeout: "tls_fail_timeout_total",
};

/**
 * The one ALPN id whose absence fails the connection: HTTP/2 over TLS is negotiated by ALPN only
 * (RFC 9113 §3.2), so a server that picks nothing would read our preface as HTTP/1 garbage.
 */
const ALPN_REQUIRED = "h2";

/** Alerts a server sends when it refuses (or wanted) our client certificate. */
const CLIENT_CERT_ALERTS = /CertificateRequired|BadCertificate|UnknownCA|CertificateUnknown|AccessDenied/;

/**
 * Upstream TLS origination for one cluster's `tls_context`, built once per cluster config: the secure
 * context (trust roots, client certificate, versions) is made here and shared by every connection.
 *
 * Each connection: SNI is `server_name`, else the host's name; an IP name sends no SNI and is verified
 * against the certificate's IP SANs (Go's rule; node:tls refuses an IP servername). The chain is checked
 * against `ca_cert` alone when set (it replaces the system roots, as Go's RootCAs), else the system
 * roots; then the name; then `match_subject_alt_names`, any of which must match a SAN. `insecure_skip`
 * turns off the chain and name checks, and only it does; explicit SAN matchers still apply. ALPN offers
 * the context's `alpn`, else the codec's id; an `h2` codec needs the server to pick `h2`.
 *
 * Runs on `node:tls` (rustls): `Deno.connectTls`/`startTls` cannot restrict trust to a CA (their
 * `caCerts` add to the default roots), skip verification, check SANs, set versions, send a client
 * certificate to an address other than the name verified, or report version and cipher.
 */
export class UpstreamTls {
  readonly config: TlsContextConfig;
  readonly #context: tls.SecureContext;
  readonly #sanMatchers: readonly ((value: string) => boolean)[];
  readonly #stats: TlsClientStats | undefined;
  readonly #versionCounters = new Map<string, Counter>();
  readonly #cipherCounters = new Map<string, Counter>();

  /**
   * @param stats the cluster's `upstream` scope: `tls_handshake_total`, `tls_handshake_failure_total`,
   *   `tls_fail_{verify,san,protocol,timeout}_total`, `tls_connection_error_total`,
   *   `tls_version_<v>_total`, `tls_cipher_<suite>_total` (versions and suites are the stack's few).
   * @throws {RangeError} when the PEM material cannot be used (unreadable, or a key that does not
   *   belong to the certificate): better at load than at every handshake.
   */
  constructor(config: TlsContextConfig, stats?: Scope) {
    this.config = config;
    checkPem(config);
    this.#context = tls.createSecureContext({
      ...(config.caCert === undefined ? {} : { ca: config.caCert.pem }),
      ...(config.certChain === undefined ? {} : { cert: config.certChain.pem }),
      ...(config.privateKey === undefined ? {} : { key: config.privateKey.pem }),
      ...(config.minVersion === undefined ? {} : { minVersion: config.minVersion }),
      ...(config.maxVersion === undefined ? {} : { maxVersion: config.maxVersion }),
    });
    this.#sanMatchers = config.matchSubjectAltNames.map(sanMatcher);
    if (stats !== undefined) {
      this.#stats = {
        handshakes: stats.counter("tls_handshake_total"),
        failures: stats.counter("tls_handshake_failure_total"),
        byReason: {
          verify: stats.counter(FAILURE_COUNTER.verify),
          san: stats.counter(FAILURE_COUNTER.san),
          protocol: stats.counter(FAILURE_COUNTER.protocol),
          timeout: stats.counter(FAILURE_COUNTER.timeout),
        },
        connectionErrors: stats.counter("tls_connection_error_total"),
        scope: stats,
      };
    }
  }

  /** The ALPN ids offered for a codec whose own id is `codecAlpn` (undefined: RPC, none). */
  offeredAlpn(codecAlpn: string | undefined): string[] {
    if (this.config.alpn.length > 0) return [...this.config.alpn];
    return codecAlpn === undefined ? [] : [codecAlpn];
  }

  /**
   * Dials `hostname:port` and runs the handshake, both within `timeoutMs`.
   * @param codecAlpn the upstream codec's ALPN id ("h2", "http/1.1"; undefined for RPC)
   * @param hostName the host's configured name (before DNS resolution): SNI and the name verified
   *   when `server_name` is unset
   * @throws {ProxyError} `connect_failure`, retryable (nothing was sent), saying why
   */
  async connect(
    hostname: string,
    port: number,
    timeoutMs: number,
    codecAlpn: string | undefined,
    hostName: string = hostname,
  ): Promise<UpstreamTlsSession> {
    const name = this.config.serverName || hostName;
    const ipName = isIP(name) !== 0;
    const started = performance.now();
    if (ipName && isIP(hostname) === 0) {
      // node:tls sends the dialled name as SNI whatever it is told; an IP name must send none.
      hostname = await this.#resolve(hostname, port, timeoutMs);
    }
    const remaining = Math.max(1, timeoutMs - (performance.now() - started));
    return this.#handshake(hostname, port, remaining, codecAlpn, name, ipName);
  }

  async #resolve(hostname: string, port: number, timeoutMs: number): Promise<string> {
    let timer: TimerId | undefined;
    try {
      const found = await Promise.race([
        lookup(hostname),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`resolving timed out after ${timeoutMs}ms`)), timeoutMs);
        }),
      ]);
      return found.address;
    } catch (e) {
      throw connectFailure(`connect to ${hostname}:${port} failed: ${errorText(e)}`, e);
    } finally {
      clearTimeout(timer);
    }
  }

  #handshake(
    hostname: string,
    port: number,
    timeoutMs: number,
    codecAlpn: string | undefined,
    name: string,
    ipName: boolean,
  ): Promise<UpstreamTlsSession> {
    const target = hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    const offered = this.offeredAlpn(codecAlpn);
    return new Promise((resolve, reject) => {
      let tcpUp = false;
      let settled = false;
      let closeReason: string | undefined;
      const socket = tls.connect({
        host: hostname,
        port,
        secureContext: this.#context,
        // Verification is ours (#verify), after the handshake and before a byte is sent: node's would
        // only tell us "not authorized", and name checks need the configured name, not the address.
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        ...(ipName ? {} : { servername: name }),
        ...(offered.length === 0 ? {} : { ALPNProtocols: offered }),
      });
      const fail = (message: string, reason: TlsFailureReason | undefined, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (reason !== undefined) this.#countFailure(reason);
        reject(connectFailure(message, cause));
      };
      const timer = setTimeout(() => {
        if (tcpUp) fail(`TLS handshake with ${target} timed out after ${timeoutMs}ms`, "timeout");
        else fail(`connect to ${target} timed out after ${timeoutMs}ms`, undefined);
      }, timeoutMs);
      socket.once("connect", () => tcpUp = true);
      socket.on("error", (e: Error & { code?: string }) => {
        if (settled) {
          // After the handshake: kept for the message of whatever request the closing session fails.
          closeReason ??= tlsErrorText(e);
          if (/^ERR_SSL|^ERR_TLS/.test(e.code ?? "")) this.#stats?.connectionErrors.inc();
          return;
        }
        if (!tcpUp) return fail(`connect to ${target} failed: ${errorText(e)}`, undefined, e);
        fail(`TLS handshake with ${target} failed: ${this.#explainHandshakeError(e)}`, "protocol", e);
      });
      socket.once("close", () => {
        if (!tcpUp) fail(`connect to ${target} failed: connection closed`, undefined);
        else fail(`TLS handshake with ${target} failed: the server closed the connection`, "protocol");
      });
      socket.once("secureConnect", () => {
        if (settled) return;
        const problem = this.#verify(socket, name, offered, codecAlpn);
        if (problem !== undefined) return fail(`TLS to ${target}: ${problem.message}`, problem.reason);
        settled = true;
        clearTimeout(timer);
        const info = this.#sessionInfo(socket, ipName ? undefined : name);
        this.#countSuccess(info);
        resolve({ conn: new NodeSocketConn(socket), info, closeReason: () => closeReason });
      });
    });
  }

  /** What is wrong with the server this session reached, or undefined when it is the one we want. */
  #verify(
    socket: tls.TLSSocket,
    name: string,
    offered: readonly string[],
    codecAlpn: string | undefined,
  ): { message: string; reason: TlsFailureReason } | undefined {
    const cert = socket.getPeerCertificate();
    if (!this.config.insecureSkip) {
      if (!socket.authorized) {
        return {
          message: `certificate verify failed: ${this.#explainUntrusted(socket, cert)}`,
          reason: "verify",
        };
      }
      const mismatch = tls.checkServerIdentity(name, cert);
      if (mismatch !== undefined) {
        return {
          message: `certificate verify failed: not valid for ${name} (${mismatch.message})`,
          reason: "verify",
        };
      }
    }
    if (this.#sanMatchers.length > 0) {
      const sans = parseSubjectAltNames(cert.subjectaltname);
      if (!matchesAnySan(sans, this.#sanMatchers)) {
        return {
          message: `certificate SANs [${cert.subjectaltname ?? ""}] match none of match_subject_alt_names`,
          reason: "san",
        };
      }
    }
    const picked = socket.alpnProtocol || undefined;
    if (codecAlpn !== undefined && picked !== undefined && picked !== codecAlpn) {
      return {
        message: `the server chose ALPN "${picked}" but the upstream protocol is ${codecAlpn}`,
        reason: "protocol",
      };
    }
    if (codecAlpn === ALPN_REQUIRED && picked === undefined) {
      return {
        message: `the server did not choose ALPN h2 (offered: ${offered.join(", ") || "none"})`,
        reason: "protocol",
      };
    }
    return undefined;
  }

  #explainUntrusted(socket: tls.TLSSocket, cert: tls.PeerCertificate): string {
    const now = Date.now();
    if (cert.valid_to !== undefined && Date.parse(cert.valid_to) < now) {
      return `certificate expired on ${cert.valid_to}`;
    }
    if (cert.valid_from !== undefined && Date.parse(cert.valid_from) > now) {
      return `certificate not valid before ${cert.valid_from}`;
    }
    const roots = this.config.caCert === undefined ? "the system roots" : "ca_cert";
    return `not signed by a CA in ${roots} (${String(socket.authorizationError ?? "unknown error")})`;
  }

  #explainHandshakeError(e: Error & { code?: string }): string {
    const text = tlsErrorText(e);
    if (!CLIENT_CERT_ALERTS.test(text)) return text;
    return this.config.certChain === undefined
      ? `${text}: the server wants a client certificate and the cluster's tls_context has no cert_chain`
      : `${text}: the server refused the client certificate`;
  }

  #sessionInfo(socket: tls.TLSSocket, sni: string | undefined): TlsSessionInfo {
    return {
      version: socket.getProtocol() ?? "",
      cipher: socket.getCipher()?.standardName ?? "",
      alpn: socket.alpnProtocol || undefined,
      sni,
      peer: this.config.insecureSkip ? undefined : peerIdentity(socket.getPeerCertificate()),
    };
  }

  #countSuccess(info: TlsSessionInfo): void {
    const s = this.#stats;
    if (s === undefined) return;
    s.handshakes.inc();
    if (info.version !== "") counterFor(this.#versionCounters, s.scope, "tls_version_", info.version).inc();
    if (info.cipher !== "") counterFor(this.#cipherCounters, s.scope, "tls_cipher_", info.cipher).inc();
  }

  #countFailure(reason: TlsFailureReason): void {
    const s = this.#stats;
    if (s === undefined) return;
    s.failures.inc();
    s.byReason[reason].inc();
  }
}

/**
 * A counter per negotiated version or suite. Bounded: rustls negotiates only TLS 1.2/1.3 and a handful
 * of AEAD suites, so a server cannot make up new names.
 */
function counterFor(cache: Map<string, Counter>, scope: Scope, prefix: string, value: string): Counter {
  let c = cache.get(value);
  if (c === undefined) {
    c = scope.counter(`${prefix}${value.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_total`);
    cache.set(value, c);
  }
  return c;
}

function sanMatcher(m: SanMatcherConfig): (value: string) => boolean {
  switch (m.kind) {
    case "exact":
      return (v) => v === m.value;
    case "prefix":
      return (v) => v.startsWith(m.value);
    case "suffix":
      return (v) => v.endsWith(m.value);
    case "contains":
      return (v) => v.includes(m.value);
    case "regex": {
      // Envoy's StringMatcher regex matches the whole value.
      const re: Re2 = compileRe2(`^(?:${m.value})$`);
      return (v) => re.test(v);
    }
  }
}

function matchesAnySan(sans: SubjectAltNames, matchers: readonly ((value: string) => boolean)[]): boolean {
  for (const list of [sans.uri, sans.dns, sans.ip, sans.email]) {
    for (const v of list) if (matchers.some((m) => m(v))) return true;
  }
  return false;
}

function checkPem(config: TlsContextConfig): void {
  const where = (what: string, src: PemSource) =>
    `${config.configPath}.${what}${src.path ? ` (${src.path})` : ""}`;
  const fail = (what: string, src: PemSource, e: unknown): never => {
    throw new RangeError(`Cannot use ${where(what, src)}: ${errorText(e)}`);
  };
  if (config.caCert !== undefined) {
    const blocks = pemBlocks(config.caCert.pem, "CERTIFICATE");
    if (blocks.length === 0) fail("ca_cert", config.caCert, "no PEM CERTIFICATE block");
    for (const b of blocks) {
      try {
        new X509Certificate(b);
      } catch (e) {
        fail("ca_cert", config.caCert, e);
      }
    }
  }
  const { certChain, privateKey } = config;
  if ((certChain === undefined) !== (privateKey === undefined)) {
    throw new RangeError(`Cannot use ${config.configPath}: cert_chain and private_key go together`);
  }
  if (certChain === undefined || privateKey === undefined) return;
  let leaf: X509Certificate | undefined;
  try {
    leaf = new X509Certificate(pemBlocks(certChain.pem, "CERTIFICATE")[0] ?? certChain.pem);
  } catch (e) {
    fail("cert_chain", certChain, e);
  }
  let key;
  try {
    key = createPrivateKey(privateKey.pem);
  } catch (e) {
    fail("private_key", privateKey, e);
  }
  if (!leaf!.checkPrivateKey(key!)) {
    throw new RangeError(`Cannot use ${where("private_key", privateKey)}: it is not the key of cert_chain`);
  }
}

function pemBlocks(pem: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, "g");
  return pem.match(re) ?? [];
}

function connectFailure(message: string, cause?: unknown): ProxyError {
  return new ProxyError("connect_failure", "upstream", message, {
    retryable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

function tlsErrorText(e: Error & { code?: string }): string {
  return e.message || e.code || String(e);
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    if (code === "ECONNREFUSED") return "connection refused";
    return e.message;
  }
  return String(e);
}
