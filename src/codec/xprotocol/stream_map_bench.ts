/** Per-request id bookkeeping of a multiplexed client connection (no deadline: the proxy times requests). */
import { StreamMap } from "./stream_map.ts";

const m = new StreamMap<number>();
for (let i = 0; i < 32; i++) m.set(m.allocate(), i); // some streams in flight
const OPS = 1000;

Deno.bench({ name: "StreamMap allocate + set + take ×1000", group: "stream_map", n: 5000 }, () => {
  for (let i = 0; i < OPS; i++) {
    const id = m.allocate();
    m.set(id, id);
    m.take(id);
  }
});
