/**
 * The hessian2 reader against a real encoder: hessian.js `EncoderV2` (what dubbo2.js writes bodies with; a
 * test-only dependency) encodes random values, and the reader must step over each exactly, read its strings
 * back, and read whole invocations as dubbo2.js builds them.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import hessian from "hessian.js";
import { Hessian2Reader, Kind } from "./hessian2.ts";
import { readInvocation } from "./invocation.ts";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ["a", "Z", "0", " ", "é", "€", "中", "😀", "\u0000", "\u07ff", "\uffff"];

function randomString(rand: () => number): string {
  const r = rand();
  const n = r < 0.6
    ? Math.floor(rand() * 40)
    : r < 0.95
    ? Math.floor(rand() * 1500)
    : 0x8000 + Math.floor(rand() * 3000);
  let s = "";
  while (s.length < n) s += ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
  return s;
}

const CLASSES = ["com.demo.User", "com.demo.Order", "com.demo.Item"];

/** A random value as hessian.js takes it, `depth` levels deep at most. */
function randomValue(rand: () => number, depth: number): unknown {
  const pick = Math.floor(rand() * (depth > 0 ? 14 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return randomString(rand);
    case 3: {
      const scale = [0x30, 0x800, 0x40000, 0x80000000][Math.floor(rand() * 4)]!;
      return Math.floor((rand() * 2 - 1) * scale);
    }
    case 4:
      return { $class: "long", $: String(BigInt(Math.floor((rand() * 2 - 1) * 2 ** 53)) * 1024n) };
    case 5:
      return [0, 1, -128, 30000, 1.5, Math.PI, -1e300][Math.floor(rand() * 7)];
    case 6:
      return new Date(Math.floor(rand() * 2e12) - (rand() < 0.5 ? 0 : (Math.floor(rand() * 2e12) % 60000)));
    case 7:
      return Buffer.alloc(Math.floor(rand() < 0.9 ? rand() * 100 : rand() * 10000), 7);
    case 8:
      return randomString(rand).slice(0, 5);
    case 9:
      return Array.from({ length: Math.floor(rand() * 10) }, () => randomValue(rand, depth - 1));
    case 10:
      return {
        $class: "[int",
        $: Array.from({ length: Math.floor(rand() * 12) }, () => Math.floor(rand() * 1000)),
      };
    case 11: {
      const m: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 6); i > 0; i--) m[`k${i}`] = randomValue(rand, depth - 1);
      return rand() < 0.5 ? m : { $class: "java.util.HashMap", $: m };
    }
    case 12: {
      // Objects of a few classes, so later ones refer to earlier class definitions.
      const cls = CLASSES[Math.floor(rand() * CLASSES.length)]!;
      return {
        $class: cls,
        $: {
          id: Math.floor(rand() * 100),
          name: randomString(rand).slice(0, 8),
          next: randomValue(rand, depth - 1),
        },
      };
    }
    default: {
      const shared = { $class: "com.demo.Shared", $: { v: 1 } };
      return [shared, shared]; // written once, then as a reference
    }
  }
}

Deno.test("Hessian2Reader.skipValue() steps over exactly what hessian.js EncoderV2 wrote, value by value", () => {
  const rand = rng(0xdabb);
  for (let round = 0; round < 40; round++) {
    // One encoder per round: class definitions and types accumulate across values as in a dubbo body.
    const encoder = new hessian.EncoderV2();
    const ends: number[] = [];
    const strings: [number, string][] = [];
    for (let i = 0; i < 25; i++) {
      const v = randomValue(rand, 4);
      const start = encoder.byteBuffer.position();
      if (typeof v === "string") strings.push([start, v]);
      encoder.write(v);
      ends.push(encoder.byteBuffer.position());
    }
    const bytes = new Uint8Array(encoder.get());
    const r = new Hessian2Reader(bytes, 0, bytes.length);
    for (let i = 0; i < ends.length; i++) {
      r.skipValue();
      assert.equal(r.pos, ends[i], `round ${round}, value ${i}`);
    }
    for (const [start, s] of strings) {
      const sr = new Hessian2Reader(bytes, start, bytes.length);
      assert.equal(sr.peekKind(), Kind.String);
      assert.equal(sr.readString(), s, `round ${round}: string at ${start}`);
    }
  }
});

Deno.test("readInvocation() reads bodies encoded as dubbo2.js encodes them", () => {
  const rand = rng(7);
  for (let round = 0; round < 200; round++) {
    const args = Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, 3));
    const desc = args.map(() => "Ljava/lang/Object;").join("");
    const attachments: Record<string, unknown> = {
      path: "com.demo.Svc",
      interface: "com.demo.Svc",
      version: "1.0.0",
      group: `g${round}`,
      timeout: 1000 + round,
      application: "node",
    };
    // dubbo2.js encodeBody: version, interface, version, method, descriptor, args, attachments.
    const e = new hessian.EncoderV2();
    e.write("2.0.2");
    e.write("com.demo.Svc");
    e.write(round % 3 === 0 ? null : "1.0.0");
    e.write("call");
    e.write(desc);
    for (const a of args) e.write(a);
    e.write({ $class: "java.util.HashMap", $: attachments });
    const body = new Uint8Array(e.get());
    const names: string[] = [];
    const values: string[] = [];
    assert.equal(readInvocation(body, 0, body.length, 1 << 20, names, values), "call", `round ${round}`);
    const h = new Map(names.map((n, i) => [n, values[i]]));
    assert.equal(h.get("group"), `g${round}`);
    assert.equal(h.get("timeout"), String(1000 + round));
    assert.equal(h.get("service"), "com.demo.Svc");
  }
});
