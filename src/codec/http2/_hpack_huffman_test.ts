import { assertEquals } from "../../../tests/_assert.ts";
import {
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanDecodeRoom,
  huffmanEncode,
  huffmanEncodedLength,
} from "./_hpack_huffman.ts";

/** RFC 7541 Appendix B's "code as hex" column, symbols 0–256. */
const RFC_CODES = (
  "1ff8 7fffd8 fffffe2 fffffe3 fffffe4 fffffe5 fffffe6 fffffe7 fffffe8 ffffea 3ffffffc fffffe9 " +
  "fffffea 3ffffffd fffffeb fffffec fffffed fffffee fffffef ffffff0 ffffff1 ffffff2 3ffffffe " +
  "ffffff3 ffffff4 ffffff5 ffffff6 ffffff7 ffffff8 ffffff9 ffffffa ffffffb 14 3f8 3f9 ffa 1ff9 15 " +
  "f8 7fa 3fa 3fb f9 7fb fa 16 17 18 0 1 2 19 1a 1b 1c 1d 1e 1f 5c fb 7ffc 20 ffb 3fc 1ffa 21 5d 5e " +
  "5f 60 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71 72 fc 73 fd 1ffb 7fff0 1ffc 3ffc 22 " +
  "7ffd 3 23 4 24 5 25 26 27 6 74 75 28 29 2a 7 2b 76 2c 8 9 2d 77 78 79 7a 7b 7ffe 7fc 3ffd 1ffd " +
  "ffffffc fffe6 3fffd2 fffe7 fffe8 3fffd3 3fffd4 3fffd5 7fffd9 3fffd6 7fffda 7fffdb 7fffdc 7fffdd " +
  "7fffde ffffeb 7fffdf ffffec ffffed 3fffd7 7fffe0 ffffee 7fffe1 7fffe2 7fffe3 7fffe4 1fffdc " +
  "3fffd8 7fffe5 3fffd9 7fffe6 7fffe7 ffffef 3fffda 1fffdd fffe9 3fffdb 3fffdc 7fffe8 7fffe9 1fffde " +
  "7fffea 3fffdd 3fffde fffff0 1fffdf 3fffdf 7fffeb 7fffec 1fffe0 1fffe1 3fffe0 1fffe2 7fffed " +
  "3fffe1 7fffee 7fffef fffea 3fffe2 3fffe3 3fffe4 7ffff0 3fffe5 3fffe6 7ffff1 3ffffe0 3ffffe1 " +
  "fffeb 7fff1 3fffe7 7ffff2 3fffe8 1ffffec 3ffffe2 3ffffe3 3ffffe4 7ffffde 7ffffdf 3ffffe5 fffff1 " +
  "1ffffed 7fff2 1fffe3 3ffffe6 7ffffe0 7ffffe1 3ffffe7 7ffffe2 fffff2 1fffe4 1fffe5 3ffffe8 " +
  "3ffffe9 ffffffd 7ffffe3 7ffffe4 7ffffe5 fffec fffff3 fffed 1fffe6 3fffe9 1fffe7 1fffe8 7ffff3 " +
  "3fffea 3fffeb 1ffffee 1ffffef fffff4 fffff5 3ffffea 7ffff4 3ffffeb 7ffffe6 3ffffec 3ffffed " +
  "7ffffe7 7ffffe8 7ffffe9 7ffffea 7ffffeb ffffffe 7ffffec 7ffffed 7ffffee 7ffffef 7fffff0 3ffffee " +
  "3fffffff"
).split(" ").map((h) => parseInt(h, 16));

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function unhex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
}

function encode(s: string): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(s));
  assertEquals(huffmanEncode(s, out, 0), out.length);
  return out;
}

function decode(b: Uint8Array): string | -1 {
  const out = new Uint8Array(huffmanDecodeRoom(b.length));
  const n = huffmanDecode(b, 0, b.length, out, 0);
  return n < 0 ? -1 : String.fromCharCode(...out.subarray(0, n));
}

Deno.test("HUFFMAN_CODES are RFC 7541 Appendix B's codes", () => {
  assertEquals(RFC_CODES.length, 257);
  assertEquals(Array.from(HUFFMAN_CODES), RFC_CODES);
  // Each code fits its length, so the length column is right too.
  for (let s = 0; s <= 256; s++) assertEquals(RFC_CODES[s]! < 2 ** HUFFMAN_LENGTHS[s]!, true, `symbol ${s}`);
  assertEquals(HUFFMAN_LENGTHS[256], 30);
});

