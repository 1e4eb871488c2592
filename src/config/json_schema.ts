import { META, type Meta } from "./_kit.ts";
import { ConfigSchema } from "./schema.ts";

/**
 * The config's JSON Schema (draft-07), generated from the same schema the validator walks, for
 * yaml-language-server and other editors. Unsupported MOSN fields are present but rejected (`not: {}`)
 * with a description saying so; case-insensitive enums list lowercase spellings too.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $id: "https://meshctl.dev/schema/config.json",
    title: "meshctl configuration",
    ...(emit(ConfigSchema) as Record<string, unknown>),
  };
}

function emit(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(emit);
  if (node === null || typeof node !== "object") return node;
  const o = node as Record<string, unknown>;
  const meta = o[META] as Meta | undefined;
  if (meta?.unsupported !== undefined) return { description: o.description, not: {} };
  const out: Record<string, unknown> = {};
  // Object.entries skips TypeBox's symbol keys, which JSON Schema consumers must not see anyway.
  for (const [k, v] of Object.entries(o)) if (k !== META) out[k] = emit(v);
  if (meta?.caseInsensitive && Array.isArray(o.enum)) {
    out.enum = [...new Set([...o.enum, ...o.enum.map((v) => String(v).toLowerCase())])];
  }
  if (meta?.branches) {
    out.allOf = Object.entries(meta.branches).map(([type, schema]) => ({
      if: { properties: { type: { const: type } }, required: ["type"] },
      then: { properties: { config: emit(schema) }, required: ["config"] },
    }));
    out.properties = {
      type: { type: "string", description: "Filter name", examples: Object.keys(meta.branches) },
      config: { type: "object", description: "Filter config; its shape depends on `type`" },
    };
  }
  return out;
}
