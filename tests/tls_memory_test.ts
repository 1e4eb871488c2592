/**
 * meshctl's memory under TLS handshake churn, measured on the real binary (its own run flags).
 *
 * A closed TLS connection's native state (Deno's TLSWrap: rustls session, per-connection server config) is
 * freed only when a major GC collects its JS wrapper, and V8 is not told about that memory. With V8's
 * default heap growth the JS heap stays small, major GCs are rare, and RSS climbs to ~300 MiB under
 * ~1,000 handshakes/s; `--heap-growing-percent=50` in the run flags brings major GCs earlier (no cap).
 * See docs/performance.md, "Memory under TLS handshake churn".
 * @module
 */
import { assert, assertEquals } from "./_assert.ts";
import { startMeshctl, startOrigin } from "./_e2e.ts";
import { makeTestPki } from "./_peers/certs.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** Full handshakes run (each: connect, TLS 1.3, one GET with Connection: close, close). */
const HANDSHAKES = 4500;
/** Concurrent client loops. */
const LOOPS = 32;
/**
 * RSS growth allowed across the churn. Measured on this machine (peak − RSS after one request): +57 and
 * +59 MiB with the run flags, +123 and +149 MiB with V8's default heap growth (the native state of
 * thousands of closed sessions left uncollected, still climbing).
 */
const MAX_RSS_GROWTH_MIB = 90;

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** One full handshake and one request; true when the answer was a 200. */
async function handshakeOnce(port: number, caCert: string): Promise<boolean> {
  const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [caCert] });
  try {
    await conn.write(
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    );
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf).catch(() => null); // a close_notify-less close reads as EOF here
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const head = new TextDecoder().decode(chunks[0] ?? new Uint8Array());
    return head.startsWith("HTTP/1.1 200");
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the peer already
    }
  }
}

Deno.test(
  `TLS handshake churn: ${HANDSHAKES} full handshakes grow meshctl's RSS by less than ${MAX_RSS_GROWTH_MIB} MiB`,
  opts,
  async () => {
    const pki = await makeTestPki();
    const origin = startOrigin(() => new Response("hello"));
    const mesh = await startMeshctl({
      servers: [{
        default_log_level: "WARN",
        routers: [{
          router_config_name: "r",
          virtual_hosts: [{
            name: "a",
            domains: ["*"],
            routers: [{ match: { prefix: "/" }, route: { cluster_name: "o" } }],
          }],
        }],
        listeners: [{
          name: "tls",
          address: "127.0.0.1:0",
          bind_port: true,
          filter_chains: [{
            tls_context: { status: true, cert_chain: pki.server.certPath, private_key: pki.server.keyPath },
            filters: [{ type: "proxy", config: { downstream_protocol: "Http1", router_config_name: "r" } }],
          }],
        }],
      }],
      cluster_manager: { clusters: [{ name: "o", type: "SIMPLE", hosts: [{ address: origin.address }] }] },
      // One isolate: the bound is what one event loop's TLS sessions hold (measured for one); with workers
      // each isolate holds its own share on top of its own ~30 MiB, and the process RSS is their sum.
    }, { args: ["--concurrency", "1"] });
    try {
      const port = mesh.port("tls");
      const pid = mesh.process.pid;
      assert(await handshakeOnce(port, pki.ca.cert), "a first TLS request is served");
      const before = rssMiB(pid);
      let started = 0;
      let ok = 0;
      let peak = before;
      const loop = async () => {
        while (started < HANDSHAKES) {
          started++;
          if (await handshakeOnce(port, pki.ca.cert)) ok++;
          if (started % 200 === 0) peak = Math.max(peak, rssMiB(pid));
        }
      };
      await Promise.all(Array.from({ length: LOOPS }, loop));
      peak = Math.max(peak, rssMiB(pid));
      assertEquals(ok, HANDSHAKES, "every handshake's request was served");
      const growth = peak - before;
      assert(
        growth < MAX_RSS_GROWTH_MIB,
        `RSS ${before.toFixed(1)} → peak ${peak.toFixed(1)} MiB (+${
          growth.toFixed(1)
        }) over ${HANDSHAKES} handshakes`,
      );
    } finally {
      await mesh.stop();
      await origin.close();
      await pki.remove();
    }
  },
);
