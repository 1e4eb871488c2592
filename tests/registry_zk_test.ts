/**
 * The sidecar registry API against a real ZooKeeper (tests/_peers/zookeeper.ts), end to end: the real
 * meshctl spawned, an independent ZooKeeper client (node-zookeeper-client) reading and writing the tree as
 * Dubbo applications do, dubbo2.js consumers and hessian.js Dubbo providers (npm has no Dubbo provider
 * library: `startDubboProvider` answers as Dubbo's DubboCodec does; its ZooKeeper node is written exactly as
 * Dubbo's ServiceConfig writes it, `dubboProviderUrl`).
 */
import assert from "node:assert/strict";
// @ts-types="@types/node-zookeeper-client"
import zookeeper from "node-zookeeper-client";
import { createRequire } from "node:module";
import { Dubbo, java, setting } from "dubbo2.js";
import { adminStats, type Meshctl, startMeshctl } from "./_e2e.ts";
import { apiOf, clusterHosts, post, registryExtend, untilHosts } from "./_registry.ts";
import { startZooKeeper, zooKeeperInstalled } from "./_peers/zookeeper.ts";
import { DEMO_SERVICE, dubboConsumer, type DubboProvider, startDubboProvider } from "./_peers/dubbo_peers.ts";
import { dubboProviderUrl, javaUrlDecode, javaUrlEncode } from "../src/registry/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false, ignore: !zooKeeperInstalled() };
const PROVIDERS = `/dubbo/${DEMO_SERVICE}/providers`;
const CONSUMERS = `/dubbo/${DEMO_SERVICE}/consumers`;
const METHODS = ["sayHello", "whoami"];

type ZkClient = ReturnType<typeof zookeeper.createClient>;

/**
 * dubbo2.js's own ZooKeeper client (its node-zookeeper-client@0.2.2) has no close: the ones it creates are
 * recorded here so a test can close them.
 */
const dubboZk = createRequire(import.meta.resolve("dubbo2.js"))("node-zookeeper-client") as {
  createClient: (...args: unknown[]) => { close(): void };
};
const dubboZkClients: { close(): void }[] = [];
const createDubboZkClient = dubboZk.createClient;
dubboZk.createClient = (...args) => {
  const c = createDubboZkClient(...args);
  dubboZkClients.push(c);
  return c;
};

/** An independent ZooKeeper session, as another application would have. */
async function zkClient(address: string): Promise<ZkClient> {
  const client = zookeeper.createClient(address, { sessionTimeout: 4000, retries: 0 });
  const connected = new Promise<void>((resolve) => client.once("connected", () => resolve()));
  client.connect();
  await connected;
  return client;
}

/** The children of `path` ([] while it does not exist), resolved once `cond` holds: watch-driven. */
async function untilChildren(
  client: ZkClient,
  path: string,
  cond: (children: string[]) => boolean,
  what: string,
  boundMs = 10_000,
): Promise<string[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const { children, changed } = await new Promise<{ children: string[]; changed: Promise<void> }>(
      (resolve, reject) => {
        let fire!: () => void;
        const changed = new Promise<void>((r) => fire = r);
        client.getChildren(path, () => fire(), (err, children) => {
          if (err === null || err === undefined) return resolve({ children, changed });
          if ((err as { getCode?: () => number }).getCode?.() !== zookeeper.Exception.NO_NODE) {
            return reject(err);
          }
          // Not there yet: watch for its creation instead.
          client.exists(path, () => fire(), (e) => e ? reject(e) : resolve({ children: [], changed }));
        });
      },
    );
    if (cond(children)) return children;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Error(`${what}: not within ${boundMs} ms; children of ${path}: ${children.join(", ")}`);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([changed, new Promise((r) => timer = setTimeout(r, Math.min(left, 1000)))]);
    clearTimeout(timer);
  }
}

function mkdirp(client: ZkClient, path: string): Promise<void> {
  return new Promise((resolve, reject) => client.mkdirp(path, (e) => e ? reject(e) : resolve()));
}

/** Registers a provider node as Dubbo does (persistent parents, an ephemeral node named by the URL). */
async function registerProvider(client: ZkClient, provider: DubboProvider, weight?: number): Promise<string> {
  await mkdirp(client, PROVIDERS);
  const url = dubboProviderUrl({
    host: "127.0.0.1",
    port: provider.port,
    iface: DEMO_SERVICE,
    methods: METHODS,
    version: "1.0.0",
    application: `demo-${provider.identity}`,
    ...(weight === undefined ? {} : { weight }),
  });
  const path = `${PROVIDERS}/${javaUrlEncode(url)}`;
  await new Promise<void>((resolve, reject) =>
    client.create(path, zookeeper.CreateMode.EPHEMERAL, (e) => e ? reject(e) : resolve())
  );
  return path;
}

