/**
 * The sidecar registry API in SOFA RPC's layout (`registry.layout: "sofa"`) against a real ZooKeeper and
 * real sofa-rpc-node peers, end to end with the real meshctl:
 * - sofa-rpc-node servers register THEMSELVES in ZooKeeper (its own ZookeeperRegistry); meshctl `sub`s
 *   and a sofa-rpc-node client pointed at meshctl's bolt listener reaches them, failing over with no error;
 * - what meshctl `pub`s is found by a sofa-rpc-node client using its own ZooKeeper registry;
 * - meshctl's ZooKeeper session expires while calls run (the connection cut by a TCP forwarder for longer
 *   than the session timeout): calls keep going, the ephemeral nodes come back under a new session, and
 *   the watch is re-armed.
 */
import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import { type Meshctl, startMeshctl } from "./_e2e.ts";
import { apiOf, post, registryExtend, untilHosts } from "./_registry.ts";
import { startZooKeeper, type ZooKeeper, zooKeeperInstalled } from "./_peers/zookeeper.ts";
import { connectRaw, type RawZk, startPausableProxy } from "./_peers/zk_raw.ts";
import {
  boltClient,
  type BoltClientPeer,
  type BoltServerPeer,
  ECHO_SERVICE,
  startBoltServer,
  TEST_SERVICE,
} from "./_peers/bolt_peers.ts";
import { javaUrlDecode } from "../src/registry/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false, ignore: !zooKeeperInstalled() };
const PROVIDERS = `/sofa-rpc/${TEST_SERVICE}/providers`;
const CONSUMERS = `/sofa-rpc/${TEST_SERVICE}/consumers`;

