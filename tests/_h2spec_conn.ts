/**
 * The client side of an h2spec-style conformance case (summerwind/h2spec's `spec.Conn` and verifiers,
 * rebuilt on {@linkcode H2RawClient}): one fresh TCP connection per case, h2spec's handshake, and
 * verifiers that accept what h2spec accepts.
 *
 * How h2spec judges, and where this is stricter:
 * - Every wait is bounded (h2spec: 2 s per read). {@linkcode WAIT_MS} is a little longer only to absorb
 *   a loaded CI box; a passing server answers in milliseconds.
 * - A **connection error** passes on a GOAWAY with one of the listed codes, or on the connection closing
 *   (EOF or reset). Other frames are skipped. h2spec also lets a GOAWAY with another code pass if the
 *   close follows it; here such a GOAWAY fails the case (it names the wrong error).
 * - A **stream error** passes on a RST_STREAM or GOAWAY with one of the listed codes, or on the close.
 *   A RST_STREAM NO_ERROR is skipped (RFC 9113 §8.1: "stop sending, the response is complete"), as h2spec
 *   skips it; a RST_STREAM or GOAWAY with any other unlisted code fails the case (h2spec would keep
 *   waiting for a close).
 * - "Expects frame X" takes the first frame of that type, as h2spec's `WaitEventByType` does.
 * @module
 */
import {
  decodeGoaway,
  decodeRstStream,
  decodeSettings,
  describeFrame,
  encodeHeaderBlock,
  ErrorCode,
  errorCodeName,
  Flag,
  type Frame,
  FrameType,
  H2RawClient,
  headersFrame,
  PREFACE,
  Setting,
  settingsFrame,
} from "./_peers/h2_raw.ts";

/** How long one verifier waits for the peer (h2spec: 2 s). */
export const WAIT_MS = 3000;

/** h2spec's default `--max-header-length`: the value length of its dummy header fields. */
export const MAX_HEADER_LEN = 4000;

/** h2spec's handshake SETTINGS: SETTINGS_INITIAL_WINDOW_SIZE 65535 and nothing else. */
const HANDSHAKE_SETTINGS: [number, number][] = [[Setting.INITIAL_WINDOW_SIZE, 65535]];

/** Where a case connects: a listener, and the path its requests name (h2spec's `--path`). */
export interface SpecTarget {
  readonly port: number;
  readonly path: string;
}

/** A case's outcome was not one h2spec accepts: what it expected and what arrived. */
export class SpecFailure extends Error {
  constructor(expected: string[], actual: string, received: string) {
    super(`expected: ${expected.join(" | ")}\n  actual: ${actual}\n  received: ${received}`);
    this.name = "SpecFailure";
  }
}

/** What the connection did next: a frame, the close, or nothing before the deadline. */
export type SpecEvent = Frame | "closed" | "timeout";

function describeEvent(e: SpecEvent): string {
  return typeof e === "string" ? (e === "closed" ? "connection closed" : "timeout") : describeFrame(e);
}

/** One case's connection (h2spec's `spec.Conn`). */
export class SpecConn {
  readonly target: SpecTarget;
  readonly #raw: H2RawClient;
  /** The server's SETTINGS, as received in the handshake. */
  readonly settings = new Map<number, number>();

  private constructor(target: SpecTarget, raw: H2RawClient) {
    this.target = target;
    this.#raw = raw;
  }

  /**
   * Connects; nothing is sent yet (cases that test the preface send their own). The server's SETTINGS are
   * acknowledged by {@linkcode handshake} only, as h2spec does: an ACK sent on arrival could precede the
   * preface.
   */
  static async dial(target: SpecTarget): Promise<SpecConn> {
    return new SpecConn(
      target,
      await H2RawClient.connect(target.port, { preface: false, ackSettings: false }),
    );
  }

  /**
   * Writes the arguments in order, as one write (h2spec writes each frame on its own: call once per
   * frame). A failed write is ignored, as h2spec ignores it: the server may close before a case has sent
   * everything, and the verifier then sees the close.
   */
  async send(...chunks: Uint8Array[]): Promise<void> {
    try {
      await this.#raw.send(...chunks);
    } catch {
      // the peer closed (EPIPE, ECONNRESET)
    }
  }

  /**
   * h2spec's client handshake: the preface and SETTINGS (INITIAL_WINDOW_SIZE 65535), then frames are read
   * until both the server's SETTINGS (which it acknowledges) and the ACK of ours arrived. Other frames
   * read meanwhile are dropped, as h2spec drops them.
   */
  async handshake(): Promise<void> {
    await this.send(PREFACE, settingsFrame(HANDSHAKE_SETTINGS));
    let local = false;
    let remote = false;
    const deadline = Date.now() + WAIT_MS;
    while (!(local && remote)) {
      const e = await this.next(deadline);
      if (typeof e === "string") {
        throw new SpecFailure(["SETTINGS and SETTINGS ACK (handshake)"], describeEvent(e), this.summary());
      }
      if (e.type !== FrameType.SETTINGS) continue;
      if (e.flags & Flag.ACK) local = true;
      else {
        remote = true;
        for (const [id, value] of decodeSettings(e)) this.settings.set(id, value);
        await this.send(settingsFrame([], { ack: true }));
      }
    }
  }

