/**
 * Cluster warming end to end (Envoy's make-before-break): a cluster that is new, or whose update changes its
 * EDS name, is not applied until its ClusterLoadAssignment arrives; the version running meanwhile keeps
 * serving with its endpoints; `/ready` waits for the initial clusters to warm; config_dump shows what warms.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, curl, startMeshctl, startOrigin } from "./_e2e.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import {
  any,
  bootstrap,
  bootstrapWithTimeout,
  cla,
  edsCluster,
  get,
  listener,
  load,
  type Obj,
  opts,
  readyStatus,
  routeTable,
  routeTo,
  until,
  warming,
} from "./_xds_fixtures.ts";

Deno.test(
  "xDS cluster warming: a CDS update moving a cluster to a new EDS service_name never fails a request under load (old endpoints serve until the new CLA)",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [any(TYPE.CDS, edsCluster("svc", "svc-x"))]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.includes("svc-x"));
      cp.push(TYPE.EDS, "e1", [any(TYPE.EDS, cla("svc-x", a))]);
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      cp.push(TYPE.RDS, "r1", [any(TYPE.RDS, routeTo("svc"))]);
      await until("first traffic", async () => (await get(mesh)) === "A");
      const address = (await mesh.readAddresses()).listeners["ingress"]!;

      const traffic = load(address, ["A", "B"]);
      await traffic.more(20);
      // The cluster moves to another EDS name: it warms, and its running version keeps A.
      const t0 = performance.now();
      let from = cp.requests.length;
      let n = cp.push(TYPE.CDS, "c2", [any(TYPE.CDS, edsCluster("svc", "svc-y"))]);
      const ack = await cp.waitForRequest((r) => r.nonce === n, { from });
      assertEquals(ack.errorDetail, undefined, "accepted");
      const eds = await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.includes("svc-y"), {
        from,
      });
      assertEquals(eds.names, ["svc-x", "svc-y"], "the serving version's endpoints stay subscribed");
      assertEquals((await warming(mesh)).clusters, ["svc"]);
      await traffic.more(100);
      assertEquals(traffic.failures, [], "no request fails while the cluster warms");
      assertEquals(traffic.last, "A", "the old endpoints serve meanwhile");

      // Only the new CLA comes (SotW EDS carries what changed): traffic moves to B.
      from = cp.requests.length;
      const t1 = performance.now();
      n = cp.push(TYPE.EDS, "e2", [any(TYPE.EDS, cla("svc-y", b))]);
      await until(
        "traffic moves to B",
        () => Promise.resolve(traffic.last === "B" || traffic.failures.length > 0),
      );
      const edsToApplied = performance.now() - t1;
      const cdsToApplied = performance.now() - t0;
      await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.join() === "svc-y", { from });
      const before = traffic.bodies.get("A") ?? 0;
      await traffic.more(50);
      await traffic.stop();
      assertEquals(traffic.failures, [], `${traffic.ok} requests succeeded`);
      assertEquals(
        traffic.bodies.get("A") ?? 0,
        before,
        "no request goes to the old endpoints after the switch",
      );
      assertEquals((await warming(mesh)).clusters, []);
      console.log(
        `xDS push → applied, CDS+EDS with warming: CLA push → first request on the new endpoints ${
          edsToApplied.toFixed(1)
        } ms (CDS push → switched ${cdsToApplied.toFixed(0)} ms, including the test's warming checks)`,
      );
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      await b.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "xDS cluster warming: a new EDS cluster takes traffic only after its CLA, /ready waits for the initial clusters, a cluster whose CLA is here does not warm again",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [
        any(TYPE.CDS, edsCluster("one", "one-eds")),
        any(TYPE.CDS, edsCluster("two")),
      ]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.join() === "one-eds,two");
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      cp.push(TYPE.RDS, "r1", [any(TYPE.RDS, routeTable("r1", [["/one", "one"], ["/two", "two"]]))]);
      let from = cp.requests.length;
      let n = cp.push(TYPE.EDS, "e1", [any(TYPE.EDS, cla("one-eds", a))]);
      await cp.waitForRequest((r) => r.nonce === n && r.errorDetail === undefined, { from });
      await until("/one reaches A", async () => (await get(mesh, "/one")) === "A");

      // Every type had its first response, but cluster "two" still warms: not ready, not routable.
      assertEquals((await warming(mesh)).clusters, ["two"]);
      assertEquals(await readyStatus(mesh), 503, "/ready waits for the initial clusters to warm");
      const stats = await adminStats(mesh.adminPort);
      const ads = Object.values(stats["xds"] ?? {}).find((m) => "warming_clusters" in m);
      assertEquals(
        [ads?.["warming_clusters"], ads?.["warming_listeners"]],
        [1, 0],
        JSON.stringify(stats["xds"]),
      );
      const address = (await mesh.readAddresses()).listeners["ingress"]!;
      const r = await curl(["-s", "-w", " %{http_code}", `http://${address}/two`]);
      assert(
        /^no healthy upstream\s+502$/.test(r.stdout),
        `a warming new cluster is not applied: ${r.stdout}`,
      );

      from = cp.requests.length;
      n = cp.push(TYPE.EDS, "e2", [any(TYPE.EDS, cla("two", b))]);
      await cp.waitForRequest((r) => r.nonce === n && r.errorDetail === undefined, { from });
      await until("/two reaches B", async () => (await get(mesh, "/two")) === "B");
      assertEquals(await get(mesh, "/one"), "A", "an EDS response without one's CLA keeps it");
      assertEquals(await readyStatus(mesh), 200);
      assertEquals((await warming(mesh)).clusters, []);

      // An update keeping the EDS name, and a new cluster on a CLA already here: nothing warms.
      from = cp.requests.length;
      n = cp.push(TYPE.CDS, "c2", [
        any(TYPE.CDS, edsCluster("one", "one-eds", { connect_timeout: { seconds: 2 } })),
        any(TYPE.CDS, edsCluster("two")),
        any(TYPE.CDS, edsCluster("also-one", "one-eds")),
      ]);
      await cp.waitForRequest((r) => r.nonce === n && r.errorDetail === undefined, { from });
      assertEquals((await warming(mesh)).clusters, [], "a cluster whose CLA arrived does not warm again");
      for (let i = 0; i < 5; i++) assertEquals(await get(mesh, "/one"), "A");
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      await b.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "xDS cluster warming: a CLA that never comes ends its cluster's warming after initial_fetch_timeout (no hosts; /ready follows), unless the cluster's eds_config says 0s",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const mesh = await startMeshctl(bootstrapWithTimeout(cp, "1s"), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [any(TYPE.CDS, edsCluster("here")), any(TYPE.CDS, edsCluster("never"))]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.join() === "here,never");
      cp.push(TYPE.LDS, "l0", []);
      const from = cp.requests.length;
      const n = cp.push(TYPE.EDS, "e1", [any(TYPE.EDS, cla("here", a))]);
      await cp.waitForRequest((r) => r.nonce === n && r.errorDetail === undefined, { from });
      assertEquals((await warming(mesh)).clusters, ["never"]);
      assertEquals(await readyStatus(mesh), 503, "waiting for cluster never's endpoints");
      const waited = await until("warming ends", async () => (await warming(mesh)).clusters.length === 0);
      assertEquals(await readyStatus(mesh), 200);
      console.log(`cluster warming ended ${waited.toFixed(0)} ms after the check (initial_fetch_timeout 1s)`);

      // istiod's EDS clusters carry eds_config.initial_fetch_timeout 0s: no timer, they warm until the CLA.
      const forever = edsCluster("forever");
      (forever["eds_cluster_config"] as Obj)["eds_config"] = {
        ads: {},
        initial_fetch_timeout: { seconds: 0 },
        resource_api_version: "V3",
      };
      const t0 = performance.now();
      cp.push(TYPE.CDS, "c2", [any(TYPE.CDS, edsCluster("here")), any(TYPE.CDS, forever)]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.includes("forever"));
      // The bootstrap's 1 s does-not-exist timer fires for "forever" (logged); it keeps warming all the same.
      await until(
        "the does-not-exist report",
        () => Promise.resolve(/does not exist.*forever/.test(mesh.logs())),
      );
      assert(performance.now() - t0 >= 1_000, "reported after initial_fetch_timeout");
      assertEquals((await warming(mesh)).clusters, ["forever"]);
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
