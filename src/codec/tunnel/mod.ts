/**
 * The upstream side of a terminated CONNECT: the stream's body is the TCP connection's bytes.
 * @module
 */
export { TCP_TUNNEL, tcpTunnelCodec } from "./codec.ts";
