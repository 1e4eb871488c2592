/**
 * Write batches ("corking"): while a batch is open, a socket that has no write in flight does not start
 * one for the first bytes it is given; it holds them, and everything written to it until the batch ends,
 * and sends them as one `write` when the batch closes. The read loop opens a batch around each `feed()`,
 * so whatever one read makes the codecs and the proxy write — N forwarded RPC frames on one upstream
 * connection, the responses for N frames on their downstream connections, an HTTP/2 connection's
 * SETTINGS ACK and WINDOW_UPDATEs — leaves as one syscall per socket instead of one for the first chunk
 * plus one for the rest once it completed.
 *
 * Nothing changes for the writers: `write()` still returns a promise that settles once the bytes were
 * handed to the kernel, `writing` is true while they wait, `bytesSubmitted`/`bytesWritten` still tell
 * what provably never left (held bytes are not written; `close()` drops them). A batch is synchronous —
 * it ends before the read loop awaits anything — so held bytes wait microseconds, never a turn of the
 * event loop, and a batch cannot deadlock on a promise it is itself holding back.
 */

/** A socket that holds writes while a batch is open (`SocketIO`). */
export interface BatchedWriter {
  /** The batch ended: send what was held. */
  flushBatch(): void;
}

let depth = 0;
let held: BatchedWriter[] = [];
let spare: BatchedWriter[] = [];

/** Opens a batch (batches nest; the outermost one's end flushes). */
export function beginWriteBatch(): void {
  depth++;
}

/** Closes a batch; the outermost close flushes every socket that held writes, in the order they began. */
export function endWriteBatch(): void {
  if (--depth > 0) return;
  depth = 0;
  // A flush issues conn.write (asynchronous): no writer is re-entered synchronously, but swap the list
  // anyway so a writer that holds again (it cannot while depth is 0) would land in a fresh one.
  while (held.length > 0) {
    const list = held;
    held = spare;
    for (let i = 0; i < list.length; i++) list[i]!.flushBatch();
    list.length = 0;
    spare = list;
  }
}

/** True while a batch is open: a socket with nothing in flight should hold its writes (`holdForBatch`). */
export function inWriteBatch(): boolean {
  return depth > 0;
}

/** Registers `w` to be flushed when the open batch ends (call once per batch, when it starts holding). */
export function holdForBatch(w: BatchedWriter): void {
  held.push(w);
}
