/**
 * Soak (issue 13, "Never drop a request"): `make soak` (SOAK_SECONDS, default 600). One meshctl pinned to
 * PROXY_CORE with an HTTP/1 and a bolt listener; wrk (HTTP/1 keep-alive) pinned to LOAD_CORE and a bolt
 * client loop (this process) keep it busy for the whole run. Every RELOAD_EVERY_MS a SIGHUP swaps both
 * clusters to the other upstream of their pair; after each swap the upstreams the new config no longer
 * uses are restarted (stopped, started again on the same port), so the retired runtime's pools meet
 * closed connections. meshctl's RSS is sampled every RSS_EVERY_MS; after warm-up it must stay flat.
 *
 * Exit 1 when any request failed (wrk non-2xx or socket errors, bolt statuses or lost requests), a reload
 * was rejected, meshctl did not exit 0 within its drain bound, or RSS grew after warm-up by more than
 * RSS_GROWTH_LIMIT. Prints the figures as one JSON line at the end.
 *
 *   SOAK_SECONDS=60 deno run -A bench/soak.ts     # a smoke run
 */
import { stringify } from "yaml";
import { freePort, sleep, start, stopAll, treeRssKiB } from "./_proc.ts";
import { LOAD_CORE, meshctlArgv, PROXY_CORE } from "./_harness.ts";
import { boltLoad, parseWrkCounts } from "../tests/_load.ts";
import {
  type BoltServerPeer,
  encodeRequestFrame,
  int,
  startBoltServer,
  TEST_SERVICE,
} from "../tests/_peers/bolt_peers.ts";

const SOAK_SECONDS = Number(Deno.env.get("SOAK_SECONDS") ?? 600);
if (!(SOAK_SECONDS >= 10)) {
  throw new Error(`SOAK_SECONDS must be at least 10, got ${Deno.env.get("SOAK_SECONDS")}`);
}
const RELOAD_EVERY_MS = 15_000;
const RSS_EVERY_MS = 5_000;
/** Warm-up: the first fifth of the run, at most 60 s; RSS then is the baseline. */
const WARMUP_MS = Math.min(60_000, (SOAK_SECONDS * 1000) / 5);
/** Allowed RSS growth from the end of warm-up to the largest later sample. */
const RSS_GROWTH_LIMIT = 0.15;
const GRACEFUL_TIMEOUT_MS = 10_000;

/** An HTTP origin on a fixed port that answers after 1 ms; restartable on the same port. */
class Origin {
  readonly port = freePort();
  requests = 0;
  restarts = 0;
  #server: Deno.HttpServer | undefined;

  start(): void {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: this.port, onListen: () => {} }, async () => {
      this.requests++;
      await new Promise((r) => setTimeout(r, 1));
      return new Response("ok");
    });
  }

  async restart(): Promise<void> {
    await this.#server?.shutdown();
    this.restarts++;
    this.start();
  }

  close(): Promise<void> | undefined {
    return this.#server?.shutdown();
  }
}

function config(http: number, bolt: number, admin: number, httpHost: number, boltHost: number) {
  const route = (match: unknown, cluster: string) => ({ match, route: { cluster_name: cluster } });
  const listener = (name: string, port: number, protocol: string, router: string) => ({
    name,
    address: `127.0.0.1:${port}`,
    bind_port: true,
    filter_chains: [{
      filters: [{ type: "proxy", config: { downstream_protocol: protocol, router_config_name: router } }],
    }],
  });
  const cluster = (name: string, port: number) => ({
    name,
    type: "SIMPLE",
    lb_type: "LB_ROUNDROBIN",
    hosts: [{ address: `127.0.0.1:${port}` }],
  });
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: admin } } },
    servers: [{
      default_log_level: "WARN",
      graceful_timeout: `${GRACEFUL_TIMEOUT_MS}ms`,
      routers: [
        {
          router_config_name: "http",
          virtual_hosts: [{ name: "h", domains: ["*"], routers: [route({ prefix: "/" }, "web")] }],
        },
        {
          router_config_name: "rpc",
          virtual_hosts: [{
            name: "r",
            domains: ["*"],
            routers: [route({ headers: [{ name: "service", value: `${TEST_SERVICE}:1.0` }] }, "provider")],
          }],
        },
      ],
      listeners: [listener("http_in", http, "Http1", "http"), listener("bolt_in", bolt, "bolt", "rpc")],
    }],
    cluster_manager: { clusters: [cluster("web", httpHost), cluster("provider", boltHost)] },
  };
}

