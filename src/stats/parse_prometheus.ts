/** One sample line of the Prometheus text format. */
export interface PrometheusSample {
  /** The series name as written, e.g. `meshctl_upstream_request_time_sum`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: its `# TYPE` and the samples that belong to it. */
export interface PrometheusFamily {
  readonly name: string;
  /** counter, gauge, summary, histogram or untyped. */
  readonly type: string;
  readonly samples: PrometheusSample[];
}

const SAMPLE_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const SUFFIXES = ["_sum", "_count", "_bucket"];

function parseValue(text: string): number {
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const v = Number(text);
  if (text.length === 0 || Number.isNaN(v)) throw new SyntaxError(`Cannot parse sample value "${text}"`);
  return v;
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/** Parses `{a="x",b="y"}` starting at `start` (the brace); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\})/y;
  let i = start + 1;
  if (line[i] === "}") return [labels, i + 1];
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(line);
    if (m === null) throw new SyntaxError(`Cannot parse labels in "${line}"`);
    labels[m[1]!] = unescape(m[2]!);
    i = re.lastIndex;
    if (m[3] === "}") return [labels, i];
  }
}

/**
 * Parses the Prometheus text exposition format into families, in the order they appear. Samples
 * named `<family>_sum`, `_count` or `_bucket` join their summary or histogram family.
 */
export function parsePrometheus(text: string): PrometheusFamily[] {
  const families: PrometheusFamily[] = [];
  const byName = new Map<string, PrometheusFamily>();
  const familyOf = (name: string): PrometheusFamily => {
    const direct = byName.get(name);
    if (direct !== undefined) return direct;
    for (const suffix of SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const base = byName.get(name.slice(0, -suffix.length));
      if (base !== undefined && (base.type === "summary" || base.type === "histogram")) return base;
    }
    const f: PrometheusFamily = { name, type: "untyped", samples: [] };
    byName.set(name, f);
    families.push(f);
    return f;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.length === 0) continue;
    if (line.startsWith("#")) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m !== null && !byName.has(m[1]!)) {
        const f: PrometheusFamily = { name: m[1]!, type: m[2]!, samples: [] };
        byName.set(f.name, f);
        families.push(f);
      }
      continue;
    }
    const nameMatch = SAMPLE_NAME.exec(line);
    if (nameMatch === null) throw new SyntaxError(`Cannot parse sample line "${line}"`);
    const name = nameMatch[0];
    let rest = nameMatch[0].length;
    let labels: Record<string, string> = {};
    if (line[rest] === "{") [labels, rest] = parseLabels(line, rest);
    const [valueText = ""] = line.slice(rest).trim().split(/\s+/);
    familyOf(name).samples.push({ name, labels, value: parseValue(valueText) });
  }
  return families;
}
