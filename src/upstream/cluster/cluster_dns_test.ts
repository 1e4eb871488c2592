import { assert, assertEquals } from "../../../tests/_assert.ts";
import { type ClusterConfig, parseConfigText } from "../../config/mod.ts";
import { FakeClock, Logger } from "../../core/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import type { ConnectionPool } from "../pool/types.ts";
import { Cluster } from "./cluster.ts";
import type { DnsResolver } from "./dns.ts";

const NAME = "svc.meshctl.test";

/** A STRICT_DNS cluster config through the real parser (refresh every 5s unless `fields` say otherwise). */
function strictDns(hosts: string[], fields = ""): ClusterConfig {
  const { snapshot, errors } = parseConfigText(
    `
servers: [{}]
cluster_manager:
  clusters:
    - name: svc
      type: STRICT_DNS
      lb_type: LB_ROUNDROBIN
      hosts: [${hosts.map((h) => `{ address: "${h}" }`).join(", ")}]
${fields}`,
    "t.yaml",
  );
  assertEquals(errors, []);
  return snapshot!.clusters[0]!;
}

/** Answers from a table the test changes; a name may hold an error or an answer the test releases. */
class FakeResolver implements DnsResolver {
  readonly answers = new Map<string, string[] | Error | Promise<string[]>>();
  readonly asked: string[] = [];

  resolve(name: string): Promise<string[]> {
    this.asked.push(name);
    const a = this.answers.get(name);
    if (a === undefined) return Promise.reject(new Error(`no answer for ${name}`));
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  }
}

interface Setup {
  readonly cluster: Cluster;
  readonly clock: FakeClock;
  readonly resolver: FakeResolver;
  readonly registry: StatsRegistry;
  readonly logs: string[];
}

function setup(config: ClusterConfig, answers: Record<string, string[] | Error | Promise<string[]>>): Setup {
  const clock = new FakeClock();
  const resolver = new FakeResolver();
  for (const [name, a] of Object.entries(answers)) resolver.answers.set(name, a);
  const registry = new StatsRegistry();
  const logs: string[] = [];
  const logger = new Logger({ level: "debug", write: (line) => logs.push(line) });
  const cluster = new Cluster(config, registry, logger, { clock, resolver });
  return { cluster, clock, resolver, registry, logs };
}

/** Lets the resolutions a tick started settle (fake answers are already-settled promises). */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

function addresses(cluster: Cluster): string[] {
  return cluster.hosts.map((h) => h.address);
}

function dnsStats(registry: StatsRegistry): [number | undefined, number | undefined] {
  const s = registry.toMosnJson()["upstream"]?.["cluster.svc"];
  return [Number(s?.["dns_resolve_total"]), Number(s?.["dns_resolve_failure"])];
}

Deno.test("Cluster resolves STRICT_DNS names at once and again every dns_refresh_rate", async () => {
  const { cluster, clock, resolver, registry } = setup(
    strictDns([`${NAME}:8080`], "      dns_refresh_rate: 2s"),
    {
      [NAME]: ["10.0.0.1"],
    },
  );
  try {
    assertEquals(resolver.asked, [NAME]);
    await settle();
    assertEquals(addresses(cluster), ["10.0.0.1:8080"]);
    resolver.answers.set(NAME, ["10.0.0.2"]);
    clock.tick(1999);
    assertEquals(resolver.asked.length, 1);
    clock.tick(1);
    assertEquals(resolver.asked.length, 2);
    await settle();
    assertEquals(addresses(cluster), ["10.0.0.2:8080"]);
    assertEquals(dnsStats(registry), [2, 0]);
  } finally {
    cluster.close();
  }
});

Deno.test("Cluster makes a host of every resolved address and drains the ones that go away", async () => {
  const { cluster, clock, resolver, registry } = setup(strictDns([`${NAME}:80`]), {
    [NAME]: ["10.0.0.2", "10.0.0.1", "10.0.0.2"],
  });
  try {
    await settle();
    assertEquals(addresses(cluster), ["10.0.0.1:80", "10.0.0.2:80"]);
    const [gone, kept] = cluster.hosts;
    let drained = false;
    gone!.pools.set("Http1", { drain: () => drained = true, close() {} } as unknown as ConnectionPool);
    const picks = new Set(Array.from({ length: 4 }, () => cluster.chooseHost()?.address));
    assertEquals([...picks].sort(), ["10.0.0.1:80", "10.0.0.2:80"]);

    resolver.answers.set(NAME, ["10.0.0.2"]);
    clock.tick(5000);
    await settle();
    assertEquals(addresses(cluster), ["10.0.0.2:80"]);
    assert(drained, "the removed host's pool was not drained");
    assert(cluster.hosts[0] === kept, "a host still in the answer keeps its pools");
    const scopes = Object.keys(registry.toMosnJson()["upstream"] ?? {});
    assertEquals(scopes.filter((k) => k.includes("host.")), ["cluster.svc.host.10.0.0.2:80"]);
    assertEquals(cluster.chooseHost()?.address, "10.0.0.2:80");
  } finally {
    cluster.close();
  }
});

