/**
 * RegistryRuntime over the in-memory registry: providers become an ordinary cluster and a `service`
 * route in router `dubbo`, applied through Server.reload; SIGHUP keeps them; unsub removes them.
 */
import assert from "node:assert/strict";
import { Logger } from "../core/mod.ts";
import { loadConfigFile, parseConfigText } from "../config/mod.ts";
import { MemoryRegistry } from "../registry/mod.ts";
import { ConfigReloader } from "./config_reloader.ts";
import { RegistryRuntime } from "./registry_runtime.ts";
import { Server } from "./server.ts";
import { validationContext } from "./validation_context.ts";

const IFACE = "com.example.DemoService";
const ZK = "127.0.0.1:2181";

/** A dubbo egress listener on router `dubbo`, which the file does not define. */
const CONFIG = `
servers:
  - listeners:
      - name: egress
        address: 127.0.0.1:0
        filter_chains:
          - filters:
              - type: proxy
                config: { downstream_protocol: X, extend_config: { sub_protocol: dubbo }, router_config_name: dubbo }
cluster_manager:
  clusters: [{ name: other, hosts: [{ address: "127.0.0.1:9" }] }]
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
extends:
  - type: dubbo_registry
    config: { enable: true, server_listener: egress, api_port: 0, advertise_ip: 127.0.0.1 }
`;

