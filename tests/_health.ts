/**
 * Shared by the health e2e tests (tests/health_outlier_test.ts with one worker, tests/health_workers_test.ts
 * with `--concurrency 2`): an HTTP upstream that can die, come back or answer 503, and that records every
 * health probe it gets; client helpers that keep a steady sequential load.
 */
import type { Events } from "./_events.ts";

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** "503": every request but /health answers 503. */
  mode: "ok" | "503";
  /** `performance.now()` of each /health request received (active health checks). */
  readonly probes: number[];
  /** `performance.now()` of each other request received. */
  readonly requests: number[];
  kill(): Promise<void>;
  restart(): void;
}

/**
 * An HTTP upstream answering its name (or 503), /health always 200 (each probe notifies `events`); kill()
 * closes it, restart() reopens the port.
 */
export function upstream(name: string, hostname: string, events?: Events): Upstream {
  let server: Deno.HttpServer<Deno.NetAddr>;
  let ac: AbortController;
  const up: Upstream = {
    name,
    port: 0,
    address: "",
    mode: "ok",
    probes: [],
    requests: [],
    kill: async () => {
      ac.abort();
      await server.finished;
    },
    restart: () => start(up.port),
  };
  const start = (port: number) => {
    ac = new AbortController();
    server = Deno.serve({ hostname, port, signal: ac.signal, onListen: () => {} }, (req) => {
      if (new URL(req.url).pathname === "/health") {
        up.probes.push(performance.now());
        events?.notify();
        return new Response("ok");
      }
      up.requests.push(performance.now());
      return up.mode === "503" ? new Response("unavailable", { status: 503 }) : new Response(name);
    });
  };
  start(0);
  Object.assign(up, { port: server!.addr.port, address: `${hostname}:${server!.addr.port}` });
  return up;
}

/** One request through meshctl on a kept-alive connection: the upstream's name, or the error status. */
export async function get(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/work`);
  const body = await r.text();
  return r.status === 200 ? body : `status ${r.status}`;
}

/**
 * One request on a fresh connection (`Connection: close`), so with `--concurrency N` the kernel picks a
 * worker for each: the upstream's name, or the error status.
 */
export async function getFresh(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode("GET /work HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"));
    let text = "";
    const buf = new Uint8Array(4096);
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    return status === 200 ? body : `status ${status}`;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the peer
    }
  }
}

/**
 * Sends requests one after the other until `done(result)` holds, at most `max` requests (a small pause
 * between requests keeps the load steady without hogging the shared CPU). Returns every result.
 */
export async function loadUntil(
  port: number,
  done: (r: string[]) => boolean,
  max: number,
  send: (port: number) => Promise<string> = get,
): Promise<string[]> {
  const seen: string[] = [];
  while (seen.length < max) {
    seen.push(await send(port));
    if (done(seen)) return seen;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`condition not reached in ${max} requests; last 20: ${seen.slice(-20).join(", ")}`);
}

export const last = (r: string[], n: number): string[] => r.slice(-n);
