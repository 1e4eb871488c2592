/**
 * Bolt load generator for the bench, over the RPC engine of `_rpc_load.ts` (open loop at a fixed rate,
 * latency from the intended send time; or closed loop for max throughput). Sends the captured
 * `TestService.plus` request with the id patched; a response is a success when its status is 0 SUCCESS.
 * Prints one JSON object (`LoadResult`) on stdout. Plain Deno, no meshctl imports.
 *
 * Open loop (default): `--connections` connections share `--rate` requests per second, each request's
 * latency counted from the time it was due (no coordinated omission). Closed loop (`--mode closed`):
 * every connection keeps `--inflight` requests outstanding and sends a new one per response.
 *
 *   deno run --allow-net bench/bolt_load.ts --target 127.0.0.1:12200 --rate 2000 --connections 200 \
 *     --duration 10 --warmup 2
 */
import { BOLT_REQUEST, frameLength, patchId, readU16, readU32 } from "./_bolt_frames.ts";
import { parseLoadArgs, type RpcWire, runLoad } from "./_rpc_load.ts";

export type { LatencySummary, LoadResult } from "./_rpc_load.ts";

export const BOLT_WIRE: RpcWire = {
  request: BOLT_REQUEST,
  patchId,
  frameLength,
  responseId: (b, off) => readU32(b, off + 5),
  responseStatus: (b, off) => readU16(b, off + 10),
  okStatus: 0,
};

if (import.meta.main) {
  const options = parseLoadArgs(
    Deno.args,
    "usage: bolt_load.ts --target host:port [--mode open|closed] [--rate 2000] [--connections 200]\n" +
      "                    [--inflight 8] [--warmup 2] [--duration 10] [--grace 2]",
  );
  const result = await runLoad(BOLT_WIRE, options);
  console.log(JSON.stringify(result));
  Deno.exit(result.error === undefined ? 0 : 1);
}
