import { deepStrictEqual, notStrictEqual, rejects } from "node:assert/strict";
import {
  type CodecConformanceAdapter,
  codecConformanceChecks,
  encodeExchangeRequests,
  inlineSteps,
  runCodecConformance,
} from "./_conformance.ts";
import { boltAdapter } from "./_conformance_bolt.ts";
import { dubboAdapter } from "./_conformance_dubbo.ts";
import { http1Adapter } from "./_conformance_http1.ts";
import { http2Adapter } from "./_conformance_http2.ts";
import { codecNames, getCodec } from "./mod.ts";
import type { ClientConnection, ProtocolCodec, ResponseHead, ResponseReceiver } from "./types.ts";

/** Every registered codec's fixtures. A new codec adds its adapter here (docs/architecture.md). */
const ADAPTERS: Readonly<Record<string, CodecConformanceAdapter>> = {
  Http1: http1Adapter,
  Http2: http2Adapter,
  bolt: boltAdapter(1),
  boltv2: boltAdapter(2),
  dubbo: dubboAdapter,
};

function registered(name: string): ProtocolCodec {
  const codec = getCodec(name);
  if (codec === undefined) throw new RangeError(`Cannot find codec "${name}" in the registry`);
  return codec;
}

Deno.test("every registered codec has a conformance adapter, and every adapter a codec", () => {
  deepStrictEqual(codecNames().filter((n) => !(n in ADAPTERS)), [], "registered codecs without an adapter");
  deepStrictEqual(
    Object.keys(ADAPTERS).filter((n) => getCodec(n) === undefined),
    [],
    "adapters for no codec",
  );
});

for (const name of codecNames()) {
  const adapter = ADAPTERS[name];
  if (adapter === undefined) continue; // reported by the test above
  Deno.test(`${name} codec passes the conformance suite`, (t) =>
    runCodecConformance(t, registered(name), adapter));
}

Deno.test("no codec's match() claims another codec's requests", async () => {
  const names = codecNames().filter((n) => n in ADAPTERS);
  for (const from of names) {
    for (const { exchange, bytes } of await encodeExchangeRequests(registered(from), ADAPTERS[from]!)) {
      if (exchange.sniffed === false) continue;
      for (const to of names) {
        if (to === from) continue;
        notStrictEqual(registered(to).match(bytes), "match", `${to} claims ${from} "${exchange.name}"`);
      }
    }
  }
});

// === The suite itself: each check fails for a codec with the bug it is there to catch ===

/** A codec that delegates to `codec` except for what `override` replaces. */
function faulty(codec: ProtocolCodec, override: Partial<ProtocolCodec>): ProtocolCodec {
  return {
    name: codec.name,
    multiplexed: codec.multiplexed,
    match: (data) => codec.match(data),
    newServerConnection: (io, handler, options) => codec.newServerConnection(io, handler, options),
    newClientConnection: (io, handler, options) => codec.newClientConnection(io, handler, options),
    ...override,
  };
}

async function assertCheckFails(name: string, codec: ProtocolCodec, adapter: CodecConformanceAdapter) {
  const check = codecConformanceChecks(codec, adapter).find((c) => c.name.startsWith(name));
  if (check === undefined) throw new RangeError(`Cannot find the check "${name}"`);
  await rejects(check.run(inlineSteps), `"${check.name}" passed a faulty codec`);
}

Deno.test("codecConformanceChecks() run inline and pass a sound codec", async () => {
  // The faulty codecs below must fail for their fault, not because the inline runner does.
  for (const check of codecConformanceChecks(registered("bolt"), ADAPTERS.bolt!)) {
    if (check.name === "round trip" || check.name.startsWith("match()")) await check.run(inlineSteps);
  }
});

Deno.test("codecConformanceChecks() catch a match() that claims foreign bytes", async () => {
  const bolt = registered("bolt");
  await assertCheckFails(
    "match()",
    faulty(bolt, { match: (d) => d.length === 0 ? "again" : "match" }),
    ADAPTERS.bolt!,
  );
  // A verdict that flips back to "again" with more bytes is as bad as a wrong one.
  await assertCheckFails(
    "match()",
    faulty(bolt, { match: (d) => d.length % 2 ? "match" : "again" }),
    ADAPTERS.bolt!,
  );
});

Deno.test("codecConformanceChecks() catch a server that loses bytes split across reads", async () => {
  for (const name of ["Http1", "bolt"]) {
    const codec = registered(name);
    const dropsSingleBytes = faulty(codec, {
      newServerConnection(io, handler, options) {
        const conn = codec.newServerConnection(io, handler, options);
        return {
          feed: (data) => data.length === 1 ? undefined : conn.feed(data),
          onEof: () => conn.onEof(),
          drain: () => conn.drain(),
          get activeStreams() {
            return conn.activeStreams;
          },
          get awaitingHead() {
            return conn.awaitingHead;
          },
          get headsReceived() {
            return conn.headsReceived;
          },
          abort: (e) => conn.abort(e),
        };
      },
    });
    await assertCheckFails("partial reads", dropsSingleBytes, ADAPTERS[name]!);
  }
});

Deno.test("codecConformanceChecks() catch a multiplexed client that answers streams in order sent", async () => {
  const bolt = registered("bolt");
  const fifo = faulty(bolt, {
    newClientConnection(io, handler, options): ClientConnection {
      const conn = bolt.newClientConnection(io, handler, options);
      const waiting: ResponseReceiver[] = [];
      return {
        feed: (data) => conn.feed(data),
        onEof: () => conn.onEof(),
        get activeStreams() {
          return conn.activeStreams;
        },
        get streamCapacity() {
          return conn.streamCapacity;
        },
        get reusable() {
          return conn.reusable;
        },
        newStream(receiver) {
          waiting.push(receiver);
          return conn.newStream({
            // Whichever response comes first goes to the oldest stream: ids ignored.
            onResponse: (head: ResponseHead, end) => waiting.shift()?.onResponse(head, end),
            onData: (chunk, end) => receiver.onData(chunk, end),
            onTrailers: (t) => receiver.onTrailers(t),
            onReset: (e) => receiver.onReset(e),
          });
        },
      };
    },
  });
  await assertCheckFails("multiplexing", fifo, ADAPTERS.bolt!);
});

Deno.test("codecConformanceChecks() catch a server that throws on garbage", async () => {
  const bolt = registered("bolt");
  const throws = faulty(bolt, {
    newServerConnection(io, handler, options) {
      const conn = bolt.newServerConnection(io, handler, options);
      return {
        feed(data) {
          if (data[0] !== 1 && data[0] !== 2) throw new TypeError("not bolt");
          return conn.feed(data);
        },
        onEof: () => conn.onEof(),
        drain: () => conn.drain(),
        get activeStreams() {
          return conn.activeStreams;
        },
        get awaitingHead() {
          return conn.awaitingHead;
        },
        get headsReceived() {
          return conn.headsReceived;
        },
        abort: (e) => conn.abort(e),
      };
    },
  });
  await assertCheckFails("garbage", throws, ADAPTERS.bolt!);
});
