/**
 * Codecs: protocol names → wire encoders/decoders. Importing this module registers the built-in codecs.
 * @module
 */
export * from "./types.ts";
export { SimpleHeaderMap } from "./header_map.ts";
export { codecNames, detectProtocol, getCodec, registerCodec } from "./registry.ts";
export * from "./http1/register.ts";

import { registerCodec } from "./registry.ts";
import { boltCodec, boltV2Codec } from "./bolt/mod.ts";
export { boltCodec, boltV2Codec } from "./bolt/mod.ts";
export type { BoltRequestHead, BoltResponseHead } from "./bolt/mod.ts";
import { dubboCodec } from "./dubbo/mod.ts";
export { dubboCodec } from "./dubbo/mod.ts";
export type { DubboRequestHead, DubboResponseHead } from "./dubbo/mod.ts";
import { http2Codec } from "./http2/mod.ts";
export { http2Codec } from "./http2/mod.ts";
export type { Http2RequestHead, Http2ResponseHead } from "./http2/mod.ts";
import { tcpTunnelCodec } from "./tunnel/mod.ts";
export { TCP_TUNNEL } from "./tunnel/mod.ts";
registerCodec(http2Codec);
registerCodec(tcpTunnelCodec, { internal: true });
registerCodec(boltCodec);
registerCodec(boltV2Codec);
registerCodec(dubboCodec);
