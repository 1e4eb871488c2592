/**
 * A conformance suite every codec runs (HTTP/1 now, bolt/dubbo later), in the spirit of hono's
 * `common.case.test.ts`: given a codec and sample exchanges it checks
 * (a) round trip: the server side decodes what the client side encodes and vice versa, byte-exact where
 *     the fixture gives wire bytes;
 * (b) partial reads: the same bytes split in two at every index, and fed one byte at a time, give the
 *     same events and the same output as one read;
 * (c) garbage: random bytes and truncated input followed by EOF never throw out of `feed`/`onEof`, end
 *     in onProtocolError/onReset, and close the connection.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import type { ProxyError } from "../core/mod.ts";
import { FakeConnectionIO } from "./_test_io.ts";
import {
  type BodyReceiver,
  type ClientConnection,
  type CodecOptions,
  defaultCodecOptions,
  type HeaderMap,
  type ProtocolCodec,
  type RequestHead,
  type ResponseHead,
  type ResponseReceiver,
  type ServerConnection,
  type ServerStream,
} from "./types.ts";

export interface ConformanceExchange {
  name: string;
  /** What the proxy hands the client side. */
  request: { head: RequestHead; body?: Uint8Array; trailers?: HeaderMap };
  /** Exact bytes the client side must write, when meaningful. */
  requestBytes?: Uint8Array;
  /** What the server side must decode (defaults: the request's own fields). */
  expectRequest?: {
    method?: string;
    path?: string;
    query?: string;
    host?: string;
    /** [name, value] pairs that must be present (original case). */
    headers?: [string, string][];
  };
  response: { head: ResponseHead; body?: Uint8Array; trailers?: HeaderMap };
  /** Exact bytes the server side must write, when meaningful. */
  responseBytes?: Uint8Array;
  /** The response body ends at EOF (truncation cannot be detected). */
  closeDelimited?: boolean;
}

export interface ConformanceFixture {
  codec: ProtocolCodec;
  options?: CodecOptions;
  exchanges: ConformanceExchange[];
  /** Extra malformed downstream inputs that must end in onProtocolError. */
  badRequests?: { name: string; bytes: Uint8Array }[];
  /** Random garbage rounds (default 200). */
  garbageRounds?: number;
  /** Skip the split test on every index for inputs longer than this (default 4096). */
  maxSplitBytes?: number;
}

type Event = unknown[];
const td = new TextDecoder("latin1");

function headerList(h: HeaderMap): [string, string][] {
  const out: [string, string][] = [];
  h.forEach((v, n) => out.push([n, v]));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
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

/** Appends a data event, merging with a previous data event (chunk boundaries are not semantic). */
function pushData(events: Event[], chunk: Uint8Array, end: boolean): void {
  const last = events[events.length - 1];
  if (last !== undefined && last[0] === "data" && last[2] === false) {
    last[1] = (last[1] as string) + td.decode(chunk);
    last[2] = end;
  } else {
    events.push(["data", td.decode(chunk), end]);
  }
}

/** A server that records events and answers each request with its exchange's response at body end. */
class RecordingServer {
  readonly io = new FakeConnectionIO();
  readonly events: Event[] = [];
  readonly conn: ServerConnection;
  readonly streams: ServerStream[] = [];
  errors = 0;
  resets = 0;
  #responses: ConformanceExchange["response"][];
  #n = 0;

  constructor(codec: ProtocolCodec, options: CodecOptions, responses: ConformanceExchange["response"][]) {
    this.#responses = responses;
    this.conn = codec.newServerConnection(this.io, {
      onRequest: (s) => this.#onRequest(s),
      onProtocolError: (e) => {
        this.errors++;
        this.events.push(["protocol_error", e.kind]);
      },
    }, options);
  }

  #onRequest(s: ServerStream): void {
    this.streams.push(s);
    const r = s.request;
    this.events.push(["request", r.method, r.path, r.query, r.host, headerList(r.headers), s.headOnly]);
    const resp = this.#responses[this.#n++ % Math.max(1, this.#responses.length)];
    const events = this.events;
    const respond = () => {
      if (resp === undefined) return;
      const hasBody = resp.body !== undefined && resp.body.length > 0;
      void s.sendResponse(resp.head, !hasBody && resp.trailers === undefined);
      if (hasBody) void s.sendData(resp.body!, resp.trailers === undefined);
      if (resp.trailers !== undefined) void s.sendTrailers(resp.trailers);
    };
    const receiver: BodyReceiver = {
      onData: (chunk, end) => {
        pushData(events, chunk, end);
        if (end) respond();
      },
      onTrailers: (t) => {
        events.push(["trailers", headerList(t)]);
        respond();
      },
      onReset: (e: ProxyError) => {
        this.resets++;
        events.push(["reset", e.kind]);
      },
    };
    s.setBodyReceiver(receiver);
    if (s.headOnly) respond();
  }
}

