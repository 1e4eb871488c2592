/**
 * What the server and client sides of an HTTP/2 connection share (RFC 9113): frames in and out, SETTINGS
 * and their acknowledgement, PING, GOAWAY, both levels of flow control, field blocks across CONTINUATION
 * frames, stream and connection errors as §5.4 prescribes, and the defences against peers that send
 * work-free frames to exhaust us (floods of PING, SETTINGS, empty DATA, WINDOW_UPDATE; rapid reset;
 * CONTINUATION and HPACK bombs).
 *
 * Frames arrive through the shared FrameReader (partial frames grow as bytes come, under the process
 * buffer budget) and are parsed into one reused record. Frames this side sends are encoded into the
 * shared output slab and leave as one write per event-loop turn (a microtask flush).
 */
import { type Clock, ProxyError, systemClock } from "../../core/mod.ts";
import type { CodecOptions, ConnectionIO, HeaderMap } from "../types.ts";
import type { Counter, Gauge, Scope } from "../../stats/mod.ts";
import { BUFFER_BUDGET_EXHAUSTED, FRAME_TOO_LARGE, FrameReader, type FrameSink } from "../xprotocol/mod.ts";
import {
  applySettings,
  DATA_COPY_LIMIT,
  DEFAULT_INITIAL_WINDOW_SIZE,
  DEFAULT_SETTINGS,
  ErrorCode,
  errorCodeName,
  type Frame,
  FRAME_HEADER_LENGTH,
  FrameError,
  frameLength,
  FrameType,
  FrameWriter,
  type GoawayFrame,
  type HeadersFrame,
  MAX_WINDOW_SIZE,
  ParsedFrame,
  parseFrame,
  type Settings,
  type SettingsFrame,
} from "./_frames.ts";
import {
  CompressionError,
  HeaderListTooLargeError,
  HpackBuffer,
  HpackDecoder,
  HpackEncoder,
} from "./hpack.ts";
import { H2Stream } from "./_stream.ts";
import { neverIndexedNames } from "./_fields.ts";

/** Rate limits on frames that cost us work but carry no request (per connection, per second). */
export const FLOOD_LIMITS = {
  /** PING frames a peer may send per second (gRPC keepalive sends one every 10 s or more). */
  pingsPerSecond: 100,
  /** SETTINGS frames per second. */
  settingsPerSecond: 100,
  /** Consecutive DATA frames with an empty payload and no END_STREAM (Envoy allows 1). */
  consecutiveEmptyData: 10,
  /** WINDOW_UPDATE frames allowed per DATA frame we sent, plus a fixed allowance (Envoy: 10 + 100). */
  windowUpdatesPerDataFrame: 10,
  windowUpdateAllowance: 100,
  /** PRIORITY frames per stream opened, plus an allowance (Envoy: 100 per stream). */
  priorityPerStream: 100,
  /** Streams the peer may reset (or we refuse) per second before it is a rapid reset attack. */
  resetsPerSecond: 200,
  /** CONTINUATION frames one field block may span. */
  continuationFrames: 64,
} as const;

/** The counters an HTTP/2 connection keeps (in the listener's or cluster's `codec` scope). */
export interface Http2Counters {
  readonly scope: Scope;
  readonly streamsTotal: Counter;
  readonly streamsActive: Gauge;
  readonly rstSent: Counter;
  readonly rstReceived: Counter;
  readonly goawaySent: Counter;
  readonly goawayReceived: Counter;
  readonly flowControlPaused: Counter;
  readonly headerListOverflow: Counter;
  readonly refusedStreams: Counter;
  readonly floods: Counter;
  readonly protocolErrors: Counter;
}

const countersByScope = new WeakMap<Scope, Http2Counters>();

function countersOf(scope: Scope | undefined): Http2Counters | undefined {
  if (scope === undefined) return undefined;
  let c = countersByScope.get(scope);
  if (c === undefined) {
    c = {
      scope,
      streamsTotal: scope.counter("http2_streams_total"),
      streamsActive: scope.gauge("http2_streams_active"),
      rstSent: scope.counter("http2_rst_sent_total"),
      rstReceived: scope.counter("http2_rst_received_total"),
      goawaySent: scope.counter("http2_goaway_sent_total"),
      goawayReceived: scope.counter("http2_goaway_received_total"),
      flowControlPaused: scope.counter("http2_flow_control_paused_total"),
      headerListOverflow: scope.counter("http2_header_list_overflow_total"),
      refusedStreams: scope.counter("http2_refused_streams_total"),
      floods: scope.counter("http2_flood_total"),
      protocolErrors: scope.counter("http2_protocol_error_total"),
    };
    countersByScope.set(scope, c);
  }
  return c;
}

/** One buffer for every HPACK encoding: encoding is synchronous and its output is copied out at once. */
const hpackOut = new HpackBuffer(4096);

