/**
 * The ADS client's bootstrap knobs end to end: `envoy_grpc.max_receive_message_length` bounds a
 * DiscoveryResponse (a larger one ends the stream, is counted, and the client reconnects with what it had
 * accepted), and the ADS cluster's `connection_keepalive` reaches the client (config_dump shows both).
 */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, startMeshctl, startOrigin } from "./_e2e.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import { any, bootstrap, type Obj, opts, staticCluster } from "./_xds_fixtures.ts";

Deno.test(
  "xDS limits: a response over max_receive_message_length ends the stream (message_too_large), the client reconnects with its accepted version; keepalive from connection_keepalive",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const config = bootstrap(cp);
    const ads = (config["dynamic_resources"] as Obj)["ads_config"] as Obj;
    ((ads["grpc_services"] as Obj[])[0]!["envoy_grpc"] as Obj)["max_receive_message_length"] = 4096;
    const adsCluster = ((config["static_resources"] as Obj)["clusters"] as Obj[])[0]!;
    adsCluster["http2_protocol_options"] = { connection_keepalive: { interval: "5s", timeout: "2s" } };
    const mesh = await startMeshctl(config, { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      let from = cp.requests.length;
      let n = cp.push(TYPE.CDS, "c1", [any(TYPE.CDS, staticCluster("svc_0", a))]);
      assertEquals((await cp.waitForRequest((r) => r.nonce === n, { from })).errorDetail, undefined);
      const dump = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump`)).json();
      assertEquals(dump["xds_status"]["limits"], {
        maxReceiveMessageBytes: 4096,
        keepaliveTimeMs: 5_000,
        keepaliveTimeoutMs: 2_000,
      });

      // ~100 clusters: well over 4 KiB on the wire.
      const streams = cp.streamCount;
      from = cp.requests.length;
      n = cp.push(
        TYPE.CDS,
        "c-big",
        Array.from({ length: 100 }, (_, i) => any(TYPE.CDS, staticCluster(`svc_${i}`, a))),
      );
      const again = await cp.waitForRequest((r) => r.stream > streams && r.typeUrl === TYPE.CDS, {
        from,
        timeoutMs: 10_000,
      });
      assertEquals([again.version, again.nonce], ["c1", ""], "reconnected with the accepted version");
      assert(!cp.requests.slice(from).some((r) => r.nonce === n), "the oversized response was never ACKed");
      const stats = await adminStats(mesh.adminPort);
      const cpStats = Object.values(stats["xds"] ?? {}).find((m) => "message_too_large" in m);
      assertEquals(cpStats?.["message_too_large"], 1, JSON.stringify(stats["xds"]));

      // A response within the limit on the new stream is applied.
      from = cp.requests.length;
      n = cp.push(TYPE.CDS, "c2", [any(TYPE.CDS, staticCluster("svc_1", a))]);
      const ack = await cp.waitForRequest((r) => r.nonce === n, { from });
      assertEquals([ack.version, ack.errorDetail], ["c2", undefined]);
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
