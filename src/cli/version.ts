import denoJson from "../../deno.json" with { type: "json" };

export const VERSION: string = denoJson.version;

export const help = `meshctl version — print the version

Usage: meshctl version`;

export default function run(): number {
  console.log(`meshctl ${VERSION} (deno ${Deno.version.deno}, v8 ${Deno.version.v8})`);
  return 0;
}
