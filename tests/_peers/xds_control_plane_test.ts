/**
 * The test control plane itself, driven by a bare @grpc/grpc-js ADS stream (not meshctl's client), so the
 * client's tests rest on a peer that is checked on its own.
 */
import * as grpc from "@grpc/grpc-js";
import { assertEquals } from "../_assert.ts";
import { adsProtos, protobufDecode } from "../../src/xds/client/_protos.ts";
import { TYPE, XdsControlPlane } from "./xds_control_plane.ts";

type Call = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;

function rawClient(address: string): grpc.Client {
  const pkg = grpc.loadPackageDefinition(adsProtos().packageDefinition);
  // deno-lint-ignore no-explicit-any
  const Ads = (pkg as any).envoy.service.discovery.v3
    .AggregatedDiscoveryService as grpc.ServiceClientConstructor;
  return new Ads(address, grpc.credentials.createInsecure());
}

function openStream(
  client: grpc.Client,
): { call: Call; responses: Record<string, unknown>[]; ended: Promise<number> } {
  // deno-lint-ignore no-explicit-any
  const call = (client as any).StreamAggregatedResources() as Call;
  const responses: Record<string, unknown>[] = [];
  call.on("data", (r: Record<string, unknown>) => responses.push(r));
  call.on("error", () => {});
  const ended = new Promise<number>((resolve) =>
    call.on("status", (s: grpc.StatusObject) => resolve(s.code))
  );
  return { call, responses, ended };
}

Deno.test("xds control plane: logs each request (type, version, nonce, names, NACK detail, node), pushes Any-wrapped resources, counts streams", async () => {
  using cp = await XdsControlPlane.start();
  const client = rawClient(cp.address);
  try {
    const s = openStream(client);
    s.call.write({ type_url: TYPE.CDS, resource_names: ["*"], node: { id: "n1" } });
    const first = await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
    assertEquals([first.version, first.nonce, first.names, first.hasNode, first.node?.id], [
      "",
      "",
      ["*"],
      true,
      "n1",
    ]);
    assertEquals([cp.streamCount, cp.openStreams], [1, 1]);

    const nonce = cp.push(TYPE.CDS, "v1", [{ name: "c1", type: "STATIC" }]);
    const got = await new Promise<Record<string, unknown>>((resolve) => s.call.once("data", resolve));
    assertEquals([got.version_info, got.nonce, got.type_url], ["v1", nonce, TYPE.CDS]);
    const [any] = got.resources as { type_url: string; value: Uint8Array }[];
    assertEquals([any!.type_url, protobufDecode(TYPE.CDS, any!.value).name], [TYPE.CDS, "c1"]);

    s.call.write({
      type_url: TYPE.CDS,
      version_info: "",
      response_nonce: nonce,
      resource_names: ["*"],
      error_detail: { code: 13, message: "no" },
    });
    const nack = await cp.waitForRequest((r) => r.nonce === nonce);
    assertEquals([nack.errorDetail, nack.hasNode], [{ code: 13, message: "no" }, false]);

    cp.disconnect();
    assertEquals(await s.ended, grpc.status.UNAVAILABLE);

    const port = cp.port;
    await cp.restart();
    assertEquals(cp.port, port);
    const s2 = openStream(client);
    s2.call.write({ type_url: TYPE.LDS, resource_names: ["*"] });
    const again = await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
    assertEquals([again.stream, cp.streamCount], [2, 2]);
    s2.call.end();
    await s2.ended;
  } finally {
    client.close();
  }
});
