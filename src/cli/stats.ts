/**
 * `meshctl stats`: reads a running instance's admin API and prints its stats as a table grouped by
 * labels (listener / cluster / host), MOSN JSON, or Prometheus text; `--watch` refreshes and shows rates.
 */
import { parseArgs } from "node:util";
import { AdminClient, AdminRequestError } from "../admin/mod.ts";
import { formatAddress, parseAddress } from "../core/mod.ts";
import type { SocketAddress } from "../core/mod.ts";
import { parsePrometheus, PROMETHEUS_PREFIX } from "../stats/mod.ts";
import type { MosnStats, PrometheusFamily } from "../stats/mod.ts";

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** MOSN's default admin address. */
const DEFAULT_ADDR = "127.0.0.1:34901";
const FORMATS = ["table", "json", "prometheus"] as const;
type Format = typeof FORMATS[number];

export const help = `meshctl stats — show live stats of a running instance

Usage: meshctl stats [--addr HOST:PORT] [--format table|json|prometheus] [--filter REGEX]
                     [--watch SECONDS [--count N]]

Options:
  --addr HOST:PORT   Admin API of the instance (default ${DEFAULT_ADDR})
  --format FORMAT    table (default): grouped by listener / cluster / host
                     json: MOSN's /api/v1/stats document
                     prometheus: the /stats/prometheus text
  --filter REGEX     Keep metrics whose name or full key matches, e.g. 'request_(total|time)'
  --watch SECONDS    Refresh every SECONDS; the table adds per-second rates of counters. Ctrl-C stops
  --count N          With --watch: stop after N refreshes
  -h, --help         Show this help

Exit codes: 0 ok, 1 the admin API is unreachable or failing, 2 usage error.`;

/** Parsed `meshctl stats` arguments. */
export interface StatsArgs {
  readonly addr: SocketAddress;
  readonly format: Format;
  readonly filter: RegExp | undefined;
  /** Seconds between refreshes; undefined prints once. */
  readonly watch: number | undefined;
  /** Refreshes before stopping; undefined means until interrupted. */
  readonly count: number | undefined;
}

