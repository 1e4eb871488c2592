/**
 * ConfigReloader: a changed certificate file runs the SIGHUP reload path (re-read and re-validate the
 * config file), counted; reloads never overlap. The running snapshot is built with TLS contexts
 * directly; the config file is plaintext, which the loader reads today.
 */
import assert from "node:assert/strict";
import { Logger } from "../core/mod.ts";
import { makeTestPki } from "../../tests/_peers/certs.ts";
import { pemFrom, snapshotWithTls, tlsContext } from "../tls/_test_snapshot.ts";
import { ConfigReloader } from "./config_reloader.ts";
import { Server } from "./server.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const PLAIN_CONFIG = `
servers:
  - routers: [{ router_config_name: r, virtual_hosts: [{ name: v, domains: ["*"], routers: [] }] }]
    listeners:
      - name: ingress
        address: 127.0.0.1:0
        filter_chains: [{ filters: [{ type: proxy, config: { downstream_protocol: Http1, router_config_name: r } }] }]
cluster_manager:
  clusters: [{ name: backend, type: SIMPLE, lb_type: LB_ROUNDROBIN, hosts: [{ address: "127.0.0.1:9" }] }]
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
`;

async function setup() {
  const pki = await makeTestPki();
  const dir = await Deno.makeTempDir({ prefix: "meshctl-reloader-" });
  const certPath = `${dir}/server.pem`;
  await Deno.writeTextFile(certPath, pki.server.cert);
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(configPath, PLAIN_CONFIG);
  const lines: string[] = [];
  const logger = new Logger({ level: "info", write: (l) => lines.push(l) });
  const snapshot = snapshotWithTls([
    tlsContext({ certChain: pemFrom(certPath), privateKey: pemFrom(pki.server.keyPath) }),
  ]);
  const server = new Server({ snapshot, logger, version: "test" });
  const reloader = new ConfigReloader({ file: configPath, server, logger, certificateDebounceMs: 20 });
  const counters = () => {
    const s = server.registry.toMosnJson()["tls"]?.["cause.certificate_change"] ?? {};
    return { reloads: Number(s["reload_total"]), failures: Number(s["reload_failure_total"]) };
  };
  const waitFor = async (what: string, cond: () => boolean) => {
    const deadline = Date.now() + 5000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen; log:\n${lines.join("")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    pki,
    dir,
    certPath,
    configPath,
    lines,
    server,
    reloader,
    snapshot,
    counters,
    waitFor,
    async close() {
      await reloader.close();
      await server.stop(0);
      await Deno.remove(dir, { recursive: true });
      await pki.remove();
    },
  };
}

Deno.test(
  "ConfigReloader: a changed certificate file reloads the config file, counted in tls.cause.certificate_change",
  opts,
  async () => {
    const t = await setup();
    try {
      assert.deepEqual(t.reloader.watchedDirectories.includes(t.dir), true);
      assert.deepEqual(t.counters(), { reloads: 0, failures: 0 });
      const rotated = await t.pki.issue("rotated", "DNS:localhost");
      await Deno.writeTextFile(`${t.certPath}.tmp`, rotated.cert);
      await Deno.rename(`${t.certPath}.tmp`, t.certPath);
      await t.waitFor("the reload", () => t.lines.join("").includes("config reloaded"));
      assert.deepEqual(t.counters(), { reloads: 1, failures: 0 });
      assert.notEqual(t.server.runtime.snapshot, t.snapshot, "the new snapshot runs");
      assert.match(t.lines.join(""), /certificate files changed; reloading the config.*server\.pem/);
      assert.match(t.lines.join(""), /config reloaded.*cause=certificate_change/);
      // The file's config loads no certificates: nothing is watched any more.
      assert.deepEqual(t.reloader.watchedDirectories, []);
    } finally {
      await t.close();
    }
  },
);

Deno.test(
  "ConfigReloader: a rejected reload keeps the running snapshot and counts the failure",
  opts,
  async () => {
    const t = await setup();
    try {
      await Deno.writeTextFile(t.configPath, "servers: [ { listeners: 3 } ]\n");
      await Deno.writeTextFile(t.certPath, t.pki.other.cert);
      await t.waitFor("the rejection", () => t.lines.join("").includes("config reload rejected"));
      assert.deepEqual(t.counters(), { reloads: 1, failures: 1 });
      assert.equal(t.server.runtime.snapshot, t.snapshot, "still serving the previous snapshot");
      assert.match(t.lines.join(""), /reload rejected: .*servers\[0\]\.listeners/);
      // Still watching: new bytes try again.
      await Deno.writeTextFile(t.certPath, t.pki.client.cert);
      await t.waitFor("the second attempt", () => t.counters().reloads === 2);
      await t.waitFor("the second rejection", () => t.counters().failures === 2);
    } finally {
      await t.close();
    }
  },
);

Deno.test(
  "ConfigReloader: reloads asked for while one runs are served by one more, never in parallel",
  opts,
  async () => {
    const t = await setup();
    try {
      const all = Promise.all([
        t.reloader.reload("SIGHUP"),
        t.reloader.reload("SIGHUP"),
        t.reloader.reload("SIGHUP"),
      ]);
      await all;
      const reloaded = t.lines.filter((l) => l.includes("config reloaded")).length;
      assert.equal(reloaded, 2, "the first and one queued");
      assert.deepEqual(
        t.counters(),
        { reloads: 0, failures: 0 },
        "SIGHUP reloads are not certificate reloads",
      );
    } finally {
      await t.close();
    }
  },
);
