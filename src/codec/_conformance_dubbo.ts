/**
 * The dubbo codec's fixtures for the conformance suite. The provider's reply is the frame captured from a
 * hessian2 provider answering dubbo2.js (protocols.md); the calls are dubbo2.js's `sayHello("world")`
 * field sequence, built by the test-only hessian2 writer (`dubbo/_test_hessian.ts`) behind headers
 * written out by hand. The first exchange is byte-exact: dubbo2.js's own call and the test provider's reply,
 * as captured on loopback (`dubbo/_golden_frames.ts`).
 */
import { strictEqual } from "node:assert/strict";
import { ProxyError } from "../core/mod.ts";
import type { CodecConformanceAdapter, ConformanceExchange } from "./_conformance.ts";
import { HessianWriter } from "./dubbo/_test_hessian.ts";
import { call, CAPTURED_REPLY, FLAG_ONEWAY, frame, HELLO, hex, toHex } from "./dubbo/_test_io.ts";
import { CAPTURED_REQUEST as BOLT_REQUEST } from "./bolt/_test_io.ts";
import { DubboRequestHead, DubboResponseHead } from "./dubbo/mod.ts";
import { DUBBO2JS_CALL, PROVIDER_VALUE_REPLY } from "./dubbo/_golden_frames.ts";
import { decodeDubboRequest, encodeStatusResponse } from "./dubbo/frame.ts";
import type { RequestHead, ResponseHead } from "./types.ts";

const te = new TextEncoder();

function request(bytes: Uint8Array): DubboRequestHead {
  const head = decodeDubboRequest(bytes.slice(), 64 * 1024);
  if (typeof head === "string") throw new TypeError(`Cannot decode a fixture: ${head}`);
  return head;
}

function response(bytes: Uint8Array): DubboResponseHead {
  return new DubboResponseHead(bytes.slice());
}

/** A response body: the RpcResult flag (hessian2 int) and what follows it. */
function body(f: (w: HessianWriter) => void): Uint8Array {
  const w = new HessianWriter();
  f(w);
  return w.bytes();
}

const SUM = {
  path: "com.demo.Calculator",
  version: "2.1.0",
  method: "sum",
  argTypes: "[IJLjava/util/Map;",
  args: (w: HessianWriter) => {
    w.listStart(3, "[int").int(1).int(2).int(3);
    w.long(40);
    w.mapStart().string("scale").int(2).end();
  },
  attachments: { interface: "com.demo.Calculator", group: "green", timeout: "500", "x-trace": "t-1" },
};

function describeRequest(head: RequestHead): Record<string, unknown> {
  if (!(head instanceof DubboRequestHead)) return {};
  const f = head.frame;
  return { flag: f[2], oneway: head.oneway, deadlineMs: head.deadlineMs, body: toHex(f.subarray(16)) };
}

function describeResponse(head: ResponseHead): Record<string, unknown> {
  if (!(head instanceof DubboResponseHead)) return {};
  const f = head.frame;
  return { flag: f[2], dubboStatus: head.dubboStatus, body: toHex(f.subarray(16)) };
}

