/**
 * Bolt v1 load generator for the bench. Plain Deno, no meshctl imports.
 *
 * Open loop (default): a fixed request rate spread round-robin over N connections; request k is due at
 * t0 + k/rate and its latency is measured from that INTENDED send time, so a proxy that stalls cannot
 * hide the queueing it causes (no coordinated omission).
 *
 * Closed loop (`--mode closed`): every connection keeps `--inflight` requests outstanding and sends a
 * new one for each response; reports the throughput reached (for max-throughput comparisons).
 *
 * Each connection numbers its requests 1, 2, 3…; the frame sent is the captured SofaRequest with the id
 * patched. Prints one JSON object (see `LoadResult`) on stdout.
 *
 *   deno run --allow-net bench/bolt_load.ts --target 127.0.0.1:12200 --rate 2000 --connections 200 \
 *     --duration 10 --warmup 2
 */
import { parseArgs } from "node:util";
import { setImmediate } from "node:timers";
import { BOLT_REQUEST, FrameBuffer, patchId, readU16, readU32, writeAll } from "./_bolt_frames.ts";

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  mode: "open" | "closed";
  target: string;
  connections: number;
  /** Requested rate (open loop) or null. */
  rate: number | null;
  inflight: number | null;
  warmupS: number;
  durationS: number;
  /** Requests due (open) or sent (closed) inside the measured window. */
  sent: number;
  /** Responses received for requests of the measured window. */
  received: number;
  /** Responses with a non-zero bolt status. */
  errors: number;
  /** Measured-window requests still unanswered after the grace period. */
  lost: number;
  /** Responses over the whole run, warm-up included (for CPU per request). */
  totalReceived: number;
  achievedRps: number;
  /** Latency in µs: from intended send time (open) or actual send time (closed) to response. */
  latencyUs: LatencySummary | null;
  /** How late the generator itself sent (µs), open loop only. */
  sendLagUs: LatencySummary | null;
  error?: string;
}

function summarize(samples: number[]): LatencySummary | null {
  if (samples.length === 0) return null;
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  let sum = 0;
  for (const v of s) sum += v;
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    p50: r(at(0.5)),
    p90: r(at(0.9)),
    p99: r(at(0.99)),
    p999: r(at(0.999)),
    max: r(s[s.length - 1]!),
    mean: r(sum / s.length),
  };
}

