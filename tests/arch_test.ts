/**
 * The layer rules, checked: a module imports another only through its `mod.ts`, and only modules in a
 * lower layer (or the same layer when listed). Upward or sideways imports fail with the offending line.
 */
import { assertEquals } from "./_assert.ts";
import { ROOT } from "./_e2e.ts";

/** Layer of each top-level module under src/; a module may import modules of a strictly lower layer. */
const LAYER: Record<string, number> = {
  core: 0,
  config: 1,
  stats: 1,
  accesslog: 1,
  codec: 2,
  xds: 2,
  registry: 2,
  transport: 3,
  tls: 3,
  filter: 3,
  router: 3,
  admin: 3,
  upstream: 4,
  proxy: 5,
  listener: 6,
  server: 7,
  cli: 8,
};

/**
 * deno.json imports that only tests may use (a src file's own `_test.ts`/`_bench.ts` may), and why.
 * `@grpc/grpc-js` and `@grpc/proto-loader` left this list with issue 11: xds/ speaks ADS with them (the issue
 * asks for a real gRPC stack, not a hand-written one); the data path's HTTP/2 is still codec/http2.
 * `node-zookeeper-client` is a production dependency from the start (issue 12): registry/zk speaks ZooKeeper
 * through it, as the issue asks for a well-kept pure-JS client rather than our own ZooKeeper protocol
 * (`@types/node-zookeeper-client` only gives it types).
 */
const TEST_ONLY: Record<string, string> = {
  "re2js": "the RE2 oracle; production matching is core/re2.ts on V8's engines",
  "sofa-rpc-node": "the real bolt peers of the e2e tests",
  "hpack.js": "the HPACK oracle of the differential tests; codec/http2/hpack.ts is our own",
  "dubbo2.js": "the real dubbo consumer of the e2e tests",
  "@grpc/grpc-js-xds":
    "the .proto source of src/xds/_protos/envoy_v3.json (scripts/gen_xds_descriptor.ts); meshctl loads only that JSON",
  "hessian.js":
    "the hessian2 encoder/decoder of the dubbo test peers and the reader's differential tests; codec/dubbo/hessian2.ts is our own",
};

/** Whether `text` imports `pkg` (bare, `npm:`, or a subpath), statically or dynamically. */
function importsPackage(text: string, pkg: string): boolean {
  const name = pkg.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(
    `(?:from\\s+|import\\s*\\(\\s*|import\\s+)["'](?:npm:)?${name}(?:@[^/"']*)?(?:/[^"']*)?["']`,
  ).test(text);
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(p);
    else if (e.name.endsWith(".ts")) yield p;
  }
}

Deno.test("src/ modules import only lower layers, and only through mod.ts", async () => {
  const src = `${ROOT}src`;
  const violations: string[] = [];
  for await (const file of tsFiles(src)) {
    const rel = file.slice(src.length + 1);
    const from = rel.split("/")[0]!;
    if (file.endsWith("_test.ts") || file.endsWith("_bench.ts")) continue;
    const text = await Deno.readTextFile(file);
    for (const dep of Object.keys(TEST_ONLY)) {
      if (importsPackage(text, dep)) {
        violations.push(`${rel}: imports the test-only ${dep} (${TEST_ONLY[dep]})`);
      }
    }
    for (
      const m of text.matchAll(
        /(?:import|export)[^"']*?from\s+["'](\.[^"']+)["']|import\(["'](\.[^"']+)["']\)/g,
      )
    ) {
      const spec = m[1] ?? m[2]!;
      const target = new URL(spec, `file://${file}`).pathname;
      if (!target.startsWith(src + "/")) {
        if (!target.endsWith("/deno.json")) violations.push(`${rel}: imports outside src/: ${spec}`);
        continue;
      }
      const targetRel = target.slice(src.length + 1);
      const to = targetRel.split("/")[0]!;
      if (to === from) continue;
      if (!(from in LAYER) || !(to in LAYER)) {
        violations.push(`${rel}: unknown module ${from} or ${to} (add it to LAYER)`);
        continue;
      }
      if (LAYER[to]! >= LAYER[from]!) {
        violations.push(`${rel}: ${from} (layer ${LAYER[from]}) imports ${to} (layer ${LAYER[to]})`);
      }
      if (targetRel !== `${to}/mod.ts`) violations.push(`${rel}: reaches past ${to}/mod.ts to ${targetRel}`);
    }
  }
  assertEquals(violations, []);
});

Deno.test("the test-only rule catches every way of importing a package", () => {
  const caught = [
    `import * as hpack from "hpack.js";`,
    `import { Decompressor } from "npm:hpack.js@2.1.6";`,
    `import x from "hessian.js/lib/v2/decoder.js";`,
    `const m = await import("dubbo2.js");`,
    `import "re2js";`,
    `export { RE2JS } from 're2js';`,
  ];
  const passed = [
    `import hpack from "hpack.jsx";`,
    `// hpack.js is test-only`,
    `import "./re2js.ts";`,
  ];
  const hits = (line: string) => Object.keys(TEST_ONLY).some((dep) => importsPackage(line, dep));
  assertEquals(caught.filter((line) => !hits(line)), []);
  assertEquals(passed.filter(hits), []);
});

Deno.test("test-only packages are pinned to exact versions in deno.json", async () => {
  const { imports } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    imports: Record<string, string>;
  };
  const loose = Object.keys(TEST_ONLY).filter((dep) =>
    !new RegExp(`^npm:${dep.replace("/", "\\/")}@\\d+\\.\\d+\\.\\d+$`).test(imports[dep] ?? "")
  );
  assertEquals(loose, []);
});

Deno.test("Makefile RUN_FLAGS, deno task meshctl and the e2e harness grant the same permissions", async () => {
  const make = await Deno.readTextFile(`${ROOT}Makefile`);
  const makeFlags = make.match(/^RUN_FLAGS := (.*)$/m)![1]!.trim().split(/\s+/);
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = deno.tasks.meshctl.command;
  const taskFlags = task.replace(/^deno run /, "").replace(/ main\.ts$/, "").split(/\s+/);
  assertEquals(taskFlags, makeFlags);
  const { RUN_FLAGS } = await import("./_e2e.ts");
  assertEquals(RUN_FLAGS, makeFlags);
  const shebang = (await Deno.readTextFile(`${ROOT}main.ts`)).split("\n")[0]!;
  assertEquals(shebang.replace("#!/usr/bin/env -S deno run ", "").split(/\s+/), makeFlags);
});

Deno.test("deno task test and ok run unit tests with the binary's --v8-flags", async () => {
  const make = await Deno.readTextFile(`${ROOT}Makefile`);
  const v8 = make.match(/^RUN_FLAGS := .*?(--v8-flags=\S+)/m)![1]!;
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  for (const task of ["test", "ok"]) {
    const command: string = typeof deno.tasks[task] === "string"
      ? deno.tasks[task]
      : deno.tasks[task].command;
    assertEquals(command.match(/--v8-flags=\S+/g), [v8], `task ${task}`);
  }
});
