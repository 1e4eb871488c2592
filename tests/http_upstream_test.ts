/**
 * Upstream behaviour through the real meshctl: circuit breakers, consistent hashing, STRICT_DNS (against
 * a test DNS server), pipelining, stream filters.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { stringify } from "yaml";
import {
  adminStats,
  curl,
  DEAD_HOST,
  httpProxyConfig,
  type Meshctl,
  rawExchange,
  runCli,
  startMeshctl,
  startOrigin,
} from "./_e2e.ts";
import { type DnsServer, startDnsServer } from "./_peers/dns_server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function stopped(mesh: Meshctl): Promise<void> {
  const code = await mesh.stop();
  assertEquals(code, 0, `meshctl exited with ${code}:\n${mesh.logs()}`);
}

Deno.test("circuit breakers: a full pending queue answers 503 and counts the overflow", opts, async () => {
  const origin = startOrigin(async () => {
    await new Promise((r) => setTimeout(r, 600));
    return new Response("slow");
  });
  // One pool: this checks its pending queue. With workers each worker's pool may open its first connection
  // past max_connections (Envoy's rule: otherwise it would queue behind a connection another worker holds).
  const mesh = await startMeshctl(
    httpProxyConfig({
      hosts: [origin.address],
      cluster: { circuit_breakers: [{ max_connections: 1, max_pending_requests: 1 }] },
    }),
    { args: ["--concurrency", "1"] },
  );
  const port = mesh.port("ingress");
  try {
    // One request holds the only connection, one waits in the queue, the third overflows.
    const results = await Promise.all([0, 1, 2].map(async (i) => {
      await new Promise((r) => setTimeout(r, i * 100));
      return (await curl(["-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/`])).stdout;
    }));
    assertEquals(results.sort(), ["200", "200", "503"]);
    const stats = await adminStats(mesh.adminPort);
    assertEquals(stats["upstream"]?.["cluster.origin"]?.["request_pending_overflow"], 1);
  } finally {
    await stopped(mesh);
    await origin.close();
  }
});

Deno.test(
  "circuit breakers: a queued request whose client left frees its pending slot at once",
  opts,
  async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    let arrived!: () => void;
    const holding = new Promise<void>((r) => arrived = r);
    const origin = startOrigin(async (req) => {
      if (new URL(req.url).pathname === "/hold") {
        arrived();
        await held;
      }
      return new Response("done");
    });
    // One pool, as above: with workers an empty pool in another worker would open its own connection.
    const mesh = await startMeshctl(
      httpProxyConfig({
        hosts: [origin.address],
        cluster: { circuit_breakers: [{ max_connections: 1, max_pending_requests: 1 }] },
      }),
      { args: ["--concurrency", "1"] },
    );
    const port = mesh.port("ingress");
    const pending = async () =>
      (await adminStats(mesh.adminPort))["upstream"]?.["cluster.origin"]?.["request_pending_active"] ?? -1;
    const until = async (want: number) => {
      const deadline = Date.now() + 5000;
      while (await pending() !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assertEquals(await pending(), want);
    };
    try {
      // The only connection is held; a second request queues and its client gives up.
      const holder = curl(["-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/hold`]);
      await holding; // it holds the only connection
      const quitter = await Deno.connect({ hostname: "127.0.0.1", port });
      await quitter.write(new TextEncoder().encode("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
      await until(1);
      quitter.close();
      await until(0); // before the fix the slot stayed taken and the next request got a spurious 503
      const next = curl(["-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/c`]);
      await until(1);
      release();
      assertEquals((await holder).stdout, "200");
      assertEquals((await next).stdout, "200");
      assertEquals(
        (await adminStats(mesh.adminPort))["upstream"]?.["cluster.origin"]?.["request_pending_overflow"],
        0,
      );
    } finally {
      release();
      await stopped(mesh);
      await origin.close();
    }
  },
);

Deno.test("LB_MAGLEV with a header hash_policy sends one key to one host", opts, async () => {
  const origins = [0, 1, 2].map((i) => startOrigin(() => new Response(String(i))));
  const mesh = await startMeshctl(httpProxyConfig({
    hosts: origins.map((o) => o.address),
    lbType: "LB_MAGLEV",
    routes: [{
      match: { prefix: "/" },
      route: { cluster_name: "origin", hash_policy: [{ header: { key: "x-user" } }] },
    }],
  }));
  const port = mesh.port("ingress");
  try {
    const seen = new Map<string, Set<string>>();
    for (let u = 0; u < 12; u++) {
      const urls = Array.from({ length: 5 }, () => `http://127.0.0.1:${port}/`);
      const r = await curl(["-H", `x-user: user-${u}`, ...urls]);
      seen.set(`user-${u}`, new Set(r.stdout.split("")));
    }
    for (const [user, hosts] of seen) assertEquals(hosts.size, 1, `${user} went to ${[...hosts]}`);
    const used = new Set([...seen.values()].flatMap((s) => [...s]));
    assert(used.size >= 2, `12 keys should spread over the hosts, got ${[...used]}`);
  } finally {
    await stopped(mesh);
    for (const o of origins) await o.close();
  }
});

/** A name only the test DNS server knows: resolving it proves the cluster asked that server. */
const DNS_NAME = "origin.meshctl.test";

