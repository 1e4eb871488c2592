/**
 * Dubbo through the real meshctl with raw frames on both sides: a raw-socket client → meshctl → raw
 * providers written here (no dubbo library; dubbo2.js end-to-end tests live with the dubbo peers).
 * Routing by service, version and group; 64-bit client ids; heartbeats; oneway; local replies; the
 * `timeout` attachment; a malformed body. Everything on 127.0.0.1.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, type Meshctl, startMeshctl } from "./_e2e.ts";
import { toHex, waitClosed, writeAll } from "./_peers/bolt_raw.ts";
import { HessianWriter, type Invocation, invocationBody } from "../src/codec/dubbo/_test_hessian.ts";
import { Hessian2Reader } from "../src/codec/dubbo/hessian2.ts";
import { readInvocation } from "../src/codec/dubbo/invocation.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes outlive steps

const LISTENER = "dubbo_in";
const SERVICE = "com.demo.HelloService";

// === Frames ===

function frame(flag: number, status: number, id: bigint, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(16 + body.length);
  const v = new DataView(f.buffer);
  f.set([0xda, 0xbb, flag, status]);
  v.setBigUint64(4, id);
  v.setUint32(12, body.length);
  f.set(body, 16);
  return f;
}

function idOf(f: Uint8Array): bigint {
  return new DataView(f.buffer, f.byteOffset).getBigUint64(4);
}

function call(id: bigint, inv: Partial<Invocation> & { group?: string; timeout?: string }, flag = 0xc2) {
  const attachments: Record<string, unknown> = { path: inv.path ?? SERVICE, interface: inv.path ?? SERVICE };
  if (inv.group !== undefined) attachments.group = inv.group;
  if (inv.timeout !== undefined) attachments.timeout = inv.timeout;
  return frame(
    flag,
    0,
    id,
    invocationBody({
      path: SERVICE,
      version: "1.0.0",
      method: "sayHello",
      argTypes: "Ljava/lang/String;",
      args: (w) => w.string("world"),
      attachments,
      ...inv,
    }),
  );
}

/** The string a response carries: RESPONSE_VALUE's value, or an error status's message. */
function replyText(f: Uint8Array): string {
  const r = new Hessian2Reader(f, 16, f.length);
  if (f[3] === 20) assertEquals(r.readInt(), 1, "RESPONSE_VALUE");
  return r.readString();
}

/** Splits a byte stream into dubbo frames. */
class Frames {
  #buf = new Uint8Array(0);
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** The next frame, or null at EOF, or "timeout". */
  async next(timeoutMs = 5000): Promise<Uint8Array | null | "timeout"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#buf.length >= 16) {
        const len = 16 + new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(12);
        if (this.#buf.length >= len) {
          const f = this.#buf.slice(0, len);
          this.#buf = this.#buf.slice(len);
          return f;
        }
      }
      const chunk = new Uint8Array(65536);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        this.#conn.read(chunk).catch(() => null),
        new Promise<"timeout">((res) =>
          timer = setTimeout(() => res("timeout"), Math.max(0, deadline - Date.now()))
        ),
      ]);
      clearTimeout(timer);
      if (n === "timeout") return "timeout";
      if (n === null) return null;
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
    }
  }
}

// === A raw provider ===

interface Provider {
  readonly address: string;
  /** Calls received: upstream id, method, headers read as meshctl reads them. */
  readonly calls: { id: bigint; method: string; headers: Record<string, string>; oneway: boolean }[];
  heartbeats: number;
  /** Sends a heartbeat to every connected consumer (meshctl); resolves with the answers' frames. */
  heartbeat(id: bigint): Promise<Uint8Array[]>;
  stop(): Promise<void>;
}

