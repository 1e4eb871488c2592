/**
 * An Istio-shaped sidecar outbound configuration end to end: the resources istiod sends for bookinfo's
 * `reviews` (tests/_xds_istio.ts), pushed in istiod's order (CDS, EDS, LDS, RDS) over ADS; requests by
 * every host form Istio lists reach the service's healthy endpoints, never an UNHEALTHY one; `end-user:
 * jason` goes to v2, `/split` splits 75/25 over v1/v2, any other host falls to the `allow_any` catch-all.
 */
import { assert, assertEquals } from "./_assert.ts";
import { curl, type Meshctl, type Origin, startMeshctl, startOrigin } from "./_e2e.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import { any, bootstrap, opts, readyStatus, until } from "./_xds_fixtures.ts";
import {
  istioCla,
  type IstioEndpoint,
  outboundCluster,
  outboundListener,
  passthroughCluster,
  REVIEWS,
  REVIEWS_V1,
  REVIEWS_V2,
  routes9080,
} from "./_xds_istio.ts";

/** `n` GETs of `path` with `Host: host` (and `headers`) over one curl (one connection): the bodies. */
async function bodies(
  mesh: Meshctl,
  host: string,
  n: number,
  path = "/",
  headers: string[] = [],
): Promise<string[]> {
  const address = (await mesh.readAddresses()).listeners["0.0.0.0_9080"];
  if (address === undefined) return [];
  const url = `http://${address}${path}`;
  const r = await curl([
    "-s",
    "-H",
    `Host: ${host}`,
    ...headers.flatMap((h) => ["-H", h]),
    "-w",
    "\n",
    ...Array(n).fill(url),
  ]);
  return r.stdout.split("\n").slice(0, n);
}

function counts(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

Deno.test(
  "xDS Istio-shaped: outbound|9080||reviews… over ADS — Istio's host forms reach healthy endpoints only, header route to v2, 75/25 weighted split, allow_any catch-all",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const origins: Origin[] = [];
    const origin = (body: string) => {
      const o = startOrigin(() => new Response(body));
      origins.push(o);
      return o;
    };
    const v1East = origin("v1-east");
    const v1West = origin("v1-west");
    const v2East = origin("v2-east");
    const unhealthy = origin("unhealthy");
    const outside = origin("passthrough");
    const ep = (o: Origin, subset: string, healthy = true): IstioEndpoint => ({ origin: o, subset, healthy });
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      // istiod's push order: CDS, EDS, LDS, RDS.
      cp.push(TYPE.CDS, "2026-12-01T18:00:00Z/1", [
        ...[REVIEWS, REVIEWS_V1, REVIEWS_V2].map((n) => any(TYPE.CDS, outboundCluster(n))),
        any(TYPE.CDS, passthroughCluster(outside)),
      ]);
      const eds = await cp.waitForRequest((r) => r.typeUrl === TYPE.EDS && r.names.length === 3);
      assertEquals(
        eds.names,
        [REVIEWS, REVIEWS_V1, REVIEWS_V2].sort(),
        "EDS names are the clusters' service_name",
      );
      cp.push(TYPE.EDS, "2026-12-01T18:00:00Z/1", [
        any(
          TYPE.EDS,
          istioCla(REVIEWS, [ep(v1East, "v1"), ep(v2East, "v2")], [
            ep(v1West, "v1"),
            ep(unhealthy, "v1", false),
          ]),
        ),
        any(
          TYPE.EDS,
          istioCla(REVIEWS_V1, [ep(v1East, "v1")], [ep(v1West, "v1"), ep(unhealthy, "v1", false)]),
        ),
        any(TYPE.EDS, istioCla(REVIEWS_V2, [ep(v2East, "v2")], [ep(unhealthy, "v2", false)])),
      ]);
      cp.push(TYPE.LDS, "2026-12-01T18:00:00Z/1", [any(TYPE.LDS, outboundListener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.join() === "9080");
      const from = cp.requests.length;
      const n = cp.push(TYPE.RDS, "2026-12-01T18:00:00Z/1", [any(TYPE.RDS, routes9080())]);
      const ack = await cp.waitForRequest((r) => r.nonce === n, { from });
      assertEquals(ack.errorDetail, undefined, "istiod-shaped resources accepted");
      await until("/ready", async () => (await readyStatus(mesh)) === 200);
      for (const r of cp.requests) {
        assertEquals(r.errorDetail, undefined, `no NACK: ${r.errorDetail?.message}`);
      }

      // Every host form Istio lists for the service (with and without the port) reaches its endpoints.
      const service = ["v1-east", "v1-west", "v2-east"];
      for (
        const host of [
          "reviews:9080",
          "reviews.default.svc.cluster.local:9080",
          "reviews",
          "reviews.default.svc",
        ]
      ) {
        const got = counts(await bodies(mesh, host, 30));
        assertEquals(Object.keys(got).sort(), service, `Host ${host}: ${JSON.stringify(got)}`);
      }
      // A header match sends end-user jason to v2 only.
      assertEquals(counts(await bodies(mesh, "reviews:9080", 20, "/", ["end-user: jason"])), {
        "v2-east": 20,
      });
      // The weighted route: 75 % v1, 25 % v2 (random per request; 400 draws, bounds ±6 standard deviations).
      const split = counts(await bodies(mesh, "reviews.default.svc.cluster.local:9080", 400, "/split"));
      const v2Share = (split["v2-east"] ?? 0) / 400;
      assertEquals(Object.keys(split).sort(), service, JSON.stringify(split));
      assert(v2Share > 0.12 && v2Share < 0.38, `v2 share ${v2Share} (want 0.25): ${JSON.stringify(split)}`);
      // Any other host is allow_any's: the PassthroughCluster stand-in.
      assertEquals(counts(await bodies(mesh, "ratings:9080", 5)), { passthrough: 5 });
      assertEquals(unhealthy.requests, 0, "an UNHEALTHY endpoint never gets traffic");
      console.log(`Istio-shaped split over 400 requests: ${JSON.stringify(split)}`);
    } finally {
      const code = await mesh.stop();
      cp.close();
      for (const o of origins) await o.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
