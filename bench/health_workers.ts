/**
 * Health with `--concurrency 2` (issue 13, shared_health.ts): how many active-check probes an upstream gets
 * per interval, and how long from a host failing until every worker excludes it. Each round starts, in
 * turn (A B A B …), this tree and — with `--before DIR` (e.g. /work/main before the change, or a `git
 * archive`) — the other tree, each with two HTTP upstreams (in this process) behind one cluster with an
 * HTTP health_check every 200 ms (unhealthy_threshold 2, timeout 200 ms) and outlier_detection
 * (consecutive_5xx 3):
 *
 * - probes: /health requests host A received over 3 s, ÷ 15 intervals (1.0 = one checker per host);
 * - hc_exclude_ms (this tree only: the before tree logs no apply events): B is killed at t0; each worker
 *   logs when the main thread's "failed_active_hc" reaches it; the figure is the last worker's log time − t0
 *   (two failed checks at 200 ms intervals, the second waiting for its 200 ms timeout on a refused connect
 *   is faster), and lag_ms the main thread's decision → that worker;
 * - outlier_exclude_ms: A answers 503 from t0 under a sequential client on fresh connections; the last
 *   worker's "ejected" apply − t0, and the 503s the client saw.
 *
 *   deno run -A bench/health_workers.ts [--rounds 5] [--before DIR]
 */
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { DENO, MESHCTL_FLAGS } from "./_harness.ts";
import { installSignalHandlers, sleep, start, stopAll } from "./_proc.ts";

const args = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "5" }, before: { type: "string" } },
});
const rounds = Number(args.values.rounds);
const INTERVAL_MS = 200;
const WINDOW_MS = 3000;

interface Up {
  port: number;
  probes: number;
  fail: boolean;
  stop(): Promise<void>;
}

function upstream(): Up {
  const ac = new AbortController();
  const up: Up = { port: 0, probes: 0, fail: false, stop: async () => {} };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      if (new URL(req.url).pathname === "/health") {
        up.probes++;
        return new Response("ok");
      }
      return new Response("x", { status: up.fail ? 503 : 200 });
    },
  );
  up.port = server.addr.port;
  up.stop = async () => {
    ac.abort();
    await server.finished;
  };
  return up;
}

