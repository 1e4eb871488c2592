/**
 * Full-TLS-handshake load generator for the bench's `https` family. Plain Deno, no meshctl imports.
 *
 * Each of `--connections` loops, until the measured window ends: opens a TCP connection (no Nagle),
 * runs a TLS handshake verifying the server against `--ca` for `--servername`, sends one
 * `GET / HTTP/1.1` with `Connection: close`, reads the response (to its Content-Length, or EOF), closes;
 * then again. Every
 * connection is a FULL handshake: `Deno.startTls` builds a fresh client configuration per call, so no
 * session ticket is ever offered back (wrk keeps the session across reconnects and resumes: against
 * nginx 953 of 1,003 `Connection: close` requests were resumed, which measures resumption, not
 * handshakes). A connection counts when its response was a `200` ending in the expected body length.
 *
 *   deno run --allow-net=127.0.0.1 --allow-read=ca.pem bench/tls_handshake_load.ts --target 127.0.0.1:8443 \
 *     --ca ca.pem --servername localhost --connections 50 --warmup 2 --duration 10
 *
 * Prints one JSON object (`HandshakeLoadResult`) on stdout.
 */
import process from "node:process";
import { parseArgs } from "node:util";

export interface HandshakeLoadResult {
  target: string;
  connections: number;
  warmupS: number;
  durationS: number;
  /** Connections (handshake + request + response) completed inside the measured window. */
  completed: number;
  /** Failed ones (refused, reset, handshake error, wrong answer) inside the window. */
  errors: number;
  /** The first few error messages, for the report. */
  errorSamples: string[];
  /** completed ÷ the measured window. */
  handshakesPerSecond: number;
  /** Milliseconds from connect() to the response's end (nearest-rank percentiles). */
  latencyMs: { p50: number; p99: number; max: number } | undefined;
  /** The generator's own CPU over the measured window, in cores (1.0 = its core was saturated). */
  generatorCores: number | undefined;
  error?: string;
}

/** Samples of latency kept; past this, later ones are dropped from the percentiles (not from counts). */
const MAX_LATENCY_SAMPLES = 1_000_000;
/** A single connection (connect → EOF) taking longer than this counts as an error. */
const CONNECTION_TIMEOUT_MS = 10_000;
/** Largest response read; a longer one is an error. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const latin1 = new TextDecoder("latin1");

/** The process's own CPU time so far (user + system), µs. */
function ownCpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function oneConnection(
  hostname: string,
  port: number,
  servername: string,
  caCerts: string[],
  request: Uint8Array,
  bodyBytes: number,
): Promise<void> {
  const tcp = await Deno.connect({ hostname, port });
  let conn: Deno.Conn = tcp;
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, CONNECTION_TIMEOUT_MS);
  try {
    tcp.setNoDelay(true); // the request must not wait for the ACK of the client's Finished
    const tls = await Deno.startTls(tcp, { hostname: servername, caCerts });
    conn = tls;
    await tls.handshake();
    let written = 0;
    while (written < request.length) written += await tls.write(request.subarray(written));
    // The response ends at its Content-Length (or EOF); then this side closes.
    const buf = new Uint8Array(MAX_RESPONSE_BYTES + 1);
    let have = 0;
    let text = "";
    for (;;) {
      const n = await tls.read(buf.subarray(have));
      if (n === null) break;
      have += n;
      if (have > MAX_RESPONSE_BYTES) throw new Error("response too large");
      text = latin1.decode(buf.subarray(0, have));
      const head = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      if (head >= 0 && length !== null && have >= head + 4 + Number(length[1])) break;
    }
    const head = text.indexOf("\r\n\r\n");
    if (!/^HTTP\/1\.[01] 200 /.test(text) || head < 0 || have - head - 4 !== bodyBytes) {
      throw new Error(`unexpected answer: ${JSON.stringify(text.slice(0, 80))}`);
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

export async function runHandshakeLoad(o: {
  target: string;
  ca: string;
  servername: string;
  connections: number;
  warmupS: number;
  durationS: number;
  path: string;
  bodyBytes: number;
}): Promise<HandshakeLoadResult> {
  const [hostname, portText] = [
    o.target.slice(0, o.target.lastIndexOf(":")),
    o.target.slice(o.target.lastIndexOf(":") + 1),
  ];
  const port = Number(portText);
  const caCerts = [await Deno.readTextFile(o.ca)];
  const request = new TextEncoder().encode(
    `GET ${o.path} HTTP/1.1\r\nHost: ${o.servername}\r\nConnection: close\r\n\r\n`,
  );
  const start = performance.now();
  const measureFrom = start + o.warmupS * 1000;
  const end = measureFrom + o.durationS * 1000;
  let completed = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  const latencies: number[] = [];
  let cpuAtMeasure: number | undefined;
  const markTimer = setTimeout(() => cpuAtMeasure = ownCpuMicros(), o.warmupS * 1000);
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await oneConnection(hostname, port, o.servername, caCerts, request, o.bodyBytes);
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= end) {
          completed++;
          if (latencies.length < MAX_LATENCY_SAMPLES) latencies.push(t1 - t0);
        }
      } catch (e) {
        if (t0 >= measureFrom) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(e instanceof Error ? e.message : String(e));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: o.connections }, loop));
  clearTimeout(markTimer);
  const cpuEnd = ownCpuMicros();
  latencies.sort((a, b) => a - b);
  return {
    target: o.target,
    connections: o.connections,
    warmupS: o.warmupS,
    durationS: o.durationS,
    completed,
    errors,
    errorSamples,
    handshakesPerSecond: completed / o.durationS,
    latencyMs: latencies.length === 0
      ? undefined
      : { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1)! },
    generatorCores: cpuAtMeasure === undefined ? undefined : (cpuEnd - cpuAtMeasure) / (o.durationS * 1e6),
    ...(completed === 0 ? { error: `no connection completed (${errorSamples[0] ?? "no errors"})` } : {}),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string" },
      ca: { type: "string" },
      servername: { type: "string", default: "localhost" },
      connections: { type: "string", default: "50" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "10" },
      path: { type: "string", default: "/" },
      "body-bytes": { type: "string", default: "5" },
    },
  });
  if (values.target === undefined || values.ca === undefined) {
    console.error(
      "usage: tls_handshake_load.ts --target host:port --ca ca.pem [--servername localhost] [--connections 50]\n" +
        "                             [--warmup 2] [--duration 10] [--path /] [--body-bytes 5]",
    );
    Deno.exit(2);
  }
  const result = await runHandshakeLoad({
    target: values.target,
    ca: values.ca,
    servername: values.servername,
    connections: Number(values.connections),
    warmupS: Number(values.warmup),
    durationS: Number(values.duration),
    path: values.path,
    bodyBytes: Number(values["body-bytes"]),
  });
  console.log(JSON.stringify(result));
  Deno.exit(result.error === undefined ? 0 : 1);
}
