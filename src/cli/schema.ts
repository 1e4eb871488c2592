/** `meshctl schema`: prints the config's JSON Schema, e.g. for yaml-language-server. */
import { configJsonSchema } from "../config/mod.ts";

export const help = `meshctl schema — print the JSON Schema (draft-07) of the config

Usage: meshctl schema > meshctl.schema.json

Point your editor at it, e.g. for yaml-language-server add this first line to a config:
  # yaml-language-server: $schema=./meshctl.schema.json`;

export default function run(args: string[]): number {
  if (args.length > 0) {
    console.error(`meshctl schema: unexpected argument "${args[0]}"\n\n${help}`);
    return 2;
  }
  console.log(JSON.stringify(configJsonSchema(), null, 2));
  return 0;
}