interface NamedOrigin {
  readonly hostname: string;
  readonly port: number;
  readonly requests: number;
  close(): Promise<void>;
}

/**
 * Origins answering with their own address, one per loopback address and all on one port: what one
 * STRICT_DNS host `name:port` can resolve to. 127.0.0.11 and .12 are used by these tests only.
 */
function originsOnOnePort(hostnames: string[]): NamedOrigin[] {
  for (let attempt = 0;; attempt++) {
    const started: Deno.HttpServer<Deno.NetAddr>[] = [];
    const counts = hostnames.map(() => 0);
    try {
      let port = 0;
      for (const [i, hostname] of hostnames.entries()) {
        const server = Deno.serve({ hostname, port, onListen() {} }, () => {
          counts[i]!++;
          return new Response(hostname);
        });
        started.push(server);
        port = server.addr.port;
      }
      return started.map((server, i) => ({
        hostname: hostnames[i]!,
        port,
        get requests() {
          return counts[i]!;
        },
        close: () => server.shutdown(),
      }));
    } catch (e) {
      for (const server of started) void server.shutdown();
      // Another process took the port on the next address: start over on a new port.
      if (!(e instanceof Deno.errors.AddrInUse) || attempt === 5) throw e;
    }
  }
}

/** The hosts the admin stats list for cluster "origin", sorted. */
async function clusterHosts(adminPort: number): Promise<string[]> {
  const prefix = "cluster.origin.host.";
  return Object.keys((await adminStats(adminPort))["upstream"] ?? {})
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .sort();
}

async function clusterStat(adminPort: number, name: string): Promise<number> {
  return (await adminStats(adminPort))["upstream"]?.["cluster.origin"]?.[name] ?? 0;
}

