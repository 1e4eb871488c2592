/**
 * HTTP/2 through the real meshctl, with real peers on both sides: h2c clients (node:http2, curl, nghttp,
 * h2load) and origins (a strict node:http2 server, Deno.serve speaking h2c and HTTP/1.1), converted h2 ↔ h1
 * both ways by the proxy filter's `upstream_protocol`, as MOSN does.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, curl, httpProxyConfig, type Meshctl, rawExchange, startMeshctl } from "./_e2e.ts";
import { connectH2, curlH2, h2load, type H2Response, nghttp } from "./_peers/h2_client.ts";
import { dataFrame, ErrorCode, H2RawClient, headersFrame, requestBlock } from "./_peers/h2_raw.ts";
import {
  type EchoedRequest,
  patternBytes,
  patternMismatch,
  startDualOrigin,
  startH2Origin,
} from "./_peers/h2_origin.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and sessions outlive steps

/** Runs `fn` against a meshctl routing everything to `hosts`, and checks it exits cleanly. */
async function withMesh(
  config: Parameters<typeof httpProxyConfig>[0],
  fn: (port: number, mesh: Meshctl) => Promise<void>,
): Promise<void> {
  const mesh = await startMeshctl(httpProxyConfig(config));
  try {
    await fn(mesh.port("ingress"), mesh);
  } finally {
    const code = await mesh.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
  }
}

const H2_TO_H1 = { downstream_protocol: "Http2", upstream_protocol: "Http1" };
const H1_TO_H2 = { downstream_protocol: "Http1", upstream_protocol: "Http2" };
const H2_TO_H2 = { downstream_protocol: "Http2", upstream_protocol: "Http2" };

/** Header fields HTTP/2 forbids (RFC 9113 §8.2.2) and HTTP/1 treats as hop-by-hop. */
const CONNECTION_SPECIFIC = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

Deno.test(
  "h2c client → meshctl → HTTP/1.1 origin: :authority becomes Host, bodies both ways byte for byte",
  opts,
  async () => {
    const origin = startDualOrigin({ name: "h1" });
    try {
      await withMesh({ hosts: [origin.address], proxy: H2_TO_H1 }, async (port, mesh) => {
        const s = await connectH2(port);
        try {
          const get = await s.request({
            path: "/q?a=1&b=%20x",
            authority: "app.example:8080",
            headers: { "x-custom": "v" },
          });
          assertEquals(get.status, 200);
          const echo = get.json<EchoedRequest>();
          assertEquals(echo.method, "GET");
          assertEquals(echo.path, "/q?a=1&b=%20x");
          // Deno.serve shows the HTTP/1.1 Host in `headers` (only HTTP/1.1 requests carry one).
          assertEquals(echo.headers["host"], "app.example:8080");
          assertEquals(echo.headers["x-custom"], "v");
          assertEquals(echo.headers["x-forwarded-proto"], "http");
          for (const h of CONNECTION_SPECIFIC) {
            assertEquals(echo.headers[h], undefined, `${h} reached the origin`);
          }

          // 1 MiB up in 16 KiB writes (no content-length: chunked to the origin), streamed back.
          const up = patternBytes(0, 1 << 20);
          const chunks: Uint8Array[] = [];
          for (let o = 0; o < up.length; o += 16384) {
            chunks.push(up.subarray(o, o + 16384));
          }
          const echoed = await s.request({
            method: "POST",
            path: "/echo-body",
            body: chunks,
            timeoutMs: 15_000,
          });
          assertEquals(echoed.status, 200);
          assertEquals(echoed.body.length, up.length);
          assertEquals(patternMismatch(echoed.body), -1, "the body came back changed");

          // 3 MiB down: several stream windows' worth, paced by flow control end to end.
          const big = await s.request({ path: "/large?bytes=3145728&chunk=65536", timeoutMs: 15_000 });
          assertEquals(big.status, 200);
          assertEquals(big.body.length, 3 << 20);
          assertEquals(patternMismatch(big.body), -1);
        } finally {
          await s.close();
        }
        const codec = (await adminStats(mesh.adminPort)).codec?.["listener.ingress"];
        assert(codec !== undefined, "no codec stats for the listener");
        assertEquals(codec.http2_streams_total, 3);
        assertEquals(codec.http2_streams_active, 0);
      });
    } finally {
      await origin.stop();
    }
  },
);

