import assert from "node:assert/strict";
import { dubboStatusToHttp, httpToDubboStatus } from "./constants.ts";
import {
  decodeDubboRequest,
  dubboFrameLength,
  DubboRequestHead,
  DubboResponseHead,
  encodeForeignResponse,
  encodeHeartbeatResponse,
  encodeStatusResponse,
  ERR_BAD_MAGIC,
  hessian2String,
  idNumber,
  isReadonlyEvent,
} from "./frame.ts";
import { Hessian2Reader } from "./hessian2.ts";
import { SimpleHeaderMap } from "../header_map.ts";
import { call, CAPTURED_REPLY, frame, heartbeatReply, HELLO, hex, toHex } from "./_test_io.ts";

Deno.test("dubboFrameLength() needs the magic and a whole header, then reads the body length", () => {
  const f = CAPTURED_REPLY;
  assert.equal(dubboFrameLength(f, 0, 0), 0);
  for (let n = 1; n < 16; n++) assert.equal(dubboFrameLength(f, 0, n), 0, `${n} bytes`);
  assert.equal(dubboFrameLength(f, 0, 16), f.length);
  // From an offset inside a larger buffer.
  const two = new Uint8Array(40);
  two.set(f.subarray(0, 16), 7);
  assert.equal(dubboFrameLength(two, 7, 23), f.length);
});

Deno.test("dubboFrameLength() rejects a wrong magic as soon as its byte arrives", () => {
  assert.equal(dubboFrameLength(hex("01"), 0, 1), ERR_BAD_MAGIC);
  assert.equal(dubboFrameLength(hex("da"), 0, 1), 0);
  assert.equal(dubboFrameLength(hex("dabc"), 0, 2), ERR_BAD_MAGIC);
  assert.equal(dubboFrameLength(hex("bbda"), 0, 2), ERR_BAD_MAGIC);
});

Deno.test("dubboFrameLength() reads body lengths as u32 (a 4 GiB claim is not negative)", () => {
  assert.equal(
    dubboFrameLength(frame(0xc2, 0, 1, new Uint8Array(0)).fill(0xff, 12, 16), 0, 16),
    16 + 0xffffffff,
  );
});

Deno.test("DubboResponseHead decodes the provider's captured reply", () => {
  const head = new DubboResponseHead(CAPTURED_REPLY.slice());
  assert.equal(head.dubboStatus, 20);
  assert.equal(head.status, 200);
  assert.equal(head.headers.size, 0);
  // The id is patched in place with both halves.
  assert.equal(toHex(head.encode(0x01020304, 0x05060708).subarray(4, 12)), "0102030405060708");
});

Deno.test("decodeDubboRequest() keeps the client's 64-bit id and patches a u32 id with a zero high word", () => {
  const head = decodeDubboRequest(call(0xfedcba9876543210n), 65536);
  assert.ok(head instanceof DubboRequestHead);
  assert.equal(head.idHigh, 0xfedcba98);
  assert.equal(head.idLow, 0x76543210);
  assert.equal(head.protocol, "dubbo");
  assert.equal(head.kind, "rpc");
  assert.equal(head.method, "sayHello");
  assert.equal(head.headers.get("service"), "com.demo.HelloService");
  assert.equal(head.oneway, false);
  assert.equal(toHex(head.encode(7).subarray(4, 12)), "0000000000000007");
  // The original halves stay: the response goes back with them.
  assert.equal(head.idHigh, 0xfedcba98);
});

Deno.test("decodeDubboRequest() sets deadlineMs from a positive integer timeout attachment only", () => {
  const deadline = (timeout: unknown) => {
    const head = decodeDubboRequest(call(1, { ...HELLO, attachments: { timeout } }), 65536);
    assert.ok(head instanceof DubboRequestHead);
    return head.deadlineMs;
  };
  assert.equal(deadline("250"), 250);
  assert.equal(deadline(3000), 3000);
  assert.equal(deadline("0"), undefined);
  assert.equal(deadline("-5"), undefined);
  assert.equal(deadline("12ms"), undefined);
  assert.equal(deadline("99999999999"), undefined);
  assert.equal(deadline(null), undefined);
  const none = decodeDubboRequest(call(1, { ...HELLO, attachments: {} }), 65536) as DubboRequestHead;
  assert.equal(none.deadlineMs, undefined);
});

