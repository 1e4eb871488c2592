/**
 * End-to-end harness: spawns the real meshctl (`deno run` with exactly the binary's permission flags),
 * origin servers on 127.0.0.1, and raw-socket clients. Everything started here is stopped by its owner.
 */
import { stringify } from "yaml";
import { ROOT, RUN_FLAGS } from "./_util.ts";

export { ROOT, RUN_FLAGS } from "./_util.ts";
export { runMeshctl as runCli } from "./_util.ts";
export const MAIN = `${ROOT}main.ts`;

/**
 * An address that refuses every connection (a "dead" upstream or admin API). Ports below 1024 are
 * privileged: the OS never hands them out for port 0 and no test binds one, so nothing can start
 * listening there by accident, unlike a port that was merely free a moment ago. (Not port 1: fetch, and
 * so `meshctl stats`, refuses to dial it.)
 */
export const DEAD_PORT = 2;
export const DEAD_HOST = `127.0.0.1:${DEAD_PORT}`;

/**
 * A loopback address no test binds but the one that asks for it (everything else uses 127.0.0.1). A peer
 * that must come back on the same port after being stopped listens here: no other test's port-0 bind
 * can take that port while it is down.
 */
export const PRIVATE_LOOPBACK = "127.0.0.2";

/** Where a running meshctl is bound, as its `--address-file` says. */
export interface BoundAddresses {
  /** "127.0.0.1:port" */
  readonly admin: string;
  /** Listener name → "127.0.0.1:port". */
  readonly listeners: Readonly<Record<string, string>>;
}

export interface Meshctl {
  readonly adminPort: number;
  /** Listener name → bound "host:port", as of the last read of the address file. */
  readonly listeners: Readonly<Record<string, string>>;
  /** The port listener `name` is bound to (as of the last read); throws when there is no such listener. */
  port(name: string): number;
  /** Reads the address file again (meshctl rewrites it after each reload) and updates `listeners`. */
  readAddresses(): Promise<BoundAddresses>;
  readonly configPath: string;
  /** Everything meshctl wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  readonly process: Deno.ChildProcess;
}

/**
 * How long meshctl may take to bind everything before it counts as hung: generous, since on a loaded
 * shared machine (load average above 20) start-up took more than 15 s.
 */
const START_TIMEOUT_MS = 60_000;

/**
 * Starts `meshctl serve --address-file` on a config (object → YAML file, or a path) and waits until it
 * has written the file, i.e. every listener and the admin API are bound. Give listeners `127.0.0.1:0`;
 * an object config without `admin` gets an admin API on port 0. Fails with meshctl's logs when it exits
 * first or is not up in 15s.
 */
export async function startMeshctl(
  config: Record<string, unknown> | string,
  opts: {
    env?: Record<string, string>;
    args?: string[];
    /** false: do not require /ready at start (xDS: ready only after the initial fetch). */
    ready?: boolean;
  } = {},
): Promise<Meshctl> {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-e2e-" });
  const addressFile = `${dir}/addresses.json`;
  let configPath: string;
  if (typeof config === "string") {
    configPath = config;
  } else {
    const withAdmin = {
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
      ...config,
    };
    configPath = `${dir}/config.yaml`;
    await Deno.writeTextFile(configPath, stringify(withAdmin));
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...RUN_FLAGS,
      MAIN,
      "serve",
      "--address-file",
      addressFile,
      ...(opts.args ?? []),
      configPath,
    ],
    env: { NO_COLOR: "1", ...(opts.env ?? {}) },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let logs = "";
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) logs += dec.decode(chunk);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const fail = async (why: string): Promise<never> => {
    if (!exited) child.kill("SIGKILL");
    await status;
    await pumps;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(`meshctl ${why}:\n${logs}`);
  };

