import assert from "node:assert/strict";
import { Hessian2Error, Hessian2Reader, Kind, MAX_DEPTH } from "./hessian2.ts";
import { HessianWriter } from "./_test_hessian.ts";
import { hex } from "./_test_io.ts";

function w(): HessianWriter {
  return new HessianWriter();
}

function reader(bytes: Uint8Array): Hessian2Reader {
  return new Hessian2Reader(bytes, 0, bytes.length);
}

/** Skips one value and checks it took exactly the whole input. */
function assertSkips(bytes: Uint8Array, what: string): void {
  const r = reader(bytes);
  r.skipValue();
  assert.equal(r.pos, bytes.length, `${what}: skipped ${r.pos} of ${bytes.length} bytes`);
}

function assertRejects(bytes: Uint8Array, pattern: RegExp, what = ""): void {
  assert.throws(() => reader(bytes).skipValue(), (e: unknown) => {
    assert.ok(e instanceof Hessian2Error, `${what}: threw ${e}, not a Hessian2Error`);
    assert.match(e.message, pattern, what);
    return true;
  });
}

const ASTRAL = "😀"; // U+1F600: a surrogate pair, two UTF-16 units

/** One value of every type in every encoding, nested containers and class definitions included. */
function corpus(): [string, Uint8Array][] {
  const big = "x".repeat(70000);
  const out: [string, Uint8Array][] = [
    ["null", w().null().bytes()],
    ["true", w().bool(true).bytes()],
    ["false", w().bool(false).bytes()],
    ["empty string", w().string("").bytes()],
    ["short string", w().string("hello").bytes()],
    ["31-unit string", w().string("s".repeat(31)).bytes()],
    ["medium string", w().string("m".repeat(1023)).bytes()],
    ["S string", w().string("S", "S").bytes()],
    ["chunked string", w().string("chunked!", { chunk: 3 }).bytes()],
    ["70000-unit string (R chunks)", w().string(big).bytes()],
    ["2- and 3-byte characters", w().string("é€ü中").bytes()],
    ["a surrogate pair (CESU-8)", w().string(`a${ASTRAL}b`).bytes()],
    ["int -16", w().int(-16).bytes()],
    ["int 47", w().int(47).bytes()],
    ["int -2048", w().int(-2048).bytes()],
    ["int 2047", w().int(2047).bytes()],
    ["int -262144", w().int(-262144).bytes()],
    ["int 262143", w().int(262143).bytes()],
    ["int I", w().int(-0x80000000).bytes()],
    ["long -8", w().long(-8).bytes()],
    ["long 15", w().long(15).bytes()],
    ["long -2048", w().long(-2048).bytes()],
    ["long 262143", w().long(262143).bytes()],
    ["long Y", w().long(0x7fffffff).bytes()],
    ["long L", w().long(-(2n ** 63n)).bytes()],
    ["double 0", w().double(0).bytes()],
    ["double 1", w().double(1).bytes()],
    ["double byte", w().double(-128).bytes()],
    ["double short", w().double(30000).bytes()],
    ["double millis", w().doubleMillis(1.5).bytes()],
    ["double D", w().double(Math.PI).bytes()],
    ["date ms", w().date(1700000000000).bytes()],
    ["date minutes", w().dateMinutes(28333333).bytes()],
    ["short binary", w().binary(new Uint8Array(15)).bytes()],
    ["empty binary", w().binary(new Uint8Array(0)).bytes()],
    ["medium binary", w().binary(new Uint8Array(1023)).bytes()],
    ["B binary", w().binary(new Uint8Array(3), "B").bytes()],
    ["chunked binary", w().binary(new Uint8Array(10), { chunk: 4 }).bytes()],
    ["untyped fixed list 0x78", w().listStart(0).bytes()],
    ["untyped fixed list 0x7f", w().listStart(7).int(1).int(2).int(3).int(4).int(5).int(6).int(7).bytes()],
    ["untyped fixed list X", w().listStart(8).raw(0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90).bytes()],
    ["typed fixed list 0x72", w().listStart(2, "[int").int(1).int(2).bytes()],
    ["typed fixed list V", w().listStart(9, "[string").raw(0, 0, 0, 0, 0, 0, 0, 0, 0).bytes()],
    ["typed list by type ref", w().listStart(1, 0).null().bytes()],
    ["variable untyped list", w().listStart("variable").string("a").null().end().bytes()],
    ["variable typed list", w().listStart("variable", "java.util.ArrayList").int(1).end().bytes()],
    ["untyped map", w().mapStart().string("k").string("v").int(1).listStart(0).end().bytes()],
    ["typed map", w().mapStart("java.util.HashMap").string("k").null().end().bytes()],
    ["empty map", w().mapStart().end().bytes()],
    ["reference", w().ref(3).bytes()],
    [
      "class definition and object",
      w().classDef("com.demo.User", ["name", "age"]).objectStart(0).string("ann").int(30).bytes(),
    ],
    [
      "objects by O and by 0x60 after 17 definitions",
      (() => {
        const x = w().listStart(2);
        for (let i = 0; i < 17; i++) x.classDef(`C${i}`, i === 16 ? ["f"] : []);
        return x.objectStart(16).int(5).objectStart(3).bytes();
      })(),
    ],
    [
      "nested containers",
      w().mapStart().string("list").listStart(2).mapStart("M").int(1).listStart("variable").end().end()
        .classDef("P", ["x"]).objectStart(0).listStart(1).null().end().bytes(),
    ],
  ];
  return out;
}

