/** SIGHUP reload: the whole snapshot is swapped; sockets stay; an invalid file changes nothing. */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { stringify } from "yaml";
import { adminStats, httpProxyConfig, startMeshctl, startOrigin } from "./_e2e.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Sends GET / on an open keep-alive socket and returns the body (small responses only). */
async function getOn(conn: Deno.Conn): Promise<string> {
  await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const buf = new Uint8Array(4096);
  let text = "";
  const dec = new TextDecoder();
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed after: ${text}`);
    text += dec.decode(buf.subarray(0, n));
    const m = text.match(/content-length: (\d+)\r\n/i);
    const end = text.indexOf("\r\n\r\n");
    if (m !== null && end >= 0 && text.length >= end + 4 + Number(m[1])) return text.slice(end + 4);
  }
}

async function fetchText(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/`);
  return await r.text();
}

Deno.test(
  "SIGHUP swaps the whole config: routes, listeners; kept-alive connections follow",
  opts,
  async () => {
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    // Every listener and the admin API on port 0: the address file says where they are.
    const admin = { admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } } };
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    const write = (cfg: Record<string, unknown>) => Deno.writeTextFile(file, stringify({ ...admin, ...cfg }));
    await write(httpProxyConfig({ hosts: [a.address] }));
    const mesh = await startMeshctl(file, { env: { MESHCTL_LOG_LEVEL: "info" } });
    const addressA = mesh.listeners["ingress"]!;
    const portA = mesh.port("ingress");
    const kept = await Deno.connect({ hostname: "127.0.0.1", port: portA });
    try {
      assertEquals(await getOn(kept), "A");

      // 1. The cluster now points at B, and a second listener appears.
      const next = httpProxyConfig({ hosts: [b.address] });
      const servers = next["servers"] as { listeners: Record<string, unknown>[] }[];
      servers[0]!.listeners.push({ ...servers[0]!.listeners[0]!, name: "second", address: "127.0.0.1:0" });
      await write(next);
      mesh.process.kill("SIGHUP");
      await waitFor(() => mesh.logs().includes("config reloaded"));
      // The address file is rewritten before the reload is logged.
      const afterAdd = await mesh.readAddresses();
      assertEquals(Object.keys(afterAdd.listeners).sort(), ["ingress", "second"]);
      assertEquals(afterAdd.listeners["ingress"], addressA, "the kept listener kept its socket");
      const portB = mesh.port("second");
      assert(portB !== portA);
      assertEquals(await listedAddresses(mesh.adminPort), [addressA, afterAdd.listeners["second"]!].sort());
      assertEquals(await getOn(kept), "B", "a connection opened before the reload routes by the new config");
      assertEquals(await fetchText(portA), "B");
      assertEquals(await fetchText(portB), "B");

      // 2. An invalid file is rejected; everything keeps serving.
      await Deno.writeTextFile(file, "servers: [ { listeners: 3 } ]\n");
      mesh.process.kill("SIGHUP");
      await waitFor(() => mesh.logs().includes("config reload rejected"));
      assertMatch(mesh.logs(), /reload rejected: .*servers\[0\]\.listeners/);
      assertEquals(await fetchText(portA), "B");

      // 3. The second listener is removed again: its port closes.
      await write(httpProxyConfig({ hosts: [a.address] }));
      mesh.process.kill("SIGHUP");
      await waitFor(() => (mesh.logs().match(/config reloaded/g) ?? []).length >= 2);
      assertEquals((await mesh.readAddresses()).listeners, { ingress: addressA });
      assertEquals(await listedAddresses(mesh.adminPort), [addressA]);
      await waitFor(async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: portB })).close();
          return false;
        } catch {
          return true;
        }
      });
      assertEquals(await fetchText(portA), "A");
      assertStringIncludes(mesh.logs(), "removed");
    } finally {
      kept.close();
      assertEquals(await mesh.stop(), 0);
      await Deno.remove(file);
      await a.close();
      await b.close();
    }
  },
);

/** The listener addresses MOSN-style `meta` stats list (`listener_address:<host:port>`), sorted. */
async function listedAddresses(adminPort: number): Promise<string[]> {
  const meta = (await adminStats(adminPort))["meta"]?.["mosn.info"] ?? {};
  return Object.keys(meta).filter((k) => k.startsWith("listener_address:")).map((k) =>
    k.slice("listener_address:".length)
  ).sort();
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
