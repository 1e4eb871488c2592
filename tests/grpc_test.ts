/**
 * gRPC through the real meshctl, with @grpc/grpc-js on both sides (tests/_peers/grpc_peers.ts): all four
 * call kinds, metadata and trailers, error statuses, deadlines, meshctl's own gRPC local replies, routing
 * by service and method, many concurrent calls on one connection, large messages across flow-control
 * windows, cancellation, a MOSN-shaped config and the Auto listener.
 *
 * Most tests share one meshctl (`mesh()` below, its whole route table in one place) and its upstreams;
 * each test opens its own client connection (a local subchannel pool: grpc-js otherwise shares
 * connections process-wide) and measures stats as deltas, so tests do not depend on each other. The last
 * test checks that nothing the others did left a stream open, and stops the shared instance.
 *
 * A local reply is checked twice: through grpc-js (status code and meshctl's message), and on the wire
 * with a plain HTTP/2 client, because grpc-js takes `grpc-status` from a trailers-only response whatever
 * its `:status` was; gRPC wants HTTP 200 with the status in that one HEADERS frame.
 *
 * HTTP/1 downstreams cannot carry gRPC (no trailers) and gRPC-Web is out of scope: neither is tested.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, DEAD_HOST, type Meshctl, startMeshctl } from "./_e2e.ts";
import { connectH2, fetchH2, type H2Response } from "./_peers/h2_client.ts";
import {
  ECHO_SERVICE,
  grpcClient,
  type GrpcClientOptions,
  type GrpcClientPeer,
  type GrpcServerPeer,
  patternPayload,
  startGrpcServer,
  Status,
} from "./_peers/grpc_peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** grpc-js refuses messages over 4 MiB by default; the large-message tests send up to 8 MiB. */
const LARGE_LIMITS = {
  "grpc.max_receive_message_length": 16 << 20,
  "grpc.max_send_message_length": 16 << 20,
};
/** HTTP/2's default window (RFC 9113 §6.9.2), the smallest meshctl accepts: megabytes cross it many times. */
const SMALL_WINDOW = 65535;
/** meshctl's route timeout on the `x-route: short-timeout` route. */
const SHORT_ROUTE_TIMEOUT_MS = 300;

// === the shared meshctl ===

/**
 * The shared instance: three listeners over one route table and a cluster per behaviour.
 *
 * Listeners: `h2` (Http2 in, Http2 out), `auto` (`downstream_protocol: Auto`), `small` (Http2 with
 * 65535-byte stream and connection windows, to a cluster with the same windows).
 *
 * Router `grpc`, virtual host `routing.test` (clients set that :authority): `x-tenant: gold` → `gold`;
 * exact `/meshctl.test.Echo/Say` → `say`; prefix `/meshctl.test.Echo/` → `echo`; nothing else (another
 * service gets no route). Virtual host `*`, by the `x-route` metadata: `dead` → a port that refuses
 * connections; `empty` → a cluster with no hosts; `max-requests` → `echo` behind `max_requests: 1`;
 * `max-pending` → `narrow` (one stream per connection) behind `max_connections: 1,
 * max_pending_requests: 1`; `short-timeout` → `echo` with a 300 ms route timeout; `silent` → an upstream
 * that accepts connections and never answers, with the same route timeout; `fanout` → `fanout` with
 * `max_connections_per_host: 2`; anything else → `echo` (default 60 s route timeout).
 */
interface Shared {
  readonly mesh: Meshctl;
  readonly echo: GrpcServerPeer;
  readonly say: GrpcServerPeer;
  readonly gold: GrpcServerPeer;
  readonly narrow: GrpcServerPeer;
  readonly fanout: GrpcServerPeer;
  readonly servers: readonly GrpcServerPeer[];
  readonly silent: SilentUpstream;
}

/** A TCP upstream that accepts connections and reads everything, but never writes a byte. */
interface SilentUpstream {
  readonly address: string;
  close(): void;
}

function startSilentUpstream(): SilentUpstream {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const c of l) {
      conns.add(c);
      c.readable.pipeTo(new WritableStream()).catch(() => {}).finally(() => conns.delete(c));
    }
  })().catch(() => {}); // the listener was closed
  return {
    address: `127.0.0.1:${(l.addr as Deno.NetAddr).port}`,
    close() {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed by its peer meanwhile
        }
      }
    },
  };
}

function proxy(downstream: string, router: string, extra: Record<string, unknown> = {}) {
  return {
    filters: [{
      type: "proxy",
      config: {
        downstream_protocol: downstream,
        upstream_protocol: "Http2",
        router_config_name: router,
        ...extra,
      },
    }],
  };
}

