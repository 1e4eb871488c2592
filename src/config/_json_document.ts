import { Document, type LineCounter, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";

/**
 * JSON text → the same YAML node tree (`YAMLMap`/`YAMLSeq`/`Scalar` with source ranges) `parseDocument`
 * builds, an order of magnitude faster: the xDS integration validates a composed JSON document per
 * update, and the general YAML parser dominated that cost. Values are what YAML 1.2's core schema reads
 * for JSON (numbers, booleans, null, strings); duplicate keys are kept, for the validator to report.
 * Returns undefined for anything that is not plain JSON, so the caller falls back to the YAML parser and
 * its error messages.
 */
export function parseJsonDocument(text: string, lines: LineCounter): Document.Parsed | undefined {
  const p = new JsonToYaml(text);
  let root: unknown;
  try {
    root = p.value();
    p.space();
    if (p.i !== text.length) return undefined;
  } catch (e) {
    if (e === NOT_JSON) return undefined;
    throw e;
  }
  lines.addNewLine(0); // as the YAML parser reports the first line
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines.addNewLine(i + 1);
  const doc = new Document() as unknown as Document.Parsed;
  doc.contents = root as Document.Parsed["contents"];
  return doc;
}

const NOT_JSON = Symbol("not JSON");
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class JsonToYaml {
  i = 0;
  constructor(readonly s: string) {}

  space(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  value(): unknown {
    this.space();
    const s = this.s;
    const start = this.i;
    const c = s.charCodeAt(start);
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === 0x22) return this.scalar(this.string(), start);
    if (s.startsWith("true", start)) return this.literal(true, 4);
    if (s.startsWith("false", start)) return this.literal(false, 5);
    if (s.startsWith("null", start)) return this.literal(null, 4);
    NUMBER.lastIndex = start;
    const m = NUMBER.exec(s);
    if (m === null) throw NOT_JSON;
    this.i = start + m[0].length;
    return this.scalar(Number(m[0]), start);
  }

  literal(v: boolean | null, length: number): Scalar {
    const start = this.i;
    this.i += length;
    return this.scalar(v, start);
  }

  scalar(v: unknown, start: number): Scalar {
    const node = new Scalar(v);
    node.range = [start, this.i, this.i];
    return node;
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    let end = start + 1;
    let escaped = false;
    for (;;) {
      if (end >= s.length) throw NOT_JSON;
      const c = s.charCodeAt(end);
      if (c === 0x22) break;
      if (c === 0x5c) {
        escaped = true;
        end += 2;
        continue;
      }
      if (c < 0x20) throw NOT_JSON;
      end++;
    }
    this.i = end + 1;
    if (!escaped) return s.slice(start + 1, end);
    try {
      return JSON.parse(s.slice(start, end + 1)) as string;
    } catch {
      throw NOT_JSON;
    }
  }

  object(): YAMLMap {
    const map = new YAMLMap();
    const start = this.i++;
    this.space();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
    } else {
      for (;;) {
        this.space();
        const keyStart = this.i;
        if (this.s.charCodeAt(keyStart) !== 0x22) throw NOT_JSON;
        const key = this.scalar(this.string(), keyStart);
        this.space();
        if (this.s.charCodeAt(this.i++) !== 0x3a) throw NOT_JSON;
        map.items.push(new Pair(key, this.value()));
        this.space();
        const c = this.s.charCodeAt(this.i++);
        if (c === 0x7d) break;
        if (c !== 0x2c) throw NOT_JSON;
      }
    }
    map.range = [start, this.i, this.i];
    return map;
  }

  array(): YAMLSeq {
    const seq = new YAMLSeq();
    const start = this.i++;
    this.space();
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++;
    } else {
      for (;;) {
        seq.items.push(this.value());
        this.space();
        const c = this.s.charCodeAt(this.i++);
        if (c === 0x5d) break;
        if (c !== 0x2c) throw NOT_JSON;
      }
    }
    seq.range = [start, this.i, this.i];
    return seq;
  }
}
