/**
 * Dubbo load generator for the bench, over the RPC engine of `_rpc_load.ts` (open loop at a fixed rate,
 * latency from the intended send time; or closed loop for max throughput). Sends dubbo2.js's captured
 * `sayHello` call with the id patched; a response is a success when its status is 20 OK. Prints one
 * JSON object (`LoadResult`) on stdout. Plain Deno, no meshctl imports.
 *
 *   deno run --allow-net bench/dubbo_load.ts --target 127.0.0.1:20880 --rate 2000 --connections 200 \
 *     --duration 10 --warmup 2
 */
import { DUBBO_REQUEST, frameLength, patchId, readId, STATUS_OK } from "./_dubbo_frames.ts";
import { parseLoadArgs, type RpcWire, runLoad } from "./_rpc_load.ts";

export const DUBBO_WIRE: RpcWire = {
  request: DUBBO_REQUEST,
  patchId,
  frameLength,
  responseId: readId,
  responseStatus: (b, off) => b[off + 3]!,
  okStatus: STATUS_OK,
};

if (import.meta.main) {
  const options = parseLoadArgs(
    Deno.args,
    "usage: dubbo_load.ts --target host:port [--mode open|closed] [--rate 2000] [--connections 200]\n" +
      "                     [--inflight 8] [--warmup 2] [--duration 10] [--grace 2]",
  );
  const result = await runLoad(DUBBO_WIRE, options);
  console.log(JSON.stringify(result));
  Deno.exit(result.error === undefined ? 0 : 1);
}
