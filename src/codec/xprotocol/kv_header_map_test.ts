import nodeAssert from "node:assert/strict";
import { KvHeaderMap } from "./kv_header_map.ts";

const enc = new TextEncoder();
const NULL = null;

/** Bolt's layout: u32 length + key, u32 length + value; `null` is the 0xFFFFFFFF length. */
function layout(entries: [string | null, string | null][]): Uint8Array {
  const parts: number[] = [];
  const put = (s: string | null): void => {
    if (s === null) {
      parts.push(0xff, 0xff, 0xff, 0xff);
      return;
    }
    const b = enc.encode(s);
    parts.push(b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff, ...b);
  };
  for (const [k, v] of entries) {
    put(k);
    put(v);
  }
  return Uint8Array.from(parts);
}

/** The map as the eager constructor holds it (null keys or values dropped). */
function eager(entries: [string | null, string | null][]): KvHeaderMap {
  const kept = entries.filter(([k, v]) => k !== null && v !== null) as [string, string][];
  return new KvHeaderMap(kept.map((e) => e[0]), kept.map((e) => e[1]));
}

function raw(entries: [string | null, string | null][], pad = 3): KvHeaderMap {
  const body = layout(entries);
  const b = new Uint8Array(body.length + 2 * pad).fill(0xee);
  b.set(body, pad);
  return KvHeaderMap.fromLengthPrefixed(b, pad, pad + body.length)!;
}

function entriesOf(m: KvHeaderMap): [string, string][] {
  const out: [string, string][] = [];
  m.forEach((v, k) => out.push([k, v]));
  return out;
}

const CASES: [string | null, string | null][][] = [
  [],
  [["service", "com.a.B:1.0"], ["sofa_head_method_name", "plus"]],
  [["Service", "first"], ["service", "exact"], ["SERVICE", "third"]],
  [["Service", "fold"], ["other", "x"]],
  [[NULL, "v"], ["k", NULL], ["k", "after-null"], ["", "empty key"], ["e", ""]],
  [["\u212a", "kelvin"], ["k", "ascii"]],
  [["\u212a", "kelvin"], ["x", "y"]],
  [["服务", "名"], ["method", "m"]],
  [["a@", "1"], ["A`", "2"], ["[", "3"], ["{", "4"]],
  [["long", "v".repeat(200)]],
];
const NAMES = [
  "service",
  "SERVICE",
  "Service",
  "sofa_head_method_name",
  "method",
  "k",
  "K",
  "x",
  "e",
  "",
  "a@",
  "A`",
  "a`",
  "[",
  "{",
  "服务",
  "long",
  "absent",
  "\u212a",
];

Deno.test("KvHeaderMap.fromLengthPrefixed() answers get/has exactly as the decoded map", () => {
  for (const c of CASES) {
    const want = eager(c);
    for (const name of NAMES) {
      // A fresh raw map per name: the first lookups are answered from the bytes.
      nodeAssert.equal(
        raw(c).get(name),
        want.get(name),
        `get(${JSON.stringify(name)}) in ${JSON.stringify(c)}`,
      );
      nodeAssert.equal(
        raw(c).has(name),
        want.has(name),
        `has(${JSON.stringify(name)}) in ${JSON.stringify(c)}`,
      );
    }
    // One map asked many times: past the raw lookups it decodes itself and must still agree.
    const m = raw(c);
    for (let round = 0; round < 3; round++) {
      for (const name of NAMES) nodeAssert.equal(m.get(name), want.get(name));
    }
    nodeAssert.deepEqual(entriesOf(raw(c)), entriesOf(want));
    nodeAssert.equal(raw(c).size, want.size);
    nodeAssert.equal(raw(c).dirty, false);
  }
});

Deno.test("KvHeaderMap.fromLengthPrefixed() edits decode first and mark the map dirty", () => {
  const c: [string, string][] = [["service", "s"], ["method", "m"]];
  const m = raw(c);
  nodeAssert.equal(m.get("service"), "s");
  m.set("Service", "t");
  m.add("new", "n");
  m.delete("method");
  nodeAssert.equal(m.dirty, true);
  nodeAssert.deepEqual(entriesOf(m), [["service", "t"], ["new", "n"]]);
  const same = raw(c);
  same.set("service", "s"); // the value it already has: not an edit
  nodeAssert.equal(same.dirty, false);
});

Deno.test("KvHeaderMap.fromLengthPrefixed() rejects entries that overrun the map", () => {
  const good = layout([["key", "value"]]);
  for (let cut = 1; cut < good.length; cut++) {
    nodeAssert.equal(KvHeaderMap.fromLengthPrefixed(good, 0, cut), undefined, `cut at ${cut}`);
  }
  const huge = Uint8Array.from([0x7f, 0xff, 0xff, 0xff, 0x61]);
  nodeAssert.equal(KvHeaderMap.fromLengthPrefixed(huge, 0, huge.length), undefined);
  nodeAssert.equal(KvHeaderMap.fromLengthPrefixed(good, 0, good.length)?.get("key"), "value");
  nodeAssert.equal(KvHeaderMap.fromLengthPrefixed(good, 0, 0)?.size, 0);
});

Deno.test("KvHeaderMap.sameEntries() is true only for equal undecoded, unedited bytes", () => {
  const c: [string, string][] = [["service", "s"], ["method", "m"]];
  nodeAssert.equal(raw(c, 1).sameEntries(raw(c, 7)), true, "equal bytes at other offsets");
  nodeAssert.equal(raw(c).sameEntries(raw([["service", "s"], ["method", "n"]])), false);
  nodeAssert.equal(raw(c).sameEntries(raw([["service", "s"]])), false);
  nodeAssert.equal(raw(c).sameEntries(eager(c)), false, "a decoded map cannot tell cheaply");
  const edited = raw(c);
  edited.set("method", "m2");
  nodeAssert.equal(edited.sameEntries(raw(c)), false);
  nodeAssert.equal(raw(c).sameEntries(edited), false);
  const decoded = raw(c);
  decoded.forEach(() => {});
  nodeAssert.equal(decoded.sameEntries(raw(c)), false);
  nodeAssert.equal(raw([]).sameEntries(raw([])), true);
});
