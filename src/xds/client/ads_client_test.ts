/**
 * The ADS client's protocol against the scriptable control plane, real gRPC on loopback (xds.md test plan
 * 1–4, 9, 12 and subscriptions). Every wait is on a logged request or a client event.
 */
import { assert, assertEquals, assertStringIncludes } from "../../../tests/_assert.ts";
import { protobufEncode } from "./_protos.ts";
import { cla, cluster, Harness, listener, TYPE } from "./_harness_test.ts";

Deno.test("handshake: the first request carries the node, v3 type URLs, '*' and empty version/nonce; later ones no node", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.LDS, []);
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  const lds = await h.cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
  const cds = await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  // make-before-break: CDS is subscribed first, and only the stream's first request has the node
  assertEquals(h.cp.requests.map((r) => [r.typeUrl, r.hasNode]), [[TYPE.CDS, true], [TYPE.LDS, false]]);
  assertEquals(cds.node?.id, "sidecar~127.0.0.1~app.default~default.svc.cluster.local");
  for (const r of [lds, cds]) {
    assertEquals([r.version, r.nonce, r.names, r.errorDetail], ["", "", ["*"], undefined]);
  }
  h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  const ack = await h.cp.waitForRequest((r) => r.nonce !== "");
  assertEquals(ack.hasNode, false);
  assertEquals(h.cp.streamCount, 1);
});

Deno.test("ACK: a response (v1, n1) is answered by exactly one request with v1, n1 and the names", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  const nonce = h.cp.push(TYPE.CDS, "v1", [cluster("c1"), cluster("c2")]);
  const ack = await h.cp.waitForRequest((r) => r.nonce === nonce);
  assertEquals([ack.typeUrl, ack.version, ack.names, ack.errorDetail], [TYPE.CDS, "v1", ["*"], undefined]);
  // A later, unrelated request marks the end of anything the ACK could have caused.
  h.client.setNames(TYPE.EDS, ["c1"]);
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  assertEquals(h.cp.requests.filter((r) => r.nonce === nonce).length, 1);
  assertEquals(h.store.get(TYPE.CDS), { version: "v1", names: ["c1", "c2"] });
  assertEquals(h.client.describe().types.find((t) => t.typeUrl === TYPE.CDS)?.acceptedVersion, "v1");
  assertEquals([h.counter("cds", "update_attempt"), h.counter("cds", "update_success")], [1, 1]);
});

Deno.test("NACK: a bad or duplicate cluster → previous version, that nonce, error_detail 13; state kept; a later good version accepted", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  const n1 = h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === n1);

  const n2 = h.cp.push(TYPE.CDS, "v2", [cluster("c1"), cluster("bad1")]);
  const nack = await h.cp.waitForRequest((r) => r.nonce === n2);
  assertEquals([nack.version, nack.errorDetail?.code], ["v1", 13]);
  assertStringIncludes(nack.errorDetail!.message, "bad1");
  assertEquals(h.store.get(TYPE.CDS), { version: "v1", names: ["c1"] });
  const cds = () => h.client.describe().types.find((t) => t.typeUrl === TYPE.CDS)!;
  assertEquals([cds().acceptedVersion, cds().lastNack?.version, cds().lastNack?.nonce], ["v1", "v2", n2]);
  assertStringIncludes(cds().lastNack!.message, "bad1");

  // Two resources with one name: rejected before apply ever sees the response.
  const calls = h.applyCalls.length;
  const n3 = h.cp.push(TYPE.CDS, "v3", [cluster("c2"), cluster("c2")]);
  const dup = await h.cp.waitForRequest((r) => r.nonce === n3);
  assertEquals([dup.version, dup.errorDetail?.code], ["v1", 13]);
  assertStringIncludes(dup.errorDetail!.message, 'duplicate resource name "c2"');
  assertEquals(h.applyCalls.length, calls);

  const n4 = h.cp.push(TYPE.CDS, "v4", [cluster("c2")]);
  const ack = await h.cp.waitForRequest((r) => r.nonce === n4);
  assertEquals([ack.version, ack.errorDetail], ["v4", undefined]);
  assertEquals(h.store.get(TYPE.CDS), { version: "v4", names: ["c2"] });
  assertEquals(cds().lastNack, undefined);
  assertEquals([h.counter("cds", "update_rejected"), h.counter("cds", "update_success")], [2, 2]);
});

