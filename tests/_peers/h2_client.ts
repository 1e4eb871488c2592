/**
 * HTTP/2 (h2c, prior knowledge) clients for tests, each bounded in time and count:
 *
 * - {@linkcode connectH2}: a `node:http2` session — requests with bodies and trailers, `expect:
 *   100-continue`, many concurrent streams on one session, response trailers, 1xx, resets and GOAWAY seen.
 * - {@linkcode curlH2}: one `curl --http2-prior-knowledge` request (one URL per run: curl 7.88.1 fails
 *   "Error in the HTTP2 framing layer" when it reuses an h2c prior-knowledge connection for a second URL,
 *   curl/curl#10634; use {@linkcode nghttp} or {@linkcode connectH2} for several requests on one connection).
 * - {@linkcode nghttp}: `nghttp -v`, its frames parsed (`-m` for many requests on one connection).
 * - {@linkcode h2load}: a short `h2load` run, its summary parsed into numbers.
 * @module
 */
import http2 from "node:http2";

const { constants } = http2;

/** A stream the server reset (RST_STREAM), or whose session went away before it ended. */
export class H2StreamError extends Error {
  /** The RST_STREAM (or GOAWAY) error code. */
  readonly code: number;
  constructor(message: string, code: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "H2StreamError";
    this.code = code;
  }
}

export interface H2Response {
  status: number;
  /** Regular response header fields (repeats joined with ", "). */
  headers: Record<string, string>;
  /** 1xx responses before the final one (`:status` and fields), in order. */
  informational: { status: number; headers: Record<string, string> }[];
  body: Uint8Array;
  /** Response trailers; `{}` when none came. */
  trailers: Record<string, string>;
  /** The stream id the request went on. */
  streamId: number;
  text(): string;
  json<T = unknown>(): T;
}

export interface H2RequestOptions {
  /** Default "GET", or "POST" when there is a body. */
  method?: string;
  /** Default "/". */
  path?: string;
  /** `:authority`; default the address connected to. */
  authority?: string;
  headers?: Record<string, string>;
  /** Sent as one DATA write, or as one write per chunk (an array). */
  body?: string | Uint8Array | Uint8Array[];
  /** Request trailers, sent after the body (the body is then not END_STREAM). */
  trailers?: Record<string, string>;
  /** Send `expect: 100-continue` and hold the body until the server's 100 (or its final response). */
  expectContinue?: boolean;
  /** Aborting resets the stream with CANCEL and rejects the request. */
  signal?: AbortSignal;
  /** Reject (and reset the stream with CANCEL) after this long. Default 5000 ms. */
  timeoutMs?: number;
}

export interface H2Session {
  /** "127.0.0.1:port" connected to. */
  readonly address: string;
  /** One request; rejects with {@linkcode H2StreamError} when the stream is reset or its session fails. */
  request(options?: H2RequestOptions): Promise<H2Response>;
  /** `n` concurrent requests on this session; each result is the response or the Error it failed with. */
  requestMany(n: number, options?: H2RequestOptions | ((i: number) => H2RequestOptions)): Promise<
    (H2Response | Error)[]
  >;
  /** The server's SETTINGS (once received; `{}` before). */
  readonly remoteSettings: http2.Settings;
  /** Every GOAWAY the server sent, in order. */
  readonly goaways: readonly { code: number; lastStreamId: number }[];
  /** The session has closed (by either side). */
  readonly closed: boolean;
  /** Resolves when the session has closed, or rejects after `boundMs`. */
  waitClosed(boundMs?: number): Promise<void>;
  /** Graceful close (GOAWAY, in-flight streams finish), bounded: destroys it after `boundMs` (1000). */
  close(boundMs?: number): Promise<void>;
}

export interface H2ConnectOptions {
  /** SETTINGS the client sends, e.g. `{ initialWindowSize: 1024 }` for a slow reader. */
  settings?: http2.Settings;
  /** Fail the connect after this long. Default 5000 ms. */
  timeoutMs?: number;
}

