/**
 * Apache Dubbo through the real meshctl: dubbo2.js consumers (and a raw-frame client for exact bytes,
 * bulk and hostile input) → meshctl (`downstream_protocol: dubbo`, `upstream_protocol: dubbo`, routes on
 * the `service`, `version`, `group` and `method` headers) → hessian.js providers. All on loopback.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, type Meshctl, PRIVATE_LOOPBACK, startMeshctl } from "./_e2e.ts";
import {
  DEMO_SERVICE,
  dubboConsumer,
  type DubboProvider,
  type DubboServiceSpec,
  startDubboProvider,
} from "./_peers/dubbo_peers.ts";
import {
  DUBBO2JS_CALL,
  PROVIDER_EXCEPTION_REPLY,
  PROVIDER_HEARTBEAT_REPLY,
  PROVIDER_VALUE_REPLY,
} from "./_peers/dubbo_golden.ts";
import {
  decodeResponse,
  DubboRawClient,
  encodeFrame,
  encodeHeartbeat,
  encodeRequest,
  frameId,
  frameStatus,
  HEADER_LENGTH,
  int,
  type JavaArg,
  parseHeader,
  Status,
  str,
  toHex,
  withId,
} from "./_peers/dubbo_raw.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // meshctl's process, dubbo2.js's sockets

/** The one listener of `dubboConfig()`, on 127.0.0.1:0. */
const LISTENER = "dubbo_in";

const GREETING_SERVICE = "org.apache.dubbo.demo.GreetingService";

interface DubboSetup {
  routes: unknown[];
  clusters: Record<string, string[]>;
  clusterExtra?: Record<string, unknown>;
  proxyExtra?: Record<string, unknown>;
}

function dubboConfig(s: DubboSetup): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "rpc",
        virtual_hosts: [{ name: "rpc", domains: ["*"], routers: s.routes }],
      }],
      listeners: [{
        name: LISTENER,
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: {
              downstream_protocol: "dubbo",
              upstream_protocol: "dubbo",
              router_config_name: "rpc",
              ...(s.proxyExtra ?? {}),
            },
          }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: Object.entries(s.clusters).map(([name, hosts]) => ({
        name,
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: hosts.map((address) => ({ address })),
        ...(s.clusterExtra ?? {}),
      })),
    },
  };
}

/** A route on exact header values (`service`, `version`, `group`, `method`…). */
function route(
  headers: Record<string, string>,
  cluster: string,
  extra: Record<string, unknown> = {},
): unknown {
  return {
    match: { headers: Object.entries(headers).map(([name, value]) => ({ name, value })) },
    route: { cluster_name: cluster, ...extra },
  };
}

/** Runs `fn` with a meshctl on `setup` and the port of its dubbo listener; checks a clean exit. */
async function withMesh(
  setup: DubboSetup,
  fn: (mesh: Meshctl, port: number) => Promise<void>,
): Promise<void> {
  const mesh = await startMeshctl(dubboConfig(setup));
  try {
    await fn(mesh, mesh.port(LISTENER));
  } finally {
    const code = await mesh.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
  }
}

type StatsTree = Awaited<ReturnType<typeof adminStats>>;

function scope(stats: StatsTree, type: string, ...parts: string[]): Record<string, number> {
  const found = Object.entries(stats[type] ?? {}).find(([k]) => parts.every((p) => k.includes(p)))?.[1];
  assert(found !== undefined, `no ${type} scope with ${parts.join(", ")} in ${JSON.stringify(stats)}`);
  return found!;
}

/** Runs `n` tasks with at most `width` in flight. */
async function pooled<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return out;
}

const V1 = { version: "1.0.0" };
const BLUE = { version: "1.0.0", group: "blue" };

/** A request frame for DEMO_SERVICE at 1.0.0 (no group) by default. */
function request(id: bigint | number, method: string, args: JavaArg[] = [], o: Record<string, unknown> = {}) {
  return encodeRequest({ id, service: DEMO_SERVICE, ...V1, method, args, ...o });
}

function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

