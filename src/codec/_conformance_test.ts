import { runCodecConformance } from "./_conformance.ts";
import { http1Codec, Http1Headers, Http1RequestHead, Http1ResponseHead } from "./http1/mod.ts";

// The string form registers its own Deno.test; a minimal fixture exercises the whole harness.
runCodecConformance("runCodecConformance() runs a codec through every check", {
  codec: http1Codec,
  garbageRounds: 20,
  exchanges: [
    {
      name: "minimal",
      request: { head: new Http1RequestHead("GET", "/", "", "a", new Http1Headers([["Host", "a"]])) },
      response: {
        head: new Http1ResponseHead(200, new Http1Headers([["Content-Length", "2"]])),
        body: new Uint8Array([111, 107]),
      },
    },
    {
      name: "close-delimited response",
      closeDelimited: true,
      request: { head: new Http1RequestHead("GET", "/s", "", "a", new Http1Headers([["Host", "a"]])) },
      response: {
        head: new Http1ResponseHead(200, new Http1Headers([["Connection", "close"]])),
        body: new Uint8Array([1, 2, 3]),
      },
    },
  ],
});