class RecordingReceiver implements ResponseReceiver {
  readonly events: Event[] = [];
  resets = 0;
  onResponse(head: ResponseHead, end: boolean): void {
    this.events.push(["response", head.status, headerList(head.headers), end]);
  }
  onData(chunk: Uint8Array, end: boolean): void {
    pushData(this.events, chunk, end);
  }
  onTrailers(t: HeaderMap): void {
    this.events.push(["trailers", headerList(t)]);
  }
  onReset(e: ProxyError): void {
    this.resets++;
    this.events.push(["reset", e.kind]);
  }
}

async function feedAll(
  conn: { feed(d: Uint8Array): void | Promise<void> },
  parts: Uint8Array[],
): Promise<void> {
  for (const p of parts) {
    // Each part is a fresh copy that is then scribbled over, to catch views kept past the call.
    const copy = p.slice();
    const r = conn.feed(copy);
    if (r !== undefined) await r;
    copy.fill(0x5a);
  }
}

/** Client side: sends the exchange's request and returns the bytes it wrote. */
async function clientSend(
  fx: ConformanceFixture,
  ex: ConformanceExchange,
): Promise<{ conn: ClientConnection; io: FakeConnectionIO; rec: RecordingReceiver; unusable: ProxyError[] }> {
  const io = new FakeConnectionIO();
  const unusable: ProxyError[] = [];
  const conn = fx.codec.newClientConnection(
    io,
    { onUnusable: (e) => unusable.push(e) },
    fx.options ?? defaultCodecOptions,
  );
  const rec = new RecordingReceiver();
  const s = conn.newStream(rec);
  const req = ex.request;
  const hasBody = req.body !== undefined && req.body.length > 0;
  await s.sendRequest(req.head, !hasBody && req.trailers === undefined);
  if (hasBody) await s.sendData(req.body!, req.trailers === undefined);
  if (req.trailers !== undefined) await s.sendTrailers(req.trailers);
  return { conn, io, rec, unusable };
}

async function serverRun(
  fx: ConformanceFixture,
  parts: Uint8Array[],
  responses: ConformanceExchange["response"][],
) {
  const srv = new RecordingServer(fx.codec, fx.options ?? defaultCodecOptions, responses);
  await feedAll(srv.conn, parts);
  // Let queued response writes run.
  await new Promise((r) => setTimeout(r, 0));
  return srv;
}

function splits(bytes: Uint8Array, max: number): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  if (bytes.length > max) return [[bytes]];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  const ones: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) ones.push(bytes.subarray(i, i + 1));
  out.push(ones);
  return out;
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

/**
 * Runs the suite as steps of `t`, or as one `Deno.test` named `t` when given a string.
 */
export function runCodecConformance(
  t: Deno.TestContext | string,
  fixture: ConformanceFixture,
): Promise<void> | void {
  if (typeof t === "string") {
    Deno.test(t, (ctx) => runSteps(ctx, fixture));
    return;
  }
  return runSteps(t, fixture);
}