function listener(name: string, chain: unknown) {
  return { name, address: "127.0.0.1:0", bind_port: true, filter_chains: [chain] };
}

function cluster(name: string, hosts: string[], extra: Record<string, unknown> = {}) {
  return {
    name,
    type: "SIMPLE",
    lb_type: "LB_ROUNDROBIN",
    hosts: hosts.map((address) => ({ address })),
    ...extra,
  };
}

function byRoute(value: string, route: Record<string, unknown>) {
  return { match: { prefix: "/", headers: [{ name: "x-route", value }] }, route };
}

async function startShared(): Promise<Shared> {
  const [echo, say, gold, narrow, fanout] = await Promise.all([
    startGrpcServer({ name: "echo", serverOptions: LARGE_LIMITS }),
    startGrpcServer({ name: "say" }),
    startGrpcServer({ name: "gold" }),
    startGrpcServer({ name: "narrow", serverOptions: { "grpc.max_concurrent_streams": 1 } }),
    startGrpcServer({ name: "fanout" }),
  ]);
  const servers = [echo, say, gold, narrow, fanout];
  const silent = startSilentUpstream();
  const small = { initial_stream_window_size: SMALL_WINDOW, initial_connection_window_size: SMALL_WINDOW };
  const service = `/${ECHO_SERVICE}/`;
  try {
    const mesh = await startMeshctl({
      servers: [{
        default_log_level: "WARN",
        routers: [{
          router_config_name: "grpc",
          virtual_hosts: [{
            name: "routing",
            domains: ["routing.test"],
            routers: [
              {
                match: { prefix: service, headers: [{ name: "x-tenant", value: "gold" }] },
                route: { cluster_name: "gold" },
              },
              { match: { path: `${service}Say` }, route: { cluster_name: "say" } },
              { match: { prefix: service }, route: { cluster_name: "echo" } },
            ],
          }, {
            name: "all",
            domains: ["*"],
            routers: [
              byRoute("dead", { cluster_name: "dead" }),
              byRoute("empty", { cluster_name: "empty" }),
              byRoute("max-requests", { cluster_name: "one_request" }),
              byRoute("max-pending", { cluster_name: "one_pending" }),
              byRoute("short-timeout", { cluster_name: "echo", timeout: `${SHORT_ROUTE_TIMEOUT_MS}ms` }),
              byRoute("silent", { cluster_name: "silent", timeout: `${SHORT_ROUTE_TIMEOUT_MS}ms` }),
              byRoute("fanout", { cluster_name: "fanout" }),
              { match: { prefix: "/" }, route: { cluster_name: "echo" } },
            ],
          }],
        }, {
          router_config_name: "small",
          virtual_hosts: [{
            name: "all",
            domains: ["*"],
            routers: [{ match: { prefix: "/" }, route: { cluster_name: "echo_small" } }],
          }],
        }],
        listeners: [
          listener("h2", proxy("Http2", "grpc")),
          listener("auto", proxy("Auto", "grpc")),
          listener("small", proxy("Http2", "small", { http2_protocol_options: small })),
        ],
      }],
      cluster_manager: {
        clusters: [
          cluster("echo", [echo.address]),
          cluster("say", [say.address]),
          cluster("gold", [gold.address]),
          cluster("dead", [DEAD_HOST]),
          cluster("empty", []),
          cluster("one_request", [echo.address], { circuit_breakers: [{ max_requests: 1 }] }),
          cluster("one_pending", [narrow.address], {
            circuit_breakers: [{ max_connections: 1, max_pending_requests: 1 }],
          }),
          cluster("fanout", [fanout.address], { max_connections_per_host: 2 }),
          cluster("silent", [silent.address]),
          cluster("echo_small", [echo.address], { http2_protocol_options: small }),
        ],
      },
    });
    started = mesh;
    return { mesh, echo, say, gold, narrow, fanout, servers, silent };
  } catch (e) {
    silent.close();
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
}

let shared: Promise<Shared> | undefined;
/** The shared meshctl once it runs (for the unload handler, which cannot wait for a promise). */
let started: Meshctl | undefined;
/** The shared instance, started by the first test that needs it (so `--filter` works). */
function mesh(): Promise<Shared> {
  return shared ??= startShared();
}
// Runs only when a filtered run skipped the last test: do not leave meshctl behind.
globalThis.addEventListener("unload", () => {
  try {
    started?.process.kill("SIGKILL");
  } catch {
    // already stopped
  }
});

/** A client with its own connection to listener `name`; closed when `fn` ends. */
async function withClient<T>(
  s: Shared,
  name: string,
  fn: (client: GrpcClientPeer) => Promise<T>,
  options: GrpcClientOptions = {},
): Promise<T> {
  const client = grpcClient(`127.0.0.1:${s.mesh.port(name)}`, {
    channelOptions: { "grpc.use_local_subchannel_pool": 1, ...options.channelOptions },
  });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** One MOSN stats value (`type`, `scope` like "cluster.echo", `name`); 0 when not reported yet. */
type Stats = Awaited<ReturnType<typeof adminStats>>;
function stat(stats: Stats, type: string, scope: string, name: string): number {
  return stats[type]?.[scope]?.[name] ?? 0;
}

/** Runs `fn` and returns how much each of `keys` ("type/scope/name") grew meanwhile. */
async function statDeltas(
  s: Shared,
  keys: readonly string[],
  fn: () => Promise<void>,
): Promise<Record<string, number>> {
  const read = async () => {
    const stats = await adminStats(s.mesh.adminPort);
    return keys.map((k) => {
      const [type, scope, name] = k.split("/") as [string, string, string];
      return stat(stats, type, scope, name);
    });
  };
  const before = await read();
  await fn();
  const after = await read();
  return Object.fromEntries(keys.map((k, i) => [k, after[i]! - before[i]!]));
}

// === wire-level helpers ===

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-prefixed gRPC message (uncompressed) holding `message`'s protobuf bytes. */
function grpcFrame(message: number[]): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** `SleepRequest { ms }` as a gRPC frame. */
function sleepRequest(ms: number): Uint8Array {
  return grpcFrame([0x08, ...varint(ms)]);
}

/** `FailRequest { code, message }` as a gRPC frame. */
function failRequest(code: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(message);
  return grpcFrame([0x08, ...varint(code), 0x12, ...varint(text.length), ...text]);
}

/** A gRPC call made with a plain HTTP/2 client, to see the response as it is on the wire. */
function rawGrpc(
  port: number,
  method: string,
  body: Uint8Array,
  metadata: Record<string, string> = {},
  authority?: string,
): Promise<H2Response> {
  return fetchH2(port, {
    method: "POST",
    path: method.startsWith("/") ? method : `/${ECHO_SERVICE}/${method}`,
    ...(authority === undefined ? {} : { authority }),
    headers: { "content-type": "application/grpc", te: "trailers", ...metadata },
    body,
  });
}

/** gRPC's trailers-only response: HTTP 200, `grpc-status` in the one HEADERS frame, no body or trailers. */
function assertTrailersOnly(r: H2Response, code: number, why: string): void {
  assertEquals(
    { status: r.status, grpcStatus: r.headers["grpc-status"], body: r.body.length, trailers: r.trailers },
    { status: 200, grpcStatus: String(code), body: 0, trailers: {} },
    `${why}: ${JSON.stringify({ headers: r.headers, trailers: r.trailers })}`,
  );
  assert(r.headers["content-type"]?.startsWith("application/grpc"), `${why}: ${r.headers["content-type"]}`);
}

/** A unary call to any method path (for methods the Echo client does not have). */
function callPath(
  port: number,
  path: string,
  channelOptions: grpc.ChannelOptions = {},
): Promise<grpc.StatusObject> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
    ...channelOptions,
  });
  return new Promise<grpc.StatusObject>((resolve) => {
    const call = client.makeUnaryRequest(
      path,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      new Uint8Array(0),
      new grpc.Metadata(),
      { deadline: new Date(Date.now() + 10_000) },
      () => {},
    );
    call.on("status", resolve);
  }).finally(() => client.close());
}