/** Opens an h2c prior-knowledge session to 127.0.0.1:`port` (or "host:port"). */
export async function connectH2(target: number | string, options: H2ConnectOptions = {}): Promise<H2Session> {
  const address = typeof target === "number" ? `127.0.0.1:${target}` : target;
  const session = http2.connect(`http://${address}`, { settings: options.settings ?? {} });
  const goaways: { code: number; lastStreamId: number }[] = [];
  let closed = false;
  const closedPromise = new Promise<void>((resolve) =>
    session.once("close", () => {
      closed = true;
      resolve();
    })
  );
  session.on("error", () => {}); // failures reach each request as its stream's error
  session.on("goaway", (code: number, lastStreamId: number) => goaways.push({ code, lastStreamId }));
  await bounded(
    new Promise<void>((resolve, reject) => {
      // Connected once the server's SETTINGS are in, so remoteSettings is what it announced.
      session.once("remoteSettings", () => resolve());
      session.once("error", reject);
    }),
    options.timeoutMs ?? 5000,
    `connect to ${address}`,
    () => session.destroy(),
  );
  const request = (o: H2RequestOptions = {}) => requestOn(session, address, o);
  return {
    address,
    request,
    requestMany(n, options = {}) {
      const calls: Promise<H2Response | Error>[] = [];
      for (let i = 0; i < n; i++) {
        const o = typeof options === "function" ? options(i) : options;
        calls.push(request(o).catch((e: unknown) => e instanceof Error ? e : new Error(String(e))));
      }
      return Promise.all(calls);
    },
    get remoteSettings() {
      return session.remoteSettings ?? {};
    },
    goaways,
    get closed() {
      return closed;
    },
    waitClosed: (boundMs = 5000) => bounded(closedPromise, boundMs, `${address} session to close`),
    async close(boundMs = 1000) {
      if (closed) return;
      session.close();
      await bounded(closedPromise, boundMs, "graceful close").catch(() => session.destroy());
      await closedPromise;
    },
  };
}

/** Connects, makes one request, closes. */
export async function fetchH2(target: number | string, options: H2RequestOptions = {}): Promise<H2Response> {
  const session = await connectH2(target, { timeoutMs: options.timeoutMs });
  try {
    return await session.request(options);
  } finally {
    await session.close();
  }
}

function requestOn(
  session: http2.ClientHttp2Session,
  address: string,
  o: H2RequestOptions,
): Promise<H2Response> {
  const chunks = o.body === undefined ? [] : Array.isArray(o.body) ? o.body : [o.body];
  const hasBody = o.body !== undefined;
  const headers: http2.OutgoingHttpHeaders = {
    ":method": o.method ?? (hasBody ? "POST" : "GET"),
    ":path": o.path ?? "/",
    ":authority": o.authority ?? address,
    ...(o.expectContinue ? { expect: "100-continue" } : {}),
    ...(o.headers ?? {}),
  };
  const endStream = !hasBody && o.trailers === undefined;
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream, waitForTrailers: o.trailers !== undefined });
  } catch (e) {
    return Promise.reject(e);
  }
  const trailers = o.trailers;
  if (trailers !== undefined) stream.on("wantTrailers", () => stream.sendTrailers(trailers));
  const sendBody = () => {
    for (const c of chunks) stream.write(typeof c === "string" ? c : c);
    if (!endStream) stream.end();
  };
  const response = new Promise<H2Response>((resolve, reject) => {
    const informational: H2Response["informational"] = [];
    let final: http2.IncomingHttpHeaders | undefined;
    let bodySent = !o.expectContinue;
    const received: Uint8Array[] = [];
    const responseTrailers: Record<string, string> = {};
    stream.on("headers", (h: http2.IncomingHttpHeaders) => {
      informational.push({ status: Number(h[":status"]), headers: regularHeaders(h) });
    });
    stream.on("continue", () => {
      if (!bodySent) {
        bodySent = true;
        sendBody();
      }
    });
    stream.on("response", (h: http2.IncomingHttpHeaders) => {
      final = h;
      if (!bodySent) {
        // A final answer without a 100: the body is not wanted; end our side empty.
        bodySent = true;
        if (!stream.destroyed) stream.end();
      }
    });
    stream.on(
      "trailers",
      (h: http2.IncomingHttpHeaders) => Object.assign(responseTrailers, regularHeaders(h)),
    );
    stream.on("data", (c: Uint8Array) => received.push(c));
    stream.on("error", () => {}); // reported through close below
    stream.on("close", () => {
      // A stream that ended cleanly closes with NO_ERROR, even when the server's RST_STREAM(NO_ERROR)
      // ended our unfinished upload after a complete response.
      const code = stream.rstCode ?? constants.NGHTTP2_INTERNAL_ERROR;
      if (final === undefined || code !== constants.NGHTTP2_NO_ERROR) {
        reject(
          new H2StreamError(`stream ${stream.id} closed before its response ended (code ${code})`, code),
        );
        return;
      }
      const body = concat(received);
      resolve({
        status: Number(final[":status"]),
        headers: regularHeaders(final),
        informational,
        body,
        trailers: responseTrailers,
        streamId: stream.id ?? 0,
        text: () => new TextDecoder().decode(body),
        json: <T>() => JSON.parse(new TextDecoder().decode(body)) as T,
      });
    });
    stream.resume();
    if (bodySent && !endStream) sendBody();
  });
  const cancel = () => {
    if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
  };
  if (o.signal !== undefined) {
    if (o.signal.aborted) cancel();
    else o.signal.addEventListener("abort", cancel, { once: true });
  }
  const timeoutMs = o.timeoutMs ?? 5000;
  return bounded(response, timeoutMs, `${headers[":method"]} ${headers[":path"]} on ${address}`, cancel)
    .finally(() => o.signal?.removeEventListener("abort", cancel));
}

