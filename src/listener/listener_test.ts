/**
 * Listener with real loopback clients, the real HTTP/1 and bolt codecs and a real proxy context (routes
 * with direct responses, one cluster for a held-back origin), and the sweep on a FakeClock: the test
 * moves time, and waits on events (bytes the codec consumed, bytes or EOF at the client) for the rest.
 */
import { assert, assertEquals, assertMatch } from "../../tests/_assert.ts";
import { startLoopbackServer } from "../../tests/_peers/loopback_server.ts";
import {
  codecNames,
  type ConnectionIO,
  defaultCodecOptions,
  getCodec,
  type ProtocolCodec,
  type ServerConnection,
} from "../codec/mod.ts";
import { FakeClock, silentLogger } from "../core/mod.ts";
import { DEFAULT_VALIDATION_CONTEXT, parseConfigText } from "../config/mod.ts";
import type { ListenerConfig, ProxyFilterConfig, TlsContextConfig } from "../config/mod.ts";
import { DownstreamStats, type ProxyContext } from "../proxy/mod.ts";
import { compileRouteTable } from "../router/mod.ts";
import { StatsRegistry } from "../stats/mod.ts";
import { ClusterManager } from "../upstream/mod.ts";
import { alpnForCodecs, TlsServer, TlsServerStats } from "../tls/mod.ts";
import { Listener, type ListenerPlan } from "./listener.ts";
import { Events } from "../../tests/_events.ts";
import { curl } from "../../tests/_e2e.ts";
import { makeTestPki, type TestPki } from "../../tests/_peers/certs.ts";
import {
  sClient,
  sendAndWaitForClose,
  tlsGarbage,
  TRUNCATED_CLIENT_HELLO,
} from "../../tests/_peers/tls_clients.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A codec that is `inner`, watched: counts server connections, bytes they consumed and EOFs in `state`,
 * and notifies `events` once the real codec is done with them. The listener sees the real codec's state.
 */
function watched(
  inner: ProtocolCodec,
  state: { servers: number; bytesFed: number; eofs: number },
  events: Events,
): ProtocolCodec {
  return {
    name: inner.name,
    multiplexed: inner.multiplexed,
    ...(inner.alpn === undefined ? {} : { alpn: inner.alpn }),
    match: (d) => inner.match(d),
    newClientConnection: (io, handler, options) => inner.newClientConnection(io, handler, options),
    newServerConnection(io: ConnectionIO, handler, options): ServerConnection {
      const server = inner.newServerConnection(io, handler, options);
      state.servers++;
      events.notify();
      return {
        feed(data) {
          const r = server.feed(data);
          const done = () => {
            state.bytesFed += data.length;
            events.notify();
          };
          if (r === undefined) queueMicrotask(done);
          else r.then(done, done);
          return r;
        },
        onEof() {
          server.onEof();
          state.eofs++;
          // The listener forgets the connection a few promise hops later (no I/O in between): notify
          // after a macrotask turn, when all of them have run.
          setTimeout(() => events.notify(), 0);
        },
        drain: () => server.drain(),
        abort: (e) => server.abort(e),
        get activeStreams() {
          return server.activeStreams;
        },
        get awaitingHead() {
          return server.awaitingHead;
        },
        get headsReceived() {
          return server.headsReceived;
        },
      };
    },
  };
}

interface Setup {
  /** downstream_protocol: one name, or a list to sniff (default Http1). */
  protocol?: string;
  /** connection_idle_timeout; "0s" disables it. */
  idle?: string;
  /** request_headers_timeout; "0s" disables it. */
  headers?: string;
  maxConnections?: number;
  /** Port of the origin behind `/slow`. */
  originPort?: number;
  /** Terminate TLS with these contexts (set on the listener config, as the snapshot would). */
  tls?: { contexts: TlsContextConfig[]; inspector?: boolean; handshakeTimeoutMs?: number };
}

