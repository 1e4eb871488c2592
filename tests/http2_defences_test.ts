/**
 * HTTP/2 defences through the real meshctl: each attack is sent as raw frames on its own connection while
 * good streams run on another, and must end with the offending connection closed (GOAWAY with the code the
 * RFC or the CVE write-ups name) or the offending stream refused, counted in the codec stats, with the good
 * streams unaffected.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, httpProxyConfig, type Meshctl, startMeshctl } from "./_e2e.ts";
import { connectH2 } from "./_peers/h2_client.ts";
import { startDualOrigin } from "./_peers/h2_origin.ts";
import {
  continuationFrame,
  dataFrame,
  ErrorCode,
  FrameType,
  H2RawClient,
  headersFrame,
  pingFrame,
  priorityFrame,
  requestBlock,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "./_peers/h2_raw.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Short timeouts so the idle and stall cases finish quickly; the other cases finish well within them. */
const IDLE_TIMEOUT_MS = 1500;
const STREAM_IDLE_TIMEOUT_MS = 1000;
const MAX_CONCURRENT_STREAMS = 20;

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `n` copies of `frame` in one buffer (one write: the attack arrives as fast as TCP carries it). */
function repeat(frame: Uint8Array, n: number): Uint8Array {
  return concat(Array.from({ length: n }, () => frame));
}

/**
 * Runs `attack` while a well-behaved client makes requests on its own connection, then checks that every
 * good request succeeded, during and after the attack.
 */
async function whileGoodStreamsRun(port: number, attack: () => Promise<void>): Promise<void> {
  const good = await connectH2(port);
  let stop = false;
  let ok = 0;
  const errors: string[] = [];
  const loop = (async () => {
    while (!stop && ok + errors.length < 2000) {
      try {
        const r = await good.request({ path: `/good?n=${ok}` });
        if (r.status === 200) ok++;
        else errors.push(`status ${r.status}`);
      } catch (e) {
        errors.push(String(e));
      }
    }
  })();
  try {
    await attack();
  } finally {
    stop = true;
    await loop;
  }
  try {
    const after = await good.request({ path: "/good?after" });
    assertEquals(after.status, 200, "a good request after the attack");
  } finally {
    await good.close();
  }
  assertEquals(errors, [], "good requests failed during the attack");
  assert(ok > 0, "no good request completed during the attack");
}

async function codecStats(mesh: Meshctl): Promise<Record<string, number>> {
  return (await adminStats(mesh.adminPort)).codec?.["listener.ingress"] ?? {};
}

