/**
 * HTTP/2 (h2c, prior knowledge) origins for end-to-end tests, on 127.0.0.1 port 0. The path picks what a
 * request gets; every other path echoes the request as JSON:
 *
 * | path                                   | behaviour                                                               | `startH2Origin` | `startDualOrigin` |
 * | -------------------------------------- | ----------------------------------------------------------------------- | --------------- | ----------------- |
 * | anything else                          | 200, the request as {@linkcode EchoedRequest} JSON (body read first)    | yes             | yes               |
 * | `/echo-body`                           | 200 at once, then the request body streamed back as it arrives          | yes             | yes               |
 * | `/large?bytes=N[&chunk=M][&cl=1]`      | N bytes of {@linkcode patternBytes}, in M-byte writes, paced by flow control | yes        | yes               |
 * | `/delay?ms=N`                          | the echo after N ms (node:http2: not at all if the client resets first) | yes             | yes               |
 * | `/status?code=N`                       | the echo with status N                                                  | yes             | yes               |
 * | `/trailers[?name=value…]`              | the echo, then trailers (the query's pairs; default `x-trailer: done`)  | node:http2      | –                 |
 * | `/early-hints`                         | 103 (`link: </style.css>; rel=preload`), then the echo                  | node:http2      | –                 |
 * | `/expect-fail`                         | 417 without reading the body (any other path answers `expect: 100-continue` with a 100 first) | node:http2 | – |
 * | `/reset?code=N`, `/reset?after=headers\|data` | RST_STREAM N (default INTERNAL_ERROR) before any response; or INTERNAL_ERROR after the headers / 1 KiB of data | node:http2 | – |
 * | `/goaway?code=N`                       | the echo, then GOAWAY N (default NO_ERROR) and a graceful session close | node:http2      | –                 |
 * | `/close?code=N`                        | no response: GOAWAY N (default INTERNAL_ERROR) and the connection closed | node:http2     | –                 |
 * | `/drop`                                | no response: the TCP connection closed, no GOAWAY                       | node:http2      | –                 |
 * | `/large-headers?bytes=N`               | the echo with an N-byte `x-large` response header (HEADERS + CONTINUATION) | node:http2    | –                 |
 *
 * `startH2Origin()` is a strict `node:http2` server: exact frames, custom SETTINGS (`maxConcurrentStreams`,
 * `initialWindowSize`, …), and everything in the table; it speaks h2c only. It is slow (≈5k req/s), so load
 * belongs on `startDualOrigin()`: `Deno.serve`, h2c prior knowledge and HTTP/1.1 on one port, ≈5× faster,
 * but without trailers, 1xx, resets, GOAWAY or settings (those paths answer 501), and without a reliable way
 * to tell the protocol of a request (HTTP/1.1 requests carry `host`; Deno folds `:authority` into the URL).
 *
 * Deno's node:http2 quirks the node origin works around (Deno 2.9.6): sending a GOAWAY after any stream
 * reset can abort the process (an nghttp2 assertion in `find_stream_on_goaway_func`, or a segfault), so
 * when a client sends GOAWAY the origin closes the TCP connection instead of answering with its own, and
 * `stop()` closes connections without GOAWAY; `close(code)` after a response has started ends the stream
 * cleanly instead of resetting it, so resets after the headers are INTERNAL_ERROR only; and
 * `session.destroy(undefined, code)` sends NO_ERROR, so `/close` passes an error to get its code out.
 * @module
 */
import http2 from "node:http2";
import type net from "node:net";
import { Events } from "../_events.ts";

const { constants } = http2;

/** What the echo answers with (and what the origin keeps in `log`). */
export interface EchoedRequest {
  /** The origin's name. */
  origin: string;
  /** "HTTP/2" from `startH2Origin()`; absent from `startDualOrigin()` (Deno.serve does not say). */
  protocol?: "HTTP/2";
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** `:scheme` (node:http2 only). */
  scheme?: string;
  /** `:authority` (node:http2), or the URL's host, which Deno.serve takes from `:authority` or `host`. */
  authority: string;
  /** Regular (non-pseudo) header fields; repeated fields joined as node/Deno join them. */
  headers: Record<string, string>;
  /** Regular header fields in wire order, repeats kept (node:http2 only). */
  rawHeaders?: [string, string][];
  /** Request body length in bytes. */
  bodyBytes: number;
  /** Request trailers (node:http2 only; `{}` when none). */
  trailers?: Record<string, string>;
  /** Which session (node:http2) or connection (Deno.serve) carried it, counting from 1. */
  session: number;
  /** The HTTP/2 stream id (node:http2 only). */
  streamId?: number;
}

