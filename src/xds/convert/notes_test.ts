import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Logger } from "../../core/mod.ts";
import { ConversionNotes, MAX_REMEMBERED_NOTES } from "./notes.ts";

Deno.test("ConversionNotes logs each warning and skipped filter once across updates and counts new skips", () => {
  const lines: string[] = [];
  let skips = 0;
  const notes = new ConversionNotes(
    new Logger({ level: "info", write: (l) => lines.push(l) }),
    () => skips++,
  );
  const update = {
    warnings: ['Cluster "c": lb_policy: RING_HASH is balanced as LB_MAGLEV'],
    skippedFilters: ['Listener "l": f: istio.stats skipped'],
  };
  notes.report(update);
  notes.report(update);
  notes.report({ warnings: [], skippedFilters: ['Listener "l2": f: istio.stats skipped'] });
  assertEquals(lines.length, 3);
  assertEquals(skips, 2);
  assertEquals(lines.map((l) => l.includes("approximated") || l.includes("filter not applied")), [
    true,
    true,
    true,
  ]);
});

Deno.test("ConversionNotes stays bounded: past its memory, notes are still logged and counted as not remembered", () => {
  let logged = 0;
  const notes = new ConversionNotes(new Logger({ level: "info", write: () => logged++ }));
  const many = Array.from({ length: MAX_REMEMBERED_NOTES + 10 }, (_, i) => `w${i}`);
  notes.report({ warnings: many, skippedFilters: [] });
  notes.report({ warnings: ["w0", `w${MAX_REMEMBERED_NOTES + 5}`], skippedFilters: [] });
  assertEquals([logged, notes.notRemembered], [MAX_REMEMBERED_NOTES + 11, 11]);
});
