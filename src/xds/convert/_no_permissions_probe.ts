/** Run by decode_test.ts with no permissions at all: the descriptor is compiled in, nothing is read. */
import { convertXdsResources, decodeResource, encodeResource, TYPE_URL } from "../mod.ts";

const cluster = { name: "probe", type: "STATIC", lb_policy: "RANDOM" };
const decoded = decodeResource(TYPE_URL.cluster, encodeResource(TYPE_URL.cluster, cluster));
const converted = convertXdsResources({ listeners: [], routes: [], clusters: [decoded], endpoints: [] });
console.log(JSON.stringify(converted.clusters[0]));
