/**
 * The HTTP/2 peers work directly against each other (no meshctl): the origins' behaviours through the
 * node:http2 client, curl, nghttp and h2load, and the raw frame client against real HTTP/2 servers,
 * which answer its frames as RFC 9113 requires.
 */
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { connectH2, curlH2, h2load, type H2Session, H2StreamError, nghttp } from "./h2_client.ts";
import {
  type EchoedRequest,
  type H2Origin,
  patternMismatch,
  startDualOrigin,
  startH2Origin,
} from "./h2_origin.ts";
import {
  continuationFrame,
  dataFrame,
  decodeSettings,
  encodeFrame,
  encodeHeaderBlock,
  ErrorCode,
  Flag,
  FrameType,
  goawayFrame,
  H2RawClient,
  headersFrame,
  pingFrame,
  priorityFrame,
  requestBlock,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "./h2_raw.ts";

async function withOrigin(
  fn: (origin: H2Origin, session: H2Session) => Promise<void>,
  settings?: Parameters<typeof startH2Origin>[0],
): Promise<void> {
  const origin = await startH2Origin(settings);
  const session = await connectH2(origin.port);
  try {
    await fn(origin, session);
  } finally {
    await session.close();
    await origin.stop();
  }
}

// === startH2Origin() through the node:http2 client ===

Deno.test("startH2Origin() echoes method, path, authority, headers, body size and request trailers", async () => {
  await withOrigin(async (origin, session) => {
    const r = await session.request({
      path: "/some/path?q=1",
      authority: "svc.example",
      headers: { "x-a": "1", "x-b": "2" },
      body: [new Uint8Array(1000), new Uint8Array(24)],
      trailers: { "x-checksum": "abc" },
    });
    assertEquals(r.status, 200);
    assertEquals(r.headers["x-origin"], origin.name);
    const echo = r.json<EchoedRequest>();
    assertEquals(
      [echo.protocol, echo.method, echo.path, echo.scheme, echo.authority],
      ["HTTP/2", "POST", "/some/path?q=1", "http", "svc.example"],
    );
    assertEquals([echo.headers["x-a"], echo.headers["x-b"]], ["1", "2"]);
    assertEquals(echo.bodyBytes, 1024);
    assertEquals(echo.trailers, { "x-checksum": "abc" });
    assertEquals([echo.session, echo.streamId], [1, 1]);
    assertEquals(origin.log.length, 1);
    assertEquals(origin.requestsTo("/some/path"), 1);
  });
});

Deno.test("startH2Origin() streams /large in order through a small flow-control window", async () => {
  const origin = await startH2Origin();
  const session = await connectH2(origin.port, { settings: { initialWindowSize: 1024 } });
  try {
    const r = await session.request({ path: "/large?bytes=200000&chunk=7000&cl=1" });
    assertEquals(r.headers["content-length"], "200000");
    assertEquals(r.body.length, 200000);
    assertEquals(patternMismatch(r.body), -1);
  } finally {
    await session.close();
    await origin.stop();
  }
});

Deno.test("startH2Origin() echoes an upload through its own small window as it arrives", async () => {
  await withOrigin(async (_origin, session) => {
    const body = Array.from({ length: 20 }, (_, i) => new Uint8Array(5000).fill(i));
    const r = await session.request({ path: "/echo-body", body, headers: { "content-type": "x/y" } });
    assertEquals(r.headers["content-type"], "x/y");
    assertEquals(r.body.length, 100000);
    assertEquals([r.body[0], r.body[5000], r.body[99999]], [0, 1, 19]);
  }, { settings: { initialWindowSize: 2048 } });
});

Deno.test("startH2Origin() sends the trailers /trailers asks for", async () => {
  await withOrigin(async (_origin, session) => {
    assertEquals((await session.request({ path: "/trailers" })).trailers, { "x-trailer": "done" });
    const r = await session.request({ path: "/trailers?grpc-status=0&x-b=2" });
    assertEquals(r.trailers, { "grpc-status": "0", "x-b": "2" });
  });
});

Deno.test("startH2Origin() sends 103 Early Hints and answers expect: 100-continue", async () => {
  await withOrigin(async (_origin, session) => {
    const hints = await session.request({ path: "/early-hints" });
    assertEquals(hints.informational, [{ status: 103, headers: { link: "</style.css>; rel=preload" } }]);
    assertEquals(hints.status, 200);

    const cont = await session.request({ path: "/upload", body: "held back", expectContinue: true });
    assertEquals(cont.informational.map((i) => i.status), [100]);
    assertEquals(cont.json<EchoedRequest>().bodyBytes, 9);

    const refused = await session.request({ path: "/expect-fail", body: "never sent", expectContinue: true });
    assertEquals([refused.status, refused.informational], [417, []]);
  });
});

Deno.test("startH2Origin() resets /reset streams with the code asked for, before or after the headers", async () => {
  await withOrigin(async (origin, session) => {
    for (const [path, code] of [["/reset", 2], ["/reset?code=7", 7], ["/reset?after=headers", 2]] as const) {
      const e = await session.request({ path }).then(() => undefined, (e: unknown) => e);
      assert(e instanceof H2StreamError, `${path}: ${e}`);
      assertEquals(e.code, code, path);
    }
    const afterData = await nghttp(`http://${origin.address}/reset?after=data`);
    const recv = afterData.frames.filter((f) => f.direction === "recv" && f.streamId !== 0).map((f) =>
      f.type
    );
    assertEquals(recv, ["HEADERS", "DATA", "RST_STREAM"]);
    assertEquals(
      afterData.frames.at(-2)?.errorCode ?? afterData.frames.find((f) => f.type === "RST_STREAM")?.errorCode,
      2,
    );
    assertEquals(origin.resetsByClient, 0);
  });
});

Deno.test("startH2Origin() counts the streams a client resets", async () => {
  await withOrigin(async (origin, session) => {
    const abort = new AbortController();
    const slow = session.request({ path: "/delay?ms=10000", signal: abort.signal }).catch((e) => e);
    await origin.until(() => origin.requestsTo("/delay") === 1, "the request to arrive");
    abort.abort();
    assertEquals((await slow as H2StreamError).code, 8);
    await origin.until(() => origin.resetsByClient === 1, "the reset to arrive");
  });
});

Deno.test("startH2Origin() /goaway answers, then sends GOAWAY and closes; the next request opens a new session", async () => {
  await withOrigin(async (origin, session) => {
    assertEquals((await session.request({ path: "/goaway" })).status, 200);
    await session.waitClosed();
    assertEquals(session.goaways.map((g) => g.code), [0]);
    const again = await connectH2(origin.port);
    try {
      assertEquals((await again.request()).json<EchoedRequest>().session, 2);
    } finally {
      await again.close();
    }
    assertEquals(origin.sessions, 2);
    assertEquals(origin.streamsPerSession, [1, 1]);
  });
});

Deno.test("startH2Origin() /close sends GOAWAY with its code; /drop closes the TCP connection without one", async () => {
  const origin = await startH2Origin();
  try {
    const closed = await nghttp(`http://${origin.address}/close?code=11`);
    const goaway = closed.frames.find((f) => f.direction === "recv" && f.type === "GOAWAY");
    assertEquals(goaway?.errorCode, ErrorCode.ENHANCE_YOUR_CALM);
    assertEquals(closed.statuses, []);

    const dropped = await nghttp(`http://${origin.address}/drop`);
    assertEquals(dropped.frames.filter((f) => f.direction === "recv" && f.streamId !== 0), []);
    assertEquals(dropped.frames.some((f) => f.direction === "recv" && f.type === "GOAWAY"), false);
  } finally {
    await origin.stop();
  }
});

Deno.test("startH2Origin() announces its SETTINGS and holds streams past max concurrent streams", async () => {
  await withOrigin(async (origin, session) => {
    assertEquals(session.remoteSettings.maxConcurrentStreams, 2);
    assertEquals(session.remoteSettings.initialWindowSize, 4096);
    const results = await session.requestMany(8, { path: "/delay?ms=20" });
    assertEquals(results.map((r) => r instanceof Error ? r.message : r.status), new Array(8).fill(200));
    assertEquals(origin.streamsPerSession, [8]);
  }, { settings: { maxConcurrentStreams: 2, initialWindowSize: 4096 } });
});

Deno.test("startH2Origin() /large-headers comes in HEADERS + CONTINUATION frames", async () => {
  // nghttp reports HEADERS and its CONTINUATIONs as one frame (nghttp2 joins them): read them raw.
  const origin = await startH2Origin();
  const c = await H2RawClient.connect(origin.port);
  try {
    await c.get(1, "/large-headers?bytes=40000");
    const r = await c.expectResponse(1);
    assertEquals(r.status, 200);
    const frames = c.received.filter((f) => f.streamId === 1);
    assertEquals(frames.slice(0, 2).map((f) => [f.type, f.payload.length]), [
      [FrameType.HEADERS, 16384],
      [FrameType.CONTINUATION, r.block.length - 16384], // Huffman-coded: under 40000 in all
    ]);
  } finally {
    await c.close();
    await origin.stop();
  }
});

Deno.test("connectH2() carries many concurrent streams on one session", async () => {
  await withOrigin(async (origin, session) => {
    const results = await session.requestMany(100, (i) => ({ path: `/n/${i}` }));
    const paths = results.map((r) => r instanceof Error ? r.message : r.json<EchoedRequest>().path);
    assertEquals(paths, Array.from({ length: 100 }, (_, i) => `/n/${i}`));
    assertEquals([origin.sessions, origin.requests], [1, 100]);
  });
});

// === the command-line clients ===

Deno.test("curlH2() reads status, headers, 1xx and trailers over h2c", async () => {
  const origin = await startH2Origin();
  try {
    const echo = await curlH2(`http://${origin.address}/x`, {
      method: "PUT",
      body: "abc",
      headers: { "x-a": "1" },
    });
    assertEquals([echo.code, echo.status, echo.httpVersion], [0, 200, "2"]);
    const seen = JSON.parse(echo.text()) as EchoedRequest;
    assertEquals([seen.method, seen.bodyBytes, seen.headers["x-a"]], ["PUT", 3, "1"]);
    assertEquals((await curlH2(`http://${origin.address}/trailers`)).trailers, { "x-trailer": "done" });
    const hints = await curlH2(`http://${origin.address}/early-hints`);
    assertEquals([hints.informational, hints.status, hints.headers["x-origin"]], [[103], 200, origin.name]);
    const reset = await curlH2(`http://${origin.address}/reset`);
    assert(reset.code !== 0, "a reset stream fails the transfer");
  } finally {
    await origin.stop();
  }
});

Deno.test("nghttp() makes -m requests on one connection and reports every frame", async () => {
  const origin = await startH2Origin();
  try {
    const r = await nghttp(`http://${origin.address}/m`, { multiply: 20 });
    assertEquals(r.statuses, new Array(20).fill(200));
    assertEquals(origin.streamsPerSession, [20]);
    // The server's SETTINGS may be printed before nghttp's own: look at each direction.
    assertEquals(r.frames.find((f) => f.direction === "send")?.type, "SETTINGS");
    assertEquals(r.frames.filter((f) => f.direction === "send" && f.type === "HEADERS").length, 20);
    assert(r.frames.some((f) => f.direction === "recv" && f.type === "SETTINGS" && f.flags === Flag.ACK));
  } finally {
    await origin.stop();
  }
});

Deno.test("h2load() runs a bounded load and parses its summary", async () => {
  const origin = startDualOrigin();
  try {
    const r = await h2load(`http://${origin.address}/load`, { requests: 500, clients: 2, streams: 10 });
    assertEquals(r.code, 0);
    assertEquals(r.summary?.succeeded, 500);
    assertEquals(r.summary?.status["2xx"], 500);
    assertEquals(r.summary?.failed, 0);
    assert((r.summary?.requestsPerSecond ?? 0) > 0);
    assertEquals([origin.requests, origin.sessions], [500, 2]);
  } finally {
    await origin.stop();
  }
});

// === startDualOrigin() ===

Deno.test("startDualOrigin() serves h2c prior knowledge and HTTP/1.1 on one port", async () => {
  const origin = startDualOrigin({ name: "dual" });
  try {
    const h2 = await curlH2(`http://${origin.address}/two?x=1`);
    assertEquals([h2.status, h2.httpVersion], [200, "2"]);
    assertEquals(JSON.parse(h2.text()).path, "/two?x=1");
    const h1 = await fetch(`http://${origin.address}/one`, { method: "POST", body: "hello" });
    const echo = await h1.json() as EchoedRequest;
    assertEquals([echo.path, echo.bodyBytes, echo.origin, echo.headers.host], [
      "/one",
      5,
      "dual",
      origin.address,
    ]);
    assertEquals(origin.sessions, 2);

    const large = await curlH2(`http://${origin.address}/large?bytes=300000`);
    assertEquals([large.body.length, patternMismatch(large.body)], [300000, -1]);
    const up = await curlH2(`http://${origin.address}/echo-body`, { body: "x".repeat(70000) });
    assertEquals(up.body.length, 70000);
    const unsupported = await curlH2(`http://${origin.address}/trailers`);
    assertEquals(unsupported.status, 501);
    assertMatch(unsupported.text(), /needs node:http2/);
  } finally {
    await origin.stop();
  }
});

Deno.test("stop() ends requests in flight on both origins", async () => {
  const dual = startDualOrigin();
  const node = await startH2Origin();
  const session = await connectH2(node.port);
  const slowDual = curlH2(`http://${dual.address}/delay?ms=60000`);
  // A client that never opens its window keeps the large response in flight (stalled at 64 KiB) without
  // buffering more: a rate-limited curl instead drains what it buffered at its rate after the stop, so its
  // end came seconds late however fast the stop was.
  const raw = await H2RawClient.connect(dual.port);
  await raw.get(1, "/large?bytes=100000000");
  await raw.nextFrame((f) => f.type === FrameType.DATA && f.streamId === 1, "the large body's first DATA");
  const slowLarge = raw.expectResponse(1, 10000).then(
    () => Promise.reject(new Error("the large response completed")),
    (e: Error) => e,
  );
  const slowNode = session.request({ path: "/delay?ms=60000", timeoutMs: 60000 }).catch((e) => e);
  await dual.until(() => dual.requests === 2, "both requests to arrive");
  await node.until(() => node.requests === 1, "the request to arrive");
  const started = Date.now();
  const took = (p: Promise<unknown>) => p.then(() => Date.now() - started);
  const stops = await Promise.all([took(dual.stop()), took(node.stop())]);
  const clients = await Promise.all([took(slowDual), took(slowLarge), took(slowNode)]);
  await session.close();
  await raw.close();
  const why = `stop took ${
    Date.now() - started
  } ms (dual, node: ${stops}; delayed, large, node client: ${clients})`;
  assert(Date.now() - started < 5000, why);
});

// === the raw frame client against real servers ===

/** Each raw test runs against the strict node:http2 (nghttp2) origin and, where noted, Deno.serve (hyper). */
async function withRaw(
  fn: (c: H2RawClient, origin: { port: number }) => Promise<void>,
  options: { settings?: [number, number][]; server?: "node" | "deno" } = {},
): Promise<void> {
  const origin = options.server === "deno" ? startDualOrigin() : await startH2Origin();
  const c = await H2RawClient.connect(origin.port, options.settings ? { settings: options.settings } : {});
  try {
    await fn(c, origin);
  } finally {
    await c.close();
    await origin.stop();
  }
}

for (const server of ["node", "deno"] as const) {
  Deno.test(`H2RawClient GET gets 200 HEADERS and the echo from ${server}`, async () => {
    await withRaw(async (c) => {
      await c.get(1, "/raw?x=1", "raw.example");
      const r = await c.expectResponse(1);
      assertEquals(r.status, 200);
      const echo = JSON.parse(new TextDecoder().decode(r.body)) as EchoedRequest;
      assertEquals([echo.method, echo.path, echo.authority], ["GET", "/raw?x=1", "raw.example"]);
      const settings = c.received.find((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK));
      assert(settings !== undefined && decodeSettings(settings).length >= 0);
    }, { server });
  });

  Deno.test(`H2RawClient decodes non-static :status values from ${server}`, async () => {
    await withRaw(async (c) => {
      const codes = [200, 204, 299, 404, 418, 503, 599];
      for (const [i, code] of codes.entries()) await c.get(2 * i + 1, `/status?code=${code}`);
      const got = [];
      for (const i of codes.keys()) got.push((await c.expectResponse(2 * i + 1)).status);
      assertEquals(got, codes);
    }, { server });
  });
}

Deno.test("H2RawClient sends a POST with padded DATA and trailers, split HEADERS + CONTINUATION", async () => {
  await withRaw(async (c) => {
    const block = requestBlock({ method: "POST", path: "/echo", authority: "raw.example" });
    await c.send(
      headersFrame(1, block.subarray(0, 7), { endHeaders: false, priority: { dependsOn: 0, weight: 16 } }),
      continuationFrame(1, block.subarray(7)),
      dataFrame(1, "abc"),
      dataFrame(1, "de", { padLength: 4 }),
      headersFrame(1, encodeHeaderBlock([["x-trailer", "yes"]]), { endStream: true }),
    );
    const echo = JSON.parse(new TextDecoder().decode((await c.expectResponse(1)).body)) as EchoedRequest;
    assertEquals([echo.bodyBytes, echo.trailers], [5, { "x-trailer": "yes" }]);
  });
});

Deno.test("H2RawClient PING is acknowledged with its data; unknown frame types and PRIORITY are ignored", async () => {
  await withRaw(async (c) => {
    await c.send(
      encodeFrame(0xfa, 0xff, 0, new Uint8Array(12)),
      priorityFrame(3, { dependsOn: 0, weight: 200 }),
      pingFrame(Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1)),
    );
    assertEquals(await c.expectPingAck(), Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1));
    await c.get(5);
    assertEquals((await c.expectResponse(5)).status, 200);
  });
});

