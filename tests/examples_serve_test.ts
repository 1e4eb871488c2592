/** Every documented example in config/examples/ does not just validate: it starts and gets ready. */
import { assertEquals } from "./_assert.ts";
import { parse } from "yaml";
import { ROOT, startMeshctl } from "./_e2e.ts";

const dir = `${ROOT}config/examples`;

for (
  const entry of [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".yaml")).sort((a, b) =>
    a.name.localeCompare(b.name)
  )
) {
  Deno.test(`config/examples/${entry.name} starts and serves its admin API`, {
    sanitizeOps: false,
    sanitizeResources: false,
  }, async () => {
    const config = parse(await Deno.readTextFile(`${dir}/${entry.name}`)) as Record<string, unknown>;
    delete config["admin"]; // a free admin port instead, so this can run beside other tests
    const mesh = await startMeshctl(config);
    try {
      const r = await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump?alllisteners`);
      assertEquals(r.status, 200);
      await r.body?.cancel();
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
    }
  });
}