Deno.test("decodeDubboRequest() reports a serialization other than hessian2 and a malformed body", () => {
  assert.equal(
    decodeDubboRequest(frame(0xc6, 0, 1, new Uint8Array(4)), 65536),
    "dubbo serialization 6 is not supported (hessian2 only)",
  );
  assert.match(
    decodeDubboRequest(frame(0xc2, 0, 1, hex("05 322e30")), 65536) as string,
    /^malformed dubbo request body: /,
  );
});

Deno.test("DubboRequestHead.oneway is a request without the two-way flag", () => {
  const head = decodeDubboRequest(call(1, HELLO, 0x82), 65536) as DubboRequestHead;
  assert.equal(head.oneway, true);
});

Deno.test("encodeHeartbeatResponse() writes what a dubbo provider answers a heartbeat", () => {
  assert.equal(toHex(encodeHeartbeatResponse(0, 9)), toHex(heartbeatReply(9)));
  assert.equal(toHex(encodeHeartbeatResponse(0, 9)), "dabb2214000000000000000900000001" + "4e");
});

Deno.test("encodeStatusResponse() writes MOSN's hijack frame: flag 0x02, the status, a hessian2 string", () => {
  assert.equal(
    toHex(encodeStatusResponse(0, 1, 60, "404|no route")),
    "dabb023c0000000000000001" + "0000000d" + "0c" + toHex(new TextEncoder().encode("404|no route")),
  );
});

Deno.test("encodeForeignResponse(): a 2xx is a success with no value, else a status reply", () => {
  const ok = encodeForeignResponse({ status: 204, headers: new SimpleHeaderMap() }, 0, 3);
  assert.equal(toHex(ok), "dabb021400000000000000030000000192");
  const busy = encodeForeignResponse({ status: 503, reason: "busy", headers: new SimpleHeaderMap() }, 0, 3);
  assert.equal(busy[3], 40);
  assert.equal(new Hessian2Reader(busy, 16, busy.length).readString(), "503|busy");
});

Deno.test("hessian2String() round-trips through the reader in every length class", () => {
  const surrogateAtChunkEnd = "a".repeat(0x7fff) + "😀" + "b";
  for (
    const s of [
      "",
      "x",
      "x".repeat(31),
      "x".repeat(32),
      "x".repeat(1023),
      "x".repeat(1024),
      "é€😀",
      "y".repeat(70_000),
      surrogateAtChunkEnd,
    ]
  ) {
    const b = hessian2String(s);
    const r = new Hessian2Reader(b, 0, b.length);
    assert.equal(r.readString(), s);
    assert.ok(r.atEnd);
  }
});

Deno.test('isReadonlyEvent() is dubbo\'s readonly event (data "R"), not a heartbeat', () => {
  assert.equal(isReadonlyEvent(frame(0xa2, 0, 5, hex("0152"))), true);
  assert.equal(isReadonlyEvent(frame(0xe2, 0, 5, hex("4e"))), false);
  assert.equal(isReadonlyEvent(frame(0xa6, 0, 5, hex("0152"))), false);
});

Deno.test("idNumber() is exact up to 2^53", () => {
  assert.equal(idNumber(0, 7), 7);
  assert.equal(idNumber(1, 0), 2 ** 32);
  assert.equal(idNumber(0x1fffff, 0xffffffff), Number.MAX_SAFE_INTEGER);
});

Deno.test("dubboStatusToHttp() maps each dubbo status to the HTTP status of its meaning", () => {
  const table: [number, number][] = [
    [20, 200],
    [30, 504],
    [31, 504],
    [40, 400],
    [50, 500],
    [60, 404],
    [70, 500],
    [80, 500],
    [90, 500],
    [100, 503],
    [0, 500],
  ];
  for (const [dubbo, http] of table) assert.equal(dubboStatusToHttp(dubbo), http, `${dubbo}`);
});

Deno.test("httpToDubboStatus() is MOSN's hijack table", () => {
  const table: [number, number][] = [
    [0, 70],
    [2, 70],
    [3, 70],
    [200, 20],
    [403, 80],
    [404, 60],
    [500, 70],
    [502, 60],
    [503, 40],
    [504, 30],
    [509, 40],
    [499, 70],
    [408, 70],
  ];
  for (const [code, dubbo] of table) assert.equal(httpToDubboStatus(code), dubbo, `${code}`);
});
