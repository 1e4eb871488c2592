import * as tls from "node:tls";
import type { Socket } from "node:net";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Logger } from "../core/mod.ts";
import type { TlsContextConfig } from "../config/mod.ts";
import { allSubjectAltNames, compileSanMatcher, parseSubjectAltNames, peerIdentityOf } from "./peer.ts";
import type { TlsFailureReason, TlsServerStats } from "./server_stats.ts";
import type { PeerIdentity, TlsSessionInfo } from "./types.ts";

/**
 * What a context asks of client certificates, MOSN's GetClientAuth over Go's ClientAuthType:
 * verify_client + require_client_cert = require and verify; verify_client = verify if given;
 * require_client_cert alone = request (Go's RequestClientCert: asked for, never verified).
 */
export type ClientAuth = "none" | "request" | "verify_if_given" | "require_and_verify";

export function clientAuthOf(c: TlsContextConfig): ClientAuth {
  if (c.verifyClient && c.requireClientCert) return "require_and_verify";
  if (c.verifyClient) return "verify_if_given";
  if (c.requireClientCert) return "request";
  return "none";
}

/** A handshake that completed and passed the context's client-certificate checks. */
export interface TlsAccepted {
  readonly socket: tls.TLSSocket;
  readonly info: TlsSessionInfo;
}

export interface TlsServerOptions {
  /** The listener's contexts in order; the first serves clients whose server name matches none. */
  readonly contexts: readonly TlsContextConfig[];
  /** ALPN offered by contexts that set no `alpn` (derived from the listener's downstream protocols). */
  readonly defaultAlpn: readonly string[];
  /** A handshake must complete within this; 0: no limit. */
  readonly handshakeTimeoutMs: number;
  readonly stats: TlsServerStats;
  readonly logger?: Logger;
}

/** One context, prepared once per config snapshot. */
interface PreparedContext {
  readonly config: TlsContextConfig;
  readonly secureContext: tls.SecureContext;
  /** Names it answers to in SNI (MOSN's matches): server_name, the certificate's CN and DNS SANs. */
  readonly names: ReadonlySet<string>;
  /** ALPN protocols offered, in preference order. */
  readonly alpn: readonly string[];
  readonly auth: ClientAuth;
  readonly sanMatchers: readonly ((san: string) => boolean)[];
}

/**
 * Downstream TLS termination for one listener and one config snapshot: the listener's contexts are
 * turned into node SecureContexts once, and `accept` runs the server side of a handshake on an accepted
 * socket. A reload builds a new TlsServer; handshakes already running finish on the old one.
 *
 * Client authentication is decided per socket before the client's server name is known (node's
 * TLSSocket takes `requestCert`/`rejectUnauthorized` at creation), so the listener asks for a
 * certificate when any context wants one, refuses a missing one inside the handshake only when every
 * context requires one, and applies the chosen context's own rule once the handshake is done.
 */
export class TlsServer {
  readonly #contexts: readonly PreparedContext[];
  readonly #requestCert: boolean;
  readonly #refuseMissingCert: boolean;
  readonly #negotiatesAlpn: boolean;
  readonly #timeoutMs: number;
  readonly #stats: TlsServerStats;
  readonly #logger: Logger | undefined;

  /** @throws {RangeError} naming the context (its config path) whose PEM material node:tls refuses */
  constructor(options: TlsServerOptions) {
    if (options.contexts.length === 0) throw new RangeError("Cannot terminate TLS without a tls_context");
    this.#contexts = options.contexts.map((c) => prepare(c, options.defaultAlpn));
    this.#requestCert = this.#contexts.some((c) => c.auth !== "none");
    this.#refuseMissingCert = this.#contexts.every((c) => c.auth === "require_and_verify");
    this.#negotiatesAlpn = this.#contexts.some((c) => c.alpn.length > 0);
    this.#timeoutMs = options.handshakeTimeoutMs;
    this.#stats = options.stats;
    this.#logger = options.logger;
  }

  get stats(): TlsServerStats {
    return this.#stats;
  }

