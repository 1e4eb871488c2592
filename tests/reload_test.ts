/** SIGHUP reload: the whole snapshot is swapped; sockets stay; an invalid file changes nothing. */
import { assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { stringify } from "yaml";
import { freePort, httpProxyConfig, startMeshctl, startOrigin } from "./_e2e.ts";

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
    const portA = freePort();
    const portB = freePort();
    const adminPort = freePort();
    const admin = { admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } } };
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    const write = (cfg: Record<string, unknown>) => Deno.writeTextFile(file, stringify({ ...admin, ...cfg }));
    await write(httpProxyConfig({ listenPort: portA, hosts: [a.address] }));
    const mesh = await startMeshctl(file, { env: { MESHCTL_LOG_LEVEL: "info" }, adminPort });
    const kept = await Deno.connect({ hostname: "127.0.0.1", port: portA });
    try {
      assertEquals(await getOn(kept), "A");

      // 1. The cluster now points at B, and a second listener appears.
      const next = httpProxyConfig({ listenPort: portA, hosts: [b.address] });
      const servers = next["servers"] as { listeners: Record<string, unknown>[] }[];
      servers[0]!.listeners.push({
        ...servers[0]!.listeners[0]!,
        name: "second",
        address: `127.0.0.1:${portB}`,
      });
      await write(next);
      mesh.process.kill("SIGHUP");
      await waitFor(() => mesh.logs().includes("config reloaded"));
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
      await write(httpProxyConfig({ listenPort: portA, hosts: [a.address] }));
      mesh.process.kill("SIGHUP");
      await waitFor(() => (mesh.logs().match(/config reloaded/g) ?? []).length >= 2);
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

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