async function runSteps(t: Deno.TestContext, fx: ConformanceFixture): Promise<void> {
  const name = fx.codec.name;
  const maxSplit = fx.maxSplitBytes ?? 4096;
  const wire: { req: Uint8Array; res: Uint8Array }[] = [];

  await t.step(`${name} round trip`, async (t) => {
    for (const ex of fx.exchanges) {
      await t.step(ex.name, async () => {
        const c = await clientSend(fx, ex);
        const reqBytes = c.io.bytes();
        if (ex.requestBytes !== undefined) strictEqual(td.decode(reqBytes), td.decode(ex.requestBytes));
        const srv = await serverRun(fx, [reqBytes], [ex.response]);
        strictEqual(srv.errors, 0, "server reported a protocol error");
        const first = srv.events[0];
        ok(first !== undefined && first[0] === "request", "server decoded no request");
        const e = ex.expectRequest ?? {};
        const h = ex.request.head;
        strictEqual(first[1], e.method ?? h.method);
        strictEqual(first[2], e.path ?? h.path);
        strictEqual(first[3], e.query ?? h.query);
        strictEqual(first[4], e.host ?? h.host);
        const got = first[5] as [string, string][];
        for (const pair of e.headers ?? []) {
          ok(got.some(([n, v]) => n === pair[0] && v === pair[1]), `missing header ${pair[0]}: ${pair[1]}`);
        }
        const body = srv.events.filter((x) => x[0] === "data").map((x) => x[1]).join("");
        strictEqual(body, td.decode(ex.request.body ?? new Uint8Array(0)));
        const resBytes = srv.io.bytes();
        if (ex.responseBytes !== undefined) strictEqual(td.decode(resBytes), td.decode(ex.responseBytes));
        await feedAll(c.conn, [resBytes]);
        if (ex.closeDelimited) c.conn.onEof();
        const ev = c.rec.events;
        ok(ev[0] !== undefined && ev[0][0] === "response", "client decoded no response");
        strictEqual(ev[0][1], ex.response.head.status);
        const rbody = ev.filter((x) => x[0] === "data").map((x) => x[1]).join("");
        strictEqual(rbody, td.decode(ex.response.body ?? new Uint8Array(0)));
        strictEqual(c.rec.resets, 0, "client stream was reset");
        wire.push({ req: reqBytes, res: resBytes });
      });
    }
  });

  await t.step(`${name} partial reads give identical results`, async (t) => {
    for (let i = 0; i < fx.exchanges.length; i++) {
      const ex = fx.exchanges[i];
      const w = wire[i];
      if (w === undefined) continue;
      await t.step(ex.name, async () => {
        const whole = await serverRun(fx, [w.req], [ex.response]);
        for (const parts of splits(w.req, maxSplit)) {
          const s = await serverRun(fx, parts, [ex.response]);
          deepStrictEqual(s.events, whole.events, `server split ${parts.map((p) => p.length).join("+")}`);
          strictEqual(td.decode(s.io.bytes()), td.decode(whole.io.bytes()));
        }
        const base = await clientSend(fx, ex);
        await feedAll(base.conn, [w.res]);
        if (ex.closeDelimited) base.conn.onEof();
        for (const parts of splits(w.res, maxSplit)) {
          const c = await clientSend(fx, ex);
          await feedAll(c.conn, parts);
          if (ex.closeDelimited) c.conn.onEof();
          deepStrictEqual(
            c.rec.events,
            base.rec.events,
            `client split ${parts.map((p) => p.length).join("+")}`,
          );
        }
      });
    }
    if (wire.length > 1) {
      await t.step("pipelined exchanges in one stream", async () => {
        const all = concat(wire.map((w) => w.req));
        const responses = fx.exchanges.map((e) => e.response);
        const whole = await serverRun(fx, [all], responses);
        strictEqual(whole.events.filter((e) => e[0] === "request").length, wire.length);
        strictEqual(td.decode(whole.io.bytes()), td.decode(concat(wire.map((w) => w.res))));
        for (const parts of splits(all, maxSplit)) {
          const s = await serverRun(fx, parts, responses);
          deepStrictEqual(s.events, whole.events);
          strictEqual(td.decode(s.io.bytes()), td.decode(whole.io.bytes()));
        }
      });
    }
  });

  await t.step(`${name} garbage never throws and closes`, async (t) => {
    const opts = fx.options ?? defaultCodecOptions;
    await t.step("random bytes", async () => {
      const rand = rng(0x5eed);
      for (let round = 0; round < (fx.garbageRounds ?? 200); round++) {
        const len = 1 + Math.floor(rand() * 300);
        const bytes = new Uint8Array(len);
        for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
        const parts: Uint8Array[] = [];
        for (let p = 0; p < len;) {
          const n = 1 + Math.floor(rand() * 64);
          parts.push(bytes.subarray(p, p + n));
          p += n;
        }
        const srv = new RecordingServer(fx.codec, opts, []);
        await feedAll(srv.conn, parts);
        srv.conn.onEof();
        ok(srv.errors + srv.resets > 0, `server round ${round}: no protocol error`);
        ok(srv.io.closed, `server round ${round}: not closed`);
        const io = new FakeConnectionIO();
        let unusable = 0;
        const conn = fx.codec.newClientConnection(io, { onUnusable: () => unusable++ }, opts);
        const rec = new RecordingReceiver();
        conn.newStream(rec);
        await feedAll(conn, parts);
        conn.onEof();
        ok(rec.resets > 0 || unusable > 0, `client round ${round}: no reset`);
        ok(io.closed && !conn.reusable, `client round ${round}: not closed`);
      }
    });
    await t.step("truncated input then EOF", async () => {
      for (let i = 0; i < wire.length; i++) {
        const w = wire[i];
        const ex = fx.exchanges[i];
        for (let cut = 1; cut < w.req.length; cut++) {
          const srv = new RecordingServer(fx.codec, opts, []);
          await feedAll(srv.conn, [w.req.subarray(0, cut)]);
          srv.conn.onEof();
          ok(srv.errors + srv.resets > 0, `${ex.name}: request cut at ${cut} not reported`);
          ok(srv.io.closed, `${ex.name}: request cut at ${cut} not closed`);
        }
        if (ex.closeDelimited) continue;
        for (let cut = 1; cut < w.res.length; cut++) {
          const c = await clientSend(fx, ex);
          await feedAll(c.conn, [w.res.subarray(0, cut)]);
          c.conn.onEof();
          ok(c.rec.resets > 0, `${ex.name}: response cut at ${cut} not reset`);
          ok(c.io.closed && !c.conn.reusable, `${ex.name}: response cut at ${cut} not closed`);
        }
      }
    });
    for (const bad of fx.badRequests ?? []) {
      await t.step(`rejects ${bad.name}`, async () => {
        const srv = new RecordingServer(fx.codec, opts, []);
        await feedAll(srv.conn, [bad.bytes]);
        ok(srv.errors > 0, `${bad.name}: accepted`);
        await new Promise((r) => setTimeout(r, 0));
        ok(srv.io.closed, `${bad.name}: not closed`);
      });
    }
  });
}
