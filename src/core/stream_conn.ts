/**
 * The byte stream the transport reads and writes: the part of `Deno.Conn` meshctl uses. A plain
 * `Deno.TcpConn` is one; so is a TLS session run by `node:tls` (`tls/NodeSocketConn`), which is how TLS
 * reaches the codecs without them knowing.
 */
export interface StreamConn {
  /** Reads into `p`; the byte count, or null at EOF. Rejects on a reset or a local close. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p` (maybe not all); the byte count accepted. */
  write(p: Uint8Array): Promise<number>;
  /** Half-close: no more writes (TCP FIN, TLS close_notify). */
  closeWrite(): Promise<void>;
  close(): void;
  readonly remoteAddr: Deno.Addr;
  readonly localAddr: Deno.Addr;
  setNoDelay?(noDelay?: boolean): void;
}
