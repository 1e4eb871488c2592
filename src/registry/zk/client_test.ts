/**
 * ZkRegistryClient against a real ZooKeeper (tests/_peers/zookeeper.ts), checked through an independent
 * node-zookeeper-client session: what other Dubbo/SOFA applications would see and write.
 */
import { assert, assertEquals, assertMatch } from "../../../tests/_assert.ts";
import { startZooKeeper, type ZooKeeper } from "../../../tests/_peers/zookeeper.ts";
import { connectRaw, type RawZk, startPausableProxy } from "../../../tests/_peers/zk_raw.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import type { ProviderInstance, RegistrySessionState, ServiceKey } from "../types.ts";
import { dubboConsumerUrl, dubboProviderUrl, javaUrlEncode, sofaProviderUrl } from "../url.ts";
import { retryDelayMs, ZkConnector, type ZkObserver, ZkRegistryClient } from "./client.ts";

const IFACE = "com.example.DemoService";
const PROVIDERS = `/dubbo/${IFACE}/providers`;

// The library's sockets and timers outlive a test by a tick after close; every process and client is
// still closed in `finally`.
const opts = { sanitizeOps: false, sanitizeResources: false };

interface Harness {
  zk: ZooKeeper;
  raw: RawZk;
  stats: StatsRegistry;
  clients: ZkRegistryClient[];
  client(
    overrides?: Partial<ConstructorParameters<typeof ZkRegistryClient>[1]>,
    addr?: string,
  ): ZkRegistryClient;
  counter(name: string): number;
}

async function withZk(fn: (h: Harness) => Promise<void>): Promise<void> {
  const zk = await startZooKeeper();
  const clients: ZkRegistryClient[] = [];
  const stats = new StatsRegistry();
  let h: Harness | undefined;
  try {
    h = {
      zk,
      raw: await connectRaw(zk.address),
      stats,
      clients,
      client(overrides = {}, addr = zk.address) {
        const c = new ZkRegistryClient({ type: "zookeeper", addr }, {
          registry: stats,
          sessionTimeoutMs: 2_000,
          connectTimeoutMs: 10_000,
          reconnectSpinDelayMs: 100,
          retryBackoffBaseMs: 50,
          connectAttemptTimeoutMs: 1_000,
          ...overrides,
          observer: announcing(overrides.observer),
        });
        clients.push(c);
        return c;
      },
      counter(name) {
        return stats.scopes().filter((s) => s.type === "registry").reduce(
          (sum, s) => sum + (s.snapshot().counters[name] ?? 0),
          0,
        );
      },
    };
    await fn(h);
  } finally {
    for (const c of clients) await c.close();
    await h?.raw.close();
    await zk.stop();
  }
}

/** Collects `onChange` calls; `next(pred)` resolves with the first list (current or later) matching. */
function changes() {
  const seen: (readonly ProviderInstance[])[] = [];
  let waiter: { pred: (p: readonly ProviderInstance[]) => boolean; resolve: () => void } | undefined;
  return {
    seen,
    onChange(p: readonly ProviderInstance[]) {
      seen.push(p);
      if (waiter?.pred(p)) {
        waiter.resolve();
        waiter = undefined;
      }
    },
    next(pred: (p: readonly ProviderInstance[]) => boolean, timeoutMs = 15_000): Promise<void> {
      const last = seen.at(-1);
      if (last !== undefined && pred(last)) return Promise.resolve();
      const where = new Error().stack?.split("\n")[2]?.trim();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const lists = JSON.stringify(seen.map(ports));
          reject(new Error(`no matching onChange in ${timeoutMs} ms (${where}); seen: ${lists}`));
        }, timeoutMs);
        waiter = {
          pred,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
  };
}

function ports(p: readonly ProviderInstance[]): number[] {
  return p.map((x) => x.port).sort((a, b) => a - b);
}

function providerUrl(
  port: number,
  extra: { group?: string; version?: string; weight?: number } = {},
): string {
  return dubboProviderUrl({
    host: "10.0.0.1",
    port,
    iface: IFACE,
    methods: ["sayHello"],
    application: "java-app",
    pid: 1,
    timestamp: 1,
    ...extra,
  });
}