const EMPTY = new Uint8Array(0);
/** How many closed stream ids a connection remembers, to tell late frames on them apart. */
const RECENTLY_CLOSED_MAX = 128;

/** How a stream the connection no longer holds ended (RFC 9113 §5.1 "closed" has three ways in). */
export const StreamEnd = {
  /** Both sides sent END_STREAM. */
  ENDED: 0,
  /** This side sent RST_STREAM: the peer's frames sent before it saw the reset are ignored. */
  RESET_BY_US: 1,
  /** The peer sent RST_STREAM. */
  RESET_BY_PEER: 2,
} as const;
export type StreamEnd = typeof StreamEnd[keyof typeof StreamEnd];

/** A rate counter over one-second windows, read only when the event it counts happens. */
class Rate {
  readonly #clock: Clock;
  #windowStart = -Infinity;
  #count = 0;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  /** Counts one event; true when more than `limit` happened within the current second. */
  over(limit: number): boolean {
    const now = this.#clock.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    return ++this.#count > limit;
  }
}

export abstract class H2Connection implements FrameSink {
  protected readonly io: ConnectionIO;
  protected readonly options: CodecOptions;
  protected readonly counters: Http2Counters | undefined;
  protected readonly writer: FrameWriter;
  protected readonly decoder: HpackDecoder;
  protected readonly encoder: HpackEncoder;
  protected readonly streams = new Map<number, H2Stream>();
  readonly #reader: FrameReader;
  readonly #parsed = new ParsedFrame();
  readonly #role: "server" | "client";

  /** What this side advertised, and what the peer said (its defaults until its SETTINGS arrive). */
  protected readonly local: Settings;
  protected readonly remote: Settings = { ...DEFAULT_SETTINGS };
  #localAcked = false;
  #remoteSettingsSeen = false;

  /** Connection-level windows: ours (what the peer may send) and the peer's (what we may send). */
  #recvWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  #recvUnacked = 0;
  #sendWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  /** Streams with DATA held for window, in the order they ran out (round-robin resume). */
  #blocked: H2Stream[] = [];
  /**
   * The socket write of the last DATA `#sendSome` handed over uncopied (DATA_COPY_LIMIT and more), or
   * undefined when it was copied: the caller's chunk is ours until that write completes.
   */
  #uncopied: Promise<void> | undefined;

  /** How the streams closed lately ended, by id (insertion order: the oldest is forgotten first). */
  readonly #recentlyClosed = new Map<number, StreamEnd>();

  /** The field block being assembled across CONTINUATION frames. */
  #blockStream = 0;
  #blockEndStream = false;
  #blockBuf: Uint8Array | undefined;
  #blockLen = 0;
  #blockFrames = 0;
  #blockPriorityOnly = false;

  /** Highest stream id the peer opened (server) or we opened (client). */
  protected lastPeerStreamId = 0;
  protected lastLocalStreamId = 0;
  /** GOAWAY: received from the peer, and the last stream id we announced (-1: none sent). */
  protected goawayReceived: GoawayFrame | undefined;
  protected goawaySentLastId = -1;
  protected closed = false;
  #flushScheduled = false;
  /** Header blocks (requests, responses) completed: tells the listener's header timeout one from many. */
  blocksReceived = 0;

  // Defences.
  protected readonly clock: Clock;
  readonly #pings: Rate;
  readonly #settingsRate: Rate;
  readonly #resets: Rate;
  #emptyData = 0;
  #windowUpdates = 0;
  #dataFramesSent = 0;
  #priorities = 0;
  #streamsOpened = 0;

