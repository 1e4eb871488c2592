/**
 * The Deno floor: a raw TCP relay (Deno.listen/Deno.connect, 64 KiB read/write loop per direction),
 * no parsing. Any Deno proxy pays at least this much in I/O.
 *
 *   deno run --allow-net bench/tcp_relay.ts 127.0.0.1:<listen port> 127.0.0.1:<target port>
 */

function parseAddr(s: string | undefined): { hostname: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(s ?? "");
  if (!m) {
    console.error("usage: tcp_relay.ts <listen host:port> <target host:port>");
    Deno.exit(2);
  }
  return { hostname: m[1]!, port: Number(m[2]) };
}

async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } catch { /* peer reset: close both below */ }
}

async function relay(down: Deno.TcpConn, target: { hostname: string; port: number }): Promise<void> {
  let up: Deno.TcpConn;
  try {
    up = await Deno.connect({ ...target, transport: "tcp" });
  } catch {
    down.close();
    return;
  }
  down.setNoDelay(true);
  up.setNoDelay(true);
  await Promise.race([pump(down, up), pump(up, down)]);
  for (const c of [down, up]) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
}

if (import.meta.main) {
  const listen = parseAddr(Deno.args[0]);
  const target = parseAddr(Deno.args[1]);
  const listener = Deno.listen({ ...listen, transport: "tcp" });
  for await (const conn of listener) relay(conn, target);
}
