/**
 * The codec conformance suite: the behaviour every registered codec must show, whatever its protocol (in
 * the spirit of hono's `common.case.test.ts`). A codec takes part through a `CodecConformanceAdapter`
 * that supplies its own fixtures — how to build its requests and responses, which decoded fields to
 * compare, inputs it must reject and what a rejection writes — while the suite owns the checks:
 *
 * - round trip: the server side decodes what the client side encodes and vice versa (byte-exact where
 *   the adapter gives golden wire bytes), and decoded heads stay intact once the read buffer is reused;
 * - partial reads: each message split in two at every offset, and fed byte by byte, gives the same
 *   events and the same output as one read;
 * - many messages in one read (pipelined or multiplexed), at every split point too;
 * - multiplexing, for multiplexed codecs: interleaved streams, responses out of order matched to the
 *   right stream by id, a cancelled stream's late response dropped;
 * - garbage, truncated input and the adapter's bad inputs end in a protocol error or reset and a closed
 *   connection, never an exception out of `feed`/`onEof` (EOF after whole preamble frames, before any
 *   request, is a clean close where the adapter declares a preamble);
 * - `match()` at every prefix length: again…match for the codec's own requests, again…fail for foreign
 *   bytes, never flip-flopping.
 *
 * `_conformance_test.ts` runs it on every codec in the registry and fails for a codec without an adapter.
 * Everything runs on the in-memory `FakeConnectionIO`: no sockets, no timers, deterministic.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ProxyError } from "../core/mod.ts";
import { FakeConnectionIO } from "./_test_io.ts";
import {
  type ClientConnection,
  type ClientStream,
  type CodecOptions,
  defaultCodecOptions,
  type HeaderMap,
  type MatchResult,
  type ProtocolCodec,
  type RequestHead,
  type ResponseHead,
  type ResponseReceiver,
  type ServerConnection,
  type ServerStream,
} from "./types.ts";

// === Adapter API ===

/** A head with the body and trailers that follow it. */
export interface ConformanceMessage<H> {
  head: H;
  body?: Uint8Array;
  trailers?: HeaderMap;
}

/** What the server side answers with: a response, or a local reply in the codec's own terms. */
export type ConformanceResponse =
  | ConformanceMessage<ResponseHead>
  | { localReply: ProxyError; body?: string };

/** What the receiving side must decode. */
export interface ConformanceExpectation {
  /**
   * Compared key by key with the decoded head's description (`describeRequest`/`describeResponse`).
   * Default: the description of the head that was sent.
   */
  fields?: Record<string, unknown>;
  /** [name, value] pairs that must be among the decoded headers (original case). */
  headers?: [string, string][];
  /** The decoded body. Default: the body sent (not checked for a local reply). */
  body?: Uint8Array;
}

/** One request/response exchange the codec must carry. */
export interface ConformanceExchange {
  name: string;
  /** Builds what the proxy hands the client side; called afresh for every run (codecs patch heads in place). */
  request(): ConformanceMessage<RequestHead>;
  /** Exact bytes the client side writes for it as a connection's first stream (golden vectors). */
  requestBytes?: Uint8Array;
  expectRequest?: ConformanceExpectation;
  /** Builds what the server side answers; called afresh for every run. */
  response(): ConformanceResponse;
  /** Exact bytes the server side writes for the response (empty: nothing goes back, as bolt oneway). */
  responseBytes?: Uint8Array;
  expectResponse?: ConformanceExpectation;
  /**
   * The connection ends with this exchange (HTTP/1 `Connection: close`, or a body delimited by EOF): the
   * server closes it, the client hears EOF after the response and is no longer reusable, the exchange is
   * not mixed with others, and cut responses are not checked (an EOF-delimited body cannot tell).
   */
  closesConnection?: boolean;
  /**
   * False when `match()` need not claim this request: traffic of a sibling protocol the codec also
   * decodes (a bolt connection takes v2 frames, but sniffing picks boltv2 for them). Default true.
   */
  sniffed?: boolean;
}

