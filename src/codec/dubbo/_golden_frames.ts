/**
 * Golden dubbo frames, captured on loopback from the real peers (hex, ids as captured).
 *
 * Kept beside the codec so its conformance adapter uses them as goldens; the test peers re-export them.
 *
 * How: `tests/_peers/dubbo_peers_test.ts` ("golden frames …") repeats each capture and compares byte for
 * byte: a dubbo2.js@2.3.9 `DirectlyDubbo` (dubboVersion "2.0.2") calls a `startDubboProvider()` provider
 * started with `recordWire: true`, which keeps every frame it reads and writes. dubbo2.js numbers requests
 * with one counter per process, so the tests compare with the request id patched (`withId`).
 *
 * Cross-check with /work/shared/notes/protocols.md: `NOTES_REQUEST` is its 220-byte capture
 * (`dabb c2 00 0000000000000001 000000cc`, path org.apache.dubbo.demo.DemoService, version "0.0.0",
 * sayHello("world")), which `encodeRequest()` rebuilds exactly, and `NOTES_REPLY` its provider reply
 * (`91` = RESPONSE_VALUE, "hello world"), which `encodeOkResponse()` rebuilds exactly. That reply has no
 * attachments although the request says dubbo "2.0.2": the notes' provider was a hessian2 test provider,
 * not Java. Dubbo 2.7 answers a 2.0.2 request with the `…_WITH_ATTACHMENTS` forms (0x94/0x95/0x93)
 * carrying `{dubbo: "2.0.2"}` (`DubboCodec.encodeResponseData`, `Version.isSupportResponseAttachment`),
 * and so does `startDubboProvider()`: see `PROVIDER_VALUE_REPLY`.
 * @module
 */
import { hex as fromHex } from "../bolt/_test_io.ts";

/**
 * dubbo2.js → provider, 254 bytes: `sayHello("world")` on org.apache.dubbo.demo.DemoService, version
 * "1.0.0", group "blue", timeout 3000, attachment traceId "t-1".
 * - header: `dabb` magic, `c2` = request 0x80 | two-way 0x40 | hessian2 2, `00` status, id
 *   `0000000000000001`, body length `000000ee` (238);
 * - body (hessian2, in order): `05 322e302e32` "2.0.2" (dubbo version), `30 21 6f72…65` the path (33 bytes),
 *   `05 312e302e30` "1.0.0" (version), `08 73617948656c6c6f` "sayHello", `12 4c6a…3b` "Ljava/lang/String;"
 *   (parameter types), `05 776f726c64` "world" (the argument), then `48 … 5a` an untyped map (attachments,
 *   keys sorted by hessian.js): application "dubbo2.js", group "blue", interface and path (the service),
 *   timeout `d4 0bb8` (the int 3000: dubbo2.js writes its timeout as an int, Java Dubbo as a string),
 *   traceId "t-1", version "1.0.0".
 */
export const DUBBO2JS_CALL_HEX =
  "dabbc2000000000000000001000000ee05322e302e3230216f72672e6170616368652e647562626f2e64656d6f2e4465" +
  "6d6f5365727669636505312e302e300873617948656c6c6f124c6a6176612f6c616e672f537472696e673b05776f726c" +
  "64480b6170706c69636174696f6e09647562626f322e6a730567726f757004626c756509696e7465726661636530216f" +
  "72672e6170616368652e647562626f2e64656d6f2e44656d6f53657276696365047061746830216f72672e6170616368" +
  "652e647562626f2e64656d6f2e44656d6f536572766963650774696d656f7574d40bb8077472616365496403742d3107" +
  "76657273696f6e05312e302e305a";

/**
 * The provider's answer to it, 72 bytes: `02` (response, hessian2), status `14` (20 OK), id 1, body
 * length `00000038`; body `94` (int 4, RESPONSE_VALUE_WITH_ATTACHMENTS), `30 27 …` the string
 * "Hello world, response from provider: p1", `48 05 647562626f 05 322e302e32 5a` the map {dubbo: "2.0.2"}.
 */
export const PROVIDER_VALUE_REPLY_HEX =
  "dabb021400000000000000010000003894302748656c6c6f20776f726c642c20726573706f6e73652066726f6d207072" +
  "6f76696465723a2070314805647562626f05322e302e325a";

