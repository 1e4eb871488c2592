import { assert, assertEquals } from "../../../tests/_assert.ts";
import { Http1Headers } from "../http1/headers.ts";
import {
  CompressionError,
  HeaderListTooLargeError,
  HpackBuffer,
  HpackDecoder,
  type HpackDecoderOptions,
  HpackEncoder,
  type Indexing,
} from "./hpack.ts";
import process from "node:process";

type Field = [string, string];

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function unhex(h: string): Uint8Array {
  return Uint8Array.from(h.replace(/\s+/g, "").match(/../g) ?? [], (x) => parseInt(x, 16));
}

/** An HPACK integer with an N-bit prefix under `bits` (RFC 7541 §5.1), written independently of hpack.ts. */
function int(v: number, n: number, bits: number): number[] {
  const max = 2 ** n - 1;
  if (v < max) return [bits | v];
  const out = [bits | max];
  v -= max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A raw (not Huffman) string literal. */
function str(s: string): number[] {
  return [...int(s.length, 7, 0), ...Array.from(s, (c) => c.charCodeAt(0))];
}

function decodeAll(dec: HpackDecoder, block: Uint8Array): Field[] {
  const got: Field[] = [];
  dec.decode(block, 0, block.length, { header: (n, v) => got.push([n, v]) });
  return got;
}

function throws<E extends Error>(fn: () => unknown, type: new (...a: never[]) => E, re?: RegExp): E {
  try {
    fn();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${e}`);
    if (re !== undefined) assert(re.test(e.message), `message ${JSON.stringify(e.message)} !~ ${re}`);
    return e;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

interface Example {
  id: string;
  hex: string;
  fields: Field[];
  /** The representation RFC 7541 chose where the default policy chooses otherwise. */
  modes?: Indexing[];
  /** Our encoding where the RFC Huffman-codes a string that is no shorter that way. */
  ours?: string;
  table: Field[];
  size: number;
}

const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOC = "https://www.example.com";

const C2: Example[] = [
  {
    id: "C.2.1",
    hex: "400a637573746f6d2d6b65790d637573746f6d2d686561646572",
    fields: [["custom-key", "custom-header"]],
    modes: ["incremental"],
    table: [["custom-key", "custom-header"]],
    size: 55,
  },
  {
    id: "C.2.2",
    hex: "040c2f73616d706c652f70617468",
    fields: [[":path", "/sample/path"]],
    modes: ["without"],
    table: [],
    size: 0,
  },
  {
    id: "C.2.3",
    hex: "100870617373776f726406736563726574",
    fields: [["password", "secret"]],
    modes: ["never"],
    table: [],
    size: 0,
  },
  { id: "C.2.4", hex: "82", fields: [[":method", "GET"]], table: [], size: 0 },
];

const REQ1: Field[] = [[":method", "GET"], [":scheme", "http"], [":path", "/"], [
  ":authority",
  "www.example.com",
]];
const REQ2: Field[] = [...REQ1, ["cache-control", "no-cache"]];
const REQ3: Field[] = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];
const REQ3_MODES: Indexing[] = ["auto", "auto", "auto", "auto", "incremental"];
const T1: Field[] = [[":authority", "www.example.com"]];
const T2: Field[] = [["cache-control", "no-cache"], ...T1];
const T3: Field[] = [["custom-key", "custom-value"], ...T2];

const C3: Example[] = [
  { id: "C.3.1", hex: "828684410f7777772e6578616d706c652e636f6d", fields: REQ1, table: T1, size: 57 },
  { id: "C.3.2", hex: "828684be58086e6f2d6361636865", fields: REQ2, table: T2, size: 110 },
  {
    id: "C.3.3",
    hex: "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
    fields: REQ3,
    modes: REQ3_MODES,
    table: T3,
    size: 164,
  },
];

const C4: Example[] = [
  { id: "C.4.1", hex: "828684418cf1e3c2e5f23a6ba0ab90f4ff", fields: REQ1, table: T1, size: 57 },
  { id: "C.4.2", hex: "828684be5886a8eb10649cbf", fields: REQ2, table: T2, size: 110 },
  {
    id: "C.4.3",
    hex: "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
    fields: REQ3,
    modes: REQ3_MODES,
    table: T3,
    size: 164,
  },
];

const RES1: Field[] = [[":status", "302"], ["cache-control", "private"], ["date", DATE1], ["location", LOC]];
const RES2: Field[] = [[":status", "307"], ["cache-control", "private"], ["date", DATE1], ["location", LOC]];
const RES3: Field[] = [
  [":status", "200"],
  ["cache-control", "private"],
  ["date", DATE2],
  ["location", LOC],
  ["content-encoding", "gzip"],
  ["set-cookie", COOKIE],
];
const RES3_MODES: Indexing[] = ["auto", "auto", "auto", "auto", "auto", "incremental"];
const RT1: Field[] = [["location", LOC], ["date", DATE1], ["cache-control", "private"], [":status", "302"]];
const RT2: Field[] = [[":status", "307"], ["location", LOC], ["date", DATE1], ["cache-control", "private"]];
const RT3: Field[] = [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE2]];

const C5: Example[] = [
  {
    id: "C.5.1",
    hex: "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d54" +
      "6e1768747470733a2f2f7777772e6578616d706c652e636f6d",
    fields: RES1,
    table: RT1,
    size: 222,
  },
  { id: "C.5.2", hex: "4803333037c1c0bf", fields: RES2, table: RT2, size: 222 },
  {
    id: "C.5.3",
    hex: "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a6970773866" +
      "6f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b" +
      "2076657273696f6e3d31",
    fields: RES3,
    modes: RES3_MODES,
    table: RT3,
    size: 215,
  },
];

const C6: Example[] = [
  {
    id: "C.6.1",
    hex: "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f" +
      "0b97c8e9ae82ae43d3",
    fields: RES1,
    table: RT1,
    size: 222,
  },
  // "307" takes 3 octets either way; the encoder keeps it raw (cheaper to decode).
  { id: "C.6.2", hex: "4883640effc1c0bf", ours: "4803333037c1c0bf", fields: RES2, table: RT2, size: 222 },
  {
    id: "C.6.3",
    hex: "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335df" +
      "dfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    fields: RES3,
    modes: RES3_MODES,
    table: RT3,
    size: 215,
  },
];

const SEQUENCES: [string, Example[], number, boolean][] = [
  ["C.3 (requests without Huffman)", C3, 4096, false],
  ["C.4 (requests with Huffman)", C4, 4096, true],
  ["C.5 (responses without Huffman, 256-octet table)", C5, 256, false],
  ["C.6 (responses with Huffman, 256-octet table)", C6, 256, true],
];

function encodeWith(
  enc: HpackEncoder,
  fields: Field[],
  modes: Indexing[] | undefined,
  out = new HpackBuffer(),
) {
  enc.begin(out);
  fields.forEach(([n, v], i) => enc.field(n, v, modes?.[i] ?? "auto"));
  return enc.end();
}

Deno.test("HpackDecoder.decode() decodes RFC 7541 C.2 field representations", () => {
  for (const ex of C2) {
    const dec = new HpackDecoder();
    assertEquals(decodeAll(dec, unhex(ex.hex)), ex.fields, ex.id);
    assertEquals(dec.table.entries(), ex.table, ex.id);
    assertEquals(dec.table.size, ex.size, ex.id);
  }
});

Deno.test("HpackDecoder.decode() decodes RFC 7541 C.3–C.6 on one connection each, table after every block", () => {
  for (const [what, seq, tableSize] of SEQUENCES) {
    const dec = new HpackDecoder({ maxTableSize: tableSize });
    for (const ex of seq) {
      assertEquals(decodeAll(dec, unhex(ex.hex)), ex.fields, `${what} ${ex.id}`);
      assertEquals(dec.table.entries(), ex.table, `${what} ${ex.id} table`);
      assertEquals(dec.table.size, ex.size, `${what} ${ex.id} table size`);
    }
  }
});

Deno.test("HpackDecoder.decode() tells the sink which fields were never-indexed literals", () => {
  const got: [string, string, boolean][] = [];
  const block = unhex(C2[2]!.hex + C2[1]!.hex + C2[0]!.hex + "82");
  new HpackDecoder().decode(block, 0, block.length, { header: (n, v, never) => got.push([n, v, never]) });
  assertEquals(got, [
    ["password", "secret", true],
    [":path", "/sample/path", false],
    ["custom-key", "custom-header", false],
    [":method", "GET", false],
  ]);
});

Deno.test("HpackDecoder.decode() reads the block between start and end only", () => {
  const block = unhex("ffff" + C4[0]!.hex + "ffff");
  const got: Field[] = [];
  new HpackDecoder().decode(block, 2, block.length - 2, { header: (n, v) => got.push([n, v]) });
  assertEquals(got, REQ1);
});

Deno.test("HpackEncoder.field() reproduces RFC 7541 C.2 byte for byte", () => {
  for (const ex of C2) {
    const enc = new HpackEncoder({ huffman: false });
    assertEquals(hex(encodeWith(enc, ex.fields, ex.modes)), ex.hex, ex.id);
    assertEquals(enc.table.entries(), ex.table, ex.id);
  }
});

Deno.test("HpackEncoder reproduces RFC 7541 C.3–C.6 byte for byte given the RFC's indexing choices", () => {
  for (const [what, seq, maxTableSize, huffman] of SEQUENCES) {
    const enc = new HpackEncoder({ maxTableSize, huffman });
    for (const ex of seq) {
      assertEquals(hex(encodeWith(enc, ex.fields, ex.modes)), ex.ours ?? ex.hex, `${what} ${ex.id}`);
      assertEquals(enc.table.entries(), ex.table, `${what} ${ex.id} table`);
      assertEquals(enc.table.size, ex.size, `${what} ${ex.id} table size`);
    }
  }
});

Deno.test("HpackEncoder's own policy reproduces the RFC where it agrees and stays in sync where not", () => {
  for (const [what, seq, maxTableSize, huffman] of SEQUENCES) {
    const enc = new HpackEncoder({ maxTableSize, huffman });
    const dec = new HpackDecoder({ maxTableSize });
    for (const ex of seq) {
      const block = encodeWith(enc, ex.fields, undefined);
      // Differs only where the RFC indexes a custom name on first sight (C.x.3: custom-key) or a
      // set-cookie, which the policy never indexes.
      if (ex.modes === undefined) assertEquals(hex(block), ex.ours ?? ex.hex, `${what} ${ex.id}`);
      assertEquals(decodeAll(dec, block), ex.fields, `${what} ${ex.id}`);
      assertEquals(dec.table.entries(), enc.table.entries(), `${what} ${ex.id} tables in sync`);
    }
  }
});

Deno.test("HpackDecoder.decode() rejects integers above 2^31-1 or longer than 6 octets", () => {
  throws(() => decodeAll(new HpackDecoder(), unhex("ff80808080 10")), CompressionError, /above 2147483647/);
  throws(() => decodeAll(new HpackDecoder(), unhex("ffffffffff0f")), CompressionError, /above/);
  // Zero continuation octets keep the value small; the octet count is still bounded.
  throws(() => decodeAll(new HpackDecoder(), unhex("ff808080808000")), CompressionError, /longer than 6/);
  throws(() => decodeAll(new HpackDecoder(), unhex("ff80")), CompressionError, /cut off/);
  // The largest allowed value parses, and is then an index out of range.
  throws(() => decodeAll(new HpackDecoder(), unhex("ff80ffffff07")), CompressionError, /index 2147483647/);
});

Deno.test("HpackDecoder.decode() rejects index 0 and indices past the dynamic table", () => {
  throws(() => decodeAll(new HpackDecoder(), unhex("80")), CompressionError, /index 0/);
  throws(() => decodeAll(new HpackDecoder(), unhex("be")), CompressionError, /index 62: the tables hold 61/);
  const dec = new HpackDecoder();
  decodeAll(dec, unhex(C3[0]!.hex)); // one dynamic entry: 62 is valid, 63 is not
  assertEquals(decodeAll(dec, unhex("be")), T1);
  throws(() => decodeAll(dec, unhex("bf")), CompressionError, /index 63/);
  // Literal with an indexed name past the table, in each literal form.
  throws(() => decodeAll(new HpackDecoder(), unhex("7e0161")), CompressionError, /index 62/);
  throws(() => decodeAll(new HpackDecoder(), unhex("0f2f0161")), CompressionError, /index 62/);
  throws(() => decodeAll(new HpackDecoder(), unhex("1f2f0161")), CompressionError, /index 62/);
});

Deno.test("HpackDecoder.decode() rejects string literals longer than the rest of the block", () => {
  throws(() => decodeAll(new HpackDecoder(), unhex("400a6375")), CompressionError, /10 octets: 2 remain/);
  throws(
    () => decodeAll(new HpackDecoder(), Uint8Array.from([0x40, ...str("k"), 0x05, 0x61])),
    CompressionError,
    /5 octets: 1 remain/,
  );
  throws(() => decodeAll(new HpackDecoder(), unhex("40")), CompressionError, /cut off/);
  throws(
    () => decodeAll(new HpackDecoder(), Uint8Array.from([0x40, ...str("k")])),
    CompressionError,
    /cut off/,
  );
  throws(() => decodeAll(new HpackDecoder(), unhex("417f")), CompressionError, /cut off/);
  // Huffman data must be valid too.
  throws(() => decodeAll(new HpackDecoder(), unhex("4081ff0161")), CompressionError, /Huffman/);
  throws(() => decodeAll(new HpackDecoder(), unhex("04 84 fffffffc")), CompressionError, /Huffman/); // EOS
});

Deno.test("HpackDecoder.decode() accepts size updates only at the start of a block", () => {
  const dec = new HpackDecoder();
  decodeAll(dec, unhex(C3[0]!.hex));
  // Two updates at the start (shrink to 0, then back): the entry is evicted.
  assertEquals(decodeAll(dec, Uint8Array.from([0x20, ...int(4096, 5, 0x20), 0x82])), [[":method", "GET"]]);
  assertEquals([dec.table.length, dec.table.maxSize], [0, 4096]);
  throws(() => decodeAll(new HpackDecoder(), unhex("8220")), CompressionError, /after a header field/);
  throws(
    () => decodeAll(new HpackDecoder(), unhex(C3[0]!.hex + "20")),
    CompressionError,
    /after a header field/,
  );
  throws(() => decodeAll(new HpackDecoder(), unhex("04012f20")), CompressionError, /after a header field/);
});

Deno.test("HpackDecoder.decode() rejects a size update above SETTINGS_HEADER_TABLE_SIZE", () => {
  throws(
    () => decodeAll(new HpackDecoder(), Uint8Array.from(int(4097, 5, 0x20))),
    CompressionError,
    /4097: SETTINGS_HEADER_TABLE_SIZE is 4096/,
  );
  const dec = new HpackDecoder({ maxTableSize: 256 });
  throws(() => decodeAll(dec, Uint8Array.from(int(257, 5, 0x20))), CompressionError, /257/);
  const big = new HpackDecoder({ maxTableSize: 65536 });
  decodeAll(big, Uint8Array.from(int(65536, 5, 0x20)));
  assertEquals(big.table.maxSize, 65536);
});

Deno.test("HpackDecoder.setMaxTableSize() below the table requires an update at the next block's start", () => {
  const dec = new HpackDecoder();
  decodeAll(dec, unhex(C3[0]!.hex));
  dec.setMaxTableSize(1024);
  dec.setMaxTableSize(2048); // lowered then raised: the smallest (1024) is owed
  throws(() => decodeAll(dec, unhex("82")), CompressionError, /size update to at most 1024/);
  // An update to the final size alone skips the smallest one.
  const skip = new HpackDecoder();
  skip.setMaxTableSize(1024);
  skip.setMaxTableSize(2048);
  throws(
    () => decodeAll(skip, Uint8Array.from([...int(2048, 5, 0x20), 0x82])),
    CompressionError,
    /at most 1024/,
  );

  const ok = new HpackDecoder();
  decodeAll(ok, unhex(C3[0]!.hex));
  ok.setMaxTableSize(1024);
  ok.setMaxTableSize(2048);
  assertEquals(decodeAll(ok, Uint8Array.from([...int(1024, 5, 0x20), ...int(2048, 5, 0x20), 0xbe])), T1);
  assertEquals(ok.table.maxSize, 2048);
  // Nothing is owed any more.
  assertEquals(decodeAll(ok, unhex("82")), [[":method", "GET"]]);
  // Raising the limit owes nothing.
  ok.setMaxTableSize(8192);
  assertEquals(decodeAll(ok, unhex("82")), [[":method", "GET"]]);
  // An empty block does not settle what is owed.
  ok.setMaxTableSize(0);
  throws(() => decodeAll(ok, new Uint8Array(0)), CompressionError, /at most 0/);
});

Deno.test("HpackDecoder.decode() keeps failing after a compression error", () => {
  const dec = new HpackDecoder();
  throws(() => decodeAll(dec, unhex("80")), CompressionError);
  throws(() => decodeAll(dec, unhex("82")), CompressionError, /after a compression error/);
});

Deno.test("HpackDecoder.decode() enforces SETTINGS_MAX_HEADER_LIST_SIZE and keeps the table in sync", () => {
  const dec = new HpackDecoder({ maxHeaderListSize: 100 });
  const got: Field[] = [];
  const sink = { header: (n: string, v: string) => got.push([n, v]) };
  // :method GET (42), :path / (38), then a literal over the limit, then a literal with indexing and an
  // indexed field: all decoded, the last two not delivered.
  const block = Uint8Array.from([
    0x82,
    0x84,
    0x00,
    ...str("x-big"),
    ...str("v".repeat(40)),
    0x40,
    ...str("k"),
    ...str("v"),
    0xbe,
  ]);
  const e = throws(
    () => dec.decode(block, 0, block.length, sink),
    HeaderListTooLargeError,
    /SETTINGS_MAX_HEADER_LIST_SIZE is 100/,
  );
  assertEquals(e.limit, 100);
  assertEquals(e.size, 42 + 38 + 77 + 34 + 34);
  assertEquals(got, [[":method", "GET"], [":path", "/"]]);
  assertEquals(dec.table.entries(), [["k", "v"]]);
  // Not broken: the next block decodes against the same table.
  assertEquals(decodeAll(dec, unhex("be")), [["k", "v"]]);
  dec.setMaxHeaderListSize(10);
  throws(() => decodeAll(dec, unhex("be")), HeaderListTooLargeError);
});

Deno.test("HpackDecoder.decode() enforces maxStringLength before making the string", () => {
  const dec = new HpackDecoder({ maxStringLength: 10 });
  const got: Field[] = [];
  const sink = { header: (n: string, v: string) => got.push([n, v]) };
  const block = Uint8Array.from([
    0x82,
    0x40,
    ...str("k"),
    ...str("v".repeat(11)),
    0x41,
    ...str("v".repeat(10)),
  ]);
  const e = throws(
    () => dec.decode(block, 0, block.length, sink),
    HeaderListTooLargeError,
    /string of 11 octets: the limit is 10/,
  );
  assertEquals([e.size, e.limit], [11, 10]);
  assertEquals(got, [[":method", "GET"]]);
  // Both literals were still added to the table, as the peer's encoder did.
  assertEquals(dec.table.entries(), [[":authority", "v".repeat(10)], ["k", "v".repeat(11)]]);
  // A Huffman-coded name over the limit too.
  const h = new HpackDecoder({ maxStringLength: 4 });
  throws(() => decodeAll(h, unhex("00 88 25a849e95ba97d7f 0161")), HeaderListTooLargeError, /string of 10/);
});

Deno.test("HpackDecoder.decode() empties the table for a literal larger than it and still delivers it", () => {
  const dec = new HpackDecoder();
  decodeAll(dec, unhex(C3[0]!.hex));
  const value = "z".repeat(5000);
  assertEquals(decodeAll(dec, Uint8Array.from([0x40, ...str("big"), ...str(value)])), [["big", value]]);
  assertEquals(dec.table.length, 0);
  assertEquals(dec.table.size, 0);
});

/** CPU time (user + system) this process has used so far, in ms. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

Deno.test("HpackDecoder.decode() stops an HPACK bomb at the list limit with bounded work", () => {
  const dec = new HpackDecoder(); // 64 KiB list limit
  const big = "b".repeat(4000); // entry of 4 KiB (4038 octets), fits the 4096 table
  decodeAll(dec, Uint8Array.from([0x40, ...str("x-bomb"), ...str(big)]));
  let calls = 0;
  let chars = 0;
  const sink = {
    header: (n: string, v: string) => {
      calls++;
      chars += n.length + v.length;
    },
  };
  // 100 one-octet references, a 100-octet block that would decode to 400 KB.
  const small = new Uint8Array(100).fill(0xbe);
  throws(() => dec.decode(small, 0, small.length, sink), HeaderListTooLargeError);
  assertEquals(calls, Math.floor(65536 / 4038));
  assert(chars <= 65536);
  // A million references (a 1 MB block that would decode to 4 GB): one addition each after the limit.
  const huge = new Uint8Array(1_000_000).fill(0xbe);
  huge[huge.length - 1] = 0x82;
  calls = 0;
  const heapBefore = Deno.memoryUsage().heapUsed;
  // CPU time, not wall time: the bound is on the decoder's work, which waiting for a core on a loaded
  // machine does not change (the wall-clock bound failed in a full run under load).
  const t0 = cpuMs();
  const e = throws(() => dec.decode(huge, 0, huge.length, sink), HeaderListTooLargeError);
  const ms = cpuMs() - t0;
  const heapGrowth = Deno.memoryUsage().heapUsed - heapBefore;
  assertEquals(calls, 16);
  assertEquals(e.size, 999_999 * 4038 + 42);
  assert(ms < 1000, `took ${ms} ms of CPU`);
  assert(heapGrowth < 16 * 1024 * 1024, `heap grew ${heapGrowth} octets`);
  // And the table is intact.
  assertEquals(dec.table.entries(), [["x-bomb", big]]);
});

Deno.test("HpackEncoder.field() lowercases names only when they have uppercase letters", () => {
  const enc = new HpackEncoder();
  const out = new HpackBuffer();
  const block = enc.encode([["Content-Type", "application/grpc"], ["X-Custom-Thing", "1"], [
    "te",
    "trailers",
  ]], out);
  assertEquals(decodeAll(new HpackDecoder(), block), [["content-type", "application/grpc"], [
    "x-custom-thing",
    "1",
  ], ["te", "trailers"]]);
  // "Content-Type" found the static name: literal with incremental indexing of name index 31.
  assertEquals(block[0], 0x40 | 31);
});

Deno.test("HpackEncoder never indexes authorization, cookie, set-cookie and proxy-authorization", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const fields: Field[] = [
    ["authorization", "Bearer abc"],
    ["Cookie", "a=b"],
    ["set-cookie", "c=d"],
    ["proxy-authorization", "Basic xyz"],
  ];
  for (let round = 0; round < 3; round++) {
    const block = enc.encode(fields, new HpackBuffer());
    assertEquals(decodeAll(dec, block), fields.map(([n, v]) => [n.toLowerCase(), v]));
    // Each is a "never indexed" literal (0001xxxx) with the static name index.
    let p = 0;
    for (const idx of [23, 32, 55, 49]) {
      assertEquals(block[p], 0x10 | 0x0f, `round ${round}`);
      assertEquals(block[p + 1], idx - 15);
      p += 3 + (block[p + 2]! & 0x7f);
    }
    assertEquals(enc.table.length, 0);
  }
  // An explicit mode overrides the policy.
  const b = encodeWith(new HpackEncoder(), [["cookie", "a=b"]], ["incremental"]);
  assertEquals(b[0], 0x40 | 32);
});

Deno.test("HpackEncoder indexes repeated fields: static names at once, custom names on the second sight", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const fields: Field[] = [["user-agent", "grpc-go/1.60"], ["x-tenant", "acme"], ["x-request-id", "1"]];
  const b1 = enc.encode(fields, new HpackBuffer());
  assertEquals(enc.table.entries(), [["user-agent", "grpc-go/1.60"]]);
  const b2 = enc.encode([fields[0]!, fields[1]!, ["x-request-id", "2"]], new HpackBuffer());
  assertEquals(enc.table.entries(), [["x-tenant", "acme"], ["user-agent", "grpc-go/1.60"]]);
  const b3 = enc.encode([fields[0]!, fields[1]!, ["x-request-id", "3"]], new HpackBuffer());
  assertEquals(b3.subarray(0, 2), Uint8Array.of(0x80 | 63, 0x80 | 62)); // both indexed now
  for (const b of [b1, b2, b3]) decodeAll(dec, b);
  assertEquals(dec.table.entries(), enc.table.entries());
  // A unique value per message of an unknown name never enters the table.
  for (let i = 0; i < 10; i++) enc.encode([["x-trace", `t${i}`]], new HpackBuffer());
  assertEquals(enc.table.length, 2);
});

Deno.test("HpackEncoder leaves per-message values and oversized fields out of the table", () => {
  const enc = new HpackEncoder({ maxIndexedFieldSize: 100 });
  for (let i = 0; i < 3; i++) {
    enc.encode(
      [["content-length", "42"], ["grpc-timeout", "1S"], ["traceparent", "00-ab-cd-01"]],
      new HpackBuffer(),
    );
  }
  assertEquals(enc.table.length, 0);
  enc.encode([["accept", "x".repeat(100 - 32 - 6 + 1)]], new HpackBuffer());
  assertEquals(enc.table.length, 0);
  enc.encode([["accept", "x".repeat(100 - 32 - 6)]], new HpackBuffer());
  assertEquals(enc.table.length, 1);
  // Never more than half the table either.
  const small = new HpackEncoder({ maxTableSize: 100 });
  small.encode([["accept", "x".repeat(13)]], new HpackBuffer()); // 51 > 50
  assertEquals(small.table.length, 0);
});

Deno.test("HpackEncoder Huffman-codes a string only when that is shorter", () => {
  const enc = new HpackEncoder();
  const b = enc.encode([["x-bin", "\u0000\u0001\u0002"], ["x-text", "www.example.com"]], new HpackBuffer());
  // Literal without indexing (first sight of a custom name): "x-bin" takes 4 octets Huffman-coded, the
  // value would take 8 (codes of 13, 23 and 28 bits), so it stays raw.
  assertEquals(b[0], 0x00);
  assertEquals(b[1], 0x80 | 4);
  assertEquals(hex(b.subarray(6, 10)), "03000102");
  assertEquals(b[10], 0x00);
  assertEquals(b[11], 0x80 | 5); // "x-text"
  assertEquals(b[17], 0x80 | 12); // "www.example.com": 12 octets instead of 15
  assertEquals(decodeAll(new HpackDecoder(), b), [["x-bin", "\u0000\u0001\u0002"], [
    "x-text",
    "www.example.com",
  ]]);
  const raw = new HpackEncoder({ huffman: false }).encode([["x-text", "www.example.com"]], new HpackBuffer());
  assertEquals(raw.length, 1 + 7 + 16);
});

Deno.test("HpackEncoder writes chars above 0xff as ? and keeps latin1 octets", () => {
  const enc = new HpackEncoder({ huffman: false });
  const b = enc.encode([["x-l1", "caf\u00e9"], ["x-wide", "\u20ac1"]], new HpackBuffer());
  assertEquals(decodeAll(new HpackDecoder(), b), [["x-l1", "caf\u00e9"], ["x-wide", "?1"]]);
});

Deno.test("HpackEncoder.setPeerMaxTableSize() emits the size update at the start of the next block", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  decodeAll(dec, enc.encode(REQ1, new HpackBuffer()));
  enc.setPeerMaxTableSize(2048);
  dec.setMaxTableSize(2048);
  const b = enc.encode(REQ1, new HpackBuffer());
  assertEquals(Array.from(b.subarray(0, 3)), int(2048, 5, 0x20));
  assertEquals(enc.table.maxSize, 2048);
  assertEquals(decodeAll(dec, b), REQ1);
  // Only once.
  assertEquals(enc.encode(REQ1, new HpackBuffer())[0], 0x82);
});

Deno.test("HpackEncoder.setPeerMaxTableSize() signals the smallest size then the final one (RFC 7541 §4.2)", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  decodeAll(dec, enc.encode(REQ2, new HpackBuffer()));
  enc.setPeerMaxTableSize(0);
  enc.setPeerMaxTableSize(4096);
  dec.setMaxTableSize(0);
  dec.setMaxTableSize(4096);
  const b = enc.encode(REQ2, new HpackBuffer());
  assertEquals(Array.from(b.subarray(0, 4)), [0x20, ...int(4096, 5, 0x20)]);
  // The table was emptied, so :authority and cache-control are inserted again.
  assertEquals(decodeAll(dec, b), REQ2);
  assertEquals(dec.table.entries(), T2);
  assertEquals(enc.table.entries(), T2);

  const e2 = new HpackEncoder();
  e2.setPeerMaxTableSize(1024);
  e2.setPeerMaxTableSize(3000);
  e2.setPeerMaxTableSize(2000);
  assertEquals(Array.from(e2.encode([], new HpackBuffer())), [...int(1024, 5, 0x20), ...int(2000, 5, 0x20)]);
  // Shrinking twice: just the final (smallest) value.
  const e3 = new HpackEncoder();
  e3.setPeerMaxTableSize(3000);
  e3.setPeerMaxTableSize(1000);
  assertEquals(Array.from(e3.encode([], new HpackBuffer())), int(1000, 5, 0x20));
});

Deno.test("HpackEncoder uses at most its own maxTableSize whatever the peer allows", () => {
  const enc = new HpackEncoder(); // 4096
  enc.setPeerMaxTableSize(65536);
  assertEquals(enc.encode([], new HpackBuffer()).length, 0); // no change: nothing to signal
  assertEquals(enc.table.maxSize, 4096);
  const big = new HpackEncoder({ maxTableSize: 16384 });
  big.setPeerMaxTableSize(8192);
  assertEquals(Array.from(big.encode([], new HpackBuffer())), int(8192, 5, 0x20));
  // Below the default: the table just starts smaller, the peer's larger table stays in sync.
  const small = new HpackEncoder({ maxTableSize: 60 });
  const dec = new HpackDecoder();
  for (let i = 0; i < 5; i++) {
    const f: Field[] = [[":authority", `h${i}.example`]];
    assertEquals(decodeAll(dec, encodeWith(small, f, ["incremental"])), f);
  }
  assertEquals(small.table.length, 1);
  assertEquals(dec.table.length, 5);
  const again = small.encode([[":authority", "h4.example"]], new HpackBuffer());
  assertEquals(Array.from(again), [0x80 | 62]);
  assertEquals(decodeAll(dec, again), [[":authority", "h4.example"]]);
});

Deno.test("HpackEncoder.encode() appends to the buffer, grows it and takes a FieldList", () => {
  const out = new HpackBuffer(8);
  out.bytes.set([1, 2, 3]);
  out.length = 3; // e.g. room the codec keeps for its frame header
  const headers = new Http1Headers([["Content-Type", "text/plain"], ["X-Long", "y".repeat(10000)]]);
  const block = new HpackEncoder().encode(headers, out);
  assertEquals(Array.from(out.bytes.subarray(0, 3)), [1, 2, 3]);
  assertEquals(out.length, 3 + block.length);
  assertEquals(decodeAll(new HpackDecoder(), block), [["content-type", "text/plain"], [
    "x-long",
    "y".repeat(10000),
  ]]);
  // Streaming form gives the same octets.
  const enc = new HpackEncoder();
  const b2 = new HpackBuffer();
  enc.begin(b2);
  enc.field("content-type", "text/plain");
  enc.field("x-long", "y".repeat(10000));
  assertEquals(hex(enc.end()), hex(block));
});

Deno.test("HpackEncoder.begin(), field() and end() must be called in order", () => {
  const enc = new HpackEncoder();
  throws(() => enc.field("a", "b"), Error, /outside a header block/);
  throws(() => enc.end(), Error, /not begun/);
  enc.begin(new HpackBuffer());
  throws(() => enc.begin(new HpackBuffer()), Error, /before ending/);
});

Deno.test("HpackDecoder and HpackEncoder reject invalid sizes", () => {
  const options: HpackDecoderOptions = { maxTableSize: -1 };
  throws(() => new HpackDecoder(options), RangeError, /Cannot set maxTableSize/);
  throws(() => new HpackDecoder().setMaxHeaderListSize(1.5), RangeError);
  throws(() => new HpackEncoder().setPeerMaxTableSize(2 ** 32), RangeError);
  throws(() => new HpackDecoder().decode(new Uint8Array(2), 1, 3, { header() {} }), RangeError);
});
