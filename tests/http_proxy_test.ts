/**
 * HTTP/1.1 through the real meshctl: routing, keep-alive reuse, bodies, WebSocket, failures, smuggling,
 * retries, two hops. Peers: curl, Deno origins, raw sockets.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import {
  adminStats,
  curl,
  DEAD_HOST,
  httpProxyConfig,
  type Meshctl,
  type Origin,
  rawExchange,
  startMeshctl,
  startOrigin,
} from "./_e2e.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes and fetch pools outlive steps

async function withProxy(
  origin: Origin[],
  extra: Partial<Parameters<typeof httpProxyConfig>[0]>,
  fn: (port: number, mesh: Meshctl) => Promise<void>,
): Promise<void> {
  const mesh = await startMeshctl(httpProxyConfig({ hosts: origin.map((o) => o.address), ...extra }));
  try {
    await fn(mesh.port("ingress"), mesh);
  } finally {
    const code = await mesh.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
  }
}

Deno.test("meshctl proxies every match type and action to the right place", opts, async () => {
  const origin = startOrigin((req) => {
    const u = new URL(req.url);
    return new Response(
      JSON.stringify({
        path: u.pathname + u.search,
        host: req.headers.get("host"),
        xff: req.headers.get("x-forwarded-for"),
        added: req.headers.get("x-added"),
        removed: req.headers.get("x-remove-me"),
        original: req.headers.get("x-mosn-original-path"),
      }),
      { headers: { "x-upstream": "1", "x-secret": "drop" } },
    );
  });
  const routes = [
    { match: { path: "/Exact" }, route: { cluster_name: "origin" } },
    {
      match: { prefix: "/api/", headers: [{ name: "method", value: "POST" }] },
      direct_response: { status: 201, body: "posted" },
    },
    {
      match: { prefix: "/api/" },
      route: {
        cluster_name: "origin",
        prefix_rewrite: "/v2/",
        host_rewrite: "upstream.example",
        request_headers_to_add: [{ header: { key: "x-added", value: "yes" }, append: false }],
        request_headers_to_remove: ["x-remove-me"],
        response_headers_to_add: [{ header: { key: "x-via", value: "meshctl" }, append: false }],
        response_headers_to_remove: ["x-secret"],
      },
    },
    {
      match: { regex: "^/items/[0-9]+$" },
      route: { cluster_name: "origin", regex_rewrite: { pattern: { regex: "[0-9]+" }, substitution: "N" } },
    },
    {
      match: { prefix: "/", headers: [{ name: "x-tenant", value: "^gold-.*", regex: true }] },
      direct_response: { status: 200, body: "gold" },
    },
    { match: { prefix: "/old" }, redirect: { path_redirect: "/new", response_code: 301 } },
    { match: { prefix: "/static" }, direct_response: { status: 200, body: "static body" } },
  ];
  try {
    await withProxy([origin], { routes }, async (port) => {
      const base = `http://127.0.0.1:${port}`;
      let r = await curl([`${base}/exact?q=1`]);
      assertEquals(JSON.parse(r.stdout).path, "/exact?q=1", "path match is case-insensitive");
      assertEquals(JSON.parse(r.stdout).xff, "127.0.0.1");

      r = await curl(["-X", "POST", "-w", "\n%{http_code}", `${base}/api/x`]);
      assertEquals(r.stdout, "posted\n201");

      r = await curl(["-i", "-H", "x-remove-me: 1", `${base}/api/users?id=7`]);
      const body = JSON.parse(r.stdout.slice(r.stdout.indexOf("\r\n\r\n") + 4));
      assertEquals(body.path, "/v2/users?id=7");
      assertEquals(body.host, "upstream.example");
      assertEquals(body.added, "yes");
      assertEquals(body.removed, null);
      assertEquals(body.original, "/api/users");
      assertMatch(r.stdout, /x-via: meshctl/i);
      assert(!/x-secret/i.test(r.stdout), "response header removed");

      r = await curl([`${base}/items/42`]);
      assertEquals(JSON.parse(r.stdout).path, "/items/N");

      r = await curl(["-H", "x-tenant: gold-1", `${base}/anything`]);
      assertEquals(r.stdout, "gold");

      r = await curl(["-i", `${base}/old/page`]);
      assertMatch(r.stdout, /^HTTP\/1\.1 301/);
      assertMatch(r.stdout, /location: http:\/\/127\.0\.0\.1:\d+\/new/i);

      r = await curl([`${base}/static`]);
      assertEquals(r.stdout, "static body");
    });
  } finally {
    await origin.close();
  }
});

Deno.test("meshctl answers 404 when no route matches and counts it", opts, async () => {
  const origin = startOrigin(() => new Response("x"));
  try {
    await withProxy(
      [origin],
      { routes: [{ match: { prefix: "/only" }, route: { cluster_name: "origin" } }] },
      async (port, mesh) => {
        const r = await curl(["-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${port}/nope`]);
        assertEquals(r.stdout, "404");
        const stats = await adminStats(mesh.adminPort);
        const ds = Object.entries(stats["downstream"] ?? {}).find(([k]) => k.includes("ingress"))?.[1];
        assert(ds !== undefined, JSON.stringify(stats));
        assertEquals(ds!["request_404_total"], 1);
      },
    );
  } finally {
    await origin.close();
  }
});

Deno.test("meshctl reuses one upstream connection for many keep-alive requests", opts, async () => {
  const origin = startOrigin(() => new Response("ok"));
  try {
    await withProxy([origin], {}, async (port) => {
      const urls = Array.from({ length: 50 }, () => `http://127.0.0.1:${port}/`);
      const r = await curl(urls); // curl reuses its connection for sequential URLs
      assertEquals(r.stdout, "ok".repeat(50));
      assertEquals(origin.requests, 50);
      assertEquals(origin.connections.size, 1, "one upstream connection carried every request");
    });
  } finally {
    await origin.close();
  }
});

Deno.test("meshctl streams large chunked uploads and downloads intact", opts, async () => {
  const size = 8 * 1024 * 1024;
  const origin = startOrigin(async (req) => {
    if (req.method === "POST") {
      const buf = new Uint8Array(await req.arrayBuffer());
      const digest = await crypto.subtle.digest("SHA-256", buf);
      return new Response(`${buf.length} ${hex(digest)}`);
    }
    // Chunked download: a stream of 64 KiB chunks.
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= size) return c.close();
        const chunk = new Uint8Array(65536).fill(sent / 65536 % 251);
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    return new Response(stream);
  });
  const file = await Deno.makeTempFile();
  try {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7) % 256;
    await Deno.writeFile(file, data);
    const expected = hex(await crypto.subtle.digest("SHA-256", data));
    await withProxy([origin], {}, async (port) => {
      // -T with chunked transfer encoding (no Content-Length) exercises chunked request bodies.
      let r = await curl([
        "-X",
        "POST",
        "-H",
        "Transfer-Encoding: chunked",
        "-T",
        file,
        `http://127.0.0.1:${port}/up`,
      ]);
      assertEquals(r.stdout, `${size} ${expected}`, r.stderr);
      r = await curl(["-X", "POST", "--data-binary", `@${file}`, `http://127.0.0.1:${port}/up`]);
      assertEquals(r.stdout, `${size} ${expected}`, r.stderr);
      const res = await fetch(`http://127.0.0.1:${port}/down`);
      const got = new Uint8Array(await res.arrayBuffer());
      assertEquals(got.length, size);
      for (let i = 0; i < size; i += 65536) assertEquals(got[i], i / 65536 % 251);
    });
  } finally {
    await Deno.remove(file);
    await origin.close();
  }
});

Deno.test("meshctl tunnels a WebSocket after the upstream's 101", opts, async () => {
  const origin = startOrigin((req) => {
    if (req.headers.get("upgrade") !== "websocket") return new Response("no", { status: 400 });
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(`echo:${e.data}`);
    return response;
  });
  try {
    await withProxy([origin], {}, async (port) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const replies: string[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => {
          ws.send("one");
          ws.send("two");
        };
        ws.onmessage = (e) => {
          replies.push(String(e.data));
          if (replies.length === 2) resolve();
        };
        ws.onerror = (e) => reject(new Error(`websocket error: ${(e as ErrorEvent).message}`));
        setTimeout(() => reject(new Error("websocket timed out")), 5000);
      });
      const closed = new Promise((r) => ws.onclose = r);
      ws.close();
      await closed;
      assertEquals(replies, ["echo:one", "echo:two"]);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("meshctl answers 502 when the upstream is down and 504 when it is too slow", opts, async () => {
  const slow = startOrigin(async () => {
    await new Promise((r) => setTimeout(r, 1500));
    return new Response("late");
  });
  try {
    const routes = [
      { match: { prefix: "/slow" }, route: { cluster_name: "origin", timeout: "300ms" } },
      { match: { prefix: "/down" }, route: { cluster_name: "down" } },
    ];
    const extraClusters = [{
      name: "down",
      type: "SIMPLE",
      lb_type: "LB_ROUNDROBIN",
      connect_timeout: "1s",
      hosts: [{ address: DEAD_HOST }],
    }];
    await withProxy([slow], { routes, extraClusters }, async (port, mesh) => {
      let r = await curl(["-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${port}/down`]);
      assertEquals(r.stdout, "502");
      const t0 = Date.now();
      r = await curl(["-w", "%{http_code}", "-o", "/dev/null", `http://127.0.0.1:${port}/slow`]);
      assertEquals(r.stdout, "504");
      assert(Date.now() - t0 < 1400, "timed out at the route timeout, not the origin's pace");
      const stats = await adminStats(mesh.adminPort);
      const up = stats["upstream"] ?? {};
      const down = Object.entries(up).find(([k]) => k === "cluster.down")?.[1];
      assert(down !== undefined && down["connection_con_fail"]! >= 1, JSON.stringify(up));
    });
  } finally {
    await slow.close();
  }
});

Deno.test("meshctl closes the client connection when the upstream resets mid-response", opts, async () => {
  // A raw upstream that promises 100000 bytes, sends 10, then closes.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const upPort = (l.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const c of l) {
      const buf = new Uint8Array(4096);
      await c.read(buf).catch(() => null);
      await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789"))
        .catch(() => {});
      c.close();
    }
  })();
  try {
    const mesh = await startMeshctl(httpProxyConfig({ hosts: [`127.0.0.1:${upPort}`] }));
    const port = mesh.port("ingress");
    try {
      const r = await curl([`http://127.0.0.1:${port}/`]);
      assert(r.code !== 0, "curl must see a truncated response");
      assertStringIncludes(r.stdout, "0123456789");
      // The proxy is still healthy for others.
      const again = await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      assertMatch(again, /^HTTP\/1\.1 200/);
    } finally {
      assertEquals(await mesh.stop(), 0);
    }
  } finally {
    l.close();
    await serving.catch(() => {});
  }
});

Deno.test("meshctl rejects request smuggling patterns with 400 and closes", opts, async () => {
  let completed = 0;
  const origin = startOrigin(async (req) => {
    await req.arrayBuffer(); // rejects when the body is cut off
    completed++;
    return new Response("should not be reached");
  });
  try {
    await withProxy([origin], {}, async (port) => {
      const cases: [string, string, RegExp][] = [
        [
          "CL+TE",
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          /^HTTP\/1\.1 400/,
        ],
        [
          "differing CL",
          "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd",
          /^HTTP\/1\.1 400/,
        ],
        ["obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", /^HTTP\/1\.1 400/],
        ["space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", /^HTTP\/1\.1 400/],
        ["bad TE", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", /^HTTP\/1\.1 (400|501)/],
        [
          "oversized header",
          `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`,
          /^HTTP\/1\.1 431/,
        ],
      ];
      for (const [name, req, want] of cases) {
        const res = await rawExchange(port, req);
        assertMatch(res, want, `${name}: ${res.slice(0, 80)}`);
      }
      assertEquals(origin.requests, 0, "no rejected head reached the upstream");
      // A bad chunk is found after the (valid) head was streamed upstream: the upstream request is cut
      // off and never completes there.
      const res = await rawExchange(
        port,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      );
      assertMatch(res, /^HTTP\/1\.1 400/, `bad chunk size: ${res.slice(0, 80)}`);
      assertEquals(completed, 0, "no smuggled request completed at the upstream");
      // Other clients are unaffected.
      const ok = await curl([`http://127.0.0.1:${port}/`]);
      assertEquals(ok.stdout, "should not be reached");
      assertEquals(completed, 1);
    });
  } finally {
    await origin.close();
  }
});

Deno.test("meshctl retries a 503 per retry_policy and fails over connection errors", opts, async () => {
  let calls = 0;
  const flaky = startOrigin(() =>
    ++calls % 2 === 1 ? new Response("busy", { status: 503 }) : new Response("fine")
  );
  try {
    const routes = [{
      match: { prefix: "/" },
      route: {
        cluster_name: "origin",
        retry_policy: { retry_on: true, num_retries: 2, retry_timeout: "2s" },
      },
    }];
    await withProxy([flaky], { routes }, async (port, mesh) => {
      const r = await curl([`http://127.0.0.1:${port}/`]);
      assertEquals(r.stdout, "fine");
      assertEquals(calls, 2);
      const stats = await adminStats(mesh.adminPort);
      assertEquals(stats["upstream"]?.["cluster.origin"]?.["request_retry"], 1);
    });
    // A dead host and a live one, round robin: every request still succeeds via retry on connect failure.
    const live = startOrigin(() => new Response("live"));
    try {
      await withProxy([live], {
        routes: [{
          match: { prefix: "/" },
          route: { cluster_name: "origin", retry_policy: { retry_on: false, num_retries: 3 } },
        }],
        cluster: {
          hosts: [{ address: DEAD_HOST }, { address: live.address }],
          connect_timeout: "1s",
        },
      }, async (port) => {
        for (let i = 0; i < 6; i++) assertEquals((await curl([`http://127.0.0.1:${port}/`])).stdout, "live");
      });
    } finally {
      await live.close();
    }
  } finally {
    await flaky.close();
  }
});

Deno.test("meshctl balances across hosts with round robin", opts, async () => {
  const a = startOrigin(() => new Response("a"));
  const b = startOrigin(() => new Response("b"));
  try {
    await withProxy([a, b], { lbType: "LB_ROUNDROBIN" }, async (port) => {
      const urls = Array.from({ length: 20 }, () => `http://127.0.0.1:${port}/`);
      const r = await curl(urls);
      assertEquals(r.stdout.length, 20);
      assertEquals(a.requests, 10);
      assertEquals(b.requests, 10);
    });
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("meshctl → meshctl → origin: two hops, X-Forwarded-For appended at each", opts, async () => {
  const origin = startOrigin((req) => new Response(req.headers.get("x-forwarded-for") ?? "none"));
  const inner = await startMeshctl(httpProxyConfig({ hosts: [origin.address] }));
  const outer = await startMeshctl(httpProxyConfig({ hosts: [inner.listeners["ingress"]!] }));
  try {
    const r = await curl([`http://127.0.0.1:${outer.port("ingress")}/`]);
    assertEquals(r.stdout, "127.0.0.1, 127.0.0.1");
  } finally {
    assertEquals(await outer.stop(), 0);
    assertEquals(await inner.stop(), 0);
    await origin.close();
  }
});

Deno.test("meshctl writes MOSN-style access logs", opts, async () => {
  const origin = startOrigin(() => new Response("logged"));
  const logPath = await Deno.makeTempFile({ suffix: ".log" });
  try {
    await withProxy([origin], {
      listener: {
        access_logs: [{
          log_path: logPath,
          log_format:
            "%protocol% %response_code% %request_method% %request_path% %upstream_host% %response_flag%",
        }],
      },
    }, async (port) => {
      await curl([`http://127.0.0.1:${port}/hello`]);
    });
    const text = await Deno.readTextFile(logPath);
    assertEquals(text.trim(), `Http1 200 GET /hello ${origin.address} -`);
  } finally {
    await Deno.remove(logPath);
    await origin.close();
  }
});

Deno.test("meshctl drains in-flight requests on SIGTERM and exits 0", opts, async () => {
  let arrived!: () => void;
  const atOrigin = new Promise<void>((r) => arrived = r);
  const origin = startOrigin(async () => {
    arrived();
    await new Promise((r) => setTimeout(r, 700)); // the request is in flight while meshctl drains
    return new Response("finished");
  });
  const mesh = await startMeshctl(httpProxyConfig({ hosts: [origin.address] }), {
    env: { MESHCTL_LOG_LEVEL: "info" },
  });
  const port = mesh.port("ingress");
  try {
    const inFlight = curl([`http://127.0.0.1:${port}/`]);
    await atOrigin;
    const stopped = mesh.stop("SIGTERM");
    const r = await inFlight;
    assertEquals(r.stdout, "finished");
    assertEquals(await stopped, 0);
    assertStringIncludes(mesh.logs(), "draining");
  } finally {
    await origin.close();
  }
});

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("meshctl retries a POST whose first host refuses the connection, body intact", opts, async () => {
  const live = startOrigin(async (req) => new Response(`got ${(await req.text()).length}`));
  try {
    await withProxy([live], {
      lbType: "LB_ROUNDROBIN",
      routes: [{
        match: { prefix: "/" },
        route: { cluster_name: "origin", retry_policy: { retry_on: false, num_retries: 2 } },
      }],
      cluster: {
        hosts: [{ address: DEAD_HOST }, { address: live.address }],
        connect_timeout: "1s",
      },
    }, async (port) => {
      for (let i = 0; i < 4; i++) {
        const r = await curl(["-X", "POST", "--data-binary", "x".repeat(5000), `http://127.0.0.1:${port}/`]);
        assertEquals(r.stdout, "got 5000");
      }
    });
  } finally {
    await live.close();
  }
});

Deno.test(
  "meshctl applies Envoy's HCM behaviours set on the proxy: normalize_path, generate_request_id, server header",
  opts,
  async () => {
    const origin = startOrigin((req) =>
      new Response(JSON.stringify({ path: new URL(req.url).pathname, id: req.headers.get("x-request-id") }), {
        headers: { server: "origin" },
      })
    );
    try {
      const routes = [
        { match: { prefix: "/admin" }, route: { cluster_name: "origin" } },
        { match: { prefix: "/public" }, direct_response: { status: 200, body: "public" } },
      ];
      const proxy = {
        normalize_path: true,
        generate_request_id: true,
        server_header_transformation: "OVERWRITE",
        server_name: "istio-envoy",
      };
      await withProxy([origin], { routes, proxy }, async (port) => {
        // curl --path-as-is sends the dot segments; normalized, the request is for /admin, not /public.
        const r = await curl(["-i", "--path-as-is", `http://127.0.0.1:${port}/public/../admin/x`]);
        const [head, body] = r.stdout.split("\r\n\r\n");
        const seen = JSON.parse(body!) as { path: string; id: string };
        assertEquals(seen.path, "/admin/x");
        assertMatch(seen.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assertStringIncludes(head!.toLowerCase(), "\r\nserver: istio-envoy");
      });
    } finally {
      await origin.close();
    }
  },
);