function removeNode(client: ZkClient, path: string): Promise<void> {
  return new Promise((resolve, reject) => client.remove(path, -1, (e) => e ? reject(e) : resolve()));
}

/** The node's creation time on the ZooKeeper server (ms since the epoch; same host clock). */
function ctimeOf(client: ZkClient, path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    client.exists(path, (e, stat) => {
      if (e || !stat) return reject(e ?? new Error(`${path} does not exist`));
      resolve(Number((stat.ctime as unknown as Buffer).readBigInt64BE(0)));
    })
  );
}

/** The provider side: `ingress` (dubbo) → the local application; `pub` publishes ingress's port. */
function providerSidecar(app: string, registry: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      graceful_timeout: "1s",
      routers: [{
        router_config_name: "local",
        virtual_hosts: [{
          name: "local",
          domains: ["*"],
          routers: [{ match: { prefix: "" }, route: { cluster_name: "app" } }],
        }],
      }],
      listeners: [{
        name: "ingress",
        address: "127.0.0.1:0",
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: { downstream_protocol: "dubbo", upstream_protocol: "dubbo", router_config_name: "local" },
          }],
        }],
      }],
    }],
    cluster_manager: { clusters: [{ name: "app", type: "SIMPLE", hosts: [{ address: app }] }] },
    extends: [registryExtend({ server_listener: "ingress", ...registry })],
  };
}

/** The consumer side: `egress` (dubbo) on router `dubbo`, which the registry fills. */
function consumerSidecar(registry: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      listeners: [{
        name: "egress",
        address: "127.0.0.1:0",
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: { downstream_protocol: "dubbo", upstream_protocol: "dubbo", router_config_name: "dubbo" },
          }],
        }],
      }],
    }],
    extends: [registryExtend({ server_port: 20880, ...registry })],
  };
}

