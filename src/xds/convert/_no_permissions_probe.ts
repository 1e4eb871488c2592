/** Run by decode_test.ts with no permissions at all: the descriptor is compiled in, nothing is read. */
// The converter's own files, not the module's door: that also exports the gRPC client, whose library reads
// GRPC_* environment variables when imported (the serve command grants those).
import { decodeResource, encodeResource, TYPE_URL } from "./decode.ts";
import { convertXdsResources } from "./convert.ts";

const cluster = { name: "probe", type: "STATIC", lb_policy: "RANDOM" };
const decoded = decodeResource(TYPE_URL.cluster, encodeResource(TYPE_URL.cluster, cluster));
const converted = convertXdsResources({ listeners: [], routes: [], clusters: [decoded], endpoints: [] });
console.log(JSON.stringify(converted.clusters[0]));