  /** The server's SETTINGS_MAX_FRAME_SIZE (16384 unless it said otherwise). */
  get maxFrameSize(): number {
    return this.settings.get(Setting.MAX_FRAME_SIZE) ?? 16384;
  }

  /** The next event, waiting until `deadline` (ms since the epoch); frames that arrived before a close come first. */
  async next(deadline: number): Promise<SpecEvent> {
    try {
      return await this.#raw.nextFrame(() => true, "a frame", Math.max(1, deadline - Date.now()));
    } catch {
      return this.#raw.closed ? "closed" : "timeout";
    }
  }

  /** Everything received on this connection so far. */
  summary(): string {
    const r = this.#raw.received;
    return r.length === 0 ? "nothing" : r.map(describeFrame).join(", ");
  }

  close(): Promise<void> {
    return this.#raw.close();
  }

  // === request blocks ===

  /** h2spec's `CommonHeaders`: :method GET, :scheme http, :path, :authority host:port. */
  commonHeaders(): [string, string][] {
    return [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", this.target.path],
      [":authority", `127.0.0.1:${this.target.port}`],
    ];
  }

  /** `commonHeaders()` with another :method. */
  commonHeadersWith(method: string): [string, string][] {
    const h = this.commonHeaders();
    h[0] = [":method", method];
    return h;
  }

  /** HEADERS on `streamId` with the common request (END_HEADERS; `endStream` as given). */
  request(streamId: number, options: { method?: string; endStream?: boolean } = {}): Uint8Array {
    return headersFrame(streamId, encodeHeaderBlock(this.commonHeadersWith(options.method ?? "GET")), {
      endStream: options.endStream ?? true,
    });
  }

  // === verifiers ===

