/**
 * A real ZooKeeper (Debian's `zookeeper` package, Java) as a test peer: standalone on 127.0.0.1, admin
 * server off, a temp dataDir, a short tickTime so session timeouts (2–20 ticks) are test-sized. Stopped by
 * PID; `restart()` keeps the dataDir (sessions and persistent nodes survive, as in production).
 */

/** The server jar; its manifest's Class-Path brings jute, netty, metrics, jackson, slf4j-api. */
export const ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar";
/** slf4j's binding, not in that Class-Path: without it the server logs nothing at all. */
const SLF4J_BINDING = "/usr/share/java/slf4j-simple.jar";

export interface ZooKeeperOptions {
  /** Default 200 ms: sessions may then last 400 ms … 4 s (ZooKeeper's 2 and 20 ticks). */
  readonly tickTimeMs?: number;
}

export interface ZooKeeper {
  /** `127.0.0.1:<port>`, the connect string for clients. */
  readonly address: string;
  readonly port: number;
  readonly dataDir: string;
  readonly tickTimeMs: number;
  /** The running JVM's PID (changes on restart). */
  pid(): number;
  /** Stops the JVM (SIGTERM, SIGKILL after 5 s); the dataDir stays. Idempotent. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port and dataDir; resolves once `srvr` says it serves. */
  startServer(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the JVM and removes its directory. */
  stop(): Promise<void>;
  /** Sends a four-letter command (`ruok`, `srvr`, `stat`, `mntr`, `cons`) and returns the answer. */
  fourLetter(command: string): Promise<string>;
}

export function zooKeeperInstalled(): boolean {
  try {
    return Deno.statSync(ZOOKEEPER_JAR).isFile;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A four-letter command's answer; bounded, since a server still starting may never close the socket. */
async function fourLetter(port: number, command: string, timeoutMs = 2_000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed already */ }
  }, timeoutMs);
  try {
    await conn.write(new TextEncoder().encode(command));
    return await new Response(conn.readable).text();
  } finally {
    clearTimeout(timer);
  }
}

export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeper> {
  if (!zooKeeperInstalled()) {
    throw new Error(`${ZOOKEEPER_JAR} missing: apt-get install zookeeper (.ci/run does)`);
  }
  const tickTimeMs = options.tickTimeMs ?? 200;
  const dir = await Deno.makeTempDir({ prefix: "meshctl-zk-" });
  let lastError = "";
  // A port found free can be taken before the JVM binds it: then ZooKeeper exits and we pick another.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const zk = new ZooKeeperProcess(dir, port, tickTimeMs);
    try {
      await zk.startServer();
      return zk;
    } catch (e) {
      lastError = (e as Error).message;
      await zk.stopServer();
      if (!/Address already in use|BindException/.test(lastError)) break;
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error(`ZooKeeper did not start: ${lastError}`);
}

class ZooKeeperProcess implements ZooKeeper {
  readonly address: string;
  readonly dataDir: string;
  #child: Deno.ChildProcess | undefined;
  #status: Promise<Deno.CommandStatus> | undefined;
  #exited = false;
  #starts = 0;

  constructor(readonly dir: string, readonly port: number, readonly tickTimeMs: number) {
    this.address = `127.0.0.1:${port}`;
    this.dataDir = `${dir}/data`;
  }

  pid(): number {
    if (!this.#child) throw new Error("ZooKeeper is not running");
    return this.#child.pid;
  }

  async startServer(): Promise<void> {
    if (this.#child) return;
    await Deno.mkdir(this.dataDir, { recursive: true });
    const cfg = `${this.dir}/zoo.cfg`;
    await Deno.writeTextFile(
      cfg,
      [
        `tickTime=${this.tickTimeMs}`,
        `dataDir=${this.dataDir}`,
        `clientPort=${this.port}`,
        "clientPortAddress=127.0.0.1",
        // Jetty would bind :8080 on every interface otherwise.
        "admin.enableServer=false",
        "4lw.commands.whitelist=ruok,srvr,stat,mntr,cons",
        "maxClientCnxns=0",
        "",
      ].join("\n"),
    );
    const log = `${this.dir}/zookeeper-${++this.#starts}.log`;
    // `exec`: the PID we hold is the JVM's; both its streams go to the log, read when it fails to start.
    const spawned = new Deno.Command("sh", {
      args: ["-c", `exec java "$@" >>"${log}" 2>&1`, "sh", ...javaArgs(cfg)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#child = spawned;
    this.#exited = false;
    this.#status = spawned.status.finally(() => this.#exited = true);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.#exited) {
        this.#child = undefined;
        const text = await Deno.readTextFile(log).catch(() => "");
        throw new Error(`ZooKeeper exited: ${text.trim().split("\n").slice(-5).join(" | ")}`);
      }
      // `ruok` says imok as soon as the JVM listens; `srvr` names the mode only once the database is loaded.
      const answer = await fourLetter(this.port, "srvr", 1_000).catch(() => "");
      if (/^Mode: standalone$/m.test(answer)) return;
      if (Date.now() > deadline) throw new Error("ZooKeeper did not serve (srvr) in 30 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stopServer(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (!this.#exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* exited meanwhile */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }, 5_000);
      await this.#status;
      clearTimeout(timer);
    }
  }

  async restart(): Promise<void> {
    await this.stopServer();
    await this.startServer();
  }

  async stop(): Promise<void> {
    await this.stopServer();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  fourLetter(command: string): Promise<string> {
    return fourLetter(this.port, command);
  }
}

function javaArgs(cfg: string): string[] {
  return [
    "-Xmx128m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-cp",
    `${ZOOKEEPER_JAR}:${SLF4J_BINDING}`,
    "org.apache.zookeeper.server.ZooKeeperServerMain",
    cfg,
  ];
}
