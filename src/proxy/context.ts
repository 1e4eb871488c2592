import type { TlsSessionInfo } from "../tls/mod.ts";
import type { Logger } from "../core/mod.ts";
import type { RouteTable } from "../router/mod.ts";
import type { ClusterManager } from "../upstream/mod.ts";
import type { StreamFilterFactory } from "../filter/mod.ts";
import type { AccessLogRecord, AccessLogWriter } from "../accesslog/mod.ts";
import type { DownstreamStats } from "./downstream_stats.ts";
import type { ForwardingPolicy } from "./http_headers.ts";

export interface AccessLogSink {
  readonly format: (r: AccessLogRecord) => string;
  readonly writer: AccessLogWriter;
}

/** Everything a proxied stream needs from its listener, built once per listener per config snapshot. */
export interface ProxyContext {
  readonly listenerName: string;
  readonly routeTable: RouteTable;
  readonly clusters: ClusterManager;
  readonly stats: DownstreamStats;
  readonly logger: Logger;
  readonly filterFactories: readonly StreamFilterFactory[];
  readonly accessLogs: readonly AccessLogSink[];
  /** proxy.upstream_protocol (MOSN ignores it in favour of the route's; we use it as a fallback). */
  readonly upstreamProtocol: string | undefined;
  /** Largest request body kept for replay on retry; bigger bodies make the request non-retriable. */
  readonly retryBufferLimit: number;
  /** X-Forwarded-For / -Proto handling (`use_remote_address`, `xff_num_trusted_hops`). */
  readonly forwarding: ForwardingPolicy;
  /**
   * A stream with no body bytes moving either way for this long is ended (Envoy's
   * `stream_idle_timeout`): 408 before the response starts, a reset after. 0 disables.
   */
  readonly streamIdleTimeoutMs: number;
  /** Envoy HCM behaviours (normalize_path, generate_request_id, server header); undefined = none (MOSN). */
  readonly envoyHttp?: EnvoyHttpBehaviour;
}

/** Envoy HTTP connection manager behaviours a proxy filter turns on (meshctl extensions, Envoy's names). */
export interface EnvoyHttpBehaviour {
  readonly normalizePath: boolean;
  readonly generateRequestId: boolean;
  readonly serverHeader:
    | { readonly mode: "OVERWRITE" | "APPEND_IF_ABSENT"; readonly name: string }
    | undefined;
}

/** Per downstream connection. */
export interface ConnectionInfo {
  readonly remoteAddress: string;
  readonly remoteIp: string;
  readonly localAddress: string;
  /** The connection is TLS (X-Forwarded-Proto: https). */
  readonly secure: boolean;
  /** The TLS session, when `secure`. */
  readonly tls?: TlsSessionInfo | undefined;
  /**
   * The connection came in on a TLS listener: an `x-forwarded-client-cert` the client sent is removed
   * from HTTP requests (only meshctl vouches for a client's identity). Plaintext listeners leave it.
   */
  readonly sanitizeClientCert?: boolean;
  /** The verified client certificate as an XFCC element, set on HTTP requests (`clientCertDetails()`). */
  readonly clientCertDetails?: string | undefined;
}
