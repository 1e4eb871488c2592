import assert from "node:assert/strict";
import { Hessian2Error } from "./hessian2.ts";
import { countArguments, readInvocation } from "./invocation.ts";
import { HessianWriter, type Invocation, invocationBody } from "./_test_hessian.ts";
import { HELLO } from "./_test_io.ts";

const LIMIT = 64 * 1024;

function read(body: Uint8Array, limit = LIMIT): { method: string; headers: [string, string][] } {
  const names: string[] = [];
  const values: string[] = [];
  const method = readInvocation(body, 0, body.length, limit, names, values);
  return { method, headers: names.map((n, i) => [n, values[i]!]) };
}

function assertRejected(body: Uint8Array, pattern: RegExp, limit = LIMIT): void {
  assert.throws(() => read(body, limit), (e: unknown) => {
    assert.ok(e instanceof Hessian2Error, `threw ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("readInvocation() reads dubbo2.js's sayHello call into MOSN's headers", () => {
  const { method, headers } = read(invocationBody(HELLO));
  assert.equal(method, "sayHello");
  assert.deepEqual(headers, [
    ["dubbo", "2.0.2"],
    ["service", "com.demo.HelloService"],
    ["version", "1.0.0"],
    ["method", "sayHello"],
    ["path", "com.demo.HelloService"],
    ["interface", "com.demo.HelloService"],
    ["group", "blue"],
    ["timeout", "3000"],
    ["application", "node-client"],
  ]);
});

Deno.test("readInvocation() skips arguments of every kind the descriptor names", () => {
  const inv: Invocation = {
    path: "com.demo.Svc",
    method: "m",
    argTypes: "Ljava/lang/String;I[JLcom/demo/User;Ljava/util/Map;ZD",
    args: (w) => {
      w.string("a").int(7).listStart(2, "[long").long(1).long(2);
      w.classDef("com.demo.User", ["name", "tags"]).objectStart(0).string("ann").listStart("variable").end();
      w.mapStart().string("k").mapStart().end().end().bool(true).double(2.5);
    },
    attachments: { group: "g1" },
  };
  const { headers } = read(invocationBody(inv));
  assert.deepEqual(headers.slice(4), [["group", "g1"]]);
});

Deno.test("readInvocation() takes a null version, null attachments and a typed attachments map", () => {
  assert.deepEqual(read(invocationBody({ ...HELLO, version: null, attachments: null })).headers, [
    ["dubbo", "2.0.2"],
    ["service", "com.demo.HelloService"],
    ["version", ""],
    ["method", "sayHello"],
  ]);
  const typed = read(
    invocationBody({ ...HELLO, attachments: { group: "g" }, attachmentsType: "java.util.HashMap" }),
  );
  assert.deepEqual(typed.headers.slice(4), [["group", "g"]]);
});

Deno.test("readInvocation(): attachments replace the body's fields, and interface overrides service", () => {
  const body = invocationBody({
    path: "alias.Path",
    version: "1.0",
    method: "m",
    attachments: { interface: "com.real.Iface", version: "2.0", service: "ignored" },
  });
  const h = new Map(read(body).headers);
  // interface wins over a `service` attachment whatever their order: the path may be an alias.
  assert.equal(h.get("service"), "com.real.Iface");
  assert.equal(h.get("version"), "2.0");
  assert.equal(h.get("interface"), "com.real.Iface");
});

Deno.test("readInvocation() keeps string, int and long attachment values and skips the rest", () => {
  const w = new HessianWriter();
  w.string("2.0.2").string("svc").string("1").string("m").string("");
  w.mapStart();
  w.string("s").string("v");
  w.string("i").int(-5);
  w.string("l").long(2n ** 62n);
  w.string("n").null();
  w.string("b").bool(true);
  w.string("obj").classDef("X", ["a"]).objectStart(0).string("inner");
  w.int(1).string("non-string key");
  w.string("list").listStart(1).string("x");
  w.string("after").string("ok");
  w.end();
  assert.deepEqual(read(w.bytes()).headers.slice(4), [
    ["s", "v"],
    ["i", "-5"],
    ["l", (2n ** 62n).toString()],
    ["after", "ok"],
  ]);
});

Deno.test("readInvocation() skips dubbox's int marker before the descriptor", () => {
  const w = new HessianWriter();
  w.string("2.0.2").string("svc").string("1").string("m").int(-1).string("I").int(3).mapStart().end();
  assert.equal(read(w.bytes()).method, "m");
});

Deno.test("countArguments() counts as MOSN does", () => {
  const cases: [string, number][] = [
    ["", 0],
    ["I", 1],
    ["VZBCDFIJS", 9],
    ["Ljava/lang/String;", 1],
    ["Ljava/lang/String;I[J", 3],
    ["[[Ljava/lang/String;Z", 2],
    // Letters inside a class name are not arguments.
    ["LIJ/DS;", 1],
    ["Lcom/x/A;Lcom/x/B;", 2],
  ];
  for (const [desc, n] of cases) assert.equal(countArguments(desc), n, desc);
});

Deno.test("readInvocation() rejects arguments that do not match the descriptor", () => {
  // Fewer values than named: the map is taken as an argument and the attachments are missing.
  assertRejected(
    invocationBody({ ...HELLO, argTypes: "Ljava/lang/String;I" }),
    /attachments are missing after 2 arguments/,
  );
  // More values than named: an argument stands where the map should be.
  assertRejected(
    invocationBody({ ...HELLO, argTypes: "", args: (w) => w.string("world") }),
    /expected the attachments map after 0 arguments/,
  );
  // A descriptor naming more arguments than there are bytes fails before skipping any.
  assertRejected(
    invocationBody({ ...HELLO, argTypes: "I".repeat(500) }),
    /names 500 arguments, only \d+ bytes follow/,
  );
  // Bytes after the attachments.
  const extra = invocationBody(HELLO);
  const withTrailer = new Uint8Array(extra.length + 1);
  withTrailer.set(extra);
  withTrailer[extra.length] = 0x4e;
  assertRejected(withTrailer, /1 bytes follow the attachments/);
});

Deno.test("readInvocation() rejects leading fields of the wrong type", () => {
  const fields = (f: (w: HessianWriter) => void) => {
    const w = new HessianWriter();
    f(w);
    return w.bytes();
  };
  assertRejected(fields((w) => w.int(2)), /dubbo version is not a string/);
  assertRejected(fields((w) => w.string("2.0.2").null()), /service path is not a string/);
  assertRejected(fields((w) => w.string("2").string("s").int(1)), /service version is not a string/);
  assertRejected(fields((w) => w.string("2").string("s").null().null()), /method name is not a string/);
  assertRejected(
    fields((w) => w.string("2").string("s").null().string("m").listStart(0)),
    /argument type descriptor is not a string/,
  );
  assertRejected(new Uint8Array(0), /dubbo version is missing/);
  assertRejected(
    fields((w) => w.string("2").string("s").null().string("m")),
    /argument type descriptor is missing/,
  );
});

Deno.test("readInvocation() rejects every truncation of a valid body", () => {
  const body = invocationBody(HELLO);
  for (let cut = 0; cut < body.length; cut++) {
    assert.throws(() => read(body.subarray(0, cut)), Hessian2Error, `cut at ${cut}`);
  }
});

Deno.test("readInvocation() bounds the metadata by max_header_size", () => {
  const body = invocationBody({ ...HELLO, attachments: { big: "v".repeat(2000) } });
  assert.doesNotThrow(() => read(body, 4096));
  assertRejected(body, /metadata .* over the limit of 1024 \(max_header_size\)/, 1024);
  // The leading fields count too.
  assertRejected(invocationBody({ ...HELLO, path: "p".repeat(200) }), /over the limit of 100/, 100);
  // Large arguments do not: they are the body, not metadata.
  const bigArg = invocationBody({ ...HELLO, args: (w) => w.string("a".repeat(10_000)) });
  assert.doesNotThrow(() => read(bigArg, 1024));
});