/** Polls `cond` until it holds; fails after `ms` saying what it waited for and what it saw last. */
async function waitFor(what: string, cond: () => Promise<unknown>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = await cond();
    if (seen === true) return;
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what}; last saw ${JSON.stringify(seen)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until cluster "origin" holds exactly `hosts`. */
function waitForHosts(mesh: Meshctl, hosts: string[]): Promise<void> {
  return waitFor(`cluster hosts ${hosts.join(", ")}`, async () => {
    const seen = await clusterHosts(mesh.adminPort);
    return JSON.stringify(seen) === JSON.stringify([...hosts].sort()) || seen;
  });
}

async function startDnsMesh(port: number, dns: DnsServer): Promise<Meshctl> {
  // One event loop: each worker runs its own STRICT_DNS refresh (and logs its own failures), and these
  // tests count queries and log lines of one resolver.
  return await startMeshctl(
    httpProxyConfig({
      hosts: [`${DNS_NAME}:${port}`],
      cluster: {
        type: "STRICT_DNS",
        dns_refresh_rate: "200ms",
        dns_resolvers: { servers: [dns.hostname], port: String(dns.port) },
      },
    }),
    { args: ["--concurrency", "1"] },
  );
}

Deno.test("STRICT_DNS resolves host names into the cluster through dns_resolvers", opts, async () => {
  const [origin] = originsOnOnePort(["127.0.0.11"]);
  const dns = await startDnsServer({ [DNS_NAME]: { A: ["127.0.0.11"] } });
  const mesh = await startDnsMesh(origin!.port, dns);
  try {
    // Until the first answer the host is the name itself (as MOSN); then the resolved address.
    await waitForHosts(mesh, [`127.0.0.11:${origin!.port}`]);
    assert(dns.queriesFor(DNS_NAME, "A") >= 1, "the configured DNS server was never asked");
    assertEquals((await curl([`http://127.0.0.1:${mesh.port("ingress")}/`])).stdout, "127.0.0.11");
    assertEquals(origin!.requests, 1);
    assert(await clusterStat(mesh.adminPort, "dns_resolve_total") >= 1);
    assertEquals(await clusterStat(mesh.adminPort, "dns_resolve_failure"), 0);
  } finally {
    await stopped(mesh);
    await dns.stop();
    await origin!.close();
  }
});

Deno.test("STRICT_DNS moves traffic to the addresses a changed answer gives", opts, async () => {
  const [a, b] = originsOnOnePort(["127.0.0.11", "127.0.0.12"]);
  const port = a!.port;
  const dns = await startDnsServer({ [DNS_NAME]: { A: ["127.0.0.11"] } });
  const mesh = await startDnsMesh(port, dns);
  const url = `http://127.0.0.1:${mesh.port("ingress")}/`;
  try {
    await waitForHosts(mesh, [`127.0.0.11:${port}`]);
    assertEquals((await curl([url])).stdout, "127.0.0.11");

    // Several addresses make several hosts; LB_ROUNDROBIN uses both.
    dns.set(DNS_NAME, { A: ["127.0.0.11", "127.0.0.12"] });
    await waitForHosts(mesh, [`127.0.0.11:${port}`, `127.0.0.12:${port}`]);
    const both = (await curl([url, url, url, url])).stdout;
    assertEquals(new Set(both.split("127.").filter(Boolean)), new Set(["0.0.11", "0.0.12"]), both);

    dns.set(DNS_NAME, { A: ["127.0.0.12"] });
    await waitForHosts(mesh, [`127.0.0.12:${port}`]);
    const before = a!.requests;
    assertEquals((await curl([url, url, url])).stdout, "127.0.0.12".repeat(3));
    assertEquals(a!.requests, before, "a host no longer in the answer still got requests");
  } finally {
    await stopped(mesh);
    await dns.stop();
    await a!.close();
    await b!.close();
  }
});

Deno.test(
  "STRICT_DNS keeps the last hosts while resolution fails, and logs the failure once",
  opts,
  async () => {
    const [a, b] = originsOnOnePort(["127.0.0.11", "127.0.0.12"]);
    const port = a!.port;
    const dns = await startDnsServer({ [DNS_NAME]: { A: ["127.0.0.11"] } });
    const mesh = await startDnsMesh(port, dns);
    const url = `http://127.0.0.1:${mesh.port("ingress")}/`;
    try {
      await waitForHosts(mesh, [`127.0.0.11:${port}`]);
      dns.mode = "servfail";
      await waitFor("three failed resolutions", async () => {
        const n = await clusterStat(mesh.adminPort, "dns_resolve_failure");
        return n >= 3 || n;
      });
      assertEquals(await clusterHosts(mesh.adminPort), [`127.0.0.11:${port}`]);
      assertEquals((await curl([url])).stdout, "127.0.0.11");
      assertEquals(mesh.logs().split("dns resolution failed").length - 1, 1, mesh.logs());

      // Answers again, and a new one: the cluster follows it.
      dns.mode = "answer";
      dns.set(DNS_NAME, { A: ["127.0.0.12"] });
      await waitForHosts(mesh, [`127.0.0.12:${port}`]);
      assertEquals((await curl([url])).stdout, "127.0.0.12");
    } finally {
      await stopped(mesh);
      await dns.stop();
      await a!.close();
      await b!.close();
    }
  },
);

Deno.test(
  "STRICT_DNS without dns_resolvers resolves through the system resolver, /etc/hosts first",
  opts,
  async () => {
    const origin = startOrigin(() => new Response("resolved"));
    // "localhost" is in /etc/hosts everywhere; the cluster has no special case for it.
    const mesh = await startMeshctl(httpProxyConfig({
      hosts: [`localhost:${origin.port}`],
      cluster: { type: "STRICT_DNS", dns_refresh_rate: "200ms" },
    }));
    try {
      await waitForHosts(mesh, [`127.0.0.1:${origin.port}`]);
      assertEquals((await curl([`http://127.0.0.1:${mesh.port("ingress")}/`])).stdout, "resolved");
      assert(await clusterStat(mesh.adminPort, "dns_resolve_total") >= 1);
    } finally {
      await stopped(mesh);
      await origin.close();
    }
  },
);

Deno.test("pipelined requests get their responses in request order", opts, async () => {
  const origin = startOrigin(async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/first") await new Promise((r) => setTimeout(r, 200)); // the slowest comes first
    return new Response(path);
  });
  const mesh = await startMeshctl(httpProxyConfig({ hosts: [origin.address] }));
  const port = mesh.port("ingress");
  try {
    const req = (p: string, close = false) =>
      `GET ${p} HTTP/1.1\r\nHost: x\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
    const out = await rawExchange(port, req("/first") + req("/second") + req("/third", true));
    const bodies = [...out.matchAll(/\r\n\r\n(\/(?:first|second|third))/g)].map((m) => m[1]);
    assertEquals(bodies, ["/first", "/second", "/third"]);
  } finally {
    await stopped(mesh);
    await origin.close();
  }
});

Deno.test("the fault stream filter aborts requests, and validate checks its config", opts, async () => {
  const origin = startOrigin(() => new Response("origin"));
  const mesh = await startMeshctl(httpProxyConfig({
    hosts: [origin.address],
    listener: { stream_filters: [{ type: "fault", config: { abort: { status: 418, percentage: 100 } } }] },
  }));
  const port = mesh.port("ingress");
  try {
    const r = await curl(["-w", "\n%{http_code}", `http://127.0.0.1:${port}/`]);
    assertMatch(r.stdout, /^fault filter abort\n\n418$/);
    assertEquals(origin.requests, 0);
  } finally {
    await stopped(mesh);
    await origin.close();
  }
  const bad = httpProxyConfig({
    hosts: [DEAD_HOST],
    listener: { stream_filters: [{ type: "fault", config: { abort: { status: 42 } } }] },
  });
  const file = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(file, stringify(bad));
    const v = await runCli(["validate", file]);
    assertEquals(v.code, 1);
    assertStringIncludes(v.stderr, "stream_filters[0].config: abort.status: expected an HTTP status");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("connection_idle_timeout closes quiet downstream connections, not busy ones", opts, async () => {
  const origin = startOrigin(async () => {
    await new Promise((r) => setTimeout(r, 600)); // longer than the idle timeout: in flight is not idle
    return new Response("slow but alive");
  });
  const mesh = await startMeshctl(httpProxyConfig({
    hosts: [origin.address],
    listener: { connection_idle_timeout: "300ms" },
  }));
  const port = mesh.port("ingress");
  try {
    const t0 = Date.now();
    const quiet = await rawExchange(port, "", 3000); // says nothing; meshctl closes it
    assertEquals(quiet, "");
    const waited = Date.now() - t0;
    assert(waited >= 200 && waited < 1500, `closed after ${waited} ms`);
    const busy = await curl([`http://127.0.0.1:${port}/`]);
    assertEquals(busy.stdout, "slow but alive");
  } finally {
    await stopped(mesh);
    await origin.close();
  }
});