/** Resolves once `client` reports `state` (now or later). */
function stateReached(observer: { states: RegistrySessionState[] }, state: RegistrySessionState, from = 0) {
  return waitFor(() => observer.states.indexOf(state, from) >= 0, `session state ${state}`);
}

/** Fired on every observer callback of every client the harness makes: what `waitFor` re-checks on. */
const clientEvents = new EventTarget();

/** Resolves once `cond` holds, re-checked on each client event (no polling); rejects after `timeoutMs`. */
function waitFor(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!cond()) return;
      clearTimeout(timer);
      clientEvents.removeEventListener("event", check);
      resolve();
    };
    const timer = setTimeout(() => {
      clientEvents.removeEventListener("event", check);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    clientEvents.addEventListener("event", check);
  });
}

/** `observer` plus a client event per callback. */
function announcing(observer: ZkObserver = {}): ZkObserver {
  const fire = () => clientEvents.dispatchEvent(new Event("event"));
  return {
    sessionStateChanged(s) {
      observer.sessionStateChanged?.(s);
      fire();
    },
    registered(path, session, recreated) {
      observer.registered?.(path, session, recreated);
      fire();
    },
    providersRead(path, count, changed) {
      observer.providersRead?.(path, count, changed);
      fire();
    },
  };
}

function recordingObserver() {
  const rec = {
    states: [] as RegistrySessionState[],
    registered: [] as { path: string; session: number; recreated: boolean; at: number }[],
    stateAt: new Map<RegistrySessionState, number>(),
  };
  const observer: ZkObserver = {
    sessionStateChanged(s) {
      rec.states.push(s);
      rec.stateAt.set(s, performance.now());
    },
    registered(path, session, recreated) {
      rec.registered.push({ path, session, recreated, at: performance.now() });
    },
  };
  return { rec, observer };
}

Deno.test({
  name:
    "register: the ephemeral node is at the Java-encoded path with the layout's data, seen by another client; " +
    "Registration.close() and client.close() remove it",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const client = h.client();
      // `~!'() ` and non-ASCII: encoded the Java way (encodeURIComponent would name a different node).
      const url = providerUrl(20880) + "&application.name=demo app~!'()*&owner=José";
      const reg = await client.register("dubbo", "providers", IFACE, url);
      const name = javaUrlEncode(url);
      assertEquals(reg.path, `${PROVIDERS}/${name}`);
      assert(name.includes("demo+app%7E%21%27%28%29*") && name.includes("Jos%C3%A9"), name);
      assertEquals(reg.state(), "registered");
      assertEquals(await h.raw.children(PROVIDERS), [name]);
      const node = await h.raw.node(reg.path);
      assertEquals(node?.data, "");
      assertEquals(node?.owner, client.describe().sessionId, "ephemeral, owned by our session");

      const sofaUrl = sofaProviderUrl({ host: "10.0.0.1", port: 12200, iface: IFACE, pid: 1, timestamp: 1 });
      const sofa = await client.register("sofa", "providers", IFACE, sofaUrl);
      assertEquals(sofa.path, `/sofa-rpc/${IFACE}/providers/${javaUrlEncode(sofaUrl)}`);
      assertEquals((await h.raw.node(sofa.path))?.data, "1", "SOFA: 1 = online");

      const consumerUrl = dubboConsumerUrl({
        host: "10.0.0.2",
        iface: IFACE,
        methods: ["sayHello"],
        pid: 1,
        timestamp: 1,
      });
      const consumer = await client.register("dubbo", "consumers", IFACE, consumerUrl);
      assertEquals(consumer.path, `/dubbo/${IFACE}/consumers/${javaUrlEncode(consumerUrl)}`);
      assert((await h.raw.node(consumer.path)) !== undefined);

      await reg.close();
      assertEquals(await h.raw.node(reg.path), undefined, "Registration.close() deletes the node");
      assertEquals(await h.raw.children(PROVIDERS), []);
      assertEquals(h.counter("registration_created"), 3);

      await client.close();
      assertEquals(client.state(), "closed");
      assertEquals(await h.raw.node(sofa.path), undefined, "client.close() ends the session: ephemerals go");
      await assertRejects(() => client.register("dubbo", "providers", IFACE, url), /is closed/);
    }),
});

