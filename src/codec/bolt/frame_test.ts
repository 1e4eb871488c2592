import assert from "node:assert/strict";
import {
  CAPTURED_CRC_HEARTBEAT,
  CAPTURED_CRC_REQUEST,
  CAPTURED_REQUEST,
  CAPTURED_RESPONSE,
  hex,
  toHex,
} from "./_test_io.ts";
import { CMD_HEARTBEAT, CMD_REQUEST, TYPE_REQUEST, TYPE_RESPONSE } from "./constants.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import {
  BoltFrameDecoder,
  boltFrameLength,
  BoltRequestHead,
  BoltResponseHead,
  decodeBoltFrame,
  encodeBoltFrame,
  encodeHeartbeatRequest,
  encodeHeartbeatResponse,
  encodeReply,
  ERR_HEADER_TOO_LARGE,
  ERR_UNKNOWN_PROTOCOL,
  ERR_UNKNOWN_TYPE,
  ERR_UNSUPPORTED_VER1,
} from "./frame.ts";

Deno.test("decodeBoltFrame() decodes the captured sofa-rpc-node request", () => {
  assert.equal(CAPTURED_REQUEST.length, 351);
  assert.equal(boltFrameLength(CAPTURED_REQUEST, 0, CAPTURED_REQUEST.length, 0xffff), 351);
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice());
  assert.ok(head instanceof BoltRequestHead);
  assert.equal(head.protocol, "bolt");
  assert.equal(head.version, 1);
  assert.equal(head.type, 1);
  assert.equal(head.cmdCode, 1);
  assert.equal(head.requestId, 1);
  assert.equal(head.codec, 1);
  assert.equal(head.timeout, 3000);
  assert.equal(head.frameTimeoutMs, 3000);
  assert.equal(head.className, "com.alipay.sofa.rpc.core.request.SofaRequest");
  assert.equal(head.headers.size, 1);
  assert.equal(head.headers.get("service"), "com.nodejs.test.TestService:1.0");
  assert.equal(head.headers.get("SERVICE"), "com.nodejs.test.TestService:1.0");
  assert.equal(head.content.length, 0xef);
  assert.equal(head.method, "");
  assert.equal(head.path, "");
  assert.equal(head.host, "");
  assert.equal(head.oneway, false);
});

Deno.test("BoltRequestHead.encode() patches only the id of an unchanged frame", () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  const out = head.encode(0x01020304);
  assert.equal(out, head.frame); // in place, no copy
  const expected = CAPTURED_REQUEST.slice();
  expected.set([1, 2, 3, 4], 5);
  assert.deepEqual(out, expected);
  assert.deepEqual(head.encode(1), CAPTURED_REQUEST);
});

Deno.test("BoltRequestHead.encode() re-encodes after a header edit", () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  head.headers.set("x-mosn-rpc-method", "plus");
  const out = head.encode(7);
  assert.notEqual(out, CAPTURED_REQUEST);
  const again = decodeBoltFrame(out) as BoltRequestHead;
  assert.equal(again.requestId, 7);
  assert.equal(again.timeout, 3000);
  assert.equal(again.className, "com.alipay.sofa.rpc.core.request.SofaRequest");
  assert.equal(again.headers.get("service"), "com.nodejs.test.TestService:1.0");
  assert.equal(again.headers.get("x-mosn-rpc-method"), "plus");
  assert.deepEqual(again.content, head.content);
  // Deleting the added header brings back the original bytes (with the new id).
  again.headers.delete("x-mosn-rpc-method");
  const back = again.encode(1);
  assert.equal(toHex(back), toHex(CAPTURED_REQUEST));
});

Deno.test("decodeBoltFrame() decodes the captured response and maps its status", () => {
  assert.equal(CAPTURED_RESPONSE.length, 164);
  assert.equal(boltFrameLength(CAPTURED_RESPONSE, 0, 164, 0xffff), 164);
  const head = decodeBoltFrame(CAPTURED_RESPONSE.slice());
  assert.ok(head instanceof BoltResponseHead);
  assert.equal(head.version, 1);
  assert.equal(head.cmdCode, 2);
  assert.equal(head.requestId, 1);
  assert.equal(head.boltStatus, 0);
  assert.equal(head.status, 200);
  assert.equal(head.className, "com.alipay.sofa.rpc.core.response.SofaResponse");
  assert.equal(head.headers.size, 0);
  assert.equal(head.content.length, 0x62);
  assert.deepEqual(head.encode(9).subarray(5, 9), new Uint8Array([0, 0, 0, 9]));
  assert.equal(toHex(head.encode(1)), toHex(CAPTURED_RESPONSE));
});

