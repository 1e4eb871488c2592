/**
 * The RPC load engine of the bench (dubbo_load.ts drives it; any multiplexed request/response protocol
 * with per-connection request ids fits). Plain Deno, no meshctl imports.
 *
 * Open loop: a fixed request rate spread round-robin over N connections; request k is due at t0 + k/rate
 * and its latency is measured from that INTENDED send time, so a proxy that stalls cannot hide the
 * queueing it causes (no coordinated omission).
 *
 * Closed loop: every connection keeps `inflight` requests outstanding and sends a new one for each
 * response; reports the throughput reached (for max-throughput comparisons).
 *
 * Each connection numbers its requests 1, 2, 3…; the frame sent is the protocol's request template with
 * the id patched. The result has bolt_load.ts's `LoadResult` shape, so run.ts reports both alike.
 */
import { setImmediate } from "node:timers";

/** What the engine needs to know about a wire format. */
export interface RpcWire {
  /** The request sent (copied, id patched). */
  readonly request: Uint8Array;
  /** Writes request id `id` into the frame at `off`. */
  patchId(frame: Uint8Array, off: number, id: number): void;
  /** Length of the complete frame at `off` (0 = need more bytes); throws on garbage. */
  frameLength(b: Uint8Array, off: number, end: number): number;
  /** The request id of the response at `off`. */
  responseId(b: Uint8Array, off: number): number;
  /** The protocol status of the response at `off`. */
  responseStatus(b: Uint8Array, off: number): number;
  /** The status of a success. */
  readonly okStatus: number;
}

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
  /** Responses that are not a success. */
  errors: number;
  /** Those errors by protocol status. */
  errorStatuses: Record<string, number>;
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

export interface LoadOptions {
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

/** A growable receive buffer that hands out complete frames. */
class FrameBuffer {
  readonly #frameLength: RpcWire["frameLength"];
  #buf = new Uint8Array(256 * 1024);
  #start = 0;
  #end = 0;

  constructor(frameLength: RpcWire["frameLength"]) {
    this.#frameLength = frameLength;
  }

  /** The region to read into (compacts/grows first so at least 64 KiB is free). */
  space(): Uint8Array {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#buf.length - this.#end < 65536) {
      const used = this.#end - this.#start;
      const next = used + 65536 > this.#buf.length ? new Uint8Array((used + 65536) * 2) : this.#buf;
      next.copyWithin(0, this.#start, this.#end);
      if (next !== this.#buf) next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = used;
    }
    return this.#buf.subarray(this.#end);
  }

  commit(n: number): void {
    this.#end += n;
  }

  /** Calls `onFrame(buf, offset)` for each complete frame and consumes them. */
  frames(onFrame: (buf: Uint8Array, off: number) => void): void {
    for (;;) {
      const len = this.#frameLength(this.#buf, this.#start, this.#end);
      if (len === 0) return;
      onFrame(this.#buf, this.#start);
      this.#start += len;
    }
  }
}

/** One client connection: serialized writes, per-id bookkeeping of outstanding requests. */
class Client {
  readonly conn: Deno.TcpConn;
  readonly #wire: RpcWire;
  nextId = 0;
  /** id → [start time (ms), counts toward the measured window]. */
  readonly pending = new Map<number, [number, boolean]>();
  #queue: Uint8Array[] = [];
  #writing = false;
  closed = false;

  constructor(conn: Deno.TcpConn, wire: RpcWire) {
    this.conn = conn;
    this.#wire = wire;
    conn.setNoDelay(true);
  }

  /** A fresh request frame with the next id (into `into` at `at`, or a new buffer); records `start`. */
  frame(start: number, measured: boolean, into?: Uint8Array, at = 0): Uint8Array {
    const id = ++this.nextId;
    const f = into ?? new Uint8Array(this.#wire.request.length);
    f.set(this.#wire.request, at);
    this.#wire.patchId(f, at, id);
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
        let off = 0;
        while (off < batch.length) off += await this.conn.write(batch.subarray(off));
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

export async function runLoad(wire: RpcWire, o: LoadOptions): Promise<LoadResult> {
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
    errorStatuses: {},
    lost: 0,
    totalReceived: 0,
    achievedRps: 0,
    latencyUs: null,
    sendLagUs: null,
  };
  const size = wire.request.length;
  const clients: Client[] = [];
  try {
    const conns = await Promise.all(
      Array.from({ length: o.connections }, () => Deno.connect({ ...o.target, transport: "tcp" })),
    );
    for (const c of conns) clients.push(new Client(c, wire));
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
    const entry = client.pending.get(wire.responseId(buf, off));
    if (entry === undefined) return false;
    client.pending.delete(wire.responseId(buf, off));
    result.totalReceived++;
    const status = wire.responseStatus(buf, off);
    if (status !== wire.okStatus && entry[1]) {
      result.errors++;
      result.errorStatuses[status] = (result.errorStatuses[status] ?? 0) + 1;
    }
    if (entry[1]) {
      result.received++;
      latencies.push((now - entry[0]) * 1000);
    }
    if (now >= measureFrom && now < measureTo) receivedInWindow++;
    return true;
  };

  const readers = clients.map(async (client) => {
    const rx = new FrameBuffer(wire.frameLength);
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
          const batch = new Uint8Array(answered * size);
          const t = performance.now();
          const measured = t >= measureFrom && t < measureTo;
          for (let i = 0; i < answered; i++) client.frame(t, measured, batch, i * size);
          if (measured) result.sent += answered;
          client.send(batch);
        }
      }
    } catch { /* reset, or garbage from the peer */ }
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
      const batch = new Uint8Array(o.inflight * size);
      for (let i = 0; i < o.inflight; i++) client.frame(t0, false, batch, i * size);
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

/** The command line every load generator over this engine takes; exits 2 with `usage` on bad input. */
export function parseLoadArgs(args: string[], usage: string): LoadOptions {
  const get = (name: string, dflt?: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const target = get("target") ?? "";
  const mode = get("mode", "open");
  const m = /^(.+):(\d+)$/.exec(target);
  const nums = ["rate", "connections", "inflight", "warmup", "duration", "grace"].map((k, i) =>
    Number(get(k, ["2000", "200", "8", "2", "10", "2"][i]))
  );
  if (!m || (mode !== "open" && mode !== "closed") || nums.some((n) => !Number.isFinite(n) || n < 0)) {
    console.error(usage);
    Deno.exit(2);
  }
  const [rate, connections, inflight, warmupS, durationS, graceS] = nums as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    target: { hostname: m[1]!, port: Number(m[2]) },
    targetText: target,
    mode,
    rate,
    connections,
    inflight,
    warmupS,
    durationS,
    graceS,
  };
}