Deno.test({
  ...opts,
  name:
    "registry: pub writes this sidecar as the provider; ZooKeeper clients and dubbo2.js see it; SIGKILL → gone after the session timeout",
  fn: async () => {
    const zk = await startZooKeeper();
    const app = startDubboProvider({ identity: "app" });
    const client = await zkClient(zk.address);
    let mesh: Meshctl | undefined;
    try {
      mesh = await startMeshctl(providerSidecar(app.address));
      const api = await apiOf(mesh);
      assert.deepEqual(
        await post(api, "/pub", zk.address, { interface: DEMO_SERVICE, methods: METHODS, version: "1.0.0" }),
        { err_no: 0, err_msg: "publish success" },
      );
      const [node] = await untilChildren(client, PROVIDERS, (c) => c.length === 1, "provider node");
      const url = javaUrlDecode(node!)!;
      assert.match(
        url,
        new RegExp(`^dubbo://127\\.0\\.0\\.1:${mesh.port("ingress")}/${DEMO_SERVICE}\\?anyhost=true&`),
      );
      assert.match(url, /&interface=org\.apache\.dubbo\.demo\.DemoService&methods=sayHello,whoami&/);
      assert.match(url, /&side=provider&.*&version=1\.0\.0$/);

      // A Dubbo consumer that reads ZooKeeper itself (dubbo2.js's registry) finds meshctl and calls through it.
      const d = new Dubbo({
        application: { name: "zk-consumer" },
        register: zk.address,
        dubboVersion: "2.0.2",
        interfaces: [DEMO_SERVICE],
        dubboSetting: setting.match(DEMO_SERVICE, { version: "1.0.0" }),
      } as never);
      const demo = d.proxyService({
        dubboInterface: DEMO_SERVICE,
        version: "1.0.0",
        methods: { sayHello: (name: string) => [java.String(name)], whoami: () => [] },
      } as never) as { whoami(): Promise<{ res: unknown; err: unknown }> };
      const answer = await demo.whoami();
      assert.equal(answer.err, null, String(answer.err));
      assert.equal(answer.res, "app");
      assert.equal(app.callsOf("whoami"), 1);

      // The node is ephemeral: a SIGKILLed meshctl's node goes when ZooKeeper expires its session.
      const killedAt = performance.now();
      mesh.process.kill("SIGKILL");
      await mesh.stop();
      mesh = undefined;
      await untilChildren(client, PROVIDERS, (c) => c.length === 0, "node removal after SIGKILL");
      const goneMs = performance.now() - killedAt;
      assert.ok(
        goneMs > 1000 && goneMs < 8000,
        `removed ${goneMs.toFixed(0)} ms after SIGKILL (session 2 s)`,
      );
      console.log(`  provider node removed ${goneMs.toFixed(0)} ms after SIGKILL (session_timeout 2s)`);
    } finally {
      for (const c of dubboZkClients.splice(0)) c.close();
      await mesh?.stop();
      client.close();
      await app.stop();
      await zk.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "registry: sub turns providers written into ZooKeeper into hosts; calls reach them and fail over with no error when one goes",
  fn: async () => {
    const zk = await startZooKeeper();
    const a = startDubboProvider({ identity: "A" });
    const b = startDubboProvider({ identity: "B" });
    const client = await zkClient(zk.address);
    let mesh: Meshctl | undefined;
    let consumer: ReturnType<typeof dubboConsumer> | undefined;
    try {
      mesh = await startMeshctl(consumerSidecar());
      const api = await apiOf(mesh);
      assert.deepEqual(await post(api, "/sub", zk.address, { interface: DEMO_SERVICE, methods: METHODS }), {
        err_no: 0,
        err_msg: "subscribe success",
      });
      const [consumerNode] = await untilChildren(client, CONSUMERS, (c) => c.length === 1, "consumer node");
      assert.match(
        javaUrlDecode(consumerNode!)!,
        new RegExp(
          `^consumer://127\\.0\\.0\\.1/${DEMO_SERVICE}\\?application=meshctl&category=consumers&check=false&`,
        ),
      );
      await untilHosts(mesh, DEMO_SERVICE, []);

      const nodeA = await registerProvider(client, a);
      await untilHosts(mesh, DEMO_SERVICE, [a.address]);
      consumer = dubboConsumer(`127.0.0.1:${mesh.port("egress")}`);
      await consumer.connected();
      assert.equal(await consumer.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0" }), "A");

      await registerProvider(client, b, 50);
      await untilHosts(mesh, DEMO_SERVICE, [a.address, b.address]);
      const view = await (await fetch(`http://${api}/registry`)).json();
      assert.deepEqual(
        view.subscribed[0].providers.map((p: { address: string; weight: number }) =>
          `${p.address}@${p.weight}`
        ).sort(),
        [`${a.address}@100`, `${b.address}@50`].sort(),
      );
      const seen = new Set<unknown>();
      for (let i = 0; i < 40 && seen.size < 2; i++) {
        seen.add(await consumer.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0" }));
      }
      assert.deepEqual([...seen].sort(), ["A", "B"], "random LB over both hosts");

      // A leaves as a Dubbo provider does: its node goes first, the process after. Calls run throughout.
      const errors: string[] = [];
      const answers: unknown[] = [];
      let running = true;
      const load = (async () => {
        while (running) {
          try {
            answers.push(await consumer!.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0" }));
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
      })();
      await removeNode(client, nodeA);
      await untilHosts(mesh, DEMO_SERVICE, [b.address]);
      // The running config no longer has A: the one call that may have been sent to A before the swap
      // finishes, and the next is routed by the new config. Then A stops.
      const swapped = answers.length + errors.length;
      while (answers.length + errors.length < swapped + 2) await new Promise((r) => setTimeout(r, 2));
      await a.stop();
      const afterStop = answers.length;
      const deadline = Date.now() + 5000;
      while (answers.length + errors.length < afterStop + 100 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      running = false;
      await load;
      assert.deepEqual(errors, [], "no call failed");
      assert.ok(answers.length >= afterStop + 100, `${answers.length - afterStop} calls after A stopped`);
      assert.deepEqual(new Set(answers.slice(afterStop)), new Set(["B"]), "after A left only B answers");
    } finally {
      await consumer?.close();
      await mesh?.stop();
      client.close();
      await a.stop();
      await b.stop();
      await zk.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "registry: a consumer and a provider that know nothing of each other talk through two meshctl sidecars and ZooKeeper",
  fn: async () => {
    const zk = await startZooKeeper();
    let firstCallAt: number | undefined;
    const app = startDubboProvider({
      identity: "provider-app",
      services: [{
        service: "com.example.Greeter",
        methods: {
          greet: ([name]) => {
            firstCallAt ??= Date.now();
            return `hello ${name}`;
          },
        },
      }],
    });
    const client = await zkClient(zk.address);
    let providerSide: Meshctl | undefined;
    let consumerSide: Meshctl | undefined;
    let consumer: ReturnType<typeof dubboConsumer> | undefined;
    const iface = "com.example.Greeter";
    try {
      consumerSide = await startMeshctl(consumerSidecar());
      providerSide = await startMeshctl(providerSidecar(app.address, { session_timeout: "4s" }));
      const consumerApi = await apiOf(consumerSide);
      const providerApi = await apiOf(providerSide);
      // The consumer app knows only its sidecar; the provider app only its own.
      assert.equal(
        (await post(consumerApi, "/sub", zk.address, { interface: iface, methods: ["greet"] })).err_no,
        0,
      );
      consumer = dubboConsumer(`127.0.0.1:${consumerSide.port("egress")}`, { invokeTimeoutMs: 2000 });
      await consumer.connected();
      await assert.rejects(consumer.call(iface, "greet", [java.String("early")]), "no provider yet");

      // Calls run while the provider publishes; the first that gets through is timed.
      let answer: unknown;
      const calling = (async () => {
        while (answer === undefined) {
          try {
            answer = await consumer!.call(iface, "greet", [java.String("mesh")]);
          } catch {
            // no provider yet
          }
        }
      })();
      assert.equal(
        (await post(providerApi, "/pub", zk.address, { interface: iface, methods: ["greet"] })).err_no,
        0,
      );
      await calling;
      assert.equal(answer, "hello mesh");
      const [node] = await untilChildren(
        client,
        `/dubbo/${iface}/providers`,
        (c) => c.length === 1,
        "provider node",
      );
      assert.ok(
        javaUrlDecode(node!)!.startsWith(`dubbo://127.0.0.1:${providerSide.port("ingress")}/${iface}?`),
      );
      const appearedAt = await ctimeOf(client, `/dubbo/${iface}/providers/${node}`);
      const latency = firstCallAt! - appearedAt;
      console.log(`  provider node in ZooKeeper → its first request through two sidecars: ${latency} ms`);
      assert.ok(latency >= 0 && latency < 5000, `${latency} ms`);

      // A graceful stop deletes the provider node at once (not after the 4 s session timeout).
      const stoppedAt = performance.now();
      assert.equal(await providerSide.stop(), 0);
      providerSide = undefined;
      await untilChildren(client, `/dubbo/${iface}/providers`, (c) => c.length === 0, "node deleted on stop");
      const goneMs = performance.now() - stoppedAt;
      assert.ok(goneMs < 3000, `deleted ${goneMs.toFixed(0)} ms after SIGTERM`);
    } finally {
      await consumer?.close();
      await consumerSide?.stop();
      await providerSide?.stop();
      client.close();
      await app.stop();
      await zk.stop();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "registry: a ZooKeeper restart while calls run through two sidecars: hosts kept, no call fails, nodes back after",
  fn: async () => {
    const zk = await startZooKeeper();
    const iface = "com.example.Greeter";
    const app = startDubboProvider({
      identity: "provider-app",
      services: [{ service: iface, methods: { greet: ([name]) => `hello ${name}` } }],
    });
    let providerSide: Meshctl | undefined;
    let consumerSide: Meshctl | undefined;
    let consumer: ReturnType<typeof dubboConsumer> | undefined;
    let client: ZkClient | undefined;
    try {
      consumerSide = await startMeshctl(consumerSidecar({ session_timeout: "4s" }));
      providerSide = await startMeshctl(providerSidecar(app.address, { session_timeout: "4s" }));
      assert.equal(
        (await post(await apiOf(providerSide), "/pub", zk.address, { interface: iface, methods: ["greet"] }))
          .err_no,
        0,
      );
      assert.equal(
        (await post(await apiOf(consumerSide), "/sub", zk.address, { interface: iface, methods: ["greet"] }))
          .err_no,
        0,
      );
      await untilHosts(consumerSide, iface, [`127.0.0.1:${providerSide.port("ingress")}`]);
      consumer = dubboConsumer(`127.0.0.1:${consumerSide.port("egress")}`, { invokeTimeoutMs: 2000 });
      await consumer.connected();

      const errors: string[] = [];
      let answers = 0;
      let running = true;
      const load = (async () => {
        while (running) {
          try {
            await consumer!.call(iface, "greet", [java.String("x")]);
            answers++;
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
      })();
      await zk.stopServer();
      // ZooKeeper is down: the last known hosts keep serving.
      const whileDown = answers;
      while (answers < whileDown + 100 && errors.length === 0) await new Promise((r) => setTimeout(r, 5));
      await zk.startServer();
      const afterRestart = answers;
      while (answers < afterRestart + 100 && errors.length === 0) await new Promise((r) => setTimeout(r, 5));
      running = false;
      await load;
      assert.deepEqual(errors, [], "no call failed while ZooKeeper was down");

      // Both sidecars' nodes are there again (kept by the session, or re-created after its expiry).
      client = await zkClient(zk.address);
      await untilChildren(
        client,
        `/dubbo/${iface}/providers`,
        (c) => c.length === 1,
        "provider node after restart",
      );
      await untilChildren(
        client,
        `/dubbo/${iface}/consumers`,
        (c) => c.length === 1,
        "consumer node after restart",
      );
      assert.deepEqual(await clusterHosts(consumerSide, iface), [
        `127.0.0.1:${providerSide.port("ingress")}`,
      ]);
    } finally {
      await consumer?.close();
      await consumerSide?.stop();
      await providerSide?.stop();
      client?.close();
      await app.stop();
      await zk.stop();
    }
  },
});

/** Connections each worker of a `--concurrency 2` meshctl accepted so far (its `worker.N` stats scope). */
async function workerConnections(mesh: Meshctl): Promise<number[]> {
  const stats = await adminStats(mesh.adminPort);
  return [0, 1].map((w) => stats["worker"]?.[`worker.${w}`]?.["downstream_connection_total"] ?? 0);
}

Deno.test({
  ...opts,
  name:
    "registry with --concurrency 2: pub advertises the shared listener port; sub's providers become hosts in both workers of the consumer sidecar",
  fn: async () => {
    const zk = await startZooKeeper();
    const app = startDubboProvider({ identity: "app" });
    const client = await zkClient(zk.address);
    const TWO = { args: ["--concurrency", "2"] };
    let providerSide: Meshctl | undefined;
    let consumerSide: Meshctl | undefined;
    try {
      providerSide = await startMeshctl(providerSidecar(app.address), TWO);
      consumerSide = await startMeshctl(consumerSidecar(), TWO);
      assert.deepEqual(
        await post(await apiOf(consumerSide), "/sub", zk.address, {
          interface: DEMO_SERVICE,
          methods: METHODS,
        }),
        { err_no: 0, err_msg: "subscribe success" },
      );
      await untilHosts(consumerSide, DEMO_SERVICE, []);
      assert.deepEqual(
        await post(await apiOf(providerSide), "/pub", zk.address, {
          interface: DEMO_SERVICE,
          methods: METHODS,
          version: "1.0.0",
        }),
        { err_no: 0, err_msg: "publish success" },
      );
      const [node] = await untilChildren(client, PROVIDERS, (c) => c.length === 1, "provider node");
      const ingress = `127.0.0.1:${providerSide.port("ingress")}`;
      assert.match(javaUrlDecode(node!)!, new RegExp(`^dubbo://${ingress.replaceAll(".", "\\.")}/`));
      // config_dump is the main thread's snapshot, which it records only once both workers applied it.
      await untilHosts(consumerSide, DEMO_SERVICE, [ingress]);

      // One call per connection (the kernel picks a worker for each) until both workers of the consumer
      // sidecar took some: each answers through the registry-made host. (Not both of the provider side's: the
      // consumer's workers multiplex their calls over one pooled upstream connection each.)
      const answers: unknown[] = [];
      const bothServed = async () => (await workerConnections(consumerSide!)).every((n) => n > 0);
      for (let i = 0; i < 200 && !(await bothServed()); i++) {
        const consumer = dubboConsumer(`127.0.0.1:${consumerSide.port("egress")}`);
        try {
          await consumer.connected();
          answers.push(await consumer.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0" }));
        } finally {
          await consumer.close();
        }
      }
      assert.ok(await bothServed(), `consumer workers served: ${await workerConnections(consumerSide)}`);
      const providerWorkers = await workerConnections(providerSide);
      assert.ok(providerWorkers[0]! + providerWorkers[1]! > 0, `provider side served: ${providerWorkers}`);
      assert.deepEqual(
        [...new Set(answers)],
        ["app"],
        `${answers.length} calls, every one answered by the app`,
      );
    } finally {
      for (const c of dubboZkClients.splice(0)) c.close();
      await consumerSide?.stop();
      await providerSide?.stop();
      client.close();
      await app.stop();
      await zk.stop();
    }
  },
});
