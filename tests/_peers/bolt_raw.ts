/**
 * Raw-socket bolt helpers for end-to-end tests: the golden frames captured from real peers
 * (shared/notes/protocols.md), a frame reader over a Deno.Conn, and a raw bolt responder.
 * @module
 */
import { startLoopbackServer } from "./loopback_server.ts";

/** `TestService.plus(1,2)` as sofa-rpc-node@2.10.0 sent it: id 1, timeout 3000 ms, 351 bytes. */
export const GOLDEN_REQUEST_HEX =
  "0101000101000000010100000bb8002c002e000000ef636f6d2e616c697061792e736f66612e7270632e636f72652e72" +
  "6571756573742e536f66615265717565737400000007736572766963650000001f636f6d2e6e6f64656a732e74657374" +
  "2e54657374536572766963653a312e304fbc636f6d2e616c697061792e736f66612e7270632e636f72652e7265717565" +
  "73742e536f666152657175657374950a6d6574686f644e616d650d6d6574686f64417267536967731774617267657453" +
  "657276696365556e697175654e616d650d7461726765744170704e616d650c7265717565737450726f70736f9004706c" +
  "7573567400115b6a6176612e6c616e672e537472696e676e0203696e7403696e747a1f636f6d2e6e6f64656a732e7465" +
  "73742e54657374536572766963653a312e304e4d07736572766963651f636f6d2e6e6f64656a732e746573742e546573" +
  "74536572766963653a312e307a9192";

/** The server's answer to it (appResponse 3): id 1, status 0, 164 bytes. */
export const GOLDEN_RESPONSE_HEX =
  "010000020100000001010000002e000000000062636f6d2e616c697061792e736f66612e7270632e636f72652e726573" +
  "706f6e73652e536f6661526573706f6e73654fbe636f6d2e616c697061792e736f66612e7270632e636f72652e726573" +
  "706f6e73652e536f6661526573706f6e7365940769734572726f72086572726f724d73670b617070526573706f6e7365" +
  "0d726573706f6e736550726f70736f90464e934e";

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export const GOLDEN_REQUEST: Uint8Array = fromHex(GOLDEN_REQUEST_HEX);
export const GOLDEN_RESPONSE: Uint8Array = fromHex(GOLDEN_RESPONSE_HEX);

/** Offset of the request id: 5 in v1, 6 in v2. */
export function idOffset(frame: Uint8Array): number {
  return frame[0] === 0x02 ? 6 : 5;
}

export function frameId(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset).getUint32(idOffset(frame));
}

/** A copy of `frame` with its request id set to `id`. */
export function withId(frame: Uint8Array, id: number): Uint8Array {
  const out = frame.slice();
  new DataView(out.buffer).setUint32(idOffset(out), id);
  return out;
}

/** A response frame's bolt status (u16 at 10 in v1, 12 in v2). */
export function responseStatus(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset).getUint16(frame[0] === 0x02 ? 12 : 10);
}

/** Frame type byte (0 response, 1 request, 2 oneway). */
export function frameType(frame: Uint8Array): number {
  return frame[0] === 0x02 ? frame[2]! : frame[1]!;
}

/** Command code (0 heartbeat, 1 request, 2 response). */
export function frameCmd(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset).getUint16(frame[0] === 0x02 ? 3 : 2);
}

/** Total length of the bolt frame at the start of `b`, or 0 if the header is incomplete. */
function frameLength(b: Uint8Array): number {
  if (b.length < 3) return 0;
  const v2 = b[0] === 0x02;
  const type = v2 ? b[2] : b[1];
  const hdr = (type === 0 ? 20 : 22) + (v2 ? 2 : 0);
  if (b.length < hdr) return 0;
  const dv = new DataView(b.buffer, b.byteOffset);
  // A v2 frame with ver1 2 and switch bit 0 ends with a 4-byte CRC-32 (SOFA bolt).
  const crc = v2 && b[1] === 2 && (b[11]! & 1) !== 0 ? 4 : 0;
  return hdr + dv.getUint16(hdr - 8) + dv.getUint16(hdr - 6) + dv.getUint32(hdr - 4) + crc;
}

/** Reads whole bolt frames from a connection. */
export class FrameReader {
  readonly #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #eof = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes read but not yet returned as a frame. */
  get buffered(): number {
    return this.#buf.length;
  }

  /**
   * The next whole frame; null on EOF (or a reset); "timeout" when none arrived within `timeoutMs`
   * (the pending read is left running; close the connection when done).
   */
  async next(timeoutMs = 3000): Promise<Uint8Array | null | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const len = frameLength(this.#buf);
      if (len > 0 && this.#buf.length >= len) {
        const frame = this.#buf.slice(0, len);
        this.#buf = this.#buf.slice(len);
        return frame;
      }
      if (this.#eof) return null;
      const left = deadline - Date.now();
      if (left <= 0) return "timeout";
      const r = await this.#read(left);
      if (r === "timeout") return "timeout";
    }
  }

  #pending: Promise<Uint8Array | null> | undefined;

  async #read(timeoutMs: number): Promise<"ok" | "timeout"> {
    if (this.#pending === undefined) {
      const chunk = new Uint8Array(65536);
      this.#pending = this.#conn.read(chunk).then(
        (n) => (n === null ? null : chunk.slice(0, n)),
        () => null,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      this.#pending,
      new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs)),
    ]);
    clearTimeout(timer);
    if (got === "timeout") return "timeout";
    this.#pending = undefined;
    if (got === null) this.#eof = true;
    else {
      const next = new Uint8Array(this.#buf.length + got.length);
      next.set(this.#buf);
      next.set(got, this.#buf.length);
      this.#buf = next;
    }
    return "ok";
  }
}

/** Connects to 127.0.0.1:port. */
export function connectLocal(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Waits until the peer closes `conn` (read returns EOF or fails); false if it stays open for timeoutMs. */
export async function waitClosed(conn: Deno.Conn, timeoutMs: number): Promise<boolean> {
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      conn.read(buf).catch(() => null),
      new Promise<"timeout">((res) => timer = setTimeout(() => res("timeout"), left)),
    ]);
    clearTimeout(timer);
    if (r === "timeout") return false;
    if (r === null) return true;
  }
}

export interface RawBoltResponder {
  readonly port: number;
  readonly address: string;
  /** Every frame received, in order. */
  readonly frames: Uint8Array[];
  /** Connections accepted. */
  readonly connections: number;
  stop(): Promise<void>;
}

/**
 * A raw bolt upstream on 127.0.0.1: for each request frame, `reply(frame)` returns the bytes to answer with
 * (or undefined for no answer). Heartbeats are handed to `reply` too.
 */
export function startRawBoltResponder(
  reply: (frame: Uint8Array) => Uint8Array | undefined,
): RawBoltResponder {
  const frames: Uint8Array[] = [];
  const server = startLoopbackServer(async (conn) => {
    const reader = new FrameReader(conn);
    for (;;) {
      const f = await reader.next(3_600_000);
      if (f === null || f === "timeout") break;
      frames.push(f);
      const out = reply(f);
      if (out !== undefined) await writeAll(conn, out);
    }
  });
  return {
    port: server.port,
    address: server.address,
    frames,
    get connections() {
      return server.connections;
    },
    stop: () => server.stop(),
  };
}