Deno.test("Hessian2Reader.skipValue() steps over exactly one value of every type and encoding", () => {
  for (const [what, bytes] of corpus()) assertSkips(bytes, what);
});

Deno.test("Hessian2Reader.skipValue() steps over values one after the other", () => {
  // Without class definitions: in one stream they number on, so the corpus' object values would shift.
  const all = corpus().filter(([, b]) => !b.includes(0x43)).map(([, b]) => b);
  const joined = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of all) {
    joined.set(b, o);
    o += b.length;
  }
  const r = reader(joined);
  for (let i = 0; i < all.length; i++) r.skipValue();
  assert.ok(r.atEnd);
});

Deno.test("Hessian2Reader.skipValue() rejects every truncation of every value with a Hessian2Error", () => {
  for (const [what, bytes] of corpus()) {
    // The 70000-unit string has too many cut points to try each: its chunk boundaries and a stride.
    const step = bytes.length > 5000 ? 997 : 1;
    for (let cut = 0; cut < bytes.length; cut += step) {
      assertRejects(bytes.subarray(0, cut), /truncated|missing|claimed|left/, `${what} cut at ${cut}`);
    }
  }
});

Deno.test("Hessian2Reader.readString() reads every string encoding", () => {
  const cases: [Uint8Array, string][] = [
    [w().string("").bytes(), ""],
    [w().string("hello").bytes(), "hello"],
    [w().string("m".repeat(1023)).bytes(), "m".repeat(1023)],
    [w().string("x".repeat(1024)).bytes(), "x".repeat(1024)],
    [w().string("S form", "S").bytes(), "S form"],
    [w().string("chunked!", { chunk: 3 }).bytes(), "chunked!"],
    [w().string("y".repeat(70000)).bytes(), "y".repeat(70000)],
    [w().string("é€ü中").bytes(), "é€ü中"],
    [w().string(`a${ASTRAL}b`).bytes(), `a${ASTRAL}b`],
    // An R chunk may be followed by a compact final chunk.
    [hex("52 0002 6162 03 636465"), "abcde"],
    [hex("52 0001 61 30 02 6263"), "abc"],
    // A 4-byte UTF-8 sequence (non-Java writers) counts as the two units it stands for.
    [hex("04 61 f09f9880 62"), `a${ASTRAL}b`],
  ];
  for (const [bytes, want] of cases) {
    const r = reader(bytes);
    assert.equal(r.readString(), want);
    assert.ok(r.atEnd, `consumed all of ${want.slice(0, 10)}`);
  }
});

Deno.test("Hessian2Reader.readString() counts UTF-16 units, not bytes or code points", () => {
  // "€" is 3 bytes and 1 unit: length 2 covers "€a", leaving "b" as the next value.
  const r = reader(hex("02 e282ac 61 01 62"));
  assert.equal(r.readString(), "€a");
  assert.equal(r.readString(), "b");
  // A surrogate pair written as two 3-byte halves is 2 units.
  assert.equal(reader(hex("02 eda0bd edb880")).readString(), ASTRAL);
});