/** A listener on 127.0.0.1:0 built the way server/Runtime builds one, but on `clock`. */
async function startListener(setup: Setup, clock: FakeClock) {
  const config = {
    servers: [{
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "v",
          domains: ["*"],
          routers: [
            { match: { prefix: "/slow" }, route: { cluster_name: "origin" } },
            { match: { prefix: "/" }, direct_response: { status: 200, body: "hi" } },
          ],
        }],
      }],
      listeners: [{
        name: "test",
        address: "127.0.0.1:0",
        bind_port: true,
        ...(setup.idle === undefined ? {} : { connection_idle_timeout: setup.idle }),
        ...(setup.maxConnections === undefined ? {} : { max_connections: setup.maxConnections }),
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: {
              downstream_protocol: setup.protocol ?? "Http1",
              router_config_name: "r",
              ...(setup.headers === undefined ? {} : { request_headers_timeout: setup.headers }),
            },
          }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "origin",
        type: "SIMPLE",
        lb_type: "LB_RANDOM",
        hosts: [{ address: `127.0.0.1:${setup.originPort ?? 1}` }],
      }],
    },
  };
  const { snapshot, errors } = parseConfigText(JSON.stringify(config), "listener_test.json", {
    ...DEFAULT_VALIDATION_CONTEXT,
    protocols: codecNames(),
  });
  assertEquals(errors, []);
  const parsed = snapshot!.servers[0]!.listeners[0]!;
  const l: ListenerConfig = setup.tls === undefined ? parsed : {
    ...parsed,
    tlsContexts: setup.tls.contexts,
    inspector: setup.tls.inspector ?? false,
    tlsHandshakeTimeoutMs: setup.tls.handshakeTimeoutMs ?? parsed.tlsHandshakeTimeoutMs,
  };
  const proxyCfg = l.networkFilters[0] as ProxyFilterConfig;
  const registry = new StatsRegistry();
  const stats = new DownstreamStats(registry.scope("downstream", { listener: l.name }));
  const clusters = new ClusterManager(snapshot!.clusters, registry, silentLogger);
  const proxy: ProxyContext = {
    listenerName: l.name,
    routeTable: compileRouteTable(snapshot!.servers[0]!.routers[0]!),
    clusters,
    stats,
    logger: silentLogger,
    filterFactories: [],
    accessLogs: [],
    upstreamProtocol: undefined,
    retryBufferLimit: 0,
    forwarding: { useRemoteAddress: true, xffNumTrustedHops: 0 },
    streamIdleTimeoutMs: 0,
  };
  const events = new Events();
  const state = { servers: 0, bytesFed: 0, eofs: 0 };
  const codecs = proxyCfg.downstreamProtocols.map((name) => watched(getCodec(name)!, state, events));
  const plan: ListenerPlan = {
    config: l,
    stats,
    proxy,
    codecs,
    autoDetect: proxyCfg.autoDetect,
    codecOptions: defaultCodecOptions,
    tcpProxy: undefined,
    fallbackToTcpProxy: false,
    requestHeadersTimeoutMs: proxyCfg.requestHeadersTimeoutMs,
    logger: silentLogger,
    clock,
    tls: l.tlsContexts.length === 0 ? undefined : new TlsServer({
      contexts: l.tlsContexts,
      defaultAlpn: alpnForCodecs(codecs),
      handshakeTimeoutMs: l.tlsHandshakeTimeoutMs,
      stats: new TlsServerStats(registry.scope("downstream", { listener: l.name })),
    }),
  };
  const listener = new Listener(plan);
  const port = (await listener.start()).port;
  return {
    listener,
    plan,
    port,
    stats,
    /** The listener's downstream counters by name (TLS ones included). */
    counters: () => registry.scope("downstream", { listener: l.name }).snapshot().counters,
    events,
    state,
    async close() {
      listener.close();
      await listener.stopped;
      clusters.close();
    },
  };
}

/** A bolt v1 RPC request frame: the 22-byte request header (no class, no header map) and `content`. */
function boltRequest(id: number, content: Uint8Array): Uint8Array {
  const f = new Uint8Array(22 + content.length);
  const v = new DataView(f.buffer);
  f[0] = 1; // protocol: bolt v1
  f[1] = 1; // request
  v.setUint16(2, 1); // RPC request
  f[4] = 1; // ver2
  v.setUint32(5, id);
  f[9] = 1; // codec: hessian2
  v.setInt32(10, 3000); // timeout
  v.setUint32(18, content.length);
  f.set(content, 22);
  return f;
}

