import { type Document, isAlias, isMap, isNode, isScalar, isSeq, type LineCounter, type YAMLMap } from "yaml";
import type { TSchema } from "@sinclair/typebox";
import { checkRe2, didYouMean, parseAddress, parseDuration } from "../core/mod.ts";
import { type Meta, metaOf } from "./_kit.ts";
import type { ConfigError, ConfigWarning } from "./error.ts";

export interface Pos {
  readonly line: number;
  readonly col: number;
}

interface SchemaShape {
  type?: string;
  properties?: Record<string, TSchema>;
  required?: string[];
  items?: TSchema;
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

/**
 * The structural pass: walks the YAML node tree against the schema, normalizing keys to their
 * canonical (case-insensitive, as MOSN's Go decoder) names and collecting every error. A value with
 * an error is left out of the result, so later passes see only well-typed values.
 */
export class Walker {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  /** Position of every value node by path, for the semantic pass. */
  readonly positions: Map<string, Pos> = new Map();
  #file: string;
  #doc: Document.Parsed;
  #lines: LineCounter;

  constructor(file: string, doc: Document.Parsed, lines: LineCounter) {
    this.#file = file;
    this.#doc = doc;
    this.#lines = lines;
  }

  /** Walks the document root. */
  walkRoot(schema: TSchema): unknown {
    const root = this.#doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) {
      this.error({ line: 1, col: 1 }, "", "the config is empty");
      return undefined;
    }
    return this.walk(root, schema, "");
  }

  error(pos: Pos, path: string, message: string): void {
    this.errors.push({ file: this.#file, line: pos.line, col: pos.col, path, message });
  }

  warn(pos: Pos, path: string, message: string): void {
    this.warnings.push({ file: this.#file, line: pos.line, col: pos.col, path, message });
  }

  posOf(node: unknown): Pos {
    if (isNode(node) && node.range) return this.#lines.linePos(node.range[0]);
    return { line: 1, col: 1 };
  }

  walk(raw: unknown, schema: TSchema, path: string): unknown {
    const node = this.#deref(raw);
    const pos = this.posOf(node);
    this.positions.set(path, pos);
    const meta = metaOf(schema);
    const shape = schema as SchemaShape;
    if (meta?.ignored) return this.#toJS(node);
    if (meta?.unsupported !== undefined) return this.#unsupported(node, meta, path, pos);
    if (meta?.kind === "duration") return this.#duration(node, path, pos);
    if (meta?.kind === "port") return this.#portText(node, path, pos);
    switch (shape.type) {
      case "object":
        if (!isMap(node)) return this.#typeError(node, "a mapping", path, pos);
        if (meta?.branches) return this.#filter(node, meta.branches, shape, path, pos);
        if (shape.properties) return this.#object(node, shape, path, pos);
        this.#notePositions(node, path); // a free-form mapping: later checks may point into it
        return this.#toJS(node);
      case "array": {
        if (!isSeq(node)) return this.#typeError(node, "a list", path, pos);
        const out: unknown[] = [];
        node.items.forEach((item, i) => out.push(this.walk(item, shape.items!, `${path}[${i}]`)));
        if (shape.minItems !== undefined && out.length < shape.minItems) {
          this.error(
            pos,
            path,
            shape.minItems === 1 ? "must not be empty" : `needs at least ${shape.minItems} items`,
          );
        }
        if (shape.maxItems !== undefined && out.length > shape.maxItems) {
          this.error(pos, path, `must have at most ${shape.maxItems} item${shape.maxItems === 1 ? "" : "s"}`);
        }
        return out;
      }
      case "string":
        return this.#string(node, shape, meta, path, pos);
      case "integer":
        return this.#integer(node, shape, path, pos);
      case "boolean": {
        const v = isScalar(node) ? node.value : undefined;
        if (typeof v !== "boolean") return this.#typeError(node, "true or false", path, pos);
        return v;
      }
      default:
        return this.#toJS(node);
    }
  }

  #object(node: YAMLMap, shape: SchemaShape, path: string, pos: Pos): Record<string, unknown> {
    const props = shape.properties ?? {};
    const canonical = canonicalKeys(shape);
    const seen = new Map<string, Pos>();
    const nulls = new Set<string>();
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const keyNode = this.#deref(pair.key);
      const keyPos = this.posOf(keyNode);
      const keyValue = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof keyValue !== "string" && typeof keyValue !== "number") {
        this.error(keyPos, path, "keys must be strings");
        continue;
      }
      const key = String(keyValue);
      const name = canonical.get(key.toLowerCase());
      const keyPath = join(path, name ?? key);
      if (name === undefined) {
        const suggestions = Object.keys(props).filter((k) => metaOf(props[k]!)?.unsupported === undefined);
        const hint = didYouMean(key, suggestions);
        this.error(keyPos, keyPath, `unknown field "${key}"${hint ? `; did you mean "${hint}"?` : ""}`);
        continue;
      }
      const first = seen.get(name);
      if (first) {
        this.error(keyPos, keyPath, `duplicate field "${key}" (first set at ${first.line}:${first.col})`);
        continue;
      }
      seen.set(name, keyPos);
      const value = this.#deref(pair.value);
      // Go's decoder treats null as "not set".
      if (isNull(value)) {
        nulls.add(name);
        continue;
      }
      const v = this.walk(value, props[name]!, keyPath);
      if (v !== undefined) out[name] = v;
    }
    for (const req of shape.required ?? []) {
      const at = seen.get(req);
      if (at === undefined) this.error(pos, join(path, req), `missing required field "${req}"`);
      else if (nulls.has(req)) this.error(at, join(path, req), `"${req}" needs a value`);
    }
    return out;
  }

  /** A network filter: the `type` picks the config schema; unknown types keep a free-form config. */
  #filter(
    node: YAMLMap,
    branches: Readonly<Record<string, TSchema>>,
    shape: SchemaShape,
    path: string,
    pos: Pos,
  ): Record<string, unknown> {
    const out = this.#object(node, shape, path, pos);
    if (typeof out.type !== "string") return out;
    const branch = Object.keys(branches).find((b) => b.toLowerCase() === String(out.type).toLowerCase());
    if (branch === undefined) return out;
    out.type = branch;
    const configPair = node.items.find((p) => {
      const k = this.#deref(p.key);
      return isScalar(k) && String(k.value).toLowerCase() === "config";
    });
    const configNode = this.#deref(configPair?.value);
    const configPath = join(path, "config");
    if (isNull(configNode)) {
      this.error(pos, configPath, `missing required field "config"`);
      return out;
    }
    if (!isMap(configNode)) return out; // the type error is already reported
    const config = this.walk(configNode, branches[branch]!, configPath);
    if (config === undefined) delete out.config;
    else out.config = config;
    return out;
  }