/** Byte `i` of every `/large` body: a period of 251 (a prime) shows shifted or repeated chunks. */
export function patternByte(i: number): number {
  return i % 251;
}

/** `length` bytes of the `/large` pattern starting at `offset`. */
export function patternBytes(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (offset + i) % 251;
  return out;
}

/** Index of the first byte of `body` that breaks the `/large` pattern, or -1 when it all matches. */
export function patternMismatch(body: Uint8Array): number {
  for (let i = 0; i < body.length; i++) if (body[i] !== i % 251) return i;
  return -1;
}

/** A request's behaviour, decided from its path and query alone. */
type Behaviour =
  | { kind: "echo"; status: number }
  | { kind: "echo-body" }
  | { kind: "large"; bytes: number; chunk: number; contentLength: boolean }
  | { kind: "delay"; ms: number }
  | { kind: "trailers"; trailers: Record<string, string> }
  | { kind: "early-hints" }
  | { kind: "expect-fail" }
  | { kind: "reset"; code: number; after: "nothing" | "headers" | "data" }
  | { kind: "goaway"; code: number }
  | { kind: "close"; code: number }
  | { kind: "drop" }
  | { kind: "large-headers"; bytes: number };

/** Behaviours `Deno.serve` cannot produce. */
const NODE_ONLY = new Set<Behaviour["kind"]>([
  "trailers",
  "early-hints",
  "expect-fail",
  "reset",
  "goaway",
  "close",
  "drop",
  "large-headers",
]);

