import { AUTO_PROTOCOL, didYouMean } from "../core/mod.ts";
import { MOSN_PROTOCOLS, type ValidationContext } from "./context.ts";

export type Resolved<T> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
  readonly message: string;
};

/**
 * A protocol name as registered (matched case-insensitively), or why it is not one. `keywords` are the
 * other words the field takes ("Auto"), offered in the hint beside the protocol names.
 */
export function resolveProtocol(
  name: string,
  ctx: ValidationContext,
  keywords: readonly string[] = [],
): Resolved<string> {
  const found = ctx.protocols.find((p) => p.toLowerCase() === name.toLowerCase());
  if (found !== undefined) return { ok: true, value: found };
  if (MOSN_PROTOCOLS.some((p) => p.toLowerCase() === name.toLowerCase())) {
    return {
      ok: false,
      message: `protocol "${name}" is not supported yet (supported: ${ctx.protocols.join(", ")})`,
    };
  }
  const names = [...ctx.protocols, ...keywords];
  const hint = didYouMean(name, names);
  return {
    ok: false,
    message: `unknown protocol "${name}"; ${
      hint ? `did you mean "${hint}"?` : `expected one of ${names.join(", ")}`
    }`,
  };
}

export interface DownstreamProtocols {
  readonly protocols: readonly string[];
  readonly autoDetect: boolean;
}

/**
 * Resolves proxy `downstream_protocol`: one name, a comma list (sniffed), "Auto" (every registered
 * protocol, the default) or legacy "X" whose names come from `extend_config.sub_protocol`.
 */
export function resolveDownstream(
  text: string | undefined,
  extendConfig: Readonly<Record<string, unknown>> | undefined,
  ctx: ValidationContext,
): Resolved<DownstreamProtocols> {
  let list = text === undefined || text.trim() === "" ? "Auto" : text;
  if (list.trim().toLowerCase() === "auto") {
    return { ok: true, value: { protocols: [...ctx.protocols], autoDetect: true } };
  }
  if (list.trim() === "X") {
    const sub = extendConfig?.sub_protocol;
    if (typeof sub !== "string" || sub.trim() === "") {
      return { ok: false, message: 'legacy downstream_protocol "X" needs extend_config.sub_protocol' };
    }
    list = sub;
  }
  const protocols: string[] = [];
  for (const name of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const r = resolveProtocol(name, ctx, list.includes(",") ? [] : [AUTO_PROTOCOL]);
    if (!r.ok) return r;
    if (!protocols.includes(r.value)) protocols.push(r.value);
  }
  if (protocols.length === 0) return { ok: false, message: "no protocol named" };
  return { ok: true, value: { protocols, autoDetect: protocols.length > 1 } };
}

export { AUTO_PROTOCOL };

/**
 * Resolves an upstream protocol: a registered name, {@link AUTO_PROTOCOL} (any case), or legacy "X",
 * which means the first `extend_config.sub_protocol`.
 */
export function resolveUpstream(
  text: string,
  extendConfig: Readonly<Record<string, unknown>> | undefined,
  ctx: ValidationContext,
): Resolved<string> {
  if (text.trim().toLowerCase() === AUTO_PROTOCOL.toLowerCase()) return { ok: true, value: AUTO_PROTOCOL };
  if (text.trim() === "X") {
    const sub = extendConfig?.sub_protocol;
    const first = typeof sub === "string" ? sub.split(",")[0]?.trim() : undefined;
    if (!first) {
      return { ok: false, message: 'legacy upstream_protocol "X" needs extend_config.sub_protocol' };
    }
    return resolveProtocol(first, ctx);
  }
  return resolveProtocol(text.trim(), ctx, [AUTO_PROTOCOL]);
}
