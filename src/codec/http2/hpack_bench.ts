/**
 * HPACK micro-benchmarks, ours beside hpack.js, on a gRPC request and response header set:
 * `deno bench -A --v8-flags=… src/codec/http2/hpack_bench.ts` (hpack.js reads READABLE_STREAM).
 *
 * "cold" is a connection's first block (empty dynamic table, a fresh decoder/encoder each time);
 * "warm" is a later block, where everything that repeats is a one-octet index. The request's
 * x-request-id differs on every block (256 in turn), as it would: no cache can hide its decoding.
 */
import hpack from "hpack.js";
import { type HeaderSink, HpackBuffer, HpackDecoder, HpackEncoder } from "./hpack.ts";

type Field = [string, string];

const REQUEST: Field[] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", "/pkg.Service/Method"],
  [":authority", "backend.default.svc.cluster.local:8080"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ["grpc-timeout", "998m"],
  ["user-agent", "grpc-go/1.60.1"],
  ["grpc-accept-encoding", "gzip"],
  ["x-tenant", "acme"],
  ["x-env", "prod"],
  ["x-request-id", "2f1d0c6e-6a57-4f1e-9d7b-3c2a1b0e9f8d"],
];

const RESPONSE: Field[] = [
  [":status", "200"],
  ["content-type", "application/grpc"],
  ["grpc-encoding", "identity"],
  ["grpc-accept-encoding", "identity,deflate,gzip"],
  ["server", "envoy"],
  ["x-envoy-upstream-service-time", "3"],
];

/** Counts fields, as a codec filling its header map would touch each one. */
class CountingSink implements HeaderSink {
  n = 0;
  chars = 0;
  header(name: string, value: string): void {
    this.n++;
    this.chars += name.length + value.length;
  }
}
const sink = new CountingSink();

interface JsHeader {
  name: string;
  value: string;
}
interface Compressor {
  write(h: JsHeader[]): void;
  read(): Uint8Array | null;
}
interface Decompressor {
  write(b: Uint8Array): void;
  execute(): void;
  read(): JsHeader | null;
}
const jsCompressor = (): Compressor => hpack.compressor.create({ table: { maxSize: 4096 } });
const jsDecompressor = (): Decompressor => hpack.decompressor.create({ table: { maxSize: 4096 } });
const jsFields = (fields: Field[]): JsHeader[] => fields.map(([name, value]) => ({ name, value }));

function jsEncode(c: Compressor, h: JsHeader[]): number {
  c.write(h);
  let n = 0;
  for (let b = c.read(); b !== null; b = c.read()) n += b.length;
  return n;
}

function jsDecode(d: Decompressor, block: Uint8Array): number {
  d.write(block);
  d.execute();
  let n = 0;
  while (d.read() !== null) n++;
  return n;
}

const RUN = 256;
/** The header set with its i-th request id (the response has none). */
function variant(fields: Field[], i: number): Field[] {
  return fields.map((
    [n, v],
  ): Field => [n, n === "x-request-id" ? `${v.slice(0, -8)}${(0x10000000 + i * 7919).toString(16)}` : v]);
}

for (const [what, base] of [["request", REQUEST], ["response", RESPONSE]] as const) {
  const lists = Array.from({ length: RUN }, (_, i) => variant(base as Field[], i));
  const fields = lists[0]!;
  // Blocks 1 and 2 of a connection, then RUN steady-state blocks.
  const enc = new HpackEncoder();
  const cold = enc.encode(fields, new HpackBuffer()).slice();
  const second = enc.encode(lists[1]!, new HpackBuffer()).slice();
  const warm = lists.map((l) => enc.encode(l, new HpackBuffer()).slice());
  const warmDecoder = new HpackDecoder();
  for (const b of [cold, second]) warmDecoder.decode(b, 0, b.length, sink);
  const tableBefore = warmDecoder.table.insertCount;
  for (const b of warm) warmDecoder.decode(b, 0, b.length, sink);
  if (warmDecoder.table.insertCount !== tableBefore) throw new Error("Cannot bench: the warm blocks index");
  const jsWarmDecoder = jsDecompressor();
  for (const b of [cold, second]) jsDecode(jsWarmDecoder, b);
  console.log(`${what}: ${fields.length} fields, cold block ${cold.length} octets, warm ${warm[0]!.length}`);
  let k = 0;

  Deno.bench({ name: `ours: decode ${what}, cold`, group: `decode ${what} cold`, baseline: true }, () => {
    new HpackDecoder().decode(cold, 0, cold.length, sink);
  });
  Deno.bench({ name: `hpack.js: decode ${what}, cold`, group: `decode ${what} cold` }, () => {
    jsDecode(jsDecompressor(), cold);
  });
  Deno.bench({ name: `ours: decode ${what}, warm`, group: `decode ${what} warm`, baseline: true }, () => {
    const b = warm[k++ & (RUN - 1)]!;
    warmDecoder.decode(b, 0, b.length, sink);
  });
  Deno.bench({ name: `hpack.js: decode ${what}, warm`, group: `decode ${what} warm` }, () => {
    jsDecode(jsWarmDecoder, warm[k++ & (RUN - 1)]!);
  });

  const out = new HpackBuffer();
  Deno.bench({ name: `ours: encode ${what}, cold`, group: `encode ${what} cold`, baseline: true }, () => {
    out.clear();
    new HpackEncoder().encode(fields, out);
  });
  const js = jsFields(fields);
  Deno.bench({ name: `hpack.js: encode ${what}, cold`, group: `encode ${what} cold` }, () => {
    jsEncode(jsCompressor(), js);
  });
  const warmEncoder = new HpackEncoder();
  for (let i = 0; i < 2; i++) warmEncoder.encode(lists[i]!, new HpackBuffer());
  Deno.bench({ name: `ours: encode ${what}, warm`, group: `encode ${what} warm`, baseline: true }, () => {
    out.clear();
    warmEncoder.encode(lists[k++ & (RUN - 1)]!, out);
  });
  const jsLists = lists.map(jsFields);
  const jsWarmEncoder = jsCompressor();
  for (let i = 0; i < 2; i++) jsEncode(jsWarmEncoder, jsLists[i]!);
  Deno.bench({ name: `hpack.js: encode ${what}, warm`, group: `encode ${what} warm` }, () => {
    jsEncode(jsWarmEncoder, jsLists[k++ & (RUN - 1)]!);
  });
}
