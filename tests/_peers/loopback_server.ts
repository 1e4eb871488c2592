/**
 * The scaffolding every raw test peer needs: listen on 127.0.0.1 (ephemeral port), run `serve` per
 * connection, count connections, and on `stop()` close the listener and every connection and wait for
 * all of it to finish. A peer only writes what it does with one connection.
 */
export interface LoopbackServer {
  readonly port: number;
  readonly address: string;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

export function startLoopbackServer(serve: (conn: Deno.Conn) => Promise<void>): LoopbackServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let connections = 0;
  const run = async (conn: Deno.Conn) => {
    try {
      await serve(conn);
    } catch {
      // reset, or closed by stop()
    } finally {
      conns.delete(conn);
      closeQuietly(conn);
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        connections++;
        conns.add(conn);
        tasks.push(run(conn));
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
    async stop() {
      closeQuietly(listener);
      for (const c of conns) closeQuietly(c);
      await accepting;
      await Promise.all(tasks);
    },
  };
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}
