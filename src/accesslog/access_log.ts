import type { TimerId } from "../core/mod.ts";
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

const encoder = new TextEncoder();

/**
 * An access log sink: lines are buffered and written at most every 100 ms (or at 64 KiB), so logging
 * costs no syscall per request.
 */
export class AccessLogWriter {
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #pending = "";
  #timer: TimerId | undefined;

  constructor(path: string) {
    this.path = path;
    if (path !== "stdout" && path !== "stderr" && path !== "") {
      this.#file = Deno.openSync(path, { append: true, create: true });
    }
  }

  write(line: string): void {
    this.#pending += line + "\n";
    if (this.#pending.length >= 64 * 1024) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const bytes = encoder.encode(this.#pending);
    this.#pending = "";
    try {
      if (this.#file !== undefined) writeAllSync(this.#file, bytes);
      else writeAllSync(this.path === "stdout" ? Deno.stdout : Deno.stderr, bytes);
    } catch {
      // a full disk or closed stdout must not take the proxy down
    }
  }

  close(): void {
    this.flush();
    this.#file?.close();
    this.#file = undefined;
  }
}

function writeAllSync(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}
