/**
 * The bolt and boltv2 codecs' fixtures for the conformance suite, built on the frames captured from
 * sofa-rpc-node (protocols.md). The plain v2 frames are the same bodies behind a header written out by
 * hand from the v2 layout in protocols.md (not by meshctl's encoder); the CRC-32 request is sofa-bolt-node's.
 */
import { strictEqual } from "node:assert/strict";
import { ProxyError } from "../core/mod.ts";
import type { CodecConformanceAdapter, ConformanceExchange } from "./_conformance.ts";
import { CAPTURED_CRC_REQUEST, CAPTURED_REQUEST, CAPTURED_RESPONSE, concat, hex } from "./bolt/_test_io.ts";
import { BoltRequestHead, BoltResponseHead, type BoltVersion } from "./bolt/mod.ts";
import { decodeBoltFrame } from "./bolt/frame.ts";
import { SimpleHeaderMap } from "./header_map.ts";
import type { RequestHead, ResponseHead } from "./types.ts";

const te = new TextEncoder();
const SERVICE = "com.nodejs.test.TestService:1.0";

/** Golden frames per version: TestService.plus(1,2) as id 1, its answer, and a TIMEOUT local reply. */
const GOLDEN = {
  1: {
    request: CAPTURED_REQUEST,
    response: CAPTURED_RESPONSE,
    // proto, type 0, cmd 2, ver2, id 1, codec 1, status 7, lengths 0.
    timeout: hex("01 00 0002 01 00000001 01 0007 0000 0000 00000000"),
  },
  2: {
    // proto 2, ver1 1, type 1, cmd 1, ver2 1, id 1, codec 1, switch 0, timeout 3000, class/header/content lengths.
    request: concat(
      hex("02 01 01 0001 01 00000001 01 00 00000bb8 002c 002e 000000ef"),
      CAPTURED_REQUEST.subarray(22),
    ),
    // proto 2, ver1 1, type 0, cmd 2, ver2 1, id 1, codec 1, switch 0, status 0, lengths.
    response: concat(
      hex("02 01 00 0002 01 00000001 01 00 0000 002e 0000 00000062"),
      CAPTURED_RESPONSE.subarray(20),
    ),
    timeout: hex("02 01 00 0002 01 00000001 01 00 0007 0000 0000 00000000"),
  },
} as const;