Deno.test("BoltResponseHead status maps bolt codes to HTTP-like codes", () => {
  const cases: [number, number][] = [[0, 200], [4, 503], [7, 504], [16, 502], [1, 500], [6, 500], [9, 500]];
  for (const [bolt, http] of cases) {
    const frame = encodeBoltFrame(1, 0, 2, 1, 1, 0, bolt, undefined, undefined, undefined);
    const head = decodeBoltFrame(frame) as BoltResponseHead;
    assert.equal(head.boltStatus, bolt);
    assert.equal(head.status, http, `bolt ${bolt}`);
  }
});

Deno.test("BoltResponseHead.encode() converts between v1 and v2", () => {
  const v1 = decodeBoltFrame(CAPTURED_RESPONSE.slice()) as BoltResponseHead;
  const v2bytes = v1.encode(5, 2);
  assert.equal(v2bytes.length, 166);
  const v2 = decodeBoltFrame(v2bytes) as BoltResponseHead;
  assert.equal(v2.version, 2);
  assert.equal(v2.requestId, 5);
  assert.equal(v2.className, v1.className);
  assert.deepEqual(v2.content, v1.content);
  assert.equal(toHex(v2.encode(1, 1)), toHex(CAPTURED_RESPONSE));
});

Deno.test("encodeBoltFrame() writes the v2 request layout", () => {
  const frame = encodeBoltFrame(
    2,
    TYPE_REQUEST,
    CMD_REQUEST,
    0x0a0b0c0d,
    1,
    0x5a,
    1500,
    new TextEncoder().encode("C"),
    undefined,
    new Uint8Array([9, 9]),
  );
  assert.equal(
    toHex(frame),
    "02" + "01" + "01" + "0001" + "01" + "0a0b0c0d" + "01" + "5a" + "000005dc" + "0001" + "0000" +
      "00000002" +
      "43" + "0909",
  );
  const head = decodeBoltFrame(frame) as BoltRequestHead;
  assert.equal(head.protocol, "boltv2");
  assert.equal(head.switchCode, 0x5a);
  assert.equal(head.timeout, 1500);
  assert.equal(head.className, "C");
});

Deno.test("heartbeat frames match protocols.md byte for byte", () => {
  assert.equal(toHex(encodeHeartbeatRequest(1, 7)), "01010000010000000701ffffffff0000000000000000");
  assert.equal(toHex(encodeHeartbeatResponse(1, 7)), "0100000001000000070100000000000000000000");
  assert.equal(toHex(encodeHeartbeatResponse(2, 7)), "02010000000100000007010000000000000000000000");
  assert.equal(toHex(encodeHeartbeatRequest(2, 7)), "020101000001000000070100ffffffff0000000000000000");
});

Deno.test("boltFrameLength() rejects garbage and waits for headers", () => {
  assert.equal(boltFrameLength(hex("03"), 0, 1, 0xffff), ERR_UNKNOWN_PROTOCOL);
  assert.equal(boltFrameLength(hex("0103"), 0, 2, 0xffff), ERR_UNKNOWN_TYPE);
  assert.equal(boltFrameLength(hex("020103"), 0, 3, 0xffff), ERR_UNKNOWN_TYPE);
  assert.equal(boltFrameLength(hex("020301"), 0, 3, 0xffff), ERR_UNSUPPORTED_VER1);
  assert.equal(boltFrameLength(hex("020001"), 0, 3, 0xffff), ERR_UNSUPPORTED_VER1);
  assert.equal(boltFrameLength(hex("020201"), 0, 3, 0xffff), 0, "ver1 2 (CRC-32 frames) is a frame to read");
  assert.equal(boltFrameLength(hex("01"), 0, 1, 0xffff), 0);
  assert.equal(boltFrameLength(CAPTURED_REQUEST, 0, 21, 0xffff), 0);
  assert.equal(boltFrameLength(CAPTURED_REQUEST, 0, 22, 0x2d), ERR_HEADER_TOO_LARGE);
});