Deno.test({
  name:
    "register: a same-path node of another session is replaced by ours; the same URL twice shares one node",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const url = providerUrl(20881);
      const path = `${PROVIDERS}/${javaUrlEncode(url)}`;
      await h.raw.mkdirp(PROVIDERS);
      await h.raw.create(path, "stale"); // e.g. a previous meshctl on this address whose session has not expired
      const client = h.client();
      const a = await client.register("dubbo", "providers", IFACE, url);
      const b = await client.register("dubbo", "providers", IFACE, url);
      const node = await h.raw.node(path);
      assertEquals([node?.owner, node?.data], [client.describe().sessionId, ""]);
      await a.close();
      assert((await h.raw.node(path)) !== undefined, "still referenced by the second registration");
      await b.close();
      assertEquals(await h.raw.node(path), undefined);
    }),
});

Deno.test({
  name: "register/subscribe: a bad interface, an oversized URL or an unreachable ZooKeeper fail clearly",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      assertThrowsMessage(() => h.client({}, "not-an-address"), /is not host:port/);
      const client = h.client({ maxNodeNameLength: 100 });
      await assertRejects(
        () => client.register("dubbo", "providers", "a/b", "dubbo://h:1/x"),
        /contains "\/"/,
      );
      await assertRejects(
        () => client.register("dubbo", "providers", IFACE, providerUrl(1)),
        /over the limit of 100/,
      );
      await assertRejects(
        () => client.subscribe({ ...key(), interface: "" }, () => {}),
        /interface is empty/,
      );
      // A port nothing listens on: the promise rejects after connectTimeoutMs instead of hanging.
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const deadPort = (l.addr as Deno.NetAddr).port;
      l.close();
      const dead = h.client({ connectTimeoutMs: 500 }, `127.0.0.1:${deadPort}`);
      await assertRejects(
        () => dead.register("dubbo", "providers", IFACE, providerUrl(2)),
        /unreachable|no answer/,
      );
      await assertRejects(() => dead.subscribe(key(), () => {}), /unreachable|no answer/);
      assertEquals(dead.describe().registrations, []);
    }),
});

function key(group = "", version = "1.0.0"): ServiceKey {
  return { layout: "dubbo", interface: IFACE, group, version };
}