// === the four call kinds ===

Deno.test(
  "grpc unary: message, request metadata, response headers and trailers cross meshctl intact",
  opts,
  async () => {
    const s = await mesh();
    await withClient(s, "h2", async (client) => {
      const before = s.echo.callsOf("Say");
      const r = await client.say("hello through meshctl", {
        metadata: { "x-tenant": "blue", "x-request-tag": "a b;c=d" },
      });
      assertEquals(r.status.code, Status.OK, r.status.details);
      assertEquals(r.value?.message, "hello through meshctl");
      assertEquals(r.value?.server, "echo");
      assertEquals(r.value?.metadata["x-tenant"], "blue");
      assertEquals(r.value?.metadata["x-request-tag"], "a b;c=d");
      assertEquals(r.headers["x-served-by"], "echo");
      assertEquals(r.headers["content-type"], "application/grpc+proto");
      assertEquals(s.echo.callsOf("Say"), before + 1);

      const t = await client.trailers({ "x-checksum": "abc123", "x-count": "7" });
      assertEquals(t.status.code, Status.OK, t.status.details);
      assertEquals(t.status.details, "OK");
      assertEquals(t.status.trailers["x-checksum"], "abc123");
      assertEquals(t.status.trailers["x-count"], "7");
      assertEquals(t.status.trailers["x-trailer-bin"], Uint8Array.of(0, 1, 2, 255));
    });
  },
);

