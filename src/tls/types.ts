/** What a TLS handshake settled, for routing, headers, stats and the access log. */
export interface TlsSessionInfo {
  readonly version: string; // "TLSv1.3"
  readonly cipher: string; // IANA name, e.g. "TLS_AES_128_GCM_SHA256"
  readonly alpn: string | undefined;
  readonly sni: string | undefined;
  /** The client certificate, only when it was verified against the CA (mTLS); undefined otherwise. */
  readonly peer: PeerIdentity | undefined;
}

/** A verified peer certificate's identity (Istio's is its SPIFFE URI SAN). */
export interface PeerIdentity {
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  readonly subject: string; // "CN=client,O=Acme"
  /** SHA-256 of the DER certificate, lowercase hex (Envoy's XFCC Hash). */
  readonly sha256: string;
}
