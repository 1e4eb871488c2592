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
}

type Part = string | ((r: AccessLogRecord) => string);

export const DEFAULT_ACCESS_LOG_FORMAT =
  "%start_time% %request_received_duration% %response_received_duration% %bytes_sent% %bytes_received% %protocol% %response_code% %duration% %response_flag% %response_code% %upstream_local_address% %downstream_local_address% %downstream_remote_address% %upstream_host%";

const VARIABLES: Record<string, (r: AccessLogRecord) => string> = {
  start_time: (r) => new Date(r.startTime).toISOString(),
  request_received_duration: (r) => `${r.requestReceivedMs.toFixed(3)}ms`,
  response_received_duration: (r) => `${r.responseReceivedMs.toFixed(3)}ms`,
  request_finished_duration: (r) => `${r.durationMs.toFixed(3)}ms`,
  duration: (r) => `${r.durationMs.toFixed(3)}ms`,
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
    const fn = VARIABLES[name];
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
  return (r) => {
    let s = "";
    for (const p of parts) s += typeof p === "string" ? p : p(r);
    return s;
  };
}
