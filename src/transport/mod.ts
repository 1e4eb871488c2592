/**
 * Sockets: write-coalescing, watermarked I/O for codecs, pooled buffers, the read loop.
 * @module
 */
export { DEFAULT_HIGH_WATER_MARK, formatNetAddr, SocketIO } from "./socket_io.ts";
export type { SocketIOOptions } from "./socket_io.ts";
export { BufferPool, readBuffers } from "./buffer_pool.ts";
export { IDLE_READ_BYTES, runReadLoop } from "./read_loop.ts";
export { beginWriteBatch, endWriteBatch, inWriteBatch } from "./write_batch.ts";
export type { ByteSink } from "./read_loop.ts";