async function setup(config = CONFIG) {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-registry-runtime-" });
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(configPath, config);
  const lines: string[] = [];
  const logger = new Logger({ level: "info", write: (l) => lines.push(l) });
  const loaded = await loadConfigFile(configPath, validationContext());
  assert.ok(loaded.snapshot, loaded.errors.map((e) => e.message).join("\n"));
  const zk = new MemoryRegistry();
  const registry = new RegistryRuntime({ file: loaded.snapshot, connector: () => zk, logger });
  const server = new Server({ snapshot: registry.initialSnapshot(), logger, version: "test" });
  await server.start();
  const api = registry.start(server);
  const post = async (path: string, service: Record<string, unknown>, layout?: string) => {
    const r = await fetch(`http://127.0.0.1:${api.port}${path}`, {
      method: "POST",
      body: JSON.stringify({ registry: { type: "zookeeper", addr: ZK, layout }, service }),
    });
    return await r.json();
  };
  const settle = async () => {
    await new Promise((r) => setTimeout(r, 10)); // memory watches fire on the next task
    await registry.settled();
  };
  const cluster = (name: string) => server.runtime.snapshot.clusters.find((c) => c.name === name);
  const routesOf = (name: string) =>
    server.runtime.snapshot.servers[0]!.routers.find((r) => r.routerConfigName === name)!.virtualHosts[0]!
      .routers;
  const dubboRoutes = () => routesOf("dubbo");
  return {
    dir,
    configPath,
    lines,
    zk,
    registry,
    server,
    api,
    post,
    settle,
    cluster,
    dubboRoutes,
    routesOf,
    async close() {
      await registry.close();
      await server.stop(0);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("sub: providers become cluster <iface> (SIMPLE, LB_RANDOM, weights) and a service route in dubbo", async () => {
  const t = await setup();
  try {
    assert.equal(t.dubboRoutes().length, 0, "router dubbo exists from the start, empty");
    t.zk.addProvider(ZK, IFACE, `dubbo://127.0.0.1:20880/${IFACE}?interface=${IFACE}&weight=300`);
    assert.deepEqual(await t.post("/sub", { interface: IFACE, methods: ["sayHello"] }), {
      err_no: 0,
      err_msg: "subscribe success",
    });
    await t.settle();
    const c = t.cluster(IFACE);
    assert.ok(c, "cluster created on demand");
    assert.equal(c.type, "SIMPLE");
    assert.equal(c.lbType, "LB_RANDOM");
    assert.deepEqual(c.hosts.map((h) => [h.address.hostname, h.address.port, h.weight]), [[
      "127.0.0.1",
      20880,
      128,
    ]]);
    const route = t.dubboRoutes()[0]!;
    assert.equal(route.route?.clusterName, IFACE);
    assert.deepEqual(route.match.headers.map((h) => [h.name, h.value]), [["service", IFACE]]);
    // The cluster is a real one in the running ClusterManager (LB, pools, stats).
    assert.ok(t.server.runtime.clusters.get(IFACE));

    const remove = t.zk.addProvider(ZK, IFACE, `dubbo://127.0.0.1:20881/${IFACE}?interface=${IFACE}`);
    await t.settle();
    assert.deepEqual(t.cluster(IFACE)!.hosts.map((h) => h.address.port).sort(), [20880, 20881]);
    remove();
    await t.settle();
    assert.deepEqual(t.cluster(IFACE)!.hosts.map((h) => h.address.port), [20880]);
    assert.equal(t.cluster("other")?.hosts.length, 1, "the file's clusters stay");
  } finally {
    await t.close();
  }
});

Deno.test("SIGHUP keeps the registry's clusters and routes; unsub removes both", async () => {
  const t = await setup();
  const reloader = new ConfigReloader({
    file: t.configPath,
    server: t.server,
    logger: new Logger({ level: "error", write: () => {} }),
    compose: (next) => t.registry.rebase(next),
  });
  try {
    t.zk.addProvider(ZK, IFACE, `dubbo://127.0.0.1:20880/${IFACE}?interface=${IFACE}`);
    await t.post("/sub", { interface: IFACE, methods: ["sayHello"] });
    await t.settle();
    assert.ok(t.cluster(IFACE));
    // The file changes (another cluster); the reload keeps what the registry added.
    await Deno.writeTextFile(t.configPath, CONFIG.replace("name: other", "name: renamed"));
    await reloader.reload("SIGHUP");
    assert.ok(t.cluster("renamed"), "the new file applied");
    assert.equal(t.cluster(IFACE)?.hosts.length, 1, "registry cluster survived the reload");
    assert.equal(t.dubboRoutes().length, 1);

    assert.deepEqual(await t.post("/unsub", { interface: IFACE, methods: ["sayHello"] }), {
      err_no: 0,
      err_msg: "unsubscribe success",
    });
    await t.settle();
    assert.equal(t.cluster(IFACE), undefined);
    assert.equal(t.dubboRoutes().length, 0);
  } finally {
    await reloader.close();
    await t.close();
  }
});

Deno.test("pub publishes the bound port of server_listener; stopping deletes the node", async () => {
  const t = await setup();
  try {
    const res = await t.post("/pub", { interface: IFACE, methods: ["sayHello"] });
    assert.equal(res.err_no, 0, res.err_msg);
    const port = t.server.addresses.listeners["egress"]!.split(":")[1];
    const nodes = t.zk.nodes(ZK);
    assert.equal(nodes.length, 1);
    assert.match(
      decodeURIComponent(nodes[0]!),
      new RegExp(`providers/dubbo://127\\.0\\.0\\.1:${port}/${IFACE}\\?`),
    );
    assert.equal(t.registry.view()?.published[0]?.state, "registered");
  } finally {
    await t.close();
  }
  assert.deepEqual(t.zk.nodes(ZK), [], "close() removed the ephemeral node");
});

Deno.test("a file router dubbo with a catch-all: the registry route goes first; a file cluster <iface> keeps its settings", async () => {
  const config = CONFIG.replace(
    'cluster_manager:\n  clusters: [{ name: other, hosts: [{ address: "127.0.0.1:9" }] }]',
    `    routers:
      - router_config_name: dubbo
        virtual_hosts:
          - name: all
            domains: ["*"]
            routers: [{ match: { headers: [{ name: service, value: ".*" }] }, route: { cluster_name: other } }]
cluster_manager:
  clusters:
    - { name: other, hosts: [{ address: "127.0.0.1:9" }] }
    - { name: ${IFACE}, lb_type: LB_ROUNDROBIN, hosts: [], circuit_breakers: [{ max_requests: 7 }] }`,
  ).replace("  - listeners:", "  - listeners:");
  assert.ok(
    parseConfigText(config, "t.yaml").snapshot,
    parseConfigText(config, "t.yaml").errors.map((e) => e.path + e.message).join("\n"),
  );
  const t = await setup(config);
  try {
    t.zk.addProvider(ZK, IFACE, `dubbo://127.0.0.1:20880/${IFACE}?interface=${IFACE}`);
    await t.post("/sub", { interface: IFACE, methods: ["sayHello"] });
    await t.settle();
    const routes = t.dubboRoutes();
    assert.equal(routes.length, 2);
    assert.equal(routes[0]!.route?.clusterName, IFACE);
    assert.equal(routes[1]!.route?.clusterName, "other");
    const c = t.cluster(IFACE)!;
    assert.equal(c.lbType, "LB_ROUNDROBIN");
    assert.equal(c.circuitBreakers.maxRequests, 7);
    assert.equal(c.hosts.length, 1);
  } finally {
    await t.close();
  }
});

Deno.test("sub with registry.layout sofa: cluster <iface> and a route service == <iface>:1.0 in router sofa", async () => {
  const t = await setup();
  const sofaIface = "com.alipay.sofa.rpc.test.HelloService";
  try {
    assert.equal(t.routesOf("sofa").length, 0, "router sofa exists from the start, empty");
    t.zk.addProvider(
      ZK,
      sofaIface,
      `bolt://127.0.0.1:12200?uniqueId=&version=1.0&interface=${sofaIface}`,
      "sofa",
    );
    assert.equal((await t.post("/sub", { interface: sofaIface, methods: ["sayHello"] }, "sofa")).err_no, 0);
    await t.settle();
    assert.deepEqual(t.cluster(sofaIface)?.hosts.map((h) => h.address.port), [12200]);
    const route = t.routesOf("sofa")[0]!;
    assert.equal(route.route?.clusterName, sofaIface);
    assert.deepEqual(route.match.headers.map((h) => [h.name, h.value]), [["service", `${sofaIface}:1.0`]]);
    assert.equal(t.dubboRoutes().length, 0, "nothing in router dubbo");
    // SIGHUP keeps it; unsub removes cluster and route.
    const reloader = new ConfigReloader({
      file: t.configPath,
      server: t.server,
      logger: new Logger({ level: "error", write: () => {} }),
      compose: (snap) => t.registry.rebase(snap),
    });
    try {
      await reloader.reload("SIGHUP");
    } finally {
      await reloader.close();
    }
    assert.equal(t.routesOf("sofa").length, 1);
    assert.equal((await t.post("/unsub", { interface: sofaIface, methods: ["sayHello"] }, "sofa")).err_no, 0);
    await t.settle();
    assert.equal(t.cluster(sofaIface), undefined);
    assert.equal(t.routesOf("sofa").length, 0);
  } finally {
    await t.close();
  }
});
