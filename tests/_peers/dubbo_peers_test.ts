/**
 * The dubbo peers work peer ↔ peer, without meshctl: dubbo2.js (the real client) calls the hessian.js
 * provider directly, the raw helpers encode what dubbo2.js encodes, and the golden frames are what the
 * two really exchange.
 */
import assert from "node:assert/strict";
import {
  DUBBO_REQUEST as BENCH_REQUEST,
  DUBBO_RESPONSE as BENCH_RESPONSE,
  HEARTBEAT_RESPONSE as BENCH_HEARTBEAT_RESPONSE,
} from "../../bench/_dubbo_frames.ts";
import { PRIVATE_LOOPBACK } from "../_e2e.ts";
import {
  DEMO_SERVICE,
  dubbo2jsHeartbeat,
  dubboConsumer,
  type DubboProvider,
  startDubboProvider,
} from "./dubbo_peers.ts";
import {
  DUBBO2JS_CALL,
  DUBBO2JS_HEARTBEAT,
  mosnHeartbeatReplyHex,
  NOTES_REPLY,
  NOTES_REQUEST,
  PROVIDER_EXCEPTION_REPLY,
  PROVIDER_HEARTBEAT_REPLY,
  PROVIDER_NULL_REPLY,
  PROVIDER_VALUE_REPLY,
} from "./dubbo_golden.ts";
import {
  decodeRequest,
  decodeResponse,
  DubboRawClient,
  encodeHeartbeat,
  encodeOkResponse,
  encodeRequest,
  frameId,
  frameStatus,
  int,
  rawDubboCall,
  ResponseFlag,
  Status,
  str,
  toHex,
  withId,
} from "./dubbo_raw.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // dubbo2.js's node:net socket and timers

const V1 = { version: "1.0.0" };

Deno.test("dubbo peers: dubbo2.js calls the provider directly", opts, async () => {
  const provider = startDubboProvider({ identity: "p1" });
  const consumer = dubboConsumer(provider.address);
  try {
    assert.equal(
      await consumer.call(DEMO_SERVICE, "sayHello", [str("world")], V1),
      "Hello world, response from provider: p1",
    );
    assert.equal(await consumer.call(DEMO_SERVICE, "plus", [int(2), int(3)], V1), 5);
    assert.equal(await consumer.call(DEMO_SERVICE, "whoami", [], V1), "p1");
    assert.equal(await consumer.call(DEMO_SERVICE, "nothing", [], V1), null);
    const many = await Promise.all(
      Array.from({ length: 200 }, (_, i) => consumer.call(DEMO_SERVICE, "plus", [int(i), int(i)], V1)),
    );
    assert.deepEqual(many, Array.from({ length: 200 }, (_, i) => 2 * i));
    // The provider's exception reaches the caller as an Error with the Java class and message.
    await assert.rejects(consumer.call(DEMO_SERVICE, "fail", [str("boom")], V1), (e: Error) => {
      assert.equal(e.name, "java.lang.RuntimeException");
      assert.equal(e.message, "boom");
      return true;
    });
    // No exporter for that version: status 70 with Dubbo's message.
    await assert.rejects(
      consumer.call(DEMO_SERVICE, "whoami", [], { version: "9.9.9" }),
      /Not found exported service: org\.apache\.dubbo\.demo\.DemoService:9\.9\.9/,
    );
    await assert.rejects(consumer.call(DEMO_SERVICE, "noSuchMethod", [], V1), /NoSuchMethodException/);
    assert.deepEqual(
      ["sayHello", "plus", "whoami", "nothing", "fail", "noSuchMethod"].map((m) => provider.callsOf(m)),
      [1, 201, 2, 1, 1, 1],
    );
    const first = provider.calls[0]!;
    assert.deepEqual(
      [first.dubboVersion, first.service, first.version, first.group, first.method, first.parameterTypes],
      ["2.0.2", DEMO_SERVICE, "1.0.0", "", "sayHello", "Ljava/lang/String;"],
    );
    assert.deepEqual(first.args, ["world"]);
    assert.equal(first.attachments["application"], "dubbo2.js");
    assert.equal(provider.connections, 1, "dubbo2.js keeps one connection");
  } finally {
    await consumer.close();
    await provider.stop();
  }
});

