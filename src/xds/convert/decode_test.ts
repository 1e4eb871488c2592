import { deepStrictEqual as assertEquals, equal, ok, throws } from "node:assert/strict";
import {
  decodeResource,
  encodeResource,
  isKnownTypeUrl,
  TYPE_URL,
  XdsDecodeError,
  xdsResourceName,
} from "../mod.ts";
import { outboundListener, REVIEWS, reviewsCluster, reviewsEndpoints, T } from "./_istio_fixtures.ts";

Deno.test("decodeResource unpacks nested Anys (HCM typed_config, its router filter) by their type URL", () => {
  const decoded = decodeResource(TYPE_URL.listener, encodeResource(TYPE_URL.listener, outboundListener()));
  const filter = (decoded.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[])[0]!
    .filters[0]!;
  const hcm = filter.typed_config;
  assertEquals(hcm["@type"], T.hcm);
  assertEquals(hcm.rds, {
    route_config_name: "9080",
    config_source: { ads: {}, resource_api_version: "V3" },
  });
  // Oneof markers: readable, not enumerable.
  const source = (hcm.rds as { config_source: Record<string, unknown> }).config_source;
  assertEquals([source.config_source_specifier, hcm.route_specifier], ["ads", "rds"]);
  assertEquals(Object.keys(hcm).includes("route_specifier"), false);
  assertEquals((hcm.http_filters as Record<string, unknown>[])[0]!.typed_config, { "@type": T.router });
});

Deno.test("decodeResource gives enum names, 64-bit ints as numbers, and leaves unset fields out", () => {
  const decoded = decodeResource(TYPE_URL.cluster, encodeResource(TYPE_URL.cluster, reviewsCluster()));
  assertEquals([decoded.type, decoded.lb_policy], ["EDS", "LEAST_REQUEST"]);
  assertEquals(decoded.connect_timeout, { seconds: 10 });
  assertEquals(typeof (decoded.connect_timeout as { seconds: unknown }).seconds, "number");
  ok(!("dns_lookup_family" in decoded), "defaults off");
});

Deno.test("an unknown top-level type URL is an error naming it", () => {
  throws(
    () =>
      decodeResource(
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        new Uint8Array(),
      ),
    (e: Error) =>
      e instanceof XdsDecodeError && e.message.includes("envoy.extensions.transport_sockets.tls.v3.Secret"),
  );
  throws(() => decodeResource("envoy.config.listener.v3.Listener", new Uint8Array()), XdsDecodeError);
  // A short name is not the message's full name, though protobufjs' lookup would find it.
  ok(!isKnownTypeUrl("type.googleapis.com/Listener"));
  ok(
    !isKnownTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster.LbPolicy"),
    "an enum, not a message",
  );
  ok(isKnownTypeUrl("example.com/any/prefix/envoy.config.cluster.v3.Cluster"), "any URL prefix, as Envoy");
  ok(!isKnownTypeUrl(T.cors));
  ok(isKnownTypeUrl(TYPE_URL.endpoint));
});

Deno.test("bytes that are not the message are an XdsDecodeError, not a crash", () => {
  throws(
    () => decodeResource(TYPE_URL.cluster, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f])),
    (e: Error) => e instanceof XdsDecodeError && e.message.includes("not a valid Cluster"),
  );
});

Deno.test("a nested Any of a type meshctl does not know stays packed as {@type} for the converter to name", () => {
  const listener = outboundListener();
  const hcm = listener.filter_chains[0]!.filters[0]!.typed_config as Record<string, unknown>;
  hcm.http_filters = [{
    name: "envoy.filters.http.cors",
    typed_config: { "@type": T.cors, value: new Uint8Array([8, 1]) },
  }];
  const decoded = decodeResource(TYPE_URL.listener, encodeResource(TYPE_URL.listener, listener));
  const filters =
    ((decoded.filter_chains as { filters: { typed_config: { http_filters: unknown[] } }[] }[])[0]!
      .filters[0]!.typed_config.http_filters) as Record<string, unknown>[];
  assertEquals(filters[0]!.typed_config, { "@type": T.cors });
});

Deno.test("decoding and converting need no permission (no .proto read at run time, so a compiled binary works)", async () => {
  const probe = new URL("./_no_permissions_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", probe],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  equal(out.code, 0, stderr);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), {
    name: "probe",
    connect_timeout: "5000ms",
    max_request_per_conn: 0,
    idle_timeout: "3600000ms",
    type: "SIMPLE",
    hosts: [],
    lb_type: "LB_RANDOM",
  });
});

Deno.test("xdsResourceName: cluster_name for a ClusterLoadAssignment, name for the others", () => {
  const cla = decodeResource(TYPE_URL.endpoint, encodeResource(TYPE_URL.endpoint, reviewsEndpoints()));
  const listener = decodeResource(TYPE_URL.listener, encodeResource(TYPE_URL.listener, outboundListener()));
  assertEquals([xdsResourceName(cla), xdsResourceName(listener)], [REVIEWS, "0.0.0.0_9080"]);
});
