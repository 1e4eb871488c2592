import assert from "node:assert/strict";
import type { HeaderMap } from "../types.ts";
import { KvHeaderMap } from "../xprotocol/mod.ts";
import { decodeDubboRequest, DubboRequestHead } from "./frame.ts";
import type { DubboHeaderMap } from "./headers.ts";
import { readInvocation } from "./invocation.ts";
import { HessianWriter } from "./_test_hessian.ts";
import { call, FLAG_CALL, frame, HELLO } from "./_test_io.ts";

function headOf(bytes: Uint8Array): DubboRequestHead {
  const h = decodeDubboRequest(bytes, 65536);
  assert.ok(h instanceof DubboRequestHead, String(h));
  return h;
}

/** The call carrying `body` as its invocation. */
function head(body: Uint8Array): DubboRequestHead {
  return headOf(frame(FLAG_CALL, 0, 1, body));
}

/** What the headers were before they became lazy: every field decoded into a KvHeaderMap. */
function decoded(body: Uint8Array): KvHeaderMap {
  const names: string[] = [];
  const values: string[] = [];
  readInvocation(body, 0, body.length, 65536, names, values);
  return new KvHeaderMap(names, values);
}

/** A deterministic pseudo-random source (xorshift32), so a failure names its seed. */
function rng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const KEYS = [
  "service",
  "Service",
  "SERVICE",
  "interface",
  "Interface",
  "timeout",
  "TimeOut",
  "version",
  "Version",
  "method",
  "dubbo",
  "DUBBO",
  "group",
  "path",
  "x-a",
  "X-A",
  "",
];
const LOOKUPS = [...KEYS, "absent", "TIMEOUT", "group2", "grouP", "x-b", "méthode"];

/** A body with random leading fields and attachments: duplicate and case-variant keys, mixed values. */
function randomBody(next: () => number): Uint8Array {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const w = new HessianWriter();
  w.string("2.0.2").string(pick(["com.demo.Svc", "alias.Path", "é.Svc"]));
  if (next() < 0.2) w.null();
  else w.string(pick(["1.0.0", "2.0", ""]));
  w.string(pick(["sayHello", "m"])).string("Ljava/lang/String;").string("world");
  if (next() < 0.1) return w.null().bytes();
  w.mapStart();
  const n = Math.floor(next() * 8);
  for (let i = 0; i < n; i++) {
    const r = next();
    if (r < 0.05) w.int(7); // a key that is not a string: skipped
    else if (r < 0.1) w.string(pick(["clé", "Ünïcode"])); // a key that is not ASCII
    else if (r < 0.15) w.string(pick(KEYS), { chunk: 2 }); // chunked
    else w.string(pick(KEYS));
    const v = next();
    if (v < 0.3) w.string(pick(["v1", "com.real.Iface", "3000", "été", ""]));
    else if (v < 0.45) w.string("chunked-value", { chunk: 4 });
    else if (v < 0.65) w.int(pick([3000, -5, 0, 250, 2147483647]));
    else if (v < 0.75) w.long(pick([5, 2n ** 62n, -1]));
    else if (v < 0.85) w.null(); // skipped
    else w.bool(true); // skipped
  }
  return w.end().bytes();
}

Deno.test("DubboHeaderMap answers every lookup as the decoded map does (random bodies, case variants, duplicates)", () => {
  for (let seed = 1; seed <= 400; seed++) {
    const next = rng(seed);
    const body = randomBody(next);
    const expected = decoded(body);
    const lazy = head(body).headers;
    for (const name of LOOKUPS) {
      assert.equal(lazy.get(name), expected.get(name), `seed ${seed}: get(${JSON.stringify(name)})`);
      assert.equal(lazy.has(name), expected.has(name), `seed ${seed}: has(${JSON.stringify(name)})`);
    }
    const entries = (m: { forEach(fn: (v: string, k: string) => void): void }) => {
      const out: [string, string][] = [];
      m.forEach((v, k) => out.push([k, v]));
      return out;
    };
    assert.deepEqual(entries(lazy), entries(expected), `seed ${seed}: forEach`);
    assert.equal(lazy.size, expected.size, `seed ${seed}: size`);
  }
});

Deno.test("DubboHeaderMap decodes on the first edit and then behaves as a KvHeaderMap", () => {
  const h = headOf(call(1)).headers;
  assert.equal(h.get("service"), "com.demo.HelloService");
  h.set("service", "other");
  h.add("x-added", "1");
  h.delete("group");
  assert.equal(h.get("service"), "other");
  assert.equal(h.get("x-added"), "1");
  assert.equal(h.has("group"), false);
  assert.equal(h.get("timeout"), "3000");
  assert.equal(h.intValue("timeout"), undefined); // decoded: the text is what there is
});

Deno.test("DubboHeaderMap has no sameEntries: the router matches every call (comparing bytes cost more)", () => {
  const headers: HeaderMap = headOf(call(1)).headers;
  assert.equal(headers.sameEntries, undefined);
});

Deno.test("DubboHeaderMap.intValue gives an int attachment as a number, text values not at all", () => {
  const map = (timeout: unknown): DubboHeaderMap =>
    headOf(call(1, { ...HELLO, attachments: { timeout } })).headers;
  assert.equal(map(3000).intValue("timeout"), 3000);
  assert.equal(map(-5).intValue("timeout"), -5);
  assert.equal(map("3000").intValue("timeout"), undefined);
  assert.equal(map(3000).intValue("absent"), undefined);
});
