/**
 * 1,000 concurrent unary gRPC calls on one grpc-js client connection, direct to a grpc-js server and
 * through meshctl (Http2 in, Http2 out), the scenario `tests/grpc_test.ts` checks for correctness. Prints
 * the median and best wall time of `--rounds` bursts per path, after one warm-up burst each.
 *
 *   deno run -A --v8-flags=--max-semi-space-size=4,--enable-experimental-regexp-engine,\
 *     --enable-experimental-regexp-engine-on-excessive-backtracks bench/grpc_concurrency.ts [--calls N] [--rounds R]
 *
 * Both peers run in this process, so the numbers include grpc-js's own cost on both ends (it dominates);
 * the difference between the two lines is what meshctl adds.
 * @module
 */
import { parseArgs } from "node:util";
import { startMeshctl } from "../tests/_e2e.ts";
import { grpcClient, startGrpcServer, Status } from "../tests/_peers/grpc_peers.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { calls: { type: "string", default: "1000" }, rounds: { type: "string", default: "5" } },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);

async function measure(address: string): Promise<number[]> {
  const client = grpcClient(address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
  try {
    const times: number[] = [];
    for (let r = 0; r <= rounds; r++) {
      const start = performance.now();
      const results = await client.sayMany(calls, { deadlineMs: 60_000 });
      const ms = performance.now() - start;
      const failed = results.filter((x) => x.status.code !== Status.OK).length;
      if (failed > 0) throw new Error(`${failed} of ${calls} calls failed`);
      if (r > 0) times.push(ms); // round 0 warms up the connection and the JIT
    }
    return times.sort((a, b) => a - b);
  } finally {
    client.close();
  }
}

function report(what: string, times: number[]): void {
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    `${what.padEnd(16)} median ${median.toFixed(0)} ms, best ${times[0]!.toFixed(0)} ms ` +
      `(${(calls / median * 1000).toFixed(0)} calls/s)`,
  );
}

const server = await startGrpcServer({
  name: "bench",
  serverOptions: { "grpc.max_concurrent_streams": calls },
});
const mesh = await startMeshctl({
  servers: [{
    default_log_level: "WARN",
    routers: [{
      router_config_name: "r",
      virtual_hosts: [{
        name: "all",
        domains: ["*"],
        routers: [{ match: { prefix: "/" }, route: { cluster_name: "grpc" } }],
      }],
    }],
    listeners: [{
      name: "grpc",
      address: "127.0.0.1:0",
      bind_port: true,
      filter_chains: [{
        filters: [{
          type: "proxy",
          config: { downstream_protocol: "Http2", upstream_protocol: "Http2", router_config_name: "r" },
        }],
      }],
    }],
  }],
  cluster_manager: {
    clusters: [{
      name: "grpc",
      type: "SIMPLE",
      lb_type: "LB_ROUNDROBIN",
      hosts: [{ address: server.address }],
    }],
  },
});
try {
  console.log(`${calls} concurrent unary calls, ${rounds} rounds`);
  report("direct", await measure(server.address));
  report("through meshctl", await measure(`127.0.0.1:${mesh.port("grpc")}`));
  console.log(`upstream connections: ${server.connections - 1} for meshctl (one more was the direct client)`);
} finally {
  await mesh.stop();
  await server.stop();
}