Deno.test("HTTP/2 defences hold while good streams run", opts, async (t) => {
  const origin = startDualOrigin({ name: "origin" });
  const mesh = await startMeshctl(
    httpProxyConfig({
      hosts: [origin.address],
      proxy: {
        downstream_protocol: "Http2",
        upstream_protocol: "Http1",
        max_concurrent_streams: MAX_CONCURRENT_STREAMS,
        stream_idle_timeout: `${STREAM_IDLE_TIMEOUT_MS}ms`,
      },
      listener: { connection_idle_timeout: `${IDLE_TIMEOUT_MS}ms` },
    }),
    // Two workers: the good streams' connection may land on the other one, so the stalled stream's
    // worker has nothing else to do — which is what exposed a lost stream-idle re-arm (DeadlineQueue).
    { args: ["--concurrency", "2"] },
  );
  const port = mesh.port("ingress");
  const floods = async () => (await codecStats(mesh)).http2_flood_total ?? 0;
  try {
    await t.step(
      "rapid reset (CVE-2023-44487): streams opened and reset past the budget → GOAWAY ENHANCE_YOUR_CALM",
      async () => {
        const before = await floods();
        const requestsBefore = origin.requests;
        await whileGoodStreamsRun(port, async () => {
          const raw = await H2RawClient.connect(port);
          try {
            const pairs: Uint8Array[] = [];
            for (let id = 1; id < 2 * 2000; id += 2) {
              pairs.push(
                headersFrame(id, requestBlock({ path: "/reset-me", authority: "a" }), { endStream: true }),
              );
              pairs.push(rstStreamFrame(id, ErrorCode.CANCEL));
            }
            await raw.send(concat(pairs)).catch(() => {}); // meshctl may close before it read them all
            await raw.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
            await raw.expectClosed();
          } finally {
            await raw.close();
          }
        });
        assertEquals(await floods(), before + 1);
        // The budget (FLOOD_LIMITS.resetsPerSecond = 200) bounds the work 2000 reset streams caused.
        assert(
          origin.requests - requestsBefore < 2000 / 4,
          `${origin.requests - requestsBefore} reached the origin`,
        );
      },
    );

    await t.step(
      "CONTINUATION flood (CVE-2024-27316): a header block that never ends → GOAWAY ENHANCE_YOUR_CALM",
      async () => {
        await whileGoodStreamsRun(port, async () => {
          const raw = await H2RawClient.connect(port);
          try {
            const junk = new Uint8Array(16000).fill(0x41); // never decoded: the block is capped first
            const frames = [headersFrame(1, requestBlock({ authority: "a" }), { endHeaders: false })];
            for (let i = 0; i < 200; i++) frames.push(continuationFrame(1, junk, { endHeaders: false }));
            await raw.send(concat(frames)).catch(() => {});
            await raw.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
            await raw.expectClosed();
          } finally {
            await raw.close();
          }
        });
      },
    );

    await t.step("CONTINUATION flood of tiny frames → GOAWAY ENHANCE_YOUR_CALM", async () => {
      await whileGoodStreamsRun(port, async () => {
        const raw = await H2RawClient.connect(port);
        try {
          const frames = [headersFrame(1, requestBlock({ authority: "a" }), { endHeaders: false })];
          for (let i = 0; i < 10_000; i++) {
            frames.push(continuationFrame(1, new Uint8Array(0), { endHeaders: false }));
          }
          await raw.send(concat(frames)).catch(() => {});
          await raw.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
        } finally {
          await raw.close();
        }
      });
    });

    for (
      const [name, flood] of [
        ["PING", repeat(pingFrame(), 5000)],
        ["SETTINGS", repeat(settingsFrame([[Setting.MAX_CONCURRENT_STREAMS, 100]]), 5000)],
        ["PRIORITY", repeat(priorityFrame(3, { dependsOn: 0, weight: 16 }), 5000)],
      ] as const
    ) {
      await t.step(`${name} flood → GOAWAY ENHANCE_YOUR_CALM`, async () => {
        const before = await floods();
        await whileGoodStreamsRun(port, async () => {
          const raw = await H2RawClient.connect(port);
          try {
            await raw.send(flood).catch(() => {});
            await raw.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
            await raw.expectClosed();
          } finally {
            await raw.close();
          }
        });
        assertEquals(await floods(), before + 1);
      });
    }

    await t.step("empty DATA flood on an open stream → GOAWAY ENHANCE_YOUR_CALM", async () => {
      await whileGoodStreamsRun(port, async () => {
        const raw = await H2RawClient.connect(port);
        try {
          const open = headersFrame(1, requestBlock({ method: "POST", path: "/echo-body", authority: "a" }));
          await raw.send(open, repeat(dataFrame(1, new Uint8Array(0)), 1000)).catch(() => {});
          await raw.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
        } finally {
          await raw.close();
        }
      });
    });

    await t.step("WINDOW_UPDATE flood with nothing sent → GOAWAY ENHANCE_YOUR_CALM", async () => {
      await whileGoodStreamsRun(port, async () => {
        const raw = await H2RawClient.connect(port);
        try {
          const open = headersFrame(1, requestBlock({ method: "POST", path: "/echo-body", authority: "a" }));
          await raw.send(open, repeat(windowUpdateFrame(1, 1), 5000)).catch(() => {});
          await raw.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
        } finally {
          await raw.close();
        }
      });
    });

    await t.step(
      "HPACK bomb: one big table entry referenced thousands of times → 431 on that stream only",
      async () => {
        await whileGoodStreamsRun(port, async () => {
          const raw = await H2RawClient.connect(port, { settings: [[Setting.HEADER_TABLE_SIZE, 0]] });
          try {
            // Literal with incremental indexing, new name "x-bomb", a 4000-octet value (index 62 after it)…
            const value = new Uint8Array(4000).fill(0x62);
            const entry = concat([
              Uint8Array.of(0x40, 6),
              new TextEncoder().encode("x-bomb"),
              Uint8Array.of(0x7f, 0x80 | ((4000 - 127) & 0x7f), (4000 - 127) >> 7), // 4000, 7-bit prefix
              value,
            ]);
            // …then 20,000 one-octet references to it: 80 MB if decoded, against a 64 KiB list limit.
            const refs = new Uint8Array(20_000).fill(0x80 | 62);
            const block = concat([requestBlock({ authority: "a" }), entry, refs]);
            const frames: Uint8Array[] = [];
            for (let o = 0; o < block.length; o += 16384) {
              const part = block.subarray(o, o + 16384);
              const last = o + 16384 >= block.length;
              frames.push(
                o === 0
                  ? headersFrame(1, part, { endStream: true, endHeaders: last })
                  : continuationFrame(1, part, { endHeaders: last }),
              );
            }
            await raw.send(...frames);
            const refused = await raw.expectResponse(1);
            assertEquals(refused.status, 431);
            // The table stayed in sync: the next request on this connection is served.
            await raw.get(3, "/after-bomb", "a");
            assertEquals((await raw.expectResponse(3)).status, 200);
          } finally {
            await raw.close();
          }
        });
        assert(((await codecStats(mesh)).http2_header_list_overflow_total ?? 0) >= 1);
      },
    );

    await t.step(
      `max_concurrent_streams (${MAX_CONCURRENT_STREAMS}): streams past it are refused, the rest served`,
      async () => {
        await whileGoodStreamsRun(port, async () => {
          const raw = await H2RawClient.connect(port);
          try {
            const n = MAX_CONCURRENT_STREAMS + 5;
            const frames: Uint8Array[] = [];
            for (let i = 0; i < n; i++) {
              frames.push(
                headersFrame(2 * i + 1, requestBlock({ path: "/delay?ms=300", authority: "a" }), {
                  endStream: true,
                }),
              );
            }
            await raw.send(...frames);
            for (let i = MAX_CONCURRENT_STREAMS; i < n; i++) {
              await raw.expectRstStream(2 * i + 1, ErrorCode.REFUSED_STREAM);
            }
            for (let i = 0; i < MAX_CONCURRENT_STREAMS; i++) {
              assertEquals((await raw.expectResponse(2 * i + 1)).status, 200, `stream ${2 * i + 1}`);
            }
          } finally {
            await raw.close();
          }
        });
        assert(((await codecStats(mesh)).http2_refused_streams_total ?? 0) >= 5);
      },
    );

    await t.step(
      "window-zero stall: a client that never opens its window is reset after stream_idle_timeout",
      async () => {
        await whileGoodStreamsRun(port, async () => {
          const raw = await H2RawClient.connect(port, {
            settings: [[Setting.HEADER_TABLE_SIZE, 0], [Setting.INITIAL_WINDOW_SIZE, 0]],
          });
          try {
            await raw.get(1, `/large?bytes=${8 << 20}`, "a");
            const head = await raw.nextFrame(
              (f) => f.type === FrameType.HEADERS && f.streamId === 1,
              "response head",
            );
            assert(head !== undefined);
            // Not a byte of body can move; meshctl gives up after the stream idle timeout, not never.
            await raw.expectRstStream(1, undefined, STREAM_IDLE_TIMEOUT_MS * 4);
            // The connection itself stays usable.
            await raw.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 65535]]));
            await raw.get(3, "/after-stall", "a");
            assertEquals((await raw.expectResponse(3)).status, 200);
          } finally {
            await raw.close();
          }
        });
      },
    );

    await t.step(
      "an idle connection that only PINGs is closed with GOAWAY NO_ERROR after connection_idle_timeout",
      async () => {
        const raw = await H2RawClient.connect(port);
        try {
          const started = Date.now();
          const pinging = setInterval(() => raw.send(pingFrame()).catch(() => {}), 100);
          try {
            await raw.expectGoaway(ErrorCode.NO_ERROR, IDLE_TIMEOUT_MS * 4);
            await raw.expectClosed();
          } finally {
            clearInterval(pinging);
          }
          assert(Date.now() - started >= IDLE_TIMEOUT_MS * 0.7, "closed before the idle timeout");
        } finally {
          await raw.close();
        }
      },
    );
  } finally {
    const code = await mesh.stop();
    await origin.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
  }
});