Deno.test("decodeBoltFrame() rejects a header map whose entry overruns it", () => {
  const frame = CAPTURED_REQUEST.slice();
  frame[22 + 0x2c + 3] = 0x40; // key length 0x40 > the 0x2e-byte map
  assert.equal(decodeBoltFrame(frame), undefined);
});

Deno.test("decodeBoltFrame() skips null header entries", () => {
  const map = hex("ffffffff" + "00000001" + "41" + "00000001" + "6b" + "00000001" + "76");
  const frame = encodeBoltFrame(1, 1, 1, 1, 1, 0, -1, undefined, undefined, undefined);
  const withMap = new Uint8Array(frame.length + map.length);
  withMap.set(frame);
  withMap.set(map, frame.length);
  withMap[17] = map.length;
  const head = decodeBoltFrame(withMap) as BoltRequestHead;
  assert.equal(head.headers.size, 1);
  assert.equal(head.headers.get("k"), "v");
});

Deno.test("encodeBoltFrame() refuses a header map over 65535 bytes", () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  head.headers.set("big", "x".repeat(70_000));
  assert.throws(() => head.encode(2), RangeError);
});

Deno.test("decodeBoltFrame() decodes UTF-8 header values", () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  head.headers.set("name", "héllo-世界");
  const again = decodeBoltFrame(head.encode(3)) as BoltRequestHead;
  assert.equal(again.headers.get("name"), "héllo-世界");
});

// === bolt v2 CRC-32 (ver1 2 + switch bit 0) ===