/** Answers `sayHello` with "<name>:<method>"; a method named `silent` gets no answer. */
function startProvider(name: string): Provider {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const pendingHeartbeats: ((f: Uint8Array) => void)[] = [];
  const p: Provider = {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    calls: [],
    heartbeats: 0,
    async heartbeat(id) {
      const answers = [...conns].map(() => new Promise<Uint8Array>((res) => pendingHeartbeats.push(res)));
      for (const c of conns) await writeAll(c, frame(0xe2, 0, id, Uint8Array.of(0x4e)));
      return await Promise.all(answers);
    },
    async stop() {
      listener.close();
      for (const c of conns) c.close();
      await accepting;
    },
  };
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const frames = new Frames(conn);
    try {
      for (;;) {
        const f = await frames.next(60_000);
        if (!(f instanceof Uint8Array)) return;
        const flag = f[2]!;
        if ((flag & 0x80) === 0) {
          if (flag & 0x20) pendingHeartbeats.shift()?.(f);
          continue;
        }
        if (flag & 0x20) {
          p.heartbeats++;
          continue;
        }
        const names: string[] = [];
        const values: string[] = [];
        const method = readInvocation(f, 16, f.length, 65536, names, values);
        p.calls.push({
          id: idOf(f),
          method,
          headers: Object.fromEntries(names.map((n, i) => [n, values[i]!])),
          oneway: (flag & 0x40) === 0,
        });
        if ((flag & 0x40) === 0 || method === "silent") continue;
        const body = new HessianWriter().int(1).string(`${name}:${method}`).bytes();
        await writeAll(conn, frame(0x02, 20, idOf(f), body));
      }
    } catch {
      // the connection went away
    } finally {
      conns.delete(conn);
      conn.close();
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) void serve(conn);
    } catch {
      // closed
    }
  })();
  return p;
}

// === meshctl ===

function route(headers: [string, string][], cluster: string, extra: Record<string, unknown> = {}): unknown {
  return {
    match: { headers: headers.map(([name, value]) => ({ name, value })) },
    route: { cluster_name: cluster, ...extra },
  };
}

function dubboConfig(routes: unknown[], clusters: Record<string, string>): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "rpc",
        virtual_hosts: [{ name: "rpc", domains: ["*"], routers: routes }],
      }],
      listeners: [{
        name: LISTENER,
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "dubbo", router_config_name: "rpc" } }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: Object.entries(clusters).map(([name, address]) => ({
        name,
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address }],
      })),
    },
  };
}

async function withMesh(
  routes: unknown[],
  clusters: Record<string, string>,
  fn: (mesh: Meshctl, port: number) => Promise<void>,
): Promise<void> {
  const mesh = await startMeshctl(dubboConfig(routes, clusters));
  try {
    await fn(mesh, mesh.port(LISTENER));
  } finally {
    const code = await mesh.stop();
    assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
  }
}

async function client(port: number): Promise<{ conn: Deno.TcpConn; frames: Frames }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return { conn, frames: new Frames(conn) };
}

async function expectFrame(frames: Frames, timeoutMs = 5000): Promise<Uint8Array> {
  const f = await frames.next(timeoutMs);
  assert(f instanceof Uint8Array, `expected a frame, got ${f}`);
  return f;
}

Deno.test(
  "dubbo: routes by service, version and group to two providers, 64-bit ids kept end to end",
  opts,
  async () => {
    const blue = startProvider("blue");
    const v2 = startProvider("v2");
    try {
      await withMesh(
        [
          route([["service", SERVICE], ["version", "2.0.0"]], "v2"),
          route([["service", SERVICE], ["version", "1.0.0"], ["group", "blue"]], "blue"),
        ],
        { blue: blue.address, v2: v2.address },
        async (mesh, port) => {
          const { conn, frames } = await client(port);
          try {
            // Ids past 2^53: a Number would lose them; the client must get its exact 8 bytes back.
            const big = 0xfedc_ba98_7654_3210n;
            const sent = [
              { id: big, frame: call(big, { group: "blue" }), from: "blue" },
              { id: big + 1n, frame: call(big + 1n, { version: "2.0.0" }), from: "v2" },
              { id: 7n, frame: call(7n, { group: "blue", method: "sayBye" }), from: "blue" },
            ];
            for (const s of sent) await writeAll(conn, s.frame);
            const got = new Map<bigint, Uint8Array>();
            for (let i = 0; i < sent.length; i++) {
              const f = await expectFrame(frames);
              got.set(idOf(f), f);
            }
            for (const s of sent) {
              const f = got.get(s.id);
              assert(f !== undefined, `no answer for id ${s.id.toString(16)}`);
              assertEquals([f[2], f[3]], [0x02, 20]);
              assertMatch(replyText(f), new RegExp(`^${s.from}:say`));
            }
            // Upstream ids are meshctl's own u32 ids (high word 0); the headers are what routing saw.
            for (const c of [...blue.calls, ...v2.calls]) {
              assert(
                c.id > 0n && c.id < 2n ** 32n,
                `upstream id ${c.id}`,
              );
            }
            assertEquals(blue.calls.map((c) => c.headers["group"]), ["blue", "blue"]);
            assertEquals(v2.calls.map((c) => c.headers["version"]), ["2.0.0"]);
            // No route: a local reply in dubbo terms (SERVICE_NOT_FOUND, "404|…"), the connection kept.
            await writeAll(conn, call(9n, { group: "red" }));
            const miss = await expectFrame(frames);
            assertEquals([idOf(miss), miss[2], miss[3]], [9n, 0x02, 60]);
            assertMatch(replyText(miss), /^404\|/);
            await writeAll(conn, call(10n, { group: "blue" }));
            assertEquals(idOf(await expectFrame(frames)), 10n);
            const stats = await adminStats(mesh.adminPort);
            const ds = Object.entries(stats["downstream"] ?? {}).find(([k]) => k.includes(LISTENER))?.[1];
            assertEquals(ds?.["request_total"], 5);
            assertEquals(ds?.["request_404_total"], 1);
          } finally {
            conn.close();
          }
        },
      );
    } finally {
      await blue.stop();
      await v2.stop();
    }
  },
);

