/**
 * Workers across cores (issue 13): `meshctl serve --concurrency 2` runs two worker threads on the same
 * listener addresses (SO_REUSEPORT). Real clients over many connections: both workers take connections, the
 * admin stats are the exact sums, a SIGHUP reload reaches both before it is reported applied, and SIGTERM
 * drains both with no failed request under wrk.
 */
import { assert, assertEquals } from "./_assert.ts";
import { Events } from "./_events.ts";
import { adminStats, httpProxyConfig, type Meshctl, runCli, startMeshctl, startOrigin } from "./_e2e.ts";
import { boltLoad, parseWrkCounts } from "./_load.ts";
import { encodeRequestFrame, int, startBoltServer, TEST_SERVICE } from "./_peers/bolt_peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes outlive steps
const TWO = ["--concurrency", "2"];

/** One HTTP/1 request on a fresh connection (so the kernel picks a worker for each); returns the body. */
async function getOnce(port: number, path = "/"): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n`),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the peer
    }
  }
}

/** `total` requests, `parallel` at a time, each on its own connection. */
async function requests(port: number, total: number, parallel: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < total) {
      next++;
      statuses.push((await getOnce(port)).status);
    }
  }));
  return statuses;
}

function workerConnections(stats: Awaited<ReturnType<typeof adminStats>>): number[] {
  return [0, 1].map((w) => stats["worker"]?.[`worker.${w}`]?.["downstream_connection_total"] ?? 0);
}

Deno.test(
  "--concurrency 2: 1000 HTTP/1 requests over 1000 connections → stats read exactly 1000, both workers served",
  opts,
  async () => {
    const origin = startOrigin(() => new Response("ok"));
    const mesh = await startMeshctl(httpProxyConfig({ hosts: [origin.address] }), { args: TWO });
    try {
      const statuses = await requests(mesh.port("ingress"), 1000, 20);
      assertEquals(statuses.filter((s) => s === 200).length, 1000);
      const stats = await adminStats(mesh.adminPort);
      assertEquals(stats["downstream"]!["listener.ingress"]!["request_total"], 1000);
      assertEquals(stats["downstream"]!["listener.ingress"]!["connection_total"], 1000);
      const perWorker = workerConnections(stats);
      assertEquals(perWorker[0]! + perWorker[1]!, 1000, JSON.stringify(perWorker));
      assert(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers take connections: ${perWorker}`);
      // Prometheus and `meshctl stats` show the same sums: one process.
      const prom = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/stats/prometheus`)).text();
      const line = prom.split("\n").find((l) =>
        /^\w+_downstream_request_total\{listener="ingress"\} /.test(l)
      );
      assertEquals(line?.split(" ").at(-1), "1000", prom.slice(0, 2000));
      const cli = await runCli(["stats", "--addr", `127.0.0.1:${mesh.adminPort}`, "--format", "json"]);
      assertEquals(cli.code, 0, cli.stderr);
      const json = JSON.parse(cli.stdout);
      assertEquals(Number(json["downstream"]["listener.ingress"]["request_total"]), 1000);
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
      await origin.close();
    }
  },
);

Deno.test(
  "--concurrency 2: bolt over 8 connections → every request answered, both workers served, stats exact",
  opts,
  async () => {
    const upstream = await startBoltServer();
    const signature = `${TEST_SERVICE}:1.0`;
    const template = await encodeRequestFrame({
      id: 1,
      service: signature,
      method: "slow",
      args: [int(1)],
      timeout: 3000,
    });
    const config = {
      servers: [{
        default_log_level: "WARN",
        routers: [{
          router_config_name: "rpc",
          virtual_hosts: [{
            name: "rpc",
            domains: ["*"],
            routers: [{
              match: { headers: [{ name: "service", value: signature }] },
              route: { cluster_name: "p" },
            }],
          }],
        }],
        listeners: [{
          name: "bolt_in",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            filters: [{ type: "proxy", config: { downstream_protocol: "bolt", router_config_name: "rpc" } }],
          }],
        }],
      }],
      cluster_manager: {
        clusters: [{
          name: "p",
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          hosts: [{ address: upstream.address }],
        }],
      },
    };
    const mesh = await startMeshctl(config, { args: TWO });
    try {
      let answered = 0;
      // 8 connections at a time, until both workers have taken some (the kernel hashes each connection).
      let counts = { ok: 0, bad: 0, lost: 0, goAways: 0 };
      for (let round = 0; round < 10; round++) {
        const c = await boltLoad(
          mesh.port("bolt_in"),
          template,
          8,
          2,
          () => answered++,
          () => answered % 50 === 0,
        );
        counts = { ok: counts.ok + c.ok, bad: counts.bad + c.bad, lost: counts.lost + c.lost, goAways: 0 };
        const perWorker = workerConnections(await adminStats(mesh.adminPort));
        if (perWorker[0]! > 0 && perWorker[1]! > 0) {
          break;
        }
      }
      assertEquals([counts.bad, counts.lost], [0, 0], JSON.stringify(counts));
      const stats = await adminStats(mesh.adminPort);
      const perWorker = workerConnections(stats);
      assert(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers take connections: ${perWorker}`);
      assertEquals(stats["downstream"]!["listener.bolt_in"]!["request_total"], counts.ok);
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
      await upstream.stop();
    }
  },
);