/** A raw client connection that keeps everything it reads, so tests can wait for bytes or EOF. */
class Client {
  readonly conn: Deno.Conn;
  #got = new Uint8Array(0);
  #eof = false;
  readonly #events = new Events();
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reading = this.#readLoop();
  }

  static async connect(port: number): Promise<Client> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true); // a head sent in pieces must not wait for delayed ACKs
    return new Client(conn);
  }

  /** A TLS client (Deno's rustls), handshake done; `hostname` is also the SNI. */
  static async connectTls(port: number, caPem: string, hostname = "localhost"): Promise<Client> {
    const conn = await Deno.connectTls({ hostname, port, caCerts: [caPem] });
    await conn.handshake();
    return new Client(conn);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null; // reset counts as closed
      }
      if (n === null) break;
      const next = new Uint8Array(this.#got.length + n);
      next.set(this.#got);
      next.set(buf.subarray(0, n), this.#got.length);
      this.#got = next;
      this.#events.notify();
    }
    this.#eof = true;
    this.#events.notify();
  }

  get text(): string {
    return dec.decode(this.#got);
  }

  get eof(): boolean {
    return this.#eof;
  }

  async send(s: string | Uint8Array): Promise<void> {
    const b = typeof s === "string" ? enc.encode(s) : s;
    let off = 0;
    while (off < b.length) off += await this.conn.write(b.subarray(off));
  }

  /** Waits until `n` HTTP responses (counted by status line) have arrived. */
  responses(n: number): Promise<void> {
    return this.#events.until(
      () => (this.text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= n,
      `${n} responses`,
    );
  }

  /** One request, waiting for its response. */
  async get(path = "/"): Promise<void> {
    const before = (this.text.match(/HTTP\/1\.1 \d{3}/g) ?? []).length;
    await this.send(`GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
    await this.responses(before + 1);
  }

  closed(): Promise<void> {
    return this.#events.until(() => this.#eof, "EOF at the client");
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }
}

Deno.test("Listener closes connections over max_connections at once and serves the others", async () => {
  const clock = new FakeClock();
  const l = await startListener({ maxConnections: 2 }, clock);
  const clients: Client[] = [];
  try {
    const a = await Client.connect(l.port);
    const b = await Client.connect(l.port);
    clients.push(a, b);
    await a.get();
    await b.get();
    assertEquals(l.listener.connections, 2);

    const over = await Client.connect(l.port);
    clients.push(over);
    await over.closed();
    assertEquals(over.text, "", "closed without a byte");
    assertEquals(l.stats.connectionOverflow.value, 1);
    assertEquals(l.state.servers, 2, "the overflowing connection never reached a codec");
    await a.get(); // the others are served as before
    await b.get();

    // A slot that frees up is taken by the next connection.
    await a.close();
    await l.events.until(() => l.listener.connections === 1, "the closed connection to be gone");
    const c = await Client.connect(l.port);
    clients.push(c);
    await c.get();
    assertMatch(c.text, /^HTTP\/1\.1 200/);
    assertEquals(l.stats.connectionOverflow.value, 1);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await l.close();
  }
});

Deno.test("Listener closes a connection quiet for connection_idle_timeout, and not a busy one", async () => {
  const clock = new FakeClock();
  // 1 s idle → a sweep every 250 ms; a connection is closed by the sweep that finds it quiet the 4th time.
  const l = await startListener({ idle: "1s", headers: "0s" }, clock);
  const quiet = await Client.connect(l.port);
  const spent = await Client.connect(l.port); // served a request, then went quiet
  const busy = await Client.connect(l.port);
  try {
    await spent.get();
    await l.events.until(() => l.state.servers === 3, "every connection at the codec");
    for (let sweep = 1; sweep <= 4; sweep++) {
      clock.tick(250);
      await busy.get(); // activity between every two sweeps
    }
    assertEquals(l.stats.connectionIdleTimeout.value, 0, "quiet for 1000 ms is not yet over the timeout");
    assert(!quiet.eof);
    clock.tick(250);
    assertEquals(l.stats.connectionIdleTimeout.value, 2);
    await quiet.closed();
    assertEquals(quiet.text, "", "an idle close sends nothing");
    await spent.closed();
    assertEquals((spent.text.match(/HTTP\/1\.1/g) ?? []).length, 1, "only its one response");

    for (let sweep = 6; sweep <= 12; sweep++) {
      clock.tick(250);
      await busy.get();
    }
    assert(!busy.eof, "the busy connection stays open");
    assertEquals(l.stats.connectionIdleTimeout.value, 2);
  } finally {
    await quiet.close();
    await spent.close();
    await busy.close();
    await l.close();
  }
});

Deno.test("Listener closes a request head still incomplete after request_headers_timeout with a 408", async () => {
  const clock = new FakeClock();
  // 1 s → a sweep every 250 ms; the 5th sweep that finds the same head incomplete closes it.
  const l = await startListener({ idle: "0s", headers: "1s" }, clock);
  const slow = await Client.connect(l.port);
  try {
    const head = "GET / HTTP/1.1\r\nHost: slowloris.example\r\nX-Padding: aaaaaaaa\r\n";
    let sent = 0;
    // A byte every 50 ms keeps the connection active, but the head never completes.
    for (let t = 50; t <= 1250; t += 50) {
      await slow.send(head[sent++]!);
      await l.events.until(() => l.state.bytesFed === sent, `byte ${sent} at the codec`);
      clock.tick(50);
      if (t === 1200) {
        assertEquals(l.stats.requestHeaderTimeout.value, 0, "not before the timeout");
        assert(!slow.eof);
      }
    }
    assertEquals(l.stats.requestHeaderTimeout.value, 1);
    await slow.closed();
    assertMatch(slow.text, /^HTTP\/1\.1 408 /);
    assertEquals((slow.text.match(/HTTP\/1\.1/g) ?? []).length, 1, "one reply");
  } finally {
    await slow.close();
    await l.close();
  }
});

Deno.test("Listener leaves complete requests alone under request_headers_timeout, even slow ones in a row", async () => {
  const clock = new FakeClock();
  const l = await startListener({ idle: "0s", headers: "1s" }, clock);
  const c = await Client.connect(l.port);
  try {
    // Each head is half-sent at a sweep and finished before the next one: incomplete at every sweep,
    // but never the same head twice.
    let fed = 0;
    for (let n = 1; n <= 8; n++) {
      const first = "GET / HTTP/1.1\r\nHost: t\r\n";
      await c.send(first);
      fed += first.length;
      await l.events.until(() => l.state.bytesFed === fed, "the half head at the codec");
      clock.tick(250);
      await c.send("\r\n");
      fed += 2;
      await c.responses(n);
    }
    // And a connection between requests has no head in progress at all.
    clock.tick(10_000);
    assertEquals(l.stats.requestHeaderTimeout.value, 0);
    await c.get();
    assertEquals((c.text.match(/HTTP\/1\.1 200/g) ?? []).length, 9);
    assert(!c.eof);
  } finally {
    await c.close();
    await l.close();
  }
});

Deno.test("Listener closes a bolt connection whose frame stays incomplete past request_headers_timeout", async () => {
  const clock = new FakeClock();
  const l = await startListener({ protocol: "bolt", idle: "0s", headers: "1s" }, clock);
  const c = await Client.connect(l.port);
  try {
    const frame = boltRequest(7, enc.encode("payload"));
    const partial = frame.subarray(0, frame.length - 1);
    let sent = 0;
    for (let sweep = 1; sweep <= 5; sweep++) {
      const step = sweep === 5 ? partial.length - sent : 3;
      await c.send(partial.subarray(sent, sent + step));
      sent += step;
      await l.events.until(() => l.state.bytesFed === sent, "the bytes at the codec");
      if (sweep === 5) assertEquals(l.stats.requestHeaderTimeout.value, 0, "not before the timeout");
      clock.tick(250);
    }
    assertEquals(l.stats.requestHeaderTimeout.value, 1);
    await c.closed();
  } finally {
    await c.close();
    await l.close();
  }
});

/** Advances `clock` by `ms` in `step`s, letting the drain loop (awaiting the clock) run after each. */
async function advance(clock: FakeClock, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.tick(step);
    await new Promise((r) => setTimeout(r, 1));
  }
}

Deno.test("Listener.drain() refuses new connections, answers a late request with Connection: close, and closes idle connections only after drain_idle_grace", async () => {
  let requests = 0;
  let releaseOrigin!: () => void;
  const released = new Promise<void>((r) => releaseOrigin = r);
  const originEvents = new Events();
  const upstream = startLoopbackServer(async (conn) => {
    const buf = new Uint8Array(4096);
    let head = "";
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) return;
      head += dec.decode(buf.subarray(0, n));
    }
    requests++;
    originEvents.notify();
    await released;
    await conn.write(enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow"));
    await conn.read(buf); // until the proxy closes
  });
  const clock = new FakeClock();
  // Sniffing: a connection that has said nothing yet has no codec connection to drain it.
  const l = await startListener({ protocol: "Http1,bolt", originPort: upstream.port }, clock);
  const idle = await Client.connect(l.port);
  const late = await Client.connect(l.port);
  const silent = await Client.connect(l.port);
  const busy = await Client.connect(l.port);
  try {
    await idle.get();
    await late.get();
    await busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    await originEvents.until(() => requests === 1, "the request at the origin");
    const draining = l.listener.drain(10_000);
    await Deno.connect({ hostname: "127.0.0.1", port: l.port }).then(
      (c) => {
        c.close();
        throw new Error("a draining listener accepted a connection");
      },
      // Reset: it reached the backlog before the pending accept was cancelled (drain waits for that
      // before telling any connection to go away).
      (e) =>
        assert(
          e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset,
          String(e),
        ),
    );
    await advance(clock, 500); // half the default grace (1 s)
    assert(!idle.eof && !silent.eof && !late.eof, "idle connections stay open within the grace");
    // The request that was on its way when the drain began: served, and told to go away.
    await late.get();
    assertMatch(
      late.text.slice(late.text.lastIndexOf("HTTP/1.1")),
      /^HTTP\/1\.1 200 [^]*connection: close\r\n/i,
    );
    await late.closed();
    await advance(clock, 600);
    await idle.closed();
    await silent.closed();
    assertEquals(silent.text, "");
    assert(!busy.eof, "the in-flight request's connection stays open");
    releaseOrigin();
    await busy.closed();
    assertMatch(busy.text, /^HTTP\/1\.1 200 [^]*\r\nconnection: close\r\n[^]*slow$/i);
    await advance(clock, 100);
    await draining;
    assertEquals(l.listener.connections, 0);
    const c = l.counters();
    assertEquals([c.drain_idle_close_total, c.drain_timeout_close_total], [2, 0]);
  } finally {
    releaseOrigin();
    for (const client of [idle, late, silent, busy]) await client.close();
    await l.close();
    await upstream.stop();
  }
});

Deno.test("Listener.drain() closes what is still busy at the drain timeout and counts it", async () => {
  let arrived = false;
  const originEvents = new Events();
  const upstream = startLoopbackServer(async (conn) => {
    await conn.read(new Uint8Array(4096)); // never answers
    arrived = true;
    originEvents.notify();
    await conn.read(new Uint8Array(4096));
  });
  const clock = new FakeClock();
  const l = await startListener({ originPort: upstream.port }, clock);
  const busy = await Client.connect(l.port);
  try {
    await busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    await originEvents.until(() => arrived, "the request at the origin");
    const draining = l.listener.drain(3_000);
    await advance(clock, 2_900);
    assert(!busy.eof, "in flight: kept until the timeout");
    await advance(clock, 200);
    await draining;
    await busy.closed();
    const c = l.counters();
    assertEquals([c.drain_idle_close_total, c.drain_timeout_close_total], [0, 1]);
  } finally {
    await busy.close();
    await l.close();
    await upstream.stop();
  }
});

// === TLS listeners ===

let pkiPromise: Promise<TestPki> | undefined;
const pki = () => pkiPromise ??= makeTestPki();

function tlsContext(p: TestPki, over: Partial<TlsContextConfig> & { pair?: "server" | "other" } = {}) {
  const pair = p[over.pair ?? "server"];
  const c: TlsContextConfig = {
    serverName: undefined,
    caCert: { path: p.ca.certPath, pem: p.ca.cert },
    certChain: { path: pair.certPath, pem: pair.cert },
    privateKey: { path: pair.keyPath, pem: pair.key },
    verifyClient: false,
    requireClientCert: false,
    insecureSkip: false,
    minVersion: undefined,
    maxVersion: undefined,
    alpn: [],
    matchSubjectAltNames: [],
    configPath: "listeners[0].filter_chains[0].tls_context",
    ...over,
  };
  return c;
}

const tlsOpts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "Listener (TLS) serves HTTP/1.1 over TLS and counts the connection from accept to close",
  tlsOpts,
  async () => {
    const p = await pki();
    const clock = new FakeClock();
    const l = await startListener({ tls: { contexts: [tlsContext(p)] } }, clock);
    try {
      const r = await curl(["--http1.1", "--cacert", p.ca.certPath, `https://localhost:${l.port}/`]);
      assertEquals(r.stdout, "hi", r.stderr);
      await l.events.until(() => l.listener.connections === 0, "the connection to be gone");
      const c = l.counters();
      assertEquals(c.tls_handshake_total, 1);
      assertEquals(c.connection_total, 1);
      assertEquals(c.connection_destroy, 1);
      assertEquals(l.stats.connectionActive.value, 0);
    } finally {
      await l.close();
    }
  },
);

Deno.test(
  "Listener (TLS) picks the codec by ALPN: h2 → Http2, http/1.1 → Http1, on one Auto listener",
  tlsOpts,
  async () => {
    const p = await pki();
    const l = await startListener({ protocol: "Auto", tls: { contexts: [tlsContext(p)] } }, new FakeClock());
    try {
      const url = `https://localhost:${l.port}/`;
      const h2 = await curl(["--http2", "-w", " %{http_version}", "--cacert", p.ca.certPath, url]);
      assertEquals(h2.stdout, "hi 2", h2.stderr);
      const h1 = await curl(["--http1.1", "-w", " %{http_version}", "--cacert", p.ca.certPath, url]);
      assertEquals(h1.stdout, "hi 1.1", h1.stderr);
    } finally {
      await l.close();
    }
  },
);

Deno.test(
  "Listener (TLS) bad handshakes close only their connection: a concurrent TLS client is served",
  tlsOpts,
  async () => {
    const p = await pki();
    const l = await startListener(
      { tls: { contexts: [tlsContext(p)], handshakeTimeoutMs: 1000 } },
      new FakeClock(),
    );
    const good = await Client.connectTls(l.port, p.ca.cert);
    try {
      await good.get();
      // A truncated ClientHello left hanging, garbage, and plaintext HTTP, while the good session is open.
      const truncated = sendAndWaitForClose(l.port, TRUNCATED_CLIENT_HELLO);
      const garbage = await sendAndWaitForClose(l.port, tlsGarbage(64 * 1024));
      const plain = await sendAndWaitForClose(l.port, enc.encode("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
      assert(garbage.closedByPeer && plain.closedByPeer);
      assert(
        !plain.head.includes("HTTP/"),
        `no HTTP answer on a TLS port (a TLS alert at most): ${plain.head}`,
      );
      await good.get(); // served while the truncated handshake is still pending
      assertEquals(l.listener.connections, 2, "the good session and the pending handshake");
      assert((await truncated).closedByPeer, "the handshake timeout closes it");
      await good.get();
      assertEquals((good.text.match(/HTTP\/1\.1 200/g) ?? []).length, 3);
      const c = l.counters();
      assertEquals(c.tls_fail_protocol_total, 2);
      assertEquals(c.tls_handshake_timeout_total, 1);
      assertEquals(c.tls_handshake_total, 1);
    } finally {
      await good.close();
      await l.close();
    }
  },
);

Deno.test("Listener (TLS) inspector serves plaintext HTTP and TLS on one port", tlsOpts, async () => {
  const p = await pki();
  const l = await startListener({ tls: { contexts: [tlsContext(p)], inspector: true } }, new FakeClock());
  try {
    const tls = await curl(["--http1.1", "--cacert", p.ca.certPath, `https://localhost:${l.port}/`]);
    assertEquals(tls.stdout, "hi", tls.stderr);
    const plain = await curl([`http://127.0.0.1:${l.port}/`]);
    assertEquals(plain.stdout, "hi", plain.stderr);
    const c = l.counters();
    assertEquals(c.tls_handshake_total, 1);
    assertEquals(c.tls_plaintext_total, 1);
  } finally {
    await l.close();
  }
});

Deno.test("Listener (TLS) closes a TLS connection quiet for connection_idle_timeout", tlsOpts, async () => {
  const p = await pki();
  const clock = new FakeClock();
  const l = await startListener({ idle: "1s", headers: "0s", tls: { contexts: [tlsContext(p)] } }, clock);
  const c = await Client.connectTls(l.port, p.ca.cert);
  try {
    await c.get();
    for (let i = 0; i < 5 && !c.eof; i++) clock.tick(250);
    await c.closed();
    assertEquals(l.stats.connectionIdleTimeout.value, 1);
  } finally {
    await c.close();
    await l.close();
  }
});

Deno.test(
  "Listener (TLS) swapPlan: new handshakes use the new contexts, an established session carries on",
  tlsOpts,
  async () => {
    const p = await pki();
    const l = await startListener({ tls: { contexts: [tlsContext(p)] } }, new FakeClock());
    const before = await Client.connectTls(l.port, p.ca.cert);
    try {
      await before.get();
      assertEquals((await sClient(l.port, { servername: "localhost" })).subject, "CN = server");
      const registry = new StatsRegistry();
      l.listener.swapPlan({
        ...l.plan,
        tls: new TlsServer({
          contexts: [tlsContext(p, { pair: "other" })],
          defaultAlpn: [],
          handshakeTimeoutMs: 5000,
          stats: new TlsServerStats(registry.scope("downstream", { listener: "test" })),
        }),
      });
      assertEquals((await sClient(l.port, { servername: "localhost" })).subject, "CN = other");
      await before.get();
      assertEquals((before.text.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
      let refused = "";
      try {
        l.listener.swapPlan({ ...l.plan, tls: undefined });
      } catch (e) {
        refused = (e as Error).message;
      }
      assertMatch(refused, /between TLS and plaintext/);
    } finally {
      await before.close();
      await l.close();
    }
  },
);

Deno.test("Listener (TLS) start reports an address in use like a plaintext listener", tlsOpts, async () => {
  const p = await pki();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const setup = { tls: { contexts: [tlsContext(p)] } };
    const l = await startListener(setup, new FakeClock());
    await l.close();
    const busy = new Listener({
      ...l.plan,
      config: {
        ...l.plan.config,
        address: { hostname: "127.0.0.1", port: (taken.addr as Deno.NetAddr).port },
      },
    });
    let message = "";
    try {
      await busy.start();
    } catch (e) {
      message = (e as Error).message;
    }
    assertEquals(
      message,
      `Cannot bind listener "test" on 127.0.0.1:${(taken.addr as Deno.NetAddr).port}: address already in use`,
    );
  } finally {
    taken.close();
  }
});

Deno.test("Listener (TLS) max_connections counts connections still in their handshake", tlsOpts, async () => {
  const p = await pki();
  const l = await startListener({ maxConnections: 1, tls: { contexts: [tlsContext(p)] } }, new FakeClock());
  const hanging = await Deno.connect({ hostname: "127.0.0.1", port: l.port });
  try {
    await hanging.write(TRUNCATED_CLIENT_HELLO);
    // Accepts run in arrival order, so the hanging handshake is counted before the next is accepted.
    const over = await sendAndWaitForClose(l.port, TRUNCATED_CLIENT_HELLO);
    assert(over.closedByPeer);
    assertEquals(l.stats.connectionOverflow.value, 1);
  } finally {
    hanging.close();
    await l.close();
  }
});
