/** Shared helpers for end-to-end tests that spawn the real CLI. */

/** Exactly the permissions the compiled binary gets (see deno.json task `meshctl`). */
export const RUN_FLAGS = [
  "--no-prompt",
  // Deno.listen's reusePort (workers across cores share each listener address with SO_REUSEPORT).
  "--unstable-net",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-sys=hostname,osRelease",
  "--allow-env=NO_COLOR,TERM,MESHCTL_LOG_LEVEL,MESHCTL_LOG_FORMAT,LOG_TOKENS,LOG_STREAM,GRPC_*,grpc_proxy,http_proxy,https_proxy,no_grpc_proxy,no_proxy",
  // A smaller young generation (shorter scavenges, less peak RSS), major GCs at 1.5 × the live heap (closed
  // TLS sessions hold native memory until a major GC), and linear-time regex matching
  // (see docs/architecture.md).
  "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=50,--enable-experimental-regexp-engine,--enable-experimental-regexp-engine-on-excessive-backtracks",
];

export const ROOT: string = new URL("..", import.meta.url).pathname;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `deno run <RUN_FLAGS> main.ts <args>` from the repo root and collects its output. */
export async function runMeshctl(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, "main.ts", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: withoutDenoWarnings(decoder.decode(out.stderr)),
  };
}

const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** Drops Deno's own config warnings (e.g. about deno.json) so tests compare only meshctl's output. */
function withoutDenoWarnings(stderr: string): string {
  const strip = (line: string) => line.replaceAll(ANSI, "");
  const lines = stderr.split("\n");
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const plain = strip(lines[i]!);
    if (plain.startsWith("Warning ")) {
      while (strip(lines[i + 1] ?? "").startsWith("    at ")) i++;
      continue;
    }
    kept.push(lines[i]!);
  }
  return kept.join("\n");
}
