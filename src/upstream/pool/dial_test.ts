import { assert, assertEquals } from "../../../tests/_assert.ts";
import { ProxyError } from "../../core/mod.ts";
import { connectWithTimeout } from "./dial.ts";

/**
 * A listener that never accepts, with its accept queue filled: the kernel then drops further SYNs, so a
 * connect hangs as it would to a blackholed host. Returns the port and a cleanup.
 */
async function blackhole(): Promise<{ port: number; close(): void }> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const conns: Deno.TcpConn[] = [];
  // Fill the queue (its size is the kernel's somaxconn cap, unknown here) until a connect stalls.
  for (let batch = 0; batch < 20; batch++) {
    const attempts = Array.from({ length: 500 }, () => Deno.connect({ hostname: "127.0.0.1", port }));
    const stalled = await Promise.race([
      Promise.all(attempts).then((cs) => (conns.push(...cs), false)),
      new Promise<boolean>((r) => setTimeout(() => r(true), 200)),
    ]);
    if (stalled) {
      for (const a of attempts) a.then((c) => conns.push(c), () => {});
      break;
    }
  }
  return {
    port,
    close() {
      l.close();
      for (const c of conns) c.close();
    },
  };
}

Deno.test("connectWithTimeout() gives up on a host that never answers the handshake", async () => {
  const hole = await blackhole();
  try {
    const t0 = performance.now();
    const err = await connectWithTimeout("127.0.0.1", hole.port, 150).then(() => undefined, (e) => e);
    const took = performance.now() - t0;
    assert(err instanceof ProxyError, `expected a ProxyError, got ${err}`);
    assertEquals(err.kind, "connect_failure");
    assertEquals(err.retryable, true, "nothing was sent: another host may be tried");
    assert(took >= 140 && took < 1500, `gave up after ${took.toFixed(0)} ms`);
  } finally {
    hole.close();
  }
});

Deno.test("connectWithTimeout() reports a refused connection as a retryable connect failure", async () => {
  const err = await connectWithTimeout("127.0.0.1", 2, 1000).then(() => undefined, (e) => e);
  assert(err instanceof ProxyError);
  assertEquals(err.kind, "connect_failure");
  assertEquals(err.retryable, true);
});