function regularHeaders(headers: http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** `p`, or a rejection after `ms` (running `onTimeout` first). */
function bounded<T>(p: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`timed out after ${ms} ms: ${what}`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// === command-line clients ===

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** Killed by the time bound. */
  timedOut: boolean;
}

/** Runs `cmd args`, killing it (SIGKILL) after `timeoutMs`. */
async function run(cmd: string, args: string[], timeoutMs: number, stdin?: Uint8Array): Promise<Ran> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, timeoutMs);
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(stdin).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr), timedOut };
}

export interface CurlH2Result {
  /** curl's exit code (0 = transfer done; 16 = HTTP/2 framing error; 28 = timeout; 92 = stream error). */
  code: number;
  /** The final response's status (0 when none came). */
  status: number;
  /** "2" for HTTP/2, as `%{http_version}` says. */
  httpVersion: string;
  /** The final response's header fields (names lowercase; repeats joined with ", "). */
  headers: Record<string, string>;
  /** Statuses of 1xx responses before it. */
  informational: number[];
  /** Trailer fields (curl prints them after the header block). */
  trailers: Record<string, string>;
  body: Uint8Array;
  text(): string;
  stderr: string;
}

export interface CurlH2Options {
  method?: string;
  headers?: Record<string, string>;
  /** Sent with `--data-binary @-` (from stdin). */
  body?: string | Uint8Array;
  /** More curl arguments (before the URL). */
  args?: string[];
  /** curl's `--max-time`, and a hard kill 2 s after it. Default 10000 ms. */
  timeoutMs?: number;
}

