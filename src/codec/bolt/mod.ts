/**
 * SOFA bolt v1 ("bolt") and v2 ("boltv2") codecs on the shared xprotocol engine.
 *
 * Forwarding keeps the original bytes: a request decodes to a `BoltRequestHead` holding its `frame`;
 * the upstream stream sends that frame with only the request id patched (re-encoded if the headers were
 * edited). A response decodes to a `BoltResponseHead`; the downstream stream patches the id back.
 * @module
 */
export { boltCodec, boltV2Codec } from "./codec.ts";
export { BoltRequestHead, BoltResponseHead, encodeBoltFrame, encodeHeartbeatRequest } from "./frame.ts";
export type { BoltVersion } from "./frame.ts";
export { BoltServerConnection, BoltServerStream } from "./server.ts";
export { BoltClientConnection, BoltClientStream } from "./client.ts";
export * as boltConstants from "./constants.ts";
