/**
 * `meshctl validate <config>...`: checks config files without binding anything. One summary line
 * per valid file on stdout; every error of every file, one per line, on stderr.
 */
import { validationContext } from "../server/mod.ts";
import { type ConfigSnapshot, formatConfigError, loadConfigFile } from "../config/mod.ts";

export const help = `meshctl validate — check config files and print every error

Usage: meshctl validate <config>...

Reads each YAML or JSON config (MOSN v2 schema), validates structure and cross references, and
prints one line per problem as FILE:LINE:COL: PATH: MESSAGE on stderr.

Exit codes: 0 all valid, 1 some file invalid or unreadable, 2 usage error.`;

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
    const { snapshot, errors } = await loadConfigFile(file, ctx);
    if (snapshot) {
      console.log(`${file}: ${colour ? "\x1b[32mok\x1b[0m" : "ok"} (${summary(snapshot)})`);
      continue;
    }
    failed = true;
    for (const e of errors) {
      const line = formatConfigError(e);
      console.error(colour ? `\x1b[31m${line}\x1b[0m` : line);
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