Deno.test("grpc server streaming: every reply in order, then the server's status", opts, async () => {
  const s = await mesh();
  await withClient(s, "h2", async (client) => {
    const ok = await client.count(50, { intervalMs: 1 }, { metadata: { "x-tenant": "stream" } });
    assertEquals(ok.status.code, Status.OK, ok.status.details);
    assertEquals(ok.values.map((v) => v.index), Array.from({ length: 50 }, (_, i) => i));
    assertEquals(ok.headers["x-served-by"], "echo");
    assertEquals(s.echo.metadata.at(-1)?.["x-tenant"], "stream");

    const failed = await client.count(3, { failCode: Status.UNAVAILABLE });
    assertEquals(failed.status.code, Status.UNAVAILABLE);
    assertEquals(failed.status.details, "failed after 3 replies");
    // grpc-js drops replies still being decoded once an error status is in: a prefix arrives.
    assertEquals(failed.values.map((v) => v.index), [0, 1, 2].slice(0, failed.values.length));
  });
});

Deno.test("grpc client streaming: a thousand messages in, one reply out", opts, async () => {
  const s = await mesh();
  await withClient(s, "h2", async (client) => {
    const values = Array.from({ length: 1000 }, (_, i) => i - 300);
    const r = await client.sum(values, { metadata: { "x-tenant": "sum" } });
    assertEquals(r.status.code, Status.OK, r.status.details);
    assertEquals(r.value, { sum: values.reduce((a, b) => a + b, 0), count: 1000 });
    assertEquals(s.echo.metadata.at(-1)?.["x-tenant"], "sum");
  });
});

Deno.test("grpc bidi streaming: each message is echoed before the next is sent", opts, async () => {
  const s = await mesh();
  await withClient(s, "h2", async (client) => {
    const texts = ["a", "b", "ünïcode ✓", "", "x".repeat(20_000)];
    const r = await client.chat(texts, { metadata: { "x-tenant": "chat" } });
    assertEquals(r.status.code, Status.OK, r.status.details);
    assertEquals(r.values, texts.map((text, i) => ({ text, seq: i + 1 })));
    assertEquals(r.headers["x-served-by"], "echo");
    assertEquals(s.echo.metadata.at(-1)?.["x-tenant"], "chat");
  });
});

// === statuses from the server ===

Deno.test(
  "grpc error statuses from the server pass through unchanged, non-ASCII details included",
  opts,
  async () => {
    const s = await mesh();
    const details = 'ünïcödé ✓ 100% 日本語 "quoted" tab\tend';
    await withClient(s, "h2", async (client) => {
      for (
        const code of [
          Status.CANCELLED,
          Status.INVALID_ARGUMENT,
          Status.NOT_FOUND,
          Status.PERMISSION_DENIED,
          Status.RESOURCE_EXHAUSTED,
          Status.FAILED_PRECONDITION,
          Status.UNIMPLEMENTED,
          Status.INTERNAL,
          Status.UNAVAILABLE,
          Status.DATA_LOSS,
          Status.UNAUTHENTICATED,
        ]
      ) {
        const r = await client.fail(code, `${code}: ${details}`, { "x-why": `code-${code}` });
        assertEquals(r.status.code, code);
        assertEquals(r.status.details, `${code}: ${details}`);
        assertEquals(r.status.trailers["x-why"], `code-${code}`);
        assertEquals(r.value, undefined);
      }
    });
    // On the wire: meshctl forwards the server's percent-encoded grpc-message as it is, not re-encoded.
    const body = failRequest(Status.NOT_FOUND, details);
    const direct = await rawGrpc(s.echo.port, "Fail", body);
    const proxied = await rawGrpc(s.mesh.port("h2"), "Fail", body);
    assertTrailersOnly(proxied, Status.NOT_FOUND, "Fail through meshctl");
    assert(/^[\x20-\x7e]*$/.test(proxied.headers["grpc-message"]!), proxied.headers["grpc-message"]);
    assertEquals(proxied.headers["grpc-message"], direct.headers["grpc-message"]);
  },
);

// === deadlines ===

