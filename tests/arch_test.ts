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
  transport: 3,
  filter: 3,
  router: 3,
  admin: 3,
  upstream: 4,
  proxy: 5,
  listener: 6,
  server: 7,
  cli: 8,
};

/** npm imports that only tests and benchmarks may use, with what finds an import of each (static or dynamic). */
const TEST_ONLY_DEPS = ["re2js", "hpack.js"].map((dep): [string, RegExp] => [
  dep,
  new RegExp(
    `(?:from\\s*|import\\(\\s*)["'](?:npm:)?${dep.replaceAll(".", "\\.")}(?:@[^"'/]*)?(?:/[^"']*)?["']`,
  ),
]);

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
    // Oracles for tests only: re2js for core/re2.ts (production runs V8's engines), hpack.js for
    // codec/http2's HPACK.
    for (const [dep, re] of TEST_ONLY_DEPS) {
      if (re.test(text)) violations.push(`${rel}: imports the test-only ${dep}`);
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
