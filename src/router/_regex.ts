/**
 * RE2 (Go `regexp`) patterns and substitutions translated to JavaScript once, at compile time.
 *
 * Covered: `(?P<name>…)` named groups, a leading `(?i)`/`(?s)`/`(?m)` flag group, `$1`/`${1}`/`$name`/
 * `${name}`/`$$` in substitutions. Anything JavaScript rejects throws a SyntaxError naming the pattern.
 */

/** Compiles an RE2-style pattern. Matching is unanchored, as Go's `MatchString`. */
export function compileRe2(pattern: string, where: string, global = false): RegExp {
  let source = pattern.replaceAll("(?P<", "(?<");
  let flags = global ? "g" : "";
  const lead = /^\(\?([ims]+)\)/.exec(source);
  if (lead) {
    source = source.slice(lead[0].length);
    for (const f of lead[1]!) if (!flags.includes(f)) flags += f;
  }
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw new SyntaxError(`Cannot compile regex "${pattern}" in ${where}: ${(e as Error).message}`);
  }
}

/** One piece of a substitution: literal text, a group number or a group name. */
type Part = string | number | { readonly name: string };

/**
 * Parses a Go `Regexp.Expand` template into parts. Like Go, `$name` takes the longest run of
 * `[A-Za-z0-9_]`, a missing group expands to "", and `$$` is a literal `$`.
 */
export function parseSubstitution(template: string): readonly Part[] {
  const parts: Part[] = [];
  let literal = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== "$" || i + 1 >= template.length) {
      literal += c;
      i++;
      continue;
    }
    if (template[i + 1] === "$") {
      literal += "$";
      i += 2;
      continue;
    }
    let name: string;
    let next: number;
    if (template[i + 1] === "{") {
      const close = template.indexOf("}", i + 2);
      if (close < 0) {
        literal += c;
        i++;
        continue;
      }
      name = template.slice(i + 2, close);
      next = close + 1;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (!m) {
        literal += c;
        i++;
        continue;
      }
      name = m[0];
      next = i + 1 + name.length;
    }
    if (literal) parts.push(literal);
    literal = "";
    parts.push(/^[0-9]+$/.test(name) ? Number(name) : { name });
    i = next;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** Replaces every match of `re` (a global RegExp) in `input` by expanding `parts`. */
export function replaceAllExpand(input: string, re: RegExp, parts: readonly Part[]): string {
  return input.replace(re, (...args: unknown[]) => {
    // args: match, p1..pn, offset, string, [groups]
    const last = args[args.length - 1];
    const hasGroups = typeof last === "object" && last !== null;
    const groups = hasGroups ? last as Record<string, string | undefined> : undefined;
    const groupCount = args.length - (hasGroups ? 3 : 2);
    let out = "";
    for (const part of parts) {
      if (typeof part === "string") out += part;
      else if (typeof part === "number") {
        if (part < groupCount) out += (args[part] as string | undefined) ?? "";
      } else out += groups?.[part.name] ?? "";
    }
    return out;
  });
}
