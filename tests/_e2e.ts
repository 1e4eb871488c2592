/**
 * End-to-end harness: spawns the real meshctl (`deno run` with exactly the binary's permission flags),
 * origin servers on 127.0.0.1, and raw-socket clients. Everything started here is stopped by its owner.
 */
import { stringify } from "yaml";
import { ROOT, RUN_FLAGS } from "./_util.ts";

export { ROOT, RUN_FLAGS } from "./_util.ts";
export { runMeshctl as runCli } from "./_util.ts";
export const MAIN = `${ROOT}main.ts`;

/** A free TCP port on 127.0.0.1 (bound and released; fine for tests). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface Meshctl {
  readonly adminPort: number;
  readonly configPath: string;
  /** Everything meshctl wrote to stderr so far. */
  logs(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  readonly process: Deno.ChildProcess;
}

/**
 * Starts `meshctl serve` on a config (object → YAML file, or a path) and waits until the admin
 * server says ready. The admin address is set to a free port unless the config names one.
 */
export async function startMeshctl(
  config: Record<string, unknown> | string,
  opts: { env?: Record<string, string>; args?: string[]; adminPort?: number } = {},
): Promise<Meshctl> {
  let configPath: string;
  let adminPort: number;
  if (typeof config === "string") {
    configPath = config;
    adminPort = opts.adminPort ?? 34901;
  } else {
    adminPort = freePort();
    const withAdmin = {
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } },
      ...config,
    };
    configPath = await Deno.makeTempFile({ prefix: "meshctl-e2e-", suffix: ".yaml" });
    await Deno.writeTextFile(configPath, stringify(withAdmin));
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, MAIN, "serve", ...(opts.args ?? []), configPath],
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
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await pumps;
      throw new Error(`meshctl exited before becoming ready:\n${logs}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${adminPort}/ready`);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await status;
      await pumps;
      throw new Error(`meshctl did not become ready in 15s:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    adminPort,
    configPath,
    process: child,
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
      if (typeof config !== "string") await Deno.remove(configPath).catch(() => {});
      return s.code;
    },
  };
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

/** A minimal proxy config: one HTTP listener routing everything to one cluster. */
export function httpProxyConfig(opts: {
  listenPort: number;
  hosts: string[];
  routes?: unknown[];
  lbType?: string;
  cluster?: Record<string, unknown>;
  listener?: Record<string, unknown>;
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
        address: `127.0.0.1:${opts.listenPort}`,
        bind_port: true,
        filter_chains: [{
          filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }],
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