/** CRC-32 bit by bit from the polynomial: the fixtures' own, independent of the codec's. */
function crc32Bitwise(b: Uint8Array): Uint8Array {
  let c = 0xffffffff;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  c = (c ^ 0xffffffff) >>> 0;
  return new Uint8Array([c >>> 24, (c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff]);
}

function withCrc(frame: Uint8Array): Uint8Array {
  return concat(frame, crc32Bitwise(frame));
}

/**
 * v2 with CRC-32 (ver1 2, switch 0x01): sofa-bolt-node's request as captured, and the plus(1,2) answer
 * behind a hand-written ver1 2 header with its CRC-32 appended.
 */
const CRC = {
  request: CAPTURED_CRC_REQUEST,
  response: withCrc(concat(
    hex("02 02 00 0002 01 00000001 01 01 0000 002e 0000 00000062"),
    CAPTURED_RESPONSE.subarray(20),
  )),
};

function request(frame: Uint8Array): BoltRequestHead {
  return decodeBoltFrame(frame.slice()) as BoltRequestHead;
}

function response(frame: Uint8Array): BoltResponseHead {
  return decodeBoltFrame(frame.slice()) as BoltResponseHead;
}

/** `frame` with one byte changed. */
function patched(frame: Uint8Array, off: number, value: number): Uint8Array {
  const f = frame.slice();
  f[off] = value;
  return f;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Hex by table: the suite describes every decoded frame's content, thousands of times. */
function toHex(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

function describeRequest(head: RequestHead): Record<string, unknown> {
  if (!(head instanceof BoltRequestHead)) return {};
  const { version, ver1, crc32, type, cmdCode, codec, switchCode, timeout, className } = head;
  return {
    version,
    ver1,
    crc32,
    type,
    cmdCode,
    codec,
    switchCode,
    timeout,
    className,
    content: toHex(head.content),
  };
}

function describeResponse(head: ResponseHead): Record<string, unknown> {
  if (!(head instanceof BoltResponseHead)) return {};
  const { version, ver1, crc32, cmdCode, boltStatus, codec, switchCode, className } = head;
  return {
    version,
    ver1,
    crc32,
    cmdCode,
    boltStatus,
    codec,
    switchCode,
    className,
    content: toHex(head.content),
  };
}

/** Fixtures for the codec of `version` ("bolt" or "boltv2"). */
export function boltAdapter(version: BoltVersion): CodecConformanceAdapter {
  const own = GOLDEN[version];
  const otherVersion: BoltVersion = version === 1 ? 2 : 1;
  const other = GOLDEN[otherVersion];
  const name = version === 1 ? "bolt" : "boltv2";
  const s = version - 1; // v2 fields after the protocol byte sit one byte later
  const classStart = 22 + 2 * s;

  const exchanges: ConformanceExchange[] = [
    {
      name: "captured sofa-rpc-node TestService.plus(1,2)",
      request: () => ({ head: request(own.request) }),
      requestBytes: own.request,
      expectRequest: {
        fields: { protocol: name, method: "", path: "", timeout: 3000, cmdCode: 1 },
        headers: [["service", SERVICE]],
      },
      response: () => ({ head: response(own.response) }),
      responseBytes: own.response,
      expectResponse: {
        fields: { status: 200, boltStatus: 0, className: "com.alipay.sofa.rpc.core.response.SofaResponse" },
      },
    },
    {
      name: "edited headers are re-encoded",
      request: () => {
        const head = request(own.request);
        head.headers.set("x-mosn-rpc-service", "svc");
        return { head };
      },
      expectRequest: { headers: [["service", SERVICE], ["x-mosn-rpc-service", "svc"]] },
      response: () => {
        const head = response(own.response);
        head.headers.set("x-upstream", "a");
        return { head };
      },
      expectResponse: { headers: [["x-upstream", "a"]] },
    },
    {
      name: "heads from an HTTP downstream",
      request: () => ({
        head: {
          protocol: "Http1",
          kind: "http",
          method: "POST",
          path: "/plus",
          query: "",
          host: "h",
          headers: new SimpleHeaderMap([["service", SERVICE], ["x-trace", "t1"]]),
          frameTimeoutMs: 500,
        },
      }),
      expectRequest: {
        fields: {
          protocol: name,
          method: "",
          path: "",
          host: "",
          version,
          type: 1,
          cmdCode: 1,
          timeout: 500,
          className: "",
          content: "",
        },
        headers: [["service", SERVICE], ["x-trace", "t1"]],
      },
      response: () => ({ head: { status: 503, headers: new SimpleHeaderMap([["x-reason", "busy"]]) } }),
      expectResponse: {
        fields: { status: 503, version, boltStatus: 4, cmdCode: 2, className: "", content: "" },
        headers: [["x-reason", "busy"]],
      },
    },
    {
      name: "local reply (timeout)",
      request: () => ({ head: request(own.request) }),
      response: () => ({ localReply: new ProxyError("timeout", "upstream", "upstream timed out") }),
      responseBytes: own.timeout,
      expectResponse: { fields: { status: 504, version, boltStatus: 7, cmdCode: 2, content: "" } },
    },
    {
      name: "oneway request gets nothing back",
      request: () => ({ head: request(patched(own.request, 1 + s, 2)) }),
      expectRequest: { fields: { type: 2 } },
      response: () => ({ head: response(own.response) }),
      responseBytes: new Uint8Array(0),
      // The client side acknowledges a oneway request itself once it is written.
      expectResponse: { fields: { status: 200, version, boltStatus: 0, cmdCode: 2, content: "" } },
    },
    {
      name: `bolt v${otherVersion} frames on the same connection`,
      sniffed: false,
      request: () => ({ head: request(other.request) }),
      requestBytes: other.request,
      expectRequest: { fields: { protocol: otherVersion === 2 ? "boltv2" : "bolt", version: otherVersion } },
      // A v1/v2 upstream answer goes back re-encoded in the request's version.
      response: () => ({ head: response(own.response) }),
      responseBytes: other.response,
      expectResponse: { fields: { status: 200, version: otherVersion, boltStatus: 0 } },
    },
  ];
  if (version === 2) {
    exchanges.push({
      name: "sofa-bolt-node's CRC-32 frames (ver1 2, switch 1): checked, and written again with the id",
      request: () => ({ head: request(CRC.request) }),
      requestBytes: CRC.request,
      expectRequest: {
        fields: {
          protocol: name,
          ver1: 2,
          switchCode: 1,
          crc32: true,
          content: toHex(request(CAPTURED_REQUEST).content),
        },
        headers: [["service", SERVICE]],
      },
      response: () => ({ head: response(CRC.response) }),
      responseBytes: CRC.response,
      expectResponse: { fields: { status: 200, ver1: 2, crc32: true, boltStatus: 0 } },
    });
  }

  return {
    exchanges,
    describeRequest,
    describeResponse,
    badRequests: [
      { name: "an unknown protocol code", bytes: hex("0301000100") },
      { name: "an unknown command type", bytes: version === 1 ? hex("0105000100") : hex("02010700") },
      { name: "an unknown command code", bytes: patched(own.request, 3 + s, 7) },
      ...(version === 2
        ? [
          { name: "an unknown ver1 (3)", bytes: hex("02030100") },
          {
            name: "a CRC-32 that does not match the frame",
            bytes: patched(CRC.request, 200, CRC.request[200]! ^ 1),
          },
        ]
        : []),
      // The first key length (at the header map's start) claims far more than the map holds.
      { name: "a malformed header map", bytes: patched(own.request, classStart + 0x2c + 3, 0x40) },
    ],
    badResponses: [
      { name: "an unknown protocol code", bytes: hex("0909090909") },
      { name: "an unknown command type", bytes: version === 1 ? hex("0107000200") : hex("02010700") },
      {
        // headerLen 4 over the first content bytes: a key length running past the frame.
        name: "a malformed header map",
        bytes: concat(patched(own.response, 20 + 2 * s - 5, 4), new Uint8Array(4)),
      },
      ...(version === 2
        ? [{
          name: "a CRC-32 that does not match the frame",
          bytes: patched(CRC.response, CRC.response.length - 1, CRC.response.at(-1)! ^ 1),
        }]
        : []),
    ],
    assertRejectionReply(written) {
      // No frame can answer undecodable bytes: MOSN closes without a reply, and so does meshctl.
      strictEqual(toHex(written), "", "a rejected bolt connection is closed without a reply");
    },
    foreignBytes: [
      { name: `a bolt v${otherVersion} frame`, bytes: other.request },
      { name: "an HTTP/1.1 request", bytes: te.encode("GET / HTTP/1.1\r\nHost: h\r\n\r\n") },
      { name: "a TLS ClientHello", bytes: hex("160301020001 0001fc") },
      { name: "a dubbo request", bytes: hex("dabbc200 0000000000000001 00000000") },
    ],
  };
}
