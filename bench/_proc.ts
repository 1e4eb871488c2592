/**
 * Process helpers for the side-by-side harness: start servers pinned to a core, stop them by PID
 * (always, also on Ctrl-C), read a process tree's CPU time and peak RSS from /proc, pick free ports
 * and run bounded commands.
 */

/** A server the harness started. `stop()` is idempotent and kills the whole process tree by PID. */
export interface Server {
  readonly name: string;
  readonly pid: number;
  /** The command line it was started with (for RESULTS.md). */
  readonly argv: readonly string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** The last 64 KiB the process wrote to stdout/stderr, for diagnostics. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<Server>();

/** Stops every server still running; used by try/finally and the SIGINT/SIGTERM handlers. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

let signalsInstalled = false;
const cleanups: (() => void)[] = [];

/** Registers a synchronous cleanup (e.g. removing the temp dir) that also runs on Ctrl-C. */
export function onInterruptCleanup(fn: () => void): void {
  cleanups.push(fn);
}

/** On Ctrl-C or SIGTERM, stop every started process by PID, run the cleanups and exit 130. */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  const onSignal = () => {
    console.error("\nbench: interrupted, stopping started processes…");
    stopAll().finally(() => {
      for (const fn of cleanups) {
        try {
          fn();
        } catch { /* best effort */ }
      }
      Deno.exit(130);
    });
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
}

export interface StartOptions {
  /** CPU core to pin to with `taskset -c`; undefined = no pinning. */
  core?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Starts `argv` (pinned with taskset when `core` is set) and registers it for cleanup. */
export function start(name: string, argv: readonly string[], opts: StartOptions = {}): Server {
  const full = opts.core === undefined ? [...argv] : ["taskset", "-c", String(opts.core), ...argv];
  const [cmd, ...args] = full as [string, ...string[]];
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
    cwd: opts.cwd,
  }).spawn();
  let tail = "";
  const keep = (chunk: Uint8Array) => {
    tail = (tail + new TextDecoder().decode(chunk)).slice(-65536);
  };
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    try {
      for await (const chunk of stream) keep(chunk);
    } catch { /* process gone */ }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s.code;
  });
  let stopping: Promise<void> | undefined;
  const server: Server = {
    name,
    pid: child.pid,
    argv: full,
    exited: status,
    hasExited: () => exited,
    output: () => tail,
    stop() {
      stopping ??= (async () => {
        const tree = descendants(child.pid);
        if (!exited) signal(child.pid, "SIGTERM");
        const done = await Promise.race([status.then(() => true), sleep(3000).then(() => false)]);
        if (!done) {
          signal(child.pid, "SIGKILL");
          await status;
        }
        // Anything the tree left behind (e.g. nginx workers) is killed by PID too.
        for (const pid of tree) if (alive(pid)) signal(pid, "SIGKILL");
        await Promise.race([drained, sleep(500)]);
        running.delete(server);
      })();
      return stopping;
    },
  };
  running.add(server);
  return server;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the ")" that closes comm: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined;
  }
}

/** PIDs of every live descendant of `root` (not including root). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    const st = readStat(pid);
    if (st === undefined) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

let clkTck: number | undefined;

function clockTicksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" })
        .outputSync();
      clkTck = Number(new TextDecoder().decode(out.stdout).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * CPU time (µs) used so far by `pid`'s process tree: utime+stime of the process and of every live
 * descendant, plus cutime+cstime (children it has already reaped).
 */
export function treeCpuMicros(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) ticks += readStat(p)?.ticks ?? 0;
  return (ticks * 1e6) / clockTicksPerSecond();
}

/** Peak RSS (VmHWM) in KiB summed over the process tree (for one-process proxies: that process). */
export function treePeakRssKiB(pid: number): number {
  return treeStatusKiB(pid, "VmHWM");
}

/** Current RSS (VmRSS) in KiB summed over the process tree. */
export function treeRssKiB(pid: number): number {
  return treeStatusKiB(pid, "VmRSS");
}

function treeStatusKiB(pid: number, field: "VmHWM" | "VmRSS"): number {
  const re = new RegExp(`${field}:\\s+(\\d+) kB`);
  let kib = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const m = re.exec(Deno.readTextFileSync(`/proc/${p}/status`));
      if (m) kib += Number(m[1]);
    } catch { /* gone */ }
  }
  return kib;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface RunResult {
  code: number;
  /** stdout and stderr as interleaved by the process (last 64 KiB). */
  output: string;
  timedOut: boolean;
}

/** Runs a command to completion, killed (SIGKILL) after `timeoutMs`. Registered for Ctrl-C cleanup. */
export async function run(
  argv: readonly string[],
  timeoutMs: number,
  opts: StartOptions = {},
): Promise<RunResult> {
  const s = start(argv[0]!, argv, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    s.stop();
  }, timeoutMs);
  try {
    const code = await s.exited;
    await s.stop();
    return { code, output: s.output(), timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** First line of a command's output (stdout or stderr), or "unknown". */
export function versionOf(argv: readonly string[]): string {
  try {
    const out = new Deno.Command(argv[0]!, { args: argv.slice(1), stdout: "piped", stderr: "piped" })
      .outputSync();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.split("\n").find((l) => l.trim() !== "")?.trim() ?? "unknown";
  } catch {
    return "not installed";
  }
}

/** CPU time (µs) the whole machine spent in user+nice+system since boot (no idle, irq or steal). */
function machineBusyMicros(): number {
  try {
    const f = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return ((f[0]! + f[1]! + f[2]!) * 1e6) / clockTicksPerSecond();
  } catch {
    return 0;
  }
}

/**
 * Measures how much CPU other work (anything outside this harness's process tree: proxies, origin,
 * load generators) used over an interval, in cores. Other engineers' jobs on a shared machine show
 * up here and explain noisy rounds.
 */
export class NoiseMeter {
  #t0 = performance.now();
  #machine0 = machineBusyMicros();
  #ours0 = treeCpuMicros(Deno.pid);

  /** Cores' worth of CPU used by other processes since construction. */
  otherCores(): number {
    const wallUs = (performance.now() - this.#t0) * 1000;
    if (wallUs <= 0) return 0;
    const other = machineBusyMicros() - this.#machine0 - (treeCpuMicros(Deno.pid) - this.#ours0);
    return Math.max(0, other / wallUs);
  }
}