/** A codec's fixtures for the suite. */
export interface CodecConformanceAdapter {
  /** At least two exchanges, so the many-messages and multiplexing checks have something to mix. */
  exchanges: ConformanceExchange[];
  /**
   * Protocol fields of a decoded request, as plain data, added to the generic ones (protocol, method,
   * path, query, host). E.g. bolt's command code, timeout, class name and content.
   */
  describeRequest?(head: RequestHead): Record<string, unknown>;
  /** Protocol fields of a decoded response, added to `status`. */
  describeResponse?(head: ResponseHead): Record<string, unknown>;
  /** Downstream bytes the server side must reject as soon as it has read them (no EOF needed). */
  badRequests: { name: string; bytes: Uint8Array }[];
  /** Upstream bytes the client side must reject, with a request in flight. */
  badResponses: { name: string; bytes: Uint8Array }[];
  /**
   * Throws unless `written` is what the server sends when it rejects the bad request `name` (HTTP/1: a
   * 400; bolt: nothing; HTTP/2: its SETTINGS, then GOAWAY with the code that input earns).
   */
  assertRejectionReply(written: Uint8Array, name: string): void;
  /**
   * Offsets into a connection's first request bytes (as the client side writes them) where a client may
   * close cleanly: it has sent only whole connection-level frames of a protocol preamble (HTTP/2: the
   * frames after its preface, SETTINGS and WINDOW_UPDATE) and no request began. EOF there is a clean
   * close, like EOF between HTTP/1 requests, and must not be reported; at every other cut it must be.
   * Default: none (no preamble).
   */
  cleanRequestCuts?(bytes: Uint8Array): readonly number[];
  /** Other protocols' first bytes, which `match()` must fail on. */
  foreignBytes: { name: string; bytes: Uint8Array }[];
  options?: CodecOptions;
  /** Random garbage rounds (default 200). */
  garbageRounds?: number;
  /** Above this many bytes, split points are strided to keep the suite fast (default 4096). */
  maxSplitBytes?: number;
}

/** Runs a named sub-check: `t.step` under `Deno.test`, or a plain call (so a failure throws). */
export type StepRunner = (name: string, fn: () => void | Promise<void>) => Promise<unknown>;

/** One check of the suite; `ignore` when it does not apply to the codec (multiplexing on HTTP/1). */
export interface ConformanceCheck {
  name: string;
  ignore: boolean;
  run(step: StepRunner): Promise<void>;
}

/** Runs every check as a step of `t` (sub-checks as nested steps). */
export async function runCodecConformance(
  t: Deno.TestContext,
  codec: ProtocolCodec,
  adapter: CodecConformanceAdapter,
): Promise<void> {
  for (const check of codecConformanceChecks(codec, adapter)) {
    await t.step({
      name: check.name,
      ignore: check.ignore,
      fn: (t) => check.run((name, fn) => t.step(name, async () => await fn())),
    });
  }
}

/** Runs each sub-check in turn; the first failure throws (for testing the suite itself). */
export const inlineSteps: StepRunner = async (_name, fn) => {
  await fn();
};

/** The checks, in the order `runCodecConformance` runs them. */
export function codecConformanceChecks(
  codec: ProtocolCodec,
  adapter: CodecConformanceAdapter,
): ConformanceCheck[] {
  const ctx = new Harness(codec, adapter);
  const checks: ConformanceCheck[] = [
    { name: "round trip", ignore: false, run: (step) => roundTrip(ctx, step) },
    { name: "partial reads give identical results", ignore: false, run: (step) => partialReads(ctx, step) },
    { name: "many messages in one read", ignore: false, run: (step) => manyMessages(ctx, step) },
    {
      name: "multiplexing matches out-of-order responses by id",
      ignore: !codec.multiplexed,
      run: (step) => multiplexing(ctx, step),
    },
    { name: "garbage and truncation close the connection", ignore: false, run: (step) => garbage(ctx, step) },
    { name: "match() at every prefix length", ignore: false, run: (step) => sniffing(ctx, step) },
  ];
  return checks;
}

/** The bytes the codec's client side writes for each exchange's request, on a fresh connection each. */
export async function encodeExchangeRequests(
  codec: ProtocolCodec,
  adapter: CodecConformanceAdapter,
): Promise<{ exchange: ConformanceExchange; bytes: Uint8Array }[]> {
  const ctx = new Harness(codec, adapter);
  const out = [];
  for (const exchange of adapter.exchanges) {
    const c = ctx.client();
    await c.send(exchange);
    out.push({ exchange, bytes: c.io.bytes() });
  }
  return out;
}

// === Recording ===

type Event = unknown[];
const latin1 = new TextDecoder("latin1");
const EMPTY = new Uint8Array(0);

