/**
 * End-to-end tests of `meshctl stats`: an admin server runs in this process on 127.0.0.1:0 and the CLI is
 * spawned with exactly the permissions the compiled binary gets.
 */
import assert from "node:assert/strict";
import { startAdmin } from "../src/admin/mod.ts";
import type { AdminServer } from "../src/admin/mod.ts";
import { StatsRegistry } from "../src/stats/mod.ts";
import { parseStatsArgs, renderStatsTable } from "../src/cli/stats.ts";
import { RUN_FLAGS } from "./_util.ts";
import { DEAD_PORT } from "./_e2e.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

function command(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, MAIN, "stats", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** stderr without Deno's own config warnings. */
function cleanStderr(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).split("\n").filter((l) =>
    !/^\S*Warning\S* "exports" field|^\s+at file:.*deno\.json/.test(l)
  ).join("\n");
}

async function meshctlStats(args: string[]): Promise<Output> {
  const { code, stdout, stderr } = await command(args).output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: cleanStderr(stderr) };
}

function seededRegistry(): StatsRegistry {
  const r = new StatsRegistry();
  const ingress = r.scope("downstream", { listener: "ingress" });
  ingress.counter("request_total").inc(120);
  ingress.counter("request_2xx").inc(118);
  ingress.gauge("connection_active").set(3);
  for (let i = 1; i <= 100; i++) ingress.histogram("request_time").record(i);
  r.scope("downstream", { proxy: "global" }).counter("request_total").inc(120);
  r.scope("upstream", { cluster: "backend" }).counter("connection_con_fail").inc(2);
  r.scope("upstream", { cluster: "backend", host: "10.0.0.1:8080" }).counter("request_total").inc(60);
  return r;
}

async function withAdmin(fn: (addr: string, registry: StatsRegistry) => Promise<void>): Promise<void> {
  const registry = seededRegistry();
  const admin: AdminServer = startAdmin({
    hostname: "127.0.0.1",
    port: 0,
    registry,
    configDump: () => ({}),
    ready: () => true,
    version: "test",
  });
  try {
    await fn(`127.0.0.1:${admin.addr.port}`, registry);
  } finally {
    await admin.shutdown();
  }
}

Deno.test("meshctl stats --format json prints MOSN's /api/v1/stats document", async () => {
  await withAdmin(async (addr, registry) => {
    const out = await meshctlStats(["--addr", addr, "--format", "json"]);
    assert.equal(out.stderr.trim(), "");
    assert.equal(out.code, 0);
    assert.deepEqual(JSON.parse(out.stdout), registry.toMosnJson());
    assert.ok(!out.stdout.includes("\x1b["), "no colour in JSON");
  });
});

Deno.test("meshctl stats --filter keeps matching names or full keys", async () => {
  await withAdmin(async (addr) => {
    const json = await meshctlStats(["--addr", addr, "--format", "json", "--filter", "^request_total$"]);
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout), {
      downstream: { "listener.ingress": { request_total: "120" }, "proxy.global": { request_total: "120" } },
      upstream: { "cluster.backend.host.10.0.0.1:8080": { request_total: "60" } },
    });
    const byKey = await meshctlStats([
      "--addr",
      addr,
      "--format",
      "json",
      "--filter",
      "^upstream\\.cluster\\.backend\\.",
    ]);
    assert.deepEqual(Object.keys(JSON.parse(byKey.stdout).upstream), [
      "cluster.backend",
      "cluster.backend.host.10.0.0.1:8080",
    ]);
  });
});

Deno.test("meshctl stats --format prometheus prints the exposition text", async () => {
  await withAdmin(async (addr, registry) => {
    const all = await meshctlStats(["--addr", addr, "--format", "prometheus"]);
    assert.equal(all.code, 0);
    assert.equal(all.stdout, registry.toPrometheus());
    const some = await meshctlStats(["--addr", addr, "--format", "prometheus", "--filter", "con_fail"]);
    assert.equal(
      some.stdout,
      '# TYPE meshctl_upstream_connection_con_fail counter\nmeshctl_upstream_connection_con_fail{cluster="backend"} 2\n',
    );
  });
});