Deno.test("dubbo peers: two providers are told apart by version and group", opts, async () => {
  const blue = startDubboProvider({ identity: "blue-1.0", version: "1.0.0", group: "blue" });
  const green = startDubboProvider({ identity: "green-2.0", version: "2.0.0", group: "green" });
  const toBlue = dubboConsumer(blue.address);
  const toGreen = dubboConsumer(green.address);
  try {
    assert.equal(
      await toBlue.call(DEMO_SERVICE, "whoami", [], { version: "1.0.0", group: "blue" }),
      "blue-1.0",
    );
    assert.equal(
      await toGreen.call(DEMO_SERVICE, "whoami", [], { version: "2.0.0", group: "green" }),
      "green-2.0",
    );
    // Each exports only its own group/service:version.
    for (
      const [consumer, o] of [
        [toBlue, { version: "1.0.0", group: "green" }],
        [toBlue, { version: "2.0.0", group: "blue" }],
        [toBlue, { version: "1.0.0" }],
        [toGreen, { version: "1.0.0", group: "blue" }],
      ] as const
    ) {
      await assert.rejects(consumer.call(DEMO_SERVICE, "whoami", [], o), /Not found exported service/);
    }
    assert.deepEqual([blue.callsOf("whoami"), green.callsOf("whoami")], [4, 2]);
    assert.deepEqual(blue.calls.map((c) => `${c.group}/${c.version}`), [
      "blue/1.0.0",
      "green/1.0.0",
      "blue/2.0.0",
      "/1.0.0",
    ]);
  } finally {
    await toBlue.close();
    await toGreen.close();
    await blue.stop();
    await green.stop();
  }
});

Deno.test("dubbo peers: heartbeats are answered with Dubbo's heartbeat response", opts, async () => {
  const provider = startDubboProvider({ recordWire: true });
  const consumer = dubboConsumer(provider.address);
  try {
    await consumer.connected();
    consumer.heartbeat(); // dubbo2.js's own heartbeat frame, id 0
    await provider.until(() => provider.sent.length === 1, "the heartbeat answer");
    assert.equal(toHex(provider.sent[0]!), toHex(PROVIDER_HEARTBEAT_REPLY));
    assert.equal(await consumer.call(DEMO_SERVICE, "plus", [int(1), int(1)], V1), 2, "calls go on after it");

    const raw = await DubboRawClient.connect(provider.port);
    try {
      const res = await raw.call(encodeHeartbeat(77n));
      assert.equal(toHex(res), toHex(withId(PROVIDER_HEARTBEAT_REPLY, 77n)));
      // Oneway heartbeat: HeartbeatHandler answers only two-way requests.
      await raw.send(encodeHeartbeat(78n, false));
      const after = await raw.call(
        encodeRequest({ id: 79n, service: DEMO_SERVICE, ...V1, method: "whoami" }),
      );
      assert.equal(frameId(after), 79n, "nothing came back for the oneway heartbeat");
    } finally {
      raw.close();
    }
    assert.equal(provider.heartbeats, 3);
    assert.equal(provider.calls.length, 2, "heartbeats are not calls");
  } finally {
    await consumer.close();
    await provider.stop();
  }
});

Deno.test("dubbo peers: a oneway request runs once and gets no answer", opts, async () => {
  const provider = startDubboProvider();
  const raw = await DubboRawClient.connect(provider.port);
  try {
    await raw.send(
      encodeRequest({
        id: 5n,
        service: DEMO_SERVICE,
        ...V1,
        method: "echo",
        args: [str("a")],
        twoWay: false,
      }),
    );
    await provider.until(() => provider.callsOf("echo") === 1, "the oneway call");
    assert.equal(provider.calls[0]!.twoWay, false);
    // Even a oneway call that fails gets nothing back.
    await raw.send(encodeRequest({ id: 6n, service: "no.Such", method: "x", twoWay: false }));
    const res = await raw.call(
      encodeRequest({ id: 7n, service: DEMO_SERVICE, ...V1, method: "echo", args: [str("b")] }),
    );
    assert.deepEqual([frameId(res), decodeResponse(res).value], [7n, "b"]);
    assert.equal(await raw.next(200), "timeout", "nothing else comes back");
    assert.equal(provider.callsOf("echo"), 2);
  } finally {
    raw.close();
    await provider.stop();
  }
});