Deno.test(
  "dubbo: dubbo2.js calls reach two hessian.js providers told apart by service, version and group",
  opts,
  async () => {
    // blue exports DemoService 1.0.0/blue; green exports DemoService 2.0.0/green, and GreetingService
    // and DemoService.echo under 1.0.0/blue, which the routes send it by service and by method.
    const greenExtra: DubboServiceSpec[] = [
      { service: GREETING_SERVICE, ...BLUE, methods: { whoami: () => "green" } },
      { service: DEMO_SERVICE, ...BLUE, methods: { echo: ([x]) => `green:${x}` } },
    ];
    const blue = startDubboProvider({ identity: "blue", ...BLUE });
    const green = startDubboProvider({
      identity: "green",
      version: "2.0.0",
      group: "green",
      services: greenExtra,
    });
    try {
      await withMesh({
        routes: [
          route({ service: DEMO_SERVICE, ...BLUE, method: "echo" }, "green"),
          route({ service: DEMO_SERVICE, ...BLUE }, "blue"),
          route({ service: DEMO_SERVICE, version: "2.0.0", group: "green" }, "green"),
          route({ service: GREETING_SERVICE, ...BLUE }, "green"),
        ],
        clusters: { blue: [blue.address], green: [green.address] },
      }, async (mesh, port) => {
        const consumer = dubboConsumer(`127.0.0.1:${port}`);
        try {
          for (let i = 0; i < 10; i++) {
            assertEquals(await consumer.call(DEMO_SERVICE, "whoami", [], BLUE), "blue");
            assertEquals(
              await consumer.call(DEMO_SERVICE, "whoami", [], { version: "2.0.0", group: "green" }),
              "green",
            );
            assertEquals(await consumer.call(GREETING_SERVICE, "whoami", [], BLUE), "green");
            assertEquals(await consumer.call(DEMO_SERVICE, "echo", [str(`m${i}`)], BLUE), `green:m${i}`);
          }
          // A version and group no route names: meshctl's own answer, an error to dubbo2.js.
          const err = await consumer.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0", group: "green" })
            .then(() => undefined, errorOf);
          assert(err instanceof Error, "an unrouted call must fail");
          assertMatch(err.message, /404/);
        } finally {
          await consumer.close();
        }
        assertEquals(blue.calls.map((c) => `${c.group}/${c.service}:${c.version}.${c.method}`), [
          ...Array.from({ length: 10 }, () => `blue/${DEMO_SERVICE}:1.0.0.whoami`),
        ]);
        assertEquals(green.callsOf("whoami"), 20);
        assertEquals(green.callsOf("echo"), 10);
        assertEquals(
          new Set(green.calls.map((c) => `${c.group}/${c.service}:${c.version}`)),
          new Set([
            `green/${DEMO_SERVICE}:2.0.0`,
            `blue/${GREETING_SERVICE}:1.0.0`,
            `blue/${DEMO_SERVICE}:1.0.0`,
          ]),
        );
        const ds = scope(await adminStats(mesh.adminPort), "downstream", LISTENER);
        assertEquals(ds["request_total"], 41);
        assertEquals(ds["request_404_total"], 1);
      });
    } finally {
      await blue.stop();
      await green.stop();
    }
  },
);

Deno.test("dubbo: the unrouted call is answered SERVICE_NOT_FOUND with the client's id", opts, async () => {
  const provider = startDubboProvider();
  try {
    await withMesh({
      routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
      clusters: { svc: [provider.address] },
    }, async (_mesh, port) => {
      const raw = await DubboRawClient.connect(port);
      try {
        const res = await raw.call(
          encodeRequest({ id: 0xfedc_ba98_7654_3210n, service: "no.Such", method: "x" }),
        );
        const h = parseHeader(res);
        assertEquals([h.id, h.status, h.isRequest, h.event], [
          0xfedc_ba98_7654_3210n,
          Status.SERVICE_NOT_FOUND,
          false,
          false,
        ]);
        assertMatch(decodeResponse(res).errorMessage!, /^404\|/);
      } finally {
        raw.close();
      }
      assertEquals(provider.calls.length, 0);
    });
  } finally {
    await provider.stop();
  }
});

