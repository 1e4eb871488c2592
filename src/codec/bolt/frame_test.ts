import assert from "node:assert/strict";
import { CAPTURED_REQUEST, CAPTURED_RESPONSE, hex, toHex } from "./_test_io.ts";
import { CMD_REQUEST, TYPE_REQUEST } from "./constants.ts";
import {
  boltFrameLength,
  BoltRequestHead,
  BoltResponseHead,
  decodeBoltFrame,
  encodeBoltFrame,
  encodeHeartbeatRequest,
  encodeHeartbeatResponse,
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
  assert.equal(boltFrameLength(hex("020201"), 0, 3, 0xffff), ERR_UNSUPPORTED_VER1);
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
