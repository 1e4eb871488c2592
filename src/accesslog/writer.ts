import { type Clock, systemClock, type TimerId } from "../core/mod.ts";

/** Where a writer's bytes go: a file, stdout or stderr (`Deno.FsFile`, `Deno.stdout` fit), or a test double. */
export interface AccessLogOutput {
  /** Writes some of `p`, resolving with how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  close?(): void;
}

/** How an {@linkcode AccessLogWriter} batches, bounds and reports. */
export interface AccessLogWriterOptions {
  /**
   * Text waiting for a write beyond which new lines are dropped (and counted) instead of queued. Counted
   * in characters, which are bytes for the ASCII lines access logs are made of. The write in flight is
   * not counted, so a writer holds at most about twice this.
   *
   * 1 MiB is ~5000 default-format lines: seconds of logs at a sidecar's usual rate, ~100 ms at 50k req/s.
   * @default {1048576}
   */
  readonly maxBufferBytes?: number;
  /** Text pending that starts a write without waiting for the interval. @default {65536} */
  readonly flushBytes?: number;
  /** Longest a line waits before its batch is written. @default {100} */
  readonly flushIntervalMs?: number;
  /** How long `close()` waits for buffered lines to be written before dropping them. @default {1000} */
  readonly closeTimeoutMs?: number;
  /** Timers for the flush interval and the close timeout. @default {systemClock} */
  readonly clock?: Clock;
  /** Called with the number of lines just dropped (buffer full, failed write, closed, close timeout). */
  readonly onDrop?: (lines: number) => void;
  /** Called with each failed write's error (disk full, closed stdout); the writer carries on. */
  readonly onError?: (error: unknown) => void;
  /** Write here instead of opening `path`; the writer does not close it. */
  readonly output?: AccessLogOutput;
}

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Cannot create an access log writer: ${name} must be positive, got ${value}`);
  }
  return value;
}

function notNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Cannot create an access log writer: ${name} must not be negative, got ${value}`);
  }
  return value;
}

/** Lines (newlines) in `bytes` from `from` on: those a failed write did not finish. */
function linesIn(bytes: Uint8Array, from: number): number {
  let n = 0;
  for (let i = from; i < bytes.length; i++) if (bytes[i] === 0x0a) n++;
  return n;
}

/**
 * An access log sink that never blocks the event loop: `write()` appends the line to a bounded buffer
 * and returns; batches go out with one asynchronous write (Deno runs it off the event loop), at most one
 * in flight, every `flushIntervalMs` or once `flushBytes` are pending. Lines that arrive while a write
 * is in flight join the next batch. When the output is slow or stuck (a full disk, a pipe nobody reads)
 * the buffer fills and new lines are dropped and counted, never queued without bound. Write errors are
 * counted, never thrown.
 */
export class AccessLogWriter {
  readonly path: string;
  readonly #output: AccessLogOutput;
  readonly #ownsOutput: boolean;
  readonly #clock: Clock;
  readonly #maxChars: number;
  readonly #flushChars: number;
  readonly #intervalMs: number;
  readonly #closeTimeoutMs: number;
  readonly #onDrop: ((lines: number) => void) | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;
  /** Lines not yet handed to a write, each ending in "\n". A rope: appending is cheap. */
  #pending = "";
  #pendingLines = 0;
  #writing = false;
  #timer: TimerId | undefined;
  /** Reused between batches so a batch costs no allocation; the write in flight owns it. */
  #slab: Uint8Array = NO_BYTES;
  /** Lines accepted by write(), and those of them written or dropped since: flush() waits on these. */
  #accepted = 0;
  #settled = 0;
  #waiters: { target: number; resolve: () => void }[] = [];
  #dropped = 0;
  #writeErrors = 0;
  #closing: Promise<void> | undefined;

  /**
   * Opens `path` for appending ("stdout", "stderr", or "" for stderr, are not opened), unless
   * `options.output` is given. Throws what `Deno.openSync` throws, so a bad path fails the config load.
   * A FIFO must have a reader: opening one blocks until it does.
   */
  constructor(path: string, options: AccessLogWriterOptions = {}) {
    this.path = path;
    this.#maxChars = positive("maxBufferBytes", options.maxBufferBytes ?? 1024 * 1024);
    this.#flushChars = Math.min(positive("flushBytes", options.flushBytes ?? 64 * 1024), this.#maxChars);
    this.#intervalMs = notNegative("flushIntervalMs", options.flushIntervalMs ?? 100);
    this.#closeTimeoutMs = notNegative("closeTimeoutMs", options.closeTimeoutMs ?? 1000);
    this.#clock = options.clock ?? systemClock;
    this.#onDrop = options.onDrop;
    this.#onError = options.onError;
    if (options.output !== undefined) {
      this.#output = options.output;
      this.#ownsOutput = false;
    } else if (path === "stdout") {
      this.#output = Deno.stdout;
      this.#ownsOutput = false;
    } else if (path === "stderr" || path === "") {
      this.#output = Deno.stderr;
      this.#ownsOutput = false;
    } else {
      this.#output = Deno.openSync(path, { append: true, create: true });
      this.#ownsOutput = true;
    }
  }

