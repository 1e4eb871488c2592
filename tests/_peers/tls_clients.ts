/**
 * Real TLS clients for tests: `openssl s_client` (what it negotiated and which certificate the server
 * showed) and raw TCP peers that send what no TLS client would (a truncated ClientHello, garbage).
 */

export interface SClientOptions {
  /** SNI to send; undefined sends none (`-noservername`). */
  readonly servername?: string;
  /** `-alpn` list, e.g. "h2,http/1.1". */
  readonly alpn?: string;
  /** Force one version. */
  readonly version?: "tls1_2" | "tls1_3";
  /** Client certificate and key (PEM paths). */
  readonly cert?: string;
  readonly key?: string;
  /** Trust roots for the server certificate. */
  readonly caFile?: string;
  /** Bytes to send after the handshake; s_client then waits for the server to close (`-ign_eof`). */
  readonly send?: string;
}

export interface SClientResult {
  /** s_client's exit code: 0 when the handshake completed. */
  readonly code: number;
  readonly output: string;
  /** "CN = other", from the `subject=` line of the server certificate. */
  readonly subject: string | undefined;
  /** "TLSv1.3" */
  readonly protocol: string | undefined;
  /** The ALPN protocol the server chose, undefined when none. */
  readonly alpn: string | undefined;
}

/** Runs `openssl s_client` against 127.0.0.1:port, stdin closed after `send` (if any). */
export async function sClient(port: number, o: SClientOptions = {}): Promise<SClientResult> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`];
  if (o.servername === undefined) args.push("-noservername");
  else args.push("-servername", o.servername);
  if (o.alpn !== undefined) args.push("-alpn", o.alpn);
  if (o.version !== undefined) args.push(`-${o.version}`);
  if (o.cert !== undefined) args.push("-cert", o.cert, "-key", o.key!);
  if (o.caFile !== undefined) args.push("-CAfile", o.caFile);
  if (o.send !== undefined) args.push("-ign_eof");
  const child = new Deno.Command("openssl", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  if (o.send !== undefined) await w.write(new TextEncoder().encode(o.send)).catch(() => {});
  await w.close().catch(() => {});
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const out = await child.output();
  clearTimeout(killer);
  const dec = new TextDecoder();
  const output = dec.decode(out.stdout) + dec.decode(out.stderr);
  const alpn = /ALPN protocol: (\S+)/.exec(output)?.[1];
  return {
    code: out.code,
    output,
    subject: /^subject=(.*)$/m.exec(output)?.[1]?.trim(),
    protocol: /Protocol *: *(\S+)/.exec(output)?.[1] ?? /New, (TLSv[\d.]+),/.exec(output)?.[1],
    alpn,
  };
}

/**
 * Connects, writes `bytes`, and waits (without writing more) until the peer closes or `boundMs` passes.
 * Resolves with whether the peer closed, how many bytes it sent back, and the first KiB of them as
 * latin1 text.
 */
export async function sendAndWaitForClose(
  port: number,
  bytes: Uint8Array,
  boundMs = 10_000,
): Promise<{ closedByPeer: boolean; received: number; head: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let timedOut = false;
  let received = 0;
  let head = "";
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, boundMs);
  try {
    await conn.write(bytes).catch(() => {});
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      if (head.length < 1024) head += String.fromCharCode(...buf.subarray(0, Math.min(n, 1024)));
      received += n;
    }
  } finally {
    clearTimeout(timer);
    if (!timedOut) conn.close();
  }
  const closedByPeer = !timedOut;
  return { closedByPeer, received, head };
}

/** The first 11 bytes of a TLS 1.2+ ClientHello record: a record header that promises more than it sends. */
export const TRUNCATED_CLIENT_HELLO = new Uint8Array([
  0x16,
  0x03,
  0x01,
  0x02,
  0x00, // handshake record, 512 bytes promised
  0x01,
  0x00,
  0x01,
  0xfc,
  0x03,
  0x03, // ClientHello header, then nothing
]);

/** `n` bytes of deterministic noise that starts with a TLS handshake byte, so it reaches the TLS stack. */
export function tlsGarbage(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  out[0] = 0x16;
  return out;
}
