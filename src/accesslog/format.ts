/** What an access-log line can show about one finished request. */
export interface AccessLogRecord {
  startTime: number; // epoch ms
  /** ms from start until the request was fully received / the response head came / the stream ended. */
  requestReceivedMs: number;
  responseReceivedMs: number;
  durationMs: number;
  bytesSent: number;
  bytesReceived: number;
  protocol: string;
  responseCode: number;
  /** MOSN-style response flag: "-", "NR" no route, "UH" no healthy host, "UF" connect failure, "UO" overflow, "UT" timeout, "UR" upstream reset, "DC" downstream closed, "DPE" protocol error. */
  responseFlag: string;
  downstreamLocalAddress: string;
  downstreamRemoteAddress: string;
  upstreamLocalAddress: string;
  upstreamHost: string;
  upstreamCluster: string;
  method: string;
  path: string;
  requestHeader(name: string): string | undefined;
  responseHeader(name: string): string | undefined;
  /** The downstream TLS session; undefined on a plaintext connection. */
  downstreamTls?: AccessLogTlsInfo | undefined;
}

/** What the access log shows of a downstream TLS session (tls/TlsSessionInfo has this shape). */
export interface AccessLogTlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly sni: string | undefined;
  /** The verified client certificate, if any. */
  readonly peer: { readonly uriSans: readonly string[]; readonly subject: string } | undefined;
}

type Part = string | ((r: AccessLogRecord) => string);

export const DEFAULT_ACCESS_LOG_FORMAT =
  "%start_time% %request_received_duration% %response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address% %downstream_local_address% %downstream_remote_address% %upstream_host%";

/** "000" … "999": milliseconds and fractions without padding work per line. */
const DIGITS3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));

/** Years up to 9999: the range where `toISOString()` has a fixed-width date part. */
const MAX_FIXED_ISO_MS = 253402300800000;
let isoSecond = NaN;
let isoPrefix = "";

/**
 * `new Date(ms).toISOString()`, which costs ~1.5 µs a call: the date and time up to the second are
 * computed once per second and reused, only the milliseconds change from line to line.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < MAX_FIXED_ISO_MS)) {
    return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : "-";
  }
  const t = Math.floor(ms); // Date drops the fraction
  const second = Math.floor(t / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "YYYY-MM-DDTHH:MM:SS."
  }
  return isoPrefix + DIGITS3[t - second * 1000] + "Z";
}

/**
 * `${ms.toFixed(3)}ms` at a fraction of the cost. Below 1e6 ms the error of `ms * 1000` is under 1e-7, so
 * rounding it gives toFixed's digits except within that distance of a tie, where toFixed decides.
 */
export function durationMs(ms: number): string {
  if (ms >= 0 && ms < 1e6) {
    const scaled = ms * 1000;
    const floor = Math.floor(scaled);
    if (Math.abs(scaled - floor - 0.5) > 1e-6) {
      const us = scaled - floor > 0.5 ? floor + 1 : floor;
      const whole = Math.floor(us / 1000);
      return `${whole}.${DIGITS3[us - whole * 1000]}ms`;
    }
  }
  return `${ms.toFixed(3)}ms`; // near a tie, NaN, negative, huge: the exact path
}

const VARIABLES: Record<string, (r: AccessLogRecord) => string> = {
  start_time: (r) => isoTime(r.startTime),
  request_received_duration: (r) => durationMs(r.requestReceivedMs),
  response_received_duration: (r) => durationMs(r.responseReceivedMs),
  request_finished_duration: (r) => durationMs(r.durationMs),
  duration: (r) => durationMs(r.durationMs),
  bytes_sent: (r) => String(r.bytesSent),
  bytes_received: (r) => String(r.bytesReceived),
  protocol: (r) => r.protocol,
  response_code: (r) => String(r.responseCode),
  response_flag: (r) => r.responseFlag,
  upstream_local_address: (r) => r.upstreamLocalAddress || "-",
  downstream_local_address: (r) => r.downstreamLocalAddress,
  downstream_remote_address: (r) => r.downstreamRemoteAddress,
  upstream_host: (r) => r.upstreamHost || "-",
  upstream_cluster: (r) => r.upstreamCluster || "-",
  request_method: (r) => r.method || "-",
  request_path: (r) => r.path || "-",
  trace_id: () => "-",
  // Envoy's names, as Envoy spells them. The cipher is the IANA name ("TLS_AES_128_GCM_SHA256"), for
  // TLS 1.2 too, where Envoy prints OpenSSL's ("ECDHE-ECDSA-AES128-GCM-SHA256").
  DOWNSTREAM_TLS_VERSION: (r) => r.downstreamTls?.version ?? "-",
  DOWNSTREAM_TLS_CIPHER: (r) => r.downstreamTls?.cipher ?? "-",
  DOWNSTREAM_PEER_URI_SAN: (r) => r.downstreamTls?.peer?.uriSans.join(",") || "-",
  DOWNSTREAM_PEER_SUBJECT: (r) => r.downstreamTls?.peer?.subject || "-",
  REQUESTED_SERVER_NAME: (r) => r.downstreamTls?.sni || "-",
};

/** The variable names a format may use (besides request_header_X / response_header_X). */
export const ACCESS_LOG_VARIABLES: readonly string[] = Object.keys(VARIABLES);

/**
 * Compiles a MOSN access-log format (`%variable%` placeholders, `%request_header_NAME%`,
 * `%response_header_NAME%`) once; throws RangeError naming an unknown variable.
 */
export function compileAccessLogFormat(format: string): (r: AccessLogRecord) => string {
  const parts: Part[] = [];
  const re = /%([A-Za-z0-9_\-]+)%/g;
  let last = 0;
  for (const m of format.matchAll(re)) {
    if (m.index! > last) parts.push(format.slice(last, m.index));
    const name = m[1]!;
    const fn = Object.hasOwn(VARIABLES, name) ? VARIABLES[name] : undefined;
    if (fn !== undefined) parts.push(fn);
    else if (name.startsWith("request_header_")) {
      const h = name.slice("request_header_".length).toLowerCase();
      parts.push((r) => r.requestHeader(h) ?? "-");
    } else if (name.startsWith("response_header_")) {
      const h = name.slice("response_header_".length).toLowerCase();
      parts.push((r) => r.responseHeader(h) ?? "-");
    } else throw new RangeError(`Cannot use unknown access log variable %${name}%`);
    last = m.index! + m[0].length;
  }
  if (last < format.length) parts.push(format.slice(last));
  return function formatAccessLog(r: AccessLogRecord): string {
    let s = "";
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      s += typeof p === "string" ? p : p(r);
    }
    return s;
  };
}