Deno.test(
  "HTTP/1.1 client → meshctl → h2c origin: Host becomes :authority, hop-by-hop headers stay behind",
  opts,
  async () => {
    const origin = await startH2Origin({ name: "h2" });
    try {
      await withMesh({ hosts: [origin.address], proxy: H1_TO_H2 }, async (port) => {
        const r = await curl([
          "-H",
          "Host: svc.example",
          "-H",
          "Connection: keep-alive, x-hop",
          "-H",
          "X-Hop: must-not-pass",
          "-H",
          "Keep-Alive: timeout=5",
          "-H",
          "TE: trailers",
          "-H",
          "Transfer-Encoding: chunked",
          "--data-binary",
          "hello over chunked",
          `http://127.0.0.1:${port}/path?x=y`,
        ]);
        assertEquals(r.code, 0, r.stderr);
        const echo = JSON.parse(r.stdout) as EchoedRequest;
        assertEquals(echo.protocol, "HTTP/2");
        assertEquals(echo.method, "POST");
        assertEquals(echo.path, "/path?x=y");
        assertEquals(echo.scheme, "http");
        assertEquals(echo.authority, "svc.example");
        assertEquals(echo.bodyBytes, "hello over chunked".length);
        const names = echo.rawHeaders!.map(([n]) => n);
        assertEquals(names.filter((n) => n === "host"), [], "a host field next to :authority");
        for (const h of [...CONNECTION_SPECIFIC, "x-hop"]) {
          assert(!names.includes(h), `${h} reached the origin`);
        }
        assertEquals(echo.headers["te"], "trailers");
      });
    } finally {
      await origin.stop();
    }
  },
);

Deno.test(
  "h2 → h2: request and response trailers, 103 Early Hints and 100-continue pass through",
  opts,
  async () => {
    const origin = await startH2Origin({ name: "h2" });
    try {
      await withMesh({ hosts: [origin.address], proxy: H2_TO_H2 }, async (port) => {
        const s = await connectH2(port);
        try {
          const t = await s.request({
            method: "POST",
            path: "/trailers?grpc-status=0&x-checksum=abc",
            headers: { "content-type": "application/grpc", te: "trailers" },
            body: "payload",
            trailers: { "x-request-trailer": "sent" },
          });
          assertEquals(t.status, 200);
          assertEquals(t.trailers, { "grpc-status": "0", "x-checksum": "abc" });
          assertEquals(t.json<EchoedRequest>().trailers, { "x-request-trailer": "sent" });

          const hints = await s.request({ path: "/early-hints" });
          assertEquals(hints.status, 200);
          assertEquals(hints.informational.map((i) => i.status), [103]);
          assertEquals(hints.informational[0]!.headers["link"], "</style.css>; rel=preload");

          const cont = await s.request({
            method: "PUT",
            path: "/up",
            body: "after the 100",
            expectContinue: true,
          });
          assertEquals(cont.status, 200);
          assertEquals(cont.json<EchoedRequest>().bodyBytes, "after the 100".length);
          assert(cont.informational.some((i) => i.status === 100), "no 100 Continue reached the client");
        } finally {
          await s.close();
        }
      });
    } finally {
      await origin.stop();
    }
  },
);

Deno.test("h2 response trailers reach an HTTP/1.1 client as chunked trailers", opts, async () => {
  const origin = await startH2Origin({ name: "h2" });
  try {
    await withMesh({ hosts: [origin.address], proxy: H1_TO_H2 }, async (port) => {
      const text = await rawExchange(
        port,
        "GET /trailers?x-checksum=abc HTTP/1.1\r\nHost: h\r\nTE: trailers\r\nConnection: close\r\n\r\n",
      );
      assertMatch(text, /^HTTP\/1\.1 200 /);
      assertMatch(text, /\r\ntransfer-encoding: chunked\r\n/i);
      assertMatch(text, /\r\n0\r\nx-checksum: abc\r\n\r\n$/);
    });
  } finally {
    await origin.stop();
  }
});

