import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { generateXdsDescriptor, loadEnvoyProtos } from "../../../scripts/gen_xds_descriptor.ts";
import { decodeResource, TYPE_URL } from "../mod.ts";
import { outboundListener, reviewsCluster, T } from "../convert/_istio_fixtures.ts";

Deno.test("src/xds/_protos/envoy_v3.json is what `make xds-protos` generates from npm:@grpc/grpc-js-xds", async () => {
  const checkedIn = await Deno.readTextFile(new URL("./envoy_v3.json", import.meta.url));
  // equal, not assertEquals: a 365 KB diff would bury the message.
  equal(generateXdsDescriptor() === checkedIn, true, "stale descriptor: run `make xds-protos` and commit it");
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