Deno.test("H2RawClient WINDOW_UPDATE opens a stream window announced as 100 bytes", async () => {
  await withRaw(async (c) => {
    await c.get(1, "/large?bytes=1000");
    const first = await c.nextFrame((f) => f.type === FrameType.DATA, "DATA");
    assertEquals(first.payload.length, 100);
    await c.send(windowUpdateFrame(1, 900));
    const rest = await c.expectResponse(1);
    assertEquals(rest.body.length, 900);
  }, { settings: [[Setting.HEADER_TABLE_SIZE, 0], [Setting.INITIAL_WINDOW_SIZE, 100]] });
});

Deno.test("H2RawClient RST_STREAM cancels a stream the server then counts as reset", async () => {
  const origin = await startH2Origin();
  const c = await H2RawClient.connect(origin.port);
  try {
    await c.get(1, "/delay?ms=10000");
    await origin.until(() => origin.requests === 1, "the request to arrive");
    await c.send(rstStreamFrame(1, ErrorCode.CANCEL));
    await origin.until(() => origin.resetsByClient === 1, "the reset to arrive");
    await c.get(3);
    assertEquals((await c.expectResponse(3)).status, 200);
  } finally {
    await c.close();
    await origin.stop();
  }
});

Deno.test("H2RawClient GOAWAY from the client makes the server close the connection", async () => {
  await withRaw(async (c) => {
    await c.send(goawayFrame(0, ErrorCode.NO_ERROR, "bye"));
    await c.expectClosed();
  });
});

