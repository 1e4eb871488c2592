/**
 * A host that never completes a TCP handshake, on loopback: a listener that never accepts, its accept
 * queue filled until the kernel drops further SYNs, as a blackholed or overloaded host would. For
 * connect-timeout tests.
 *
 * "Full" is read from the kernel (`ss`: a listener's Recv-Q is its queue, Send-Q the queue's limit; Linux
 * drops SYNs once Recv-Q > Send-Q), not guessed from a connect that took longer than some time: on a busy
 * machine a connect that merely waited for a core passed for a stalled one, the queue was left with room
 * and the "blackholed" host accepted the connection under test.
 */
export interface Blackhole {
  readonly port: number;
  close(): void;
}

/** The listening socket's accept queue: how many connections wait in it, and its limit. */
function acceptQueue(port: number): { queued: number; limit: number } {
  const out = new Deno.Command("ss", {
    args: ["-Hltn", `sport = :${port}`],
    stdout: "piped",
    stderr: "piped",
  })
    .outputSync();
  const row = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  const [state, recvQ, sendQ] = row;
  if (!out.success || state !== "LISTEN") {
    throw new Error(`blackhole: cannot read the accept queue of port ${port} with ss: ${row.join(" ")}`);
  }
  return { queued: Number(recvQ), limit: Number(sendQ) };
}

/** How long the queue may take to show connects that completed (the server side adds them on the ACK). */
const SETTLE_MS = 10_000;

export async function startBlackhole(): Promise<Blackhole> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const conns: Deno.TcpConn[] = [];
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const { queued, limit } = acceptQueue(port);
    if (queued > limit) break; // full: the kernel drops SYNs from here on
    // Exactly the connects that fit: each completes (none can stall), then the kernel's count is read again.
    const fit = limit + 1 - queued;
    const made = await Promise.all(
      Array.from(
        { length: Math.max(0, fit - (conns.length - queued)) },
        () => Deno.connect({ hostname: "127.0.0.1", port }),
      ),
    );
    conns.push(...made);
    if (made.length === 0) {
      // Every connect we made completed on our side; wait for the kernel to queue its end of them.
      if (Date.now() > deadline) throw new Error(`blackhole: the accept queue of port ${port} did not fill`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return {
    port,
    close() {
      l.close();
      for (const c of conns) c.close();
    },
  };
}
