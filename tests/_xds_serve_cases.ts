/**
 * meshctl configured over ADS end to end: it boots from a MOSN/Envoy bootstrap that names only the control
 * plane, takes clusters, a listener and its route table from a scriptable control plane (real gRPC on
 * loopback), serves traffic configured entirely that way, follows a route change, NACKs what it cannot
 * apply while the old config keeps serving, and survives a control-plane restart that sends nothing.
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, curl, ROOT, startMeshctl, startOrigin } from "./_e2e.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import {
  any,
  bootstrap,
  bootstrapWithTimeout,
  CORS,
  get,
  HCM,
  listener,
  opts,
  ROUTER,
  routeTo,
  staticCluster,
  until,
  warming,
} from "./_xds_fixtures.ts";

Deno.test(
  "xDS: meshctl serves traffic configured entirely over ADS, follows updates, NACKs what it cannot apply, rides out a control-plane restart",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      // The handshake: CDS and LDS, wildcard, with the node.
      const cds = await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
      const lds = await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      assert(cds.hasNode || lds.hasNode, "the node went on the stream's first request");
      const ready = await fetch(`http://127.0.0.1:${mesh.adminPort}/ready`);
      await ready.body?.cancel();
      assertEquals(ready.status, 503, "not ready before the initial fetch");

      cp.push(TYPE.CDS, "c1", [
        any(TYPE.CDS, staticCluster("svc_a", a)),
        any(TYPE.CDS, staticCluster("svc_b", b)),
      ]);
      await cp.waitForRequest((r) =>
        r.typeUrl === TYPE.CDS && r.version === "c1" && r.errorDetail === undefined
      );
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      // The listener's HCM names route table r1: meshctl subscribes to it.
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      // Warming: applied, but a new listener is not bound before its route table is here.
      await until("LDS l1 applied", () => Promise.resolve(mesh.logs().includes("v3.Listener version=l1")));
      assertEquals((await mesh.readAddresses()).listeners["ingress"], undefined, "the listener warms");
      assertEquals(
        await warming(mesh),
        { clusters: [], listeners: ["ingress"] },
        "config_dump shows it warming",
      );
      cp.push(TYPE.RDS, "r1-v1", [any(TYPE.RDS, routeTo("svc_a"))]);
      await until(
        "traffic reaches A through the ADS-configured listener",
        async () => (await get(mesh)) === "A",
      );
      await until("/ready is 200 once every type was fetched", async () => {
        const r = await fetch(`http://127.0.0.1:${mesh.adminPort}/ready`);
        await r.body?.cancel();
        return r.status === 200;
      });

      // A route change: the push, applied, measured.
      const t0 = performance.now();
      cp.push(TYPE.RDS, "r1-v2", [any(TYPE.RDS, routeTo("svc_b"))]);
      await until("the route change takes effect", async () => (await get(mesh)) === "B");
      const pushToApplied = performance.now() - t0;
      console.log(
        `xDS push → applied (first request answered by the new route): ${pushToApplied.toFixed(1)} ms`,
      );

      // Something meshctl cannot apply: a NACK naming it, with the previous version; B keeps serving.
      const from = cp.requests.length;
      const nonce = cp.push(TYPE.LDS, "l2", [
        any(TYPE.LDS, listener([{ name: "envoy.filters.http.cors", typed_config: { "@type": CORS } }])),
      ]);
      const nack = await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS && r.nonce === nonce, { from });
      assert(nack.errorDetail !== undefined, "a NACK");
      assertEquals(nack.version, "l1", "a NACK carries the version still in force");
      assert(nack.errorDetail.message.includes("envoy.filters.http.cors"), nack.errorDetail.message);
      assertEquals(await get(mesh), "B");
      const dump = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump`)).json();
      const lastNack = JSON.stringify(dump["xds_status"]);
      assert(lastNack.includes("cors"), `config_dump shows the last NACK: ${lastNack}`);

      // The control plane restarts and sends nothing: meshctl reconnects with what it accepted, keeps serving.
      const streams = cp.streamCount;
      await cp.restart();
      const again = await cp.waitForRequest((r) => r.stream > streams && r.typeUrl === TYPE.LDS, {
        timeoutMs: 10_000,
      });
      assertEquals([again.version, again.nonce], ["l1", ""], "last accepted version, no stale nonce");
      for (let i = 0; i < 20; i++) assertEquals(await get(mesh), "B");
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
  "xDS: MOSN's xds-server-sample bootstrap starts and subscribes with its node (only its control-plane port moved)",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const file = `${ROOT}config/mosn_examples/xds/xds-server-sample_config.json`;
    const config = JSON.parse(await Deno.readTextFile(file));
    config.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
      .socket_address
      .port_value = cp.port;
    config.admin.address.socket_address.port_value = 0;
    const mesh = await startMeshctl(config, { ready: false });
    try {
      const first = await cp.waitForRequest((r) => r.hasNode);
      assertEquals(first.node?.["id"], "test-id");
      assertEquals(first.node?.["cluster"], "test-cluster");
      await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS && r.names.includes("*"));
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS && r.names.includes("*"));
    } finally {
      const code = await mesh.stop();
      cp.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "xDS: no request fails while routes and endpoints change under load; LDS/CDS deletion removes what is gone",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [
        any(TYPE.CDS, staticCluster("svc_a", a)),
        any(TYPE.CDS, staticCluster("svc_b", b)),
      ]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS && r.version === "c1");
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      cp.push(TYPE.RDS, "r-0", [any(TYPE.RDS, routeTo("svc_a"))]);
      await until("first traffic", async () => (await get(mesh)) === "A");
      const address = (await mesh.readAddresses()).listeners["ingress"]!;

      // Four loops of keep-alive requests while the route flips between the clusters and a cluster's
      // endpoint moves (svc_b re-pointed at A's origin and back): every request must succeed.
      let stop = false;
      let ok = 0;
      const failures: string[] = [];
      const loops = Array.from({ length: 4 }, async () => {
        while (!stop) {
          try {
            const r = await fetch(`http://${address}/`);
            const body = await r.text();
            if (r.status === 200 && (body === "A" || body === "B")) ok++;
            else failures.push(`${r.status} ${body}`);
          } catch (e) {
            failures.push(String(e));
          }
        }
      });
      for (let i = 1; i <= 10; i++) {
        const from = cp.requests.length;
        if (i % 2 === 0) {
          const n = cp.push(TYPE.CDS, `c${i}`, [
            any(TYPE.CDS, staticCluster("svc_a", a)),
            any(TYPE.CDS, staticCluster("svc_b", i % 4 === 0 ? a : b)),
          ]);
          await cp.waitForRequest((r) => r.nonce === n, { from });
        } else {
          const n = cp.push(TYPE.RDS, `r-${i}`, [any(TYPE.RDS, routeTo(i % 4 === 1 ? "svc_a" : "svc_b"))]);
          await cp.waitForRequest((r) => r.nonce === n, { from });
        }
        // Let traffic run on each version: 11 more requests (10 versions × 11 > the 100 checked below), a
        // count, not 100 ms that a loaded machine filled with fewer (94 once).
        const seen = ok;
        const deadline = Date.now() + 30_000; // a stuck traffic loop fails the count below, not the test's timer
        while (ok < seen + 11 && failures.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      stop = true;
      await Promise.all(loops);
      assertEquals(failures, [], `${ok} requests succeeded`);
      assert(ok > 100, `only ${ok} requests ran`);

      // CDS without svc_b: a route to it now answers "no healthy upstream" (meshctl's 502 for a cluster without
      // hosts; Envoy accepts a route to an unknown cluster the same way), not a NACK.
      let from = cp.requests.length;
      let n = cp.push(TYPE.RDS, "r-b", [any(TYPE.RDS, routeTo("svc_b"))]);
      await cp.waitForRequest((r) => r.nonce === n, { from });
      await until("route to svc_b", async () => (await get(mesh)) === "B");
      from = cp.requests.length;
      n = cp.push(TYPE.CDS, "c-no-b", [any(TYPE.CDS, staticCluster("svc_a", a))]);
      const ack = await cp.waitForRequest((r) => r.nonce === n, { from });
      assertEquals(ack.errorDetail, undefined, "accepted");
      let last = "";
      await until("svc_b is gone: no healthy upstream", async () => {
        const r = await curl(["-s", "-w", " %{http_code}", `http://${address}/`]);
        last = r.stdout;
        return /^no healthy upstream\s+502$/.test(r.stdout);
      }).catch((e) => {
        throw new Error(`${e.message}; last answer: ${last}\n${mesh.logs().slice(-3000)}`);
      });

      // LDS without the listener: it is removed and its port closes.
      from = cp.requests.length;
      n = cp.push(TYPE.LDS, "l-none", []);
      await cp.waitForRequest((r) => r.nonce === n && r.errorDetail === undefined, { from });
      await until(
        "the listener is gone",
        async () => (await mesh.readAddresses()).listeners["ingress"] === undefined,
      );
      const r = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", `http://${address}/`]);
      assert(r.code !== 0, `the port still answers: ${r.stdout}`);
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
  "xDS: a listener whose route table never comes stops warming after initial_fetch_timeout and answers 404",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const mesh = await startMeshctl(bootstrapWithTimeout(cp, "1s"), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [any(TYPE.CDS, staticCluster("svc_a", a))]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS && r.version === "c1");
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      await until("LDS l1 applied", () => Promise.resolve(mesh.logs().includes("v3.Listener version=l1")));
      assertEquals((await mesh.readAddresses()).listeners["ingress"], undefined, "warming while r1 may come");
      // r1 never comes: after initial_fetch_timeout the listener is bound with an empty table.
      const waited = await until(
        "the listener is bound",
        async () => (await mesh.readAddresses()).listeners["ingress"] !== undefined,
      );
      const address = (await mesh.readAddresses()).listeners["ingress"]!;
      const r = await curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", `http://${address}/`]);
      assertEquals(r.stdout, "404");
      assert(mesh.logs().includes("does not exist"), mesh.logs());
      console.log(
        `listener bound ${waited.toFixed(0)} ms after its RDS subscription (initial_fetch_timeout 1s)`,
      );
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "xDS: a NACK for what only the validator catches names the Envoy resource (two listeners on one address)",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      // Inline route tables, so neither listener warms (a warming listener is not validated yet).
      const on = (name: string) => ({
        name,
        address: { socket_address: { address: "127.0.0.1", port_value: 1 } },
        filter_chains: [{
          filters: [{
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: name,
              route_config: { ...routeTo("svc_a"), name: `${name}_routes` },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }],
            },
          }],
        }],
      });
      const from = cp.requests.length;
      const nonce = cp.push(TYPE.LDS, "l-clash", [any(TYPE.LDS, on("first")), any(TYPE.LDS, on("second"))]);
      const nack = await cp.waitForRequest((r) => r.nonce === nonce, { from });
      assert(nack.errorDetail !== undefined, "a NACK");
      assert(/Listener "second": .*already used by/.test(nack.errorDetail.message), nack.errorDetail.message);
      assertEquals(nack.version, "");
    } finally {
      const code = await mesh.stop();
      cp.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);

Deno.test(
  "xDS: a filter listed in dynamic_resources.ignore_filters is skipped (ACK, served, logged once, counted) instead of NACKed",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const config = bootstrap(cp);
    (config["dynamic_resources"] as Record<string, unknown>)["ignore_filters"] = ["envoy.filters.http.cors"];
    const mesh = await startMeshctl(config, { ready: false });
    try {
      // A push reaches only open streams: wait for the subscription first, as every other case does.
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [any(TYPE.CDS, staticCluster("svc_a", a))]);
      const cors = [{ name: "envoy.filters.http.cors", typed_config: { "@type": CORS } }];
      const nonce = cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener(cors))]);
      const ack = await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS && r.nonce === nonce);
      assertEquals([ack.version, ack.errorDetail], ["l1", undefined], "ACKed, not NACKed");
      cp.push(TYPE.RDS, "r1", [any(TYPE.RDS, routeTo("svc_a"))]);
      await until(
        "served through the listener whose cors filter was skipped",
        async () => (await get(mesh)) === "A",
      );
      // The same listener again (a new version): the skip is not logged twice, and counted once.
      const again = cp.push(TYPE.LDS, "l2", [any(TYPE.LDS, listener(cors))]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS && r.nonce === again && r.version === "l2");
      await until("l2 applied", () => Promise.resolve(mesh.logs().includes("v3.Listener version=l2")));
      const logged = mesh.logs().split("\n").filter((l) => l.includes("filter not applied"));
      assertEquals(logged.length, 1, mesh.logs());
      assert(logged[0]!.includes("envoy.filters.http.cors"), logged[0]);
      const stats = await adminStats(mesh.adminPort);
      const xds = Object.values(stats["xds"] ?? {}).find((m) => "filters_skipped" in m);
      assertEquals(xds?.["filters_skipped"], 1, JSON.stringify(stats["xds"]));
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