  constructor(io: ConnectionIO, options: CodecOptions, role: "server" | "client") {
    this.io = io;
    this.options = options;
    this.#role = role;
    this.counters = countersOf(options.stats);
    this.clock = options.clock ?? systemClock;
    this.#pings = new Rate(this.clock);
    this.#settingsRate = new Rate(this.clock);
    this.#resets = new Rate(this.clock);
    const h2 = options.http2;
    this.local = {
      headerTableSize: h2.hpackTableSize,
      enablePush: false,
      maxConcurrentStreams: role === "server" && h2.maxConcurrentStreams > 0
        ? h2.maxConcurrentStreams
        : options.maxConcurrentStreams > 0
        ? options.maxConcurrentStreams
        : Infinity,
      initialWindowSize: h2.initialStreamWindowSize,
      maxFrameSize: h2.maxFrameSize,
      maxHeaderListSize: h2.maxHeaderListSize,
    };
    // Frames up to our advertised size are read whole; a larger one is rejected unread (connection error).
    this.#reader = new FrameReader(
      this,
      FRAME_HEADER_LENGTH,
      FRAME_HEADER_LENGTH + h2.maxFrameSize,
      options.bufferBudget,
    );
    this.writer = new FrameWriter(io);
    // Both sides start from the default table (4096) until our smaller SETTINGS is acknowledged.
    this.decoder = new HpackDecoder({ maxHeaderListSize: h2.maxHeaderListSize });
    this.encoder = new HpackEncoder({ maxTableSize: 4096 });
  }

  /** Sends this side's SETTINGS (and opens the connection window beyond the default). */
  protected sendPreamble(): void {
    const l = this.local;
    this.writer.settings({
      headerTableSize: l.headerTableSize === DEFAULT_SETTINGS.headerTableSize ? undefined : l.headerTableSize,
      enablePush: this.#role === "client" ? false : undefined,
      maxConcurrentStreams: l.maxConcurrentStreams === Infinity ? undefined : l.maxConcurrentStreams,
      initialWindowSize: l.initialWindowSize,
      maxFrameSize: l.maxFrameSize,
      maxHeaderListSize: l.maxHeaderListSize,
    });
    const want = this.options.http2.initialConnectionWindowSize;
    if (want > DEFAULT_INITIAL_WINDOW_SIZE) {
      this.writer.windowUpdate(0, want - DEFAULT_INITIAL_WINDOW_SIZE);
      this.#recvWindow = want;
    }
    this.scheduleFlush();
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** Part of a frame has arrived, the rest has not. */
  protected get partialFrame(): boolean {
    return this.#reader.buffered > 0;
  }

  /** A field block spans CONTINUATION frames still to come. */
  protected get blockInProgress(): boolean {
    return this.#blockStream !== 0;
  }

  protected feedFrames(data: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    try {
      return this.#reader.push(data);
    } catch (cause) {
      // A handler or receiver threw: fail this connection only, never the read loop.
      this.goaway(this.lastPeerStreamId, ErrorCode.INTERNAL_ERROR, "internal error");
      this.closeWith(new ProxyError("internal", "internal", "HTTP/2 stream handler failed", { cause }));
    }
  }

  // === output ===

  /** Frames written in this turn leave together, as one socket write. */
  protected scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    void this.writer.flush();
  };

  /** What a caller waits on after writing: the socket's drain when its queue is over the mark. */
  protected written(): Promise<void> {
    const io = this.io;
    if (io.congested === true && io.drained !== undefined) return io.drained();
    return RESOLVED;
  }

  /** Encodes and writes a field block: pseudo-header fields first, then `headers` (§8.3). */
  protected writeBlock(
    streamId: number,
    pseudo: readonly (string | undefined)[],
    headers: HeaderMap | undefined,
    endStream: boolean,
    skipHost: boolean,
  ): void {
    const enc = this.encoder;
    hpackOut.clear();
    enc.begin(hpackOut);
    for (let i = 0; i < pseudo.length; i += 2) {
      const v = pseudo[i + 1];
      if (v !== undefined) enc.field(pseudo[i]!, v);
    }
    if (headers !== undefined) {
      const sensitive = neverIndexedNames(headers);
      headers.forEach((value, name) => {
        if (dropOnEncode(name, value, skipHost)) return;
        enc.field(name, value, sensitive !== undefined && sensitive.has(name) ? "never" : "auto");
      });
    }
    this.writer.headers(streamId, enc.end(), endStream);
    this.scheduleFlush();
  }

  /**
   * Sends DATA within the stream's and the connection's windows; the rest waits for WINDOW_UPDATE. The
   * promise settles once every byte left (the caller's backpressure).
   */
  protected sendData(stream: H2Stream, chunk: Uint8Array, endStream: boolean): Promise<void> {
    if (this.closed || stream.sendEnded) return RESOLVED;
    if (endStream) stream.sendEnded = true;
    if (stream.sendPending) return stream.hold(chunk, 0, endStream);
    const sent = this.#sendSome(stream, chunk, 0, endStream);
    this.scheduleFlush(); // what the windows allowed leaves now, also when the rest must wait
    if (sent < chunk.length) {
      this.counters?.flowControlPaused.inc();
      this.#blocked.push(stream);
      return stream.hold(chunk, sent, endStream);
    }
    if (endStream) this.#endSent(stream);
    const uncopied = this.#uncopied;
    return uncopied === undefined ? this.written() : uncopied.then(this.#written);
  }

  readonly #written = (): Promise<void> => this.written();

  /**
   * Writes a field block on `stream` (a response head, an interim response, trailers). One that ends
   * the stream waits behind DATA still held for window: END_STREAM must come after every DATA frame.
   */
  protected sendBlock(
    stream: H2Stream,
    pseudo: readonly (string | undefined)[],
    headers: HeaderMap | undefined,
    endStream: boolean,
    skipHost: boolean,
  ): Promise<void> {
    if (this.closed || stream.sendEnded || !this.streams.has(stream.id)) return RESOLVED;
    if (endStream) {
      stream.sendEnded = true;
      if (stream.sendPending) {
        return stream.holdBlock(() => this.writeBlock(stream.id, pseudo, headers, true, skipHost));
      }
    }
    this.writeBlock(stream.id, pseudo, headers, endStream, skipHost);
    if (endStream) this.#endSent(stream);
    return this.written();
  }

  /** END_STREAM went out on `stream`: half-closed (local), or closed and forgotten. */
  #endSent(stream: H2Stream): void {
    stream.closeLocal();
    this.afterLocalEnd(stream);
  }

  /**
   * Writes as much of chunk[offset..] as the windows allow, END_STREAM on the last part when `endStream`
   * (an empty END_STREAM needs no window); returns the new offset.
   */
  #sendSome(stream: H2Stream, chunk: Uint8Array, offset: number, endStream: boolean): number {
    const left = chunk.length - offset;
    this.#uncopied = undefined;
    if (left === 0) {
      if (endStream) {
        this.writer.data(stream.id, EMPTY, true);
        this.#dataFramesSent++;
      }
      return offset;
    }
    const allowed = Math.min(left, stream.sendWindow, this.#sendWindow);
    if (allowed <= 0) return offset;
    const part = offset === 0 && allowed === chunk.length ? chunk : chunk.subarray(offset, offset + allowed);
    const last = allowed === left;
    const write = this.writer.data(stream.id, part, last && endStream);
    // A part this large has a frame of DATA_COPY_LIMIT or more, which the writer hands over uncopied.
    if (allowed >= DATA_COPY_LIMIT) this.#uncopied = write;
    this.#dataFramesSent += Math.ceil(allowed / this.writer.maxFrameSize);
    stream.sendWindow -= allowed;
    this.#sendWindow -= allowed;
    return offset + allowed;
  }

  /**
   * Windows opened: resumes held DATA, stream by stream in the order they blocked. A stream that sent
   * some and is still blocked queues again behind the ones that got nothing, so streams take turns on
   * the connection window (round robin) instead of the first one taking every update.
   */
  #resumeBlocked(): void {
    if (this.#blocked.length === 0) return;
    const blocked = this.#blocked;
    this.#blocked = [];
    const served: H2Stream[] = [];
    for (const s of blocked) {
      if (this.closed) return; // a stream that ended closed the connection (a drain's last one)
      if (!this.streams.has(s.id)) {
        s.dropPending();
        continue;
      }
      for (let p = s.peekPending(); p !== undefined; p = s.peekPending()) {
        if (p.block !== undefined) {
          p.block();
          s.shiftPending();
          this.#endSent(s);
          break;
        }
        const from = p.offset;
        const at = this.#sendSome(s, p.chunk, p.offset, p.end);
        if (at < p.chunk.length) {
          p.offset = at;
          (at > from ? served : this.#blocked).push(s);
          break;
        }
        s.shiftPending(this.#uncopied);
        if (p.end) this.#endSent(s);
      }
    }
    for (const s of served) this.#blocked.push(s);
    this.scheduleFlush();
  }

  /** Our side of `stream` ended (END_STREAM written): forget it once both sides are done. */
  protected afterLocalEnd(stream: H2Stream): void {
    if (stream.localClosed && stream.remoteClosed) this.forgetStream(stream);
  }

  protected forgetStream(stream: H2Stream): void {
    if (!this.streams.delete(stream.id)) return;
    if (!this.#recentlyClosed.has(stream.id)) this.#rememberClosed(stream.id, StreamEnd.ENDED);
    this.counters?.streamsActive.dec();
    stream.dropPending();
    this.onStreamGone(stream);
  }

  /**
   * Writes RST_STREAM and remembers the id for a while: frames the peer sent before it saw the reset are
   * then ignored, as §5.1 requires, instead of answered.
   */
  protected sendRst(id: number, code: number): void {
    this.writer.rstStream(id, code);
    const c = this.counters;
    if (c !== undefined) {
      c.rstSent.inc();
      c.scope.counter(`http2_rst_sent_${errorCodeName(code).toLowerCase()}`).inc();
    }
    this.scheduleFlush();
    this.#rememberClosed(id, StreamEnd.RESET_BY_US);
  }

  #rememberClosed(id: number, how: StreamEnd): void {
    const recent = this.#recentlyClosed;
    recent.delete(id); // re-inserted last: the latest word on an id is the one kept longest
    if (recent.size >= RECENTLY_CLOSED_MAX) recent.delete(recent.keys().next().value!);
    recent.set(id, how);
  }

  /** We reset `id` recently: late frames on it are expected and ignored. */
  protected resetByUs(id: number): boolean {
    return this.#recentlyClosed.get(id) === StreamEnd.RESET_BY_US;
  }

  /** How stream `id` ended, if it closed lately (undefined: open, idle, or closed too long ago to tell). */
  protected howClosed(id: number): StreamEnd | undefined {
    return this.#recentlyClosed.get(id);
  }

  /**
   * The rest of the peer's side of `stream` is unwanted, ours is complete: RST_STREAM NO_ERROR asks it to
   * stop sending (§8.1), and the stream is gone.
   */
  protected stopInbound(stream: H2Stream): void {
    if (!this.streams.has(stream.id)) return;
    this.sendRst(stream.id, ErrorCode.NO_ERROR);
    stream.state = 3;
    stream.dropInbound();
    this.forgetStream(stream);
  }

  /** Resets a stream from our side (RST_STREAM); its consumer is told with `error`. */
  protected resetStream(stream: H2Stream, code: number, error: ProxyError | undefined): void {
    if (!this.streams.has(stream.id)) return;
    this.sendRst(stream.id, code);
    stream.state = 3;
    stream.dropInbound();
    this.forgetStream(stream);
    if (error !== undefined) stream.sink?.onReset(error);
  }

  // === connection errors and GOAWAY ===

  /** A connection error (§5.4.1): GOAWAY with `code`, then close; every stream is reset. */
  protected connectionError(code: number, message: string): void {
    if (this.closed) return;
    this.counters?.protocolErrors.inc();
    this.goaway(this.lastPeerStreamId, code, message);
    this.closeWith(this.errorFor(code, message));
  }

  protected goaway(lastStreamId: number, code: number, message = ""): void {
    this.goawaySentLastId = lastStreamId;
    this.writer.goaway(lastStreamId, code, message);
    this.counters?.goawaySent.inc();
    this.scheduleFlush();
  }

  /** The ProxyError a connection error means on this side. */
  protected abstract errorFor(code: number, message: string): ProxyError;

  /** Closes once the frames written so far are out; resets every stream with `error`. */
  protected closeWith(error: ProxyError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.#reader.stop();
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.#flushScheduled = true; // nothing but this flush from here on
    const io = this.io;
    // Frames still held (a GOAWAY) leave first; with none, the socket closes now.
    if (this.writer.held > 0) this.writer.flush().then(() => io.close(), () => io.close());
    else io.close();
    for (const s of streams) {
      s.dropPending();
      s.dropInbound();
      if (error !== undefined) s.sink?.onReset(this.streamErrorFor(s, error));
      this.counters?.streamsActive.dec();
      this.onStreamGone(s);
    }
    this.onClosed(error);
  }

  /** The error a stream hears when its connection closes (the client marks unsent ones retryable). */
  protected streamErrorFor(_stream: H2Stream, error: ProxyError): ProxyError {
    return error;
  }

  // === FrameSink ===

  frameLength(buf: Uint8Array, off: number, end: number): number {
    return frameLength(buf, off, end);
  }

  onFrameError(code: number): void {
    if (code === BUFFER_BUDGET_EXHAUSTED) {
      return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, "the process buffer budget is exhausted");
    }
    if (code === FRAME_TOO_LARGE) {
      return this.connectionError(ErrorCode.FRAME_SIZE_ERROR, "frame larger than SETTINGS_MAX_FRAME_SIZE");
    }
    this.connectionError(ErrorCode.PROTOCOL_ERROR, "cannot read frame");
  }

  onFrame(buf: Uint8Array): void | Promise<void> {
    if (this.closed) return;
    const f = parseFrame(buf, 0, buf.length, {
      maxFrameSize: this.local.maxFrameSize,
      sender: this.#role === "server" ? "client" : "server",
    }, this.#parsed);
    if (f instanceof FrameError) return this.#frameError(f);
    if (!this.#remoteSettingsSeen && (f.type !== FrameType.SETTINGS || f.ack)) {
      // §3.4: the peer's connection preface is a SETTINGS frame, first.
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, "the first frame is not SETTINGS");
    }
    if (this.#blockStream !== 0 && (f.type !== FrameType.CONTINUATION || f.streamId !== this.#blockStream)) {
      // §6.10: nothing may come between a HEADERS frame and its CONTINUATION frames.
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, "frame inside a field block");
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#onData(f);
      case FrameType.HEADERS:
        return this.#onHeaders(f);
      case FrameType.CONTINUATION:
        return this.#onContinuation(f);
      case FrameType.PRIORITY:
        if (f.streamId === f.dependency) return this.#streamError(f.streamId, ErrorCode.PROTOCOL_ERROR);
        if (++this.#priorities > FLOOD_LIMITS.priorityPerStream * (this.#streamsOpened + 1)) {
          return this.#flood("PRIORITY");
        }
        return;
      case FrameType.RST_STREAM:
        return this.#onRst(f.streamId, f.errorCode);
      case FrameType.SETTINGS:
        return this.#onSettings(f);
      case FrameType.PUSH_PROMISE:
        // We never enable push (SETTINGS_ENABLE_PUSH 0): a promise is a protocol error (§8.4).
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
      case FrameType.PING:
        if (f.ack) return this.onPingAck(f.buf.subarray(f.start, f.end));
        if (this.#pings.over(FLOOD_LIMITS.pingsPerSecond)) return this.#flood("PING");
        this.writer.ping(true, f.buf, f.start);
        this.scheduleFlush();
        return;
      case FrameType.GOAWAY:
        this.counters?.goawayReceived.inc();
        return this.onGoaway(f);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(f.streamId, f.increment);
      default:
        return; // unknown frame types are ignored (§4.1, §5.5)
    }
  }

  #frameError(e: FrameError): void {
    const p = this.#parsed;
    if (e.scope === "connection") return this.connectionError(e.code, e.message);
    // A bad DATA frame still counts against the connection window (§6.9).
    if (p.type === FrameType.DATA) this.#consumeConnection(p.length);
    this.#streamError(p.streamId, e.code);
  }

  /** A stream error (§5.4.2); on a stream that was never opened it is a connection error instead. */
  #streamError(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      return this.resetStream(s, code, this.errorFor(code, `stream error ${errorCodeName(code)}`));
    }
    if (this.isIdle(id)) return this.connectionError(ErrorCode.PROTOCOL_ERROR, "frame on an idle stream");
    if (this.resetByUs(id)) return;
    // Answering frames on closed streams costs us a write each: a peer provoking them fast is flooding.
    if (this.resetFlood()) return;
    this.sendRst(id, code);
  }

  /** Whether `id` names a stream no one opened yet (§5.1 "idle"). */
  protected abstract isIdle(id: number): boolean;

  #flood(what: string): void {
    this.counters?.floods.inc();
    this.connectionError(ErrorCode.ENHANCE_YOUR_CALM, `${what} flood`);
  }

  // --- DATA ---

  #onData(f: Frame & { type: typeof FrameType.DATA }): void {
    const n = f.length; // padding included: it counts against the windows (§6.9)
    if (n > this.#recvWindow) {
      return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
    }
    this.#consumeConnection(n);
    const s = this.streams.get(f.streamId);
    if (s === undefined) {
      if (this.isIdle(f.streamId)) {
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream");
      }
      return this.#streamError(f.streamId, ErrorCode.STREAM_CLOSED);
    }
    if (s.remoteClosed) {
      return this.resetStream(
        s,
        ErrorCode.STREAM_CLOSED,
        this.errorFor(ErrorCode.STREAM_CLOSED, "DATA after END_STREAM"),
      );
    }
    if (!s.headReceived) {
      // §8.1: a message starts with its head; DATA first makes it malformed (§8.1.1).
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "DATA before the response head"),
      );
    }
    if (n > s.recvWindow) {
      return this.resetStream(
        s,
        ErrorCode.FLOW_CONTROL_ERROR,
        this.errorFor(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the stream window"),
      );
    }
    s.recvWindow -= n;
    const len = f.end - f.start;
    if (len === 0 && !f.endStream) {
      if (++this.#emptyData > FLOOD_LIMITS.consecutiveEmptyData) return this.#flood("empty DATA");
    } else this.#emptyData = 0;
    if (n > len) this.#creditStream(s, n - len); // padding is never delivered: return it at once
    s.receivedLength += len;
    if (
      s.expectedLength >= 0 &&
      (s.receivedLength > s.expectedLength || (f.endStream && s.receivedLength !== s.expectedLength))
    ) {
      // §8.1.1: content-length that does not match the DATA is a malformed message.
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "content-length mismatch"),
      );
    }
    if (f.endStream) s.closeRemote();
    s.push(len === 0 ? EMPTY : f.buf.subarray(f.start, f.end), f.endStream);
    if (f.endStream) this.afterRemoteEnd(s);
    else if (s.discarding && s.recvWindow <= 0) this.stopInbound(s); // it could only stall now
  }

  #consumeConnection(n: number): void {
    this.#recvWindow -= n;
    // Connection credit goes back on receipt: stream windows bound what each stream may make us hold,
    // and one slow stream must not stall the others behind the connection window.
    this.#recvUnacked += n;
    const initial = this.options.http2.initialConnectionWindowSize;
    if (this.#recvUnacked >= initial >> 1) {
      this.writer.windowUpdate(0, this.#recvUnacked);
      this.#recvWindow += this.#recvUnacked;
      this.#recvUnacked = 0;
      this.scheduleFlush();
    }
  }

  /** The consumer is done with `n` bytes of `stream`: return the credit, in batches of half a window. */
  readonly creditStream = (stream: H2Stream, n: number): void => this.#creditStream(stream, n);

  #creditStream(s: H2Stream, n: number): void {
    if (s.remoteClosed || this.closed || !this.streams.has(s.id)) return;
    s.recvUnacked += n;
    if (s.recvUnacked >= this.local.initialWindowSize >> 1) {
      this.writer.windowUpdate(s.id, s.recvUnacked);
      s.recvWindow += s.recvUnacked;
      s.recvUnacked = 0;
      this.scheduleFlush();
    }
  }

  /**
   * A trailer block arrived on `stream`: `trailers` is undefined when it was malformed or did not end the
   * stream (a second HEADERS must carry trailers and END_STREAM, §8.1). Checks content-length against the
   * DATA received (§8.1.1) and ends the peer's side.
   */
  protected endWithTrailers(s: H2Stream, trailers: HeaderMap | undefined): void {
    if (trailers === undefined) {
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "malformed trailers"),
      );
    }
    if (s.expectedLength >= 0 && s.receivedLength !== s.expectedLength) {
      return this.resetStream(
        s,
        ErrorCode.PROTOCOL_ERROR,
        this.errorFor(ErrorCode.PROTOCOL_ERROR, "content-length mismatch"),
      );
    }
    s.closeRemote();
    s.push(trailers, true);
    this.afterRemoteEnd(s);
  }

  /** The peer ended its side of `stream`: forget it once both sides are done. */
  protected afterRemoteEnd(stream: H2Stream): void {
    if (stream.localClosed && stream.remoteClosed) this.forgetStream(stream);
  }

  // --- field blocks ---

  #onHeaders(f: HeadersFrame): void | Promise<void> {
    if (f.hasPriority && f.dependency === f.streamId) {
      // §5.3.1: a stream cannot depend on itself. As a stream error the field block would go undecoded
      // and the HPACK table out of sync, so it ends the connection (§5.4 allows that).
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS depending on its own stream");
    }
    this.#blockEndStream = f.endStream;
    if (f.endHeaders) {
      this.blocksReceived++;
      return this.onFieldBlock(f.streamId, f.buf, f.start, f.end, f.endStream);
    }
    this.#blockStream = f.streamId;
    this.#blockFrames = 1;
    this.#blockLen = 0;
    this.#appendBlock(f.buf, f.start, f.end);
  }

  #onContinuation(f: Frame & { type: typeof FrameType.CONTINUATION }): void | Promise<void> {
    if (this.#blockStream === 0) {
      return this.connectionError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
    }
    if (++this.#blockFrames > FLOOD_LIMITS.continuationFrames) return this.#flood("CONTINUATION");
    if (!this.#appendBlock(f.buf, f.start, f.end)) return;
    if (!f.endHeaders) return;
    const id = this.#blockStream;
    this.#blockStream = 0;
    this.blocksReceived++;
    const buf = this.#blockBuf!;
    this.#blockBuf = undefined; // a connection keeps no block buffer between blocks
    return this.onFieldBlock(id, buf, 0, this.#blockLen, this.#blockEndStream);
  }

  /** Accumulates a fragment; a block larger than the header list limit allows is a CONTINUATION flood. */
  #appendBlock(buf: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    const need = this.#blockLen + n;
    // HPACK never expands a field beyond its decoded size plus a few octets: this bound is generous.
    if (need > this.local.maxHeaderListSize + 16 * 1024) {
      this.#flood("CONTINUATION");
      return false;
    }
    let b = this.#blockBuf;
    if (b === undefined || b.length < need) {
      const grown = new Uint8Array(Math.max(need, (b?.length ?? 0) * 2, 4096));
      if (b !== undefined) grown.set(b.subarray(0, this.#blockLen));
      this.#blockBuf = b = grown;
    }
    b.set(buf.subarray(start, end), this.#blockLen);
    this.#blockLen = need;
    return true;
  }

  /**
   * Decodes a complete field block into `sink` and reports how it went: "ok", "too-large" (decoded to
   * its end, HPACK state intact: the stream can be answered or reset), or "closed" (a compression error
   * ended the connection).
   */
  protected decodeBlock(
    buf: Uint8Array,
    start: number,
    end: number,
    sink: { header(name: string, value: string): void },
  ): "ok" | "too-large" | "closed" {
    try {
      this.decoder.decode(buf, start, end, sink);
      return "ok";
    } catch (e) {
      if (e instanceof HeaderListTooLargeError) {
        this.counters?.headerListOverflow.inc();
        return "too-large";
      }
      const why = e instanceof CompressionError ? e.message : String(e);
      this.connectionError(ErrorCode.COMPRESSION_ERROR, why);
      return "closed";
    }
  }

  /** A complete field block for `streamId` (HEADERS plus CONTINUATION). */
  protected abstract onFieldBlock(
    streamId: number,
    buf: Uint8Array,
    start: number,
    end: number,
    endStream: boolean,
  ): void | Promise<void>;

  /** Counts a stream just added to `streams` (also the PRIORITY allowance). */
  protected countStreamOpened(): void {
    this.#streamsOpened++;
    this.counters?.streamsTotal.inc();
    this.counters?.streamsActive.inc();
  }

  /** Counts a reset (received or a stream we refused); true when it is a rapid reset attack. */
  protected resetFlood(): boolean {
    if (!this.#resets.over(FLOOD_LIMITS.resetsPerSecond)) return false;
    this.#flood("RST_STREAM");
    return true;
  }

  // --- RST_STREAM, SETTINGS, WINDOW_UPDATE ---

  #onRst(id: number, code: number): void {
    const c = this.counters;
    if (c !== undefined) {
      c.rstReceived.inc();
      c.scope.counter(`http2_rst_received_${errorCodeName(code).toLowerCase()}`).inc();
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) {
        return this.connectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
      }
      return;
    }
    if (this.#role === "server" && this.resetFlood()) return;
    const error = this.onPeerReset(s, code); // first: forgetting the stream drops what it knew
    s.state = 3;
    s.dropInbound();
    this.#rememberClosed(id, StreamEnd.RESET_BY_PEER);
    this.forgetStream(s);
    if (error !== undefined) s.sink?.onReset(error);
  }

  /** The error a stream's consumer hears when the peer reset it with `code`; undefined: nothing failed. */
  protected abstract onPeerReset(stream: H2Stream, code: number): ProxyError | undefined;

  #onSettings(f: SettingsFrame): void {
    if (f.ack) {
      if (!this.#localAcked) {
        this.#localAcked = true;
        // Our advertised table size is in force only now (§6.5.3).
        this.decoder.setMaxTableSize(this.local.headerTableSize);
      }
      return;
    }
    if (this.#settingsRate.over(FLOOD_LIMITS.settingsPerSecond)) return this.#flood("SETTINGS");
    const r = this.remote;
    const oldWindow = r.initialWindowSize;
    // Before the first SETTINGS the client allows itself fewer streams than the default limit.
    const oldStreams = this.#remoteSettingsSeen ? r.maxConcurrentStreams : 0;
    applySettings(r, f);
    if (r.initialWindowSize !== oldWindow) {
      const delta = r.initialWindowSize - oldWindow;
      for (const s of this.streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW_SIZE) {
          return this.connectionError(
            ErrorCode.FLOW_CONTROL_ERROR,
            "SETTINGS_INITIAL_WINDOW_SIZE overflows a window",
          );
        }
      }
    }
    this.writer.maxFrameSize = r.maxFrameSize;
    this.encoder.setPeerMaxTableSize(r.headerTableSize);
    this.writer.settingsAck();
    this.scheduleFlush();
    this.#remoteSettingsSeen = true;
    if (r.initialWindowSize > oldWindow) this.#resumeBlocked();
    if (r.maxConcurrentStreams > oldStreams) this.onMoreStreams();
  }

  protected get remoteSettingsSeen(): boolean {
    return this.#remoteSettingsSeen;
  }

  /** The peer allows more concurrent streams than before (client side: tell the pool). */
  protected onMoreStreams(): void {}

  #onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      this.#sendWindow += increment;
      if (this.#sendWindow > MAX_WINDOW_SIZE) {
        return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window above 2^31-1");
      }
    } else {
      if (
        ++this.#windowUpdates >
          FLOOD_LIMITS.windowUpdateAllowance + FLOOD_LIMITS.windowUpdatesPerDataFrame * this.#dataFramesSent
      ) {
        return this.#flood("WINDOW_UPDATE");
      }
      const s = this.streams.get(id);
      if (s === undefined) {
        if (this.isIdle(id)) {
          return this.connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
        }
        return; // closed streams may still get them (§6.9)
      }
      s.sendWindow += increment;
      if (s.sendWindow > MAX_WINDOW_SIZE) {
        return this.resetStream(
          s,
          ErrorCode.FLOW_CONTROL_ERROR,
          this.errorFor(ErrorCode.FLOW_CONTROL_ERROR, "stream window above 2^31-1"),
        );
      }
    }
    this.#resumeBlocked();
  }

  // --- hooks ---

  protected abstract onGoaway(f: GoawayFrame): void;
  protected onPingAck(_payload: Uint8Array): void {}
  protected abstract onStreamGone(stream: H2Stream): void;
  protected abstract onClosed(error: ProxyError | undefined): void;

  /** A new stream object with the current windows. */
  protected newStreamState(id: number): H2Stream {
    return new H2Stream(id, this.remote.initialWindowSize, this.local.initialWindowSize, this.creditStream);
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Fields an HTTP/2 block must not carry (§8.2.2), whatever the other side's head had; `host` becomes :authority. */
function dropOnEncode(name: string, value: string, skipHost: boolean): boolean {
  switch (name.length) {
    case 2:
      return (name === "te" || name === "TE" || name.toLowerCase() === "te") &&
        value.toLowerCase() !== "trailers";
    case 4:
      return skipHost && name.toLowerCase() === "host";
    case 7:
      return name.toLowerCase() === "upgrade";
    case 10: {
      const l = name.toLowerCase();
      return l === "connection" || l === "keep-alive";
    }
    case 16:
      return name.toLowerCase() === "proxy-connection";
    case 17:
      return name.toLowerCase() === "transfer-encoding";
    default:
      return false;
  }
}

export { ProxyError };