function behaviourOf(path: string): Behaviour {
  const url = new URL(path, "http://origin.invalid");
  const q = url.searchParams;
  const num = (name: string, fallback: number) => {
    const v = q.get(name);
    if (v === null) return fallback;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Cannot use ${name}=${v}: not a count`);
    return n;
  };
  switch (url.pathname) {
    case "/echo-body":
      return { kind: "echo-body" };
    case "/large":
      return {
        kind: "large",
        bytes: num("bytes", 1 << 20),
        chunk: Math.max(1, num("chunk", 16384)),
        contentLength: q.get("cl") === "1",
      };
    case "/delay":
      return { kind: "delay", ms: num("ms", 1000) };
    case "/status":
      return { kind: "echo", status: num("code", 200) };
    case "/trailers": {
      const trailers = q.size === 0 ? { "x-trailer": "done" } : Object.fromEntries(q);
      return { kind: "trailers", trailers };
    }
    case "/early-hints":
      return { kind: "early-hints" };
    case "/expect-fail":
      return { kind: "expect-fail" };
    case "/reset": {
      const after = q.get("after") ?? "nothing";
      if (after !== "nothing" && after !== "headers" && after !== "data") {
        throw new RangeError(`Cannot reset after "${after}": use headers or data`);
      }
      const code = num("code", constants.NGHTTP2_INTERNAL_ERROR);
      if (after !== "nothing" && code !== constants.NGHTTP2_INTERNAL_ERROR) {
        throw new RangeError(`Cannot reset with code ${code} after the ${after}: only INTERNAL_ERROR (2)`);
      }
      return { kind: "reset", code, after };
    }
    case "/goaway":
      return { kind: "goaway", code: num("code", constants.NGHTTP2_NO_ERROR) };
    case "/close":
      return { kind: "close", code: num("code", constants.NGHTTP2_INTERNAL_ERROR) };
    case "/drop":
      return { kind: "drop" };
    case "/large-headers":
      return { kind: "large-headers", bytes: num("bytes", 32768) };
    default:
      return { kind: "echo", status: 200 };
  }
}

/** Counters every origin keeps. */
export interface OriginCounters {
  /** Requests received so far (counted on arrival). */
  readonly requests: number;
  /** Requests whose pathname (no query) was `pathname`. */
  requestsTo(pathname: string): number;
  /** Sessions (node:http2) or connections (Deno.serve) accepted so far. */
  readonly sessions: number;
  /** Requests each session/connection carried, by session number − 1. */
  readonly streamsPerSession: readonly number[];
  /** Every request as the echo describes it, in arrival order (its body counted once read). */
  readonly log: readonly EchoedRequest[];
  /** Resolves once `cond()` holds, re-checked on every request, session and stream end; fails after `boundMs`. */
  until(cond: () => boolean, what: string, boundMs?: number): Promise<void>;
}

export interface H2Origin extends OriginCounters {
  readonly name: string;
  readonly port: number;
  /** "127.0.0.1:port" */
  readonly address: string;
  /** Sessions open now. */
  readonly openSessions: number;
  /** Streams the client reset (RST_STREAM) before the response ended. */
  readonly resetsByClient: number;
  /** Closes the listener and every session (at once, not gracefully) and waits for the server to close. */
  stop(): Promise<void>;
}

export interface H2OriginOptions {
  /** Name in the echo and the `x-origin` response header. Default `h2-origin-<port>`. */
  name?: string;
  /**
   * SETTINGS the server sends (node:http2 names), e.g. `{ maxConcurrentStreams: 1 }`,
   * `{ initialWindowSize: 1024 }`, `{ maxFrameSize: 16384, maxHeaderListSize: 8192 }`.
   */
  settings?: http2.Settings;
}

/** Shared bookkeeping of both origins. */
class Tally {
  readonly events = new Events();
  readonly byPath = new Map<string, number>();
  readonly streamsPerSession: number[] = [];
  readonly log: EchoedRequest[] = [];
  requests = 0;

  openSession(): number {
    this.streamsPerSession.push(0);
    this.events.notify();
    return this.streamsPerSession.length;
  }

  request(session: number, pathname: string): void {
    this.requests++;
    this.streamsPerSession[session - 1]!++;
    this.byPath.set(pathname, (this.byPath.get(pathname) ?? 0) + 1);
    this.events.notify();
  }
}

/** `target` with the {@linkcode OriginCounters} of `tally` as live getters. */
function withCounters<T extends object>(tally: Tally, target: T): T & OriginCounters {
  return Object.defineProperties(target, {
    requests: { get: () => tally.requests, enumerable: true },
    sessions: { get: () => tally.streamsPerSession.length, enumerable: true },
    streamsPerSession: { value: tally.streamsPerSession, enumerable: true },
    log: { value: tally.log, enumerable: true },
    requestsTo: { value: (pathname: string) => tally.byPath.get(pathname) ?? 0 },
    until: {
      value: (cond: () => boolean, what: string, boundMs?: number) => tally.events.until(cond, what, boundMs),
    },
  }) as T & OriginCounters;
}

function pathnameOf(path: string): string {
  return new URL(path, "http://origin.invalid").pathname;
}

// === node:http2 origin ===

/** What the node origin tracks per stream. */
interface StreamState {
  readonly session: http2.ServerHttp2Session;
  /** Our side of the response was written out whole. */
  finished: boolean;
  /** We reset it, or closed its session. */
  endedByUs: boolean;
}

/** Starts a strict node:http2 h2c origin on 127.0.0.1 with every behaviour in the module table. */
export async function startH2Origin(options: H2OriginOptions = {}): Promise<H2Origin> {
  const origin = new NodeH2Origin(options);
  await origin.listen();
  return withCounters(origin.tally, origin);
}

class NodeH2Origin {
  readonly tally = new Tally();
  readonly #server: http2.Http2Server;
  readonly #sessions = new Map<http2.ServerHttp2Session, number>();
  readonly #streams = new WeakMap<http2.ServerHttp2Stream, StreamState>();
  readonly #closedByUs = new WeakSet<http2.ServerHttp2Session>();
  /** Accepted TCP connections by remote port. */
  readonly #sockets = new Map<number, net.Socket>();
  #resetsByClient = 0;
  #name: string;
  #port = 0;

  constructor(options: H2OriginOptions) {
    this.#name = options.name ?? "";
    this.#server = http2.createServer({ settings: options.settings ?? {} });
    this.#server.on("connection", (socket: net.Socket) => {
      const port = socket.remotePort ?? -1;
      this.#sockets.set(port, socket);
      socket.once("close", () => this.#sockets.delete(port));
    });
    this.#server.on("session", (session) => this.#onSession(session));
    this.#server.on(
      "stream",
      (
        stream: http2.ServerHttp2Stream,
        headers: http2.IncomingHttpHeaders,
        _flags: number,
        rawHeaders: string[],
      ) => this.#onStream(stream, headers, rawHeaders),
    );
  }

  get name(): string {
    return this.#name;
  }
  get port(): number {
    return this.#port;
  }
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }
  get openSessions(): number {
    return this.#sessions.size;
  }
  get resetsByClient(): number {
    return this.#resetsByClient;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        this.#server.off("error", reject);
        this.#port = (this.#server.address() as { port: number }).port;
        if (!this.#name) this.#name = `h2-origin-${this.#port}`;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // TCP closes, not session.destroy(): no GOAWAY (see #onSession).
    for (const session of this.#sessions.keys()) this.#closedByUs.add(session);
    for (const socket of this.#sockets.values()) socket.destroy();
    await closed;
  }

  #socketOf(session: http2.ServerHttp2Session): net.Socket | undefined {
    return this.#sockets.get(session.socket?.remotePort ?? -1);
  }

  #onSession(session: http2.ServerHttp2Session): void {
    this.#sessions.set(session, this.tally.openSession());
    session.on("error", () => {}); // a peer's protocol error ends the session; tests look at the frames
    // Deno's node:http2 answers a GOAWAY with its own, and sending a GOAWAY after a stream reset can
    // abort the process (an nghttp2 assertion in find_stream_on_goaway_func, or a segfault). The peer
    // is leaving anyway: close the TCP connection before node:http2 gets to send one.
    session.on("goaway", () => this.#socketOf(session)?.destroy());
    session.on("close", () => {
      this.#sessions.delete(session);
      this.tally.events.notify();
    });
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const session = stream.session as http2.ServerHttp2Session;
    const state: StreamState = { session, finished: false, endedByUs: false };
    this.#streams.set(stream, state);
    const number = this.#sessions.get(session) ?? 0;
    const path = String(headers[":path"] ?? "");
    this.tally.request(number, pathnameOf(path));
    stream.on("error", () => {}); // resets surface as rstCode on close
    stream.on("close", () => {
      const byClient = stream.rstCode !== constants.NGHTTP2_NO_ERROR && !state.finished && !state.endedByUs &&
        !this.#closedByUs.has(state.session);
      if (byClient) this.#resetsByClient++;
      this.tally.events.notify();
    });
    const echo: EchoedRequest = {
      origin: this.#name,
      protocol: "HTTP/2",
      method: String(headers[":method"]),
      path,
      scheme: String(headers[":scheme"] ?? ""),
      authority: String(headers[":authority"] ?? ""),
      headers: regularHeaders(headers),
      rawHeaders: pairs(rawHeaders).filter(([k]) => !k.startsWith(":")),
      bodyBytes: 0,
      trailers: {},
      session: number,
      streamId: stream.id,
    };
    this.tally.log.push(echo);
    stream.on("trailers", (t: http2.IncomingHttpHeaders) => Object.assign(echo.trailers!, regularHeaders(t)));
    let behaviour: Behaviour;
    try {
      behaviour = behaviourOf(path);
    } catch (e) {
      stream.respond({ ":status": 400 });
      stream.end((e as Error).message);
      return;
    }
    this.#serve(stream, state, headers, echo, behaviour).catch(() =>
      this.#reset(stream, constants.NGHTTP2_INTERNAL_ERROR)
    );
  }

  async #serve(
    stream: http2.ServerHttp2Stream,
    state: StreamState,
    headers: http2.IncomingHttpHeaders,
    echo: EchoedRequest,
    b: Behaviour,
  ): Promise<void> {
    const head = { "x-origin": this.#name };
    if (b.kind === "expect-fail") {
      stream.respond({ ":status": 417, ...head }, { endStream: true });
      state.finished = true;
      return;
    }
    if (String(headers["expect"] ?? "").toLowerCase() === "100-continue") {
      stream.additionalHeaders({ ":status": 100 });
    }
    switch (b.kind) {
      case "echo-body": {
        stream.respond({
          ":status": 200,
          "content-type": String(headers["content-type"] ?? "application/octet-stream"),
          ...head,
        });
        stream.on("data", (c: Uint8Array) => echo.bodyBytes += c.length);
        stream.on("finish", () => state.finished = true);
        stream.pipe(stream);
        return;
      }
      case "reset":
        if (b.after === "nothing") return this.#reset(stream, b.code);
        stream.respond({ ":status": 200, ...head });
        if (b.after === "data") await writeWithFlowControl(stream, patternBytes(0, 1024));
        // Once a response has started, Deno's node:http2 close(code) ends the stream cleanly instead
        // (unless data is still queued); destroy(error) resets it, always with INTERNAL_ERROR.
        state.endedByUs = true;
        stream.destroy(new Error("reset by the test origin"));
        return;
      case "close":
        this.#closedByUs.add(state.session);
        // Deno's node:http2 sends the code only when destroy() is given an error (else NO_ERROR).
        if (b.code === constants.NGHTTP2_NO_ERROR) state.session.destroy();
        else state.session.destroy(new Error("closed by the test origin"), b.code);
        return;
      case "drop":
        // Deno's node:http2 refuses session.socket.destroy(); the socket itself came to "connection".
        this.#closedByUs.add(state.session);
        this.#socketOf(state.session)?.destroy();
        return;
      default:
        break;
    }
    echo.bodyBytes = await drain(stream);
    switch (b.kind) {
      case "echo":
        return this.#respondEcho(stream, state, echo, b.status);
      case "delay":
        if (await sleepUnlessClosed(b.ms, stream)) this.#respondEcho(stream, state, echo, 200);
        return;
      case "trailers":
        return this.#respondEcho(stream, state, echo, 200, {}, b.trailers);
      case "early-hints":
        stream.additionalHeaders({ ":status": 103, link: "</style.css>; rel=preload" });
        return this.#respondEcho(stream, state, echo, 200);
      case "large-headers":
        return this.#respondEcho(stream, state, echo, 200, { "x-large": "a".repeat(b.bytes) });
      case "goaway":
        this.#respondEcho(stream, state, echo, 200);
        await new Promise<void>((resolve) => stream.once("close", resolve));
        if (!state.session.destroyed) {
          // node:http2 sends GOAWAY NO_ERROR on close(); another code must go first, explicitly.
          if (b.code !== constants.NGHTTP2_NO_ERROR) state.session.goaway(b.code, stream.id);
          this.#closedByUs.add(state.session);
          state.session.close();
        }
        return;
      case "large":
        stream.respond({
          ":status": 200,
          "content-type": "application/octet-stream",
          ...head,
          ...(b.contentLength ? { "content-length": b.bytes } : {}),
        });
        for (let off = 0; off < b.bytes && !stream.destroyed; off += b.chunk) {
          await writeWithFlowControl(stream, patternBytes(off, Math.min(b.chunk, b.bytes - off)));
        }
        if (!stream.destroyed) stream.end(() => state.finished = true);
        return;
    }
  }

  #respondEcho(
    stream: http2.ServerHttp2Stream,
    state: StreamState,
    echo: EchoedRequest,
    status: number,
    extra: http2.OutgoingHttpHeaders = {},
    trailers?: Record<string, string>,
  ): void {
    if (stream.destroyed) return;
    stream.respond(
      { ":status": status, "content-type": "application/json", "x-origin": this.#name, ...extra },
      { waitForTrailers: trailers !== undefined },
    );
    if (trailers !== undefined) stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end(JSON.stringify(echo), () => state.finished = true);
  }

  #reset(stream: http2.ServerHttp2Stream, code: number): void {
    const state = this.#streams.get(stream);
    if (state !== undefined) state.endedByUs = true;
    if (!stream.destroyed) stream.close(code);
  }
}

