/**
 * Splits a byte stream into whole frames for length-prefixed protocols (bolt, dubbo, …).
 *
 * Each complete frame is copied into memory the sink owns, since the proxy keeps and forwards it after
 * the read buffer is reused. Frames wholly inside one read are copied straight out of it; a frame split
 * across reads is accumulated in a buffer that grows as its bytes arrive (doubling, up to the declared
 * length), never sized from the length field alone: a peer that claims 16 MiB and sends 24 bytes holds
 * 24 bytes' worth, not 16 MiB. Those bytes are reserved from an optional process-wide `ByteBudget`, so
 * many such peers together are bounded too. Only a header prefix shorter than `headerBytes` waits in a
 * small reused buffer.
 */
import type { ByteBudget } from "../../core/mod.ts";

/** What a protocol tells the reader about its frames; implemented by the connection itself (no closures). */
export interface FrameSink {
  /**
   * The total length of the frame starting at `buf[off]`, looking only at `buf[off, end)`:
   * > 0 the length, 0 more bytes are needed to know it, < 0 the bytes are not this protocol (error code).
   * Must return non-zero once `headerBytes` bytes are available.
   */
  frameLength(buf: Uint8Array, off: number, end: number): number;
  /** A complete frame, owned by the sink. May return a promise (backpressure). */
  onFrame(frame: Uint8Array): void | Promise<void>;
  /** The stream is broken: `code` is frameLength's negative result, or FRAME_TOO_LARGE. */
  onFrameError(code: number): void;
}

/**
 * Frames whole inside one read are copied into shared 64 KiB slabs (bump allocation) instead of one
 * `slice` each: a fresh ArrayBuffer per frame is a malloc + calloc + free in the runtime, ~12 % of the
 * proxy's CPU on small RPC frames. A run of consecutive small frames is copied with one `set` (one
 * memcpy, no temporary view per frame), and the frames are views of the copy: adjacent in the slab, so
 * the N frames of one read, forwarded in order, leave as one contiguous write (`SocketIO` joins adjacent
 * chunks without copying). A slab is garbage once no frame in it is referenced any more.
 */
const SLAB_BYTES = 64 * 1024;
/** Frames larger than this get their own buffer (so one big frame cannot pin a whole slab). */
const SLAB_MAX_FRAME = 8 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabPos = 0;

/** Copies `data[off, end)` (at most SLAB_BYTES) into the slab; returns the copy. */
function copyToSlab(data: Uint8Array, off: number, end: number): Uint8Array {
  const n = end - off;
  if (slabPos + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabPos = 0;
  }
  const start = slabPos;
  slab.set(off === 0 && end === data.length ? data : data.subarray(off, end), start);
  slabPos += n;
  return slab.subarray(start, start + n);
}

/**
 * Lengths of the frames of the run being emitted, reused across reads. Taken while a run is emitted: a
 * sink that pushes into another reader meanwhile (an in-process pipe in tests) gets its own.
 */
let spareLengths: Int32Array | undefined = new Int32Array(256);

/** Error code passed to onFrameError when a frame exceeds maxFrameBytes. */
export const FRAME_TOO_LARGE = -1000;
/** Error code passed to onFrameError when the process-wide buffer budget cannot hold a partial frame. */
export const BUFFER_BUDGET_EXHAUSTED = -1001;

/** A partial frame's first buffer: enough for typical RPC frames without regrowing. */
const MIN_PARTIAL_BYTES = 4096;

export class FrameReader {
  readonly #sink: FrameSink;
  readonly #maxFrameBytes: number;
  /** Reused buffer for a header prefix whose frame length is not known yet. */
  readonly #head: Uint8Array;
  #headLen = 0;
  /** The frame being filled across reads, once its length is known; grows as bytes arrive. */
  #frame: Uint8Array | undefined;
  /** The declared length of #frame's frame. */
  #frameLen = 0;
  #fill = 0;
  /** Bytes of #frame's capacity reserved from the budget. */
  #reserved = 0;
  readonly #budget: ByteBudget | undefined;
  #stopped = false;
  #waits: Promise<void>[] | undefined;
  /** Frames completed so far. */
  framesRead = 0;