  /** The index of the context that serves `serverName` (MOSN's MatchedServerName; no match: 0). */
  contextFor(serverName: string): number {
    if (serverName === "") return 0;
    for (let i = 0; i < this.#contexts.length; i++) {
      if (matchesServerName(this.#contexts[i]!.names, serverName)) return i;
    }
    return -1;
  }

  /**
   * Runs the handshake on `socket` (bytes it already buffered are fed to TLS first). Resolves with the
   * TLS socket once the handshake and the client-certificate checks passed; on any failure the socket is
   * destroyed, the reason counted, and the promise resolves with undefined. Never rejects.
   */
  accept(socket: Socket): Promise<TlsAccepted | undefined> {
    const { promise, resolve } = Promise.withResolvers<TlsAccepted | undefined>();
    let chosen = this.#contexts[0]!;
    let sni: string | undefined;
    let alpnRefused = false;
    let settled = false;
    const settle = (failure: TlsFailureReason | undefined, why?: string): void => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      t.off("secure", onSecure);
      t.off("error", onError);
      t.off("close", onClose);
      if (failure === undefined) return;
      this.#stats.failed(failure);
      this.#logger?.debug("TLS handshake failed", {
        reason: failure,
        detail: why,
        remote: `${socket.remoteAddress}:${socket.remotePort}`,
      });
      t.destroy();
      socket.destroy();
      resolve(undefined);
    };
    const t = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: chosen.secureContext,
      requestCert: this.#requestCert,
      rejectUnauthorized: this.#refuseMissingCert,
      SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
        const i = this.contextFor(name);
        if (name === "") this.#stats.noSni.inc();
        else {
          sni = name;
          if (i < 0) this.#stats.unknownSni.inc();
        }
        chosen = this.#contexts[i < 0 ? 0 : i]!;
        cb(null, chosen.secureContext);
      },
      // Offered per context: node:tls takes a fixed list before SNI, a callback after it.
      ...(this.#negotiatesAlpn
        ? {
          ALPNCallback: ({ protocols }: { protocols: string[] }) => {
            const picked = chosen.alpn.find((p) => protocols.includes(p));
            // No protocol in common: the stack can only refuse the handshake (RFC 7301's
            // no_application_protocol), where MOSN's Go TLS would carry on without ALPN.
            if (picked === undefined) alpnRefused = true;
            return picked;
          },
        }
        : {}),
    } as tls.TLSSocketOptions);
    const onSecure = () => {
      const checked = checkClientCertificate(t, chosen);
      if (typeof checked === "string") return settle(checked, "client certificate");
      settle(undefined);
      const version = t.getProtocol() ?? "unknown";
      const cipher = t.getCipher()?.standardName ?? "unknown";
      this.#stats.succeeded(version, cipher);
      resolve({
        socket: t,
        info: { version, cipher, alpn: t.alpnProtocol || undefined, sni, peer: checked.peer },
      });
    };
    const onError = (e: Error & { code?: string }) => {
      settle(
        e.code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE" ? "no_certificate" : "protocol",
        e.code ?? e.message,
      );
    };
    const onClose = () =>
      settle("protocol", alpnRefused ? "no common ALPN protocol" : "closed during handshake");
    t.on("secure", onSecure);
    t.on("error", onError);
    t.on("close", onClose);
    socket.on("error", () => {}); // the TLS socket reports it; an unheard 'error' would be thrown
    const timer = this.#timeoutMs > 0
      ? setTimeout(() => settle("handshake_timeout", `${this.#timeoutMs} ms`), this.#timeoutMs)
      : undefined;
    return promise;
  }
}

/**
 * The chosen context's rule applied to what the client presented: the verified identity (or none), or
 * the reason to fail.
 */
function checkClientCertificate(
  t: tls.TLSSocket,
  ctx: PreparedContext,
): { peer: PeerIdentity | undefined } | TlsFailureReason {
  if (ctx.auth === "none" || ctx.auth === "request") return { peer: undefined };
  const cert = t.getPeerX509Certificate();
  if (cert === undefined) return ctx.auth === "require_and_verify" ? "no_certificate" : { peer: undefined };
  if (verifyErrorOf(t) !== "") return "verify_failed";
  if (ctx.sanMatchers.length > 0) {
    const sans = allSubjectAltNames(cert);
    if (!sans.some((san) => ctx.sanMatchers.some((m) => m(san)))) return "san_mismatch";
  }
  return { peer: peerIdentityOf(cert) };
}