/** Connection errors RFC 9113 requires, sent to the strict origin; each must get GOAWAY with its code. */
const CONNECTION_ERRORS: [string, number, (c: H2RawClient) => Promise<void>][] = [
  ["DATA on stream 0 (§6.1)", ErrorCode.PROTOCOL_ERROR, (c) => c.send(dataFrame(0, "x"))],
  [
    "SETTINGS of 5 bytes (§6.5)",
    ErrorCode.FRAME_SIZE_ERROR,
    (c) => c.send(encodeFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(5))),
  ],
  [
    "SETTINGS_ENABLE_PUSH 2 (§6.5.2)",
    ErrorCode.PROTOCOL_ERROR,
    (c) => c.send(settingsFrame([[Setting.ENABLE_PUSH, 2]])),
  ],
  [
    "SETTINGS_INITIAL_WINDOW_SIZE 2^31 (§6.5.2)",
    ErrorCode.FLOW_CONTROL_ERROR,
    (c) => c.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]])),
  ],
  [
    "PING of 7 bytes (§6.7)",
    ErrorCode.FRAME_SIZE_ERROR,
    (c) => c.send(encodeFrame(FrameType.PING, 0, 0, new Uint8Array(7))),
  ],
  [
    "WINDOW_UPDATE of 0 on the connection (§6.9)",
    ErrorCode.PROTOCOL_ERROR,
    (c) => c.send(windowUpdateFrame(0, 0)),
  ],
  [
    "connection window past 2^31-1 (§6.9.1)",
    ErrorCode.FLOW_CONTROL_ERROR,
    (c) => c.send(windowUpdateFrame(0, 2 ** 31 - 1)),
  ],
  [
    "HEADERS without END_HEADERS, then PING (§6.10)",
    ErrorCode.PROTOCOL_ERROR,
    (c) =>
      c.send(
        headersFrame(1, requestBlock({ authority: "a" }), { endHeaders: false, endStream: true }),
        pingFrame(),
      ),
  ],
  [
    "RST_STREAM on an idle stream (§6.4)",
    ErrorCode.PROTOCOL_ERROR,
    (c) => c.send(rstStreamFrame(5, ErrorCode.CANCEL)),
  ],
  [
    "RST_STREAM of 3 bytes (§6.4)",
    ErrorCode.FRAME_SIZE_ERROR,
    async (c) => {
      await c.get(1, "/delay?ms=2000");
      await c.send(encodeFrame(FrameType.RST_STREAM, 0, 1, new Uint8Array(3)));
    },
  ],
  [
    "a frame past SETTINGS_MAX_FRAME_SIZE (§4.2)",
    ErrorCode.FRAME_SIZE_ERROR,
    (c) => c.send(dataFrame(1, new Uint8Array(20000))),
  ],
  [
    "HEADERS on an even (server) stream id (§5.1.1)",
    ErrorCode.PROTOCOL_ERROR,
    (c) => c.send(headersFrame(2, requestBlock({ authority: "a" }), { endStream: true })),
  ],
];

for (const [what, code, send] of CONNECTION_ERRORS) {
  Deno.test(`H2RawClient ${what} gets the GOAWAY RFC 9113 requires from node:http2`, async () => {
    await withRaw(async (c) => {
      await send(c);
      await c.expectGoaway(code);
      await c.expectClosed();
    });
  });
}

Deno.test("H2RawClient without the preface gets the connection closed", async () => {
  const origin = await startH2Origin();
  const c = await H2RawClient.connect(origin.port, { preface: false });
  try {
    await c.send(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n".padEnd(40, "x")));
    await c.expectClosed();
    assert(!c.received.some((f) => f.type === FrameType.HEADERS), "no response to a non-HTTP/2 client");
  } finally {
    await c.close();
    await origin.stop();
  }
});
