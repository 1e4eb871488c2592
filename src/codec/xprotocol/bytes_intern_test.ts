import nodeAssert from "node:assert/strict";
import { decodeString } from "./bytes.ts";

const enc = new TextEncoder();

Deno.test("decodeString() returns the interned string for repeated ASCII bytes", () => {
  const a = enc.encode("xx com.nodejs.test.TestService:1.0 yy");
  const first = decodeString(a, 3, a.length - 3);
  const b = enc.encode("com.nodejs.test.TestService:1.0");
  nodeAssert.equal(first, "com.nodejs.test.TestService:1.0");
  nodeAssert.equal(decodeString(b, 0, b.length), first);
});

Deno.test("decodeString() is exact across slot collisions, UTF-8 and long strings", () => {
  // Many distinct strings: whichever share a slot must still decode to their own text.
  for (let i = 0; i < 5000; i++) {
    const s = `key-${i}-${(i * 7919) % 1000}`;
    const bytes = enc.encode(s);
    nodeAssert.equal(decodeString(bytes, 0, bytes.length), s);
  }
  const utf = enc.encode("服务名");
  nodeAssert.equal(decodeString(utf, 0, utf.length), "服务名");
  const long = "s".repeat(300);
  nodeAssert.equal(decodeString(enc.encode(long), 0, 300), long);
  nodeAssert.equal(decodeString(enc.encode(""), 0, 0), "");
});