/** Parses arguments; returns a usage error message instead of throwing. */
export function parseStatsArgs(args: string[]): StatsArgs | string {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        addr: { type: "string" },
        format: { type: "string" },
        filter: { type: "string" },
        watch: { type: "string" },
        count: { type: "string" },
      },
    }));
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const addrText = values.addr ?? DEFAULT_ADDR;
  const addr = parseAddress(addrText);
  if (addr === undefined) return `invalid --addr "${addrText}": expected HOST:PORT, e.g. ${DEFAULT_ADDR}`;
  const format = values.format ?? "table";
  if (!isFormat(format)) return `invalid --format "${format}": expected one of ${FORMATS.join(", ")}`;
  let filter: RegExp | undefined;
  if (values.filter !== undefined) {
    try {
      filter = new RegExp(values.filter);
    } catch (err) {
      return `invalid --filter: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  let watch: number | undefined;
  if (values.watch !== undefined) {
    watch = Number(values.watch);
    if (!(watch > 0) || !Number.isFinite(watch)) {
      return `invalid --watch "${values.watch}": expected seconds > 0`;
    }
  }
  let count: number | undefined;
  if (values.count !== undefined) {
    if (watch === undefined) return "--count needs --watch";
    count = Number(values.count);
    if (!Number.isInteger(count) || count < 1) {
      return `invalid --count "${values.count}": expected an integer >= 1`;
    }
  }
  return { addr, format, filter, watch, count };
}

function isFormat(s: string): s is Format {
  return (FORMATS as readonly string[]).includes(s);
}

// === output ===

const encoder = new TextEncoder();

/** Writes all of `text` to stdout; false when the reader went away (e.g. `| head`). */
async function write(text: string): Promise<boolean> {
  let data = encoder.encode(text);
  try {
    while (data.length > 0) data = data.subarray(await Deno.stdout.write(data));
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe) return false;
    throw err;
  }
}

/** How headings are emphasised: ANSI on a colour terminal, plain otherwise. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
}

const PLAIN: Style = { bold: (s) => s, dim: (s) => s };
const ANSI: Style = { bold: (s) => `\x1b[1m${s}\x1b[22m`, dim: (s) => `\x1b[2m${s}\x1b[22m` };

function useColor(): boolean {
  return Deno.stdout.isTerminal() && (Deno.env.get("NO_COLOR") ?? "") === "";
}

// === formats ===

/** Keeps only metrics whose name or `type.namespace.name` key matches. */
export function filterMosnStats(stats: MosnStats, filter: RegExp | undefined): MosnStats {
  if (filter === undefined) return stats;
  const out: MosnStats = {};
  for (const [type, namespaces] of Object.entries(stats)) {
    for (const [ns, metrics] of Object.entries(namespaces)) {
      for (const [name, value] of Object.entries(metrics)) {
        if (!filter.test(name) && !filter.test(`${type}.${ns}.${name}`)) continue;
        ((out[type] ??= {})[ns] ??= {})[name] = value;
      }
    }
  }
  return out;
}

/** Keeps `# TYPE` lines of families with a kept sample, and samples whose family or line matches. */
export function filterPrometheus(text: string, filter: RegExp | undefined): string {
  if (filter === undefined) return text;
  let out = "";
  let family = "";
  let typeLine: string | undefined;
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    const type = /^#\s*TYPE\s+(\S+)/.exec(line);
    if (type !== null) {
      family = type[1]!;
      typeLine = line;
      continue;
    }
    if (line.startsWith("#")) continue;
    if (!filter.test(family) && !filter.test(line)) continue;
    if (typeLine !== undefined) out += typeLine + "\n";
    typeLine = undefined;
    out += line + "\n";
  }
  return out;
}

interface Row {
  /** Metric name without the `meshctl_` prefix, e.g. `downstream_request_total`. */
  name: string;
  /** Series key for rates across refreshes. */
  key: string;
  kind: "counter" | "gauge";
  value: number;
}

interface HistogramRow {
  name: string;
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number | undefined;
}

interface Group {
  rows: Row[];
  histograms: HistogramRow[];
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).filter((k) => k !== "quantile").sort().map((k) => `${k}=${labels[k]}`).join(" ");
}

function displayName(family: string): string {
  return family.startsWith(PROMETHEUS_PREFIX) ? family.slice(PROMETHEUS_PREFIX.length) : family;
}

/** Groups Prometheus families by label set; summaries become histogram rows with their `_max` gauge. */
function groupFamilies(families: PrometheusFamily[], filter: RegExp | undefined): Map<string, Group> {
  const groups = new Map<string, Group>();
  const group = (labels: string): Group => {
    let g = groups.get(labels);
    if (g === undefined) groups.set(labels, g = { rows: [], histograms: [] });
    return g;
  };
  const summaries = new Set(families.filter((f) => f.type === "summary").map((f) => f.name));
  const maxes = new Map<string, number>();
  for (const f of families) {
    if (f.name.endsWith("_max") && summaries.has(f.name.slice(0, -4))) {
      for (const s of f.samples) maxes.set(`${f.name.slice(0, -4)}|${labelText(s.labels)}`, s.value);
    }
  }
  for (const f of families) {
    const name = displayName(f.name);
    const base = f.name.replace(/_(min|max)$/, "");
    if (base !== f.name && summaries.has(base)) continue; // shown on the histogram row
    if (f.type === "summary") {
      const byLabels = new Map<string, HistogramRow>();
      for (const s of f.samples) {
        const labels = labelText(s.labels);
        if (filter !== undefined && !filter.test(name) && !filter.test(`${f.name}{${labels}}`)) continue;
        let row = byLabels.get(labels);
        if (row === undefined) {
          row = { name, count: 0, p50: 0, p90: 0, p99: 0, max: maxes.get(`${f.name}|${labels}`) };
          byLabels.set(labels, row);
          group(labels).histograms.push(row);
        }
        if (s.name === `${f.name}_count`) row.count = s.value;
        else if (s.labels["quantile"] === "0.5") row.p50 = s.value;
        else if (s.labels["quantile"] === "0.9") row.p90 = s.value;
        else if (s.labels["quantile"] === "0.99") row.p99 = s.value;
      }
      continue;
    }
    for (const s of f.samples) {
      const labels = labelText(s.labels);
      const key = `${f.name}{${labels}}`;
      if (filter !== undefined && !filter.test(name) && !filter.test(key)) continue;
      group(labels).rows.push({
        name,
        key,
        kind: f.type === "counter" ? "counter" : "gauge",
        value: s.value,
      });
    }
  }
  return groups;
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(Math.abs(v) >= 100 ? 1 : 2);
}

/** Pads cells to column widths; colour is applied after padding so ANSI codes do not skew alignment. */
function alignRows(rows: string[][], rightAligned: (col: number) => boolean): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, cell.length));
  return rows.map((row) =>
    row.map((cell, i) => rightAligned(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)).join("  ")
      .trimEnd()
  );
}

/** Counter values of the previous refresh and when they were read, for rates. */
export interface RateState {
  readonly at: number;
  readonly values: ReadonlyMap<string, number>;
}

/** Options of `renderStatsTable()`. */
export interface TableOptions {
  readonly filter?: RegExp | undefined;
  /** Add a RATE/s column (watch mode); counters show delta / seconds since `previous.at`. */
  readonly rates?: boolean;
  readonly previous?: RateState | undefined;
  /** Milliseconds on the same clock as `previous.at`. */
  readonly now: number;
  readonly style?: Style;
}

/**
 * Renders Prometheus text as tables grouped by label set (listener / cluster / host), histograms apart.
 * Returns the text and the counter state the next refresh computes rates from.
 */
export function renderStatsTable(text: string, options: TableOptions): { text: string; state: RateState } {
  const { filter, rates = false, previous, now, style = PLAIN } = options;
  const groups = groupFamilies(parsePrometheus(text), filter);
  const values = new Map<string, number>();
  const seconds = previous === undefined ? 0 : (now - previous.at) / 1000;
  const lines: string[] = [];
  const labelsInOrder = [...groups.keys()].sort();
  // Align metric columns across every group, so the whole screen reads as one table.
  const scalar: string[][] = [rates ? ["METRIC", "VALUE", "RATE/s"] : ["METRIC", "VALUE"]];
  const hist: string[][] = [["HISTOGRAM (ms)", "COUNT", "P50", "P90", "P99", "MAX"]];
  const owners: Array<{ labels: string; kind: "scalar" | "hist"; index: number }> = [];
  for (const labels of labelsInOrder) {
    const g = groups.get(labels)!;
    g.rows.sort((a, b) => a.name.localeCompare(b.name));
    g.histograms.sort((a, b) => a.name.localeCompare(b.name));
    for (const row of g.rows) {
      const cells = [row.name, formatNumber(row.value)];
      if (row.kind === "counter") values.set(row.key, row.value);
      if (rates) {
        const before = previous?.values.get(row.key);
        const rate = row.kind !== "counter" || before === undefined || seconds <= 0 || row.value < before
          ? ""
          : `${((row.value - before) / seconds).toFixed(1)}`;
        cells.push(rate);
      }
      owners.push({ labels, kind: "scalar", index: scalar.length });
      scalar.push(cells);
    }
    for (const h of g.histograms) {
      owners.push({ labels, kind: "hist", index: hist.length });
      hist.push([
        h.name,
        formatNumber(h.count),
        ...[h.p50, h.p90, h.p99].map(formatNumber),
        h.max === undefined ? "" : formatNumber(h.max),
      ]);
    }
  }
  const scalarLines = alignRows(scalar, (i) => i > 0);
  const histLines = alignRows(hist, (i) => i > 0);
  if (owners.length === 0) {
    lines.push(filter === undefined ? "no stats yet" : `no stats match ${filter}`);
  }
  for (const labels of labelsInOrder) {
    const mine = owners.filter((o) => o.labels === labels);
    if (mine.length === 0) continue;
    if (lines.length > 0) lines.push("");
    lines.push(style.bold(labels === "" ? "(no labels)" : labels));
    const s = mine.filter((o) => o.kind === "scalar");
    if (s.length > 0) {
      lines.push("  " + style.dim(scalarLines[0]!));
      for (const o of s) lines.push("  " + scalarLines[o.index]!);
    }
    const h = mine.filter((o) => o.kind === "hist");
    if (h.length > 0) {
      lines.push("  " + style.dim(histLines[0]!));
      for (const o of h) lines.push("  " + histLines[o.index]!);
    }
  }
  return { text: lines.join("\n") + "\n", state: { at: now, values } };
}

// === run ===

/** Sleeps `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

function explain(err: AdminRequestError, where: string): string {
  if (err.reason === "http") return `meshctl stats: the admin API at ${where} answered ${err.message}`;
  return `meshctl stats: cannot reach the admin API at ${where} (${err.message}); is meshctl serve running?`;
}

export default async function run(args: string[]): Promise<number> {
  const parsed = parseStatsArgs(args);
  if (typeof parsed === "string") {
    console.error(`meshctl stats: ${parsed}\n\nRun 'meshctl stats --help' for usage.`);
    return EXIT_USAGE;
  }
  const { addr, format, filter, watch, count } = parsed;
  const where = formatAddress(addr);
  const client = new AdminClient(addr);
  const tty = Deno.stdout.isTerminal();
  const style = format === "table" && useColor() ? ANSI : PLAIN;

  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  if (watch !== undefined) Deno.addSignalListener("SIGINT", onInterrupt);
  let previous: RateState | undefined;
  let status = EXIT_OK;
  try {
    const refreshes = watch === undefined ? 1 : count ?? Infinity;
    for (let i = 0; i < refreshes; i++) {
      if (i > 0) {
        await sleep((watch ?? 0) * 1000, stop.signal);
        if (stop.signal.aborted) break;
      }
      let frame: string;
      try {
        frame = await fetchFrame();
        status = EXIT_OK;
      } catch (err) {
        if (!(err instanceof AdminRequestError) && !(err instanceof SyntaxError)) throw err;
        const message = err instanceof AdminRequestError
          ? explain(err, where)
          : `meshctl stats: cannot parse the stats from ${where}: ${err.message}`;
        console.error(message);
        status = EXIT_FAILURE;
        // Give up at once unless a watch is already under way (the instance may be restarting).
        if (watch === undefined || i === 0) return status;
        continue;
      }
      if (stop.signal.aborted) break;
      const header = watch !== undefined && tty
        ? `\x1b[H\x1b[2J${
          style.dim(
            `meshctl stats ${where} every ${watch}s, ${new Date().toLocaleTimeString()} (Ctrl-C to quit)`,
          )
        }\n\n`
        : i > 0 && format === "table"
        ? "\n"
        : "";
      if (!await write(header + frame)) break;
    }
  } finally {
    if (watch !== undefined) Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  return status;

  async function fetchFrame(): Promise<string> {
    if (format === "json") {
      const stats = JSON.parse(await client.get("/api/v1/stats")) as MosnStats;
      return JSON.stringify(filterMosnStats(stats, filter), null, 2) + "\n";
    }
    const text = await client.get("/stats/prometheus");
    if (format === "prometheus") return filterPrometheus(text, filter);
    const now = performance.now();
    const table = renderStatsTable(text, { filter, rates: watch !== undefined, previous, now, style });
    previous = table.state;
    return table.text;
  }
}