Deno.test("dubbo peers: response forms follow the request's dubbo version", opts, async () => {
  const provider = startDubboProvider();
  const raw = await DubboRawClient.connect(provider.port);
  try {
    const call = async (dubboVersion: string, method: string, args = [str("x")]) =>
      decodeResponse(
        await raw.call(encodeRequest({ id: 1n, dubboVersion, service: DEMO_SERVICE, ...V1, method, args })),
      );
    // 2.0.2 ≤ dubbo ≤ 2.0.99: with attachments; 2.6.x (and none) without, as Dubbo 2.7 decides.
    for (
      const [v, attach] of [["2.0.2", true], ["2.0.99", true], ["2.6.0", false], ["2.0.1", false]] as const
    ) {
      const value = await call(v, "echo");
      const none = await call(v, "nothing", []);
      const exc = await call(v, "fail", [str("bad")]);
      assert.deepEqual(
        [value.resultFlag, none.resultFlag, exc.resultFlag],
        attach
          ? [
            ResponseFlag.VALUE_WITH_ATTACHMENTS,
            ResponseFlag.NULL_VALUE_WITH_ATTACHMENTS,
            ResponseFlag.WITH_EXCEPTION_WITH_ATTACHMENTS,
          ]
          : [ResponseFlag.VALUE, ResponseFlag.NULL_VALUE, ResponseFlag.WITH_EXCEPTION],
        v,
      );
      assert.deepEqual(value.attachments, attach ? { dubbo: "2.0.2" } : undefined);
      assert.equal(value.value, "x");
      assert.equal((exc.exception as Error).message, "bad");
    }
  } finally {
    raw.close();
    await provider.stop();
  }
});

