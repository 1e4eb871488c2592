/**
 * Dubbo 2.x frames for the bench, captured between dubbo2.js@2.3.9 and the hessian.js test provider
 * (tests/_peers/dubbo_golden.ts says how), and the few helpers the bench load generator and responder
 * need. Plain Deno: no meshctl or npm imports.
 */

function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export const HEADER_LENGTH = 16;
export const FLAG_REQUEST = 0x80;
export const FLAG_TWO_WAY = 0x40;
export const FLAG_EVENT = 0x20;
export const STATUS_OK = 20;

/**
 * dubbo2.js's `sayHello("world")` on org.apache.dubbo.demo.DemoService, version 1.0.0, group blue, with
 * attachments (timeout 3000, traceId t-1): 254 bytes, id 1, flag 0xc2 (request, two-way, hessian2).
 */
export const DUBBO_REQUEST: Uint8Array = fromHex(`
dabbc2000000000000000001000000ee05322e302e3230216f72672e6170616368652e647562626f2e64656d6f2e44656d6f
5365727669636505312e302e300873617948656c6c6f124c6a6176612f6c616e672f537472696e673b05776f726c64480b61
70706c69636174696f6e09647562626f322e6a730567726f757004626c756509696e7465726661636530216f72672e617061
6368652e647562626f2e64656d6f2e44656d6f53657276696365047061746830216f72672e6170616368652e647562626f2e
64656d6f2e44656d6f536572766963650774696d656f7574d40bb8077472616365496403742d310776657273696f6e05312e
302e305a`);

/**
 * The provider's answer (RESPONSE_VALUE_WITH_ATTACHMENTS "Hello world, response from provider: p1",
 * {dubbo: "2.0.2"}): 72 bytes, id 1, flag 0x02, status 20.
 */
export const DUBBO_RESPONSE: Uint8Array = fromHex(`
dabb021400000000000000010000003894302748656c6c6f20776f726c642c20726573706f6e73652066726f6d2070726f76
696465723a2070314805647562626f05322e302e325a`);

/** A Dubbo provider's heartbeat response (event, hessian2; status 20; body hessian null), id 0. */
export const HEARTBEAT_RESPONSE: Uint8Array = fromHex("dabb22140000000000000000000000014e");

/** Writes `id` as the u64 request id at `offset + 4` (ids here stay below 2^32). */
export function patchId(frame: Uint8Array, offset: number, id: number): void {
  frame.fill(0, offset + 4, offset + 8);
  frame[offset + 8] = (id >>> 24) & 0xff;
  frame[offset + 9] = (id >>> 16) & 0xff;
  frame[offset + 10] = (id >>> 8) & 0xff;
  frame[offset + 11] = id & 0xff;
}

/** The request id at `off` (its low 32 bits; the bench never uses more). */
export function readId(b: Uint8Array, off: number): number {
  return ((b[off + 8]! << 24) | (b[off + 9]! << 16) | (b[off + 10]! << 8) | b[off + 11]!) >>> 0;
}

/**
 * Length of the complete dubbo frame at `off`, or 0 when more bytes are needed.
 * Throws on a byte stream that is not dubbo.
 */
export function frameLength(b: Uint8Array, off: number, end: number): number {
  const avail = end - off;
  if (avail < 2) return 0;
  if (b[off] !== 0xda || b[off + 1] !== 0xbb) {
    throw new SyntaxError(
      `Cannot decode dubbo frame: magic 0x${b[off]!.toString(16)}${b[off + 1]!.toString(16)}`,
    );
  }
  if (avail < HEADER_LENGTH) return 0;
  const body = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
  return avail >= HEADER_LENGTH + body ? HEADER_LENGTH + body : 0;
}
