/**
 * Hostile input against a live meshctl while a steady load of good requests runs: each attack must be
 * closed or limited, its counter must move, every good request must succeed, and the process must stay
 * within a memory bound. One meshctl serves HTTP/1, bolt and tcp_proxy listeners with small limits so
 * each attack trips them quickly.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, type Meshctl, rawExchange, startMeshctl, startOrigin } from "./_e2e.ts";
import { encodeRequestFrame, str, TEST_SERVICE } from "./_peers/bolt_peers.ts";
import { connectLocal, frameId, FrameReader, responseStatus, writeAll } from "./_peers/bolt_raw.ts";
import { startLoopbackServer } from "./_peers/loopback_server.ts";
import { startEchoServer } from "./_peers/tcp_echo.ts";
import { startBlackhole } from "./_peers/blackhole.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const TEST_SIG = `${TEST_SERVICE}:1.0`;
const STUCK_SIG = "com.meshctl.test.Stuck:1.0";
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * How late a busy shared machine may make a timer-driven close or answer (the first bounds here were 1–3 s
 * over the timeouts and failed under load; at a load average of 17 on 2 cores, 1000 slowloris closes took
 * 20 s). A limit that did not trip leaves the connection open until the harness gives up
 * (`HARNESS_BOUND_MS`, later still), so "tripped late" and "never tripped" stay apart.
 */
const LOAD_SLACK_MS = 30_000;
/** How long the harness waits for a close or an answer before it counts as never coming. */
const HARNESS_BOUND_MS = 2 * LOAD_SLACK_MS + 5_000;

/** meshctl's resident memory may not exceed this at any point of the run (idle it is ~60 MiB). */
const RSS_BOUND_MIB = 300;

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

/** A bolt v1 response frame for `id` with `contentBytes` of content. */
function boltResponse(id: number, contentBytes: number): Uint8Array {
  const f = new Uint8Array(20 + contentBytes);
  const dv = new DataView(f.buffer);
  f[0] = 1; // protocol
  f[1] = 0; // response
  dv.setUint16(2, 2); // cmd: response
  f[4] = 1; // ver2
  dv.setUint32(5, id);
  f[9] = 1; // hessian2
  dv.setUint16(10, 0); // SUCCESS
  dv.setUint32(16, contentBytes);
  return f;
}

/** The 22-byte header of a bolt v1 request claiming `contentBytes` of content (what a peer may lie about). */
function requestHeader(contentBytes: number): Uint8Array {
  const h = new Uint8Array(22);
  const dv = new DataView(h.buffer);
  h[0] = 1; // protocol
  h[1] = 1; // request
  dv.setUint16(2, 1); // cmd: request
  h[4] = 1; // ver2
  dv.setUint32(5, 1); // id
  h[9] = 1; // hessian2
  dv.setUint32(18, contentBytes);
  return h;
}

/** The first string argument of a sofa request frame, found by its marker (tests control the values). */
function argOf(frame: Uint8Array): string {
  const text = dec.decode(frame);
  const m = /arg:(\w+)/.exec(text);
  return m?.[1] ?? "";
}

/** A raw bolt provider: `arg:big` gets a 256 KiB answer, `arg:slow` one after 800 ms, others at once. */
function startProvider() {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const server = startLoopbackServer(async (conn) => {
    const reader = new FrameReader(conn);
    for (;;) {
      const f = await reader.next(60_000);
      if (f === null || f === "timeout") return;
      const id = frameId(f);
      const arg = argOf(f);
      const answer = boltResponse(id, arg === "big" ? 256 * 1024 : 8);
      if (arg === "slow") {
        const t = setTimeout(() => {
          timers.delete(t);
          writeAll(conn, answer).catch(() => {});
        }, 800);
        timers.add(t);
      } else await writeAll(conn, answer);
    }
  });
  return {
    ...server,
    async stop() {
      for (const t of timers) clearTimeout(t);
      await server.stop();
    },
  };
}

function call(id: number, arg: string): Promise<Uint8Array> {
  return encodeRequestFrame({ id, service: TEST_SIG, method: "plus", args: [str(`arg:${arg}`)], timeout: 0 });
}

