/**
 * "Nothing is executed twice that the client sent once": meshctl resends a request automatically only
 * when it provably never reached the upstream's application (or, on HTTP/1, for an idempotent request
 * caught by the kept-alive race, as nginx does) — never an RPC the upstream may have run.
 */
import { assert, assertEquals } from "./_assert.ts";
import { DEAD_HOST, httpProxyConfig, type Meshctl, rawExchange, startMeshctl } from "./_e2e.ts";
import { encodeRequestFrame, str, TEST_SERVICE } from "./_peers/bolt_peers.ts";
import {
  connectLocal,
  frameId,
  FrameReader,
  GOLDEN_RESPONSE,
  idOffset,
  responseStatus,
  withId,
  writeAll,
} from "./_peers/bolt_raw.ts";
import { startLoopbackServer } from "./_peers/loopback_server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TEST_SIG = `${TEST_SERVICE}:1.0`;

async function stopped(mesh: Meshctl): Promise<void> {
  const code = await mesh.stop();
  assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
}

/** A request's identity at the provider: its bytes without the (rewritten) request id. */
function callKey(frame: Uint8Array): string {
  const f = frame.slice();
  f.fill(0, idOffset(f), idOffset(f) + 4);
  let s = "";
  for (let i = 0; i < f.length; i++) s += String.fromCharCode(f[i]!);
  return s;
}

/**
 * A raw bolt provider that answers every call after `delayMs` and counts calls by identity. `dieAfter`
 * calls in, it drops every connection (a crash with calls in flight) and never answers those.
 */
function startProvider(counts: Map<string, number>, delayMs: number, dieAfter = Infinity) {
  let seen = 0;
  let dead = false;
  const conns = new Set<Deno.Conn>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = startLoopbackServer(async (conn) => {
    conns.add(conn);
    const reader = new FrameReader(conn);
    for (;;) {
      const f = await reader.next(60_000);
      if (f === null || f === "timeout" || dead) break;
      const key = callKey(f);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (++seen >= dieAfter) {
        dead = true;
        for (const c of conns) c.close();
        break;
      }
      const t = setTimeout(() => {
        timers.delete(t);
        writeAll(conn, withId(GOLDEN_RESPONSE, frameId(f))).catch(() => {});
      }, delayMs);
      timers.add(t);
    }
  });
  return {
    ...server,
    get dead() {
      return dead;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      await server.stop();
    },
  };
}

Deno.test("bolt: a provider dying with 200 calls in flight sees every call at most once", opts, async () => {
  const counts = new Map<string, number>();
  const healthy = startProvider(counts, 150);
  const dying = startProvider(counts, 150, 60); // round robin: ~120 calls sent before it dies
  const mesh = await startMeshctl({
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "rpc",
        virtual_hosts: [{
          name: "rpc",
          domains: ["*"],
          routers: [{
            match: { headers: [{ name: "service", value: TEST_SIG }] },
            route: { cluster_name: "svc" },
          }],
        }],
      }],
      listeners: [{
        name: "bolt_in",
        address: "127.0.0.1:0",
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "bolt", router_config_name: "rpc" } }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "svc",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: healthy.address }, { address: dying.address }],
      }],
    },
  });
  const client = await connectLocal(mesh.port("bolt_in"));
  try {
    const CALLS = 300;
    const frames = await Promise.all(
      Array.from(
        { length: CALLS },
        (_, i) =>
          encodeRequestFrame({
            id: i + 1,
            service: TEST_SIG,
            method: "plus",
            args: [str(`call-${i}`)],
            timeout: 0,
          }),
      ),
    );
    // 200 go out at once (all in flight at the providers when one dies), the rest right after.
    const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let off = 0;
    for (const f of frames) {
      all.set(f, off);
      off += f.length;
    }
    await writeAll(client, all);
    const reader = new FrameReader(client);
    const answered = new Map<number, number>();
    while (answered.size < CALLS) {
      const f = await reader.next(10_000);
      assert(f !== null && f !== "timeout", `only ${answered.size} of ${CALLS} calls were answered`);
      answered.set(frameId(f), responseStatus(f));
    }
    assert(dying.dead, "the provider died mid-load");
    const failed = [...answered.values()].filter((s) => s !== 0).length;
    assert(failed > 0, "the calls in flight at the dead provider failed (they may have run there)");
    const twice = [...counts.entries()].filter(([, n]) => n > 1);
    assertEquals(twice.length, 0, `${twice.length} calls reached the providers more than once`);
  } finally {
    client.close();
    await stopped(mesh);
    await healthy.stop();
    await dying.stop();
  }
});

/**
 * An HTTP/1 origin that answers the first request on each connection (keep-alive) and closes the
 * connection without answering the second: the kept-alive connection dying just as it is reused.
 */
function startClosingOrigin() {
  const seen: string[] = [];
  const server = startLoopbackServer(async (conn) => {
    const buf = new Uint8Array(65536);
    let text = "";
    let served = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      text += new TextDecoder().decode(buf.subarray(0, n));
      for (let end = text.indexOf("\r\n\r\n"); end >= 0; end = text.indexOf("\r\n\r\n")) {
        const head = text.slice(0, end);
        text = text.slice(end + 4);
        seen.push(head.slice(0, head.indexOf(" HTTP/1.1")));
        if (++served > 1) return; // closed under the reused connection, nothing processed
        await writeAll(conn, new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
      }
    }
  });
  return { ...server, seen };
}

Deno.test("HTTP/1: the kept-alive race resends a GET once but never a POST", opts, async () => {
  const origin = startClosingOrigin();
  // One upstream pool: the second request must reuse the first one's pooled connection, and each request
  // is its own downstream connection, which workers would split between their own pools.
  const mesh = await startMeshctl(httpProxyConfig({ hosts: [origin.address] }), {
    args: ["--concurrency", "1"],
  });
  try {
    const port = mesh.port("ingress");
    const send = (req: string) => rawExchange(port, req);
    const first = await send("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert(first.startsWith("HTTP/1.1 200"), first);
    // The pooled connection is reused; the origin closes it on this request; meshctl resends it once.
    const again = await send("GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert(again.startsWith("HTTP/1.1 200"), again);
    // Same race for a POST: the origin may have acted on it, so the client gets the failure instead.
    const post = await send(
      "POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert(post.startsWith("HTTP/1.1 502"), post);
    assertEquals(origin.seen, ["GET /a", "GET /b", "GET /b", "POST /pay"]);
  } finally {
    await stopped(mesh);
    await origin.stop();
  }
});

Deno.test(
  "HTTP/1: a POST whose connect was refused is sent on to another host, without a retry policy",
  opts,
  async () => {
    const got: string[] = [];
    const origin = startLoopbackServer(async (conn) => {
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      if (n === null) return;
      const text = new TextDecoder().decode(buf.subarray(0, n));
      got.push(text.slice(text.indexOf("\r\n\r\n") + 4));
      await writeAll(
        conn,
        new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
      );
    });
    // Round robin starts at the dead host: the first attempt's connect is refused, nothing was sent.
    const mesh = await startMeshctl(httpProxyConfig({ hosts: [DEAD_HOST, origin.address] }));
    try {
      const res = await rawExchange(
        mesh.port("ingress"),
        "POST /pay HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
      );
      assert(res.startsWith("HTTP/1.1 200"), res);
      assertEquals(got, ["hello"]);
    } finally {
      await stopped(mesh);
      await origin.stop();
    }
  },
);
