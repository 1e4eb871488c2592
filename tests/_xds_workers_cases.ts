/**
 * xDS on `meshctl serve --concurrency 2`: the main thread holds the ADS stream and sends each accepted
 * snapshot to both workers; it ACKs what it validated and logs it applied once both swapped it in. So traffic configured entirely over ADS
 * is served by both workers, and no request sent after ACK + apply (on a fresh connection, so either worker
 * may take it) sees the old route. `/ready` still waits for the initial fetch.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, startMeshctl, startOrigin } from "./_e2e.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import {
  any,
  bootstrap,
  get,
  listener,
  opts,
  readyStatus,
  routeTo,
  staticCluster,
  until,
} from "./_xds_fixtures.ts";

function workerConnections(stats: Awaited<ReturnType<typeof adminStats>>): number[] {
  return [0, 1].map((w) => stats["worker"]?.[`worker.${w}`]?.["downstream_connection_total"] ?? 0);
}

Deno.test(
  "xDS with --concurrency 2: CDS/LDS/RDS reach both workers, both serve, a route change once ACKed and applied is seen by every later request, /ready waits for the fetch",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const mesh = await startMeshctl(bootstrap(cp), {
      ready: false,
      args: ["--concurrency", "2", "--log-level", "info"],
    });
    // meshctl ACKs what it validated; the main thread then sends it to both workers and logs it applied
    // (with workers=2) once both swapped it in: "settled" below means that line.
    const applied = (version: string) =>
      until(
        `${version} applied in both workers`,
        () =>
          Promise.resolve(new RegExp(`xDS config applied.*version=${version}.*workers=2`).test(mesh.logs())),
      );
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      assertEquals(await readyStatus(mesh), 503, "not ready before the initial fetch");
      cp.push(TYPE.CDS, "c1", [
        any(TYPE.CDS, staticCluster("svc_a", a)),
        any(TYPE.CDS, staticCluster("svc_b", b)),
      ]);
      await cp.waitForRequest((r) =>
        r.typeUrl === TYPE.CDS && r.version === "c1" && r.errorDetail === undefined
      );
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      assertEquals(await readyStatus(mesh), 503, "not ready while the route table is missing");
      let from = cp.requests.length;
      let nonce = cp.push(TYPE.RDS, "r1-v1", [any(TYPE.RDS, routeTo("svc_a"))]);
      const ack1 = await cp.waitForRequest((r) => r.nonce === nonce, { from });
      assertEquals([ack1.version, ack1.errorDetail], ["r1-v1", undefined], "RDS r1-v1 ACKed");
      await applied("r1-v1");
      await until("/ready is 200 once every type was fetched", async () => (await readyStatus(mesh)) === 200);

      // Fresh connections (curl, one per request) until both workers took some: both serve the ADS config.
      const bodies: string[] = [];
      await until("both workers served", async () => {
        bodies.push(await get(mesh));
        const perWorker = workerConnections(await adminStats(mesh.adminPort));
        return perWorker[0]! > 0 && perWorker[1]! > 0;
      }, 20_000);
      assertEquals([...new Set(bodies)], ["A"], "every request routed by r1-v1");

      // The route change: once ACKed and applied, every request (either worker) takes the new route.
      from = cp.requests.length;
      nonce = cp.push(TYPE.RDS, "r1-v2", [any(TYPE.RDS, routeTo("svc_b"))]);
      const ack2 = await cp.waitForRequest((r) => r.nonce === nonce, { from });
      assertEquals([ack2.version, ack2.errorDetail], ["r1-v2", undefined], "RDS r1-v2 ACKed");
      await applied("r1-v2");
      const before = workerConnections(await adminStats(mesh.adminPort));
      const after: string[] = [];
      for (let i = 0; i < 40; i++) after.push(await get(mesh));
      assertEquals(after.filter((x) => x !== "B"), [], "no request after ACK + apply sees the old route");
      const perWorker = workerConnections(await adminStats(mesh.adminPort));
      assert(
        perWorker[0]! > before[0]! && perWorker[1]! > before[1]!,
        `both workers served after the change: ${before} → ${perWorker}`,
      );
      assertEquals(await readyStatus(mesh), 200);
      const dump = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump`)).json();
      assert(dump["xds_status"] !== undefined, "config_dump shows xds_status from the main thread");
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      await b.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