Deno.test(
  "dubbo: heartbeats are answered on both sides and never forwarded; oneway calls get nothing back",
  opts,
  async () => {
    const p = startProvider("p");
    try {
      await withMesh([route([["service", SERVICE]], "p")], { p: p.address }, async (_mesh, port) => {
        const { conn, frames } = await client(port);
        try {
          // dubbo2.js's heartbeat: flag 0xe2, id 0, body N.
          await writeAll(conn, frame(0xe2, 0, 0n, Uint8Array.of(0x4e)));
          assertEquals(toHex(await expectFrame(frames)), "dabb22140000000000000000000000014e");
          await writeAll(conn, call(1n, {}, 0x82)); // oneway
          await writeAll(conn, call(2n, {}));
          const f = await expectFrame(frames);
          assertEquals(idOf(f), 2n, "the oneway call got no answer; the next call did");
          assertEquals(p.calls.map((c) => c.oneway), [true, false]);
          assertEquals(p.heartbeats, 0, "never forwarded");
          // The provider's own heartbeat on the upstream connection is answered by meshctl.
          const answers = await p.heartbeat(0x1_0000_0005n);
          assertEquals(answers.map(toHex), ["dabb22140000000100000005000000014e"]);
        } finally {
          conn.close();
        }
      });
    } finally {
      await p.stop();
    }
  },
);

Deno.test("dubbo: the timeout attachment caps the route timeout (CLIENT_TIMEOUT 30)", opts, async () => {
  const p = startProvider("p");
  try {
    await withMesh(
      [route([["service", SERVICE]], "p", { timeout: "20s" })],
      { p: p.address },
      async (_mesh, port) => {
        const { conn, frames } = await client(port);
        try {
          const started = Date.now();
          await writeAll(conn, call(3n, { method: "silent", timeout: "300" }));
          const f = await expectFrame(frames, 10_000);
          const took = Date.now() - started;
          assertEquals([idOf(f), f[3]], [3n, 30]);
          assertMatch(replyText(f), /^504\|/);
          assert(took >= 250 && took < 5000, `answered after ${took} ms`);
        } finally {
          conn.close();
        }
      },
    );
  } finally {
    await p.stop();
  }
});

Deno.test(
  "dubbo: a malformed body is answered BAD_REQUEST, counted, and only that connection closes",
  opts,
  async () => {
    const p = startProvider("p");
    try {
      await withMesh([route([["service", SERVICE]], "p")], { p: p.address }, async (mesh, port) => {
        const good = await client(port);
        const bad = await client(port);
        try {
          // The descriptor names two arguments, the body carries one.
          await writeAll(bad.conn, call(4n, { argTypes: "Ljava/lang/String;I" }));
          const f = await expectFrame(bad.frames);
          assertEquals([idOf(f), f[2], f[3]], [4n, 0x02, 40]);
          assertMatch(replyText(f), /^400\|malformed dubbo request body: .*attachments are missing/);
          assert(await waitClosed(bad.conn, 5000), "the bad connection is closed");
          await writeAll(good.conn, call(5n, {}));
          assertEquals(idOf(await expectFrame(good.frames)), 5n, "the other connection still works");
          assertEquals(p.calls.length, 1, "the malformed call never reached the provider");
          const stats = await adminStats(mesh.adminPort);
          const codec = Object.entries(stats["codec"] ?? {}).find(([k]) => k.includes(LISTENER))?.[1];
          assertEquals(codec?.["dubbo_decode_error_total"], 1);
          assertEquals(codec?.["dubbo_protocol_error_total"], 1);
        } finally {
          good.conn.close();
          bad.conn.close();
        }
      });
    } finally {
      await p.stop();
    }
  },
);
