/** Decode + re-encode cost of the captured sofa-rpc-node request (the proxy's per-request codec work). */
import { defaultCodecOptions } from "../types.ts";
import { CAPTURED_REQUEST, CAPTURED_RESPONSE, concat, RecordingServerHandler } from "./_test_io.ts";
import { FakeConnectionIO } from "../_test_io.ts";
import { boltCodec } from "./codec.ts";
import { boltFrameLength, type BoltRequestHead, type BoltResponseHead, decodeBoltFrame } from "./frame.ts";

let sink = 0;

Deno.bench({ name: "decode captured request", group: "bolt", baseline: true }, () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  sink += head.headers.get("service")!.length;
});

Deno.bench({ name: "decode + patch id (raw forward)", group: "bolt" }, () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  sink += head.encode(7).length;
});

Deno.bench({ name: "decode + header edit + re-encode", group: "bolt" }, () => {
  const head = decodeBoltFrame(CAPTURED_REQUEST.slice()) as BoltRequestHead;
  head.headers.set("x-mosn-rpc-method", "plus");
  sink += head.encode(7).length;
});

Deno.bench({ name: "decode response + patch id back", group: "bolt" }, () => {
  const head = decodeBoltFrame(CAPTURED_RESPONSE.slice()) as BoltResponseHead;
  sink += head.encode(1).length;
});

Deno.bench({ name: "frame length sniff", group: "bolt" }, () => {
  sink += boltFrameLength(CAPTURED_REQUEST, 0, CAPTURED_REQUEST.length, 0xffff);
});

// Server connection end to end: 64 requests in one read, each surfaced and answered with a local reply.
const batch = concat(...Array.from({ length: 64 }, () => CAPTURED_REQUEST));
Deno.bench({ name: "server feed 64 requests + respond (per batch)", group: "server", n: 2000 }, async () => {
  const io = new FakeConnectionIO();
  const handler = new RecordingServerHandler();
  const conn = boltCodec.newServerConnection(io, handler, defaultCodecOptions);
  conn.feed(batch);
  const response = decodeBoltFrame(CAPTURED_RESPONSE.slice()) as BoltResponseHead;
  for (const s of handler.streams) await s.sendResponse(response, true);
  sink += io.writes.length;
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