Deno.test("Cluster keeps a name's hosts when resolving it fails, and logs each new failure once", async () => {
  const { cluster, clock, resolver, registry, logs } = setup(strictDns([`${NAME}:80`, "other.test:81"]), {
    [NAME]: ["10.0.0.1"],
    "other.test": ["10.0.1.1"],
  });
  const warnings = () => logs.filter((l) => l.includes("dns resolution failed")).length;
  try {
    await settle();
    resolver.answers.set(NAME, new Error("no A record from 127.0.0.1:53"));
    resolver.answers.set("other.test", ["10.0.1.2"]);
    for (let i = 0; i < 3; i++) {
      clock.tick(5000);
      await settle();
    }
    // The failing name keeps its address; the other name's new answer still applies.
    assertEquals(addresses(cluster), ["10.0.0.1:80", "10.0.1.2:81"]);
    assertEquals(warnings(), 1);
    assertEquals(dnsStats(registry), [8, 3]);

    resolver.answers.set(NAME, new Error("127.0.0.1:53 did not answer within 2s"));
    clock.tick(5000);
    await settle();
    assertEquals(warnings(), 2); // a different failure is news

    resolver.answers.set(NAME, ["10.0.0.1"]);
    clock.tick(5000);
    await settle();
    assertEquals(logs.filter((l) => l.includes("dns resolution recovered")).length, 1);
    resolver.answers.set(NAME, new Error("127.0.0.1:53 did not answer within 2s"));
    clock.tick(5000);
    await settle();
    assertEquals(warnings(), 3); // failing again after a success is news too
    assertEquals(addresses(cluster), ["10.0.0.1:80", "10.0.1.2:81"]);
  } finally {
    cluster.close();
  }
});

Deno.test("Cluster dials a name as configured until its first answer, and never resolves IP addresses", async () => {
  let answer: (ips: string[]) => void = () => {};
  const { cluster, resolver } = setup(strictDns([`${NAME}:80`, "10.9.9.9:81", "[fd00::9]:82"]), {
    [NAME]: new Promise((r) => answer = r),
  });
  try {
    await settle();
    assertEquals(resolver.asked, [NAME]);
    assertEquals(addresses(cluster), [`${NAME}:80`, "10.9.9.9:81", "[fd00::9]:82"]);
    answer(["10.0.0.1"]);
    await settle();
    assertEquals(addresses(cluster), ["10.0.0.1:80", "10.9.9.9:81", "[fd00::9]:82"]);
  } finally {
    cluster.close();
  }
});

Deno.test("Cluster schedules the next resolution only after a slow one completes", async () => {
  let answer: (ips: string[]) => void = () => {};
  const { cluster, clock, resolver } = setup(strictDns([`${NAME}:80`]), {
    [NAME]: new Promise((r) => answer = r),
  });
  try {
    clock.tick(60_000);
    assertEquals(resolver.asked.length, 1);
    assertEquals(clock.pending, 0);
    answer(["10.0.0.1"]);
    await settle();
    assertEquals(clock.pending, 1);
    clock.tick(5000);
    assertEquals(resolver.asked.length, 2);
  } finally {
    cluster.close();
  }
});

Deno.test("Cluster stops resolving when drained and ignores an answer that arrives after", async () => {
  let answer: (ips: string[]) => void = () => {};
  const { cluster, clock } = setup(strictDns([`${NAME}:80`]), { [NAME]: new Promise((r) => answer = r) });
  cluster.drain();
  answer(["10.0.0.1"]);
  await settle();
  assertEquals(addresses(cluster), [`${NAME}:80`]);
  assertEquals(clock.pending, 0);
  cluster.close();
});

Deno.test("Cluster resolves nothing and has no dns counters when it is not STRICT_DNS", () => {
  const { cluster, resolver, registry, clock } = setup({ ...strictDns([`${NAME}:80`]), type: "SIMPLE" }, {});
  assertEquals(resolver.asked, []);
  assertEquals(clock.pending, 0);
  assertEquals(
    Object.keys(registry.toMosnJson()["upstream"]?.["cluster.svc"] ?? {}).filter((k) => k.startsWith("dns")),
    [],
  );
  cluster.close();
});