function headerList(h: HeaderMap): [string, string][] {
  const out: [string, string][] = [];
  h.forEach((v, n) => out.push([n, v]));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Bytes as text when they are printable (HTTP), else hex (binary frames), for readable diffs. */
function show(b: Uint8Array): string {
  for (const c of b) {
    if ((c < 0x20 && c !== 0x0d && c !== 0x0a && c !== 0x09) || c > 0x7e) {
      let s = "";
      for (const x of b) s += x.toString(16).padStart(2, "0");
      return s;
    }
  }
  return latin1.decode(b);
}

/** Appends a data event, merged with a previous unfinished one (chunk boundaries carry no meaning). */
function pushData(events: Event[], chunk: Uint8Array, end: boolean): void {
  const last = events[events.length - 1];
  if (last !== undefined && last[0] === "data" && last[2] === false) {
    last[1] = (last[1] as string) + latin1.decode(chunk);
    last[2] = end;
  } else {
    events.push(["data", latin1.decode(chunk), end]);
  }
}

const wantJson = new WeakMap<object, string>();

/**
 * deepStrictEqual for recorded events, with a fast path: they are plain data, so equal JSON is equal.
 * `want` is compared against many runs and must not change once passed here.
 */
function sameEvents(got: unknown[], want: unknown[], message: string): void {
  let json = wantJson.get(want);
  if (json === undefined) wantJson.set(want, json = JSON.stringify(want));
  if (JSON.stringify(got) !== json) deepStrictEqual(got, want, message);
}

/** strictEqual for bytes, shown as text or hex only when they differ. */
function sameBytes(got: Uint8Array, want: Uint8Array, message: string): void {
  if (got.length === want.length && got.every((b, i) => b === want[i])) return;
  strictEqual(show(got), show(want), message);
}

function bodyOf(events: Event[]): string {
  return events.filter((e) => e[0] === "data").map((e) => e[1]).join("");
}

/** Waits one macrotask, so every promise chain a codec started has run (setTimeout(0) costs ~2 ms). */
function settle(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/** Feeds each part as a fresh copy that is then scribbled over, to catch views kept past the call. */
async function feedAll(conn: { feed(d: Uint8Array): void | Promise<void> }, parts: Uint8Array[]) {
  for (const p of parts) {
    const copy = p.slice();
    try {
      const r = conn.feed(copy);
      if (r !== undefined) await r;
    } catch (cause) {
      throw new Error(`feed() threw on ${show(p).slice(0, 80)}`, { cause });
    }
    copy.fill(0x5a);
  }
}

function eof(conn: { onEof(): void }): void {
  try {
    conn.onEof();
  } catch (cause) {
    throw new Error("onEof() threw", { cause });
  }
}

class Harness {
  readonly codec: ProtocolCodec;
  readonly adapter: CodecConformanceAdapter;
  readonly options: CodecOptions;
  readonly maxSplit: number;
  readonly #wire = new Map<ConformanceExchange, { req: Uint8Array; res: Uint8Array }>();

  constructor(codec: ProtocolCodec, adapter: CodecConformanceAdapter) {
    this.codec = codec;
    this.adapter = adapter;
    this.options = adapter.options ?? defaultCodecOptions;
    this.maxSplit = adapter.maxSplitBytes ?? 4096;
  }

  describeRequest(head: RequestHead): Record<string, unknown> {
    const { protocol, method, path, query, host } = head;
    return { protocol, method, path, query, host, ...this.adapter.describeRequest?.(head) };
  }

  describeResponse(head: ResponseHead): Record<string, unknown> {
    return { status: head.status, ...this.adapter.describeResponse?.(head) };
  }

  server(
    respond?: (stream: ServerStream, index: number) => ConformanceResponse | undefined,
  ): RecordingServer {
    return new RecordingServer(this, respond);
  }

  /** A server that answers its n-th request with the response of `exchanges[n]` (cycling). */
  answering(exchanges: readonly ConformanceExchange[]): RecordingServer {
    return this.server((_s, i) => exchanges[i % exchanges.length]?.response());
  }

  client(): RecordingClient {
    return new RecordingClient(this);
  }

  /** An exchange's request and response bytes, as the codec itself writes them. */
  async wire(ex: ConformanceExchange): Promise<{ req: Uint8Array; res: Uint8Array }> {
    let w = this.#wire.get(ex);
    if (w === undefined) {
      const c = this.client();
      await c.send(ex);
      const req = c.io.bytes();
      const srv = this.answering([ex]);
      await srv.feed([req]);
      w = { req, res: srv.io.bytes() };
      this.#wire.set(ex, w);
    }
    return w;
  }
}

/** A server connection that records every event and answers requests as `respond` says. */
class RecordingServer {
  readonly io = new FakeConnectionIO();
  readonly events: Event[] = [];
  readonly streams: ServerStream[] = [];
  readonly protocolErrors: ProxyError[] = [];
  readonly sendErrors: unknown[] = [];
  readonly conn: ServerConnection;
  /** The most streams active at once, seen when each request arrived. */
  maxActive = 0;
  resets = 0;
  readonly #ctx: Harness;
  readonly #respond: ((stream: ServerStream, index: number) => ConformanceResponse | undefined) | undefined;

  constructor(
    ctx: Harness,
    respond?: (stream: ServerStream, index: number) => ConformanceResponse | undefined,
  ) {
    this.#ctx = ctx;
    this.#respond = respond;
    this.conn = ctx.codec.newServerConnection(this.io, {
      onRequest: (s) => this.#onRequest(s),
      onProtocolError: (e) => {
        this.protocolErrors.push(e);
        this.events.push(["protocol_error", e.kind, e.source]);
      },
      onHeartbeat: () => {
        this.events.push(["heartbeat"]);
      },
    }, ctx.options);
  }

  async feed(parts: Uint8Array[]): Promise<void> {
    await feedAll(this.conn, parts);
    await settle();
  }

  /** Sends `r` on `s`; rejections are recorded, never unhandled. */
  respond(s: ServerStream, r: ConformanceResponse): void {
    const failed = (e: unknown) => {
      this.sendErrors.push(e);
    };
    if ("localReply" in r) {
      s.sendLocalReply(r.localReply, r.body).catch(failed);
      return;
    }
    const hasBody = r.body !== undefined && r.body.length > 0;
    s.sendResponse(r.head, !hasBody && r.trailers === undefined).catch(failed);
    if (hasBody) s.sendData(r.body!, r.trailers === undefined).catch(failed);
    if (r.trailers !== undefined) s.sendTrailers(r.trailers).catch(failed);
  }

  /** Each request's description now, to compare with the one recorded when it arrived. */
  describeAgain(): Event[] {
    return this.streams.map((s) => [this.#ctx.describeRequest(s.request), headerList(s.request.headers)]);
  }

  /** The requests as recorded on arrival. */
  requests(): Event[] {
    return this.events.filter((e) => e[0] === "request");
  }

  #onRequest(s: ServerStream): void {
    const index = this.streams.length;
    this.streams.push(s);
    this.maxActive = Math.max(this.maxActive, this.conn.activeStreams);
    const r = s.request;
    this.events.push(["request", s.id, this.#ctx.describeRequest(r), headerList(r.headers), s.headOnly]);
    const answer = this.#respond?.(s, index);
    const respond = () => {
      if (answer !== undefined) this.respond(s, answer);
    };
    const events = this.events;
    s.setBodyReceiver({
      onData: (chunk, end) => {
        pushData(events, chunk, end);
        if (end) respond();
      },
      onTrailers: (t) => {
        events.push(["trailers", headerList(t)]);
        respond();
      },
      onReset: (e) => {
        this.resets++;
        events.push(["reset", s.id, e.kind]);
      },
    });
    if (s.headOnly) respond();
  }
}

/** Records one client stream's response events. */
class RecordingReceiver implements ResponseReceiver {
  readonly events: Event[] = [];
  readonly heads: ResponseHead[] = [];
  readonly resets: ProxyError[] = [];
  readonly #ctx: Harness;

  constructor(ctx: Harness) {
    this.#ctx = ctx;
  }

  onResponse(head: ResponseHead, end: boolean): void {
    this.heads.push(head);
    this.events.push(["response", this.#ctx.describeResponse(head), headerList(head.headers), end]);
  }
  onData(chunk: Uint8Array, end: boolean): void {
    pushData(this.events, chunk, end);
  }
  onTrailers(t: HeaderMap): void {
    this.events.push(["trailers", headerList(t)]);
  }
  onReset(e: ProxyError): void {
    this.resets.push(e);
    this.events.push(["reset", e.kind]);
  }
}

/** A client connection with its IO and handler recorded. */
class RecordingClient {
  readonly io = new FakeConnectionIO();
  readonly unusable: ProxyError[] = [];
  readonly conn: ClientConnection;
  readonly #ctx: Harness;

  constructor(ctx: Harness) {
    this.#ctx = ctx;
    this.conn = ctx.codec.newClientConnection(
      this.io,
      { onUnusable: (e) => this.unusable.push(e) },
      ctx.options,
    );
  }

  /** Opens a stream (without sending). */
  open(): { stream: ClientStream; rec: RecordingReceiver } {
    const rec = new RecordingReceiver(this.#ctx);
    return { stream: this.conn.newStream(rec), rec };
  }

  /** Opens a stream and sends the exchange's request on it. */
  async send(ex: ConformanceExchange): Promise<{ stream: ClientStream; rec: RecordingReceiver }> {
    const s = this.open();
    await sendRequest(s.stream, ex.request());
    return s;
  }

  async feed(parts: Uint8Array[], thenEof = false): Promise<void> {
    await feedAll(this.conn, parts);
    if (thenEof) eof(this.conn);
    await settle();
  }
}

async function sendRequest(s: ClientStream, m: ConformanceMessage<RequestHead>): Promise<void> {
  const hasBody = m.body !== undefined && m.body.length > 0;
  await s.sendRequest(m.head, !hasBody && m.trailers === undefined);
  if (hasBody) await s.sendData(m.body!, m.trailers === undefined);
  if (m.trailers !== undefined) await s.sendTrailers(m.trailers);
}

/** Split points: every offset (strided above `max` bytes), then one byte at a time. */
function splits(bytes: Uint8Array, max: number): { label: string; parts: Uint8Array[] }[] {
  const out: { label: string; parts: Uint8Array[] }[] = [];
  const stride = Math.max(1, Math.ceil(bytes.length / max));
  for (let i = 1; i < bytes.length; i += stride) {
    out.push({ label: `split at ${i}/${bytes.length}`, parts: [bytes.subarray(0, i), bytes.subarray(i)] });
  }
  if (bytes.length > 1) {
    const ones: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i++) ones.push(bytes.subarray(i, i + 1));
    out.push({ label: "byte by byte", parts: ones });
  }
  return out;
}

/** match() results by prefix length, run-length encoded: "again 0-3, match 4-40". */
function runs(r: MatchResult[]): string {
  const out: string[] = [];
  for (let i = 0; i < r.length;) {
    let j = i;
    while (j + 1 < r.length && r[j + 1] === r[i]) j++;
    out.push(`${r[i]} ${i === j ? i : `${i}-${j}`}`);
    i = j + 1;
  }
  return out.slice(0, 8).join(", ") + (out.length > 8 ? ", …" : "");
}

/** A small deterministic PRNG (mulberry32) so garbage failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertFields(what: string, got: Record<string, unknown>, want: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(want)) deepStrictEqual(got[k], v, `${what}: field ${k}`);
}

function assertHeaders(what: string, got: [string, string][], want: [string, string][] | undefined): void {
  for (const [n, v] of want ?? []) {
    ok(
      got.some(([gn, gv]) => gn === n && gv === v),
      `${what}: missing header ${n}: ${v} in ${JSON.stringify(got)}`,
    );
  }
}

/** Checks a receiver got exactly the exchange's response, once, and no reset. */
function assertResponse(ctx: Harness, what: string, ex: ConformanceExchange, rec: RecordingReceiver): void {
  strictEqual(rec.resets.length, 0, `${what}: stream reset (${rec.resets[0]?.message})`);
  const heads = rec.events.filter((e) => e[0] === "response");
  strictEqual(heads.length, 1, `${what}: expected one response, got ${heads.length}`);
  const [, fields, headers] = heads[0] as [string, Record<string, unknown>, [string, string][]];
  const sent = ex.response();
  const e = ex.expectResponse ?? {};
  let want = e.fields;
  if (want === undefined) {
    if ("localReply" in sent) {
      throw new TypeError(`Cannot check "${ex.name}": a local reply needs expectResponse.fields`);
    }
    want = ctx.describeResponse(sent.head);
  }
  assertFields(what, fields, want);
  assertHeaders(what, headers, e.headers);
  const body = e.body ?? ("localReply" in sent ? undefined : sent.body ?? EMPTY);
  if (body !== undefined) strictEqual(bodyOf(rec.events), latin1.decode(body), `${what}: response body`);
  // Heads handed to the receiver must not be views into the reused read buffer.
  deepStrictEqual(
    ctx.describeResponse(rec.heads[0]!),
    fields,
    `${what}: response head changed after the read`,
  );
}

/** Checks the server decoded the exchange's request as its `index`-th request. */
function assertRequest(
  ctx: Harness,
  what: string,
  ex: ConformanceExchange,
  srv: RecordingServer,
  index: number,
): void {
  const req = srv.requests()[index];
  ok(req !== undefined, `${what}: server decoded no request #${index}`);
  const [, , fields, headers] = req as [string, number, Record<string, unknown>, [string, string][]];
  const sent = ex.request();
  const e = ex.expectRequest ?? {};
  assertFields(what, fields, e.fields ?? ctx.describeRequest(sent.head));
  assertHeaders(what, headers, e.headers);
  deepStrictEqual(
    srv.describeAgain()[index],
    [fields, headers],
    `${what}: request head changed after the read`,
  );
}

// === Checks ===

async function roundTrip(ctx: Harness, step: StepRunner): Promise<void> {
  for (const ex of ctx.adapter.exchanges) {
    await step(ex.name, async () => {
      const c = ctx.client();
      const { rec } = await c.send(ex);
      const req = c.io.bytes();
      if (ex.requestBytes !== undefined) sameBytes(req, ex.requestBytes, "request bytes");
      const srv = ctx.answering([ex]);
      await srv.feed([req]);
      deepStrictEqual(srv.protocolErrors, [], "server reported a protocol error");
      deepStrictEqual(srv.sendErrors, [], "server could not send the response");
      strictEqual(srv.requests().length, 1, "server decoded one request");
      assertRequest(ctx, "server", ex, srv, 0);
      strictEqual(bodyOf(srv.events), latin1.decode(ex.expectRequest?.body ?? ex.request().body ?? EMPTY));
      strictEqual(srv.resets, 0, "server stream was reset");
      const res = srv.io.bytes();
      if (ex.responseBytes !== undefined) sameBytes(res, ex.responseBytes, "response bytes");
      strictEqual(srv.io.closed, ex.closesConnection === true, "server closed the connection after it");
      strictEqual(srv.conn.activeStreams, 0, "server stream still active after its response");
      await c.feed([res], ex.closesConnection);
      assertResponse(ctx, "client", ex, rec);
      strictEqual(c.conn.activeStreams, 0, "client stream still active after its response");
      strictEqual(c.conn.reusable, !ex.closesConnection, "client reusable after the exchange");
      strictEqual(c.io.writesAfterClose + srv.io.writesAfterClose, 0, "wrote after close");
    });
  }
}

async function partialReads(ctx: Harness, step: StepRunner): Promise<void> {
  for (const ex of ctx.adapter.exchanges) {
    await step(ex.name, async () => {
      const w = await ctx.wire(ex);
      const whole = ctx.answering([ex]);
      await whole.feed([w.req]);
      for (const { label, parts } of splits(w.req, ctx.maxSplit)) {
        const s = ctx.answering([ex]);
        await s.feed(parts);
        sameEvents(s.events, whole.events, `server events, request ${label}`);
        sameBytes(s.io.bytes(), whole.io.bytes(), `server output, request ${label}`);
      }
      const base = ctx.client();
      const { rec: baseRec } = await base.send(ex);
      await base.feed([w.res], ex.closesConnection);
      for (const { label, parts } of splits(w.res, ctx.maxSplit)) {
        const c = ctx.client();
        const { rec } = await c.send(ex);
        await c.feed(parts, ex.closesConnection);
        sameEvents(rec.events, baseRec.events, `client events, response ${label}`);
        strictEqual(c.conn.activeStreams, base.conn.activeStreams, `client streams, response ${label}`);
      }
    });
  }
}

/** Exchanges that leave the connection open, so several can share one. */
function reusableExchanges(ctx: Harness): ConformanceExchange[] {
  const list = ctx.adapter.exchanges.filter((e) => !e.closesConnection);
  ok(list.length >= 2, "the adapter needs two or more exchanges that keep the connection open");
  return list;
}

async function manyMessages(ctx: Harness, step: StepRunner): Promise<void> {
  const list = reusableExchanges(ctx);
  const multiplexed = ctx.codec.multiplexed;
  // A multiplexed client puts every request on one connection (distinct ids); otherwise they are pipelined.
  const encode = async () => {
    const c = ctx.client();
    const streams = [];
    for (const ex of list) streams.push({ ex, ...(await c.send(ex)) });
    return { c, streams, req: c.io.bytes() };
  };
  const wires: { req: Uint8Array; res: Uint8Array }[] = [];
  for (const ex of list) wires.push(await ctx.wire(ex));
  const req = multiplexed ? (await encode()).req : concat(wires.map((w) => w.req));

  const whole = ctx.answering(list);
  await step(`server decodes ${list.length} requests from one read`, async () => {
    await whole.feed([req]);
    deepStrictEqual(whole.protocolErrors, []);
    deepStrictEqual(whole.sendErrors, []);
    strictEqual(whole.requests().length, list.length, "requests decoded");
    list.forEach((ex, i) => assertRequest(ctx, `request #${i} (${ex.name})`, ex, whole, i));
    if (!multiplexed) {
      ok(whole.maxActive <= 1, `a non-multiplexed codec had ${whole.maxActive} streams active at once`);
      const each = concat(wires.map((w) => w.res));
      sameBytes(whole.io.bytes(), each, "pipelined responses in request order");
    }
  });
  await step("at every split point", async () => {
    for (const { label, parts } of splits(req, ctx.maxSplit)) {
      const s = ctx.answering(list);
      await s.feed(parts);
      sameEvents(s.events, whole.events, `server events, ${label}`);
      sameBytes(s.io.bytes(), whole.io.bytes(), `server output, ${label}`);
    }
  });
  if (!multiplexed) return;
  await step(`client matches ${list.length} responses from one read`, async () => {
    const res = whole.io.bytes();
    const base = await encode();
    await base.c.feed([res]);
    base.streams.forEach((s, i) => assertResponse(ctx, `response #${i} (${s.ex.name})`, s.ex, s.rec));
    strictEqual(base.c.conn.activeStreams, 0);
    const want = base.streams.map((s) => s.rec.events);
    for (const { label, parts } of splits(res, ctx.maxSplit)) {
      const run = await encode();
      await run.c.feed(parts);
      sameEvents(run.streams.map((s) => s.rec.events), want, label);
    }
  });
}

async function multiplexing(ctx: Harness, step: StepRunner): Promise<void> {
  const list = reusableExchanges(ctx);
  const cancelled = new ProxyError("downstream_reset", "downstream", "conformance: client cancelled");

  /** Opens every stream first, then sends the requests last-opened first: ids interleave on the wire. */
  const open = async () => {
    const c = ctx.client();
    const streams = list.map((ex) => ({ ex, ...c.open() }));
    for (let i = streams.length - 1; i >= 0; i--) await sendRequest(streams[i]!.stream, list[i]!.request());
    return { c, streams, req: c.io.bytes() };
  };
  const first = await open();
  const ids = first.streams.map((s) => s.stream.id);
  // Split reads on the server side are "many messages in one read"; ids change nothing there.
  const whole = ctx.server();
  await whole.feed([first.req]);
  await step(`server decodes ${list.length} interleaved streams`, () => {
    strictEqual(new Set(ids).size, ids.length, `client ids are not distinct: ${ids}`);
    deepStrictEqual(whole.protocolErrors, []);
    strictEqual(whole.streams.length, list.length, "server streams");
    strictEqual(whole.conn.activeStreams, list.length, "server streams active before any response");
    deepStrictEqual(
      whole.streams.map((s) => s.id).sort((a, b) => a - b),
      [...ids].sort((a, b) => a - b),
      "server stream ids are the ids the client sent",
    );
    whole.streams.forEach((s, i) => {
      const at = ids.indexOf(s.id);
      assertRequest(ctx, `stream ${s.id} (${list[at]!.name})`, list[at]!, whole, i);
    });
  });
  // Answer in an order that is neither arrival nor its reverse: odd arrivals first, then even.
  const order = whole.streams.map((_, i) => i);
  order.sort((a, b) => (b % 2) - (a % 2) || a - b);
  for (const i of order) {
    const s = whole.streams[i]!;
    whole.respond(s, list[ids.indexOf(s.id)]!.response());
  }
  await settle();
  const res = whole.io.bytes();

  /** Feeds the responses after cancelling one stream still waiting; returns every receiver's events. */
  const client = async (parts: Uint8Array[]) => {
    const run = await open();
    sameBytes(run.req, first.req, "the client writes the same bytes every run");
    const waiting = run.streams.findIndex((s) => s.rec.events.length === 0);
    ok(waiting >= 0, "no stream waits for a response");
    run.streams[waiting]!.stream.reset(cancelled);
    await run.c.feed(parts);
    return { run, waiting };
  };
  const base = await client([res]);
  await step("client gets each response on its own stream", () => {
    deepStrictEqual(whole.sendErrors, []);
    strictEqual(whole.conn.activeStreams, 0, "server streams active after every response");
    base.run.streams.forEach((s, i) => {
      const what = `stream ${s.stream.id} (${s.ex.name})`;
      if (i === base.waiting) {
        deepStrictEqual(s.rec.events, [], `${what}: cancelled, yet heard of its response`);
      } else assertResponse(ctx, what, s.ex, s.rec);
    });
    strictEqual(base.run.c.conn.activeStreams, 0, "client streams active after every response");
    ok(base.run.c.conn.reusable, "client connection still reusable");
    ok(!base.run.c.io.closed, "client connection still open");
  });
  await step("client matches them alike at every split point", async () => {
    const want = base.run.streams.map((s) => s.rec.events);
    for (const { label, parts } of splits(res, ctx.maxSplit)) {
      sameEvents((await client(parts)).run.streams.map((s) => s.rec.events), want, label);
    }
  });
}

async function garbage(ctx: Harness, step: StepRunner): Promise<void> {
  const first = ctx.adapter.exchanges[0]!;
  /** After a rejection: closed, nothing written after close, and later bytes ignored. */
  const assertServerClosed = async (what: string, srv: RecordingServer) => {
    await settle();
    ok(srv.io.closed, `${what}: server connection not closed`);
    strictEqual(srv.io.writesAfterClose, 0, `${what}: server wrote after close`);
    for (const e of srv.protocolErrors) strictEqual(e.source, "downstream", `${what}: ${e.kind} source`);
    const before = srv.events.length;
    await srv.feed([(await ctx.wire(first)).req]);
    eof(srv.conn);
    const decoded = srv.events.slice(0, before).filter((e) => e[0] === "request").length;
    strictEqual(srv.requests().length, decoded, `${what}: decoded a request fed after the close`);
  };
  const assertClientClosed = (what: string, c: RecordingClient) => {
    ok(c.io.closed, `${what}: client connection not closed`);
    ok(!c.conn.reusable, `${what}: client connection still reusable`);
    strictEqual(c.io.writesAfterClose, 0, `${what}: client wrote after close`);
  };

  await step("random bytes", async () => {
    const rand = rng(0x5eed);
    for (let round = 0; round < (ctx.adapter.garbageRounds ?? 200); round++) {
      const len = 1 + Math.floor(rand() * 300);
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
      const parts: Uint8Array[] = [];
      for (let p = 0; p < len;) {
        const n = 1 + Math.floor(rand() * 64);
        parts.push(bytes.subarray(p, p + n));
        p += n;
      }
      const what = `round ${round}`;
      const srv = ctx.server();
      await srv.feed(parts);
      eof(srv.conn);
      ok(srv.protocolErrors.length + srv.resets > 0, `${what}: server reported nothing`);
      await assertServerClosed(what, srv);
      const c = ctx.client();
      const { rec } = await c.send(first);
      await c.feed(parts);
      eof(c.conn);
      ok(rec.resets.length + c.unusable.length > 0, `${what}: client reported nothing`);
      assertClientClosed(what, c);
    }
  });
  await step("truncated input then EOF", async () => {
    for (const ex of ctx.adapter.exchanges) {
      const w = await ctx.wire(ex);
      const clean = new Set(ctx.adapter.cleanRequestCuts?.(w.req) ?? []);
      for (let cut = 1; cut < w.req.length; cut++) {
        const what = `${ex.name}: request cut at ${cut}`;
        const srv = ctx.answering([ex]);
        await srv.feed([w.req.subarray(0, cut)]);
        eof(srv.conn);
        if (clean.has(cut)) {
          // Only whole preamble frames, no request begun: a clean close, not a truncation.
          strictEqual(srv.requests().length, 0, `${what}: a request decoded from the preamble`);
          deepStrictEqual(srv.protocolErrors, [], `${what}: a clean close reported as a protocol error`);
        } else ok(srv.protocolErrors.length + srv.resets > 0, `${what}: not reported`);
        await assertServerClosed(what, srv);
      }
      if (ex.closesConnection) continue;
      for (let cut = 1; cut < w.res.length; cut++) {
        const what = `${ex.name}: response cut at ${cut}`;
        const c = ctx.client();
        const { rec } = await c.send(ex);
        await c.feed([w.res.subarray(0, cut)]);
        eof(c.conn);
        ok(rec.resets.length > 0, `${what}: stream not reset`);
        for (const e of rec.resets) strictEqual(e.source, "upstream", `${what}: ${e.kind} source`);
        assertClientClosed(what, c);
      }
    }
  });
  for (const bad of ctx.adapter.badRequests) {
    await step(`server rejects ${bad.name}`, async () => {
      const srv = ctx.server();
      await srv.feed([bad.bytes]);
      ok(srv.protocolErrors.length > 0, `${bad.name}: accepted`);
      ctx.adapter.assertRejectionReply(srv.io.bytes(), bad.name);
      // One read or one byte at a time, the same verdict and reply.
      const bytewise = ctx.server();
      await bytewise.feed(Array.from(bad.bytes, (_, i) => bad.bytes.subarray(i, i + 1)));
      deepStrictEqual(bytewise.events, srv.events, `${bad.name}: byte by byte`);
      sameBytes(bytewise.io.bytes(), srv.io.bytes(), `${bad.name}: reply byte by byte`);
      await assertServerClosed(bad.name, srv);
    });
  }
  for (const bad of ctx.adapter.badResponses) {
    await step(`client rejects ${bad.name}`, async () => {
      const c = ctx.client();
      const { rec } = await c.send(first);
      await c.feed([bad.bytes]);
      ok(rec.resets.length > 0, `${bad.name}: stream not reset`);
      ok(c.unusable.length > 0, `${bad.name}: connection not reported unusable`);
      assertClientClosed(bad.name, c);
    });
  }
}

async function sniffing(ctx: Harness, step: StepRunner): Promise<void> {
  const prefixes = (b: Uint8Array): MatchResult[] => {
    const out: MatchResult[] = [];
    for (let n = 0; n <= b.length; n++) out.push(ctx.codec.match(b.subarray(0, n)));
    return out;
  };
  /** "again" until a verdict, then the verdict for every longer prefix. */
  const settled = (what: string, r: MatchResult[], verdict: MatchResult) => {
    const at = r.findIndex((x) => x !== "again");
    ok(at >= 0, `${what}: still "again" with all ${r.length - 1} bytes`);
    ok(r.slice(at).every((x) => x === verdict), `${what}: want again… then ${verdict}, got ${runs(r)}`);
  };
  await step("claims its own requests", async () => {
    strictEqual(ctx.codec.match(EMPTY), "again", "no bytes yet");
    for (const ex of ctx.adapter.exchanges) {
      if (ex.sniffed === false) continue;
      settled(ex.name, prefixes((await ctx.wire(ex)).req), "match");
    }
  });
  await step("fails on foreign bytes", () => {
    for (const f of ctx.adapter.foreignBytes) settled(f.name, prefixes(f.bytes), "fail");
  });
}
