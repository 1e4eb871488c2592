/**
 * Differential tests against hpack.js (an independent HPACK implementation, test-only dependency):
 * random header lists over one long-lived connection each way, so the dynamic tables must stay in sync
 * across hundreds of blocks with insertions, evictions and size updates.
 */
import hpack from "hpack.js";
import { assertEquals } from "../../../tests/_assert.ts";
import { HpackBuffer, HpackDecoder, HpackEncoder, type Indexing } from "./hpack.ts";

type Field = [string, string];

interface HpackJsHeader {
  name: string;
  value: string;
  huffman?: boolean;
  neverIndex?: boolean;
  incremental?: boolean;
}
interface HpackJsTable {
  dynamic: { name: string; value: string }[];
}
interface Compressor {
  write(headers: HpackJsHeader[]): void;
  read(): Uint8Array | null;
  _table: HpackJsTable;
}
interface Decompressor {
  write(b: Uint8Array): void;
  execute(): void;
  read(): { name: string; value: string } | null;
  _table: HpackJsTable;
}

function compressor(maxSize: number): Compressor {
  return hpack.compressor.create({ table: { maxSize } }) as Compressor;
}

function decompressor(maxSize: number): Decompressor {
  return hpack.decompressor.create({ table: { maxSize } }) as Decompressor;
}

/** hpack.js's table newest first, like ours. */
function jsTable(t: HpackJsTable): Field[] {
  return t.dynamic.map((e): Field => [e.name, e.value]).reverse();
}

