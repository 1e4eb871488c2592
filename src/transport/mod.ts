/**
 * Sockets: write-coalescing I/O for codecs, pooled read buffers, the read loop.
 * @module
 */
export { formatNetAddr, SocketIO } from "./socket_io.ts";
export { BufferPool, readBuffers } from "./buffer_pool.ts";
export { runReadLoop } from "./read_loop.ts";
export type { ByteSink } from "./read_loop.ts";
