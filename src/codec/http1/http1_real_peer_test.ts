import { ok, strictEqual } from "node:assert/strict";
import { type ConnectionIO, defaultCodecOptions, type HeaderMap, type ResponseHead } from "../types.ts";
import { http1Codec } from "./codec.ts";
import { Http1Headers } from "./headers.ts";
import { Http1RequestHead, Http1ResponseHead } from "./head.ts";

/** A minimal ConnectionIO over a Deno.Conn (the real one lives in the listener layer). */
class ConnIO implements ConnectionIO {
  closed = false;
  readonly remoteAddress = "127.0.0.1";
  #conn: Deno.Conn;
  #chain: Promise<void> = Promise.resolve();
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  write(data: Uint8Array): Promise<void> {
    const copy = data.slice();
    this.#chain = this.#chain.then(async () => {
      for (let o = 0; o < copy.length && !this.closed;) o += await this.#conn.write(copy.subarray(o));
    }).catch(() => {});
    return this.#chain;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

async function readLoop(
  conn: Deno.Conn,
  io: ConnIO,
  c: { feed(d: Uint8Array): void | Promise<void>; onEof(): void },
) {
  const buf = new Uint8Array(64 * 1024);
  try {
    while (!io.closed) {
      const n = await conn.read(buf);
      if (n === null) break;
      const r = c.feed(buf.subarray(0, n));
      if (r !== undefined) await r;
    }
  } catch { /* closed under us */ }
  if (!io.closed) c.onEof();
}

Deno.test({
  name: "Http1 server codec answers curl over a real socket",
  sanitizeResources: true,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const loops: Promise<void>[] = [];
    const accept = (async () => {
      for await (const conn of listener) {
        const io = new ConnIO(conn);
        const server = http1Codec.newServerConnection(io, {
          onRequest(s) {
            let body = "";
            const dec = new TextDecoder();
            const answer = () => {
              const text =
                `${s.request.method} ${s.request.path}${s.request.query} ${s.request.host} ${body}`;
              const bytes = new TextEncoder().encode(text);
              void s.sendResponse(
                new Http1ResponseHead(200, new Http1Headers([["Content-Type", "text/plain"]])),
                false,
              );
              void s.sendData(bytes, true);
            };
            s.setBodyReceiver({
              onData(c, end) {
                body += dec.decode(c);
                if (end) answer();
              },
              onTrailers: answer,
              onReset() {},
            });
            if (s.headOnly) answer();
          },
          onProtocolError() {},
        }, defaultCodecOptions);
        loops.push(readLoop(conn, io, server));
      }
    })();
    try {
      const out = await new Deno.Command("curl", {
        args: [
          "-sS",
          "--http1.1",
          `http://127.0.0.1:${port}/a?x=1`,
          "--next",
          "-sS",
          "-H",
          "Expect: 100-continue",
          "--data-binary",
          "hello-body",
          `http://127.0.0.1:${port}/post`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      strictEqual(out.code, 0, new TextDecoder().decode(out.stderr));
      strictEqual(text, `GET /a?x=1 127.0.0.1:${port} POST /post 127.0.0.1:${port} hello-body`);
    } finally {
      listener.close();
      await accept.catch(() => {});
      await Promise.all(loops);
    }
  },
});

Deno.test("Http1 client codec talks to a Deno.serve upstream", async () => {
  const ac = new AbortController();
  let port = 0;
  const served = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (a) => port = a.port,
  }, async (req) => {
    const body = await req.text();
    return new Response(`${req.method} ${new URL(req.url).pathname} ${body}`, { headers: { "x-up": "1" } });
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const io = new ConnIO(conn);
  const client = http1Codec.newClientConnection(io, { onUnusable() {} }, defaultCodecOptions);
  const loop = readLoop(conn, io, client);
  try {
    for (const [method, body] of [["GET", ""], ["POST", "payload"], ["POST", "x".repeat(100_000)]] as const) {
      const done = Promise.withResolvers<{ head: ResponseHead; body: string; trailers?: HeaderMap }>();
      let head: ResponseHead | undefined;
      let text = "";
      const dec = new TextDecoder();
      const s = client.newStream({
        onResponse(h, end) {
          head = h;
          if (end) done.resolve({ head: h, body: text });
        },
        onData(c, end) {
          text += dec.decode(c, { stream: !end });
          if (end) done.resolve({ head: head!, body: text });
        },
        onTrailers() {
          done.resolve({ head: head!, body: text });
        },
        onReset(e) {
          done.reject(e);
        },
      });
      const req = new Http1RequestHead(method, "/echo", "", `127.0.0.1:${port}`);
      await s.sendRequest(req, body === "");
      if (body !== "") await s.sendData(new TextEncoder().encode(body), true);
      const res = await done.promise;
      strictEqual(res.head.status, 200);
      strictEqual(res.head.headers.get("x-up"), "1");
      strictEqual(res.body, `${method} /echo ${body}`);
      ok(client.reusable);
    }
  } finally {
    io.close();
    await loop;
    ac.abort();
    await served.finished;
  }
});