Deno.test("NACK loop: 50 identical bad pushes → exactly 50 NACKs, one per nonce, and the old config stays", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  const n1 = h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === n1);
  const from = h.cp.requests.length;
  const nonces: string[] = [];
  for (let i = 0; i < 50; i++) nonces.push(h.cp.push(TYPE.CDS, "v2", [cluster("bad")]));
  await h.cp.waitForRequest((r) => r.nonce === nonces.at(-1), { from });
  h.client.setNames(TYPE.EDS, ["c1"]); // the marker: nothing the NACKs caused comes after it
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS, { from });
  const after = h.cp.requests.slice(from).filter((r) => r.typeUrl === TYPE.CDS);
  assertEquals(after.length, 50);
  assertEquals(after.map((r) => r.nonce), nonces);
  assert(after.every((r) => r.version === "v1" && r.errorDetail?.code === 13), "every NACK keeps v1");
  assertEquals(h.store.get(TYPE.CDS), { version: "v1", names: ["c1"] });
  assertEquals(h.counter("cds", "update_rejected"), 50);
});

Deno.test("nonce race: responses N2 and N3 back to back → the latest request carries N3, and a subscription change reuses it", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  const n2 = h.cp.push(TYPE.CDS, "v2", [cluster("c1"), cluster("c2")]);
  const n3 = h.cp.push(TYPE.CDS, "v3", [cluster("c3")]);
  await h.cp.waitForRequest((r) => r.nonce === n3);
  const ackOrder = h.cp.requests.filter((r) => r.nonce !== "").map((r) => [r.nonce, r.version]);
  assertEquals(ackOrder.slice(-2), [[n2, "v2"], [n3, "v3"]]);
  const from = h.cp.requests.length;
  h.client.setNames(TYPE.CDS, ["c3"]);
  const change = await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS, { from });
  assertEquals([change.version, change.nonce, change.names, change.errorDetail], [
    "v3",
    n3,
    ["c3"],
    undefined,
  ]);
});

Deno.test("unknown type_url → one NACK with that type_url; a mismatched Any → NACK; both counted", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  const unknown = "type.googleapis.com/envoy.config.listener.v3.ListenerNope";
  const n1 = h.cp.push(unknown, "x1", [{ any: { type_url: unknown, value: new Uint8Array() } }]);
  const nack = await h.cp.waitForRequest((r) => r.nonce === n1);
  assertEquals([nack.typeUrl, nack.version, nack.errorDetail?.code], [unknown, "", 13]);
  assertStringIncludes(nack.errorDetail!.message, "not subscribed");
  assertEquals(h.controlPlaneCounter("unknown_type_url"), 1);

  // A Listener inside a CDS response.
  const n2 = h.cp.push(TYPE.CDS, "v1", [{
    any: { type_url: TYPE.LDS, value: protobufEncode(TYPE.LDS, listener("l1")) },
  }]);
  const mismatch = await h.cp.waitForRequest((r) => r.nonce === n2);
  assertEquals([mismatch.version, mismatch.errorDetail?.code], ["", 13]);
  assertStringIncludes(mismatch.errorDetail!.message, "is not the response's");
  // Bytes that are not a Cluster at all.
  const n3 = h.cp.push(TYPE.CDS, "v2", [{
    any: { type_url: TYPE.CDS, value: new Uint8Array([0xff, 0xff]) },
  }]);
  const garbage = await h.cp.waitForRequest((r) => r.nonce === n3);
  assertStringIncludes(garbage.errorDetail?.message ?? "", "cannot decode");
  assertEquals([h.counter("cds", "update_rejected"), h.store.has(TYPE.CDS)], [2, false]);
});

