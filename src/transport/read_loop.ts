import { readBuffers } from "./buffer_pool.ts";

export interface ByteSink {
  /** Bytes just read; valid until a returned promise settles. */
  feed(data: Uint8Array): void | Promise<void>;
  onEof(): void;
}

/**
 * Reads a socket into a pooled buffer and feeds a sink until EOF or error. A promise returned by the sink
 * pauses reading (backpressure). `initial` bytes (already read by protocol sniffing) are fed first.
 * Resolves with the number of bytes read.
 */
export async function runReadLoop(
  conn: Deno.Conn,
  sink: ByteSink,
  initial?: Uint8Array,
  onBytes?: (n: number) => void,
): Promise<void> {
  const buf = readBuffers.take();
  try {
    if (initial !== undefined && initial.length > 0) {
      const r = sink.feed(initial);
      if (r !== undefined) await r;
    }
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null; // reset by peer, or closed locally: both end the stream
      }
      if (n === null) break;
      onBytes?.(n);
      const r = sink.feed(buf.subarray(0, n));
      if (r !== undefined) await r;
    }
    sink.onEof();
  } finally {
    readBuffers.give(buf);
  }
}