/** One client connection: serialized writes, per-id bookkeeping of outstanding requests. */
class Client {
  readonly conn: Deno.TcpConn;
  nextId = 0;
  /** id → [start time (ms), counts toward the measured window]. */
  readonly pending = new Map<number, [number, boolean]>();
  #queue: Uint8Array[] = [];
  #writing = false;
  closed = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    conn.setNoDelay(true);
  }

  /** A fresh request frame with the next id; records `start` for it. */
  frame(start: number, measured: boolean, into?: Uint8Array, at = 0): Uint8Array {
    const id = ++this.nextId;
    const f = into ?? new Uint8Array(BOLT_REQUEST.length);
    f.set(BOLT_REQUEST, at);
    patchId(f, at, id);
    this.pending.set(id, [start, measured]);
    return f;
  }

  send(data: Uint8Array): void {
    if (this.closed) return;
    this.#queue.push(data);
    if (!this.#writing) this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.length === 1 ? this.#queue[0]! : concat(this.#queue);
        this.#queue = [];
        await writeAll(this.conn, batch);
      }
    } catch {
      this.closed = true;
    } finally {
      this.#writing = false;
    }
  }

  close(): void {
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Options {
  target: { hostname: string; port: number };
  targetText: string;
  mode: "open" | "closed";
  rate: number;
  connections: number;
  inflight: number;
  warmupS: number;
  durationS: number;
  graceS: number;
}

export async function runLoad(o: Options): Promise<LoadResult> {
  const result: LoadResult = {
    mode: o.mode,
    target: o.targetText,
    connections: o.connections,
    rate: o.mode === "open" ? o.rate : null,
    inflight: o.mode === "closed" ? o.inflight : null,
    warmupS: o.warmupS,
    durationS: o.durationS,
    sent: 0,
    received: 0,
    errors: 0,
    lost: 0,
    totalReceived: 0,
    achievedRps: 0,
    latencyUs: null,
    sendLagUs: null,
  };
  const clients: Client[] = [];
  try {
    const conns = await Promise.all(
      Array.from({ length: o.connections }, () => Deno.connect({ ...o.target, transport: "tcp" })),
    );
    for (const c of conns) clients.push(new Client(c));
  } catch (e) {
    for (const c of clients) c.close();
    result.error = `connect: ${(e as Error).message}`;
    return result;
  }

  const latencies: number[] = [];
  const lags: number[] = [];
  let measureFrom = Infinity;
  let measureTo = Infinity;
  let receivedInWindow = 0; // closed loop: responses that arrived inside the window
  let sending = true;

  const onResponse = (client: Client, buf: Uint8Array, off: number, now: number): boolean => {
    const id = readU32(buf, off + 5);
    const entry = client.pending.get(id);
    if (entry === undefined) return false;
    client.pending.delete(id);
    result.totalReceived++;
    if (readU16(buf, off + 10) !== 0) result.errors += entry[1] ? 1 : 0;
    if (entry[1]) {
      result.received++;
      latencies.push((now - entry[0]) * 1000);
    }
    if (now >= measureFrom && now < measureTo) receivedInWindow++;
    return true;
  };

  const readers = clients.map(async (client) => {
    const rx = new FrameBuffer();
    try {
      for (;;) {
        const n = await client.conn.read(rx.space());
        if (n === null) break;
        rx.commit(n);
        const now = performance.now();
        let answered = 0;
        rx.frames((buf, off) => {
          if (onResponse(client, buf, off, now)) answered++;
        });
        if (o.mode === "closed" && sending && answered > 0) {
          const batch = new Uint8Array(answered * BOLT_REQUEST.length);
          const t = performance.now();
          const measured = t >= measureFrom && t < measureTo;
          for (let i = 0; i < answered; i++) client.frame(t, measured, batch, i * BOLT_REQUEST.length);
          if (measured) result.sent += answered;
          client.send(batch);
        }
      }
    } catch { /* reset */ }
    client.closed = true;
  });

  const t0 = performance.now() + 20;
  measureFrom = t0 + o.warmupS * 1000;
  measureTo = measureFrom + o.durationS * 1000;

  if (o.mode === "open") {
    const interval = 1000 / o.rate;
    const total = Math.floor(o.rate * (o.warmupS + o.durationS));
    let n = 0;
    while (n < total) {
      const now = performance.now();
      while (n < total) {
        const due = t0 + n * interval;
        if (due > now) break;
        const client = clients[n % clients.length]!;
        const measured = due >= measureFrom;
        if (measured) {
          result.sent++;
          lags.push((now - due) * 1000);
        }
        client.send(client.frame(due, measured));
        n++;
      }
      const wait = t0 + n * interval - performance.now();
      if (wait > 2) await sleep(wait - 1);
      else await yieldToLoop();
    }
  } else {
    while (performance.now() < t0) await yieldToLoop();
    for (const client of clients) {
      const batch = new Uint8Array(o.inflight * BOLT_REQUEST.length);
      for (let i = 0; i < o.inflight; i++) client.frame(t0, false, batch, i * BOLT_REQUEST.length);
      client.send(batch);
    }
    const end = measureTo;
    while (performance.now() < end) await sleep(Math.min(50, Math.max(1, end - performance.now())));
    sending = false;
  }

  // Grace period for the answers still in flight.
  const graceEnd = performance.now() + o.graceS * 1000;
  const outstanding = () => {
    let k = 0;
    for (const c of clients) for (const [, m] of c.pending) if (m[1]) k++;
    return k;
  };
  while (performance.now() < graceEnd && outstanding() > 0) await sleep(10);
  result.lost = outstanding();
  for (const c of clients) c.close();
  await Promise.race([Promise.all(readers), sleep(1000)]);

  result.achievedRps = o.mode === "open"
    ? Math.round(result.received / o.durationS)
    : Math.round(receivedInWindow / o.durationS);
  result.latencyUs = summarize(latencies);
  result.sendLagUs = o.mode === "open" ? summarize(lags) : null;
  return result;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      target: { type: "string" },
      mode: { type: "string", default: "open" },
      rate: { type: "string", default: "2000" },
      connections: { type: "string", default: "200" },
      inflight: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
      duration: { type: "string", default: "10" },
      grace: { type: "string", default: "2" },
    },
  });
  const m = /^(.+):(\d+)$/.exec(values.target ?? "");
  if (!m || (values.mode !== "open" && values.mode !== "closed")) {
    console.error(
      "usage: bolt_load.ts --target host:port [--mode open|closed] [--rate 2000] [--connections 200]\n" +
        "                    [--inflight 8] [--warmup 2] [--duration 10] [--grace 2]",
    );
    Deno.exit(2);
  }
  const result = await runLoad({
    target: { hostname: m[1]!, port: Number(m[2]) },
    targetText: values.target!,
    mode: values.mode,
    rate: Number(values.rate),
    connections: Number(values.connections),
    inflight: Number(values.inflight),
    warmupS: Number(values.warmup),
    durationS: Number(values.duration),
    graceS: Number(values.grace),
  });
  console.log(JSON.stringify(result));
  Deno.exit(result.error === undefined ? 0 : 1);
}
