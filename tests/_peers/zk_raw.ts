/**
 * Test-side ZooKeeper tools: an independent `node-zookeeper-client` session (the "other application" that
 * reads what meshctl writes and writes providers meshctl must see), and a pausable TCP forwarder to cut a
 * client off from the server (disconnect, or a partition longer than the session timeout = expiry).
 */
// @ts-types="@types/node-zookeeper-client"
import * as zookeeper from "node-zookeeper-client";
import { Buffer } from "node:buffer";

export { zookeeper };

export interface RawZk {
  readonly zk: zookeeper.Client;
  children(path: string): Promise<string[]>;
  /** Data and ephemeral owner (hex); undefined when the node does not exist. */
  node(path: string): Promise<{ data: string; owner: string } | undefined>;
  /** Resolves when `path` exists (true) or does not (false), watching for the change. */
  waitExists(path: string, exists: boolean, timeoutMs?: number): Promise<void>;
  create(path: string, data?: string, mode?: number): Promise<void>;
  remove(path: string): Promise<void>;
  mkdirp(path: string): Promise<void>;
  sessionId(): string;
  close(): Promise<void>;
}

function call<T>(op: (cb: (err: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((err, result) => err ? reject(err) : resolve(result)));
}

export async function connectRaw(address: string, sessionTimeoutMs = 4_000): Promise<RawZk> {
  const zk = zookeeper.createClient(address, { sessionTimeout: sessionTimeoutMs, spinDelay: 100 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`raw client: no session with ${address} in 10 s`)),
      10_000,
    );
    zk.once("connected", () => {
      clearTimeout(timer);
      resolve();
    });
    zk.connect();
  });
  const raw: RawZk = {
    zk,
    children: (path) => call<string[]>((cb) => zk.getChildren(path, cb)),
    async node(path) {
      try {
        const [data, stat] = await new Promise<[Buffer, zookeeper.Stat]>((resolve, reject) =>
          zk.getData(path, (err, data, stat) => err ? reject(err) : resolve([data, stat]))
        );
        return { data: data?.toString() ?? "", owner: Buffer.from(stat.ephemeralOwner).toString("hex") };
      } catch (e) {
        if ((e as { code?: number }).code === zookeeper.Exception.NO_NODE) return undefined;
        throw e;
      }
    },
    waitExists(path, exists, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${path} still ${exists ? "absent" : "present"} after ${timeoutMs} ms`)),
          timeoutMs,
        );
        const check = () => {
          zk.exists(path, () => check(), (err, stat) => {
            if (err) {
              clearTimeout(timer);
              reject(err);
            } else if (Boolean(stat) === exists) {
              clearTimeout(timer);
              resolve();
            }
          });
        };
        check();
      });
    },
    create: (path, data = "", mode = zookeeper.CreateMode.EPHEMERAL) =>
      call<string>((cb) => zk.create(path, Buffer.from(data), mode, cb)).then(() => {}),
    remove: (path) => call<void>((cb) => zk.remove(path, -1, cb)),
    mkdirp: (path) => call<string>((cb) => zk.mkdirp(path, cb)).then(() => {}),
    sessionId: () => zk.getSessionId().toString("hex"),
    close() {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        zk.once("disconnected", () => {
          clearTimeout(timer);
          resolve();
        });
        zk.close();
      });
    },
  };
  return raw;
}

/** A TCP forwarder 127.0.0.1:port → target; `pause()` drops every connection and refuses new ones. */
export interface PausableProxy {
  readonly address: string;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export function startPausableProxy(targetPort: number): PausableProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let paused = false;
  const closeAll = () => {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
    conns.clear();
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable, { preventClose: false });
    } catch { /* either side closed */ }
    for (const c of [from, to]) {
      if (conns.delete(c)) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      if (paused) {
        conn.close();
        continue;
      }
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      } catch {
        conn.close();
        continue;
      }
      conns.add(conn);
      conns.add(upstream);
      void pipe(conn, upstream);
      void pipe(upstream, conn);
    }
  })().catch(() => {});
  return {
    address: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    pause() {
      paused = true;
      closeAll();
    },
    resume() {
      paused = false;
    },
    async stop() {
      paused = true;
      listener.close();
      closeAll();
      await accepting;
    },
  };
}
