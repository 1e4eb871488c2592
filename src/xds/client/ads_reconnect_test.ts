/**
 * Reconnects, timers and readiness (xds.md test plan 6 (timer part), 9 (nonces), 10): real gRPC on loopback,
 * an injected FakeClock for the client's own timers (stream retry, initial fetch, does-not-exist).
 */
import { assert, assertEquals } from "../../../tests/_assert.ts";
import { cla, cluster, FakeClock, Harness, TYPE } from "./_harness_test.ts";

Deno.test("reconnect: accepted state kept, no nonce survives, each type resends its version and names, node once", async () => {
  using h = await Harness.start({ backoffBaseMs: 20, backoffMaxMs: 200 });
  h.client.setNames(TYPE.CDS, []);
  h.client.setNames(TYPE.EDS, ["c1"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  const nc = h.cp.push(TYPE.CDS, "cv1", [cluster("c1")]);
  const ne = h.cp.push(TYPE.EDS, "ev1", [cla("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === ne);
  await h.cp.waitForRequest((r) => r.nonce === nc);

  h.cp.disconnect();
  await h.events.until(() => h.closed.length === 1 && h.opened === 2, "a second stream");
  await h.cp.waitForRequest((r) => r.stream === 2 && r.typeUrl === TYPE.EDS);
  const second = h.cp.requestsOf(2).map((r) => [r.typeUrl, r.version, r.nonce, r.names, r.hasNode]);
  assertEquals(second, [[TYPE.CDS, "cv1", "", ["*"], true], [TYPE.EDS, "ev1", "", ["c1"], false]]);
  assertEquals(h.store.get(TYPE.CDS), { version: "cv1", names: ["c1"] });

  // A restarted control plane that sends nothing is no error: the stream stays open, state stays.
  await h.cp.restart();
  await h.cp.waitForRequest((r) => r.stream === 3 && r.typeUrl === TYPE.EDS);
  const third = h.cp.requestsOf(3);
  assertEquals(third.map((r) => [r.version, r.nonce, r.hasNode]), [["cv1", "", true], ["ev1", "", false]]);
  await h.events.until(() => h.client.connected, "connected");
  assertEquals(h.client.describe().types.map((t) => t.acceptedVersion), ["cv1", "ev1"]);
  assertEquals(h.controlPlaneCounter("connected_state"), 1);
  assert(h.counter("cds", "update_failure") >= 2, "each lost stream is an update_failure");
  // The next response on the new stream is ACKed with its own nonce.
  const n = h.cp.push(TYPE.CDS, "cv2", [cluster("c1"), cluster("c2")]);
  const ack = await h.cp.waitForRequest((r) => r.nonce === n);
  assertEquals([ack.version, ack.hasNode], ["cv2", false]);
});

Deno.test("backoff: the retry delay grows from 500 ms to the 30 s cap (fake clock) and starts over after a response", async () => {
  const clock = new FakeClock();
  using h = await Harness.start({ clock, random: () => 0.999 });
  const jittered = (ceiling: number) => Math.floor(0.999 * ceiling);
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  const retry = async (n: number) => {
    await h.events.until(() => h.closed.length === n, `stream ${n} closed`);
    clock.tick(h.closed[n - 1]!.retryInMs!); // exactly the delay: the next stream starts now
    await h.cp.waitForRequest((r) => r.stream === n + 1);
  };
  const ackOn = async (stream: number) => {
    await h.cp.waitForRequest((r) => r.stream === stream);
    const n = h.cp.push(TYPE.CDS, `v${stream}`, [cluster("c1")]);
    await h.cp.waitForRequest((r) => r.nonce === n);
  };
  await ackOn(1);
  h.cp.disconnect();
  await retry(1);
  h.cp.disconnect(); // stream 2 saw no response: the ceiling doubles
  await retry(2);
  await ackOn(3);
  h.cp.disconnect(); // a close after a response starts over
  await retry(3);
  assertEquals(h.closed.map((c) => c.retryInMs), [500, 1000, 500].map(jittered));

  h.cp.stop(); // nothing listens: every new stream fails at once
  for (let i = 4; i <= 12; i++) {
    await h.events.until(() => h.closed.length === i, `stream ${i} closed`);
    clock.tick(h.closed[i - 1]!.retryInMs!);
  }
  await h.events.until(() => h.closed.length === 13, "stream 13 closed");
  const ceilings = [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000];
  assertEquals(h.closed.slice(3).map((c) => c.retryInMs), ceilings.map(jittered));
  assertEquals(h.controlPlaneCounter("connected_state"), 0);
  assertEquals(h.client.describe().types[0]?.acceptedVersion, "v3");
});

Deno.test("does-not-exist: the 15 s timer starts only once connected and subscribed, and does not run while disconnected", async () => {
  const clock = new FakeClock();
  using h = await Harness.start({ clock, random: () => 0.5 });
  h.client.setNames(TYPE.EDS, ["e1"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  await h.events.until(() => h.connectedNow, "connected");
  clock.tick(10_000);
  h.client.setNames(TYPE.EDS, ["e1", "e2"]); // e2's timer starts now
  clock.tick(5_000 - 1);
  assertEquals(h.absent, []);
  clock.tick(1);
  assertEquals(h.absent, ["ClusterLoadAssignment/e1"]);

  h.cp.stop();
  await h.events.until(() => !h.connectedNow && h.closed.length === 1, "disconnected");
  clock.tick(60_000); // e2 would have expired 50 s ago if its timer ran while disconnected
  assertEquals(h.absent, ["ClusterLoadAssignment/e1"]);
  await h.cp.restart();
  while (!h.connectedNow) {
    const closed = h.closed.length;
    clock.tick(30_000);
    await h.events.until(() => h.connectedNow || h.closed.length > closed, "connected or failed again");
  }
  // Connected again: e2 gets a full 15 s from now, e1 is not reported twice.
  clock.tick(15_000 - 1);
  assertEquals(h.absent, ["ClusterLoadAssignment/e1"]);
  clock.tick(1);
  assertEquals(h.absent, ["ClusterLoadAssignment/e1", "ClusterLoadAssignment/e2"]);
});

Deno.test("does-not-exist: a resource that arrives in time is never reported", async () => {
  const clock = new FakeClock();
  using h = await Harness.start({ clock });
  h.client.setNames(TYPE.EDS, ["e1"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  await h.events.until(() => h.connectedNow, "connected");
  const n = h.cp.push(TYPE.EDS, "v1", [cla("e1")]);
  await h.cp.waitForRequest((r) => r.nonce === n);
  clock.tick(60_000);
  assertEquals(h.absent, []);
});

Deno.test("readiness: ready once every subscribed type's first response is applied", async () => {
  const clock = new FakeClock();
  using h = await Harness.start({ clock });
  h.client.setNames(TYPE.CDS, []);
  h.client.setNames(TYPE.EDS, ["c1"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  const nc = h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === nc);
  assertEquals(h.client.isReady(), false);
  const bad = h.cp.push(TYPE.EDS, "v1", [cla("bad")]); // rejected: not applied, so still not ready
  h.client.setNames(TYPE.EDS, ["c1", "bad"]);
  await h.cp.waitForRequest((r) => r.nonce === bad);
  assertEquals(h.client.isReady(), false);
  const ne = h.cp.push(TYPE.EDS, "v2", [cla("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === ne);
  assertEquals([h.client.isReady(), h.client.describe().ready], [true, true]);
  await h.client.ready;
  assertEquals(h.counter("eds", "init_fetch_timeout"), 0);
});

Deno.test("readiness: a type that never answers is ready after initial_fetch_timeout (counted), not before", async () => {
  const clock = new FakeClock();
  using h = await Harness.start({ clock, initialFetchTimeoutMs: 15_000 });
  h.client.setNames(TYPE.CDS, []);
  h.client.setNames(TYPE.EDS, ["c1"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  await h.events.until(() => h.connectedNow, "connected");
  const nc = h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === nc);
  clock.tick(15_000 - 1);
  assertEquals(h.client.isReady(), false);
  clock.tick(1);
  assertEquals(h.client.isReady(), true);
  await h.client.ready;
  assertEquals([h.counter("eds", "init_fetch_timeout"), h.counter("cds", "init_fetch_timeout")], [1, 0]);
  assertEquals(h.absent, ["ClusterLoadAssignment/c1"]);
});

Deno.test("limit: a response over maxReceiveMessageBytes fails only that stream (message_too_large); state kept, reconnect", async () => {
  using h = await Harness.start({ maxReceiveMessageBytes: 4096, backoffBaseMs: 10, backoffMaxMs: 50 });
  h.client.setNames(TYPE.CDS, []);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.CDS);
  const n1 = h.cp.push(TYPE.CDS, "v1", [cluster("c1")]);
  await h.cp.waitForRequest((r) => r.nonce === n1);
  const big = Array.from(
    { length: 200 },
    (_, i) => cluster(`outbound|9080||reviews-${i}.default.svc.cluster.local`),
  );
  h.cp.push(TYPE.CDS, "v2", big);
  await h.events.until(() => h.closed.length === 1, "the oversized response fails the stream");
  assertEquals(h.closed[0]!.code, 8); // RESOURCE_EXHAUSTED
  assertEquals(h.controlPlaneCounter("message_too_large"), 1);
  const again = await h.cp.waitForRequest((r) => r.stream === 2);
  assertEquals([again.version, again.nonce, again.hasNode], ["v1", "", true]);
  assertEquals(h.store.get(TYPE.CDS), { version: "v1", names: ["c1"] });
});

Deno.test("close: no timer left, no reconnect after it, accepted state still readable", async () => {
  const clock = new FakeClock();
  using h = await Harness.start({ clock });
  h.client.setNames(TYPE.EDS, ["e1", "e2"]);
  h.client.start();
  await h.cp.waitForRequest((r) => r.typeUrl === TYPE.EDS);
  await h.events.until(() => h.connectedNow, "connected");
  const n = h.cp.push(TYPE.EDS, "v1", [cla("e1")]);
  await h.cp.waitForRequest((r) => r.nonce === n);
  assert(clock.pending > 0, "e2's does-not-exist and the initial-fetch timers are armed");
  h.client.close();
  await h.events.until(() => h.closed.length === 1, "the stream's end reported");
  assertEquals([h.closed[0]!.retryInMs, clock.pending, h.client.connected], [undefined, 0, false]);
  clock.tick(120_000);
  assertEquals([h.opened, h.absent], [1, []]);
  assertEquals(h.client.describe().types[0]?.acceptedVersion, "v1");
});