Deno.test(
  "upstream SETTINGS_MAX_CONCURRENT_STREAMS is honoured: requests past it wait, or go to new connections within max_connections",
  opts,
  async () => {
    const origin = await startH2Origin({ name: "capped", settings: { maxConcurrentStreams: 5 } });
    try {
      for (const maxConnections of [1, 0]) {
        const before = origin.sessions;
        const cluster = maxConnections === 0
          ? {}
          : { circuit_breakers: [{ max_connections: maxConnections }] };
        await withMesh({ hosts: [origin.address], proxy: H2_TO_H2, cluster }, async (port, mesh) => {
          const s = await connectH2(port);
          try {
            const results = await s.requestMany(
              100,
              (i) => ({ path: `/delay?ms=5&i=${i}`, timeoutMs: 20_000 }),
            );
            assertEquals(results.filter((r) => r instanceof Error).map(String), []);
            const bad = (results as H2Response[]).filter((r) => r.status !== 200);
            assertEquals(bad.map((r) => `${r.status} ${r.text()}`), []);
          } finally {
            await s.close();
          }
          const sessions = origin.sessions - before;
          if (maxConnections === 1) assertEquals(sessions, 1, "more connections than max_connections");
          // 100 streams, 5 at a time per connection: up to 20 connections, and more than one.
          else assert(sessions > 1 && sessions <= 20, `${sessions} connections for 100 streams at 5 each`);
          const codec = (await adminStats(mesh.adminPort)).codec?.["cluster.origin"] ?? {};
          // Had meshctl opened a sixth stream on a connection, node would have refused it.
          assertEquals(codec.http2_rst_received_refused_stream ?? 0, 0, "the origin refused streams");
        });
      }
      assertEquals(origin.requests, 200);
    } finally {
      await origin.stop();
    }
  },
);

Deno.test(
  "upstream GOAWAY: the connection is replaced, nothing is lost and nothing runs twice",
  opts,
  async () => {
    const origin = await startH2Origin({ name: "goaway" });
    try {
      await withMesh({ hosts: [origin.address], proxy: H2_TO_H2 }, async (port) => {
        const s = await connectH2(port);
        try {
          const first = await s.request({ path: "/goaway" });
          assertEquals(first.status, 200);
          await origin.until(() => origin.openSessions === 0, "the origin to close its session");
          const more = await s.requestMany(20, (i) => ({ path: `/after?i=${i}` }));
          assertEquals(more.filter((r) => r instanceof Error).map(String), []);
        } finally {
          await s.close();
        }
        assertEquals(origin.requests, 21, "a request reached the origin twice (or never)");
        assertEquals(origin.sessions, 2);
      });
    } finally {
      await origin.stop();
    }
  },
);

Deno.test("an upstream REFUSED_STREAM is resent once, other resets are not", opts, async () => {
  const origin = await startH2Origin({ name: "refusing" });
  try {
    await withMesh({ hosts: [origin.address], proxy: H2_TO_H2 }, async (port) => {
      const s = await connectH2(port);
      try {
        // REFUSED_STREAM (7): the origin processed nothing, so meshctl may send it again (and gets 7 again).
        const refused = await s.request({ path: "/reset?code=7" });
        assertEquals(refused.status, 502);
        assertEquals(origin.requestsTo("/reset"), 2, "a refused stream was not resent exactly once");
        const internal = await s.request({ path: "/reset?code=2" });
        assertEquals(internal.status, 502);
        assertEquals(
          origin.requestsTo("/reset"),
          3,
          "a stream the origin reset with INTERNAL_ERROR was resent",
        );
      } finally {
        await s.close();
      }
    });
  } finally {
    await origin.stop();
  }
});