/** Waits `ms`; resolves false early (and stops the timer) when the stream closes first. */
function sleepUnlessClosed(ms: number, stream: http2.ServerHttp2Stream): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (fired: boolean) => {
      clearTimeout(timer);
      stream.off("close", onClose);
      resolve(fired);
    };
    const onClose = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    stream.on("close", onClose);
  });
}

/** Reads a stream's body to its end; resolves with its length (0 if the client reset it). */
async function drain(stream: http2.ServerHttp2Stream): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of stream) n += (chunk as Uint8Array).length;
  } catch {
    // reset by the client
  }
  return n;
}

/** Writes one chunk and, when node buffers past its high-water mark, waits for drain (or the stream's end). */
function writeWithFlowControl(stream: http2.ServerHttp2Stream, chunk: Uint8Array): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

function regularHeaders(headers: http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(":") || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

// === Deno.serve origin ===

export interface DualOrigin extends OriginCounters {
  readonly name: string;
  readonly port: number;
  /** "127.0.0.1:port" */
  readonly address: string;
  /** Shuts the server down (in-flight responses are aborted) and waits for it. */
  stop(): Promise<void>;
}

export interface DualOriginOptions {
  /** Name in the echo and the `x-origin` response header. Default `dual-origin-<port>`. */
  name?: string;
}

/**
 * Starts a `Deno.serve` origin on 127.0.0.1 that speaks h2c prior knowledge and HTTP/1.1 on one port, with
 * the behaviours marked "yes" in the module table (the others answer 501). `sessions` counts connections.
 */
export function startDualOrigin(options: DualOriginOptions = {}): DualOrigin {
  const tally = new Tally();
  const connections = new Map<string, number>();
  // What stop() must end: Deno.serve's shutdown waits for every response in flight.
  const inFlight = new InFlight();
  let name = options.name ?? "";
  const abort = new AbortController();

  async function handle(req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const remote = `${info.remoteAddr.hostname}:${info.remoteAddr.port}`;
    let session = connections.get(remote);
    if (session === undefined) {
      session = tally.openSession();
      connections.set(remote, session);
    }
    const url = new URL(req.url);
    const path = url.pathname + url.search;
    tally.request(session, url.pathname);
    const echo: EchoedRequest = {
      origin: name,
      method: req.method,
      path,
      authority: url.host,
      headers: Object.fromEntries(req.headers),
      bodyBytes: 0,
      session,
    };
    tally.log.push(echo);
    let b: Behaviour;
    try {
      b = behaviourOf(path);
    } catch (e) {
      return new Response((e as Error).message, { status: 400 });
    }
    const head = { "x-origin": name };
    if (NODE_ONLY.has(b.kind)) {
      const error = `${url.pathname} needs node:http2: use startH2Origin()`;
      return Response.json({ error }, { status: 501, headers: head });
    }
    if (b.kind === "echo-body") {
      const type = req.headers.get("content-type") ?? "application/octet-stream";
      const body = req.body === null ? null : stoppable(req.body.pipeThrough(counting(echo)), inFlight);
      return new Response(body, { headers: { ...head, "content-type": type } });
    }
    if (b.kind === "large") {
      const length: Record<string, string> = b.contentLength ? { "content-length": String(b.bytes) } : {};
      return new Response(stoppable(patternStream(b.bytes, b.chunk), inFlight), {
        headers: { ...head, "content-type": "application/octet-stream", ...length },
      });
    }
    echo.bodyBytes = req.body === null ? 0 : (await req.arrayBuffer()).byteLength;
    if (b.kind === "delay") await sleepUnlessStopped(b.ms, inFlight);
    const status = b.kind === "echo" ? b.status : 200;
    // The Fetch API refuses a body with these statuses.
    if ([101, 103, 204, 205, 304].includes(status)) return new Response(null, { status, headers: head });
    return Response.json(echo, { status, headers: head });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: abort.signal, onListen: () => {} },
    handle,
  );
  const port = server.addr.port;
  if (!name) name = `dual-origin-${port}`;
  return withCounters(tally, {
    name,
    port,
    address: `127.0.0.1:${port}`,
    async stop() {
      inFlight.stopped = true;
      for (const end of [...inFlight]) end();
      abort.abort();
      await server.finished;
    },
  });
}

