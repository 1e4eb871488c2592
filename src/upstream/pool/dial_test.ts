import { assert, assertEquals } from "../../../tests/_assert.ts";
import { ProxyError } from "../../core/mod.ts";
import { connectWithTimeout } from "./dial.ts";
import { startBlackhole } from "../../../tests/_peers/blackhole.ts";

Deno.test("connectWithTimeout() gives up on a host that never answers the handshake", async () => {
  const hole = await startBlackhole();
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
