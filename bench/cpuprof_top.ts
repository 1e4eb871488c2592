/**
 * Summarises V8 `.cpuprofile` files (from `deno run --cpu-prof`, e.g. `bench/run.ts --cpu-prof DIR`): the
 * functions with the most self time, and self time by source file, as shares of the busy (non-idle)
 * samples. Several files are merged (one per meshctl run).
 *
 *   deno run --allow-read bench/cpuprof_top.ts [--top N] <file.cpuprofile | dir>...
 */
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** Self samples and time (µs) per key. */
interface Tally {
  samples: Map<string, number>;
  files: Map<string, number>;
  idle: number;
  busy: number;
  /** µs per sample, weighted over the merged profiles. */
  usTotal: number;
}

const ROOT = new URL("../", import.meta.url).href;

function shortUrl(url: string): string {
  if (url === "") return "";
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  const nm = url.indexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + 1);
  return url.replace(/^ext:/, "ext:");
}

function keyOf(f: CallFrame): { fn: string; file: string } {
  const file = shortUrl(f.url);
  const name = f.functionName === "" ? "(anonymous)" : f.functionName;
  if (file === "") return { fn: name, file: name.startsWith("(") ? name : "(native)" };
  return { fn: `${name} ${file}:${f.lineNumber + 1}`, file };
}

function add(t: Tally, p: CpuProfile): void {
  const byId = new Map<number, { fn: string; file: string }>();
  for (const n of p.nodes) byId.set(n.id, keyOf(n.callFrame));
  const usPerSample = p.samples.length === 0 ? 0 : (p.endTime - p.startTime) / p.samples.length;
  t.usTotal += usPerSample * p.samples.length;
  for (const id of p.samples) {
    const k = byId.get(id)!;
    if (k.fn === "(idle)") {
      t.idle++;
      continue;
    }
    t.busy++;
    t.samples.set(k.fn, (t.samples.get(k.fn) ?? 0) + 1);
    t.files.set(k.file, (t.files.get(k.file) ?? 0) + 1);
  }
}

function files(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (Deno.statSync(a).isDirectory) {
      for (const e of Deno.readDirSync(a)) if (e.name.endsWith(".cpuprofile")) out.push(`${a}/${e.name}`);
    } else out.push(a);
  }
  return out.sort();
}

function top(m: Map<string, number>, n: number, busy: number): string[] {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) =>
    `${(100 * v / busy).toFixed(1).padStart(5)} %  ${k}`
  );
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  const paths = files(positionals);
  if (paths.length === 0) {
    console.error("usage: cpuprof_top.ts [--top N] <file.cpuprofile | dir>...");
    Deno.exit(2);
  }
  const t: Tally = { samples: new Map(), files: new Map(), idle: 0, busy: 0, usTotal: 0 };
  for (const p of paths) add(t, JSON.parse(Deno.readTextFileSync(p)) as CpuProfile);
  const n = Number(values.top);
  const all = t.busy + t.idle;
  console.log(
    `${paths.length} profile(s), ${all} samples, ${(t.usTotal / 1e6).toFixed(1)} s; busy ${
      (100 * t.busy / Math.max(1, all)).toFixed(1)
    } % (shares below are of busy samples)\n`,
  );
  console.log(`self time, top ${n} functions:`);
  for (const l of top(t.samples, n, t.busy)) console.log(`  ${l}`);
  console.log(`\nself time by file:`);
  for (const l of top(t.files, n, t.busy)) console.log(`  ${l}`);
}