/** One `curl --http2-prior-knowledge` request to `url` (e.g. `http://127.0.0.1:8080/path`). */
export async function curlH2(url: string, options: CurlH2Options = {}): Promise<CurlH2Result> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const dir = await Deno.makeTempDir({ prefix: "meshctl-curl-" });
  try {
    const args = ["-sS", "--http2-prior-knowledge", "--max-time", String(timeoutMs / 1000)];
    args.push("-D", `${dir}/head`, "-o", `${dir}/body`, "-w", "%{http_code} %{http_version}");
    if (options.method !== undefined) args.push("-X", options.method);
    for (const [k, v] of Object.entries(options.headers ?? {})) args.push("-H", `${k}: ${v}`);
    const stdin = typeof options.body === "string" ? new TextEncoder().encode(options.body) : options.body;
    if (stdin !== undefined) args.push("--data-binary", "@-");
    args.push(...(options.args ?? []), url);
    const r = await run("curl", args, timeoutMs + 2000, stdin);
    const [status, httpVersion] = r.stdout.trim().split(" ");
    const head = await Deno.readTextFile(`${dir}/head`).catch(() => "");
    const body = await Deno.readFile(`${dir}/body`).catch(() => new Uint8Array());
    return {
      code: r.code,
      status: Number(status ?? 0),
      httpVersion: httpVersion ?? "",
      ...parseHeaderDump(head),
      body,
      text: () => new TextDecoder().decode(body),
      stderr: r.stderr,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** curl's `-D` dump: a block per response ("HTTP/2 103", …, the final one), then a block of trailers. */
function parseHeaderDump(dump: string): Pick<CurlH2Result, "headers" | "informational" | "trailers"> {
  const blocks = dump.split(/\r?\n\r?\n/).map((b) => b.split(/\r?\n/).filter((l) => l !== "")).filter((b) =>
    b.length > 0
  );
  const informational: number[] = [];
  let headers: Record<string, string> = {};
  const trailers: Record<string, string> = {};
  for (const block of blocks) {
    const m = /^HTTP\/\S+ (\d{3})/.exec(block[0]!);
    if (m === null) {
      Object.assign(trailers, fields(block));
      continue;
    }
    const status = Number(m[1]);
    if (status < 200) informational.push(status);
    headers = fields(block.slice(1));
  }
  return { headers, informational, trailers };
}

function fields(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    out[k] = k in out ? `${out[k]}, ${v}` : v;
  }
  return out;
}

/** One frame as `nghttp -v` printed it. */
export interface NghttpFrame {
  direction: "send" | "recv";
  /** "HEADERS", "DATA", "SETTINGS", "GOAWAY", "RST_STREAM", … */
  type: string;
  length: number;
  flags: number;
  streamId: number;
  /** GOAWAY / RST_STREAM error code. */
  errorCode?: number;
  /** GOAWAY last stream id. */
  lastStreamId?: number;
  /** The indented lines nghttp printed under the frame. */
  detail: string[];
}

export interface NghttpResult {
  /** nghttp's exit code (0 even when some requests were not processed: see `responses`). */
  code: number;
  timedOut: boolean;
  /** Every frame sent and received, in order. */
  frames: NghttpFrame[];
  /** Response header fields received, by stream id (`:status` included). */
  responses: Map<number, Record<string, string>>;
  /** The final statuses received, in stream order. */
  statuses: number[];
  stdout: string;
  stderr: string;
}

export interface NghttpOptions {
  /** `-m`: make each request this many times on the one connection. Default 1. */
  multiply?: number;
  headers?: Record<string, string>;
  /** Upload this file's contents (`-d`). */
  dataFile?: string;
  /** More nghttp arguments. */
  args?: string[];
  /** nghttp's per-request `--timeout` and a hard kill 2 s after it. Default 10000 ms. */
  timeoutMs?: number;
}

const FRAME_LINE =
  /^\[\s*[\d.]+\] (send|recv) (\S+) frame <length=(\d+), flags=0x([0-9a-f]+), stream_id=(\d+)>/;
const HEADER_LINE = /^\[\s*[\d.]+\] recv \(stream_id=(\d+)\) ([^:]+|:[^:]+): (.*)$/;

/** Runs `nghttp -nv` (frames printed, bodies discarded) on `urls`, all on one connection. */
export async function nghttp(urls: string | string[], options: NghttpOptions = {}): Promise<NghttpResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const multiply = options.multiply ?? 1;
  if (!Number.isInteger(multiply) || multiply < 1 || multiply > 10_000) {
    throw new RangeError(`Cannot make each request ${multiply} times: use 1 to 10000`);
  }
  const args = ["-nv", `--timeout=${timeoutMs / 1000}`, "-m", String(multiply)];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push("-H", `${k}: ${v}`);
  if (options.dataFile !== undefined) args.push("-d", options.dataFile);
  args.push(...(options.args ?? []), ...(typeof urls === "string" ? [urls] : urls));
  const r = await run("nghttp", args, timeoutMs + 2000);
  const frames: NghttpFrame[] = [];
  const responses = new Map<number, Record<string, string>>();
  for (const line of r.stdout.split("\n")) {
    const f = FRAME_LINE.exec(line);
    if (f !== null) {
      frames.push({
        direction: f[1] as "send" | "recv",
        type: f[2]!,
        length: Number(f[3]),
        flags: parseInt(f[4]!, 16),
        streamId: Number(f[5]),
        detail: [],
      });
      continue;
    }
    const h = HEADER_LINE.exec(line);
    if (h !== null) {
      const id = Number(h[1]);
      // A new :status starts the next header block on the stream (after a 1xx); keep the last.
      if (h[2] === ":status" || !responses.has(id)) responses.set(id, {});
      responses.get(id)![h[2]!] = h[3]!;
      continue;
    }
    const last = frames.at(-1);
    if (last !== undefined && /^\s/.test(line) && line.trim() !== "") {
      last.detail.push(line.trim());
      const code = /error_code=\w+\(0x([0-9a-f]+)\)/.exec(line);
      if (code !== null) last.errorCode = parseInt(code[1]!, 16);
      const lastId = /last_stream_id=(\d+)/.exec(line);
      if (lastId !== null) last.lastStreamId = Number(lastId[1]);
    }
  }
  const statuses = [...responses.keys()].sort((a, b) => a - b).map((id) =>
    Number(responses.get(id)![":status"])
  );
  return {
    code: r.code,
    timedOut: r.timedOut,
    frames,
    responses,
    statuses,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

export interface H2loadSummary {
  /** Seconds the run took. */
  seconds: number;
  requestsPerSecond: number;
  total: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  /** Responses by status class. */
  status: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
}

export interface H2loadResult {
  code: number;
  timedOut: boolean;
  /** Undefined when h2load printed no summary (e.g. it could not connect). */
  summary?: H2loadSummary;
  stdout: string;
  stderr: string;
}

export interface H2loadOptions {
  /** `-n`: total requests (1 to 100000). Default 1000. */
  requests?: number;
  /** `-c`: connections. Default 1. */
  clients?: number;
  /** `-m`: concurrent streams per connection. Default 10. */
  streams?: number;
  /** More h2load arguments. */
  args?: string[];
  /** Hard kill after this long. Default 20000 ms. */
  timeoutMs?: number;
}

/** A short h2load run (h2c prior knowledge, one thread) against `url`. */
export async function h2load(url: string, options: H2loadOptions = {}): Promise<H2loadResult> {
  const requests = options.requests ?? 1000;
  if (!Number.isInteger(requests) || requests < 1 || requests > 100_000) {
    throw new RangeError(`Cannot run ${requests} requests: use 1 to 100000`);
  }
  const timeoutMs = options.timeoutMs ?? 20_000;
  const args = [
    "-n",
    String(requests),
    "-c",
    String(options.clients ?? 1),
    "-m",
    String(options.streams ?? 10),
  ];
  // Give up on a connection that stays silent, rather than waiting for the kill.
  args.push("-t", "1", "-N", String(Math.max(1, Math.floor(timeoutMs / 2000))));
  args.push(...(options.args ?? []), url);
  const r = await run("h2load", args, timeoutMs);
  return { ...r, summary: parseH2loadSummary(r.stdout) };
}

/** Parses h2load's "finished in …", "requests: …" and "status codes: …" lines. */
export function parseH2loadSummary(stdout: string): H2loadSummary | undefined {
  const finished = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(stdout);
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/
      .exec(stdout);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (finished === null || req === null || codes === null) return undefined;
  const n = (s: string | undefined) => Number(s);
  return {
    seconds: n(finished[1]) / (finished[2] === "ms" ? 1000 : 1),
    requestsPerSecond: n(finished[3]),
    total: n(req[1]),
    started: n(req[2]),
    done: n(req[3]),
    succeeded: n(req[4]),
    failed: n(req[5]),
    errored: n(req[6]),
    timeout: n(req[7]),
    status: { "2xx": n(codes[1]), "3xx": n(codes[2]), "4xx": n(codes[3]), "5xx": n(codes[4]) },
  };
}
