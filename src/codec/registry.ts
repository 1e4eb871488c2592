import type { MatchResult, ProtocolCodec } from "./types.ts";

const codecs = new Map<string, ProtocolCodec>();
/** Codecs the proxy uses itself (the tunnel of a terminated CONNECT): found by name, never configured. */
const internal = new Map<string, ProtocolCodec>();

/**
 * Registers a codec by its protocol name (MOSN's stream.Register). An `internal` one is not a protocol a
 * config may name, nor one `Auto` sniffs, nor listed by `codecNames()`.
 */
export function registerCodec(codec: ProtocolCodec, options: { internal?: boolean } = {}): void {
  if (codecs.has(codec.name) || internal.has(codec.name)) {
    throw new RangeError(`Cannot register codec "${codec.name}" twice`);
  }
  (options.internal ? internal : codecs).set(codec.name, codec);
}

export function getCodec(name: string): ProtocolCodec | undefined {
  return codecs.get(name) ?? internal.get(name);
}

export function codecNames(): string[] {
  return [...codecs.keys()];
}

/**
 * Sniffs `data` against candidate codecs in order: the first "match" wins; if none matches but one
 * still needs more bytes, "again"; otherwise "fail".
 */
export function detectProtocol(
  data: Uint8Array,
  candidates: readonly ProtocolCodec[],
): ProtocolCodec | "again" | "fail" {
  let again = false;
  for (const c of candidates) {
    const r: MatchResult = c.match(data);
    if (r === "match") return c;
    if (r === "again") again = true;
  }
  return again ? "again" : "fail";
}
