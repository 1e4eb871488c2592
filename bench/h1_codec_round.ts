/**
 * The HTTP/1 codec's share of one proxied request, in a loop: wrk's request parsed by a server
 * connection, X-Forwarded-For/-Proto added as the proxy adds them, encoded by a client connection;
 * nginx's response parsed and encoded back with its 5-byte body. Writes complete at once into a sink.
 *
 * Given several trees, it loads each one's codec into this process and runs them in alternating
 * batches (A B A B …), reporting per tree the min and median CPU ns per round over the batches (CPU
 * time of this process: on a shared machine much of the wall time is spent preempted, and the minimum
 * of many short batches filters out the batches other work disturbed):
 *
 *   deno run -A bench/h1_codec_round.ts [TREE_DIR ...] [--batches 40] [--rounds 20000] [--browser]
 *
 * With no tree it measures this one.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import type * as Codec from "../src/codec/mod.ts";

const args = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    batches: { type: "string", default: "40" },
    rounds: { type: "string", default: "20000" },
    browser: { type: "boolean", default: false },
  },
});
const trees = args.positionals.length > 0 ? args.positionals : [new URL("..", import.meta.url).pathname];

const te = new TextEncoder();
const done: Promise<void> = Promise.resolve();
const io: Codec.ConnectionIO = { write: () => done, close() {}, closed: false, remoteAddress: "127.0.0.1:1" };
const request = te.encode(
  args.values.browser
    ? "GET /api/v1/users/12345/profile?tab=activity HTTP/1.1\r\nHost: example.com\r\n" +
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0\r\n" +
      "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
      "Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n" +
      "Cookie: session=abcdef0123456789; theme=dark\r\nReferer: https://example.com/home\r\n\r\n"
    : "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
);
const response = te.encode(
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
    "Content-Type: application/octet-stream\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
);

/** One proxied request through a tree's codec. */
async function roundOf(tree: string): Promise<() => void> {
  const codec: typeof Codec = await import(`${tree}/src/codec/mod.ts`);
  const http1 = codec.getCodec("Http1")!;
  let proxied: Codec.ServerStream | null = null;
  const downstream = http1.newServerConnection(io, {
    onRequest(s) {
      proxied = s;
    },
    onProtocolError(e) {
      throw e;
    },
  }, codec.defaultCodecOptions);
  const upstream = http1.newClientConnection(io, { onUnusable() {} }, codec.defaultCodecOptions);
  const relay: Codec.ResponseReceiver = {
    onResponse(h, end) {
      void proxied!.sendResponse(h, end);
    },
    onData(chunk, end) {
      const s = proxied!;
      if (end) proxied = null;
      void s.sendData(chunk, end);
    },
    onTrailers() {},
    onReset() {},
  };
  return () => {
    downstream.feed(request);
    const h = proxied!.request.headers;
    const xff = h.get("x-forwarded-for");
    h.set("x-forwarded-for", xff === undefined ? "127.0.0.1" : `${xff}, 127.0.0.1`);
    if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", "http");
    const s = upstream.newStream(relay);
    void s.sendRequest(proxied!.request, true);
    upstream.feed(response);
  };
}

const rounds = await Promise.all(trees.map(roundOf));
const n = Number(args.values.rounds);
const perTree: number[][] = trees.map(() => []);
for (const r of rounds) for (let i = 0; i < 20_000; i++) r(); // warm-up: optimised code
for (let b = 0; b < Number(args.values.batches); b++) {
  for (let t = 0; t < rounds.length; t++) {
    const r = rounds[t]!;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) r();
    const c = process.cpuUsage(t0);
    perTree[t]!.push((c.user + c.system) * 1000 / n);
  }
}
for (let t = 0; t < trees.length; t++) {
  const s = perTree[t]!.sort((a, b) => a - b);
  console.log(
    `${trees[t]}: min ${s[0]!.toFixed(0)}  median ${s[s.length >> 1]!.toFixed(0)} ns CPU/round`,
  );
}
