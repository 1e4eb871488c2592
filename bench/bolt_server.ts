/**
 * A tiny bolt v1 responder for the bench: answers every request frame with the captured SofaResponse
 * carrying the request's id, and every heartbeat with a 20-byte heartbeat response. Responses to all
 * frames found in one read go out in one write.
 *
 *   deno run --allow-net bench/bolt_server.ts 127.0.0.1:<port>
 */
import { BOLT_RESPONSE, FrameBuffer, writeAll } from "./_bolt_frames.ts";

const HEARTBEAT_RESPONSE = new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const rx = new FrameBuffer();
  let out = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(rx.space());
      if (n === null) break;
      rx.commit(n);
      let len = 0;
      rx.frames((buf, off) => {
        if (buf[off + 1] === 2) return; // oneway: no answer
        const cmd = (buf[off + 2]! << 8) | buf[off + 3]!;
        const resp = cmd === 0 ? HEARTBEAT_RESPONSE : BOLT_RESPONSE;
        if (len + resp.length > out.length) {
          const bigger = new Uint8Array(out.length * 2);
          bigger.set(out.subarray(0, len));
          out = bigger;
        }
        out.set(resp, len);
        out.set(buf.subarray(off + 5, off + 9), len + 5); // same request id
        len += resp.length;
      });
      if (len > 0) await writeAll(conn, out.subarray(0, len));
    }
  } catch { /* peer reset or garbage: drop the connection */ }
  try {
    conn.close();
  } catch { /* already closed */ }
}

if (import.meta.main) {
  const m = /^(.+):(\d+)$/.exec(Deno.args[0] ?? "");
  if (!m) {
    console.error("usage: bolt_server.ts <host:port>");
    Deno.exit(2);
  }
  const listener = Deno.listen({ hostname: m[1]!, port: Number(m[2]), transport: "tcp" });
  for await (const conn of listener) serve(conn);
}