Deno.test({
  name: "subscribe: providers another client creates, removes and changes are seen, filtered by group and " +
    "version; an absent providers path is an empty list until it is created",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const client = h.client();
      const c = changes();
      const sub = await client.subscribe(key("", "1.0.0"), c.onChange);
      assertEquals(sub.providers(), [], "no /dubbo/<iface>/providers yet");
      const other = changes();
      await client.subscribe(key("g1", "*"), other.onChange);

      await h.raw.mkdirp(PROVIDERS);
      const p1 = `${PROVIDERS}/${javaUrlEncode(providerUrl(20001, { version: "1.0.0", weight: 30 }))}`;
      let seen = c.next((p) => p.length === 1);
      const t0 = performance.now();
      await h.raw.create(p1);
      await seen;
      const onChangeMs = performance.now() - t0;
      console.log(`provider node created by another client → onChange: ${onChangeMs.toFixed(1)} ms`);
      assertEquals(sub.providers()[0]?.host, "10.0.0.1");
      assertEquals(sub.providers()[0]?.weight, 30);

      // Not ours: another version, another group, an unparseable name. None reaches onChange.
      await h.raw.create(`${PROVIDERS}/${javaUrlEncode(providerUrl(20002, { version: "2.0.0" }))}`);
      await h.raw.create(
        `${PROVIDERS}/${javaUrlEncode(providerUrl(20003, { group: "g1", version: "1.0.0" }))}`,
      );
      await h.raw.create(`${PROVIDERS}/not-a-url%`);
      await other.next((p) => ports(p).includes(20003));
      await waitFor(
        () => h.counter("provider_unparseable") >= 2,
        "unparseable counted (once per subscription)",
      );

      const p4 = `${PROVIDERS}/${javaUrlEncode(providerUrl(20004, { version: "1.0.0" }))}`;
      seen = c.next((p) => p.length === 2);
      await h.raw.create(p4);
      await seen;
      assertEquals(ports(sub.providers()), [20001, 20004]);

      // A changed provider: its URL (the node name) is replaced, weight 30 → 70.
      seen = c.next((p) => p.some((x) => x.port === 20001 && x.weight === 70));
      await h.raw.create(
        `${PROVIDERS}/${javaUrlEncode(providerUrl(20001, { version: "1.0.0", weight: 70 }))}`,
      );
      await h.raw.remove(p1);
      await seen;

      seen = c.next((p) => p.length === 1);
      await h.raw.remove(p4);
      await seen;
      assertEquals(ports(sub.providers()), [20001]);
      assert(
        c.seen.every((list) =>
          list.every((p) => p.params.get("version") === "1.0.0" && !p.params.has("group"))
        ),
        "only version 1.0.0 without group ever reached onChange",
      );
      for (let i = 1; i < c.seen.length; i++) {
        assert(
          ports(c.seen[i]!).join() !== ports(c.seen[i - 1]!).join() ||
            c.seen[i]![0]?.url !== c.seen[i - 1]![0]?.url,
        );
      }
      assert(h.counter("watch_event") >= 4);

      const before = c.seen.length;
      const witness = changes();
      const witnessSub = await client.subscribe(key("", "1.0.0"), witness.onChange);
      sub.close();
      const witnessed = witness.next((p) => ports(p).includes(20005));
      await h.raw.create(`${PROVIDERS}/${javaUrlEncode(providerUrl(20005, { version: "1.0.0" }))}`);
      await witnessed; // the same watch event reached the live subscription
      witnessSub.close();
      assertEquals(c.seen.length, before, "no onChange after close()");
    }),
});

Deno.test({
  name: "subscribe: maxProvidersPerSubscription keeps the first N and counts the rest",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      await h.raw.mkdirp(PROVIDERS);
      for (const port of [1, 2, 3, 4]) {
        await h.raw.create(`${PROVIDERS}/${javaUrlEncode(providerUrl(port, { version: "1.0.0" }))}`);
      }
      const client = h.client({ maxProvidersPerSubscription: 3 });
      const sub = await client.subscribe(key(), () => {});
      assertEquals(sub.providers().length, 3);
      assertEquals(h.counter("provider_over_limit"), 1);
    }),
});

Deno.test({
  name: "a SIGKILLed registering process: its ephemeral node disappears after the session timeout",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const url = dubboProviderUrl({
        host: "10.0.0.9",
        port: 20880,
        iface: "com.example.Killed",
        methods: ["a"],
      });
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../../../tests/_peers/zk_registrant.ts", import.meta.url).pathname,
          h.zk.address,
          "2000",
          url,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      try {
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        while (!out.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
        reader.releaseLock();
        const path = out.trim().replace(/^registered /, "");
        assertEquals(path, `/dubbo/com.example.Killed/providers/${javaUrlEncode(url)}`);
        assert((await h.raw.node(path)) !== undefined);
        const killedAt = performance.now();
        child.kill("SIGKILL");
        await h.raw.waitExists(path, false);
        const goneMs = performance.now() - killedAt;
        console.log(`SIGKILLed registrant (session timeout 2000 ms) → node gone: ${goneMs.toFixed(0)} ms`);
        assert(goneMs >= 1_500, `gone after ${goneMs} ms: before the session timeout?`);
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* dead already */ }
        await child.status;
        await child.stdout.cancel().catch(() => {});
      }
    }),
});

