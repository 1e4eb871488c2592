import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import descriptor from "./envoy_v3.json" with { type: "json" };
import { loadEnvoyProtos } from "../../../scripts/gen_xds_descriptor.ts";
import { decodeResource, TYPE_URL } from "../mod.ts";
import { outboundListener, reviewsCluster, T } from "../convert/_istio_fixtures.ts";

Deno.test("src/xds/_protos/envoy_v3.json is what `make xds-protos` generates from npm:@grpc/grpc-js-xds", async () => {
  const checkedIn = await Deno.readTextFile(new URL("./envoy_v3.json", import.meta.url));
  // In its own process, as `make xds-protos` runs it: proto-loader (imported by this file) changes
  // protobufjs's shared state, so an in-process run would not be the script's output.
  const script = new URL("../../../scripts/gen_xds_descriptor.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", script, "--stdout"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(out.code, 0, new TextDecoder().decode(out.stderr));
  // equal on a boolean, not on the texts: a 375 KB diff would bury the message.
  equal(new TextDecoder().decode(out.stdout) === checkedIn, true, "stale descriptor: run `make xds-protos`");
});

Deno.test("bytes encoded with Envoy's .proto files decode through the checked-in descriptor unchanged", () => {
  const protos = loadEnvoyProtos();
  const encode = (typeUrl: string, value: Record<string, unknown>) => {
    const type = protos.lookupType(typeUrl.split("/")[1]!);
    return type.encode(type.fromObject(value)).finish();
  };
  const hcmBytes = encode(T.hcm, outboundListener().filter_chains[0]!.filters[0]!.typed_config);
  const listener = {
    ...outboundListener(),
    filter_chains: [{
      filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { type_url: T.hcm, value: hcmBytes } }],
    }],
  };
  const decoded = decodeResource(TYPE_URL.listener, encode(TYPE_URL.listener, listener));
  const filters = (decoded.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[])[0]!.filters;
  const hcm = filters[0]!.typed_config;
  assertEquals(hcm.stat_prefix, "outbound_0.0.0.0_9080");
  assertEquals(hcm.stream_idle_timeout, { seconds: 300 });
  assertEquals((hcm.rds as Record<string, unknown>).route_config_name, "9080");
  assertEquals(decoded.traffic_direction, "OUTBOUND");
  const cluster = decodeResource(TYPE_URL.cluster, encode(TYPE_URL.cluster, reviewsCluster()));
  const { metadata: _m, ...expected } = reviewsCluster();
  assertEquals(
    { ...cluster, "@type": undefined, metadata: undefined },
    { ...expected, "@type": undefined, metadata: undefined },
  );
});

Deno.test("grpc-js takes the ADS service from the descriptor (proto-loader fromJSON), no .proto files", () => {
  const json = descriptor as unknown as Parameters<typeof protoLoader.fromJSON>[0];
  const definition = protoLoader.fromJSON(json, { longs: Number, enums: String, defaults: false });
  const ads = definition["envoy.service.discovery.v3.AggregatedDiscoveryService"] as Record<
    string,
    { path: string; requestStream: boolean; responseStream: boolean }
  >;
  const sotw = ads.StreamAggregatedResources!;
  assertEquals([sotw.path, sotw.requestStream, sotw.responseStream], [
    "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    true,
    true,
  ]);
  ok(ads.DeltaAggregatedResources);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  ok(pkg.envoy.service.discovery.v3.AggregatedDiscoveryService.service.StreamAggregatedResources);
});