/**
 * `fail("boom")` answered, id 2: status 20, body `93` (RESPONSE_WITH_EXCEPTION_WITH_ATTACHMENTS), then the
 * Throwable as Hessian serializes one: `43` a class definition java.lang.RuntimeException with the fields
 * detailMessage, cause, stackTrace, suppressedExceptions, `60` an instance of it ("boom", `4e` null,
 * `70 …` an empty typed list of java.lang.StackTraceElement, an empty unmodifiable list), then {dubbo: "2.0.2"}.
 */
export const PROVIDER_EXCEPTION_REPLY_HEX =
  "dabb02140000000000000002000000ba93431a6a6176612e6c616e672e52756e74696d65457863657074696f6e940d64" +
  "657461696c4d6573736167650563617573650a737461636b54726163651473757070726573736564457863657074696f" +
  "6e736004626f6f6d4e701c5b6a6176612e6c616e672e537461636b5472616365456c656d656e747030326a6176612e75" +
  "74696c2e436f6c6c656374696f6e7324556e6d6f6469666961626c6552616e646f6d4163636573734c69737448056475" +
  "62626f05322e302e325a";

/** `nothing()` (returns null) answered, id 3: `95` (RESPONSE_NULL_VALUE_WITH_ATTACHMENTS), {dubbo: "2.0.2"}. */
export const PROVIDER_NULL_REPLY_HEX = "dabb021400000000000000030000000f954805647562626f05322e302e325a";

/**
 * dubbo2.js's heartbeat (`HeartBeat.encode()`, what its SocketWorker writes every 180 s): flag `e2` =
 * request | two-way | event | hessian2, id 0 (dubbo2.js never sets one), body length 1, body `4e`
 * (hessian null: a heartbeat's event data).
 */
export const DUBBO2JS_HEARTBEAT_HEX = "dabbe2000000000000000000000000014e";

/**
 * The provider's heartbeat response, as Dubbo's HeartbeatHandler sends it: flag `22` = event | hessian2
 * (no request bit), status 20, the request's id, body `4e` (null event data, 1 byte).
 */
export const PROVIDER_HEARTBEAT_REPLY_HEX = "dabb22140000000000000000000000014e";

/**
 * MOSN's own heartbeat answer (`dubboProtocol.Reply`, pkg/protocol/xprotocol/dubbo/protocol.go): flag 0x22,
 * status 20, the request's id, a 2-byte body `4e 4e`, for the id given.
 */
export function mosnHeartbeatReplyHex(id: bigint): string {
  return `dabb2214${id.toString(16).padStart(16, "0")}000000024e4e`;
}

/** protocols.md's dubbo2.js request (220 bytes, id 1), see the module doc. */
export const NOTES_REQUEST_HEX =
  "dabbc2000000000000000001000000cc05322e302e3230216f72672e6170616368652e647562626f2e64656d6f2e4465" +
  "6d6f5365727669636505302e302e300873617948656c6c6f124c6a6176612f6c616e672f537472696e673b05776f726c" +
  "64480b6170706c69636174696f6e09647562626f322e6a7309696e7465726661636530216f72672e6170616368652e64" +
  "7562626f2e64656d6f2e44656d6f53657276696365047061746830216f72672e6170616368652e647562626f2e64656d" +
  "6f2e44656d6f536572766963650776657273696f6e05302e302e305a";

/** protocols.md's provider reply to it: status 20, `91` RESPONSE_VALUE, `0b` + "hello world". */
export const NOTES_REPLY_HEX = "dabb021400000000000000010000000d910b68656c6c6f20776f726c64";

export const DUBBO2JS_CALL: Uint8Array = fromHex(DUBBO2JS_CALL_HEX);
export const PROVIDER_VALUE_REPLY: Uint8Array = fromHex(PROVIDER_VALUE_REPLY_HEX);
export const PROVIDER_EXCEPTION_REPLY: Uint8Array = fromHex(PROVIDER_EXCEPTION_REPLY_HEX);
export const PROVIDER_NULL_REPLY: Uint8Array = fromHex(PROVIDER_NULL_REPLY_HEX);
export const DUBBO2JS_HEARTBEAT: Uint8Array = fromHex(DUBBO2JS_HEARTBEAT_HEX);
export const PROVIDER_HEARTBEAT_REPLY: Uint8Array = fromHex(PROVIDER_HEARTBEAT_REPLY_HEX);
export const NOTES_REQUEST: Uint8Array = fromHex(NOTES_REQUEST_HEX);
export const NOTES_REPLY: Uint8Array = fromHex(NOTES_REPLY_HEX);