Deno.test(
  "dubbo: 2,000 calls, 200 in flight, over one client connection, each answer matched",
  opts,
  async () => {
    const provider = startDubboProvider();
    try {
      await withMesh({
        routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
        clusters: { svc: [provider.address] },
      }, async (mesh, port) => {
        const consumer = dubboConsumer(`127.0.0.1:${port}`, { invokeTimeoutMs: 20_000 });
        try {
          const results = await pooled(
            2000,
            200,
            (i) => consumer.call(DEMO_SERVICE, "plus", [int(i), int(100_000 + 3 * i)], V1).catch(errorOf),
          );
          const wrong = results.map((r, i) => [i, r] as const).filter(([i, r]) => r !== 100_000 + 4 * i);
          assertEquals(wrong.slice(0, 5), [], `${wrong.length} calls failed or were mismatched`);
        } finally {
          await consumer.close();
        }
        assertEquals(provider.callsOf("plus"), 2000);
        assertEquals(provider.connections, 1, "one multiplexed upstream connection");
        const stats = await adminStats(mesh.adminPort);
        const ds = scope(stats, "downstream", LISTENER);
        assertEquals(ds["connection_total"], 1, "dubbo2.js kept one connection to meshctl");
        assertEquals(ds["request_total"], 2000);
        assertEquals(ds["request_200_total"], 2000);
        assertEquals(scope(stats, "upstream", "cluster.svc")["connection_total"], 1);
      });
    } finally {
      await provider.stop();
    }
  },
);

Deno.test("dubbo: pipelined raw calls come back with their own 64-bit ids, out of order", opts, async () => {
  const provider = startDubboProvider();
  try {
    await withMesh({
      routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
      clusters: { svc: [provider.address] },
    }, async (_mesh, port) => {
      const raw = await DubboRawClient.connect(port);
      try {
        // Slow calls first, fast ones after: answers overtake each other. Ids use all 64 bits.
        const base = 0xffff_ffff_0000_0000n;
        const frames: Uint8Array[] = [];
        for (let i = 0; i < 100; i++) {
          const ms = i < 50 ? 200 - 2 * i : 0;
          frames.push(request(base + BigInt(i), "slow", [int(ms)]));
        }
        await raw.send(concat(frames));
        const order: bigint[] = [];
        while (order.length < 100) {
          const f = await raw.expectFrame(5000);
          const r = decodeResponse(f);
          const i = Number(r.header.id - base);
          assertEquals(r.value, i < 50 ? 200 - 2 * i : 0, `answer to call ${i}`);
          order.push(r.header.id);
        }
        assertEquals(new Set(order).size, 100);
        assert(order[0]! >= base + 50n, "a fast call overtook the slow ones");
      } finally {
        raw.close();
      }
    });
  } finally {
    await provider.stop();
  }
});

Deno.test("dubbo: heartbeats are answered by meshctl itself and never reach the provider", opts, async () => {
  const provider = startDubboProvider();
  try {
    await withMesh({
      routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
      clusters: { svc: [provider.address] },
    }, async (mesh, port) => {
      const raw = await DubboRawClient.connect(port);
      try {
        assertEquals(decodeResponse(await raw.call(request(1n, "plus", [int(1), int(2)]))).value, 3);
        // Dubbo's heartbeat response, byte for byte: flag 0x22, status 20, the same id, body N.
        for (const id of [77n, 0n, 0xffff_ffff_ffff_ffffn]) {
          assertEquals(
            toHex(await raw.call(encodeHeartbeat(id))),
            toHex(withId(PROVIDER_HEARTBEAT_REPLY, id)),
          );
        }
        // A oneway heartbeat gets nothing: the next frame back answers the next call.
        await raw.send(encodeHeartbeat(78n, false));
        assertEquals(frameId(await raw.call(request(2n, "whoami"))), 2n);
      } finally {
        raw.close();
      }
      // dubbo2.js's own heartbeat (id 0) on its connection, then calls go on.
      const consumer = dubboConsumer(`127.0.0.1:${port}`);
      try {
        assertEquals(await consumer.call(DEMO_SERVICE, "plus", [int(2), int(2)], V1), 4);
        consumer.heartbeat();
        assertEquals(await consumer.call(DEMO_SERVICE, "plus", [int(3), int(3)], V1), 6);
      } finally {
        await consumer.close();
      }
      assertEquals(provider.heartbeats, 0, "no heartbeat reached the provider");
      assertEquals(provider.calls.length, 4);
      const ds = scope(await adminStats(mesh.adminPort), "downstream", LISTENER);
      assertEquals(ds["heartbeat_total"], 5);
      assertEquals(ds["request_total"], 4, "heartbeats are not requests");
    });
  } finally {
    await provider.stop();
  }
});

