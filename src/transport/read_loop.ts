import { beginApproximateClock, endApproximateClock, type StreamConn } from "../core/mod.ts";
import { readBuffers } from "./buffer_pool.ts";
import { beginWriteBatch, endWriteBatch } from "./write_batch.ts";

export interface ByteSink {
  /** Bytes just read; valid until a returned promise settles. */
  feed(data: Uint8Array): void | Promise<void>;
  onEof(): void;
}

/**
 * Bytes a read waits on while nothing is flowing. A pending read pins its buffer until data arrives, and
 * most connections are idle most of the time, so an idle connection holds only this much; a read that
 * fills it means data is flowing, and the next reads use a large pooled buffer until a read comes back
 * short. Requests and RPC frames of a few hundred bytes never touch the pool.
 */
export const IDLE_READ_BYTES = 4096;

/**
 * Reads a socket and feeds a sink until EOF or error. A promise returned by the sink pauses reading
 * (backpressure). `initial` bytes (already read by protocol sniffing) are fed first. Each read is fed
 * inside a write batch (`write_batch.ts`).
 */
export async function runReadLoop(
  conn: StreamConn,
  sink: ByteSink,
  initial?: Uint8Array,
  onBytes?: (n: number) => void,
): Promise<void> {
  const small = new Uint8Array(IDLE_READ_BYTES);
  let large: Uint8Array | undefined;
  try {
    if (initial !== undefined && initial.length > 0) {
      const r = feedBatched(sink, initial);
      if (r !== undefined) await r;
    }
    let buf: Uint8Array = small;
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null; // reset by peer, or closed locally: both end the stream
      }
      if (n === null) break;
      onBytes?.(n);
      const r = feedBatched(sink, buf.subarray(0, n));
      if (r !== undefined) await r;
      // The sink is done with the bytes: pick the buffer for the next read.
      if (n === buf.length) buf = large ??= readBuffers.take();
      else if (large !== undefined) {
        readBuffers.give(large);
        large = undefined;
        buf = small;
      }
    }
    sink.onEof();
  } finally {
    if (large !== undefined) readBuffers.give(large);
  }
}

/**
 * Feeds one read inside a write batch: what the sink writes while handling it (to this socket or any
 * other) goes out as one write per socket once it returns, before the loop waits on anything. The
 * requests and responses it decodes share one clock reading (`approximateNow`).
 */
function feedBatched(sink: ByteSink, data: Uint8Array): void | Promise<void> {
  beginWriteBatch();
  beginApproximateClock();
  try {
    return sink.feed(data);
  } finally {
    endApproximateClock();
    endWriteBatch();
  }
}
