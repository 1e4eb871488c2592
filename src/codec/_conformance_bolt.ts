/**
 * The bolt and boltv2 codecs' fixtures for the conformance suite, built on the frames captured from
 * sofa-rpc-node (protocols.md). No v2 peer was captured, so the v2 frames are the same bodies behind a
 * header written out by hand from the v2 layout in protocols.md (not by meshctl's encoder).
 */
import { strictEqual } from "node:assert/strict";
import { ProxyError } from "../core/mod.ts";
import type { CodecConformanceAdapter, ConformanceExchange } from "./_conformance.ts";
import { CAPTURED_REQUEST, CAPTURED_RESPONSE, concat, hex } from "./bolt/_test_io.ts";
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
  const { version, type, cmdCode, codec, switchCode, timeout, className } = head;
  return { version, type, cmdCode, codec, switchCode, timeout, className, content: toHex(head.content) };
}

function describeResponse(head: ResponseHead): Record<string, unknown> {
  if (!(head instanceof BoltResponseHead)) return {};
  const { version, cmdCode, boltStatus, codec, switchCode, className } = head;
  return { version, cmdCode, boltStatus, codec, switchCode, className, content: toHex(head.content) };
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

  return {
    exchanges,
    describeRequest,
    describeResponse,
    badRequests: [
      { name: "an unknown protocol code", bytes: hex("0301000100") },
      { name: "an unknown command type", bytes: version === 1 ? hex("0105000100") : hex("02010700") },
      { name: "a CRC32 (ver1 2) v2 frame", bytes: hex("02020100") },
      { name: "an unknown command code", bytes: patched(own.request, 3 + s, 7) },
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
