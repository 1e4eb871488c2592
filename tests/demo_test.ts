/** `make run`'s demo: config/meshctl.yaml answers curl 127.0.0.1:2045/ through two listeners. */
import { assertEquals, assertMatch } from "./_assert.ts";
import { curl, ROOT, runCli, startMeshctl } from "./_e2e.ts";

Deno.test("config/meshctl.yaml serves MOSN's classic demo on 127.0.0.1:2045", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const mesh = await startMeshctl(`${ROOT}config/meshctl.yaml`);
  try {
    const r = await curl(["-i", "http://127.0.0.1:2045/"]);
    assertMatch(r.stdout, /^HTTP\/1\.1 200/);
    assertMatch(r.stdout, /Hello from meshctl/);
    const stats = await runCli(["stats", "--addr", "127.0.0.1:34901", "--format", "json"]);
    assertEquals(stats.code, 0, stats.stderr);
    assertMatch(stats.stdout, /downstream/);
    assertMatch(mesh.logs(), /listener started.*client/);
  } finally {
    assertEquals(await mesh.stop(), 0);
  }
});
