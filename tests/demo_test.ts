/** `make run`'s demo: config/meshctl.yaml answers curl 127.0.0.1:2045/ through two listeners. */
import { assertEquals, assertMatch } from "./_assert.ts";
import { parse } from "yaml";
import { curl, ROOT, runCli, startMeshctl } from "./_e2e.ts";

Deno.test("config/meshctl.yaml serves MOSN's classic demo on 127.0.0.1:2045", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  // The listeners keep their documented ports: the hops name each other's addresses, and 2045-2047 lie
  // below the OS's ephemeral range, where no other test's port 0 can land. The admin port 34901 lies
  // inside that range, so it moves to port 0.
  const config = parse(await Deno.readTextFile(`${ROOT}config/meshctl.yaml`)) as Record<string, unknown>;
  assertEquals(config["admin"], { address: { socket_address: { address: "127.0.0.1", port_value: 34901 } } });
  config["admin"] = { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } };
  const mesh = await startMeshctl(config);
  try {
    assertEquals(mesh.listeners, {
      client: "127.0.0.1:2045",
      server: "127.0.0.1:2046",
      origin: "127.0.0.1:2047",
    });
    const r = await curl(["-i", "http://127.0.0.1:2045/"]);
    assertMatch(r.stdout, /^HTTP\/1\.1 200/);
    assertMatch(r.stdout, /Hello from meshctl/);
    const stats = await runCli(["stats", "--addr", `127.0.0.1:${mesh.adminPort}`, "--format", "json"]);
    assertEquals(stats.code, 0, stats.stderr);
    const downstream = JSON.parse(stats.stdout).downstream;
    for (const hop of ["client", "server", "origin"]) {
      assertEquals(downstream[`listener.${hop}`]?.request_total, "1", `one request through ${hop}`);
    }
    assertMatch(mesh.logs(), /listener started.*client/);
  } finally {
    assertEquals(await mesh.stop(), 0);
  }
});
