/**
 * A scripted `Deno.Conn` for transport tests: it records every `write`, `read`, `close` and `closeWrite`
 * call, and the test decides when each write completes and how many bytes it accepts, and what each read
 * returns. Real sockets cannot show how many syscalls a batch took or hold a write in flight on demand.
 */

/** One `conn.write(p)` call, in flight until the test accepts or fails it. */
export class FakeWrite {
  /** The view the caller passed (to check which buffer it lives in). */
  readonly data: Uint8Array;
  /** A copy taken at call time: the caller may reuse its buffer once the write completed. */
  readonly bytes: Uint8Array;
  #resolve!: (n: number) => void;
  #reject!: (e: Error) => void;
  #settled = false;
  readonly promise: Promise<number>;

  constructor(data: Uint8Array) {
    this.data = data;
    this.bytes = data.slice();
    this.promise = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** The kernel took `n` bytes (all of them by default; fewer is a partial write). */
  accept(n: number = this.data.length): void {
    if (this.#settled) throw new Error("write already settled");
    if (n < 0 || n > this.data.length) throw new RangeError(`cannot accept ${n} of ${this.data.length}`);
    this.#settled = true;
    this.#resolve(n);
  }

  fail(e: Error = new Deno.errors.BrokenPipe("broken pipe")): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(e);
  }
}

/** One `conn.read(p)` call, pending until the test delivers bytes, EOF or an error. */
export class FakeRead {
  /** The buffer the reader passed: its size is what the read loop chose. */
  readonly buf: Uint8Array;
  #resolve!: (n: number | null) => void;
  #reject!: (e: Error) => void;
  #settled = false;
  readonly promise: Promise<number | null>;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.promise = new Promise<number | null>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Copies `bytes` into the reader's buffer (they must fit) and completes the read with their length. */
  deliver(bytes: Uint8Array): void {
    if (bytes.length > this.buf.length) {
      throw new RangeError(`${bytes.length} bytes do not fit ${this.buf.length}`);
    }
    this.buf.set(bytes);
    this.#settle();
    this.#resolve(bytes.length);
  }

  /** Fills the reader's whole buffer. */
  fill(byte = 0x61): void {
    this.deliver(new Uint8Array(this.buf.length).fill(byte));
  }

  eof(): void {
    this.#settle();
    this.#resolve(null);
  }

  fail(e: Error = new Deno.errors.ConnectionReset("connection reset")): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(e);
  }

  #settle(): void {
    if (this.#settled) throw new Error("read already settled");
    this.#settled = true;
  }
}

export class FakeConn {
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1000 };
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 2000 };
  /** Every write call, in call order. */
  readonly writes: FakeWrite[] = [];
  /** Every read call, in call order. */
  readonly reads: FakeRead[] = [];
  closes = 0;
  closeWrites = 0;
  /** Checks re-run on every call; each returns true once it resolved its promise. */
  #waiters: (() => boolean)[] = [];

  /** This object typed as the `Deno.Conn` it stands in for (only the members above exist). */
  get conn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }

  get closed(): boolean {
    return this.closes > 0;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("write on a closed conn"));
    const w = new FakeWrite(p);
    this.writes.push(w);
    this.#notify();
    return w.promise;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("read on a closed conn"));
    const r = new FakeRead(p);
    this.reads.push(r);
    this.#notify();
    return r.promise;
  }

  /** As Deno's: operations in flight fail, and closing twice throws. */
  close(): void {
    if (this.closed) throw new Deno.errors.BadResource("conn closed twice");
    this.closes++;
    for (const w of this.writes) w.fail(new Deno.errors.BadResource("conn closed"));
    for (const r of this.reads) r.fail(new Deno.errors.BadResource("conn closed"));
    this.#notify();
  }

  closeWrite(): Promise<void> {
    this.closeWrites++;
    return Promise.resolve();
  }

  /** The `i`-th write call (0-based), once it has been made. */
  writeCall(i: number): Promise<FakeWrite> {
    return this.#until(() => this.writes[i]);
  }

  /** The `i`-th read call (0-based), once it has been made. */
  readCall(i: number): Promise<FakeRead> {
    return this.#until(() => this.reads[i]);
  }

  /** Resolves once `close()` has been called. */
  whenClosed(): Promise<true> {
    return this.#until(() => this.closed || undefined);
  }

  #until<T>(get: () => T | undefined): Promise<T> {
    return new Promise<T>((resolve) => {
      const check = (): boolean => {
        const v = get();
        if (v !== undefined) resolve(v);
        return v !== undefined;
      };
      if (!check()) this.#waiters.push(check);
    });
  }

  #notify(): void {
    this.#waiters = this.#waiters.filter((check) => !check());
  }
}

/**
 * One macrotask turn: every microtask already queued (promise callbacks) has run when it resolves. Used
 * to show that something did NOT happen (a read that must wait), since there is no event to wait for;
 * with a FakeConn no real I/O is involved, so this is deterministic, not a timing guess.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