/** Counts the bytes passing through into `echo.bodyBytes`. */
function counting(echo: EchoedRequest): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      echo.bodyBytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

/**
 * The ends of the dual origin's responses in flight. A request counted before stop() may reach its body
 * or its delay only after it (the handler awaits in between): once stopped, what registers is ended at
 * once, so stop() never waits for a response it did not see.
 */
class InFlight extends Set<() => void> {
  stopped = false;

  override add(end: () => void): this {
    if (this.stopped) queueMicrotask(end);
    else super.add(end);
    return this;
  }
}

/** `body`, ended with an error (an aborted response) when stop() runs while it still flows. */
function stoppable(body: ReadableStream<Uint8Array>, inFlight: InFlight): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let end = () => {};
  return new ReadableStream({
    start(controller) {
      end = () => {
        inFlight.delete(end);
        controller.error(new Error("origin stopped"));
        reader.cancel().catch(() => {});
      };
      inFlight.add(end);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        inFlight.delete(end);
        controller.close();
      } else {
        controller.enqueue(value);
      }
    },
    cancel(reason) {
      inFlight.delete(end);
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Waits `ms`, or less when stop() runs. (A client that goes away does not end it: listening to
 * `request.signal` makes Deno warn about its legacy abort semantics.)
 */
function sleepUnlessStopped(ms: number, inFlight: InFlight): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      inFlight.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    inFlight.add(done);
  });
}

/** The `/large` body as a pull stream: the next chunk is made only when the transport wants it. */
function patternStream(total: number, chunk: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(controller) {
      if (off >= total) return controller.close();
      const n = Math.min(chunk, total - off);
      controller.enqueue(patternBytes(off, n));
      off += n;
    },
  }, { highWaterMark: 0 });
}