/** Good traffic: keep-alive HTTP/1 GETs and bolt calls in a loop until stopped; counts outcomes. */
function goodLoad(httpPort: number, rpcPort: number) {
  const result = { ok: 0, failed: [] as string[] };
  let running = true;
  const http = async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: httpPort });
    const buf = new Uint8Array(65536);
    try {
      while (running) {
        await writeAll(conn, enc.encode("GET /ok HTTP/1.1\r\nHost: good\r\n\r\n"));
        let text = "";
        while (!/\r\n\r\n[\s\S]*ok$/.test(text)) {
          const n = await conn.read(buf);
          if (n === null) throw new Error(`closed after: ${text}`);
          text += dec.decode(buf.subarray(0, n));
        }
        if (!text.startsWith("HTTP/1.1 200")) throw new Error(text.slice(0, 60));
        result.ok++;
        await new Promise((r) => setTimeout(r, 5));
      }
    } catch (e) {
      result.failed.push(`http: ${e}`);
    } finally {
      conn.close();
    }
  };
  const rpc = async () => {
    const conn = await connectLocal(rpcPort);
    const reader = new FrameReader(conn);
    let id = 1;
    try {
      while (running) {
        const want = id++;
        await writeAll(conn, await call(want, "good"));
        const f = await reader.next(HARNESS_BOUND_MS);
        if (f === null || f === "timeout") throw new Error(`bolt call ${want}: ${f}`);
        if (frameId(f) !== want || responseStatus(f) !== 0) {
          throw new Error(`bolt status ${responseStatus(f)}`);
        }
        result.ok++;
        await new Promise((r) => setTimeout(r, 5));
      }
    } catch (e) {
      result.failed.push(`rpc: ${e}`);
    } finally {
      conn.close();
    }
  };
  const workers = [http(), http(), rpc(), rpc()];
  return {
    result,
    async stop() {
      running = false;
      await Promise.all(workers);
      return result;
    },
  };
}

type Stats = Awaited<ReturnType<typeof adminStats>>;
function counter(stats: Stats, type: string, key: string, name: string): number {
  return stats[type]?.[key]?.[name] ?? 0;
}

/** Waits until `cond` holds or `ms` pass; returns whether it held. */
async function eventually(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return await cond();
}

/** Reads until the peer closes; resolves with what it sent (bounded by `ms`). */
async function untilClosed(conn: Deno.Conn, ms: number): Promise<{ closed: boolean; text: string }> {
  const buf = new Uint8Array(4096);
  let text = "";
  const timer = setTimeout(() => conn.close(), ms);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  // A close by the timer shows as an error on the next close() call.
  let closedByUs = false;
  try {
    conn.close();
  } catch {
    closedByUs = true;
  }
  return { closed: !closedByUs || text.length > 0, text };
}

