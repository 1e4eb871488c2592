/** The dubbo codec's per-request work: decoding a typical call for routing, patching ids, a server batch. */
import { FakeConnectionIO } from "../_test_io.ts";
import { defaultCodecOptions } from "../types.ts";
import { dubboCodec } from "./codec.ts";
import { decodeDubboRequest, dubboFrameLength, type DubboRequestHead, DubboResponseHead } from "./frame.ts";
import { call, CAPTURED_REPLY, concat, HELLO, RecordingServerHandler } from "./_test_io.ts";

/** dubbo2.js's sayHello("world") with six attachments (frame.ts decodes it as the server does). */
const HELLO_CALL = call(1);
/** A call with an object, a list and a map as arguments, all skipped without creating values. */
const RICH_CALL = call(1, {
  ...HELLO,
  method: "placeOrder",
  argTypes: "Lcom/demo/Order;[JLjava/util/Map;",
  args: (w) => {
    w.classDef("com.demo.Order", ["id", "customer", "items", "total"]);
    w.objectStart(0).long(123456789).string("ann").listStart(3).string("a").string("b").string("c").double(
      99.5,
    );
    w.listStart(4, "[long").long(1).long(2).long(3).long(4);
    w.mapStart().string("region").string("eu").string("priority").int(2).end();
  },
});

let sink = 0;

Deno.bench({ name: "decode sayHello call (routing headers)", group: "request", baseline: true }, () => {
  const head = decodeDubboRequest(HELLO_CALL, 65536) as DubboRequestHead;
  sink += head.headers.size;
});

Deno.bench({ name: "decode a call with object/list/map arguments", group: "request" }, () => {
  const head = decodeDubboRequest(RICH_CALL, 65536) as DubboRequestHead;
  sink += head.headers.size;
});

Deno.bench({ name: "decode + patch the upstream id (raw forward)", group: "request" }, () => {
  const head = decodeDubboRequest(HELLO_CALL, 65536) as DubboRequestHead;
  sink += head.encode(7).length;
});

// What the proxy asks of a call: the router's `service` (deadlineMs already read `timeout`).
Deno.bench({ name: "decode + the router's service lookup (what the proxy asks)", group: "request" }, () => {
  const head = decodeDubboRequest(HELLO_CALL, 65536) as DubboRequestHead;
  sink += head.headers.get("service")!.length;
});

Deno.bench({ name: "response head + patch the client's id back", group: "response", baseline: true }, () => {
  sink += new DubboResponseHead(CAPTURED_REPLY).encode(0, 1).length;
});

Deno.bench({ name: "frame length sniff", group: "response" }, () => {
  sink += dubboFrameLength(HELLO_CALL, 0, HELLO_CALL.length);
});

// Server connection end to end: 64 calls in one read, each surfaced and answered with the captured reply.
const batch = concat(...Array.from({ length: 64 }, (_, i) => call(i + 1)));
Deno.bench({ name: "server feed 64 calls + respond (per batch)", group: "server", n: 2000 }, async () => {
  const io = new FakeConnectionIO();
  const handler = new RecordingServerHandler();
  const conn = dubboCodec.newServerConnection(io, handler, defaultCodecOptions);
  conn.feed(batch);
  for (const s of handler.streams) await s.sendResponse(new DubboResponseHead(CAPTURED_REPLY.slice()), true);
  sink += io.writes.length;
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
