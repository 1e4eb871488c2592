import { encodeResource, TYPE_URL, decodeResource } from "./src/xds/mod.ts";
import { reviewsEndpoints } from "./src/xds/convert/_istio_fixtures.ts";
const RESPONSE = "type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse";
const names = Array.from({ length: 200 }, (_, i) => `outbound|9080||svc${i}.default.svc.cluster.local`);
const b = encodeResource(RESPONSE, { type_url: TYPE_URL.endpoint, resources: names.map((n) => ({ "@type": TYPE_URL.endpoint, ...reviewsEndpoints(n) })) });
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  for (let i = 0; i < 10; i++) decodeResource(RESPONSE, b);
  console.log((performance.now() - t) / 10);
}