Deno.test("dubbo: a oneway call is forwarded once and nothing comes back", opts, async () => {
  const provider = startDubboProvider();
  try {
    await withMesh({
      routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc", { timeout: "300ms" })],
      clusters: { svc: [provider.address] },
    }, async (_mesh, port) => {
      const raw = await DubboRawClient.connect(port);
      try {
        const oneway = request(10n, "echo", [str("once")], { twoWay: false });
        await raw.send(oneway);
        await provider.until(() => provider.callsOf("echo") === 1, "the oneway call at the provider");
        const seen = provider.calls[0]!;
        assertEquals([seen.twoWay, seen.args], [false, ["once"]]);
        // The provider never answers a oneway call: no route-timeout answer either, after 300 ms.
        assertEquals(await raw.next(700), "timeout", "no answer to a oneway call, not even a timeout");
        const res = await raw.call(request(11n, "echo", [str("two-way")]));
        assertEquals([frameId(res), decodeResponse(res).value], [11n, "two-way"]);
        assertEquals(provider.callsOf("echo"), 2, "the oneway call ran once");
      } finally {
        raw.close();
      }
    });
  } finally {
    await provider.stop();
  }
});

Deno.test("dubbo: frames pass through byte for byte but for the request id", opts, async () => {
  const provider = startDubboProvider({ identity: "p1", group: "blue", recordWire: true });
  try {
    await withMesh({
      routes: [route({ service: DEMO_SERVICE, ...BLUE }, "svc")],
      clusters: { svc: [provider.address] },
    }, async (_mesh, port) => {
      const raw = await DubboRawClient.connect(port);
      try {
        // dubbo2.js's captured call, and the provider's value and exception answers.
        for (const id of [1n, 0xffff_ffff_ffff_fffen]) {
          const res = await raw.call(withId(DUBBO2JS_CALL, id));
          assertEquals(toHex(res), toHex(withId(PROVIDER_VALUE_REPLY, id)));
          const got = provider.received.at(-1)!;
          assertEquals(
            toHex(withId(got, 0n)),
            toHex(withId(DUBBO2JS_CALL, 0n)),
            "the provider got the call as sent",
          );
        }
        const fail = await raw.call(request(5n, "fail", [str("boom")], { group: "blue" }));
        assertEquals(toHex(fail), toHex(withId(PROVIDER_EXCEPTION_REPLY, 5n)));
      } finally {
        raw.close();
      }
      // dubbo2.js sees the provider's exception as the provider threw it.
      const consumer = dubboConsumer(`127.0.0.1:${port}`);
      try {
        const err = await consumer.call(DEMO_SERVICE, "fail", [str("bad")], BLUE).then(
          () => undefined,
          errorOf,
        );
        assertEquals([err?.name, err?.message], ["java.lang.RuntimeException", "bad"]);
      } finally {
        await consumer.close();
      }
    });
  } finally {
    await provider.stop();
  }
});

