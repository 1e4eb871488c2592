/** A raw TCP echo server on 127.0.0.1 for tcp_proxy tests: writes back every byte it reads. */

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
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let connections = 0;
  let bytes = 0;
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(16384);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        bytes += n;
        let off = 0;
        while (off < n) off += await conn.write(buf.subarray(off, n));
      }
    } catch {
      // reset or closed by stop()
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        connections++;
        conns.add(conn);
        tasks.push(serve(conn));
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port,
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get bytes() {
      return bytes;
    },
    async stop() {
      try {
        listener.close();
      } catch {
        // closed
      }
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      await accepting;
      await Promise.all(tasks);
    },
  };
}
