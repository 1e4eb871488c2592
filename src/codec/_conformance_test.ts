import { deepStrictEqual, notStrictEqual } from "node:assert/strict";
import { type CodecConformanceAdapter, encodeExchangeRequests, runCodecConformance } from "./_conformance.ts";
import { boltAdapter } from "./_conformance_bolt.ts";
import { http1Adapter } from "./_conformance_http1.ts";
import { codecNames, getCodec } from "./mod.ts";
import type { ProtocolCodec } from "./types.ts";

/** Every registered codec's fixtures. A new codec adds its adapter here (docs/architecture.md). */
const ADAPTERS: Readonly<Record<string, CodecConformanceAdapter>> = {
  Http1: http1Adapter,
  bolt: boltAdapter(1),
  boltv2: boltAdapter(2),
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