Deno.test(
  "--concurrency 2: SIGHUP changes the route in both workers; none fails, none sees the old route once reported applied",
  opts,
  async () => {
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const config = (cluster: string) =>
      httpProxyConfig({
        hosts: [a.address],
        routes: [{ match: { prefix: "/" }, route: { cluster_name: cluster } }],
        extraClusters: [{
          name: "b",
          type: "SIMPLE",
          lb_type: "LB_ROUNDROBIN",
          hosts: [{ address: b.address }],
        }],
      });
    // info: the test waits for the "config reloaded" line.
    const mesh = await startMeshctl(config("origin"), { args: [...TWO, "--log-level", "info"] });
    const { stringify } = await import("yaml");
    const writeConfig = (cluster: string) =>
      Deno.writeTextFile(
        mesh.configPath,
        stringify({
          admin: { address: { socket_address: { address: "127.0.0.1", port_value: mesh.adminPort } } },
          ...config(cluster),
        }),
      );
    const events = new Events();
    let stop = false;
    let reportedApplied = false;
    const results = { a: 0, b: 0, failed: 0, oldAfterApplied: 0 };
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const appliedBefore = reportedApplied;
        const r = await getOnce(mesh.port("ingress")).catch(() => ({ status: 0, body: "" }));
        if (r.status !== 200) results.failed++;
        else if (r.body === "A") {
          results.a++;
          if (appliedBefore) results.oldAfterApplied++;
        } else results.b++;
        events.notify();
      }
    });
    try {
      for (let round = 0; round < 3; round++) {
        const to = round % 2 === 0 ? "b" : "origin";
        const before = { ...results };
        await events.until(
          () => results.a + results.b >= before.a + before.b + 100,
          "load before the reload",
        );
        reportedApplied = false;
        results.oldAfterApplied = 0;
        await writeConfig(to);
        const logged = mesh.logs().split("config reloaded").length;
        mesh.process.kill("SIGHUP");
        await events.until(() => mesh.logs().split("config reloaded").length > logged, "the reload applied");
        // Route "origin" answers A: after switching to it, B is the old route.
        if (to === "b") {
          reportedApplied = true;
          const seen = results.b;
          await events.until(() => results.b >= seen + 200, "load after the reload");
          assertEquals(
            results.oldAfterApplied,
            0,
            `requests routed by the old config: ${JSON.stringify(results)}`,
          );
        } else {
          const seen = results.a;
          await events.until(() => results.a >= seen + 200, "load after the reload back");
        }
      }
      const spreads = [...mesh.logs().matchAll(/config reloaded.*workers=2.*spread_ms=([\d.]+)/g)].map((m) =>
        m[1]
      );
      assertEquals(spreads.length, 3, mesh.logs());
      console.log(`reload spread between the workers (ms): ${spreads.join(", ")}`);
    } finally {
      stop = true;
      await Promise.all(loops);
      assertEquals(await mesh.stop(), 0, mesh.logs());
      await a.close();
      await b.close();
    }
    assertEquals(results.failed, 0, JSON.stringify(results));
  },
);