Deno.test(
  "grpc a client deadline shorter than the route timeout reaches the server as grpc-timeout",
  opts,
  async () => {
    const s = await mesh();
    await withClient(s, "h2", async (client) => {
      const expired = s.echo.expired;
      const arrivals = s.echo.deadlines.length;
      const r = await client.sleep(5000, { deadlineMs: 400 });
      assertEquals(r.status.code, Status.DEADLINE_EXCEEDED, r.status.details);
      await s.echo.until(() => s.echo.expired === expired + 1, "the server to see the deadline pass");
      const left = s.echo.deadlines[arrivals]!;
      assert(left > 0 && left <= 400, `deadline left on arrival at the server: ${left} ms`);
    });
  },
);

Deno.test(
  "grpc a route timeout shorter than the client deadline is meshctl's own DEADLINE_EXCEEDED",
  opts,
  async () => {
    const s = await mesh();
    // The upstream takes the stream and never answers: only meshctl's route timeout can end the call.
    const metadata = { "x-route": "silent" };
    let elapsed = 0;
    const d = await statDeltas(s, ["upstream/cluster.silent/request_timeout"], async () => {
      await withClient(s, "h2", async (client) => {
        const start = performance.now();
        const r = await client.sleep(5000, { deadlineMs: 10_000, metadata });
        elapsed = performance.now() - start;
        assertEquals(r.status.code, Status.DEADLINE_EXCEEDED, r.status.details);
        assertEquals(r.status.details, "upstream request timed out");
      });
      assertTrailersOnly(
        await rawGrpc(s.mesh.port("h2"), "Sleep", sleepRequest(5000), { ...metadata, "grpc-timeout": "10S" }),
        Status.DEADLINE_EXCEEDED,
        "route timeout",
      );
    });
    assertEquals(d["upstream/cluster.silent/request_timeout"], 2);
    assert(elapsed >= SHORT_ROUTE_TIMEOUT_MS - 20 && elapsed < 3000, `answered after ${elapsed} ms`);
  },
);

Deno.test(
  "grpc grpc-timeout never extends a route timeout: a longer client deadline is cut at the route's",
  opts,
  async () => {
    const s = await mesh();
    await withClient(s, "h2", async (client) => {
      const arrivals = s.echo.deadlines.length;
      const cancelled = s.echo.cancelled;
      const start = performance.now();
      const r = await client.sleep(5000, { deadlineMs: 30_000, metadata: { "x-route": "short-timeout" } });
      const elapsed = performance.now() - start;
      assertEquals(r.status.code, Status.DEADLINE_EXCEEDED, r.status.details);
      assertEquals(r.status.details, "upstream request timed out");
      assert(elapsed >= SHORT_ROUTE_TIMEOUT_MS - 20 && elapsed < 3000, `answered after ${elapsed} ms`);
      // The client's own deadline went on as it was; meshctl cancelled the call when it gave up.
      const left = s.echo.deadlines[arrivals];
      assert(left !== undefined && left > 25_000 && left <= 30_000, `the server was given ${left} ms`);
      await s.echo.until(() => s.echo.cancelled === cancelled + 1, "the server to see the call cancelled");
    });
  },
);

