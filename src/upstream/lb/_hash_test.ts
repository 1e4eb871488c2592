import { strictEqual } from "node:assert/strict";
import { fnv1a64Mod } from "./_hash.ts";

function reference(s: string, m: number): number {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h % BigInt(m));
}

Deno.test("fnv1a64Mod() equals 64-bit FNV-1a over UTF-8 reduced mod m", () => {
  strictEqual(fnv1a64Mod("a", 2 ** 20), Number(0xaf63dc4c8601ec8cn % BigInt(2 ** 20)));
  for (
    const s of ["", "a", "foobar", "10.0.0.1:8080", "héllo wörld", "日本語", "emoji 😀 key", "x".repeat(300)]
  ) {
    for (const m of [65537, 655373, 65536, 7]) {
      strictEqual(fnv1a64Mod(s, m), reference(s, m), `${s} mod ${m}`);
    }
  }
});
