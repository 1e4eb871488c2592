import { type Document, LineCounter, parseDocument } from "yaml";
import type { ConfigError } from "./error.ts";
import { parseJsonDocument } from "./_json_document.ts";

/** A parsed config document with positions, before validation. */
export interface ParsedConfigDocument {
  readonly file: string;
  /** Detected from the content: JSON when it starts with `{` or `[`. */
  readonly format: "json" | "yaml";
  readonly document: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** Syntax errors; validation still runs on whatever parsed. */
  readonly errors: readonly ConfigError[];
}

/**
 * Parses YAML or JSON text (detected from the content, not the file name) with one parser, so every
 * node has a line:col either way. Duplicate keys are left to the validator, which compares them the
 * way MOSN's Go decoder does: case-insensitively.
 */
export function parseConfigDocument(text: string, file: string): ParsedConfigDocument {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const format = /^\s*[{[]/.test(body) ? "json" : "yaml";
  // JSON strings cannot hold raw tabs, so this only turns tab indentation (which YAML rejects) into
  // spaces; offsets and columns stay the same.
  const source = format === "json" ? body.replaceAll("\t", " ") : body;
  const lineCounter = new LineCounter();
  if (format === "json") {
    const fast = parseJsonDocument(source, lineCounter);
    if (fast !== undefined) return { file, format, document: fast, lineCounter, errors: [] };
  }
  const document = parseDocument(source, {
    lineCounter,
    uniqueKeys: false,
    prettyErrors: false,
    version: "1.2",
    schema: "core",
  });
  const errors: ConfigError[] = document.errors.map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    return { file, line, col, path: "", message: syntaxMessage(e.message) };
  });
  return { file, format, document, lineCounter, errors };
}

function syntaxMessage(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return `syntax error: ${first.replace(/ at line \d+, column \d+:?$/, "").replace(/:$/, "")}`;
}
