/**
 * Load generators' results for the drain and reload tests: wrk's and h2load's summaries parsed, and a bolt
 * client loop that honours GoAway (sofa-rpc-node's client ignores it).
 */
import { connectLocal, frameCmd, FrameReader, frameType, withId, writeAll } from "./_peers/bolt_raw.ts";

/** What wrk reported: its own summary lines, parsed. */
export interface WrkCounts {
  requests: number;
  non2xx: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
}

export function parseWrkCounts(out: string): WrkCounts {
  const req = /(\d+) requests in/.exec(out);
  if (req === null) throw new Error(`no wrk summary in:\n${out}`);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    requests: Number(req[1]),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    connect: se === null ? 0 : Number(se[1]),
    read: se === null ? 0 : Number(se[2]),
    write: se === null ? 0 : Number(se[3]),
    timeout: se === null ? 0 : Number(se[4]),
  };
}

/** h2load's summary line: `requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout`. */
export function parseH2load(out: string) {
  const m =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/
      .exec(out);
  if (m === null) throw new Error(`no h2load summary in:\n${out}`);
  const [total, started, done, succeeded, failed, errored, timeout] = m.slice(1).map(Number) as number[];
  const non2xx = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  return {
    total: total!,
    started: started!,
    done: done!,
    succeeded: succeeded!,
    failed: failed!,
    errored: errored!,
    timeout: timeout!,
    non2xx: non2xx === null ? 0 : Number(non2xx[2]) + Number(non2xx[3]) + Number(non2xx[4]),
  };
}

/** bolt GoAway: request type, command code 100. */
const BOLT_CMD_GOAWAY = 100;

export interface BoltLoadCounts {
  ok: number;
  /** Responses with a status other than SUCCESS. */
  bad: number;
  /** Requests outstanding when the connection closed or broke: sent, never answered. */
  lost: number;
  /** Connections that read a GoAway. */
  goAways: number;
  /** Connections opened (more than asked for when reconnecting after GoAways). */
  connections: number;
  /** Connects refused (nothing was sent on them). */
  refused: number;
}

/**
 * A bolt client that honours GoAway: `connections` connections, each keeping `inflight` requests
 * outstanding (a new one for each response) until it reads a GoAway; then it sends nothing more on that
 * connection, waits for what is outstanding, and closes it. Resolves when every connection is done.
 */
export async function boltLoad(
  port: number,
  template: Uint8Array,
  connections: number,
  inflight: number,
  onResponse: () => void,
  /** Checked after each response: true makes the client stop as after a GoAway (no more sends). */
  stop: () => boolean = () => false,
  /** After a GoAway (and its outstanding responses), open a new connection and go on, until `stop()`. */
  reconnect = false,
): Promise<BoltLoadCounts> {
  const counts: BoltLoadCounts = { ok: 0, bad: 0, lost: 0, goAways: 0, connections: 0, refused: 0 };
  /** One connection until it is told to go away (true) or stopped / broken (false). */
  const session = async (conn: Deno.TcpConn): Promise<boolean> => {
    const reader = new FrameReader(conn);
    let id = 1;
    let outstanding = 0;
    let done = false;
    let told = false;
    const send = async () => {
      outstanding++;
      await writeAll(conn, withId(template, id++));
    };
    try {
      for (let k = 0; k < inflight; k++) await send();
      while (!done || outstanding > 0) {
        const f = await reader.next(5_000);
        if (f === null || f === "timeout") break;
        if (frameType(f) !== 0 && frameCmd(f) === BOLT_CMD_GOAWAY) {
          done = told = true;
          counts.goAways++;
          continue;
        }
        outstanding--;
        if (frameCmd(f) === 2 && new DataView(f.buffer, f.byteOffset).getUint16(10) === 0) counts.ok++;
        else counts.bad++;
        onResponse();
        if (stop()) done = true;
        if (!done) await send();
      }
    } catch {
      // a write into a closed connection: what was outstanding is lost
    } finally {
      counts.lost += outstanding;
      conn.close();
    }
    return told && outstanding === 0;
  };
  const one = async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await connectLocal(port);
      } catch {
        counts.refused++;
        return;
      }
      counts.connections++;
      if (!(await session(conn)) || !reconnect || stop()) return;
    }
  };
  await Promise.all(Array.from({ length: connections }, one));
  return counts;
}