Deno.test("unrequested names are ignored: EDS for [a] given a and b applies only a", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.EDS, ["a"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  const n = h.cp.push(TYPE.EDS, "e1", [cla("a"), cla("b")]);
  const ack = await h.cp.waitForRequest((r) => r.nonce === n);
  assertEquals([ack.version, ack.names, ack.errorDetail], ["e1", ["a"], undefined]);
  assertEquals(h.applyCalls, [{ typeUrl: TYPE.EDS, names: ["a"], version: "e1" }]);
  assertEquals(h.counter("eds", "unrequested_resource"), 1);
});

Deno.test("subscriptions: names added and removed are resent whole; unchanged sends nothing; LDS named then empty is none, not '*'", async () => {
  using h = await Harness.start();
  h.client.setNames(TYPE.LDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
  const n = h.cp.push(TYPE.LDS, "l1", [listener("l1")]);
  await h.cp.waitForRequest((r) => r.nonce === n);
  const rds = (from: number) => h.cp.waitForRequest((r) => r.typeUrl === TYPE.RDS, { from });

  let from = h.cp.requests.length;
  h.client.setNames(TYPE.RDS, ["r1"]);
  assertEquals((await rds(from)).names, ["r1"]);
  from = h.cp.requests.length;
  h.client.setNames(TYPE.RDS, ["r2", "r1"]);
  assertEquals((await rds(from)).names, ["r1", "r2"]);
  from = h.cp.requests.length;
  h.client.setNames(TYPE.RDS, ["r2"]); // unsubscribe r1 = resend without it
  assertEquals((await rds(from)).names, ["r2"]);
  from = h.cp.requests.length;
  h.client.setNames(TYPE.RDS, ["r2"]); // unchanged: nothing
  h.client.setNames(TYPE.LDS, ["l1"]); // explicit names end LDS's implicit wildcard
  const named = await h.cp.waitForRequest((r) => r.typeUrl === TYPE.LDS, { from });
  assertEquals([named.names, named.version, named.nonce], [["l1"], "l1", n]);
  assertEquals(h.cp.requests.slice(from).filter((r) => r.typeUrl === TYPE.RDS).length, 0);
  from = h.cp.requests.length;
  h.client.setNames(TYPE.LDS, []);
  assertEquals((await h.cp.waitForRequest((r) => r.typeUrl === TYPE.LDS, { from })).names, []);
  from = h.cp.requests.length;
  h.client.setNames(TYPE.LDS, ["*"]);
  assertEquals((await h.cp.waitForRequest((r) => r.typeUrl === TYPE.LDS, { from })).names, ["*"]);
});

Deno.test("subscriptions changed inside apply: other types' requests go out at once, the same type's ride on its ACK", async () => {
  using h = await Harness.start();
  h.onCommit = (typeUrl, names) => {
    if (typeUrl === TYPE.CDS) h.client.setNames(TYPE.EDS, names); // EDS names from the clusters
    if (typeUrl === TYPE.EDS) h.client.setNames(TYPE.EDS, [...names, "extra"]);
  };
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  const from = h.cp.requests.length;
  const nc = h.cp.push(TYPE.CDS, "v1", [cluster("c1"), cluster("c2")]);
  await h.cp.waitForRequest((r) => r.nonce === nc);
  const ne = h.cp.push(TYPE.EDS, "e1", [cla("c1")]);
  const ack = await h.cp.waitForRequest((r) => r.nonce === ne);
  assertEquals([ack.version, ack.names], ["e1", ["c1", "extra"]]);
  const seen = h.cp.requests.slice(from).map((r) => [r.typeUrl, r.version, r.nonce, r.names]);
  assertEquals(seen, [
    [TYPE.EDS, "", "", ["c1", "c2"]],
    [TYPE.CDS, "v1", nc, ["*"]],
    [TYPE.EDS, "e1", ne, ["c1", "extra"]],
  ]);
});
