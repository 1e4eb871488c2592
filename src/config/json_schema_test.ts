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
  assertEquals(s.properties.pprof!.not, {});
  // tracing loads (and warns), so its shape is described rather than refused.
  assertEquals(s.properties.tracing!.not, undefined);
  assertEquals(
    (s.properties.tracing!.properties!.driver as { enum: string[] }).enum.includes("SOFATracer"),
    true,
  );
  ok(s.properties.dynamic_resources!.description!.includes("xDS"));
  const json = JSON.stringify(s);
  ok(json.includes('"LB_WEIGHTED_ROUNDROBIN"'));
  ok(json.includes('"if":{"properties":{"type":{"const":"tcp_proxy"}}'));
});
