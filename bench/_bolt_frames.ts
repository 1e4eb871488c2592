/**
 * Bolt v1 frames captured between sofa-rpc-node@2.10.0 peers (see /work/shared/notes/protocols.md),
 * and the few helpers the bench load generator and responder need. Plain Deno: no meshctl imports.
 */

function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `TestService.plus(1,2)`, 351 bytes, id 1, header map `service` = `com.nodejs.test.TestService:1.0`. */
export const BOLT_REQUEST: Uint8Array = fromHex(`
0101000101000000010100000bb8002c002e000000ef636f6d2e616c697061792e736f66612e7270632e636f72652e72
6571756573742e536f66615265717565737400000007736572766963650000001f636f6d2e6e6f64656a732e74657374
2e54657374536572766963653a312e304fbc636f6d2e616c697061792e736f66612e7270632e636f72652e7265717565
73742e536f666152657175657374950a6d6574686f644e616d650d6d6574686f64417267536967731774617267657453
657276696365556e697175654e616d650d7461726765744170704e616d650c7265717565737450726f70736f9004706c
7573567400115b6a6176612e6c616e672e537472696e676e0203696e7403696e747a1f636f6d2e6e6f64656a732e7465
73742e54657374536572766963653a312e304e4d07736572766963651f636f6d2e6e6f64656a732e746573742e546573
74536572766963653a312e307a9192`);

/** The SofaResponse to it (appResponse 3), 164 bytes, id 1, status 0. */
export const BOLT_RESPONSE: Uint8Array = fromHex(`
010000020100000001010000002e000000000062636f6d2e616c697061792e736f66612e7270632e636f72652e726573
706f6e73652e536f6661526573706f6e73654fbe636f6d2e616c697061792e736f66612e7270632e636f72652e726573
706f6e73652e536f6661526573706f6e7365940769734572726f72086572726f724d73670b617070526573706f6e7365
0d726573706f6e736550726f70736f90464e934e`);

export const REQUEST_HEADER_LEN = 22;
export const RESPONSE_HEADER_LEN = 20;

/** Writes `id` (u32 BE) at offset 5, where both bolt v1 requests and responses carry it. */
export function patchId(frame: Uint8Array, offset: number, id: number): void {
  frame[offset + 5] = (id >>> 24) & 0xff;
  frame[offset + 6] = (id >>> 16) & 0xff;
  frame[offset + 7] = (id >>> 8) & 0xff;
  frame[offset + 8] = id & 0xff;
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

export function readU16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

/**
 * Length of the complete bolt v1 frame at `off`, or 0 when more bytes are needed.
 * Throws on a byte stream that is not bolt v1.
 */
export function frameLength(b: Uint8Array, off: number, end: number): number {
  const avail = end - off;
  if (avail < 1) return 0;
  if (b[off] !== 0x01) {
    throw new SyntaxError(`Cannot decode bolt frame: protocol byte 0x${b[off]!.toString(16)}`);
  }
  if (avail < 2) return 0;
  const type = b[off + 1];
  if (type === 0) {
    if (avail < RESPONSE_HEADER_LEN) return 0;
    const len = RESPONSE_HEADER_LEN + readU16(b, off + 12) + readU16(b, off + 14) + readU32(b, off + 16);
    return avail >= len ? len : 0;
  }
  if (type === 1 || type === 2) {
    if (avail < REQUEST_HEADER_LEN) return 0;
    const len = REQUEST_HEADER_LEN + readU16(b, off + 14) + readU16(b, off + 16) + readU32(b, off + 18);
    return avail >= len ? len : 0;
  }
  throw new SyntaxError(`Cannot decode bolt frame: type ${type}`);
}

/** A growable receive buffer that hands out complete frames. */
export class FrameBuffer {
  #buf = new Uint8Array(256 * 1024);
  #start = 0;
  #end = 0;

  /** The region to read into (compacts/grows first so at least 64 KiB is free). */
  space(): Uint8Array {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#buf.length - this.#end < 65536) {
      const used = this.#end - this.#start;
      const next = used + 65536 > this.#buf.length ? new Uint8Array((used + 65536) * 2) : this.#buf;
      next.copyWithin(0, this.#start, this.#end);
      if (next !== this.#buf) next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = used;
    }
    return this.#buf.subarray(this.#end);
  }

  commit(n: number): void {
    this.#end += n;
  }

  /** Calls `onFrame(buf, offset, length)` for each complete frame and consumes them. */
  frames(onFrame: (buf: Uint8Array, off: number, len: number) => void): void {
    for (;;) {
      const len = frameLength(this.#buf, this.#start, this.#end);
      if (len === 0) return;
      onFrame(this.#buf, this.#start, len);
      this.#start += len;
    }
  }
}

/** Writes all of `data` to `conn`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