Deno.test("Hessian2Reader.readString() rejects malformed UTF-8 and non-string tags", () => {
  const bad: [string, string, RegExp][] = [
    ["a continuation byte as lead", "01 80", /malformed UTF-8 byte 0x80/],
    ["a bad continuation", "01 c361", /continuation/],
    ["an invalid lead byte", "01 f8", /malformed UTF-8 byte 0xf8/],
    ["a 4-byte character for the last unit", "01 f09f9880", /4-byte character/],
    ["a character cut by the end", "01 e282", /inside a character/],
    ["an int", "91", /expected a string, got tag 0x91/],
    ["null", "4e", /expected a string, got tag 0x4e/],
    ["an R chunk followed by an int", "52 0001 61 91", /expected a string, got tag 0x91/],
  ];
  for (const [what, bytes, pattern] of bad) {
    assert.throws(() => reader(hex(bytes)).readString(), (e: unknown) => {
      assert.ok(e instanceof Hessian2Error, what);
      assert.match(e.message, pattern, what);
      return true;
    });
  }
});

Deno.test("Hessian2Reader.readStringOrNull() reads null as undefined", () => {
  const r = reader(hex("4e 01 61"));
  assert.equal(r.readStringOrNull(), undefined);
  assert.equal(r.readStringOrNull(), "a");
});

Deno.test("Hessian2Reader.readInt() reads every int encoding at its boundaries", () => {
  for (
    const v of [
      0,
      -16,
      47,
      -17,
      48,
      -2048,
      2047,
      -2049,
      2048,
      -262144,
      262143,
      -262145,
      262144,
      2 ** 31 - 1,
      -(2 ** 31),
    ]
  ) {
    const r = reader(w().int(v).bytes());
    assert.equal(r.readInt(), v);
    assert.ok(r.atEnd);
  }
  assert.equal(reader(w().int(5, "I").bytes()).readInt(), 5);
  assert.equal(reader(w().int(-5, "short").bytes()).readInt(), -5);
  assert.equal(reader(w().int3(-1).bytes()).readInt(), -1);
  assert.throws(() => reader(hex("e0")).readInt(), /expected an int, got tag 0xe0/);
});

Deno.test("Hessian2Reader.readLongText() reads every long encoding exactly, 64-bit extremes included", () => {
  const values = [0n, -8n, 15n, -9n, 16n, -2048n, 2047n, -262144n, 262143n, 2n ** 31n - 1n, -(2n ** 31n)];
  values.push(2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n));
  for (const v of values) {
    const r = reader(w().long(v).bytes());
    assert.equal(r.readLongText(), v.toString());
    assert.ok(r.atEnd);
  }
  assert.equal(reader(w().long(7, "L").bytes()).readLongText(), "7");
  assert.equal(reader(w().long(-7, "Y").bytes()).readLongText(), "-7");
  assert.throws(() => reader(hex("91")).readLongText(), /expected a long, got tag 0x91/);
});

Deno.test("Hessian2Reader.peekKind() classifies every tag without consuming it", () => {
  const kinds: [Uint8Array, Kind][] = [
    [w().null().bytes(), Kind.Null],
    [w().string("a").bytes(), Kind.String],
    [w().string("a", "S").bytes(), Kind.String],
    [w().string("abc", { chunk: 1 }).bytes(), Kind.String],
    [w().string("m".repeat(40)).bytes(), Kind.String],
    [w().int(1).bytes(), Kind.Int],
    [w().int(1, "I").bytes(), Kind.Int],
    [w().int(300).bytes(), Kind.Int],
    [w().int3(70000).bytes(), Kind.Int],
    [w().long(1).bytes(), Kind.Long],
    [w().long(300).bytes(), Kind.Long],
    [w().long(70000).bytes(), Kind.Long],
    [w().long(1, "Y").bytes(), Kind.Long],
    [w().long(1, "L").bytes(), Kind.Long],
    [w().mapStart().end().bytes(), Kind.Map],
    [w().mapStart("T").end().bytes(), Kind.Map],
    [w().listStart(0).bytes(), Kind.Other],
    [w().bool(true).bytes(), Kind.Other],
  ];
  for (const [bytes, kind] of kinds) {
    const r = reader(bytes);
    assert.equal(r.peekKind(), kind, `0x${bytes[0]!.toString(16)}`);
    assert.equal(r.pos, 0);
  }
});

Deno.test("Hessian2Reader.skipValue() rejects reserved and misplaced tags", () => {
  for (const tag of [0x40, 0x45, 0x47, 0x50]) {
    assertRejects(Uint8Array.of(tag), /reserved tag/, `0x${tag.toString(16)}`);
  }
  assertRejects(hex("5a"), /unexpected end of list or map/);
  // A map key position holding a reserved tag, and a type that is neither a string nor an int.
  assertRejects(hex("48 40 4e 5a"), /reserved tag 0x40/);
  assertRejects(hex("72 4e 91 92"), /expected a type name or reference, got tag 0x4e/);
  assertRejects(hex("41 0001 00 91"), /expected a binary chunk, got tag 0x91/);
  assertRejects(hex("52 0001 61 4e"), /expected a string chunk, got tag 0x4e/);
});