  /**
   * @param headerBytes the most bytes frameLength needs to know a frame's length.
   * @param maxFrameBytes larger frames are an error (FRAME_TOO_LARGE).
   * @param budget process-wide cap on bytes held in partial frames (BUFFER_BUDGET_EXHAUSTED).
   */
  constructor(sink: FrameSink, headerBytes: number, maxFrameBytes: number, budget?: ByteBudget) {
    this.#sink = sink;
    this.#head = new Uint8Array(headerBytes);
    this.#maxFrameBytes = maxFrameBytes;
    this.#budget = budget;
  }

  /** Bytes of an incomplete frame held between reads (non-zero at EOF means a truncated frame). */
  get buffered(): number {
    return this.#frame ? this.#fill : this.#headLen;
  }

  /** Memory held for the incomplete frame (its buffer's capacity). */
  get capacity(): number {
    return this.#frame ? this.#frame.length : 0;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stops decoding for good (after an error or close); frames after the current one are dropped. */
  stop(): void {
    this.#stopped = true;
    this.#dropFrame();
    this.#headLen = 0;
  }

  #dropFrame(): void {
    this.#frame = undefined;
    this.#fill = 0;
    if (this.#reserved > 0) this.#budget?.release(this.#reserved);
    this.#reserved = 0;
  }

  /**
   * Starts a partial frame of declared length `len` holding `have` bytes so far: a buffer of about what
   * arrived (at least MIN_PARTIAL_BYTES), not `len`. False when the budget refused (error reported).
   */
  #startFrame(len: number, have: number): boolean {
    this.#frameLen = len;
    this.#fill = 0;
    const cap = Math.min(len, Math.max(MIN_PARTIAL_BYTES, have));
    if (!this.#reserve(cap)) return false;
    this.#frame = new Uint8Array(cap);
    return true;
  }

  /** Ensures #frame can hold `need` bytes, doubling (capped at the declared length). */
  #grow(need: number): boolean {
    const frame = this.#frame!;
    if (need <= frame.length) return true;
    let cap = frame.length * 2;
    while (cap < need) cap *= 2;
    if (cap > this.#frameLen) cap = this.#frameLen;
    if (!this.#reserve(cap - frame.length)) return false;
    const next = new Uint8Array(cap);
    next.set(frame.subarray(0, this.#fill));
    this.#frame = next;
    return true;
  }

  #reserve(n: number): boolean {
    if (this.#budget !== undefined && !this.#budget.tryReserve(n)) {
      this.stop();
      this.#sink.onFrameError(BUFFER_BUDGET_EXHAUSTED);
      return false;
    }
    this.#reserved += n;
    return true;
  }

  /** Consumes one read. Returns a promise when a sink's onFrame did (settles when all of them have). */
  push(data: Uint8Array): void | Promise<void> {
    if (this.#stopped) return;
    const end = data.length;
    let off = 0;
    if (this.#headLen > 0) off = this.#fillHead(data);
    if (this.#frame !== undefined && off >= 0 && !this.#stopped) off = this.#fillFrame(data, off);
    if (off >= 0) {
      while (off < end && !this.#stopped) {
        const len = this.#length(data, off, end);
        if (len <= 0) {
          if (len === 0) this.#keepHead(data, off);
          break;
        }
        if (off + len > end) {
          if (this.#startFrame(len, end - off)) {
            this.#frame!.set(data.subarray(off, end));
            this.#fill = end - off;
          }
          break;
        }
        off = len > SLAB_MAX_FRAME ? this.#emitOwn(data, off, len) : this.#emitRun(data, off, len, end);
      }
    }
    const waits = this.#waits;
    if (waits === undefined) return;
    this.#waits = undefined;
    return Promise.all(waits).then(ignore);
  }

  /** Returns the frame length, reporting errors; 0 = need more, -1 = error (reported). */
  #length(buf: Uint8Array, off: number, end: number): number {
    const len = this.#sink.frameLength(buf, off, end);
    if (len < 0 || len > this.#maxFrameBytes) {
      this.stop();
      this.#sink.onFrameError(len < 0 ? len : FRAME_TOO_LARGE);
      return -1;
    }
    return len;
  }

  /** Completes a pending header prefix from `data`; returns the offset consumed, or -1 when done. */
  #fillHead(data: Uint8Array): number {
    const head = this.#head;
    const n = Math.min(data.length, head.length - this.#headLen);
    head.set(data.subarray(0, n), this.#headLen);
    const had = this.#headLen;
    this.#headLen += n;
    const len = this.#length(head, 0, this.#headLen);
    if (len < 0) return -1;
    if (len === 0) {
      if (this.#headLen >= head.length) {
        // The sink broke its contract (must know the length from headerBytes bytes).
        this.stop();
        this.#sink.onFrameError(FRAME_TOO_LARGE);
      }
      return -1;
    }
    // The length is known: move the prefix into the frame buffer, giving back any bytes past the frame.
    const keep = Math.min(this.#headLen, len);
    this.#headLen = 0;
    if (!this.#startFrame(len, had + data.length)) return -1;
    this.#frame!.set(head.subarray(0, keep));
    this.#fill = keep;
    return keep - had;
  }

  /** Fills the pending frame from `data[off..]`; returns the next offset, or -1 when data ran out. */
  #fillFrame(data: Uint8Array, off: number): number {
    const n = Math.min(data.length - off, this.#frameLen - this.#fill);
    if (!this.#grow(this.#fill + n)) return -1;
    const frame = this.#frame!;
    frame.set(data.subarray(off, off + n), this.#fill);
    this.#fill += n;
    if (this.#fill < this.#frameLen) return -1;
    this.#dropFrame(); // the sink owns the completed frame; the budget covers partial ones only
    this.framesRead++;
    this.#emit(frame);
    return off + n;
  }

  #keepHead(data: Uint8Array, off: number): void {
    if (data.length - off >= this.#head.length) {
      // The sink broke its contract (must know the length from headerBytes bytes).
      this.stop();
      this.#sink.onFrameError(FRAME_TOO_LARGE);
      return;
    }
    this.#head.set(data.subarray(off), 0);
    this.#headLen = data.length - off;
  }

  /** A frame too large for the slab: its own buffer. Returns the offset after it. */
  #emitOwn(data: Uint8Array, off: number, len: number): number {
    this.framesRead++;
    this.#emit(data.slice(off, off + len));
    return off + len;
  }

  /**
   * The complete small frame at `off` (of length `len`) and every complete small frame right after it,
   * copied to the slab at once and emitted in order. The run stops before a frame that is partial, too
   * large, not yet measurable or in error: the main loop deals with that one. Returns the offset after
   * the last frame emitted (earlier if a sink stopped the reader).
   */
  #emitRun(data: Uint8Array, off: number, len: number, end: number): number {
    const sink = this.#sink;
    let lengths = spareLengths ?? new Int32Array(256);
    spareLengths = undefined;
    let count = 1;
    lengths[0] = len;
    let runEnd = off + len;
    while (runEnd < end) {
      const l = sink.frameLength(data, runEnd, end);
      if (l <= 0 || l > SLAB_MAX_FRAME || l > this.#maxFrameBytes || l > end - runEnd) break;
      if (runEnd + l - off > SLAB_BYTES) break;
      if (count === lengths.length) {
        const bigger = new Int32Array(count * 2);
        bigger.set(lengths);
        lengths = bigger;
      }
      lengths[count++] = l;
      runEnd += l;
    }
    const copy = copyToSlab(data, off, runEnd);
    let at = 0;
    for (let i = 0; i < count && !this.#stopped; i++) {
      const l = lengths[i]!;
      this.framesRead++;
      this.#emit(count === 1 ? copy : copy.subarray(at, at + l));
      at += l;
    }
    spareLengths = lengths;
    return off + at;
  }

  #emit(frame: Uint8Array): void {
    const r = this.#sink.onFrame(frame);
    if (r !== undefined) (this.#waits ??= []).push(r);
  }
}

function ignore(): void {}
