import type { Socket } from "node:net";
import type { StreamConn } from "../core/mod.ts";

/**
 * Bytes queued from a socket that no read has taken yet, above which the socket is paused: the node
 * stream stops reading its handle, the kernel window fills, and a fast peer is held back (backpressure).
 */
const MAX_QUEUED_BYTES = 64 * 1024;

/**
 * A `node:net` / `node:tls` socket seen as a `StreamConn`, so the read loop and `SocketIO` run over TLS
 * sessions exactly as over TCP. Node pushes chunks; a read takes them (copying into the caller's
 * buffer, as `Deno.Conn.read` does). A read waiting when a chunk arrives gets it at once.
 */
export class NodeSocketConn implements StreamConn {
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  readonly socket: Socket;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #ended = false;
  #readBuf: Uint8Array | undefined;
  #readResolve: ((n: number | null) => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    this.remoteAddr = netAddr(socket.remoteAddress, socket.remotePort);
    this.localAddr = netAddr(socket.localAddress, socket.localPort);
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
    const end = () => this.#onEnd();
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end); // the read side sees EOF; whoever owns the socket logs the reason
  }

  #onData(chunk: Uint8Array): void {
    const resolve = this.#readResolve;
    if (resolve !== undefined) {
      const buf = this.#readBuf!;
      this.#readResolve = this.#readBuf = undefined;
      const n = Math.min(buf.length, chunk.length);
      buf.set(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n < chunk.length) this.#enqueue(chunk.subarray(n));
      resolve(n);
      return;
    }
    this.#enqueue(chunk);
  }

  #enqueue(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (!this.#paused && this.#queued >= MAX_QUEUED_BYTES) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  #onEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    const resolve = this.#readResolve;
    this.#readResolve = this.#readBuf = undefined;
    resolve?.(null);
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#queue.length > 0) return Promise.resolve(this.#take(p));
    if (this.#ended) return Promise.resolve(null);
    if (this.#readResolve !== undefined) return Promise.reject(new Error("concurrent read"));
    return new Promise((resolve) => {
      this.#readBuf = p;
      this.#readResolve = resolve;
    });
  }

  #take(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#queue.length > 0) {
      const head = this.#queue[0];
      const k = Math.min(head.length, p.length - n);
      p.set(k === head.length ? head : head.subarray(0, k), n);
      n += k;
      if (k === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(k);
    }
    this.#queued -= n;
    if (this.#paused && this.#queued < MAX_QUEUED_BYTES) {
      this.#paused = false;
      this.socket.resume();
    }
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.socket.destroyed || this.socket.writableEnded) {
      return Promise.reject(new Deno.errors.BrokenPipe("socket closed"));
    }
    // The callback runs once the bytes are handed to the handle (encrypted, for TLS): the caller may
    // reuse `p` from then on, as with Deno.Conn.write.
    return new Promise((resolve, reject) => {
      this.socket.write(p, (err) => err ? reject(err) : resolve(p.length));
    });
  }

  closeWrite(): Promise<void> {
    if (this.socket.destroyed || this.socket.writableEnded) return Promise.resolve();
    return new Promise((resolve) => this.socket.end(() => resolve()));
  }

  close(): void {
    this.socket.destroy();
    this.#onEnd();
  }

  setNoDelay(noDelay = true): void {
    this.socket.setNoDelay(noDelay);
  }
}

function netAddr(hostname: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}