Deno.test(
  "dubbo: a provider crashing mid-call: each call ran at most once, errors come promptly, then recovery",
  opts,
  async () => {
    // The provider comes back on the same port: on a loopback address of its own, no test running in
    // parallel can take that port while it is down.
    const provider: DubboProvider = startDubboProvider({ hostname: PRIVATE_LOOPBACK });
    const ROUTE_TIMEOUT_MS = 20_000;
    try {
      await withMesh({
        routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc", { timeout: `${ROUTE_TIMEOUT_MS}ms` })],
        clusters: { svc: [provider.address] },
      }, async (_mesh, port) => {
        const raw = await DubboRawClient.connect(port);
        const consumer = dubboConsumer(`127.0.0.1:${port}`, { invokeTimeoutMs: 30_000 });
        try {
          assertEquals(await consumer.call(DEMO_SERVICE, "plus", [int(1), int(1)], V1), 2);
          // 200 slow calls in flight, each with its own tag, then the provider dies under them.
          const N = 200;
          await raw.send(concat(Array.from({ length: N }, (_, i) =>
            request(i + 1, "slow", [int(10_000)], {
              attachments: { tag: `call-${i}` },
            }))));
          await provider.until(() => provider.callsOf("slow") === N, "all slow calls at the provider");
          const t0 = Date.now();
          provider.crash();
          const statuses = new Map<bigint, number>();
          while (statuses.size < N) {
            const f = await raw.expectFrame(ROUTE_TIMEOUT_MS / 2);
            statuses.set(frameId(f), frameStatus(f));
          }
          const took = Date.now() - t0;
          assert(took < 3000, `the ${N} failures took ${took} ms (route timeout ${ROUTE_TIMEOUT_MS} ms)`);
          assert([...statuses.values()].every((s) => s !== Status.OK), "no call in flight succeeded");
          // Nothing was sent twice: each tag reached the provider once.
          const tags = new Map<string, number>();
          for (const c of provider.calls) {
            const tag = String(c.attachments["tag"] ?? "");
            if (tag) tags.set(tag, (tags.get(tag) ?? 0) + 1);
          }
          assertEquals(tags.size, N);
          assertEquals(
            [...tags.values()].filter((n) => n > 1).length,
            0,
            "a call reached the provider twice",
          );

          // dubbo2.js calling the provider's crash(): a prompt error from meshctl, not a client timeout.
          provider.restart();
          let t1 = Date.now();
          const crashErr = await consumer.call(DEMO_SERVICE, "crash", [], V1).then(() => undefined, errorOf);
          assert(crashErr instanceof Error, "crash() must fail");
          assert(!/remote invoke timeout/.test(crashErr.message), crashErr.message);
          assert(Date.now() - t1 < 3000, `crash error took ${Date.now() - t1} ms`);
          assertEquals(provider.callsOf("crash"), 1, "the crash call reached the provider exactly once");

          // Provider down: a prompt error (connect refused), not a hang.
          t1 = Date.now();
          const downErr = await consumer.call(DEMO_SERVICE, "plus", [int(3), int(3)], V1).then(
            () => undefined,
            errorOf,
          );
          assert(downErr instanceof Error, "a call to a stopped provider must fail");
          assert(Date.now() - t1 < 3000, `error took ${Date.now() - t1} ms`);

          // Back on the same port: calls succeed again (bounded wait).
          provider.restart();
          let ok: unknown;
          for (let i = 0; i < 30 && ok !== 8; i++) {
            ok = await consumer.call(DEMO_SERVICE, "plus", [int(4), int(4)], V1).catch(errorOf);
            if (ok !== 8) await new Promise((r) => setTimeout(r, 100));
          }
          assertEquals(ok, 8);
          const again = await Promise.all(
            Array.from({ length: 50 }, (_, i) => consumer.call(DEMO_SERVICE, "plus", [int(i), int(i)], V1)),
          );
          assertEquals(again, Array.from({ length: 50 }, (_, i) => 2 * i));
        } finally {
          raw.close();
          await consumer.close();
        }
      });
    } finally {
      await provider.stop();
    }
  },
);

Deno.test(
  "dubbo: a provider dying with calls in flight beside a healthy one: none runs twice",
  opts,
  async () => {
    const healthy = startDubboProvider({ identity: "healthy" });
    const dying = startDubboProvider({ identity: "dying" });
    try {
      await withMesh({
        routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
        clusters: { svc: [healthy.address, dying.address] },
      }, async (_mesh, port) => {
        const raw = await DubboRawClient.connect(port);
        try {
          const N = 300;
          await raw.send(concat(Array.from({ length: N }, (_, i) =>
            request(i + 1, "slow", [int(150)], {
              attachments: { tag: `call-${i}` },
            }))));
          // Round robin: about half go to the dying provider; it dies once 60 have arrived there.
          await dying.until(() => dying.callsOf("slow") >= 60, "60 calls at the dying provider");
          dying.crash();
          const statuses = new Map<bigint, number>();
          while (statuses.size < N) {
            const f = await raw.expectFrame(10_000);
            statuses.set(frameId(f), frameStatus(f));
          }
          const failed = [...statuses.values()].filter((s) => s !== Status.OK).length;
          assert(failed > 0, "the calls in flight at the dead provider failed (they may have run there)");
          const tags = new Map<string, number>();
          for (const c of [...healthy.calls, ...dying.calls]) {
            const tag = String(c.attachments["tag"]);
            tags.set(tag, (tags.get(tag) ?? 0) + 1);
          }
          const twice = [...tags.entries()].filter(([, n]) => n > 1);
          assertEquals(twice.length, 0, `${twice.length} calls reached the providers more than once`);
        } finally {
          raw.close();
        }
      });
    } finally {
      await healthy.stop();
      await dying.stop();
    }
  },
);

