/**
 * Small schema constructors over TypeBox. The config schema is written once with these; the validator
 * walk (`walk.ts`) and the JSON Schema output (`json_schema.ts`) both read it. meshctl-only semantics
 * live under the `x-meshctl` keyword, which the JSON Schema output strips or translates.
 */
import {
  type Static,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnsafe,
  Type,
} from "@sinclair/typebox";

/** String kinds the walker parses beyond JSON types. */
export type ValueKind = "duration" | "address" | "regex" | "ip" | "port";

export interface Meta {
  /** Present → a MOSN field meshctl does not implement; the text is an optional hint. */
  readonly unsupported?: string;
  /** Accepted and kept in `raw`, but meshctl does not act on it (MOSN knobs with no effect here). */
  readonly ignored?: boolean;
  readonly kind?: ValueKind;
  /** A `regex` whose groups are used (`regex_rewrite`): checked with RE2 submatches. */
  readonly submatches?: boolean;
  /** Enum matched case-insensitively, normalized to the listed spelling. */
  readonly caseInsensitive?: boolean;
  /** Enum values MOSN knows but meshctl does not implement. */
  readonly unsupportedValues?: readonly string[];
  /** Network filter item: config schema chosen by the `type` value. */
  readonly branches?: Readonly<Record<string, TSchema>>;
}

export const META = "x-meshctl";

export function metaOf(schema: TSchema): Meta | undefined {
  return (schema as Record<string, unknown>)[META] as Meta | undefined;
}

/** Go-syntax duration as MOSN's DurationConfig reads it ("1s", "500ms", "1m30s"). */
export const DURATION_PATTERN = "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$";

export function struct<T extends TProperties>(description: string, properties: T): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, description });
}

export function text(description: string): TUnsafe<string> {
  return Type.Unsafe<string>({ type: "string", description });
}

export function int(description: string, minimum?: number, maximum?: number): TUnsafe<number> {
  return Type.Unsafe<number>({
    type: "integer",
    description,
    ...(minimum === undefined ? {} : { minimum }),
    ...(maximum === undefined ? {} : { maximum }),
  });
}

export function bool(description: string): TUnsafe<boolean> {
  return Type.Unsafe<boolean>({ type: "boolean", description });
}

export function list<T extends TSchema>(
  description: string,
  items: T,
  bounds: { minItems?: number; maxItems?: number } = {},
): TUnsafe<Static<T>[]> {
  return Type.Unsafe<Static<T>[]>({ type: "array", description, items, ...bounds });
}

/** A free-form mapping (filter configs, extend_config). */
export function freeMap(description: string): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ type: "object", description });
}

export function duration(description: string): TUnsafe<string | number> {
  return Type.Unsafe<string | number>({
    anyOf: [{ type: "string", pattern: DURATION_PATTERN }, { const: 0 }],
    description: `${description} (Go duration, e.g. "1s", "500ms", "1m30s")`,
    [META]: { kind: "duration" } satisfies Meta,
  });
}

export function address(description: string): TUnsafe<string> {
  return Type.Unsafe<string>({ type: "string", description, [META]: { kind: "address" } satisfies Meta });
}

/** An IPv4 or IPv6 address literal (no port, no brackets). */
export function ipAddress(description: string): TUnsafe<string> {
  return Type.Unsafe<string>({ type: "string", description, [META]: { kind: "ip" } satisfies Meta });
}

/** A port written as a string, as MOSN's Go structs type some ports ("53"); "" means unset. */
export function portText(description: string): TUnsafe<string> {
  return Type.Unsafe<string>({
    type: "string",
    pattern: "^([0-9]{1,5})?$",
    description,
    [META]: { kind: "port" } satisfies Meta,
  });
}

export function regex(description: string, options: { submatches?: boolean } = {}): TUnsafe<string> {
  const meta: Meta = options.submatches ? { kind: "regex", submatches: true } : { kind: "regex" };
  return Type.Unsafe<string>({ type: "string", description, [META]: meta });
}

export function oneOf<const V extends string>(
  description: string,
  values: readonly V[],
  options: { caseInsensitive?: boolean; unsupported?: readonly string[] } = {},
): TUnsafe<V> {
  const meta: Meta = {
    ...(options.caseInsensitive ? { caseInsensitive: true } : {}),
    ...(options.unsupported ? { unsupportedValues: options.unsupported } : {}),
  };
  return Type.Unsafe<V>({ type: "string", enum: [...values], description, [META]: meta });
}

export function intOneOf<const V extends number>(description: string, values: readonly V[]): TUnsafe<V> {
  return Type.Unsafe<V>({ type: "integer", enum: [...values], description });
}

/** A MOSN field meshctl does not implement: any non-empty value is an error. */
export function unsupported(hint = ""): TUnsafe<unknown> {
  return Type.Unsafe<unknown>({
    description: `Not supported by meshctl yet${hint ? ` (${hint})` : ""}`,
    [META]: { unsupported: hint } satisfies Meta,
  });
}

/** A MOSN field accepted for compatibility that has no effect in meshctl. */
export function ignored(description: string): TUnsafe<unknown> {
  return Type.Unsafe<unknown>({
    description: `${description} (accepted, no effect in meshctl)`,
    [META]: { ignored: true } satisfies Meta,
  });
}

/** A `{type, config}` filter whose config schema depends on `type`. */
export function filterItem(
  description: string,
  branches: Record<string, TSchema>,
): TUnsafe<{ type: string; config?: Record<string, unknown> }> {
  return Type.Unsafe<{ type: string; config?: Record<string, unknown> }>({
    type: "object",
    description,
    properties: {
      type: { type: "string", description: "Filter name" },
      config: { type: "object", description: "Filter config; its shape depends on `type`" },
    },
    required: ["type"],
    additionalProperties: false,
    [META]: { branches } satisfies Meta,
  });
}

export const Opt = Type.Optional;
