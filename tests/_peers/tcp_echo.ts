/** A raw TCP echo server on 127.0.0.1 for tcp_proxy tests: writes back every byte it reads. */
import { startLoopbackServer } from "./loopback_server.ts";

export interface EchoServer {
  readonly port: number;
  readonly address: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Bytes received so far, over all connections. */
  readonly bytes: number;
  stop(): Promise<void>;
}

export function startEchoServer(): EchoServer {
  let bytes = 0;
  const server = startLoopbackServer(async (conn) => {
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      bytes += n;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  });
  return {
    port: server.port,
    address: server.address,
    get connections() {
      return server.connections;
    },
    get bytes() {
      return bytes;
    },
    stop: () => server.stop(),
  };
}