Deno.test(
  "dubbo: bad input closes only its own connection while another client's calls go on",
  opts,
  async () => {
    const provider = startDubboProvider();
    try {
      await withMesh({
        routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
        clusters: { svc: [provider.address] },
      }, async (mesh, port) => {
        const consumer = dubboConsumer(`127.0.0.1:${port}`, { invokeTimeoutMs: 20_000 });
        try {
          assertEquals(await consumer.call(DEMO_SERVICE, "plus", [int(1), int(1)], V1), 2);
          const good = pooled(
            500,
            50,
            (i) => consumer.call(DEMO_SERVICE, "plus", [int(i), int(i)], V1).catch(errorOf),
          );
          const valid = request(9n, "echo", [str("x")]);
          const wrongMagic = valid.slice();
          wrongMagic[0] = 0xca;
          wrongMagic[1] = 0xfe;
          const oversized = valid.slice(0, HEADER_LENGTH);
          new DataView(oversized.buffer).setUint32(12, 0x7fff_ffff); // body length ≈ 2 GiB: over any limit
          const otherSerialization = valid.slice();
          otherSerialization[2] = (otherSerialization[2]! & ~0x1f) | 3; // java serialization, hessian2 body
          // A body cut inside the attachments, its length field telling the truth about the cut.
          const cut = valid.length - 12;
          const truncated = valid.slice(0, cut);
          new DataView(truncated.buffer).setUint32(12, cut - HEADER_LENGTH);
          // A well-formed frame whose body is not an invocation: the path is an int.
          const malformed = encodeFrame(
            valid[2]!,
            0,
            12n,
            Uint8Array.of(0x05, ...new TextEncoder().encode("2.0.2"), 0x91),
          );
          // [what, bytes, the id of the BAD_REQUEST answer a whole but undecodable call gets first]
          const garbage: [string, Uint8Array, bigint | undefined][] = [
            ["wrong magic", wrongMagic, undefined],
            ["body length over the limit", oversized, undefined],
            ["serialization other than hessian2", otherSerialization, 9n],
            ["truncated hessian2 body", truncated, 9n],
            ["malformed hessian2 body", malformed, 12n],
          ];
          for (const [what, bytes, answeredId] of garbage) {
            const raw = await DubboRawClient.connect(port);
            try {
              await raw.send(bytes);
              if (answeredId !== undefined) {
                const res = await raw.expectFrame(3000);
                assertEquals([frameId(res), frameStatus(res)], [answeredId, Status.BAD_REQUEST], what);
                assertMatch(decodeResponse(res).errorMessage!, /^400\|/, what);
              }
              assert(await raw.waitClosed(3000), `${what}: meshctl kept the connection open`);
            } finally {
              raw.close();
            }
          }
          const results = await good;
          assertEquals(results, Array.from({ length: 500 }, (_, i) => 2 * i));
          assertEquals(await consumer.call(DEMO_SERVICE, "plus", [int(5), int(6)], V1), 11);
        } finally {
          await consumer.close();
        }
        assertEquals([provider.badRequests, provider.badFrames], [0, 0], "no garbage reached the provider");
        assertEquals(provider.calls.length, 502);
        const stats = await adminStats(mesh.adminPort);
        const ds = scope(stats, "downstream", LISTENER);
        assertEquals(ds["protocol_error_total"], 5);
        const codec = scope(stats, "codec", LISTENER);
        assertEquals(codec["dubbo_protocol_error_total"], 5);
        assertEquals(codec["dubbo_decode_error_total"], 3, "serialization, truncated and malformed bodies");
      });
    } finally {
      await provider.stop();
    }
  },
);

