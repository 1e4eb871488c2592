/**
 * Go `Regexp.Expand` templates, as `regex_rewrite.substitution` uses them: `$1`, `${1}`, `$name`,
 * `${name}` and `$$`. Names are resolved to group numbers once, when the template is parsed.
 */

/** Literal text, or the group numbers a reference may take its text from (the first that took part). */
export type TemplatePart = string | readonly number[];

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Parses `template` as Go does: `$name` takes the longest run of letters, digits and `_` (`$1x` is
 * `${1x}`), a purely numeric name is a group number (no leading zeros), a malformed `$` is literal, and
 * a reference to a missing group expands to "".
 * @param groupNames the pattern's group names by number ("" when unnamed)
 */
export function parseTemplate(template: string, groupNames: readonly string[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = "";
  let rest = template;
  for (;;) {
    const dollar = rest.indexOf("$");
    if (dollar < 0) break;
    literal += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest[0] === "$") {
      literal += "$";
      rest = rest.slice(1);
      continue;
    }
    const ref = extract(rest);
    if (ref === undefined) {
      literal += "$";
      continue;
    }
    rest = rest.slice(ref.length);
    if (literal !== "") parts.push(literal);
    literal = "";
    const num = groupNumber(ref.name);
    if (num >= 0) parts.push(num < groupNames.length ? [num] : []);
    else parts.push(groupNames.flatMap((n, i) => n === ref.name && i > 0 ? [i] : []));
  }
  literal += rest;
  if (literal !== "") parts.push(literal);
  return parts;
}

/** The name after a `$` (`name` or `{name}`) and how many characters it took; undefined when malformed. */
function extract(s: string): { name: string; length: number } | undefined {
  const brace = s[0] === "{";
  let i = brace ? 1 : 0;
  const start = i;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    if (!NAME_CHAR.test(ch)) break;
    i += ch.length;
  }
  if (i === start) return undefined;
  const name = s.slice(start, i);
  if (brace) {
    if (s[i] !== "}") return undefined;
    i++;
  }
  return { name, length: i };
}

function groupNumber(name: string): number {
  if (!/^[0-9]+$/.test(name) || name.length > 9) return -1; // Go stops counting at 1e8
  if (name[0] === "0" && name.length > 1) return -1;
  return Number(name);
}

/** Appends the expansion of `parts` for one match (`groups[i]` is group i's text, undefined if unset). */
export function expandTemplate(
  parts: readonly TemplatePart[],
  groups: readonly (string | undefined)[],
): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    for (const g of part) {
      const text = groups[g];
      if (text !== undefined) {
        out += text;
        break;
      }
    }
  }
  return out;
}
