/**
 * The CLI entry: dispatches subcommands, each one file with `help` and a default-export runner.
 * Exit codes: 0 ok, 1 failure (e.g. invalid config), 2 usage error.
 */
import { VERSION } from "./version.ts";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const USAGE = `meshctl ${VERSION} — a service-mesh sidecar proxy (MOSN-compatible config)

Usage: meshctl <command> [options]

Commands:
  serve <config>        Run the proxy: listeners, upstream clusters and the admin server
  validate <config>...  Check config files and print every error with file:line:col
  stats --addr HOST:PORT  Show live stats of a running instance
  schema                Print the JSON Schema of the config (for editors)
  version               Print the version

Run 'meshctl <command> --help' for a command's options.`;

interface Subcommand {
  help: string;
  default: (args: string[]) => number | Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Subcommand>> = {
  serve: () => import("./serve.ts"),
  validate: () => import("./validate.ts"),
  stats: () => import("./stats.ts"),
  schema: () => import("./schema.ts"),
  version: () => import("./version.ts"),
};

export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    (command === undefined ? console.error : console.log)(USAGE);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (command === "--version" || command === "-V") return (await import("./version.ts")).default();
  const load = COMMANDS[command];
  if (load === undefined) {
    console.error(`meshctl: unknown command "${command}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const sub = await load();
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(sub.help);
    return EXIT_OK;
  }
  return await sub.default(rest);
}