async function getFresh(port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET /w HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"));
    const buf = new Uint8Array(4096);
    let text = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

interface Applied {
  time: number;
  worker: number;
  host: string;
  ejected: boolean;
  failed: boolean;
  lag: number;
}

function appliedEvents(logs: string): Applied[] {
  const out: Applied[] = [];
  for (const line of logs.split("\n")) {
    if (!line.includes("host health from the main thread")) continue;
    try {
      const j = JSON.parse(line);
      out.push({
        time: Date.parse(j.time),
        worker: j.worker,
        host: j.host,
        ejected: j.ejected,
        failed: j.failed_active_hc,
        lag: j.lag_ms,
      });
    } catch { /* a partial line */ }
  }
  return out;
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

async function round(tree: string, label: string): Promise<Record<string, number | string>> {
  const a = upstream();
  const b = upstream();
  const dir = await Deno.makeTempDir({ prefix: "hw-" });
  const config = {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    servers: [{
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [{ match: { prefix: "/" }, route: { cluster_name: "o" } }],
        }],
      }],
      listeners: [{
        name: "in",
        address: "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [{
        name: "o",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: `127.0.0.1:${a.port}` }, { address: `127.0.0.1:${b.port}` }],
        health_check: {
          service_name: "o",
          protocol: "Http1",
          timeout: "200ms",
          interval: `${INTERVAL_MS}ms`,
          interval_jitter: "10ms",
          unhealthy_threshold: 2,
          check_config: { http_check_config: { path: "/health" } },
        },
        outlier_detection: { consecutive_5xx: 3, max_ejection_percent: 100, base_ejection_time: "30s" },
        healthy_panic_threshold: 0,
      }],
    },
  };
  await Deno.writeTextFile(`${dir}/c.yaml`, stringify(config));
  const main = `${tree}/main.ts`;
  const m = start(label, [
    DENO,
    "run",
    ...MESHCTL_FLAGS,
    main,
    "serve",
    "--concurrency",
    "2",
    "--log-format",
    "json",
    "--log-level",
    "debug",
    "--address-file",
    `${dir}/addr.json`,
    `${dir}/c.yaml`,
  ]);
  const result: Record<string, number | string> = { tree: label };
  try {
    let addr: { listeners: Record<string, string> } | undefined;
    await until(() => {
      try {
        addr = JSON.parse(Deno.readTextFileSync(`${dir}/addr.json`));
      } catch { /* not yet */ }
      return addr !== undefined;
    }, 20_000);
    if (addr === undefined) throw new Error(`${label} did not start: ${m.output()}`);
    const port = Number(addr.listeners["in"]!.split(":").at(-1));
    await sleep(500); // past the first checks
    const p0 = a.probes;
    await sleep(WINDOW_MS);
    result["probes_per_interval"] = Math.round((a.probes - p0) / (WINDOW_MS / INTERVAL_MS) * 100) / 100;
    // B dies: active checks take it out of every worker.
    const t0 = Date.now();
    await b.stop();
    const bAddr = `127.0.0.1:${b.port}`;
    const applied = () => appliedEvents(m.output()).filter((e) => e.host === bAddr && e.failed);
    if (await until(() => new Set(applied().map((e) => e.worker)).size === 2, 5000)) {
      const ev = applied();
      result["hc_exclude_ms"] = Math.max(...ev.map((e) => e.time)) - t0;
      result["hc_lag_ms"] = Math.max(...ev.map((e) => e.lag));
    }
    // A answers 503 under a sequential client: outlier detection ejects it from every worker (healthy_panic 0:
    // then no host is left, and the client sees 503 "no healthy upstream" which stops the count).
    const aAddr = `127.0.0.1:${a.port}`;
    a.fail = true;
    const t1 = Date.now();
    const ejected = () => appliedEvents(m.output()).filter((e) => e.host === aAddr && e.ejected);
    let errors = 0;
    while (Date.now() - t1 < 3000 && new Set(ejected().map((e) => e.worker)).size < 2) {
      if ((await getFresh(port)) === 503) errors++;
    }
    const ev = ejected();
    if (new Set(ev.map((e) => e.worker)).size === 2) {
      result["outlier_exclude_ms"] = Math.max(...ev.map((e) => e.time)) - t1;
      result["outlier_lag_ms"] = Math.max(...ev.map((e) => e.lag));
      result["client_503s"] = errors;
    }
  } finally {
    await m.stop();
    await a.stop();
    await b.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
  return result;
}

installSignalHandlers();
const here = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
try {
  const rows: Record<string, number | string>[] = [];
  for (let i = 0; i < rounds; i++) {
    rows.push(await round(here, "after"));
    if (args.values.before !== undefined) rows.push(await round(args.values.before, "before"));
  }
  for (const r of rows) console.log(JSON.stringify(r));
  const keys = [
    "probes_per_interval",
    "hc_exclude_ms",
    "hc_lag_ms",
    "outlier_exclude_ms",
    "outlier_lag_ms",
    "client_503s",
  ];
  for (const tree of ["after", "before"]) {
    const mine = rows.filter((r) => r["tree"] === tree);
    if (mine.length === 0) continue;
    const parts = keys.flatMap((k) => {
      const v = mine.map((r) => r[k]).filter((x): x is number => typeof x === "number").sort((x, y) => x - y);
      return v.length === 0 ? [] : [`${k} min ${v[0]} median ${v[Math.floor(v.length / 2)]}`];
    });
    console.log(`${tree}: ${parts.join("; ")}`);
  }
} finally {
  await stopAll();
}
