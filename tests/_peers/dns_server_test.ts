/** The test DNS server answers Deno's own resolver, so STRICT_DNS tests can trust what it reports. */
import { rejects as assertRejects } from "node:assert/strict";
import { assertEquals } from "../_assert.ts";
import { startDnsServer } from "./dns_server.ts";

function ask(server: { hostname: string; port: number }, name: string, type: "A" | "AAAA", timeoutMs = 2000) {
  return Deno.resolveDns(name, type, {
    nameServer: { ipAddr: server.hostname, port: server.port },
    signal: AbortSignal.timeout(timeoutMs),
  });
}

Deno.test("startDnsServer() answers A and AAAA queries from its table and counts them", async () => {
  const dns = await startDnsServer({
    "svc.meshctl.test": { A: ["127.0.0.11", "127.0.0.12"], AAAA: ["fd00::1", "::1"] },
  });
  try {
    assertEquals((await ask(dns, "svc.meshctl.test", "A")).sort(), ["127.0.0.11", "127.0.0.12"]);
    assertEquals((await ask(dns, "SVC.meshctl.test", "AAAA")).sort(), ["::1", "fd00::1"]);
    assertEquals(dns.queriesFor("svc.meshctl.test", "A"), 1);
    assertEquals(dns.queriesFor("svc.meshctl.test"), 2);
    assertEquals(dns.queries, 2);
  } finally {
    await dns.stop();
  }
});

Deno.test("startDnsServer() answers the table as it is now", async () => {
  const dns = await startDnsServer({ "svc.meshctl.test": { A: ["127.0.0.11"] } });
  try {
    assertEquals(await ask(dns, "svc.meshctl.test", "A"), ["127.0.0.11"]);
    dns.set("svc.meshctl.test", { A: ["127.0.0.12"] });
    assertEquals(await ask(dns, "svc.meshctl.test", "A"), ["127.0.0.12"]);
    dns.remove("svc.meshctl.test");
    await assertRejects(() => ask(dns, "svc.meshctl.test", "A"));
    assertEquals(dns.queriesFor("svc.meshctl.test", "A"), 3);
  } finally {
    await dns.stop();
  }
});

Deno.test("startDnsServer() fails queries with SERVFAIL, or drops them, when told to", async () => {
  const dns = await startDnsServer({ "svc.meshctl.test": { A: ["127.0.0.11"] } });
  try {
    dns.mode = "servfail";
    await assertRejects(() => ask(dns, "svc.meshctl.test", "A"));
    dns.mode = "drop";
    await assertRejects(() => ask(dns, "svc.meshctl.test", "A", 300), { name: "TimeoutError" });
    assertEquals(dns.queries, 2); // a dropped query still counts
    dns.mode = "answer";
    assertEquals(await ask(dns, "svc.meshctl.test", "A"), ["127.0.0.11"]);
  } finally {
    await dns.stop();
  }
});