Deno.test("Hessian2Reader.skipValue() rejects counts and references that cannot be right", () => {
  assertRejects(hex("60"), /object of undefined class 0 \(0 defined\)/);
  assertRejects(w().classDef("A", []).objectStart(1).bytes(), /undefined class 1 \(1 defined\)/);
  assertRejects(hex("4f 8f"), /negative class reference -1/);
  assertRejects(hex("58 8f"), /negative list length -1/);
  assertRejects(hex("51 8f"), /negative reference -1/);
  assertRejects(hex("56 01 61 8f"), /negative list length/);
  assertRejects(hex("43 01 41 8f 60"), /negative field count/);
  // Claims of more than the bytes left fail before any element is read (linear, whatever is claimed).
  assertRejects(hex("58 49 7fffffff 91"), /2147483647 values claimed, 1 bytes left/);
  assertRejects(hex("43 01 41 49 7fffffff 01 61"), /2147483647 field names claimed/);
  assertRejects(
    w().classDef("A", ["a", "b", "c"]).objectStart(0).int(1).bytes(),
    /3 values claimed, 1 bytes left/,
  );
});

Deno.test("Hessian2Reader.skipValue() takes nesting up to MAX_DEPTH and rejects one level more", () => {
  const nested = (depth: number) => {
    const x = w();
    for (let i = 0; i < depth; i++) x.listStart(1);
    return x.null().bytes();
  };
  assertSkips(nested(MAX_DEPTH), `${MAX_DEPTH} levels`);
  assertRejects(nested(MAX_DEPTH + 1), new RegExp(`nesting deeper than ${MAX_DEPTH}`));
  // Maps and objects count as levels too; a million openers fail at the limit, not by stack overflow.
  assertRejects(new Uint8Array(1_000_000).fill(0x48), /nesting deeper than 64/);
  const objects = w().classDef("N", ["n"]);
  for (let i = 0; i <= MAX_DEPTH; i++) objects.objectStart(0);
  assertRejects(objects.null().bytes(), /nesting deeper than 64/);
});

Deno.test("Hessian2Reader.skipValue() is linear in its input", () => {
  // 200k one-byte elements, 50k class definitions, 20k string chunks: each pass is one walk.
  const list = w().listStart("variable");
  for (let i = 0; i < 200_000; i++) list.int(i % 40);
  assertSkips(list.end().bytes(), "long list");
  const defs = w();
  for (let i = 0; i < 50_000; i++) defs.classDef("C", []);
  assertSkips(defs.objectStart(49_999).bytes(), "many class definitions");
  assertSkips(w().string("z".repeat(20_000), { chunk: 1 }).bytes(), "one-unit chunks");
});

Deno.test("Hessian2Reader.reset() forgets class definitions", () => {
  const r = new Hessian2Reader();
  const def = w().classDef("A", ["x"]).objectStart(0).int(1).bytes();
  r.reset(def, 0, def.length);
  r.skipValue();
  const use = w().objectStart(0).int(1).bytes();
  r.reset(use, 0, use.length);
  assert.throws(() => r.skipValue(), /undefined class 0/);
});

Deno.test("Hessian2Reader reads within [start, end) of a larger buffer", () => {
  const b = hex("ff 03 616263 ff");
  const r = new Hessian2Reader(b, 1, 5);
  assert.equal(r.readString(), "abc");
  assert.ok(r.atEnd);
  assert.throws(() => new Hessian2Reader(b, 1, 4).readString(), /string truncated/);
});

Deno.test("Hessian2Reader on random bytes throws only Hessian2Error, and never reads past its end", () => {
  let seed = 0x1234;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  for (let round = 0; round < 20_000; round++) {
    const bytes = new Uint8Array(1 + (rand() % 64));
    for (let i = 0; i < bytes.length; i++) bytes[i] = rand() & 0xff;
    const r = reader(bytes);
    try {
      while (!r.atEnd) r.skipValue();
    } catch (e) {
      if (!(e instanceof Hessian2Error)) throw new Error(`round ${round}: ${e}`, { cause: e });
    }
    assert.ok(r.pos <= bytes.length, `round ${round}: pos ${r.pos} past ${bytes.length}`);
  }
});