async function main(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-soak-" });
  const origins = [new Origin(), new Origin()];
  for (const o of origins) o.start();
  const providers: BoltServerPeer[] = [await startBoltServer(), await startBoltServer()];
  const providerRestarts = [0, 0];
  const httpPort = freePort();
  const boltPort = freePort();
  const adminPort = freePort();
  const configPath = `${dir}/soak.yaml`;
  const write = (side: number) =>
    Deno.writeTextFile(
      configPath,
      stringify(config(httpPort, boltPort, adminPort, origins[side]!.port, providers[side]!.port)),
    );
  await write(0);
  const mesh = start("meshctl", meshctlArgv(configPath), { core: PROXY_CORE });
  try {
    for (let i = 0; !(await up(httpPort)); i++) {
      if (mesh.hasExited() || i > 150) throw new Error(`meshctl did not start:\n${mesh.output()}`);
      await sleep(100);
    }
    const wrk = start("wrk", [
      "wrk",
      "-t1",
      "-c16",
      `-d${SOAK_SECONDS}s`,
      "--timeout",
      "5s",
      `http://127.0.0.1:${httpPort}/`,
    ], { core: LOAD_CORE });
    let stopBolt = false;
    const template = await encodeRequestFrame({
      id: 1,
      service: `${TEST_SERVICE}:1.0`,
      method: "plus",
      args: [int(1), int(2)],
      timeout: 3000,
    });
    const bolt = boltLoad(boltPort, template, 8, 2, () => {}, () => stopBolt);

    const t0 = performance.now();
    const end = t0 + SOAK_SECONDS * 1000;
    const rss: { atS: number; kib: number }[] = [];
    let side = 0;
    let reloads = 0;
    let nextReload = t0 + RELOAD_EVERY_MS;
    let nextRss = t0;
    while (performance.now() < end) {
      const now = performance.now();
      if (now >= nextRss) {
        rss.push({ atS: Math.round((now - t0) / 1000), kib: treeRssKiB(mesh.pid) });
        nextRss += RSS_EVERY_MS;
      }
      if (now >= nextReload && now + RELOAD_EVERY_MS / 2 < end) {
        const old = side;
        side = 1 - side;
        await write(side);
        Deno.kill(mesh.pid, "SIGHUP");
        reloads++;
        // Once the new config carries the traffic (the old runtime's requests have long finished after
        // a few seconds at 1 ms each), restart the upstreams it left.
        const before = origins[side]!.requests;
        while (origins[side]!.requests < before + 100 && performance.now() < end) await sleep(50);
        await sleep(2_000);
        await origins[old]!.restart();
        await providers[old]!.stop();
        providers[old] = await startBoltServer({ port: providers[old]!.port });
        providerRestarts[old]!++;
        nextReload += RELOAD_EVERY_MS;
      }
      await sleep(200);
    }
    stopBolt = true;
    const boltCounts = await bolt;
    await wrk.exited;
    const wrkCounts = parseWrkCounts(wrk.output());
    const stopAt = performance.now();
    Deno.kill(mesh.pid, "SIGTERM");
    const code = await mesh.exited;
    const exitMs = Math.round(performance.now() - stopAt);

    const warm = rss.filter((s) => s.atS * 1000 >= WARMUP_MS);
    const baseline = warm[0]?.kib ?? 0;
    const peakAfter = Math.max(...warm.map((s) => s.kib));
    const growth = baseline > 0 ? (peakAfter - baseline) / baseline : 0;
    const logs = mesh.output();
    const rejected = (logs.match(/reload rejected|reload failed/g) ?? []).length;
    const internal = (logs.match(/\(bug\)/g) ?? []).length;
    const result = {
      seconds: SOAK_SECONDS,
      wrk: wrkCounts,
      bolt: boltCounts,
      reloads,
      reloadsRejected: rejected,
      internalErrors: internal,
      upstreamRestarts: { http: origins.map((o) => o.restarts), bolt: providerRestarts },
      rssKiB: {
        warmupEndS: Math.round(WARMUP_MS / 1000),
        baseline,
        peakAfterWarmup: peakAfter,
        final: rss.at(-1)?.kib,
        growth: Math.round(growth * 1000) / 1000,
        samples: rss.map((s) => `${s.atS}s:${Math.round(s.kib / 1024)}M`).join(" "),
      },
      meshctlExit: { code, ms: exitMs },
    };
    console.log(JSON.stringify(result));
    const failures: string[] = [];
    const w = wrkCounts;
    if (w.non2xx + w.connect + w.read + w.write + w.timeout > 0) failures.push("wrk saw errors");
    if (boltCounts.bad + boltCounts.lost > 0) failures.push("bolt requests failed");
    if (rejected > 0 || internal > 0) failures.push("reloads rejected or internal errors in the log");
    if (growth > RSS_GROWTH_LIMIT) failures.push(`RSS grew ${Math.round(growth * 100)}% after warm-up`);
    if (code !== 0 || exitMs > GRACEFUL_TIMEOUT_MS + 1_000) {
      failures.push(`meshctl exit ${code} in ${exitMs} ms`);
    }
    if (failures.length > 0) {
      console.error(`soak FAILED: ${failures.join("; ")}\n${logs.slice(-4000)}`);
      return 1;
    }
    console.log("soak ok");
    return 0;
  } finally {
    await stopAll();
    for (const o of origins) await o.close();
    for (const p of providers) await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function up(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`);
    await r.body?.cancel();
    return r.status === 200;
  } catch {
    return false;
  }
}

Deno.exit(await main());
