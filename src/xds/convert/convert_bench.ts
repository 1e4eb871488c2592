/**
 * The cost of applying an xDS update, without the network: decode a mesh of SERVICES Istio-shaped
 * services (one EDS cluster with 3 endpoints and one virtual host each, one listener + RDS table) from
 * DiscoveryResponse bytes, convert, and validate into a ConfigSnapshot, as the ADS client does per push.
 *   deno bench --no-prompt -A src/xds/convert/convert_bench.ts
 */
import { parseConfigText } from "../../config/mod.ts";
import {
  convertXdsResources,
  type DecodedAny,
  decodeResource,
  encodeResource,
  mosnDocument,
  TYPE_URL,
} from "../mod.ts";
import { outboundListener, reviewsCluster, reviewsEndpoints, routes9080 } from "./_istio_fixtures.ts";

const SERVICES = 200;
const RESPONSE = "type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse";

const names = Array.from({ length: SERVICES }, (_, i) => `outbound|9080||svc${i}.default.svc.cluster.local`);
const route = routes9080();
const vhostTemplate = route.virtual_hosts[0]!;
route.virtual_hosts = names.map((name, i) => ({
  name: `svc${i}:9080`,
  domains: [`svc${i}.default.svc.cluster.local`, `svc${i}:9080`],
  routes: [{ match: { prefix: "/" }, route: { cluster: name, timeout: { seconds: 0 } } }],
})) as unknown as typeof route.virtual_hosts;
void vhostTemplate;

const response = (typeUrl: string, resources: object[]) =>
  encodeResource(RESPONSE, {
    version_info: "1",
    nonce: "n",
    type_url: typeUrl,
    resources: resources.map((r) => ({ "@type": typeUrl, ...r })),
  });
const bytes = {
  lds: response(TYPE_URL.listener, [outboundListener()]),
  rds: response(TYPE_URL.route, [route]),
  cds: response(TYPE_URL.cluster, names.map((n) => reviewsCluster(n))),
  eds: response(TYPE_URL.endpoint, names.map((n) => reviewsEndpoints(n))),
};
const resourcesOf = (b: Uint8Array) => (decodeResource(RESPONSE, b).resources ?? []) as DecodedAny[];

Deno.bench(`decode ${SERVICES} services (LDS+RDS+CDS+EDS bytes)`, () => {
  for (const b of Object.values(bytes)) resourcesOf(b);
});

const decoded = {
  listeners: resourcesOf(bytes.lds),
  routes: resourcesOf(bytes.rds),
  clusters: resourcesOf(bytes.cds),
  endpoints: resourcesOf(bytes.eds),
};
Deno.bench(`convert ${SERVICES} services`, () => {
  convertXdsResources(decoded);
});

Deno.bench(`decode + convert + validate ${SERVICES} services into a snapshot`, () => {
  const converted = convertXdsResources({
    listeners: resourcesOf(bytes.lds),
    routes: resourcesOf(bytes.rds),
    clusters: resourcesOf(bytes.cds),
    endpoints: resourcesOf(bytes.eds),
  });
  const result = parseConfigText(JSON.stringify(mosnDocument(converted)), "xds");
  if (converted.errors.length || result.errors.length) throw new Error("conversion failed");
});