Deno.test(
  "dubbo: routing metadata over max_header_size is refused BAD_REQUEST and closes that connection only",
  opts,
  async () => {
    const provider = startDubboProvider();
    try {
      await withMesh({
        routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc")],
        clusters: { svc: [provider.address] },
        proxyExtra: { extend_config: { max_header_size: 1024 } },
      }, async (mesh, port) => {
        const other = await DubboRawClient.connect(port);
        const raw = await DubboRawClient.connect(port);
        try {
          // Under the limit: served. A big argument does not count, only the metadata does.
          const big = request(1n, "echo", [str("x".repeat(50_000))], {
            attachments: { note: "y".repeat(500) },
          });
          assertEquals(decodeResponse(await raw.call(big)).value, "x".repeat(50_000));
          // Attachments over it: BAD_REQUEST with the reason, then the connection closes.
          const res = await raw.call(
            request(2n, "echo", [str("z")], { attachments: { note: "y".repeat(2000) } }),
          );
          assertEquals([frameId(res), frameStatus(res)], [2n, Status.BAD_REQUEST]);
          assertMatch(decodeResponse(res).errorMessage!, /max_header_size/);
          assert(await raw.waitClosed(3000), "meshctl kept the connection open");
          assertEquals(decodeResponse(await other.call(request(3n, "echo", [str("ok")]))).value, "ok");
        } finally {
          raw.close();
          other.close();
        }
        assertEquals(provider.callsOf("echo"), 2);
        const codec = scope(await adminStats(mesh.adminPort), "codec", LISTENER);
        assertEquals(codec["dubbo_decode_error_total"], 1);
      });
    } finally {
      await provider.stop();
    }
  },
);

Deno.test(
  "dubbo: a timeout attachment shorter than the route's is answered CLIENT_TIMEOUT at that time",
  opts,
  async () => {
    const provider = startDubboProvider();
    try {
      await withMesh({
        routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc", { timeout: "5s" })],
        clusters: { svc: [provider.address] },
      }, async (mesh, port) => {
        const raw = await DubboRawClient.connect(port);
        try {
          // Java Dubbo's form: the attachment is a string.
          let t0 = Date.now();
          let res = await raw.call(
            request(1n, "slow", [int(3000)], { attachments: { timeout: "300" } }),
            4000,
          );
          const took = Date.now() - t0;
          assertEquals([frameId(res), frameStatus(res)], [1n, Status.CLIENT_TIMEOUT]);
          assertMatch(decodeResponse(res).errorMessage!, /^504\|/);
          // Before the provider's answer (3 s; the route's 5 s would have let it through): the attachment's
          // 300 ms fired. The upper bound is the provider's time, not a guess at load (1.5 s failed under load).
          assert(took >= 280 && took < 3000, `answered after ${took} ms, the attachment said 300`);
          // A longer attachment does not extend the route's timeout.
          t0 = Date.now();
          res = await raw.call(request(2n, "slow", [int(200)], { attachments: { timeout: "60000" } }), 4000);
          assertEquals([frameStatus(res), decodeResponse(res).value], [Status.OK, 200]);
          assert(Date.now() - t0 < 5000, "answered within the route's timeout");
        } finally {
          raw.close();
        }
        // dubbo2.js's form: its per-service `timeout` goes as an int attachment.
        const consumer = dubboConsumer(`127.0.0.1:${port}`, { invokeTimeoutMs: 10_000 });
        try {
          const t0 = Date.now();
          const err = await consumer.call(DEMO_SERVICE, "slow", [int(3000)], { ...V1, timeout: 400 })
            .then(() => undefined, errorOf);
          const took = Date.now() - t0;
          assert(err instanceof Error, "the call must time out");
          assert(
            !/remote invoke timeout/.test(err.message),
            `meshctl answered, not the client: ${err.message}`,
          );
          assert(took >= 380 && took < 3000, `answered after ${took} ms, the attachment said 400`);
        } finally {
          await consumer.close();
        }
        const ds = scope(await adminStats(mesh.adminPort), "downstream", LISTENER);
        assertEquals(ds["request_504_total"], 2);
      });
    } finally {
      await provider.stop();
    }
  },
);

Deno.test("dubbo: the route timeout answers CLIENT_TIMEOUT when the provider is slow", opts, async () => {
  const provider = startDubboProvider();
  try {
    await withMesh({
      routes: [route({ service: DEMO_SERVICE, ...V1 }, "svc", { timeout: "300ms" })],
      clusters: { svc: [provider.address] },
    }, async (_mesh, port) => {
      const t0 = Date.now();
      const raw = await DubboRawClient.connect(port);
      try {
        const res = await raw.call(request(3n, "slow", [int(2000)]), 4000);
        const took = Date.now() - t0;
        assertEquals([frameId(res), frameStatus(res)], [3n, Status.CLIENT_TIMEOUT]);
        assert(took >= 280 && took < 1500, `route timeout took ${took} ms`);
      } finally {
        raw.close();
      }
    });
  } finally {
    await provider.stop();
  }
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