Deno.test({
  name: "ZooKeeper restart (same dataDir) while registered and subscribed: the node is there after the " +
    "reconnect and a provider added after the restart is seen",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const { rec, observer } = recordingObserver();
      const client = h.client({ sessionTimeoutMs: 4_000, observer });
      const reg = await client.register(
        "dubbo",
        "providers",
        IFACE,
        providerUrl(30000, { version: "1.0.0" }),
      );
      const c = changes();
      const sub = await client.subscribe(key(), c.onChange);
      assertEquals(ports(sub.providers()), [30000]);
      await h.raw.close();

      const mark = rec.states.length;
      await h.zk.restart();
      await stateReached(rec, "connected", mark);
      assert(rec.states.slice(mark).includes("disconnected"), `states: ${rec.states.slice(mark)}`);
      assertEquals(ports(sub.providers()), [30000], "the last list is kept through the disconnect");

      h.raw = await connectRaw(h.zk.address);
      await h.raw.waitExists(reg.path, true);
      assertEquals(reg.state(), "registered");
      const seen = c.next((p) => ports(p).includes(30001));
      await h.raw.create(`${PROVIDERS}/${javaUrlEncode(providerUrl(30001, { version: "1.0.0" }))}`);
      await seen;
      assertEquals(ports(sub.providers()), [30000, 30001]);
      assert(h.counter("session_reconnected") + h.counter("session_expired") >= 1);
    }),
});

Deno.test({
  name:
    "session expiry (cut off longer than the session timeout): the ephemeral node is re-created under a " +
    "new session and the watch works again",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const proxy = startPausableProxy(h.zk.port);
      try {
        const { rec, observer } = recordingObserver();
        const client = h.client({ sessionTimeoutMs: 1_000, observer }, proxy.address);
        const reg = await client.register(
          "dubbo",
          "providers",
          IFACE,
          providerUrl(40000, { version: "1.0.0" }),
        );
        const c = changes();
        const sub = await client.subscribe(key(), c.onChange);
        const firstSession = client.describe().sessionId;
        assertEquals((await h.raw.node(reg.path))?.owner, firstSession);

        proxy.pause();
        // The server expires the session: its ephemeral node goes (seen by the independent client).
        await h.raw.waitExists(reg.path, false);
        assertEquals(client.state(), "disconnected");
        assertEquals(reg.state(), "disconnected", "kept, to be re-created if the session is gone");
        assertEquals(ports(sub.providers()), [40000], "the last list is kept while cut off");
        const mark = rec.registered.length;
        proxy.resume();

        await stateReached(rec, "expired");
        await waitFor(() => rec.registered.length > mark, "re-registration");
        const expiredAt = rec.stateAt.get("expired")!;
        const again = rec.registered[mark]!;
        console.log(`session expiry seen → node re-created: ${(again.at - expiredAt).toFixed(1)} ms`);
        assertEquals([again.path, again.session, again.recreated], [reg.path, 2, true]);
        const node = await h.raw.node(reg.path);
        assert(node !== undefined && node.owner !== firstSession, "re-created under the new session");
        assertEquals(node.owner, client.describe().sessionId);
        assertEquals(reg.state(), "registered");
        assertEquals(h.counter("session_expired"), 1);
        assertEquals(h.counter("registration_recreated"), 1);

        // The watch was re-armed on the new session.
        const seen = c.next((p) => ports(p).includes(40001));
        await h.raw.create(`${PROVIDERS}/${javaUrlEncode(providerUrl(40001, { version: "1.0.0" }))}`);
        await seen;
        assertEquals(ports(sub.providers()), [40000, 40001]);
      } finally {
        for (const c of h.clients) await c.close();
        await proxy.stop();
      }
    }),
});

