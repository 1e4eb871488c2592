/**
 * Codecs: protocol names → wire encoders/decoders. Importing this module registers the built-in codecs.
 * @module
 */
export * from "./types.ts";
export { SimpleHeaderMap } from "./header_map.ts";
export { codecNames, detectProtocol, getCodec, registerCodec } from "./registry.ts";