Deno.test("meshctl stats prints a table grouped by listener, cluster and host", async () => {
  await withAdmin(async (addr) => {
    const out = await meshctlStats(["--addr", addr]);
    assert.equal(out.code, 0);
    assert.ok(!out.stdout.includes("\x1b["), "no colour when stdout is not a terminal");
    const lines = out.stdout.split("\n");
    for (
      const header of [
        "cluster=backend",
        "cluster=backend host=10.0.0.1:8080",
        "listener=ingress",
        "proxy=global",
      ]
    ) {
      assert.ok(lines.includes(header), `missing group ${header}:\n${out.stdout}`);
    }
    const ingress = out.stdout.slice(out.stdout.indexOf("listener=ingress"));
    assert.match(ingress, /^ {2}downstream_request_total +120$/m);
    assert.match(ingress, /^ {2}downstream_connection_active +3$/m);
    assert.match(
      ingress,
      /^ {2}downstream_request_time +100 +(49|50)\.\d+ +(89|90)\.\d+ +(98|99)\.\d+ +100$/m,
    );
    // values of one table end in the same column
    const valueRows = lines.filter((l) => /^ {2}(downstream|upstream)_\S+ +\d+$/.test(l));
    assert.ok(valueRows.length >= 5);
    assert.equal(new Set(valueRows.map((l) => l.length)).size, 1, valueRows.join("\n"));
  });
});

Deno.test("meshctl stats --watch --count refreshes and shows counter rates", async () => {
  await withAdmin(async (addr, registry) => {
    const counter = registry.scope("downstream", { listener: "ingress" }).counter("request_total");
    const timer = setInterval(() => counter.inc(10), 20);
    try {
      const out = await meshctlStats([
        "--addr",
        addr,
        "--watch",
        "0.3",
        "--count",
        "2",
        "--filter",
        "request_total",
      ]);
      assert.equal(out.code, 0);
      assert.equal(out.stdout.match(/^listener=ingress$/gm)?.length, 2, out.stdout);
      assert.match(out.stdout, /RATE\/s/);
      const rate = /^ {2}downstream_request_total +\d+ +(\d+\.\d)$/m.exec(
        out.stdout.split("proxy=global")[1]!,
      );
      assert.ok(rate !== null && Number(rate[1]) > 0, out.stdout);
    } finally {
      clearInterval(timer);
    }
  });
});

Deno.test("meshctl stats --watch exits 0 on SIGINT", async () => {
  await withAdmin(async (addr) => {
    const child = command(["--addr", addr, "--watch", "0.2"]).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    while (!seen.includes("proxy=global")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    child.kill("SIGINT");
    const drain = (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })();
    const [status] = await Promise.all([child.status, drain, child.stderr.cancel()]);
    assert.equal(status.code, 0);
    assert.equal(status.signal, null);
  });
});

Deno.test("meshctl stats exits 1 with one clear line when nothing listens", async () => {
  const port = DEAD_PORT;
  const out = await meshctlStats(["--addr", `127.0.0.1:${port}`, "--format", "json"]);
  assert.equal(out.code, 1);
  assert.equal(out.stdout, "");
  assert.equal(
    out.stderr.trim(),
    `meshctl stats: cannot reach the admin API at 127.0.0.1:${port} (connection refused); is meshctl serve running?`,
  );
});

Deno.test("meshctl stats exits 2 on usage errors", async () => {
  for (
    const [args, message] of [
      [["--addr"], /--addr/],
      [["--addr", "nohost"], /invalid --addr/],
      [["--format", "xml"], /invalid --format "xml"/],
      [["--filter", "("], /invalid --filter/],
      [["--watch", "0"], /invalid --watch/],
      [["--count", "2"], /--count needs --watch/],
    ] as const
  ) {
    const out = await meshctlStats([...args]);
    assert.equal(out.code, 2, args.join(" "));
    assert.match(out.stderr, message);
    assert.equal(out.stdout, "");
  }
});

Deno.test("parseStatsArgs() defaults to MOSN's admin address and the table format", () => {
  assert.deepEqual(parseStatsArgs([]), {
    addr: { hostname: "127.0.0.1", port: 34901 },
    format: "table",
    filter: undefined,
    watch: undefined,
    count: undefined,
  });
});

Deno.test("renderStatsTable() computes rates per second from the previous refresh", () => {
  const registry = seededRegistry();
  const first = renderStatsTable(registry.toPrometheus(), { rates: true, now: 1000 });
  registry.scope("downstream", { proxy: "global" }).counter("request_total").inc(50);
  const second = renderStatsTable(registry.toPrometheus(), { rates: true, previous: first.state, now: 3000 });
  const global = second.text.slice(second.text.indexOf("proxy=global"));
  assert.match(global, /^ {2}downstream_request_total +170 +25\.0$/m);
  assert.match(second.text, /^ {2}downstream_connection_active +3$/m, "gauges get no rate");
});