Deno.test(
  "grpc a stream whose response started within the route timeout may run past it",
  opts,
  async () => {
    const s = await mesh();
    await withClient(s, "h2", async (client) => {
      // 10 replies 80 ms apart: headers at once, the stream ends ~720 ms later, well past the route's 300 ms.
      const start = performance.now();
      const r = await client.count(10, { intervalMs: 80 }, { metadata: { "x-route": "short-timeout" } });
      const elapsed = performance.now() - start;
      assertEquals(r.status.code, Status.OK, r.status.details);
      assertEquals(r.values.map((v) => v.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert(elapsed > SHORT_ROUTE_TIMEOUT_MS, `the stream took only ${elapsed} ms`);
    });
  },
);

// === meshctl's local replies ===

Deno.test("grpc local reply: no route is UNIMPLEMENTED (12), trailers-only", opts, async () => {
  const s = await mesh();
  const port = s.mesh.port("h2");
  const path = "/meshctl.test.Unknown/Call";
  const status = await callPath(port, path, { "grpc.default_authority": "routing.test" });
  assertEquals(status.code, Status.UNIMPLEMENTED, status.details);
  assertEquals(status.details, "no route matched");
  assertTrailersOnly(await rawGrpc(port, path, grpcFrame([]), {}, "routing.test"), 12, "no route");
});

Deno.test("grpc local reply: a cluster without hosts is UNAVAILABLE (14), trailers-only", opts, async () => {
  const s = await mesh();
  const metadata = { "x-route": "empty" };
  await withClient(s, "h2", async (client) => {
    const r = await client.say("nobody home", { metadata });
    assertEquals(r.status.code, Status.UNAVAILABLE, r.status.details);
    assertEquals(r.status.details, "no healthy upstream host");
  });
  assertTrailersOnly(await rawGrpc(s.mesh.port("h2"), "Say", grpcFrame([]), metadata), 14, "no hosts");
});

Deno.test(
  "grpc local reply: an upstream refusing connections is UNAVAILABLE (14), trailers-only",
  opts,
  async () => {
    const s = await mesh();
    const metadata = { "x-route": "dead" };
    const d = await statDeltas(s, ["upstream/cluster.dead/connection_con_fail"], async () => {
      await withClient(s, "h2", async (client) => {
        const r = await client.say("knock knock", { metadata });
        assertEquals(r.status.code, Status.UNAVAILABLE, r.status.details);
        // The kind, not the upstream's address: that stays in meshctl's log.
        assertEquals(r.status.details, "connect failure");
      });
      assertTrailersOnly(
        await rawGrpc(s.mesh.port("h2"), "Say", grpcFrame([]), metadata),
        14,
        "connect failure",
      );
    });
    assert(d["upstream/cluster.dead/connection_con_fail"]! >= 2, JSON.stringify(d));
  },
);

Deno.test(
  "grpc local reply: max_requests overflow is RESOURCE_EXHAUSTED (8), trailers-only",
  opts,
  async () => {
    const s = await mesh();
    const metadata = { "x-route": "max-requests" };
    await withClient(s, "h2", async (client) => {
      const hold = new AbortController();
      const sleeps = s.echo.callsOf("Sleep");
      const held = client.sleep(10_000, { metadata, signal: hold.signal });
      try {
        await s.echo.until(() => s.echo.callsOf("Sleep") === sleeps + 1, "the held call to reach the server");
        const r = await client.say("one too many", { metadata });
        assertEquals(r.status.code, Status.RESOURCE_EXHAUSTED, r.status.details);
        assertEquals(r.status.details, "cluster max_requests reached");
        assertTrailersOnly(
          await rawGrpc(s.mesh.port("h2"), "Say", grpcFrame([]), metadata),
          8,
          "max_requests",
        );
      } finally {
        hold.abort();
      }
      assertEquals((await held).status.code, Status.CANCELLED);
    });
  },
);

Deno.test(
  "grpc local reply: max_pending_requests overflow is RESOURCE_EXHAUSTED (8), trailers-only",
  opts,
  async () => {
    const s = await mesh();
    const metadata = { "x-route": "max-pending" };
    await withClient(s, "h2", async (client) => {
      const hold = new AbortController();
      const sleeps = s.narrow.callsOf("Sleep");
      // The only connection allowed carries one stream (the server's limit): the next call waits for it.
      const held = client.sleep(10_000, { metadata, signal: hold.signal });
      try {
        await s.narrow.until(
          () => s.narrow.callsOf("Sleep") === sleeps + 1,
          "the held call to reach the server",
        );
        const d = await statDeltas(s, ["upstream/cluster.one_pending/request_pending_overflow"], async () => {
          // Sent in this order on one connection: the first takes the one pending slot, the second overflows.
          const [queued, over] = [client.say("queued", { metadata }), client.say("overflow", { metadata })];
          const r = await over;
          assertEquals(r.status.code, Status.RESOURCE_EXHAUSTED, r.status.details);
          assertEquals(r.status.details, "upstream pending queue overflow");
          assertTrailersOnly(
            await rawGrpc(s.mesh.port("h2"), "Say", grpcFrame([]), metadata),
            8,
            "max_pending_requests",
          );
          hold.abort(); // the held call ends: the queued one takes its stream
          const q = await queued;
          assertEquals(q.status.code, Status.OK, q.status.details);
          assertEquals(q.value?.server, "narrow");
        });
        assertEquals(d["upstream/cluster.one_pending/request_pending_overflow"], 2);
      } finally {
        hold.abort();
      }
      assertEquals((await held).status.code, Status.CANCELLED);
    });
  },
);

// === routing ===

Deno.test("grpc routing by service, method and metadata picks the cluster", opts, async () => {
  const s = await mesh();
  const routing = { channelOptions: { "grpc.default_authority": "routing.test" } };
  await withClient(s, "h2", async (client) => {
    // Exact /meshctl.test.Echo/Say → say; the rest of the service → echo.
    assertEquals((await client.say("by method")).value?.server, "say");
    assertEquals((await client.count(1)).headers["x-served-by"], "echo");
    assertEquals((await client.sum([1, 2])).value, { sum: 3, count: 2 });
    // A header matcher on metadata comes first in the table: it takes every method.
    const gold = { metadata: { "x-tenant": "gold" } };
    assertEquals((await client.say("by tenant", gold)).value?.server, "gold");
    assertEquals((await client.count(1, {}, gold)).headers["x-served-by"], "gold");
    assertEquals(
      (await client.say("other tenant", { metadata: { "x-tenant": "silver" } })).value?.server,
      "say",
    );
  }, routing);
  assertEquals([s.say.callsOf("Say"), s.gold.callsOf("Say"), s.gold.callsOf("Count")], [2, 1, 1]);
});

// === concurrency ===

Deno.test("grpc 1,000 concurrent unary calls on one client connection all succeed", opts, async () => {
  const s = await mesh();
  const metadata = { "x-route": "fanout" };
  const keys = ["downstream/listener.h2/connection_total", "upstream/cluster.fanout/connection_total"];
  let elapsed = 0;
  const d = await statDeltas(s, keys, async () => {
    await withClient(s, "h2", async (client) => {
      const start = performance.now();
      const results = await client.sayMany(1000, { metadata, deadlineMs: 30_000 });
      elapsed = performance.now() - start;
      const failed = results.filter((r) => r.status.code !== Status.OK);
      assertEquals(failed.length, 0, `${failed.length} failed, first: ${JSON.stringify(failed[0]?.status)}`);
      assertEquals(new Set(results.map((r) => r.value?.message)).size, 1000);
      assert(results.every((r) => r.value?.server === "fanout"));
      assertEquals(client.state(), "READY");
    });
  });
  assertEquals(s.fanout.callsOf("Say"), 1000);
  // One downstream connection in; upstream, the pool's max_connections_per_host (2), never one per call.
  assertEquals(d["downstream/listener.h2/connection_total"], 1);
  assertEquals([s.fanout.connections, d["upstream/cluster.fanout/connection_total"]], [2, 2]);
  assert(elapsed < 20_000, `1,000 calls took ${elapsed} ms`);
});

// === large messages ===

async function largeBothWays(
  s: Shared,
  name: string,
  requestBytes: number,
  replyBytes: number,
): Promise<void> {
  await withClient(s, name, async (client) => {
    const r = await client.large(requestBytes, replyBytes, { deadlineMs: 30_000 });
    assertEquals(r.status.code, Status.OK, r.status.details);
    assertEquals(r.value?.receivedBytes, requestBytes);
    assertEquals(r.value?.receivedIntact, true, "the server got a different request payload");
    const payload = r.value!.payload;
    assertEquals(payload.length, replyBytes);
    const expected = patternPayload(replyBytes);
    const at = payload.findIndex((b, i) => b !== expected[i]); // byte by byte: deepEqual is slow here
    assertEquals(at, -1, `reply differs at byte ${at}`);
  }, { channelOptions: LARGE_LIMITS });
}

Deno.test("grpc large messages (6 MiB in, 8 MiB out) cross meshctl byte for byte", opts, async () => {
  const s = await mesh();
  await largeBothWays(s, "h2", 6 << 20, 8 << 20);
});

Deno.test(
  "grpc large messages cross 65535-byte stream and connection windows on both sides",
  opts,
  async () => {
    const s = await mesh();
    // meshctl lets the client (and, by the cluster's same option, the server) send it 64 KiB at a time,
    // and credits each stream back only as it passes the bytes on.
    const session = await connectH2(s.mesh.port("small"));
    const advertised = session.remoteSettings.initialWindowSize;
    await session.close();
    assertEquals(advertised, SMALL_WINDOW);
    await largeBothWays(s, "small", 5 << 20, 4 << 20);
  },
);

// === cancellation ===

Deno.test(
  "grpc a client cancelling a stream resets the upstream stream, and stats show it",
  opts,
  async () => {
    const s = await mesh();
    const keys = [
      "downstream/listener.h2/request_reset",
      "codec/listener.h2/http2_rst_received_cancel",
      "upstream/cluster.echo/request_local_reset",
      "codec/cluster.echo/http2_rst_sent_cancel",
    ];
    await withClient(s, "h2", async (client) => {
      const cancelled = s.echo.cancelled;
      const counts = s.echo.callsOf("Count");
      const d = await statDeltas(s, keys, async () => {
        const abort = new AbortController();
        const call = client.count(1000, { intervalMs: 20 }, { signal: abort.signal });
        await s.echo.until(() => s.echo.callsOf("Count") === counts + 1, "the stream to reach the server");
        abort.abort();
        const r = await call;
        assertEquals(r.status.code, Status.CANCELLED, r.status.details);
        await s.echo.until(() => s.echo.cancelled === cancelled + 1, "the server to see the cancellation");
      });
      assertEquals(d, Object.fromEntries(keys.map((k) => [k, 1])));
    });
  },
);

// === listeners ===

Deno.test("grpc a downstream_protocol Auto listener takes gRPC (the HTTP/2 preface)", opts, async () => {
  const s = await mesh();
  await withClient(s, "auto", async (client) => {
    const r = await client.say("auto", { metadata: { "x-tenant": "auto" } });
    assertEquals(r.status.code, Status.OK, r.status.details);
    assertEquals([r.value?.server, r.value?.metadata["x-tenant"]], ["echo", "auto"]);
    const chat = await client.chat(["one", "two"]);
    assertEquals(chat.values, [{ text: "one", seq: 1 }, { text: "two", seq: 2 }]);
    const failed = await client.fail(Status.ABORTED, "auto ✗");
    assertEquals([failed.status.code, failed.status.details], [Status.ABORTED, "auto ✗"]);
  });
});

Deno.test(
  "grpc a MOSN config (Http2 both ways, extend_config http2_use_stream) serves every call kind",
  opts,
  async () => {
    const server = await startGrpcServer({ name: "mosn-upstream" });
    // The shape of MOSN's own gRPC/HTTP2 streaming test config (test/cases/simple/http2_test.go), as JSON.
    const dir = await Deno.makeTempDir({ prefix: "meshctl-grpc-" });
    const path = `${dir}/mosn_config.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        servers: [{
          default_log_path: "stdout",
          default_log_level: "ERROR",
          routers: [{
            router_config_name: "router_to_server",
            virtual_hosts: [{
              name: "server_hosts",
              domains: ["*"],
              routers: [{ match: { prefix: "/" }, route: { cluster_name: "server_cluster" } }],
            }],
          }],
          listeners: [{
            name: "grpc_listener",
            address: "127.0.0.1:0",
            bind_port: true,
            filter_chains: [{
              filters: [{
                type: "proxy",
                config: {
                  downstream_protocol: "Http2",
                  upstream_protocol: "Http2",
                  router_config_name: "router_to_server",
                  extend_config: { http2_use_stream: true },
                },
              }],
            }],
          }],
        }],
        cluster_manager: {
          clusters: [{
            name: "server_cluster",
            type: "SIMPLE",
            lb_type: "LB_RANDOM",
            hosts: [{ address: server.address }],
          }],
        },
        admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
      }),
    );
    let m: Meshctl | undefined;
    try {
      m = await startMeshctl(path);
      const client = grpcClient(`127.0.0.1:${m.port("grpc_listener")}`, {
        channelOptions: { "grpc.use_local_subchannel_pool": 1 },
      });
      try {
        const say = await client.say("mosn", { metadata: { "x-tenant": "mosn" } });
        assertEquals([say.status.code, say.value?.server, say.value?.metadata["x-tenant"]], [
          0,
          "mosn-upstream",
          "mosn",
        ]);
        assertEquals((await client.count(3)).values.map((v) => v.index), [0, 1, 2]);
        assertEquals((await client.sum([4, 5])).value, { sum: 9, count: 2 });
        assertEquals((await client.chat(["x"])).values, [{ text: "x", seq: 1 }]);
        const t = await client.trailers({ "x-k": "v" });
        assertEquals([t.status.trailers["x-k"], t.status.trailers["x-trailer-bin"]], [
          "v",
          Uint8Array.of(0, 1, 2, 255),
        ]);
      } finally {
        client.close();
      }
    } finally {
      const code = m === undefined ? 0 : await m.stop();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
      assertEquals(code, 0, m?.logs());
    }
  },
);

// === last: nothing left behind ===

Deno.test("grpc after all of the above no stream is left open and meshctl exits 0", opts, async () => {
  const s = await mesh();
  const stats = await adminStats(s.mesh.adminPort);
  const open: string[] = [];
  for (const [type, scopes] of Object.entries(stats)) {
    for (const [scope, values] of Object.entries(scopes)) {
      for (const name of ["request_active", "request_pending_active", "http2_streams_active"]) {
        if ((values[name] ?? 0) !== 0) open.push(`${type}/${scope}/${name} = ${values[name]}`);
      }
    }
  }
  shared = undefined;
  started = undefined;
  const code = await s.mesh.stop();
  await Promise.all(s.servers.map((p) => p.stop()));
  s.silent.close();
  assertEquals(open, [], "streams left open");
  assertEquals(code, 0, s.mesh.logs());
});