  /** Lines dropped so far: buffer full, failed writes, written after close(), or left at a close timeout. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Writes that failed so far. */
  get writeErrors(): number {
    return this.#writeErrors;
  }

  /** Characters waiting for a write (not counting the write in flight). */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  /** Queues one line (a newline is added). Never blocks and never throws; drops the line when full. */
  write(line: string): void {
    if (this.#closing !== undefined || this.#pending.length + line.length + 1 > this.#maxChars) {
      this.#drop(1);
      return;
    }
    this.#pending += line + "\n";
    this.#pendingLines++;
    this.#accepted++;
    if (this.#writing) return; // the next batch starts when this write completes
    if (this.#pending.length >= this.#flushChars) this.#startWrite();
    else this.#timer ??= this.#clock.setTimeout(this.#onTimer, this.#intervalMs);
  }

  /** Writes what is buffered now; resolves once every line accepted so far is written or dropped. */
  flush(): Promise<void> {
    if (this.#settled >= this.#accepted) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ target: this.#accepted, resolve });
    if (!this.#writing) this.#startWrite();
    return promise;
  }

  /**
   * Flushes, waiting at most `closeTimeoutMs` (what is still buffered then is dropped and counted, so a
   * stuck pipe cannot hang shutdown), then closes the file. Later writes are dropped. Idempotent.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    let timer: TimerId | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve(true), this.#closeTimeoutMs);
    });
    const late = await Promise.race([this.flush().then(() => false), timedOut]);
    this.#clock.clearTimeout(timer!);
    this.#clearTimer();
    if (late && this.#pendingLines > 0) {
      const lines = this.#pendingLines;
      this.#pending = "";
      this.#pendingLines = 0;
      this.#settled += lines;
      this.#drop(lines);
    }
    // A write still in flight keeps its own reference to the file and settles on its own.
    if (this.#ownsOutput) {
      try {
        this.#output.close?.();
      } catch {
        // already closed: nothing left to release
      }
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#writing && this.#pending.length > 0) this.#startWrite();
  };

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #startWrite(): void {
    this.#clearTimer();
    const text = this.#pending;
    const lines = this.#pendingLines;
    this.#pending = "";
    this.#pendingLines = 0;
    this.#writing = true;
    void this.#writeBatch(text, lines);
  }

  /** One batch: encode into the slab, write it all (a write may take part of it). Never rejects. */
  async #writeBatch(text: string, lines: number): Promise<void> {
    const bytes = this.#encode(text);
    let off = 0;
    try {
      while (off < bytes.length) {
        const n = await this.#output.write(off === 0 ? bytes : bytes.subarray(off));
        if (!(n > 0)) throw new Error("Cannot write the access log: the output took no bytes");
        off += n;
      }
    } catch (error) {
      this.#writeErrors++;
      this.#drop(linesIn(bytes, off));
      try {
        this.#onError?.(error);
      } catch {
        // the caller's reporting must not stop the writer
      }
    }
    // After a burst, give back a big slab instead of holding it for good.
    if (this.#slab.length > 4 * this.#flushChars) this.#slab = NO_BYTES;
    this.#settled += lines;
    this.#writing = false;
    this.#afterWrite();
  }

  #afterWrite(): void {
    if (this.#waiters.length > 0) {
      const settled = this.#settled;
      const waiting = this.#waiters.filter((w) => w.target > settled);
      for (const w of this.#waiters) if (w.target <= settled) w.resolve();
      this.#waiters = waiting;
    }
    if (this.#pending.length === 0) return;
    if (this.#pending.length >= this.#flushChars || this.#waiters.length > 0) this.#startWrite();
    else this.#timer ??= this.#clock.setTimeout(this.#onTimer, this.#intervalMs);
  }

  /** UTF-8 of `text` in the reused slab, grown when too small (ASCII needs one byte per character). */
  #encode(text: string): Uint8Array {
    let slab = this.#slab;
    if (slab.length < text.length) {
      slab = new Uint8Array(Math.max(16 * 1024, 2 * slab.length, Math.ceil(text.length * 1.25)));
    }
    let { read, written } = encoder.encodeInto(text, slab);
    while (read < text.length) {
      // Non-ASCII: up to three bytes per UTF-16 unit.
      const bigger = new Uint8Array(written + (text.length - read) * 3);
      bigger.set(slab.subarray(0, written));
      slab = bigger;
      const more = encoder.encodeInto(text.slice(read), slab.subarray(written));
      read += more.read;
      written += more.written;
    }
    this.#slab = slab;
    return slab.subarray(0, written);
  }

  #drop(lines: number): void {
    if (lines === 0) return;
    this.#dropped += lines;
    try {
      this.#onDrop?.(lines);
    } catch {
      // the caller's counter must not break logging
    }
  }
}
