import { rejects } from "node:assert/strict";
import { assertEquals } from "../../../tests/_assert.ts";
import { type DnsServer, startDnsServer } from "../../../tests/_peers/dns_server.ts";
import { candidateNames, isIpLiteral, newDnsResolver, parseResolvConf } from "./dns.ts";

const NAME = "origin.meshctl.test";

function servers(port: number, over: { search?: string[]; ndots?: number } = {}) {
  return {
    kind: "servers" as const,
    servers: ["127.0.0.1"],
    port,
    timeoutMs: 2000,
    search: over.search ?? [],
    ndots: over.ndots ?? 0,
  };
}

Deno.test("newDnsResolver() asks dns_resolvers servers for A records, or AAAA with V6_ONLY", async () => {
  const dns = await startDnsServer({ [NAME]: { A: ["127.0.0.12", "127.0.0.11"], AAAA: ["fd00::11"] } });
  try {
    const config = servers(dns.port);
    assertEquals((await newDnsResolver(config, "V4_ONLY").resolve(NAME)).sort(), [
      "127.0.0.11",
      "127.0.0.12",
    ]);
    assertEquals(await newDnsResolver(config, "V6_ONLY").resolve(NAME), ["fd00::11"]);
    assertEquals([dns.queriesFor(NAME, "A"), dns.queriesFor(NAME, "AAAA")], [1, 1]);
    await rejects(newDnsResolver(config, "V4_ONLY").resolve("other.meshctl.test"), {
      message: `no A record from 127.0.0.1:${dns.port}`,
    });
  } finally {
    await dns.stop();
  }
});

/** Two servers on one port (dns_resolvers gives every server the same port), on two loopback IPs. */
async function serverPair(): Promise<[DnsServer, DnsServer]> {
  for (let attempt = 0;; attempt++) {
    const first = await startDnsServer({}, { hostname: "127.0.0.13" });
    try {
      return [first, await startDnsServer({}, { hostname: "127.0.0.14", port: first.port })];
    } catch (e) {
      await first.stop();
      if (attempt === 5) throw e;
    }
  }
}

Deno.test("newDnsResolver() moves on to the next server when one does not answer in time", async () => {
  const [silent, dns] = await serverPair();
  try {
    silent.mode = "drop";
    dns.set(NAME, { A: ["127.0.0.11"] });
    const resolver = newDnsResolver({
      kind: "servers",
      servers: [silent.hostname, dns.hostname],
      port: dns.port,
      timeoutMs: 500,
      search: ["a.test"],
      ndots: 0,
    }, "V4_ONLY");
    assertEquals(await resolver.resolve(NAME), ["127.0.0.11"]);
    // A server that timed out is not asked the search-domain name too (as MOSN).
    assertEquals([silent.queries, dns.queries], [1, 1]);
    dns.mode = "drop";
    await rejects(resolver.resolve(NAME), { message: `127.0.0.14:${dns.port} did not answer within 0.5s` });
  } finally {
    await silent.stop();
    await dns.stop();
  }
});

Deno.test("newDnsResolver() tries the search domains in MOSN's order", async () => {
  const dns = await startDnsServer({ [NAME]: { A: ["127.0.0.11"] } });
  try {
    const config = servers(dns.port, { search: ["meshctl.test"], ndots: 1 });
    assertEquals(await newDnsResolver(config, "V4_ONLY").resolve("origin"), ["127.0.0.11"]);
    assertEquals([dns.queriesFor(NAME), dns.queriesFor("origin")], [1, 0]);
  } finally {
    await dns.stop();
  }
});

Deno.test("newDnsResolver() asks the name servers of dns_resolver_file at dns_resolver_port", async () => {
  const dns = await startDnsServer({ [NAME]: { A: ["127.0.0.11"] } });
  const file = await Deno.makeTempFile({ suffix: ".conf" });
  try {
    await Deno.writeTextFile(file, "# test\nnameserver 127.0.0.1\noptions ndots:5 timeout:1\n");
    const resolver = newDnsResolver({ kind: "file", path: file, port: dns.port }, "V4_ONLY");
    assertEquals(await resolver.resolve(NAME), ["127.0.0.11"]);
    assertEquals(dns.queriesFor(NAME, "A"), 1);
    await Deno.writeTextFile(file, "search meshctl.test\n");
    await rejects(resolver.resolve(NAME), { message: `${file} lists no nameserver` });
    await Deno.remove(file);
    await rejects(resolver.resolve(NAME), (e: Error) => e.message.startsWith(`cannot read ${file}:`));
  } finally {
    await Deno.remove(file).catch(() => {});
    await dns.stop();
  }
});

Deno.test("newDnsResolver() without resolver fields uses the system resolver, /etc/hosts included", async () => {
  // "localhost" is in /etc/hosts everywhere; this goes through getaddrinfo like any other name.
  const found = await newDnsResolver({ kind: "system" }, "V4_ONLY").resolve("localhost");
  assertEquals(found.includes("127.0.0.1"), true, `localhost resolved to ${found}`);
});

Deno.test("candidateNames() lists names as MOSN's DNS client does", () => {
  assertEquals(candidateNames("a.b", ["s1", "s2."], 0), ["a.b", "a.b.s1", "a.b.s2"]);
  assertEquals(candidateNames("a", ["s1"], 1), ["a.s1", "a"]);
  assertEquals(candidateNames("a.b", ["s1"], 1), ["a.b", "a.b.s1"]);
  assertEquals(candidateNames("a.b.", ["s1"], 5), ["a.b."]);
});

Deno.test("parseResolvConf() reads nameservers, the last search list and options", () => {
  const conf = parseResolvConf(
    "nameserver 10.0.0.53 # primary\n; comment\nnameserver fd00::53\ndomain corp\nsearch a.test b.test\n" +
      "options rotate ndots:20 timeout:0\n",
  );
  assertEquals(conf, {
    servers: ["10.0.0.53", "fd00::53"],
    search: ["a.test", "b.test"],
    ndots: 15,
    timeoutMs: 1000,
  });
  assertEquals(parseResolvConf(""), { servers: [], search: [], ndots: 1, timeoutMs: 5000 });
});

Deno.test("isIpLiteral() tells addresses from names", () => {
  assertEquals(["10.0.0.1", "::1", "fd00::1", "localhost", "10.0.0.1.nip.io"].map(isIpLiteral), [
    true,
    true,
    true,
    false,
    false,
  ]);
});
