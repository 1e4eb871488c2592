/** `meshctl serve --address-file`: where port 0 listeners and the admin API ended up. */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { stringify } from "yaml";
import { adminStats, curl, MAIN, RUN_FLAGS, runCli, startMeshctl } from "./_e2e.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Listeners that each answer their own name, all on 127.0.0.1:0. */
function namedListeners(names: string[]): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: names.map((name) => ({
        router_config_name: name,
        virtual_hosts: [{
          name,
          domains: ["*"],
          routers: [{ match: { prefix: "/" }, direct_response: { status: 200, body: name } }],
        }],
      })),
      listeners: names.map((name) => ({
        name,
        address: "127.0.0.1:0",
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: name } }],
        }],
      })),
    }],
  };
}

Deno.test("meshctl serve --address-file names the ports the OS picked for port 0", opts, async () => {
  const mesh = await startMeshctl(namedListeners(["one", "two"]));
  try {
    const dir = mesh.configPath.slice(0, mesh.configPath.lastIndexOf("/"));
    const file = JSON.parse(await Deno.readTextFile(`${dir}/addresses.json`));
    assertEquals(Object.keys(file), ["admin", "listeners"]);
    assertEquals(file.admin, `127.0.0.1:${mesh.adminPort}`);
    assertEquals(Object.keys(file.listeners).sort(), ["one", "two"]);
    for (const name of ["one", "two"]) {
      assertMatch(file.listeners[name], /^127\.0\.0\.1:\d+$/);
      assert(mesh.port(name) > 0);
      assertEquals((await curl([`http://127.0.0.1:${mesh.port(name)}/`])).stdout, name);
    }
    assert(mesh.port("one") !== mesh.port("two"));
    // The admin API lists them as MOSN does, and the temporary file was renamed, not left behind.
    const meta = (await adminStats(mesh.adminPort))["meta"]?.["mosn.info"];
    assertEquals(meta, {
      [`listener_address:${file.listeners.one}`]: 1,
      [`listener_address:${file.listeners.two}`]: 1,
    });
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["addresses.json", "config.yaml"]);
  } finally {
    assertEquals(await mesh.stop(), 0, mesh.logs());
  }
});

Deno.test("meshctl serve exits 1 when it cannot write the address file", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-serve-" });
  try {
    const config = `${dir}/config.yaml`;
    await Deno.writeTextFile(
      config,
      stringify({
        ...namedListeners(["one"]),
        admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
      }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...RUN_FLAGS, MAIN, "serve", "--address-file", `${dir}/missing/addresses.json`, config],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(15_000), // it must exit by itself, not serve on
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1, stderr);
    assertStringIncludes(stderr, `Cannot write the address file ${dir}/missing/addresses.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("meshctl serve --help documents --address-file", async () => {
  const r = await runCli(["serve", "--help"]);
  assertEquals(r.code, 0);
  assertMatch(r.stdout, /--address-file PATH +once every listener and the admin API are bound/);
});

Deno.test(
  "meshctl serve logs each config warning at start, e.g. that an enabled tracing block traces nothing",
  opts,
  async () => {
    const mesh = await startMeshctl({
      ...namedListeners(["one"]),
      tracing: { enable: true, driver: "SOFATracer" },
    });
    try {
      const r = await curl(["-sS", `http://127.0.0.1:${mesh.port("one")}/`]);
      assertEquals(r.stdout, "one", "the config serves");
      assertMatch(
        mesh.logs(),
        /WARN {2}config \S+config\.yaml:\d+:\d+: tracing: warning: tracing is not implemented in meshctl: no spans are recorded or reported \(driver "SOFATracer" is accepted so the config loads\)\n/,
      );
    } finally {
      assertEquals(await mesh.stop(), 0, mesh.logs());
    }
  },
);
