import { dirname, resolve } from "node:path";
import { checkSemantics, type Loose, type SemanticResult } from "./check.ts";
import { DEFAULT_VALIDATION_CONTEXT, type ValidationContext } from "./context.ts";
import type { ConfigError, ConfigWarning } from "./error.ts";
import { parseConfigDocument, type ParsedConfigDocument } from "./parse.ts";
import { type ConfigDocument, ConfigSchema } from "./schema.ts";
import { buildSnapshot } from "./snapshot.ts";
import type { ConfigSnapshot } from "./types.ts";
import { type Pos, Walker } from "./walk.ts";

/** The outcome of loading: a snapshot exactly when there are no errors; warnings either way. */
export interface ConfigResult {
  readonly snapshot?: ConfigSnapshot;
  readonly errors: readonly ConfigError[];
  /** What the config asks for that meshctl will not do as written (see `ConfigWarning`), by position. */
  readonly warnings: readonly ConfigWarning[];
}

/**
 * Validates a parsed document: the structural walk, then the semantic checks, collecting every error and
 * warning; builds the frozen snapshot when there are no errors. Both lists come sorted by position.
 */
export function validateConfig(
  parsed: ParsedConfigDocument,
  ctx: ValidationContext = DEFAULT_VALIDATION_CONTEXT,
): ConfigResult {
  const walker = new Walker(parsed.file, parsed.document, parsed.lineCounter);
  const errors: ConfigError[] = [...parsed.errors];
  // After a syntax error the tree is partial; structural noise would only bury the real problem.
  if (errors.length > 0) return { errors: sortErrors(errors), warnings: [] };
  const doc = walker.walkRoot(ConfigSchema);
  let semantic: SemanticResult | undefined;
  if (doc !== undefined && typeof doc === "object") {
    semantic = checkSemantics(doc as Loose<ConfigDocument>, ctx, {
      error: (path, message) => walker.error(positionOf(walker.positions, path), path, message),
      warn: (path, message) => walker.warn(positionOf(walker.positions, path), path, message),
      hasError: (path) => walker.errors.some((e) => e.path === path),
    }, { configDir: dirname(resolve(parsed.file)) });
  }
  errors.push(...walker.errors);
  const warnings = sortErrors([...walker.warnings]);
  if (errors.length > 0 || semantic === undefined) return { errors: sortErrors(errors), warnings };
  return { snapshot: buildSnapshot(doc as ConfigDocument, parsed.file, ctx, semantic), errors: [], warnings };
}

/** Parses and validates config text; YAML or JSON is detected from the content. */
export function parseConfigText(
  text: string,
  fileName: string,
  ctx: ValidationContext = DEFAULT_VALIDATION_CONTEXT,
): ConfigResult {
  return validateConfig(parseConfigDocument(text, fileName), ctx);
}

/** Reads, parses and validates a config file. An unreadable file is an error too, never a throw. */
export async function loadConfigFile(
  path: string,
  ctx: ValidationContext = DEFAULT_VALIDATION_CONTEXT,
): Promise<ConfigResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : e instanceof Error
      ? e.message
      : String(e);
    return {
      errors: [{ file: path, line: 1, col: 1, path: "", message: `cannot read the config: ${reason}` }],
      warnings: [],
    };
  }
  return parseConfigText(text, path, ctx);
}

/** The position of `path`, or of its nearest ancestor that has one. */
function positionOf(positions: ReadonlyMap<string, Pos>, path: string): Pos {
  let p = path;
  while (true) {
    const pos = positions.get(p);
    if (pos) return pos;
    if (p === "") return { line: 1, col: 1 };
    const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
    p = cut < 0 ? "" : p.slice(0, cut);
  }
}

function sortErrors(errors: ConfigError[]): ConfigError[] {
  return errors.sort((a, b) => a.line - b.line || a.col - b.col);
}