  const readAddressFile = async (): Promise<BoundAddresses | undefined> => {
    try {
      return JSON.parse(await Deno.readTextFile(addressFile)) as BoundAddresses;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e; // renamed into place whole, so never half a file
    }
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  let addresses: BoundAddresses | undefined;
  while ((addresses = await readAddressFile()) === undefined) {
    if (exited) return await fail("exited before binding its listeners");
    if (Date.now() > deadline) return await fail(`did not bind its listeners in ${START_TIMEOUT_MS / 1000}s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const adminPort = portOf(addresses.admin);
  // The file is written once everything is bound and ready; this only confirms it.
  let ready: number | string;
  try {
    const r = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    await r.body?.cancel();
    ready = r.status;
  } catch (e) {
    ready = (e as Error).message;
  }
  if (ready !== 200 && opts.ready !== false) {
    return await fail(`wrote its address file but /ready answered ${ready}`);
  }

  let current = addresses;
  return {
    adminPort,
    configPath,
    process: child,
    get listeners() {
      return current.listeners;
    },
    port(name: string) {
      const address = current.listeners[name];
      if (address === undefined) {
        throw new Error(`no listener "${name}" in the address file: ${JSON.stringify(current.listeners)}`);
      }
      return portOf(address);
    },
    async readAddresses() {
      current = (await readAddressFile()) ?? current;
      return current;
    },
    logs: () => logs,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      const s = await status;
      clearTimeout(killer);
      await pumps;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      return s.code;
    },
  };
}

/** The port of "host:port" or "[v6]:port". */
export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

export interface Origin {
  readonly port: number;
  readonly address: string;
  /** Distinct client connections seen (by remote port). */
  readonly connections: Set<string>;
  requests: number;
  close(): Promise<void>;
}

/** A Deno.serve origin on 127.0.0.1 with a handler; counts requests and connections. */
export function startOrigin(
  handler: (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response | Promise<Response>,
): Origin {
  const connections = new Set<string>();
  const origin: Origin = {
    port: 0,
    address: "",
    connections,
    requests: 0,
    close: async () => {
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req, info) => {
    origin.requests++;
    connections.add(`${info.remoteAddr.hostname}:${info.remoteAddr.port}`);
    return handler(req, info);
  });
  const port = server.addr.port;
  Object.assign(origin, { port, address: `127.0.0.1:${port}` });
  return origin;
}

/** Sends raw bytes to 127.0.0.1:port and reads until the peer closes (or timeout); returns the text. */
export async function rawExchange(
  port: number,
  request: string | Uint8Array,
  timeoutMs = 3000,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = typeof request === "string" ? new TextEncoder().encode(request) : request;
  await conn.write(bytes);
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  let total = 0;
  for (const c of chunks) total += c.length;
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

/** Runs curl and returns status code, body and stderr. */
export async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A minimal proxy config: one HTTP listener "ingress" routing everything to one cluster. */
export function httpProxyConfig(opts: {
  /** Default `127.0.0.1:0`: the harness learns the bound port (`mesh.port("ingress")`). */
  listenAddress?: string;
  hosts: string[];
  routes?: unknown[];
  lbType?: string;
  cluster?: Record<string, unknown>;
  listener?: Record<string, unknown>;
  /** Merged into the proxy filter's config, e.g. `{ downstream_protocol: "Http2", upstream_protocol: "Http1" }`. */
  proxy?: Record<string, unknown>;
  extraClusters?: unknown[];
}): Record<string, unknown> {
  return {
    servers: [{
      default_log_level: "WARN",
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: opts.routes ?? [{ match: { prefix: "/" }, route: { cluster_name: "origin" } }],
        }],
      }],
      listeners: [{
        name: "ingress",
        address: opts.listenAddress ?? "127.0.0.1:0",
        bind_port: true,
        filter_chains: [{
          filters: [{
            type: "proxy",
            config: { downstream_protocol: "Http1", router_config_name: "r", ...(opts.proxy ?? {}) },
          }],
        }],
        ...(opts.listener ?? {}),
      }],
    }],
    cluster_manager: {
      clusters: [
        {
          name: "origin",
          type: "SIMPLE",
          lb_type: opts.lbType ?? "LB_ROUNDROBIN",
          hosts: opts.hosts.map((address) => ({ address })),
          ...(opts.cluster ?? {}),
        },
        ...(opts.extraClusters ?? []),
      ],
    },
  };
}

/** Reads a running instance's MOSN stats JSON (MOSN renders values as strings; these are numbers). */
export async function adminStats(
  adminPort: number,
): Promise<Record<string, Record<string, Record<string, number>>>> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/api/v1/stats`);
  const raw: Record<string, Record<string, Record<string, string>>> = await r.json();
  const out: Record<string, Record<string, Record<string, number>>> = {};
  for (const [type, scopes] of Object.entries(raw)) {
    out[type] = {};
    for (const [key, metrics] of Object.entries(scopes)) {
      out[type]![key] = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Number(v)]));
    }
  }
  return out;
}