Deno.test("huffmanEncode() and huffmanDecode() round-trip every symbol 0–255", () => {
  for (let c = 0; c < 256; c++) {
    const s = String.fromCharCode(c);
    assertEquals(decode(encode(s)), s, `symbol ${c}`);
    // Symbol in between others: codes must not bleed into their neighbours.
    const t = "a" + s + "z" + s + s;
    assertEquals(decode(encode(t)), t, `symbol ${c} in context`);
  }
  let all = "";
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  assertEquals(decode(encode(all)), all);
  assertEquals(decode(encode(all.split("").reverse().join(""))), all.split("").reverse().join(""));
});

Deno.test("huffmanEncode() gives RFC 7541 C.4 and C.6 string encodings", () => {
  assertEquals(hex(encode("www.example.com")), "f1e3c2e5f23a6ba0ab90f4ff");
  assertEquals(hex(encode("no-cache")), "a8eb10649cbf");
  assertEquals(hex(encode("custom-key")), "25a849e95ba97d7f");
  assertEquals(hex(encode("custom-value")), "25a849e95bb8e8b4bf");
  assertEquals(hex(encode("302")), "6402");
  assertEquals(hex(encode("private")), "aec3771a4b");
  assertEquals(hex(encode("Mon, 21 Oct 2013 20:13:21 GMT")), "d07abe941054d444a8200595040b8166e082a62d1bff");
  assertEquals(hex(encode("https://www.example.com")), "9d29ad171863c78f0b97c8e9ae82ae43d3");
  assertEquals(
    hex(encode("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")),
    "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
  );
});

Deno.test("huffmanDecode() round-trips random latin1 strings of every length up to 300", () => {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let len = 0; len <= 300; len++) {
    let s = "";
    // Mostly printable ASCII, sometimes anything.
    for (let i = 0; i < len; i++) {
      s += String.fromCharCode(rnd() < 0.8 ? 32 + (rnd() * 95 | 0) : rnd() * 256 | 0);
    }
    assertEquals(decode(encode(s)), s, `length ${len}`);
  }
});

Deno.test("huffmanEncodedLength() is the encoded size and writes chars above 0xff as ?", () => {
  assertEquals(huffmanEncodedLength(""), 0);
  assertEquals(huffmanEncodedLength("a"), 1); // 5 bits
  assertEquals(huffmanEncodedLength("aaaaaaaa"), 5); // 40 bits
  assertEquals(huffmanEncodedLength("\u0100"), huffmanEncodedLength("?"));
  assertEquals(decode(encode("x\u20acy")), "x?y");
});

Deno.test("huffmanDecode() rejects padding longer than 7 bits", () => {
  assertEquals(decode(unhex("ff")), -1); // 8 bits of padding, no symbol
  assertEquals(decode(unhex("1fff")), -1); // "a" (5 bits), then 11 bits of ones
  assertEquals(decode(unhex("1f")), "a"); // "a" and 3 bits of padding is fine
  assertEquals(decode(unhex("fe3f")), "!"); // 10-bit code, 6 bits of padding
});

Deno.test("huffmanDecode() rejects padding that is not the prefix of EOS", () => {
  assertEquals(decode(unhex("18")), -1); // "a", then 000
  assertEquals(decode(unhex("1e")), -1); // "a", then 110
  assertEquals(decode(unhex("fe00")), -1); // "!", then 000000
});

Deno.test("huffmanDecode() rejects the EOS symbol inside the string", () => {
  assertEquals(decode(unhex("fffffffc")), -1); // EOS (30 ones) + 00
  assertEquals(decode(unhex("fffffffd")), -1); // EOS + 01
  assertEquals(decode(unhex("1fffffffff")), -1); // "a", EOS, padding
  // 29 ones end inside EOS's code: padding longer than 7 bits, not a symbol.
  assertEquals(decode(unhex("fffffff8")), -1);
});

Deno.test("huffmanDecode() stays within huffmanDecodeRoom()", () => {
  for (const s of ["", "a", "0123456789", "\u00ff\u0000~", "aaaaaaaa"]) {
    const b = encode(s);
    const out = new Uint8Array(3 + huffmanDecodeRoom(b.length) + 3).fill(0xee);
    assertEquals(huffmanDecode(b, 0, b.length, out, 3), s.length);
    assertEquals(String.fromCharCode(...out.subarray(3, 3 + s.length)), s);
    assertEquals(Array.from(out.subarray(0, 3)), [0xee, 0xee, 0xee]);
    assertEquals(Array.from(out.subarray(out.length - 3)), [0xee, 0xee, 0xee]);
  }
  // Five-bit codes only: the longest output for its size.
  assertEquals(huffmanDecodeRoom(5), 9);
  assertEquals(decode(encode("00000000")), "00000000");
});