const WRK_CONNECTIONS = 16;

/** wrk stops a thread (its one connection) once told `Connection: close` (as in tests/drain_test.ts). */
const HONOUR_CLOSE_LUA = `
function response(status, headers, body)
  local c = headers["connection"] or headers["Connection"]
  if c ~= nil and string.lower(c) == "close" then wrk.thread:stop() end
end
`;

async function sigtermUnderWrk(mesh: Meshctl, dir: string, events: Events, origin: { requests: number }) {
  const script = `${dir}/honour_close.lua`;
  await Deno.writeTextFile(script, HONOUR_CLOSE_LUA);
  const wrk = new Deno.Command("wrk", {
    args: [
      `-t${WRK_CONNECTIONS}`,
      `-c${WRK_CONNECTIONS}`,
      "-d30s",
      "--timeout",
      "5s",
      "-s",
      script,
      `http://127.0.0.1:${mesh.port("ingress")}/`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let code: number | undefined;
  try {
    const before = origin.requests;
    await events.until(() => origin.requests >= before + 200, "load through meshctl");
    // Every wrk connection accepted before the SIGTERM, so the drain has connections in both workers to tell.
    let stats = await adminStats(mesh.adminPort);
    const active = () => stats["downstream"]?.["listener.ingress"]?.["connection_active"] ?? 0;
    for (let i = 0; i < 100 && active() < WRK_CONNECTIONS; i++) {
      await new Promise((r) => setTimeout(r, 50)); // polls the admin API: no event to wait on
      stats = await adminStats(mesh.adminPort);
    }
    assert(active() >= WRK_CONNECTIONS, `every wrk connection accepted: ${active()}`);
    const perWorker = workerConnections(stats);
    assert(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers hold wrk connections: ${perWorker}`);
    code = await mesh.stop("SIGTERM");
  } finally {
    if (code === undefined) await mesh.stop("SIGKILL");
    try {
      wrk.kill("SIGINT");
    } catch {
      // already gone
    }
  }
  const out = await wrk.output();
  return { code, counts: parseWrkCounts(new TextDecoder().decode(out.stdout)) };
}

Deno.test(
  "--concurrency 2: 8× SIGTERM under wrk drains both workers → no failed request, exit 0",
  opts,
  async () => {
    const events = new Events();
    const origin = startOrigin(async () => {
      await new Promise((r) => setTimeout(r, 5));
      events.notify();
      return new Response("ok");
    });
    const dir = await Deno.makeTempDir({ prefix: "meshctl-workers-" });
    try {
      for (let i = 0; i < 8; i++) {
        const config = httpProxyConfig({ hosts: [origin.address], listener: { drain_idle_grace: "300ms" } });
        (config.servers as Record<string, unknown>[])[0]!.default_log_level = "INFO";
        (config.servers as Record<string, unknown>[])[0]!.graceful_timeout = "5s";
        const mesh = await startMeshctl(config, { args: TWO });
        const { code, counts } = await sigtermUnderWrk(mesh, dir, events, origin);
        const run = `run ${i + 1}: ${JSON.stringify(counts)}, exit ${code}`;
        assertEquals(code, 0, `${run}\n${mesh.logs()}`);
        const failed = [counts.non2xx, counts.connect, counts.read, counts.write, counts.timeout];
        assertEquals(failed, [0, 0, 0, 0, 0], `${run}\n${mesh.logs()}`);
      }
    } finally {
      await origin.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("serve --concurrency rejects 0, words, fractions and too many with exit 2", async () => {
  for (const bad of ["0", "two", "1.5", "9999"]) {
    const r = await runCli(["serve", "--concurrency", bad, "config/meshctl.yaml"]);
    assertEquals(r.code, 2, bad);
    assert(r.stderr.includes("--concurrency must be"), r.stderr);
  }
});

/** Opens `n` connections and holds them; returns them once all are connected. */
async function holdConnections(port: number, n: number): Promise<Deno.TcpConn[]> {
  return await Promise.all(Array.from({ length: n }, () => Deno.connect({ hostname: "127.0.0.1", port })));
}

/** One request on an open connection: its status, or 0 when meshctl had closed the connection. */
async function statusOn(conn: Deno.TcpConn): Promise<number> {
  try {
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    if (n === null) return 0;
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(buf.subarray(0, n)))?.[1] ?? 0);
  } catch {
    return 0; // reset: closed at accept
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

Deno.test(
  "--concurrency 2: listener max_connections 4 holds for the process → 4 of 16 connections served, 12 overflow",
  opts,
  async () => {
    const origin = startOrigin(() => new Response("ok"));
    const mesh = await startMeshctl(
      httpProxyConfig({ hosts: [origin.address], listener: { max_connections: 4 } }),
      { args: TWO },
    );
    try {
      // All held open at once: the kernel spreads them over both workers' accept queues, and only 4 may
      // be admitted in total (per worker counting would admit up to 8).
      const conns = await holdConnections(mesh.port("ingress"), 16);
      const statuses = await Promise.all(conns.map(statusOn));
      const stats = await adminStats(mesh.adminPort);
      const listener = stats["downstream"]!["listener.ingress"]!;
      assertEquals(statuses.filter((s) => s === 200).length, 4, JSON.stringify(statuses));
      assertEquals([listener["connection_total"], listener["connection_overflow_total"]], [4, 12]);
      // The slot is freed when a connection closes: a new one is served again.
      assertEquals((await getOnce(mesh.port("ingress"))).status, 200);
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
      await origin.close();
    }
  },
);

Deno.test(
  "--concurrency 2: cluster max_requests 2 holds for the process → 2 of 10 requests on 10 connections reach the origin, 8 get 503",
  opts,
  async () => {
    const events = new Events();
    const release = Promise.withResolvers<void>();
    let inFlight = 0;
    const origin = startOrigin(async () => {
      inFlight++;
      events.notify();
      await release.promise;
      return new Response("ok");
    });
    const mesh = await startMeshctl(
      httpProxyConfig({ hosts: [origin.address], cluster: { circuit_breakers: [{ max_requests: 2 }] } }),
      { args: TWO },
    );
    try {
      // One at a time, each on its own connection (so the kernel spreads them over both workers), the next
      // sent once the last is decided: at the origin, or refused.
      const statuses: number[] = [];
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 10; i++) {
        const before = { inFlight, answered: statuses.length };
        pending.push(
          getOnce(mesh.port("ingress")).then((r) => {
            statuses.push(r.status);
            events.notify();
          }),
        );
        await events.until(
          () => inFlight > before.inFlight || statuses.length > before.answered,
          `request ${i + 1} decided`,
        );
      }
      assertEquals([inFlight, statuses.length], [2, 8], "per worker counting would let up to 4 through");
      release.resolve();
      await Promise.all(pending);
      assertEquals(statuses.filter((s) => s === 200).length, 2, JSON.stringify(statuses));
      assertEquals(statuses.filter((s) => s === 503).length, 8, JSON.stringify(statuses));
      const perWorker = workerConnections(await adminStats(mesh.adminPort));
      assert(perWorker[0]! > 0 && perWorker[1]! > 0, `both workers took requests: ${perWorker}`);
    } finally {
      release.resolve();
      assertEquals(await mesh.stop(), 0, mesh.logs());
      await origin.close();
    }
  },
);

Deno.test(
  "serve --concurrency auto runs one worker per usable core; without the flag (default 1) and with --concurrency 1 it runs none",
  opts,
  async () => {
    const origin = startOrigin(() => new Response("ok"));
    const cores = navigator.hardwareConcurrency; // this test process has the same affinity as its child
    try {
      for (const args of [["--concurrency", "auto"], [], ["--concurrency", "1"]]) {
        const mesh = await startMeshctl(httpProxyConfig({ hosts: [origin.address] }), { args });
        try {
          const workers = (await adminStats(mesh.adminPort))["meta"]?.["workers.process"]?.["workers"];
          assertEquals(workers, args[1] === "auto" && cores > 1 ? cores : undefined, `args ${args}`);
          assertEquals((await getOnce(mesh.port("ingress"))).status, 200);
        } finally {
          assertEquals(await mesh.stop(), 0, mesh.logs());
        }
      }
      const help = await runCli(["serve", "--help"]);
      assert(help.stdout.includes("Default 1"), help.stdout);
    } finally {
      await origin.close();
    }
  },
);
