import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { configJsonSchema } from "./mod.ts";

Deno.test("configJsonSchema() is draft-07 with no meshctl-only keywords", () => {
  const schema = configJsonSchema();
  equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  equal(JSON.stringify(schema).includes("x-meshctl"), false);
});

Deno.test("configJsonSchema() rejects unsupported fields and lists enums", () => {
  const s = configJsonSchema() as {
    properties: Record<string, { not?: unknown; description?: string; properties?: Record<string, unknown> }>;
  };
  assertEquals(s.properties.plugin!.not, {});
  // MOSN's metrics and pprof blocks load (and warn), so xDS bootstraps that carry them validate.
  assertEquals([s.properties.metrics!.not, s.properties.pprof!.not], [undefined, undefined]);
  // tracing loads (and warns), so its shape is described rather than refused.
  assertEquals(s.properties.tracing!.not, undefined);
  assertEquals(
    (s.properties.tracing!.properties!.driver as { enum: string[] }).enum.includes("SOFATracer"),
    true,
  );
  ok(s.properties.dynamic_resources!.description!.includes("xDS"));
  assertEquals(s.properties.dynamic_resources!.not, undefined);
  const ads = s.properties.dynamic_resources!.properties!.ads_config as {
    properties: Record<string, unknown>;
  };
  assertEquals((ads.properties.api_type as { enum: string[] }).enum, ["GRPC"]);
  assertEquals((s.properties.static_resources!.properties!.listeners as { not: unknown }).not, {});
  const json = JSON.stringify(s);
  ok(json.includes('"LB_WEIGHTED_ROUNDROBIN"'));
  ok(json.includes('"if":{"properties":{"type":{"const":"tcp_proxy"}}'));
});

Deno.test("configJsonSchema() describes tls_context where MOSN has it, refusing what meshctl cannot do", () => {
  type Node = {
    properties: Record<string, Node>;
    items: Node;
    not?: unknown;
    maxLength?: number;
    type?: string;
  };
  const s = configJsonSchema() as unknown as Node;
  const listener = s.properties.servers!.items.properties.listeners!.items;
  const chain = listener.properties.filter_chains!.items.properties;
  const cluster = s.properties.cluster_manager!.properties.clusters!.items.properties;
  for (const ctx of [chain.tls_context!, chain.tls_context_set!.items, cluster.tls_context!]) {
    equal(ctx.not, undefined);
    equal(ctx.properties.cert_chain!.type, "string");
    assertEquals(ctx.properties.fall_back!.not, {});
    equal(ctx.properties.cipher_suites!.maxLength, 0);
  }
  equal(s.properties.cluster_manager!.properties.tls_context!.not, undefined);
  assertEquals([listener.properties.inspector!.type, cluster.cluster_manager_tls!.type], [
    "boolean",
    "boolean",
  ]);
});
