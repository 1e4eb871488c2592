/**
 * A tiny authoritative DNS server for tests: UDP on 127.0.0.1, port 0, answering A and AAAA queries
 * from a table the test changes while it runs, and counting the queries it gets.
 *
 * UDP through `node:dgram`: `Deno.listenDatagram` needs `--unstable-net` on Deno 2.9.6, node:dgram
 * needs nothing beyond `--allow-net`. `Deno.resolveDns` asks over UDP and falls back to TCP only for
 * truncated answers, which these small answers never are, so there is no TCP side.
 */
import dgram from "node:dgram";

export type DnsRecordType = "A" | "AAAA";

export interface DnsRecords {
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
}

/** How the server treats queries: answer from the table, fail them (SERVFAIL), or never reply. */
export type DnsServerMode = "answer" | "servfail" | "drop";

export interface DnsServer {
  /** The server's IP address, for `dns_resolvers.servers`. */
  readonly hostname: string;
  readonly port: number;
  /** Queries received, however they were treated. */
  readonly queries: number;
  mode: DnsServerMode;
  /** Sets what `name` answers (replacing what it answered before). Names match case-insensitively. */
  set(name: string, records: DnsRecords): void;
  /** Forgets `name`: queries for it get NXDOMAIN. */
  remove(name: string): void;
  /** Queries received for `name` (of `type`, or of any type). */
  queriesFor(name: string, type?: DnsRecordType): number;
  stop(): Promise<void>;
}

const TYPES: Record<number, DnsRecordType> = { 1: "A", 28: "AAAA" };
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

/**
 * Starts a server answering from `records` (name → addresses). Options: `ttl` of every answer (default
 * 0), the loopback `hostname` (default 127.0.0.1) and `port` (default 0) to bind.
 */
export async function startDnsServer(
  records: Record<string, DnsRecords> = {},
  options: { ttl?: number; hostname?: string; port?: number } = {},
): Promise<DnsServer> {
  const table = new Map<string, DnsRecords>();
  for (const [name, r] of Object.entries(records)) table.set(canonical(name), r);
  const seen = new Map<string, number>();
  const ttl = options.ttl ?? 0;
  let queries = 0;
  const socket = dgram.createSocket("udp4");
  const server: DnsServer = {
    hostname: options.hostname ?? "127.0.0.1",
    port: 0,
    get queries() {
      return queries;
    },
    mode: "answer",
    set: (name, r) => void table.set(canonical(name), r),
    remove: (name) => void table.delete(canonical(name)),
    queriesFor(name, type) {
      const n = canonical(name);
      if (type !== undefined) return seen.get(`${n} ${type}`) ?? 0;
      return (seen.get(`${n} A`) ?? 0) + (seen.get(`${n} AAAA`) ?? 0);
    },
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (msg: Uint8Array, from: { address: string; port: number }) => {
    const query = parseQuery(msg);
    if (query === undefined) return; // not a query we understand: say nothing, as for garbage
    queries++;
    const type = TYPES[query.qtype];
    if (type !== undefined) {
      const key = `${canonical(query.name)} ${type}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    if (server.mode === "drop") return;
    let reply: Uint8Array;
    if (server.mode === "servfail") reply = response(msg, query, RCODE_SERVFAIL, [], ttl);
    else if (type === undefined) reply = response(msg, query, RCODE_NOTIMP, [], ttl);
    else {
      const r = table.get(canonical(query.name));
      reply = r === undefined
        ? response(msg, query, RCODE_NXDOMAIN, [], ttl)
        : response(msg, query, 0, (r[type] ?? []).map((a) => encodeAddress(a, type)), ttl);
    }
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject); // e.g. EADDRINUSE for a fixed port
    socket.bind(options.port ?? 0, server.hostname, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  Object.assign(server, { port: socket.address().port });
  return server;
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

interface Query {
  readonly name: string;
  readonly qtype: number;
  /** Where the question section ends (the reply copies header and question). */
  readonly end: number;
}

/** The first question of a standard query, or undefined for anything else. */
function parseQuery(msg: Uint8Array): Query | undefined {
  if (msg.length < 12) return undefined;
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const flags = view.getUint16(2);
  if ((flags & 0x8000) !== 0 || ((flags >> 11) & 0xf) !== 0 || view.getUint16(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    off++;
    if (len === 0) break;
    if (len > 63 || off + len > msg.length) return undefined; // queries carry no compression pointers
    labels.push(new TextDecoder().decode(msg.subarray(off, off + len)));
    off += len;
  }
  if (off + 4 > msg.length) return undefined;
  return { name: labels.join("."), qtype: view.getUint16(off), end: off + 4 };
}

/** The reply: the query's id and question, `rcode`, and one answer per rdata (a pointer to the name). */
function response(msg: Uint8Array, q: Query, rcode: number, rdatas: Uint8Array[], ttl: number): Uint8Array {
  const answers = rdatas.reduce((n, r) => n + 12 + r.length, 0);
  const out = new Uint8Array(q.end + answers);
  const view = new DataView(out.buffer);
  out.set(msg.subarray(0, q.end));
  const rd = new DataView(msg.buffer, msg.byteOffset).getUint16(2) & 0x0100;
  view.setUint16(2, 0x8000 | 0x0400 | rd | 0x0080 | rcode); // QR, AA, RD as asked, RA
  view.setUint16(4, 1);
  view.setUint16(6, rdatas.length);
  view.setUint16(8, 0);
  view.setUint16(10, 0); // the client's EDNS record is not echoed
  let off = q.end;
  for (const r of rdatas) {
    view.setUint16(off, 0xc00c); // the name: a pointer to the question's
    view.setUint16(off + 2, q.qtype);
    view.setUint16(off + 4, 1); // IN
    view.setUint32(off + 6, ttl);
    view.setUint16(off + 10, r.length);
    out.set(r, off + 12);
    off += 12 + r.length;
  }
  return out;
}

function encodeAddress(address: string, type: DnsRecordType): Uint8Array {
  if (type === "A") {
    const parts = address.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
      throw new RangeError(`Cannot encode "${address}" as an A record`);
    }
    return new Uint8Array(parts);
  }
  const [head = "", tail] = address.split("::");
  const groups = (s: string | undefined) => s === undefined || s === "" ? [] : s.split(":");
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) {
    throw new RangeError(`Cannot encode "${address}" as an AAAA record`);
  }
  const out = new Uint8Array(16);
  all.forEach((g, i) => new DataView(out.buffer).setUint16(i * 2, parseInt(g, 16)));
  return out;
}