Deno.test({
  name: "ZkConnector: one session per distinct address; chroot prefixes every path and is created",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const connector = new ZkConnector({ registry: h.stats, sessionTimeoutMs: 2_000 });
      try {
        const a = connector.client({ type: "zookeeper", addr: h.zk.address });
        assert(connector.client({ type: "zookeeper", addr: h.zk.address }) === a);
        const rooted = connector.client({ type: "zookeeper", addr: `${h.zk.address}/mesh/prod` });
        assert(rooted !== a);
        const url = providerUrl(50000);
        const reg = await rooted.register("dubbo", "providers", IFACE, url);
        assertEquals(reg.path, `/mesh/prod${PROVIDERS}/${javaUrlEncode(url)}`);
        assert((await h.raw.node(reg.path)) !== undefined);
        const sub = await rooted.subscribe(key("", "*"), () => {});
        assertEquals(ports(sub.providers()), [50000]);
        assertEquals((await a.subscribe(key("", "*"), () => {})).providers(), [], "not under the chroot");
      } finally {
        await connector.closeAll();
      }
      assertEquals(connector.clients(), []);
    }),
});

async function assertRejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assertMatch((e as Error).message, re);
    return;
  }
  throw new Error(`expected a rejection matching ${re}`);
}

function assertThrowsMessage(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assertMatch((e as Error).message, re);
    return;
  }
  throw new Error(`expected a throw matching ${re}`);
}

Deno.test("retryDelayMs: full jitter under a ceiling that doubles from the base up to the cap", () => {
  const top = () => 0.999999;
  assertEquals([0, 1, 2, 3, 6, 7, 50].map((a) => retryDelayMs(a, 500, 30_000, top)), [
    499,
    999,
    1999,
    3999,
    29_999,
    29_999,
    29_999,
  ]);
  assertEquals(retryDelayMs(5, 500, 30_000, () => 0), 1, "never 0: no hot loop");
  assertEquals(retryDelayMs(2, 500, 30_000, () => 0.5), 1000);
  assertEquals(retryDelayMs(-1, 500, 30_000, top), 499);
});

Deno.test({
  name:
    "close() while ZooKeeper is down returns within closeTimeoutMs and nothing of the client reconnects later",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const client = h.client({ closeTimeoutMs: 300, reconnectSpinDelayMs: 100 });
      await client.register("dubbo", "providers", IFACE, providerUrl(60000));
      await h.raw.close();
      await h.zk.stopServer();
      await waitFor(() => client.state() === "disconnected", "disconnected");
      const t0 = performance.now();
      await client.close();
      const took = performance.now() - t0;
      assert(took < 1_500, `close took ${took} ms`);
      await h.zk.startServer();
      // Give a library that kept reconnecting (100 ms pauses) ten rounds to show up.
      await new Promise((r) => setTimeout(r, 1_000));
      const cons = await h.zk.fourLetter("cons");
      const clients = cons.split("\n").filter((l) => /^\s*\/127\.0\.0\.1:\d+\[/.test(l));
      assertEquals(clients.length, 1, `only our cons connection: ${cons}`);
      h.raw = await connectRaw(h.zk.address);
    }),
});

Deno.test({
  name: "ZooKeeper down for longer than the session timeout: after it is back the node exists (resumed or " +
    "re-created) and a new provider is seen",
  ...opts,
  fn: () =>
    withZk(async (h) => {
      const { rec, observer } = recordingObserver();
      const client = h.client({ sessionTimeoutMs: 1_000, observer });
      const reg = await client.register(
        "dubbo",
        "providers",
        IFACE,
        providerUrl(17000, { version: "1.0.0" }),
      );
      const c = changes();
      await client.subscribe(key(), c.onChange);
      await h.raw.close();
      await h.zk.stopServer();
      await new Promise((r) => setTimeout(r, 2_500)); // the outage itself: 2.5 × the session timeout
      const mark = rec.states.length;
      await h.zk.startServer();
      await stateReached(rec, "connected", mark);
      h.raw = await connectRaw(h.zk.address);
      await h.raw.waitExists(reg.path, true);
      const owner = (await h.raw.node(reg.path))?.owner;
      assertEquals(owner, client.describe().sessionId);
      console.log(
        `after a 2.5 s outage (session timeout 1 s): ${
          h.counter("session_expired") ? "expired, re-created" : "resumed"
        }`,
      );
      const seen = c.next((p) => ports(p).includes(17001));
      await h.raw.create(`${PROVIDERS}/${javaUrlEncode(providerUrl(17001, { version: "1.0.0" }))}`);
      await seen;
    }),
});