  /** Takes events until one of `types` arrives (h2spec's `WaitEventByType`); fails on close or timeout. */
  async #waitFor(type: number, expected: string): Promise<Frame> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await this.next(deadline);
      if (typeof e === "string") throw new SpecFailure([expected], describeEvent(e), this.summary());
      if (e.type === type) return e;
    }
  }

  /** A connection error: GOAWAY with one of `codes`, or the connection closed. */
  async expectConnectionError(...codes: number[]): Promise<void> {
    const expected = [...codes.map((c) => `GOAWAY ${errorCodeName(c)}`), "connection closed"];
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await this.next(deadline);
      if (e === "closed") return;
      if (e === "timeout") throw new SpecFailure(expected, "timeout", this.summary());
      if (e.type === FrameType.GOAWAY) {
        if (codes.includes(decodeGoaway(e).code)) return;
        throw new SpecFailure(expected, describeFrame(e), this.summary());
      }
    }
  }

  /** A stream error: RST_STREAM or GOAWAY with one of `codes`, or the connection closed. */
  async expectStreamError(...codes: number[]): Promise<void> {
    const expected = [
      ...codes.flatMap((c) => [`RST_STREAM ${errorCodeName(c)}`, `GOAWAY ${errorCodeName(c)}`]),
      "connection closed",
    ];
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await this.next(deadline);
      if (e === "closed") return;
      if (e === "timeout") throw new SpecFailure(expected, "timeout", this.summary());
      if (e.type === FrameType.RST_STREAM) {
        const code = decodeRstStream(e);
        if (codes.includes(code)) return;
        if (code === ErrorCode.NO_ERROR) continue; // §8.1: a complete response, the rest unwanted
        throw new SpecFailure(expected, describeFrame(e), this.summary());
      }
      if (e.type === FrameType.GOAWAY) {
        if (codes.includes(decodeGoaway(e).code)) return;
        throw new SpecFailure(expected, describeFrame(e), this.summary());
      }
    }
  }

  /** The connection closes (frames before the close are skipped). */
  async expectConnectionClose(): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await this.next(deadline);
      if (e === "closed") return;
      if (e === "timeout") throw new SpecFailure(["connection closed"], "timeout", this.summary());
    }
  }

  /** A stream ends: DATA or HEADERS with END_STREAM, or RST_STREAM NO_ERROR. */
  async expectStreamClose(): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await this.next(deadline);
      if (typeof e === "string") throw new SpecFailure(["stream closed"], describeEvent(e), this.summary());
      const ends = (e.type === FrameType.DATA || e.type === FrameType.HEADERS) && (e.flags & Flag.END_STREAM);
      if (ends || (e.type === FrameType.RST_STREAM && decodeRstStream(e) === ErrorCode.NO_ERROR)) return;
    }
  }

  /** The first frame is the server's connection preface: a SETTINGS frame, not an ACK (§3.4). */
  async expectServerPreface(): Promise<void> {
    const e = await this.next(Date.now() + WAIT_MS);
    if (typeof e === "string" || e.type !== FrameType.SETTINGS || (e.flags & Flag.ACK) !== 0) {
      throw new SpecFailure(["SETTINGS (flags 0x0) as the first frame"], describeEvent(e), this.summary());
    }
  }

  /** The first HEADERS frame is on `streamId`. */
  async expectHeadersFrame(streamId: number): Promise<void> {
    const expected = `HEADERS on stream ${streamId}`;
    const f = await this.#waitFor(FrameType.HEADERS, expected);
    if (f.streamId !== streamId) throw new SpecFailure([expected], describeFrame(f), this.summary());
  }

  /** The first SETTINGS frame is an ACK. */
  async expectSettingsAck(): Promise<void> {
    const f = await this.#waitFor(FrameType.SETTINGS, "SETTINGS ACK");
    if (!(f.flags & Flag.ACK) || f.payload.length !== 0) {
      throw new SpecFailure(["SETTINGS ACK"], describeFrame(f), this.summary());
    }
  }

  /** The first PING frame is an ACK carrying `data`. */
  async expectPingAck(data: Uint8Array): Promise<void> {
    const expected = `PING ACK ${hex(data)}`;
    const f = await this.#waitFor(FrameType.PING, expected);
    if (!isPingAck(f, data)) throw new SpecFailure([expected], describePing(f), this.summary());
  }

  /** A PING ACK carrying `data`, or the connection closed. */
  async expectPingAckOrClose(data: Uint8Array): Promise<void> {
    const expected = [`PING ACK ${hex(data)}`, "connection closed"];
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await this.next(deadline);
      if (e === "closed") return;
      if (e === "timeout") throw new SpecFailure(expected, "timeout", this.summary());
      if (e.type === FrameType.PING && isPingAck(e, data)) return;
    }
  }

  /** A frame of `type` arrives (the first one is returned). */
  expectFrameType(type: number, name: string): Promise<Frame> {
    return this.#waitFor(type, name);
  }

  /** The first DATA frame carries exactly `length` octets (flow control at work). */
  async expectDataLength(length: number): Promise<void> {
    const expected = `DATA of length ${length}`;
    const f = await this.#waitFor(FrameType.DATA, expected);
    if (f.payload.length !== length) throw new SpecFailure([expected], describeFrame(f), this.summary());
  }

  /** The first RST_STREAM is on `streamId` with `code`. */
  async expectRstStream(streamId: number, code: number): Promise<void> {
    const expected = `RST_STREAM on stream ${streamId} ${errorCodeName(code)}`;
    const f = await this.#waitFor(FrameType.RST_STREAM, expected);
    if (f.streamId !== streamId || decodeRstStream(f) !== code) {
      throw new SpecFailure([expected], describeFrame(f), this.summary());
    }
  }

  /** The first GOAWAY carries `code`. */
  async expectGoaway(code: number): Promise<void> {
    const expected = `GOAWAY ${errorCodeName(code)}`;
    const f = await this.#waitFor(FrameType.GOAWAY, expected);
    if (decodeGoaway(f).code !== code) throw new SpecFailure([expected], describeFrame(f), this.summary());
  }
}

function isPingAck(f: Frame, data: Uint8Array): boolean {
  return (f.flags & Flag.ACK) !== 0 && f.payload.length === 8 && f.payload.every((b, i) => b === data[i]);
}

function describePing(f: Frame): string {
  return `${describeFrame(f)} ${hex(f.payload)}`;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Bytes from a string of `\xNN` escapes and plain characters, as h2spec writes raw frames. */
export function bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
}

/** h2spec's `DummyHeaders(n)`: `x-dummy<i>` fields of {@linkcode MAX_HEADER_LEN} x's. */
export function dummyHeaders(n: number): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`x-dummy${i}`, "x".repeat(MAX_HEADER_LEN)]);
}

/** The 8 opaque octets h2spec's PING cases use: "h2spec" padded with zeros. */
export const H2SPEC_PING: Uint8Array = Uint8Array.of(0x68, 0x32, 0x73, 0x70, 0x65, 0x63, 0, 0);
/** The all-zero PING payload. */
export const ZERO_PING: Uint8Array = new Uint8Array(8);

/**
 * How many body octets the target's answer to a plain GET carries (h2spec's `ServerDataLength`, which
 * flow-control cases use to skip servers that answer without a body).
 */
export async function serverDataLength(target: SpecTarget): Promise<number> {
  const c = await SpecConn.dial(target);
  try {
    await c.handshake();
    await c.send(c.request(1));
    let length = 0;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const e = await c.next(deadline);
      if (typeof e === "string") {
        throw new SpecFailure(["a complete response"], describeEvent(e), c.summary());
      }
      if (e.streamId !== 1) continue;
      if (e.type === FrameType.DATA) length += e.payload.length;
      if ((e.type === FrameType.DATA || e.type === FrameType.HEADERS) && (e.flags & Flag.END_STREAM)) {
        return length;
      }
    }
  } finally {
    await c.close();
  }
}