/** A seeded generator of header lists shaped like real traffic: many repeats, some unique values. */
function generator(seed: number) {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const randomString = (max: number, latin1: boolean) => {
    const n = Math.floor(rnd() * max);
    let out = "";
    for (let i = 0; i < n; i++) {
      out += String.fromCharCode(
        latin1 && rnd() < 0.2 ? Math.floor(rnd() * 256) : 32 + Math.floor(rnd() * 95),
      );
    }
    return out;
  };
  const stable: Field[] = [
    [":method", "GET"],
    [":method", "POST"],
    [":scheme", "https"],
    [":path", "/"],
    [":path", "/pkg.Service/Method"],
    [":authority", "svc.default.svc.cluster.local:8080"],
    [":status", "200"],
    [":status", "503"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["user-agent", "grpc-java-netty/1.60.0"],
    ["accept-encoding", "gzip, deflate"],
    ["x-tenant", "acme"],
    ["x-env", "prod"],
    ["grpc-accept-encoding", "identity,deflate,gzip"],
  ];
  const names = [
    "content-length",
    "grpc-timeout",
    "x-request-id",
    "cookie",
    "authorization",
    "set-cookie",
    "x-custom",
    "date",
    "location",
    "cache-control",
    ":path",
  ];
  return {
    rnd,
    list(): Field[] {
      const n = Math.floor(rnd() * 14);
      const out: Field[] = [];
      for (let i = 0; i < n; i++) {
        const r = rnd();
        if (r < 0.6) out.push(pick(stable));
        else if (r < 0.9) out.push([pick(names), randomString(40, true)]);
        else if (r < 0.97) {
          out.push([
            `x-${randomString(12, false).toLowerCase().replace(/[^a-z0-9-]/g, "k")}`,
            randomString(20, true),
          ]);
        } else out.push([pick(names), randomString(3000, true)]); // large: evicts, or over the table
      }
      return out;
    },
  };
}

function decodeOurs(dec: HpackDecoder, block: Uint8Array): Field[] {
  const got: Field[] = [];
  dec.decode(block, 0, block.length, { header: (n, v) => got.push([n, v]) });
  return got;
}

function decodeJs(dec: Decompressor, block: Uint8Array): Field[] {
  dec.write(block);
  dec.execute();
  const got: Field[] = [];
  for (let h = dec.read(); h !== null; h = dec.read()) got.push([h.name, h.value]);
  return got;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function encodeJs(comp: Compressor, headers: HpackJsHeader[]): Uint8Array {
  comp.write(headers);
  const chunks: Uint8Array[] = [];
  for (let c = comp.read(); c !== null; c = comp.read()) chunks.push(c);
  return concat(chunks);
}

Deno.test("HpackDecoder.decode() decodes what hpack.js encodes over a long-lived connection", () => {
  for (const seed of [1, 2, 3]) {
    const gen = generator(seed);
    const comp = compressor(4096);
    const dec = new HpackDecoder();
    for (let block = 0; block < 400; block++) {
      const fields = gen.list();
      const headers = fields.map(([name, value]): HpackJsHeader => ({
        name,
        value,
        huffman: gen.rnd() < 0.7,
        neverIndex: gen.rnd() < 0.05,
        incremental: gen.rnd() < 0.85,
      }));
      const bytes = encodeJs(comp, headers);
      const never: boolean[] = [];
      const got: Field[] = [];
      dec.decode(bytes, 0, bytes.length, {
        header: (n, v, neverIndexed) => {
          got.push([n, v]);
          never.push(neverIndexed);
        },
      });
      assertEquals(got, fields, `seed ${seed} block ${block}`);
      assertEquals(
        never,
        headers.map((h) => h.neverIndex === true),
        `seed ${seed} block ${block} never-indexed`,
      );
      assertEquals(dec.table.entries(), jsTable(comp._table), `seed ${seed} block ${block} table`);
    }
  }
});

Deno.test("HpackEncoder.encode() output decodes identically with hpack.js over a long-lived connection", () => {
  for (const seed of [11, 12, 13]) {
    const gen = generator(seed);
    const enc = new HpackEncoder({ maxTableSize: 8192 });
    const dec = decompressor(8192);
    const ours = new HpackDecoder({ maxTableSize: 8192, maxHeaderListSize: 1 << 20 });
    const out = new HpackBuffer(64);
    const modes: Indexing[] = ["auto", "auto", "auto", "incremental", "without", "never"];
    for (let block = 0; block < 400; block++) {
      // Now and then the peer changes SETTINGS_HEADER_TABLE_SIZE, sometimes twice between blocks.
      if (gen.rnd() < 0.05) {
        for (let k = gen.rnd() < 0.5 ? 1 : 2; k > 0; k--) {
          const size = Math.floor(gen.rnd() * 8193);
          enc.setPeerMaxTableSize(size);
          ours.setMaxTableSize(size);
        }
      }
      const fields = gen.list();
      out.clear();
      enc.begin(out);
      for (const [n, v] of fields) enc.field(n, v, modes[Math.floor(gen.rnd() * modes.length)]!);
      const bytes = enc.end().slice();
      assertEquals(decodeJs(dec, bytes), fields, `seed ${seed} block ${block}`);
      assertEquals(jsTable(dec._table), enc.table.entries(), `seed ${seed} block ${block} table`);
      assertEquals(decodeOurs(ours, bytes), fields, `seed ${seed} block ${block} (ours)`);
    }
  }
});

Deno.test("HpackEncoder.encode() and hpack.js agree on every single octet value in names and values", () => {
  const enc = new HpackEncoder();
  const dec = decompressor(4096);
  const comp = compressor(4096);
  const ours = new HpackDecoder();
  for (let c = 0; c < 256; c++) {
    const v = String.fromCharCode(c).repeat(1 + (c % 5));
    const fields: Field[] = [["x-octet", v], [`x-${c}`, `${v}|${v}`]];
    assertEquals(decodeJs(dec, enc.encode(fields, new HpackBuffer()).slice()), fields, `octet ${c}`);
    const js = encodeJs(comp, fields.map(([name, value]) => ({ name, value, huffman: c % 2 === 0 })));
    assertEquals(decodeOurs(ours, js), fields, `octet ${c} from hpack.js`);
  }
});