Deno.test("drain on SIGTERM: the two-step GOAWAY, and the stream in flight finishes", opts, async () => {
  const origin = startDualOrigin({ name: "slow" });
  const mesh = await startMeshctl(httpProxyConfig({ hosts: [origin.address], proxy: H2_TO_H1 }));
  try {
    const s = await connectH2(mesh.port("ingress"));
    const inFlight = s.request({ path: "/delay?ms=400", timeoutMs: 10_000 });
    await origin.until(() => origin.requests === 1, "the request to reach the origin");
    const stopped = mesh.stop();
    const r = await inFlight;
    assertEquals(r.status, 200);
    await s.waitClosed(5000);
    assertEquals(await stopped, 0, mesh.logs());
    assertEquals(s.goaways.map((g) => [g.code, g.lastStreamId]), [[0, 0x7fffffff], [0, 1]]);
  } finally {
    await mesh.stop().catch(() => {});
    await origin.stop();
  }
});

Deno.test("an Auto listener serves HTTP/1.1 and h2c prior knowledge on one port", opts, async () => {
  const origin = startDualOrigin({ name: "dual" });
  try {
    await withMesh(
      { hosts: [origin.address], proxy: { downstream_protocol: "Auto", upstream_protocol: "Http1" } },
      async (port) => {
        const h1 = await curl([
          "-o",
          "/dev/null",
          "-w",
          "%{http_version} %{http_code}",
          `http://127.0.0.1:${port}/`,
        ]);
        assertEquals(h1.stdout, "1.1 200");
        const h2 = await curlH2(`http://127.0.0.1:${port}/`);
        assertEquals([h2.httpVersion, h2.status], ["2", 200]);
      },
    );
  } finally {
    await origin.stop();
  }
});

Deno.test("nghttp: many streams on one connection, each answered on its own stream", opts, async () => {
  const origin = startDualOrigin({ name: "dual" });
  try {
    await withMesh({ hosts: [origin.address], proxy: H2_TO_H1 }, async (port) => {
      const urls = Array.from({ length: 8 }, (_, i) => `http://127.0.0.1:${port}/n${i}`);
      const r = await nghttp(urls, { multiply: 4 });
      assertEquals(r.statuses.length, 32);
      assert(r.statuses.every((s) => s === 200), `statuses: ${r.statuses}`);
      const ids = new Set(
        r.frames.filter((f) => f.direction === "recv" && f.type === "HEADERS").map((f) => f.streamId),
      );
      assertEquals(ids.size, 32, "responses did not come on 32 distinct streams");
    });
  } finally {
    await origin.stop();
  }
});

Deno.test(
  "h2load through meshctl (10 connections × 5 streams, bounded): every request succeeds",
  opts,
  async () => {
    const origin = startDualOrigin({ name: "dual" });
    try {
      await withMesh({ hosts: [origin.address], proxy: H2_TO_H1 }, async (port) => {
        const r = await h2load(`http://127.0.0.1:${port}/`, {
          requests: 5000,
          clients: 10,
          streams: 5,
          timeoutMs: 30_000,
        });
        const s = r.summary;
        assert(s !== undefined, "no h2load summary");
        assertEquals([s.done, s.succeeded, s.failed, s.errored, s.status["2xx"]], [5000, 5000, 0, 0, 5000]);
      });
    } finally {
      await origin.stop();
    }
  },
);

Deno.test(
  "a request answered before its body ended is over: the dropped body never trips stream_idle_timeout",
  opts,
  async () => {
    const mesh = await startMeshctl(httpProxyConfig({
      hosts: [],
      routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: "early" } }],
      proxy: { downstream_protocol: "Http2", stream_idle_timeout: "200ms" },
      cluster: { hosts: [] },
    }));
    try {
      const raw = await H2RawClient.connect(mesh.port("ingress"));
      try {
        await raw.send(
          headersFrame(1, requestBlock({ method: "POST", path: "/upload", authority: "a" })),
          dataFrame(1, new Uint8Array(10)),
        );
        const r = await raw.expectResponse(1);
        assertEquals(r.status, 200);
        // meshctl lingers (REQUEST_LINGER_MS, 1 s: five idle timeouts) for the rest, then stops the upload.
        await raw.expectRstStream(1, ErrorCode.NO_ERROR);
      } finally {
        await raw.close();
      }
      const downstream = (await adminStats(mesh.adminPort)).downstream?.["listener.ingress"] ?? {};
      assertEquals(downstream.stream_idle_timeout_total ?? 0, 0, "a dropped body counted as an idle timeout");
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
    }
  },
);