/** CRC-32 bit by bit, straight from the polynomial: an oracle independent of the code under test. */
function crcBitwise(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function trailer(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(frame.length - 4);
}

Deno.test("the CRC-32 oracle agrees with sofa-bolt-node's captured CRC frames", () => {
  for (const f of [CAPTURED_CRC_REQUEST, CAPTURED_CRC_HEARTBEAT]) {
    assert.equal(trailer(f), crcBitwise(f.subarray(0, f.length - 4)));
  }
  assert.equal(crcBitwise(new TextEncoder().encode("123456789")), 0xcbf43926); // the standard check value
});

Deno.test("boltFrameLength() counts the CRC-32 trailer only when ver1 is 2 and the switch asks for it", () => {
  const f = CAPTURED_CRC_REQUEST;
  assert.equal(f.length, 357);
  assert.equal(boltFrameLength(f, 0, f.length, 0xffff), 357);
  const noSwitch = f.slice(0, f.length - 4);
  noSwitch[11] = 0x00;
  assert.equal(boltFrameLength(noSwitch, 0, noSwitch.length, 0xffff), 353, "ver1 2, CRC switch off");
  const ver1One = f.slice(0, f.length - 4);
  ver1One[1] = 1;
  assert.equal(
    boltFrameLength(ver1One, 0, ver1One.length, 0xffff),
    353,
    "ver1 1 has no CRC, whatever the switch",
  );
  const otherBits = noSwitch.slice();
  otherBits[11] = 0xfe;
  assert.equal(boltFrameLength(otherBits, 0, otherBits.length, 0xffff), 353, "only bit 0 is the CRC switch");
});

Deno.test("decodeBoltFrame() decodes sofa-bolt-node's CRC frames, content without the trailer", () => {
  const head = decodeBoltFrame(CAPTURED_CRC_REQUEST.slice()) as BoltRequestHead;
  assert.ok(head instanceof BoltRequestHead);
  assert.deepEqual([head.version, head.ver1, head.switchCode, head.crc32], [2, 2, 1, true]);
  assert.equal(head.headers.get("service"), "com.nodejs.test.TestService:1.0");
  const plain = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  assert.equal(toHex(head.content), toHex(plain.content));
  const hb = decodeBoltFrame(CAPTURED_CRC_HEARTBEAT.slice()) as BoltRequestHead;
  assert.deepEqual([hb.heartbeat, hb.healthCheck, hb.requestId, hb.content.length], [true, true, 7, 0]);
});

Deno.test("BoltFrameDecoder.decode() refuses a CRC mismatch by name and counts it", () => {
  const registry = new StatsRegistry();
  const scope = registry.scope("codec", { listener: "l" });
  const decoder = new BoltFrameDecoder(scope);
  const flipped = CAPTURED_CRC_REQUEST.slice();
  flipped[200] ^= 0x01; // one bit of the content
  assert.equal(
    decoder.decode(flipped),
    `bolt v2 CRC32 mismatch: the frame carries 0xb1dbc284, its bytes give 0x${
      crcBitwise(flipped.subarray(0, flipped.length - 4)).toString(16).padStart(8, "0")
    }`,
  );
  const badTrailer = CAPTURED_CRC_REQUEST.slice();
  badTrailer[badTrailer.length - 1] ^= 0xff;
  assert.match(decoder.decode(badTrailer) as string, /^bolt v2 CRC32 mismatch/);
  assert.equal(decodeBoltFrame(badTrailer), undefined);
  assert.equal(scope.counter("bolt_crc32_mismatch_total").value, 2);
  assert.ok(decoder.decode(CAPTURED_CRC_REQUEST.slice()) instanceof BoltRequestHead);
  assert.equal(scope.counter("bolt_crc32_mismatch_total").value, 2);
});

Deno.test("BoltRequestHead.encode() writes the CRC-32 again over the patched id", () => {
  const head = decodeBoltFrame(CAPTURED_CRC_REQUEST.slice()) as BoltRequestHead;
  const out = head.encode(0x01020304);
  assert.equal(toHex(out.subarray(6, 10)), "01020304");
  assert.equal(trailer(out), crcBitwise(out.subarray(0, out.length - 4)));
  assert.notEqual(trailer(out), 0xb1dbc284);
  // Edited headers re-encode the frame: ver1, switch and a fresh CRC-32 kept.
  const edited = decodeBoltFrame(CAPTURED_CRC_REQUEST.slice()) as BoltRequestHead;
  edited.headers.set("x-mosn-route", "a");
  const re = edited.encode(9);
  assert.deepEqual([re[1], re[11]], [2, 1]);
  assert.equal(trailer(re), crcBitwise(re.subarray(0, re.length - 4)));
  const again = decodeBoltFrame(re) as BoltRequestHead;
  assert.deepEqual([again.headers.get("x-mosn-route"), again.crc32, toHex(again.content)], [
    "a",
    true,
    toHex(edited.content),
  ]);
});

Deno.test("encodeBoltFrame() appends a CRC-32 for ver1 2 with the switch bit, and only then", () => {
  const crc = encodeBoltFrame(2, TYPE_RESPONSE, 2, 5, 1, 0x01, 0, undefined, undefined, hex("4e"), 2);
  assert.equal(crc.length, 22 + 1 + 4);
  assert.equal(trailer(crc), crcBitwise(crc.subarray(0, 23)));
  assert.equal(
    encodeBoltFrame(2, TYPE_RESPONSE, 2, 5, 1, 0x00, 0, undefined, undefined, hex("4e"), 2).length,
    23,
  );
  assert.equal(
    encodeBoltFrame(2, TYPE_RESPONSE, 2, 5, 1, 0x01, 0, undefined, undefined, hex("4e")).length,
    23,
  );
  const head = decodeBoltFrame(crc) as BoltResponseHead;
  assert.deepEqual([head.crc32, head.boltStatus, toHex(head.content)], [true, 0, "4e"]);
  // Towards a v1 downstream the response is re-encoded without one (v1 has no CRC).
  assert.equal(head.encode(5, 1).length, 20 + 1);
});

Deno.test("encodeReply() answers a heartbeat with an ack and mirrors ver1, switch and the CRC-32", () => {
  const hb = decodeBoltFrame(CAPTURED_CRC_HEARTBEAT.slice()) as BoltRequestHead;
  const ack = encodeReply(hb, 0);
  assert.equal(toHex(ack.subarray(0, 22)), "02020000000100000007010100000000000000000000");
  assert.equal(trailer(ack), crcBitwise(ack.subarray(0, 22)));
  const req = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  const busy = decodeBoltFrame(encodeReply(req, 4)) as BoltResponseHead;
  assert.deepEqual([busy.cmdCode, busy.boltStatus, busy.requestId], [2, 4, 1]);
  assert.equal(
    toHex(encodeReply(decodeBoltFrame(encodeHeartbeatRequest(1, 7)) as BoltRequestHead, 0)),
    toHex(encodeHeartbeatResponse(1, 7)),
    "a plain v1 ack is MOSN's",
  );
  assert.equal((decodeBoltFrame(encodeReply(hb, 0)) as BoltResponseHead).cmdCode, CMD_HEARTBEAT);
});
