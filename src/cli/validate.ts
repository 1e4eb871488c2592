/**
 * `meshctl validate <config>...`: checks config files without binding anything. One summary line
 * per valid file on stdout; every error and warning of every file, one per line, on stderr.
 */
import { validationContext } from "../server/mod.ts";
import {
  type ConfigError,
  type ConfigSnapshot,
  formatConfigError,
  formatConfigWarning,
  loadConfigFile,
} from "../config/mod.ts";

export const help = `meshctl validate — check config files and print every error

Usage: meshctl validate <config>...

Reads each YAML or JSON config (MOSN v2 schema), validates structure and cross references, and
prints one line per problem as FILE:LINE:COL: PATH: MESSAGE on stderr. Warnings (settings that
load but that meshctl will not act on as written, e.g. an enabled tracing block) are printed the same
way as FILE:LINE:COL: PATH: warning: MESSAGE; they do not make a file invalid.

Exit codes: 0 all valid (warnings or not), 1 some file invalid or unreadable, 2 usage error.`;

export default async function run(args: string[]): Promise<number> {
  const files: string[] = [];
  for (const arg of args) {
    if (arg === "--") continue;
    if (arg.startsWith("-") && arg !== "-") {
      console.error(`meshctl validate: unknown option "${arg}"\n\n${help}`);
      return 2;
    }
    files.push(arg);
  }
  if (files.length === 0) {
    console.error(`meshctl validate: no config file given\n\n${help}`);
    return 2;
  }
  const ctx = validationContext(); // the names this build registers, as serve uses
  const colour = useColour();
  let failed = false;
  for (const file of files) {
    const { snapshot, errors, warnings } = await loadConfigFile(file, ctx);
    if (snapshot) {
      const noted = warnings.length > 0 ? `; ${plural(warnings.length, "warning")}` : "";
      console.log(`${file}: ${colour ? "\x1b[32mok\x1b[0m" : "ok"} (${summary(snapshot)}${noted})`);
    } else failed = true;
    // Errors and warnings in file order, each kind in its colour.
    const problems: [ConfigError, boolean][] = [
      ...errors.map((e): [ConfigError, boolean] => [e, false]),
      ...warnings.map((w): [ConfigError, boolean] => [w, true]),
    ].sort(([a], [b]) => a.line - b.line || a.col - b.col);
    for (const [p, isWarning] of problems) {
      const line = isWarning ? formatConfigWarning(p) : formatConfigError(p);
      console.error(colour ? `\x1b[${isWarning ? 33 : 31}m${line}\x1b[0m` : line);
    }
  }
  return failed ? 1 : 0;
}

function summary(s: ConfigSnapshot): string {
  const listeners = s.servers.reduce((n, srv) => n + srv.listeners.length, 0);
  const routers = s.servers.reduce((n, srv) => n + srv.routers.length, 0);
  return `${plural(listeners, "listener")}, ${plural(s.clusters.length, "cluster")}, ${
    plural(routers, "router")
  }`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function useColour(): boolean {
  return Deno.stderr.isTerminal() && Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
}