Deno.test("adversarial: every attack is contained while good traffic keeps succeeding", opts, async (t) => {
  const origin = startOrigin(() => new Response("ok"));
  const slowOrigin = startOrigin(async () => {
    await new Promise((r) => setTimeout(r, 2000));
    return new Response("late");
  });
  const provider = startProvider();
  const echo = startEchoServer();
  // An upstream that accepts and never reads: its socket's queue fills.
  let unstick!: () => void;
  const stuckUntil = new Promise<void>((r) => unstick = r);
  const stuck = startLoopbackServer(() => stuckUntil);
  const hole = await startBlackhole();
  const proxy = (protocol: string, extra: Record<string, unknown> = {}) => ({
    filters: [{
      type: "proxy",
      config: {
        downstream_protocol: protocol,
        router_config_name: protocol === "bolt" ? "rpc" : "web",
        request_headers_timeout: "1s",
        stream_idle_timeout: "1s",
        ...extra,
      },
    }],
  });
  const mesh: Meshctl = await startMeshctl({
    limits: { max_buffered_bytes: 8 * 1024 * 1024 },
    servers: [{
      default_log_level: "ERROR",
      graceful_timeout: "1s", // stuck streams must not hold the shutdown for the default 30 s
      routers: [
        {
          router_config_name: "web",
          virtual_hosts: [{
            name: "web",
            domains: ["*"],
            routers: [
              // Exponential for a backtracking engine on /evil/aaa…ab; linear on meshctl's RE2 translation.
              { match: { regex: "^/evil/(a+)+$" }, direct_response: { status: 200, body: "matched" } },
              {
                match: { prefix: "/hdr", headers: [{ name: "x-probe", value: "^(x+x+)+y$", regex: true }] },
                direct_response: { status: 200, body: "header matched" },
              },
              { match: { prefix: "/slow" }, route: { cluster_name: "slow", timeout: "300ms" } },
              { match: { prefix: "/" }, route: { cluster_name: "origin" } },
            ],
          }],
        },
        {
          router_config_name: "rpc",
          virtual_hosts: [{
            name: "rpc",
            domains: ["*"],
            routers: [
              { match: { headers: [{ name: "service", value: TEST_SIG }] }, route: { cluster_name: "rpc" } },
              {
                match: { headers: [{ name: "service", value: STUCK_SIG }] },
                route: { cluster_name: "stuck" },
              },
            ],
          }],
        },
      ],
      listeners: [
        { name: "http", address: "127.0.0.1:0", max_connections: 3000, filter_chains: [proxy("Http1")] },
        { name: "limited", address: "127.0.0.1:0", max_connections: 20, filter_chains: [proxy("Http1")] },
        {
          name: "rpc",
          address: "127.0.0.1:0",
          per_conn_buffer_limit_bytes: 16 * 1024,
          filter_chains: [proxy("bolt", { max_concurrent_streams: 64 })],
        },
        {
          name: "tcp",
          address: "127.0.0.1:0",
          filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "tcp" } }] }],
        },
        {
          name: "tcp_hole",
          address: "127.0.0.1:0",
          filter_chains: [{ filters: [{ type: "tcp_proxy", config: { cluster: "hole" } }] }],
        },
      ],
    }],
    cluster_manager: {
      clusters: [
        { name: "origin", hosts: [{ address: origin.address }] },
        { name: "slow", hosts: [{ address: slowOrigin.address }] },
        { name: "rpc", hosts: [{ address: provider.address }] },
        { name: "tcp", hosts: [{ address: echo.address }], circuit_breakers: [{ max_connections: 3 }] },
        { name: "stuck", hosts: [{ address: stuck.address }] },
        { name: "hole", hosts: [{ address: `127.0.0.1:${hole.port}` }], connect_timeout: "300ms" },
      ],
    },
  });
  const pid = mesh.process.pid;
  let peakRss = rssMiB(pid);
  const sampler = setInterval(() => peakRss = Math.max(peakRss, rssMiB(pid)), 50);
  const http = mesh.port("http");
  const rpc = mesh.port("rpc");
  const load = goodLoad(http, rpc);
  const stats = () => adminStats(mesh.adminPort);
  const down = (name: string) => `listener.${name}`;
  try {
    await t.step(
      "slowloris: 1000 partial heads trickling a byte every 300 ms are closed by the header timeout",
      async () => {
        const conns = await Promise.all(
          Array.from({ length: 1000 }, () => Deno.connect({ hostname: "127.0.0.1", port: http })),
        );
        const t0 = Date.now();
        const trickle = setInterval(() => {
          for (const c of conns) c.write(enc.encode("a")).catch(() => {});
        }, 300);
        try {
          for (const c of conns) await c.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
          const outcomes = await Promise.all(conns.map((c) => untilClosed(c, HARNESS_BOUND_MS)));
          const took = Date.now() - t0;
          const answered408 = outcomes.filter((o) => o.text.startsWith("HTTP/1.1 408")).length;
          assertEquals(answered408, 1000, `${answered408} of 1000 got a 408`);
          assert(took < 1000 + LOAD_SLACK_MS, `closing them took ${took} ms`); // request_headers_timeout 1s
        } finally {
          clearInterval(trickle);
        }
        const s = await stats();
        assert(counter(s, "downstream", down("http"), "request_header_timeout_total") >= 1000);
      },
    );

    await t.step("connection flood: a listener's max_connections closes the excess at once", async () => {
      const conns = await Promise.all(
        Array.from({ length: 60 }, () => Deno.connect({ hostname: "127.0.0.1", port: mesh.port("limited") })),
      );
      assert(
        await eventually(
          async () =>
            counter(await stats(), "downstream", down("limited"), "connection_overflow_total") >= 40,
          HARNESS_BOUND_MS,
        ),
      );
      for (const c of conns) c.close();
    });

    await t.step(
      "memory: 100 bolt peers claiming 15 MiB frames hold only what they sent, and time out",
      async () => {
        const header = requestHeader(15 * 1024 * 1024); // 15 MiB of content claimed (the frame limit is 16)
        const conns = await Promise.all(Array.from({ length: 100 }, () => connectLocal(rpc)));
        for (const c of conns) await writeAll(c, header);
        const s = await stats();
        const held = counter(s, "meta", "limits.process", "buffered_bytes");
        assert(held <= 100 * 4096, `${held} bytes held for 100 × 22 bytes received`);
        const outcomes = await Promise.all(conns.map((c) => untilClosed(c, HARNESS_BOUND_MS)));
        assert(outcomes.every((o) => o.closed), "every silent peer was closed by the header timeout");
      },
    );

    await t.step(
      "budget: partial frames past limits.max_buffered_bytes fail their own connections only",
      async () => {
        const header = requestHeader(4 * 1024 * 1024);
        const conns = await Promise.all(Array.from({ length: 6 }, () => connectLocal(rpc)));
        // 6 × 2 MiB of 4 MiB frames: more than the 8 MiB budget.
        await Promise.all(conns.map(async (c) => {
          await writeAll(c, header);
          await writeAll(c, new Uint8Array(2 * 1024 * 1024)).catch(() => {});
        }));
        assert(
          await eventually(
            async () =>
              counter(await stats(), "downstream", down("rpc"), "buffer_budget_exhausted_total") >= 1,
            HARNESS_BOUND_MS,
          ),
        );
        for (const c of conns) c.close();
        // The next steps need the budget back: wait until meshctl has seen these closes and released what
        // they held (under load it had not yet, and the stream flood's connection met the spent budget).
        assert(
          await eventually(
            async () => counter(await stats(), "meta", "limits.process", "buffered_bytes") <= 1024 * 1024,
            HARNESS_BOUND_MS,
          ),
          "the budget is released once the offenders are gone",
        );
      },
    );

    await t.step(
      "stream flood: 300 calls on one connection beyond max_concurrent_streams get THREADPOOL_BUSY",
      async () => {
        const conn = await connectLocal(rpc);
        try {
          const frames = await Promise.all(Array.from({ length: 300 }, (_, i) => call(i + 1, "slow")));
          for (const f of frames) await writeAll(conn, f);
          const reader = new FrameReader(conn);
          const statuses: number[] = [];
          while (statuses.length < 300) {
            const f = await reader.next(HARNESS_BOUND_MS);
            if (f === null || f === "timeout") {
              const s = await stats();
              assert(
                false,
                `${statuses.length} answers, then ${f}; rpc: ${
                  JSON.stringify(s.downstream?.[down("rpc")])
                }, ${JSON.stringify(s.meta?.["limits.process"])}`,
              );
            }
            statuses.push(responseStatus(f));
          }
          const busy = statuses.filter((s) => s === 4).length;
          assert(busy >= 300 - 64, `${busy} refused`);
          assertEquals(statuses.filter((s) => s === 0).length, 300 - busy);
        } finally {
          conn.close();
        }
        assert(counter(await stats(), "downstream", down("rpc"), "stream_refused_total") >= 236);
      },
    );

    await t.step("slow reader: a bolt client that never reads its 256 KiB answers is cut off", async () => {
      const conn = await connectLocal(rpc);
      const frames = await Promise.all(Array.from({ length: 60 }, (_, i) => call(i + 1, "big")));
      for (const f of frames) await writeAll(conn, f);
      assert(
        await eventually(
          async () => counter(await stats(), "downstream", down("rpc"), "write_buffer_overflow_total") >= 1,
          HARNESS_BOUND_MS,
        ),
        "the connection's write queue hit its hard limit",
      );
      const { closed } = await untilClosed(conn, HARNESS_BOUND_MS);
      assert(closed);
    });

    await t.step(
      "stalled body: a request body that never comes after a 504 is closed by the stream idle timeout",
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: http });
        await writeAll(
          conn,
          enc.encode("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial"),
        );
        const t0 = Date.now();
        const { text } = await untilClosed(conn, HARNESS_BOUND_MS);
        assertMatch(text, /^HTTP\/1\.1 504/);
        const took = Date.now() - t0;
        assert(took < 1300 + LOAD_SLACK_MS, `closed after ${took} ms`); // route timeout + stream_idle_timeout
        assert(counter(await stats(), "downstream", down("http"), "stream_idle_timeout_total") >= 1);
      },
    );

    await t.step(
      "regex DoS: paths and headers that make backtracking exponential are matched in linear time",
      async () => {
        for (const n of [35, 64, 4000]) {
          const t0 = Date.now();
          const path = `/evil/${"a".repeat(n)}b`;
          const res = await rawExchange(http, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
          assertMatch(res, /^HTTP\/1\.1 200/); // not the regex route: the origin's "ok"
          assert(res.endsWith("ok"), res.slice(-40));
          // exponential backtracking would take hours on these
          assert(Date.now() - t0 < LOAD_SLACK_MS, `a ${path.length}-byte path took ${Date.now() - t0} ms`);
        }
        const t0 = Date.now();
        const res = await rawExchange(
          http,
          `GET /hdr HTTP/1.1\r\nHost: x\r\nX-Probe: ${"x".repeat(40)}\r\nConnection: close\r\n\r\n`,
        );
        assertMatch(res, /^HTTP\/1\.1 200/);
        assert(Date.now() - t0 < LOAD_SLACK_MS, `the header took ${Date.now() - t0} ms`);
      },
    );

    await t.step("smuggling and garbage: rejected with 400/431 and closed", async () => {
      const cases: [string, RegExp][] = [
        [
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          /^HTTP\/1\.1 400/,
        ],
        [
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
          /^HTTP\/1\.1 400/,
        ],
        ["GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", /^HTTP\/1\.1 400/],
        [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`, /^HTTP\/1\.1 431/],
        ["\x00\x01garbage\r\n\r\n", /^HTTP\/1\.1 400/],
      ];
      for (const [req, want] of cases) assertMatch(await rawExchange(http, req), want);
      const bolt = await connectLocal(rpc);
      await writeAll(
        bolt,
        new Uint8Array([1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]),
      );
      assert((await untilClosed(bolt, HARNESS_BOUND_MS)).closed);
    });

    await t.step("slow upstream: meshctl stops reading a client whose upstream does not read", async () => {
      const conn = await connectLocal(rpc);
      const frame = await encodeRequestFrame({
        id: 1,
        service: STUCK_SIG,
        method: "plus",
        args: [str("x".repeat(128 * 1024))],
        timeout: 0,
      });
      let written = 0;
      const total = 400 * frame.length; // ~51 MiB
      const writer = (async () => {
        for (let i = 0; i < 400; i++) {
          new DataView(frame.buffer).setUint32(5, i + 1);
          await writeAll(conn, frame);
          written += frame.length;
        }
      })().catch(() => {});
      await new Promise((r) => setTimeout(r, 3000));
      assert(written < total / 2, `the client wrote ${written} of ${total} bytes: meshctl kept reading`);
      const s = await stats();
      assertEquals(
        counter(s, "upstream", "cluster.stuck", "connection_buffer_overflow"),
        0,
        "paused, not overflowed",
      );
      conn.close();
      await writer;
    });

    await t.step(
      "tcp_proxy gives up on an upstream that never completes the handshake (connect_timeout)",
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: mesh.port("tcp_hole") });
        const t0 = Date.now();
        const { text } = await untilClosed(conn, HARNESS_BOUND_MS);
        const took = Date.now() - t0;
        assertEquals(text, "");
        assert(took >= 250 && took < 300 + LOAD_SLACK_MS, `closed after ${took} ms`); // connect_timeout 300ms
        assert(counter(await stats(), "upstream", "cluster.hole", "connection_con_fail") >= 1);
      },
    );

    await t.step("tcp_proxy honours the cluster's max_connections", async () => {
      const conns = await Promise.all(
        Array.from({ length: 6 }, () => Deno.connect({ hostname: "127.0.0.1", port: mesh.port("tcp") })),
      );
      assert(
        await eventually(
          async () => counter(await stats(), "upstream", "cluster.tcp", "connection_overflow") >= 3,
          HARNESS_BOUND_MS,
        ),
      );
      assert(await eventually(() => echo.connections <= 3, HARNESS_BOUND_MS));
      for (const c of conns) c.close();
    });
  } finally {
    const result = await load.stop();
    clearInterval(sampler);
    const code = await mesh.stop();
    unstick();
    await Promise.all([origin.close(), slowOrigin.close(), provider.stop(), echo.stop(), stuck.stop()]);
    hole.close();
    assertEquals(code, 0, mesh.logs());
    assertEquals(result.failed, [], "every good request succeeded");
    assert(result.ok > 50, `only ${result.ok} good requests went through`);
    assert(peakRss < RSS_BOUND_MIB, `meshctl peaked at ${peakRss.toFixed(0)} MiB`);
  }
});