/** Polls `cond` (a cheap in-process check) until it holds; the bound turns a hang into a clear failure. */
async function until(cond: () => boolean, what: string, boundMs = 10_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The provider node (decoded URL and name) of `port` under `path`, once it exists. */
async function providerNode(raw: RawZk, path: string, port: number): Promise<{ name: string; url: string }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const children = await raw.children(path).catch(() => [] as string[]);
    for (const name of children) {
      const url = javaUrlDecode(name) ?? "";
      if (url.startsWith(`bolt://127.0.0.1:${port}`)) return { name, url };
    }
    if (Date.now() > deadline) {
      throw new Error(`no provider node for port ${port} under ${path}: ${children}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The node's creation time on the ZooKeeper server (ms since the epoch; same host clock). */
function ctimeOf(raw: RawZk, path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    raw.zk.exists(path, (e, stat) => {
      if (e || !stat) return reject(e ?? new Error(`${path} does not exist`));
      resolve(Number((stat.ctime as unknown as Buffer).readBigInt64BE(0)));
    })
  );
}

function boltListener(name: string, router: string): Record<string, unknown> {
  return {
    name,
    address: "127.0.0.1:0",
    filter_chains: [{
      filters: [{
        type: "proxy",
        config: { downstream_protocol: "bolt", upstream_protocol: "bolt", router_config_name: router },
      }],
    }],
  };
}

/** The consumer side: `egress` (bolt) on router `sofa`, which `sub` with the sofa layout fills. */
function consumerSidecar(): Record<string, unknown> {
  return {
    servers: [{ default_log_level: "WARN", listeners: [boltListener("egress", "sofa")] }],
    extends: [registryExtend({ server_port: 12200 })],
  };
}

/** The provider side: `ingress` (bolt) → the local application; `pub` publishes ingress's port. */
function providerSidecar(app: string): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      graceful_timeout: "1s",
      routers: [{
        router_config_name: "local",
        virtual_hosts: [{
          name: "local",
          domains: ["*"],
          routers: [{
            match: { headers: [{ name: "service", value: `${TEST_SERVICE}:1.0` }] },
            route: { cluster_name: "app" },
          }],
        }],
      }],
      listeners: [boltListener("ingress", "local")],
    }],
    cluster_manager: { clusters: [{ name: "app", type: "SIMPLE", hosts: [{ address: app }] }] },
    extends: [registryExtend({ server_listener: "ingress" })],
  };
}

/** Calls whoami() through `client` until stopped; every answer and error is kept. */
function callLoop(client: BoltClientPeer) {
  const answers: unknown[] = [];
  const errors: string[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        answers.push(await client.invoke(TEST_SERVICE, "whoami", [], 2000));
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  })();
  return {
    answers,
    errors,
    async stop() {
      running = false;
      await done;
    },
  };
}

Deno.test({
  ...opts,
  name:
    "registry sofa: sofa-rpc-node servers that register themselves in ZooKeeper become hosts; a sofa-rpc-node client through meshctl reaches them and fails over with no error",
  fn: async () => {
    const zk = await startZooKeeper();
    const raw = await connectRaw(zk.address);
    let mesh: Meshctl | undefined;
    let client: BoltClientPeer | undefined;
    let a: BoltServerPeer | undefined;
    let b: BoltServerPeer | undefined;
    let load: ReturnType<typeof callLoop> | undefined;
    try {
      mesh = await startMeshctl(consumerSidecar());
      const api = await apiOf(mesh);
      assert.deepEqual(
        await post(api, "/sub", zk.address, { interface: TEST_SERVICE, methods: ["whoami"] }, "sofa"),
        {
          err_no: 0,
          err_msg: "subscribe success",
        },
      );
      const [consumerNode] = await raw.children(CONSUMERS);
      assert.match(
        javaUrlDecode(consumerNode!)!,
        /^bolt:\/\/127\.0\.0\.1\?uniqueId=&version=1\.0&interface=/,
      );
      await untilHosts(mesh, TEST_SERVICE, []);

      // The client knows only its sidecar's bolt listener. Calls run while the provider starts and
      // registers itself; the first answer is timed from the node's creation in ZooKeeper.
      client = boltClient(`127.0.0.1:${mesh.port("egress")}`);
      let firstAnswer: { at: number; who: unknown } | undefined;
      let lastError = "";
      const giveUpAt = Date.now() + 15_000;
      const calling = (async () => {
        while (firstAnswer === undefined) {
          if (Date.now() > giveUpAt) throw new Error(`no answer through meshctl in 15 s: ${lastError}`);
          try {
            const who = await client!.invoke(TEST_SERVICE, "whoami", [], 1000);
            firstAnswer = { at: Date.now(), who };
          } catch (e) {
            lastError = (e as Error).message;
            await new Promise((r) => setTimeout(r, 1)); // no provider yet: meshctl answers an error
          }
        }
      })();
      a = await startBoltServer({ name: "A", registry: zk.address });
      await calling;
      assert.equal(firstAnswer!.who, "A");
      const nodeA = await providerNode(raw, PROVIDERS, a.port);
      assert.match(nodeA.url, new RegExp(`interface=${TEST_SERVICE.replaceAll(".", "\\.")}`));
      const latency = firstAnswer!.at - await ctimeOf(raw, `${PROVIDERS}/${nodeA.name}`);
      console.log(
        `  sofa-rpc-node's provider node in ZooKeeper → its first answer through meshctl: ${latency} ms`,
      );
      assert.ok(latency >= 0 && latency < 5000, `${latency} ms`);
      await untilHosts(mesh, TEST_SERVICE, [a.address]);
      const view = await (await fetch(`http://${api}/registry`)).json();
      assert.equal(view.subscribed[0].layout, "sofa");
      assert.equal(view.subscribed[0].service, `${TEST_SERVICE}:1.0`);

      load = callLoop(client);
      b = await startBoltServer({ name: "B", registry: zk.address });
      await untilHosts(mesh, TEST_SERVICE, [a.address, b.address]);
      await until(() => load!.answers.includes("B"), "B answers (random LB over both)");

      // A leaves as a SOFA provider does: its node goes first, the process after. Calls run throughout.
      await a.unpublish();
      await untilHosts(mesh, TEST_SERVICE, [b.address]);
      const swapped = load.answers.length + load.errors.length;
      await until(() => load!.answers.length + load!.errors.length >= swapped + 2, "calls after the swap");
      await a.stop();
      a = undefined;
      const afterStop = load.answers.length;
      await until(
        () => load!.answers.length + load!.errors.length >= afterStop + 100,
        "100 calls after A stopped",
      );
      await load.stop();
      assert.deepEqual(load.errors, [], "no call failed");
      assert.deepEqual(new Set(load.answers.slice(afterStop)), new Set(["B"]), "after A left only B answers");
    } finally {
      await load?.stop();
      await client?.close();
      await mesh?.stop();
      await a?.stop();
      await b?.stop();
      await raw.close();
      await zk.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "registry sofa: pub writes SOFA's provider node; a sofa-rpc-node client with its own ZooKeeper registry finds meshctl and its call reaches the app",
  fn: async () => {
    const zk = await startZooKeeper();
    const raw = await connectRaw(zk.address);
    const app = await startBoltServer({ name: "app" });
    let mesh: Meshctl | undefined;
    let client: BoltClientPeer | undefined;
    try {
      mesh = await startMeshctl(providerSidecar(app.address));
      const api = await apiOf(mesh);
      const service = { interface: TEST_SERVICE, methods: ["whoami"] };
      assert.deepEqual(await post(api, "/pub", zk.address, service, "sofa"), {
        err_no: 0,
        err_msg: "publish success",
      });
      const ingress = mesh.port("ingress");
      const node = await providerNode(raw, PROVIDERS, ingress);
      assert.match(
        node.url,
        new RegExp(`^bolt://127\\.0\\.0\\.1:${ingress}\\?version=1\\.0&uniqueId=&interface=${TEST_SERVICE}&`),
      );
      assert.match(node.url, /&weight=100&.*&protocol=bolt&/);
      assert.deepEqual(
        await raw.node(`${PROVIDERS}/${node.name}`).then((n) => n?.data),
        "1",
        "SOFA: 1 = online",
      );

      // The client discovers providers in ZooKeeper itself; the only one is meshctl's ingress.
      client = boltClient("", { registry: zk.address });
      assert.equal(await client.invoke(TEST_SERVICE, "whoami", [], 3000), "app");
      assert.equal(app.callsOf("whoami"), 1, "the call went through meshctl to the app");

      assert.deepEqual(await post(api, "/unpub", zk.address, service, "sofa"), {
        err_no: 0,
        err_msg: "unpub success",
      });
      await raw.waitExists(`${PROVIDERS}/${node.name}`, false, 5_000);
    } finally {
      await client?.close();
      await mesh?.stop();
      await app.stop();
      await raw.close();
      await zk.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "registry sofa: meshctl's ZooKeeper session expires while calls run: last hosts keep serving, ephemeral nodes re-created under a new session, the watch re-armed",
  fn: async () => {
    const zk: ZooKeeper = await startZooKeeper();
    const raw = await connectRaw(zk.address);
    // meshctl reaches ZooKeeper only through this forwarder; the providers and `raw` do not.
    const cut = startPausableProxy(zk.port);
    let mesh: Meshctl | undefined;
    let client: BoltClientPeer | undefined;
    let a: BoltServerPeer | undefined;
    let b: BoltServerPeer | undefined;
    let load: ReturnType<typeof callLoop> | undefined;
    try {
      a = await startBoltServer({ name: "A", registry: zk.address });
      mesh = await startMeshctl(consumerSidecar()); // session_timeout 2s
      const api = await apiOf(mesh);
      assert.equal(
        (await post(api, "/sub", cut.address, { interface: TEST_SERVICE, methods: ["whoami"] }, "sofa"))
          .err_no,
        0,
      );
      assert.equal(
        (await post(api, "/pub", cut.address, { interface: ECHO_SERVICE, methods: ["echo"] }, "sofa")).err_no,
        0,
      );
      await untilHosts(mesh, TEST_SERVICE, [a.address]);
      const pubPath = `/sofa-rpc/${ECHO_SERVICE}/providers/${
        (await providerNode(
          raw,
          `/sofa-rpc/${ECHO_SERVICE}/providers`,
          12200,
        )).name
      }`;
      const ownerBefore = (await raw.node(pubPath))!.owner;
      // meshctl's consumer node: the one its session owns (sofa-rpc-node's server A writes one too).
      let consumerPath: string | undefined;
      for (const name of await raw.children(CONSUMERS)) {
        if ((await raw.node(`${CONSUMERS}/${name}`))?.owner === ownerBefore) {
          consumerPath = `${CONSUMERS}/${name}`;
        }
      }
      assert.ok(consumerPath, "meshctl's consumer node, in the same session as its provider node");

      client = boltClient(`127.0.0.1:${mesh.port("egress")}`);
      load = callLoop(client);
      await until(() => load!.answers.length >= 10, "calls before the cut");

      // Cut meshctl off ZooKeeper for longer than its session: the server expires the session and deletes
      // its ephemeral nodes (seen by the independent client).
      const cutAt = performance.now();
      cut.pause();
      await raw.waitExists(pubPath, false, 15_000);
      const expiredMs = performance.now() - cutAt;
      assert.equal(await raw.node(consumerPath), undefined, "the consumer node went with the session");
      const duringCut = load.answers.length;
      await until(() => load!.answers.length >= duringCut + 50, "calls while cut off and expired");
      const view = await (await fetch(`http://${api}/registry`)).json();
      assert.notEqual(view.subscribed[0].session, "connected", "meshctl knows it is cut off");
      assert.equal(view.subscribed[0].providers.length, 1, "the last known providers are kept");

      cut.resume();
      await raw.waitExists(pubPath, true, 15_000);
      await raw.waitExists(consumerPath, true, 15_000);
      const ownerAfter = (await raw.node(pubPath))!.owner;
      assert.notEqual(ownerAfter, ownerBefore, "re-created under a new session");
      assert.equal((await raw.node(consumerPath))!.owner, ownerAfter);
      console.log(
        `  session expired ${expiredMs.toFixed(0)} ms after the cut (session_timeout 2s); nodes back ` +
          `${(performance.now() - cutAt).toFixed(0)} ms after it`,
      );

      // The watch is armed again: a provider that registers after the restore becomes a host.
      b = await startBoltServer({ name: "B", registry: zk.address });
      await untilHosts(mesh, TEST_SERVICE, [a.address, b.address]);
      await until(() => load!.answers.includes("B"), "B answers through meshctl");
      await load.stop();
      assert.deepEqual(load.errors, [], "no call failed across the cut, the expiry and the restore");
    } finally {
      await load?.stop();
      await client?.close();
      await mesh?.stop();
      await a?.stop();
      await b?.stop();
      await cut.stop();
      await raw.close();
      await zk.stop();
    }
  },
});