Deno.test("dubbo peers: the provider refuses what Dubbo refuses", opts, async () => {
  const provider = startDubboProvider();
  try {
    const good = encodeRequest({ id: 9n, service: DEMO_SERVICE, ...V1, method: "echo", args: [str("y")] });
    // Another serialization id, and a body cut short: BAD_REQUEST (40) with the reason, connection kept.
    const otherSerialization = good.slice();
    otherSerialization[2] = (otherSerialization[2]! & ~0x1f) | 3;
    const truncated = good.slice(0, good.length - 10);
    new DataView(truncated.buffer).setUint32(12, truncated.length - 16);
    const raw = await DubboRawClient.connect(provider.port);
    try {
      let res = await raw.call(otherSerialization);
      assert.equal(frameStatus(res), Status.BAD_REQUEST);
      assert.match(decodeResponse(res).errorMessage!, /Unexpected serialization id:3/);
      res = await raw.call(truncated);
      assert.deepEqual([frameId(res), frameStatus(res)], [9n, Status.BAD_REQUEST]);
      res = await raw.call(good);
      assert.deepEqual([frameStatus(res), decodeResponse(res).value], [Status.OK, "y"]);
    } finally {
      raw.close();
    }
    // Wrong magic, or a body over the 8 MiB payload limit: the connection is closed.
    const oversized = good.slice(0, 16);
    new DataView(oversized.buffer).setUint32(12, 8 * 1024 * 1024 + 1);
    for (const bad of [new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"), oversized]) {
      const c = await DubboRawClient.connect(provider.port);
      try {
        await c.send(bad);
        assert.ok(await c.waitClosed(3000), "the provider closed the connection");
      } finally {
        c.close();
      }
    }
    assert.deepEqual([provider.badRequests, provider.badFrames, provider.callsOf("echo")], [2, 2, 1]);
  } finally {
    await provider.stop();
  }
});

Deno.test(
  "dubbo peers: crash() drops every connection mid-call and restart() serves the same port",
  opts,
  async () => {
    // Back on the same port below: on a loopback address no test binds with port 0.
    const provider: DubboProvider = startDubboProvider({ hostname: PRIVATE_LOOPBACK });
    const port = provider.port;
    try {
      const conn = await Deno.connect({ hostname: PRIVATE_LOOPBACK, port });
      const c2 = await Deno.connect({ hostname: PRIVATE_LOOPBACK, port });
      try {
        const slow = encodeRequest({
          id: 1n,
          service: DEMO_SERVICE,
          ...V1,
          method: "slow",
          args: [int(60_000)],
        });
        await conn.write(slow);
        await provider.until(
          () => provider.callsOf("slow") === 1 && provider.openConnections === 2,
          "slow call",
        );
        await conn.write(encodeRequest({ id: 2n, service: DEMO_SERVICE, ...V1, method: "crash" }));
        const buf = new Uint8Array(64);
        assert.equal(await conn.read(buf).catch(() => null), null, "closed without an answer");
        assert.equal(await c2.read(buf).catch(() => null), null, "every connection closed");
      } finally {
        conn.close();
        c2.close();
      }
      assert.equal(provider.listening, false);
      await assert.rejects(Deno.connect({ hostname: PRIVATE_LOOPBACK, port }));
      provider.restart();
      assert.equal(provider.port, port);
      const consumer = dubboConsumer(provider.address);
      try {
        assert.equal(await consumer.call(DEMO_SERVICE, "plus", [int(4), int(4)], V1), 8);
      } finally {
        await consumer.close();
      }
      assert.deepEqual([provider.callsOf("slow"), provider.callsOf("crash"), provider.callsOf("plus")], [
        1,
        1,
        1,
      ]);
      assert.deepEqual(provider.calls.map((c) => c.connection), [1, 1, 3]);
    } finally {
      await provider.stop();
    }
  },
);

Deno.test("dubbo peers: golden frames are what dubbo2.js and the provider exchange", opts, async () => {
  const provider = startDubboProvider({ identity: "p1", group: "blue", recordWire: true });
  const consumer = dubboConsumer(provider.address);
  try {
    const blue = { version: "1.0.0", group: "blue" };
    await consumer.call(DEMO_SERVICE, "sayHello", [str("world")], {
      ...blue,
      timeout: 3000,
      attachments: { traceId: "t-1" },
    });
    await consumer.call(DEMO_SERVICE, "fail", [str("boom")], blue).catch(() => {});
    await consumer.call(DEMO_SERVICE, "nothing", [], blue);
    const id = frameId(provider.received[0]!);
    const golden = [PROVIDER_VALUE_REPLY, PROVIDER_EXCEPTION_REPLY, PROVIDER_NULL_REPLY];
    assert.equal(toHex(withId(provider.received[0]!, 1n)), toHex(DUBBO2JS_CALL));
    for (let i = 0; i < 3; i++) {
      assert.equal(toHex(withId(provider.sent[i]!, 0n)), toHex(withId(golden[i]!, 0n)), `reply ${i}`);
      assert.equal(frameId(provider.sent[i]!), id + BigInt(i));
    }
    assert.equal(toHex(dubbo2jsHeartbeat()), toHex(DUBBO2JS_HEARTBEAT));
    // The raw encoder writes what dubbo2.js writes for the same call.
    const rebuilt = encodeRequest({
      id: 1n,
      service: DEMO_SERVICE,
      ...blue,
      method: "sayHello",
      args: [str("world")],
      attachments: { timeout: 3000, traceId: "t-1" },
    });
    assert.equal(toHex(rebuilt), toHex(DUBBO2JS_CALL));
    const decoded = decodeRequest(DUBBO2JS_CALL);
    assert.deepEqual(decoded.attachments, {
      application: "dubbo2.js",
      group: "blue",
      interface: DEMO_SERVICE,
      path: DEMO_SERVICE,
      timeout: 3000,
      traceId: "t-1",
      version: "1.0.0",
    });
  } finally {
    await consumer.close();
    await provider.stop();
  }
  // protocols.md's capture, rebuilt by the same encoders.
  const notes = encodeRequest({
    id: 1n,
    service: DEMO_SERVICE,
    version: "0.0.0",
    method: "sayHello",
    args: [str("world")],
  });
  assert.equal(toHex(notes), toHex(NOTES_REQUEST));
  assert.equal(notes.length, 220);
  assert.equal(toHex(encodeOkResponse(1n, { kind: "value", value: "hello world" })), toHex(NOTES_REPLY));
  assert.equal(mosnHeartbeatReplyHex(5n), "dabb22140000000000000005000000024e4e");
  // The bench sends and answers the same captured frames.
  assert.equal(toHex(BENCH_REQUEST), toHex(DUBBO2JS_CALL));
  assert.equal(toHex(BENCH_RESPONSE), toHex(PROVIDER_VALUE_REPLY));
  assert.equal(toHex(BENCH_HEARTBEAT_RESPONSE), toHex(PROVIDER_HEARTBEAT_REPLY));
});

Deno.test("dubbo peers: rawDubboCall answers a single frame on a fresh connection", opts, async () => {
  const provider = startDubboProvider();
  try {
    const res = await rawDubboCall(
      provider.port,
      encodeRequest({
        id: 0xffff_ffff_ffff_fffen,
        service: DEMO_SERVICE,
        ...V1,
        method: "echo",
        args: [str("z")],
      }),
    );
    assert.ok(res instanceof Uint8Array);
    assert.deepEqual([frameId(res), decodeResponse(res).value], [0xffff_ffff_ffff_fffen, "z"]);
  } finally {
    await provider.stop();
  }
});