/**
 * The chain verification result node:tls keeps for a server socket ("" when the certificate chains to
 * the context's CA and is valid now, else an OpenSSL-style code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE).
 * Only node's tls.Server copies it into `authorized`/`authorizationError`; a TLSSocket made around an
 * accepted socket has just its handle's `verifyError()`, so it is read there. If this Deno lacks it,
 * every certificate counts as unverified: fail closed.
 */
function verifyErrorOf(t: tls.TLSSocket): string {
  const handle = (t as unknown as { _handle?: { verifyError?: () => string | null | undefined } })._handle;
  if (typeof handle?.verifyError !== "function") return "VERIFY_RESULT_UNAVAILABLE";
  return handle.verifyError() ?? "";
}

function prepare(c: TlsContextConfig, defaultAlpn: readonly string[]): PreparedContext {
  if (c.certChain === undefined || c.privateKey === undefined) {
    throw new RangeError(`Cannot serve TLS with ${c.configPath}: it needs cert_chain and private_key`);
  }
  let secureContext: tls.SecureContext;
  let leaf: X509Certificate;
  let matches: boolean;
  try {
    secureContext = tls.createSecureContext({
      cert: c.certChain.pem,
      key: c.privateKey.pem,
      ...(c.caCert === undefined ? {} : { ca: c.caCert.pem }),
      ...(c.minVersion === undefined ? {} : { minVersion: c.minVersion }),
      ...(c.maxVersion === undefined ? {} : { maxVersion: c.maxVersion }),
    });
    leaf = new X509Certificate(c.certChain.pem);
    matches = leaf.checkPrivateKey(createPrivateKey(c.privateKey.pem));
  } catch (e) {
    throw new RangeError(`Cannot build TLS context ${c.configPath}: ${(e as Error).message}`);
  }
  // node:tls would take the pair and fail every handshake; refusing the snapshot keeps the old one serving.
  if (!matches) {
    throw new RangeError(`Cannot build TLS context ${c.configPath}: private_key does not match cert_chain`);
  }
  const names = new Set<string>();
  if (c.serverName !== undefined && c.serverName !== "") names.add(normalizeName(c.serverName));
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1];
  if (cn !== undefined && cn !== "") names.add(normalizeName(cn));
  for (const dns of parseSubjectAltNames(leaf.subjectAltName).dns) names.add(normalizeName(dns));
  return {
    config: c,
    secureContext,
    names,
    alpn: c.alpn.length > 0 ? c.alpn : defaultAlpn,
    auth: clientAuthOf(c),
    sanMatchers: c.matchSubjectAltNames.map(compileSanMatcher),
  };
}

function normalizeName(name: string): string {
  let n = name.toLowerCase();
  while (n.endsWith(".")) n = n.slice(0, -1);
  return n;
}

/**
 * MOSN's MatchedServerName: the name (lowercased, trailing dots dropped) itself, then with its leading
 * labels replaced by one `*` each in turn: www.example.com tries *.example.com, then *.com.
 */
export function matchesServerName(names: ReadonlySet<string>, serverName: string): boolean {
  const name = normalizeName(serverName);
  if (name === "") return false;
  if (names.has(name)) return true;
  const labels = name.split(".");
  for (let i = 1; i < labels.length; i++) {
    if (names.has(`*.${labels.slice(i).join(".")}`)) return true;
  }
  return false;
}

/**
 * ALPN a listener offers when its context sets none: the ALPN ids of its downstream codecs (the codec
 * contract's `alpn`; RPC codecs have none), h2 first, as Envoy and Go prefer it.
 */
export function alpnForCodecs(codecs: readonly { readonly alpn?: string }[]): string[] {
  const ids = [...new Set(codecs.flatMap((c) => c.alpn === undefined ? [] : [c.alpn]))];
  return ids.sort((a, b) => Number(b === "h2") - Number(a === "h2"));
}
