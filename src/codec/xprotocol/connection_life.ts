/**
 * What every multiplexed RPC connection does the same way whatever its frames look like: read-side
 * backpressure from a congested socket (server side), and failing the streams of a connection that died
 * without ever resending one that may have reached the peer (client side).
 */
import { ProxyError } from "../../core/mod.ts";
import type { ConnectionIO } from "../types.ts";

/**
 * The promise a server connection's `feed()` returns after pushing a read: a client that does not read its
 * responses gets no new requests read either until its socket drains (the socket closes itself if it falls
 * too far behind). `pushed` is what the frame handlers returned.
 */
export function afterFeed(io: ConnectionIO, pushed: void | Promise<void>): void | Promise<void> {
  if (io.congested !== true || io.drained === undefined) return pushed;
  return pushed === undefined ? io.drained() : pushed.then(() => io.drained!());
}

/** An upstream stream still waiting for its response when its connection dies. */
export interface PendingUpstreamStream {
  /** True when none of the request's bytes left this host (see {@link unsentSince}). */
  readonly unsent: boolean;
  readonly receiver: { onReset(error: ProxyError): void };
}

/** True when no byte from `mark` (an earlier `io.bytesSubmitted`) on has been accepted by the kernel. */
export function unsentSince(io: ConnectionIO, mark: number): boolean {
  const written = io.bytesWritten;
  return written !== undefined && written <= mark;
}

/**
 * Closes `io` and resets every stream in `streams` with `error`. A stream whose request bytes never left
 * this host fails `retryable` (it provably did not reach the peer's application); every other one may have
 * been executed and must never be sent again automatically. Unsent-ness is read before closing: close()
 * drops queued output, which is exactly the never-sent part.
 */
export function closeAndResetStreams(
  io: ConnectionIO,
  streams: readonly PendingUpstreamStream[],
  error: ProxyError,
): void {
  const reset = error.kind === "upstream_reset" && !error.retryable
    ? error
    : new ProxyError("upstream_reset", "upstream", error.message, { cause: error });
  const unsent = streams.map((s) => s.unsent);
  io.close();
  let retryable: ProxyError | undefined;
  for (let i = 0; i < streams.length; i++) {
    const err = unsent[i]
      ? retryable ??= new ProxyError("upstream_reset", "upstream", error.message, {
        cause: error,
        retryable: true,
      })
      : reset;
    streams[i]!.receiver.onReset(err);
  }
}