const exchanges: ConformanceExchange[] = [
  {
    name: "dubbo2.js's captured call (group, int timeout, traceId attachments) and the provider's reply",
    request: () => ({ head: request(DUBBO2JS_CALL) }),
    requestBytes: DUBBO2JS_CALL,
    expectRequest: {
      fields: { protocol: "dubbo", method: "sayHello", flag: 0xc2, deadlineMs: 3000 },
      headers: [
        ["dubbo", "2.0.2"],
        ["service", "org.apache.dubbo.demo.DemoService"],
        ["version", "1.0.0"],
        ["method", "sayHello"],
        ["group", "blue"],
        ["timeout", "3000"],
        ["traceId", "t-1"],
        ["application", "dubbo2.js"],
      ],
    },
    response: () => ({ head: response(PROVIDER_VALUE_REPLY) }),
    responseBytes: PROVIDER_VALUE_REPLY,
    expectResponse: { fields: { status: 200, dubboStatus: 20 } },
  },
  {
    name: 'dubbo2.js sayHello("world") and the captured provider reply',
    request: () => ({ head: request(call(1)) }),
    requestBytes: call(1),
    expectRequest: {
      fields: { protocol: "dubbo", method: "sayHello", path: "", host: "", flag: 0xc2, deadlineMs: 3000 },
      headers: [
        ["dubbo", "2.0.2"],
        ["service", "com.demo.HelloService"],
        ["version", "1.0.0"],
        ["method", "sayHello"],
        ["group", "blue"],
        ["timeout", "3000"],
      ],
    },
    response: () => ({ head: response(CAPTURED_REPLY) }),
    responseBytes: CAPTURED_REPLY,
    expectResponse: { fields: { status: 200, dubboStatus: 20, body: "910b68656c6c6f20776f726c64" } },
  },
  {
    name: "arrays, longs and maps as arguments; interface overrides the path; an exception as the answer",
    request: () => ({ head: request(call(1, { ...SUM, path: "calc" })) }),
    expectRequest: {
      fields: { method: "sum", deadlineMs: 500 },
      headers: [["service", "com.demo.Calculator"], ["version", "2.1.0"], ["group", "green"], [
        "x-trace",
        "t-1",
      ]],
    },
    // A service's exception travels as status 20 with RESPONSE_WITH_EXCEPTION: 200 for the proxy.
    response: () => ({
      head: response(frame(
        0x02,
        20,
        1,
        body((w) => {
          w.int(0).classDef("java.lang.ArithmeticException", ["detailMessage"]).objectStart(0).string(
            "/ by zero",
          );
        }),
      )),
    }),
    expectResponse: { fields: { status: 200, dubboStatus: 20 } },
  },
  {
    name: "a null value with attachments",
    request: () => ({ head: request(call(1, { ...HELLO, version: null, attachments: null })) }),
    expectRequest: { headers: [["version", ""], ["service", "com.demo.HelloService"]] },
    response: () => ({
      head: response(frame(0x02, 20, 1, body((w) => w.int(5).mapStart().string("k").string("v").end()))),
    }),
  },
  {
    name: "a provider's error status",
    request: () => ({ head: request(call(1, SUM)) }),
    response: () => ({
      head: response(frame(0x02, 70, 1, body((w) => w.string("java.lang.IllegalStateException")))),
    }),
    expectResponse: { fields: { status: 500, dubboStatus: 70 } },
  },
  {
    name: "local reply (no route)",
    request: () => ({ head: request(call(1)) }),
    response: () => ({ localReply: new ProxyError("no_route", "downstream", "no route matched") }),
    responseBytes: encodeStatusResponse(0, 1, 60, "404|no route matched"),
    expectResponse: { fields: { status: 404, dubboStatus: 60 } },
  },
  {
    name: "oneway call gets nothing back",
    request: () => ({ head: request(call(1, HELLO, FLAG_ONEWAY)) }),
    expectRequest: { fields: { flag: 0x82, oneway: true } },
    response: () => ({ head: response(CAPTURED_REPLY) }),
    responseBytes: new Uint8Array(0),
    // The client side acknowledges a oneway call itself once it is written.
    expectResponse: { fields: { status: 200, dubboStatus: 20, body: "" } },
  },
];

/** A whole call whose body cannot be read is answered BAD_REQUEST for its id, then closed. */
const ANSWERED = new Set([
  "a serialization other than hessian2",
  "a malformed hessian2 body",
  "a descriptor that does not match",
]);

export const dubboAdapter: CodecConformanceAdapter = {
  exchanges,
  describeRequest,
  describeResponse,
  badRequests: [
    { name: "a wrong magic", bytes: hex("dabc c2 00") },
    { name: "a frame over the size limit", bytes: hex("dabb c2 00 0000000000000001 7f000000") },
    { name: "a serialization other than hessian2", bytes: frame(0xc6, 0, 1, new Uint8Array(4)) },
    { name: "a malformed hessian2 body", bytes: frame(0xc2, 0, 1, hex("05322e302e32 40")) },
    { name: "a descriptor that does not match", bytes: call(1, { ...HELLO, argTypes: "II" }) },
  ],
  badResponses: [
    { name: "a wrong magic", bytes: hex("dabc 02 14") },
    { name: "a frame over the size limit", bytes: hex("dabb 02 14 0000000000000001 7f000000") },
  ],
  assertRejectionReply(written, name) {
    if (!ANSWERED.has(name)) {
      strictEqual(toHex(written), "", "undecodable framing is closed without a reply, as MOSN does");
      return;
    }
    strictEqual(toHex(written.subarray(0, 12)), "dabb022800000000" + "00000001", "BAD_REQUEST (40) for id 1");
  },
  foreignBytes: [
    { name: "a bolt request", bytes: BOLT_REQUEST },
    { name: "an HTTP/1.1 request", bytes: te.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n") },
    { name: "the HTTP/2 preface", bytes: te.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") },
    { name: "a TLS ClientHello", bytes: hex("160301020001 0001fc") },
    { name: "a dubbo-thrift frame", bytes: hex("00000020 dabc 00000018") },
  ],
};