  #string(node: unknown, shape: SchemaShape, meta: Meta | undefined, path: string, pos: Pos): unknown {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "string") return this.#typeError(node, "a string", path, pos);
    if (shape.enum) {
      const values = shape.enum.map(String);
      const exact = meta?.caseInsensitive
        ? values.find((e) => e.toLowerCase() === v.toLowerCase())
        : values.find((e) => e === v);
      if (exact !== undefined) return exact;
      const unsupported = meta?.unsupportedValues?.find((e) => e.toLowerCase() === v.toLowerCase());
      if (unsupported !== undefined) {
        this.error(pos, path, `"${v}" is not supported yet (supported: ${values.join(", ")})`);
        return undefined;
      }
      const hint = didYouMean(v, values);
      this.error(
        pos,
        path,
        `unknown value "${v}"; ${hint ? `did you mean "${hint}"?` : `expected one of ${values.join(", ")}`}`,
      );
      return undefined;
    }
    if (meta?.kind === "address" && parseAddress(v) === undefined) {
      this.error(pos, path, `invalid address "${v}"; expected "host:port" or "tcp://host:port"`);
      return undefined;
    }
    if (meta?.kind === "ip" && !isIpAddress(v)) {
      const withPort = parseAddress(v);
      this.error(
        pos,
        path,
        withPort !== undefined && isIpAddress(withPort.hostname)
          ? `"${v}" has a port; expected the IP address alone (the port is a field of its own)`
          : `"${v}" is not an IP address`,
      );
      return undefined;
    }
    if (meta?.kind === "regex") {
      const problem = checkRe2(v, { submatches: meta.submatches === true });
      if (problem !== undefined) {
        this.error(pos, path, `invalid regex "${v}": ${problem}`);
        return undefined;
      }
    }
    return v;
  }

  #integer(node: unknown, shape: SchemaShape, path: string, pos: Pos): unknown {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) return this.#typeError(node, "an integer", path, pos);
    if (shape.enum && !shape.enum.includes(v)) {
      this.error(pos, path, `unknown value ${v}; expected one of ${shape.enum.join(", ")}`);
      return undefined;
    }
    const { minimum: min, maximum: max } = shape;
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      const range = max === undefined
        ? `at least ${min}`
        : min === undefined
        ? `at most ${max}`
        : `${min}..${max}`;
      this.error(pos, path, `${v} is out of range; expected ${range}`);
      return undefined;
    }
    return v;
  }

  #duration(node: unknown, path: string, pos: Pos): unknown {
    const v = isScalar(node) ? node.value : undefined;
    if (v === 0) return 0;
    if (typeof v === "number") {
      this.error(
        pos,
        path,
        `expected a duration string like "${v}s" or "${v}ms" (MOSN reads bare numbers as nanoseconds)`,
      );
      return undefined;
    }
    if (typeof v !== "string") return this.#typeError(node, 'a duration like "1s"', path, pos);
    if (parseDuration(v) === undefined) {
      this.error(pos, path, `invalid duration "${v}"; expected Go syntax like "1s", "500ms", "1m30s"`);
      return undefined;
    }
    return v;
  }

  /** A port as a string; an integer gets a hint, since Go's decoder rejects a number for a string field. */
  #portText(node: unknown, path: string, pos: Pos): unknown {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === "number") {
      this.error(pos, path, `expected a string like "${v}" (MOSN reads this port as a string)`);
      return undefined;
    }
    if (typeof v !== "string") return this.#typeError(node, 'a port like "53"', path, pos);
    if (v === "") return v; // Go's zero value: not set
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
      this.error(pos, path, `invalid port "${v}"; expected "1" to "65535"`);
      return undefined;
    }
    return v;
  }

  #unsupported(node: unknown, meta: Meta, path: string, pos: Pos): unknown {
    // Zero values mean "off" to MOSN's decoder (e.g. `tls_context: {}`, `inspector: false`).
    const value = this.#toJS(node);
    if (isOff(value)) return value;
    const field = path.slice(path.lastIndexOf(".") + 1);
    this.error(pos, path, `${field} is not supported yet${meta.unsupported ? ` (${meta.unsupported})` : ""}`);
    return undefined;
  }

  #typeError(node: unknown, expected: string, path: string, pos: Pos): undefined {
    this.error(pos, path, `expected ${expected}, got ${describe(node)}`);
    return undefined;
  }

  #deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.#doc) : node;
  }

  /** Records where each value inside a free-form mapping or list is, under its data path. */
  #notePositions(raw: unknown, path: string, depth = 0): void {
    const node = this.#deref(raw);
    if (depth > 32) return; // deeper than any config; and aliases cannot make it loop
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = this.#deref(pair.key);
        if (!isScalar(key)) continue;
        const p = join(path, String(key.value));
        this.positions.set(p, this.posOf(this.#deref(pair.value)));
        this.#notePositions(pair.value, p, depth + 1);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.positions.set(`${path}[${i}]`, this.posOf(this.#deref(item)));
        this.#notePositions(item, `${path}[${i}]`, depth + 1);
      });
    }
  }

  #toJS(node: unknown): unknown {
    return isNode(node) ? node.toJS(this.#doc) : node;
  }
}

export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** An IPv4 dotted quad or an IPv6 literal (which the URL parser validates for us). */
function isIpAddress(s: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return s.split(".").every((o) => Number(o) <= 255);
  if (!s.includes(":") || /[\[\]\/%]/.test(s)) return false;
  return URL.canParse(`http://[${s}]/`);
}

function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function isOff(v: unknown): boolean {
  if (v === false || v === 0 || v === "" || v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length === 0 || entries.some(([k, val]) => k.toLowerCase() === "status" && val === false);
  }
  return false;
}

function describe(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
    if (v === null) return "null";
    return String(v);
  }
  return "nothing";
}

/** A schema object's field names by lowercase name (MOSN's decoder matches keys case-insensitively), once per shape. */
const canonicalByShape = new WeakMap<SchemaShape, ReadonlyMap<string, string>>();

function canonicalKeys(shape: SchemaShape): ReadonlyMap<string, string> {
  let m = canonicalByShape.get(shape);
  if (m === undefined) {
    m = new Map(Object.keys(shape.properties ?? {}).map((k) => [k.toLowerCase(), k]));
    canonicalByShape.set(shape, m);
  }
  return m;
}
