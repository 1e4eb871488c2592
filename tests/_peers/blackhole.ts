/**
 * A host that never completes a TCP handshake, on loopback: a listener that never accepts, its accept
 * queue filled until a connect stalls (the kernel then drops further SYNs), as a blackholed or
 * overloaded host would. For connect-timeout tests.
 */
export interface Blackhole {
  readonly port: number;
  close(): void;
}

export async function startBlackhole(): Promise<Blackhole> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const conns: Deno.TcpConn[] = [];
  // The queue's size is the kernel's somaxconn cap, unknown here: fill it until a connect stalls.
  for (let batch = 0; batch < 20; batch++) {
    const attempts = Array.from({ length: 500 }, () => Deno.connect({ hostname: "127.0.0.1", port }));
    const stalled = await Promise.race([
      Promise.all(attempts).then((cs) => (conns.push(...cs), false)),
      new Promise<boolean>((r) => setTimeout(() => r(true), 200)),
    ]);
    if (stalled) {
      for (const a of attempts) a.then((c) => conns.push(c), () => {});
      break;
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
