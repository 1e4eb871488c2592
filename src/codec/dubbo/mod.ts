/**
 * Apache Dubbo ("dubbo", the dubbo protocol with hessian2 bodies) on the shared xprotocol engine.
 *
 * Forwarding keeps the original bytes: a call decodes to a `DubboRequestHead` holding its `frame`, with
 * headers read from the hessian2 invocation for routing (arguments are skipped, never decoded); the
 * upstream stream sends that frame with only the id patched. A response decodes to a
 * `DubboResponseHead`; the downstream stream patches the client's 64-bit id back. Header edits are not
 * re-encoded (as MOSN). Heartbeats are answered where they arrive.
 * @module
 */
export { dubboCodec } from "./codec.ts";
export { DubboRequestHead, DubboResponseHead } from "./frame.ts";
export { DubboServerConnection, DubboServerStream } from "./server.ts";
export { DubboClientConnection, DubboClientStream } from "./client.ts";
export * as dubboConstants from "./constants.ts";
