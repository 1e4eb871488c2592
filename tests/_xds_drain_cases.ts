/**
 * Deletion with drain over ADS: a listener missing from an LDS response stops accepting at once, closes its
 * idle connections, lets the request in flight on it finish (200), then closes that connection too; a
 * cluster missing from a CDS response answers new requests as an unknown cluster does (502 no healthy
 * upstream) while the request already on it finishes.
 */
import { assert, assertEquals } from "./_assert.ts";
import { curl, startMeshctl, startOrigin } from "./_e2e.ts";
import { Events } from "./_events.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import { any, bootstrap, get, listener, opts, routeTable, staticCluster, until } from "./_xds_fixtures.ts";

/** An origin whose `/slow` answers only when the test calls `release()`; counts arrivals. */
function slowOrigin() {
  const events = new Events();
  let arrived = 0;
  let gates: (() => void)[] = [];
  const origin = startOrigin(async () => {
    arrived++;
    events.notify();
    await new Promise<void>((resolve) => gates.push(resolve));
    return new Response("slow");
  });
  return {
    origin,
    get arrived() {
      return arrived;
    },
    untilArrived: (n: number) => events.until(() => arrived >= n, `${n} requests at the slow origin`),
    release() {
      for (const g of gates) g();
      gates = [];
    },
  };
}

/**
 * One HTTP/1.1 exchange on a raw connection: the whole response (headers + Content-Length body). The
 * promise is marked handled, so a test failing while it is pending reports that failure, not this one.
 */
function exchange(conn: Deno.Conn, request: string): Promise<string> {
  const p = readExchange(conn, request);
  p.catch(() => {});
  return p;
}

async function readExchange(conn: Deno.Conn, request: string): Promise<string> {
  await conn.write(new TextEncoder().encode(request));
  let text = "";
  const buf = new Uint8Array(16 * 1024);
  while (true) {
    const head = text.indexOf("\r\n\r\n");
    if (head >= 0) {
      const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, head))?.[1] ?? 0);
      if (text.length >= head + 4 + length) return text;
    }
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed mid-response: ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

/** Resolves "eof" once the peer closes the connection (rejects on anything else, or after `ms`). */
async function closedByPeer(conn: Deno.Conn, ms = 10_000): Promise<"eof"> {
  const bound = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    Deno.unrefTimer(t);
  });
  const read = (async () => {
    const n = await conn.read(new Uint8Array(1024)).catch(() => null);
    if (n !== null) throw new Error(`unexpected ${n} bytes`);
    return "eof" as const;
  })();
  return await Promise.race([read, bound]);
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: drain.test\r\n\r\n`;

Deno.test(
  "xDS deletion with drain: a deleted cluster's in-flight request finishes while new ones get 502; a deleted listener refuses new connections, closes idle ones, finishes the in-flight request (200) and then closes its connection",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const slow = slowOrigin();
    const fast = startOrigin(() => new Response("fast"));
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    const conns: Deno.Conn[] = [];
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [
        any(TYPE.CDS, staticCluster("slow", slow.origin)),
        any(TYPE.CDS, staticCluster("fast", fast)),
      ]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS && r.version === "c1");
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      cp.push(TYPE.RDS, "r1", [any(TYPE.RDS, routeTable("r1", [["/slow", "slow"], ["/", "fast"]]))]);
      await until("first traffic", async () => (await get(mesh)) === "fast");
      const address = (await mesh.readAddresses()).listeners["ingress"]!;
      const port = Number(address.split(":")[1]);
      const connect = async () => {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        conns.push(c);
        return c;
      };

      // The cluster goes while a request is on it.
      const onCluster = await connect();
      const inFlight = exchange(onCluster, GET("/slow"));
      await slow.untilArrived(1);
      let from = cp.requests.length;
      let n = cp.push(TYPE.CDS, "c2", [any(TYPE.CDS, staticCluster("fast", fast))]);
      assertEquals((await cp.waitForRequest((r) => r.nonce === n, { from })).errorDetail, undefined);
      await until("a new request to the deleted cluster: 502 no healthy upstream", async () => {
        const r = await curl(["-s", "-w", " %{http_code}", `http://${address}/slow`]);
        return /^no healthy upstream\s+502$/.test(r.stdout);
      });
      assertEquals(slow.arrived, 1, "the deleted cluster got no new request");
      slow.release();
      const finished = await inFlight;
      assert(finished.startsWith("HTTP/1.1 200") && finished.endsWith("slow"), finished);

      // The cluster comes back; then the listener goes while a request is in flight on it.
      from = cp.requests.length;
      n = cp.push(TYPE.CDS, "c3", [
        any(TYPE.CDS, staticCluster("slow", slow.origin)),
        any(TYPE.CDS, staticCluster("fast", fast)),
      ]);
      await cp.waitForRequest((r) => r.nonce === n, { from });
      const idle = await connect();
      assert((await exchange(idle, GET("/"))).endsWith("fast"));
      const busy = await connect();
      const slowResponse = exchange(busy, GET("/slow"));
      await slow.untilArrived(2);
      from = cp.requests.length;
      n = cp.push(TYPE.LDS, "l2", []);
      assertEquals((await cp.waitForRequest((r) => r.nonce === n, { from })).errorDetail, undefined);
      await until(
        "the listener is gone",
        async () => (await mesh.readAddresses()).listeners["ingress"] === undefined,
      );
      const refused = await Deno.connect({ hostname: "127.0.0.1", port }).then((c) => {
        c.close();
        return "connected";
      }, (e) => e instanceof Deno.errors.ConnectionRefused ? "refused" : String(e));
      assertEquals(refused, "refused", "new connections to the deleted listener's port are refused");
      assertEquals(await closedByPeer(idle), "eof", "an idle connection is closed when the drain starts");
      slow.release();
      const response = await slowResponse;
      assert(response.startsWith("HTTP/1.1 200") && response.endsWith("slow"), response);
      assertEquals(
        await closedByPeer(busy),
        "eof",
        "the drained connection is closed once its request is done",
      );
    } finally {
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed by the test already
        }
      }
      slow.release();
      const code = await mesh.stop();
      cp.close();
      await slow.origin.close();
      await fast.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
