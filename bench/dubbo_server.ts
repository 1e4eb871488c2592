/**
 * A tiny dubbo provider for the bench: answers every two-way request with the captured provider reply
 * carrying the request's id, every two-way heartbeat with a heartbeat response, and oneway frames with
 * nothing. Responses to all frames found in one read go out in one write.
 *
 *   deno run --allow-net bench/dubbo_server.ts 127.0.0.1:<port>
 */
import {
  DUBBO_RESPONSE,
  FLAG_EVENT,
  FLAG_REQUEST,
  FLAG_TWO_WAY,
  frameLength,
  HEARTBEAT_RESPONSE,
} from "./_dubbo_frames.ts";

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  let buf = new Uint8Array(256 * 1024);
  let start = 0;
  let end = 0;
  let out = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      if (start === end) start = end = 0;
      if (buf.length - end < 65536) {
        const used = end - start;
        const next = used + 65536 > buf.length ? new Uint8Array((used + 65536) * 2) : buf;
        next.set(buf.subarray(start, end));
        buf = next;
        start = 0;
        end = used;
      }
      const n = await conn.read(buf.subarray(end));
      if (n === null) break;
      end += n;
      let len = 0;
      for (let f = frameLength(buf, start, end); f > 0; f = frameLength(buf, start, end)) {
        const flag = buf[start + 2]!;
        if ((flag & FLAG_REQUEST) !== 0 && (flag & FLAG_TWO_WAY) !== 0) {
          const resp = (flag & FLAG_EVENT) !== 0 ? HEARTBEAT_RESPONSE : DUBBO_RESPONSE;
          if (len + resp.length > out.length) {
            const bigger = new Uint8Array(out.length * 2);
            bigger.set(out.subarray(0, len));
            out = bigger;
          }
          out.set(resp, len);
          out.set(buf.subarray(start + 4, start + 12), len + 4); // same request id
          len += resp.length;
        }
        start += f;
      }
      let off = 0;
      while (off < len) off += await conn.write(out.subarray(off, len));
    }
  } catch { /* peer reset or garbage: drop the connection */ }
  try {
    conn.close();
  } catch { /* already closed */ }
}

if (import.meta.main) {
  const m = /^(.+):(\d+)$/.exec(Deno.args[0] ?? "");
  if (!m) {
    console.error("usage: dubbo_server.ts <host:port>");
    Deno.exit(2);
  }
  const listener = Deno.listen({ hostname: m[1]!, port: Number(m[2]), transport: "tcp" });
  for await (const conn of listener) serve(conn);
}
