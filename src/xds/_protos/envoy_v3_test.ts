import { equal } from "node:assert/strict";
import { generateXdsDescriptor } from "../../../scripts/gen_xds_descriptor.ts";

Deno.test("src/xds/_protos/envoy_v3.json is what `make xds-protos` generates from npm:@grpc/grpc-js-xds", async () => {
  const checkedIn = await Deno.readTextFile(new URL("./envoy_v3.json", import.meta.url));
  // equal, not assertEquals: a 365 KB diff would bury the message.
  equal(generateXdsDescriptor() === checkedIn, true, "stale descriptor: run `make xds-protos` and commit it");
});
