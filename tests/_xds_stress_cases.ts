/**
 * Under load, 50 route pushes alternating good and bad, sent back to back: exactly one ACK or NACK per push
 * (the right one, with the right version), never a request failing, and the last good route in force.
 */
import { assert, assertEquals } from "./_assert.ts";
import { startMeshctl, startOrigin } from "./_e2e.ts";
import { TYPE, XdsControlPlane } from "./_peers/xds_control_plane.ts";
import { any, bootstrap, get, listener, load, opts, routeTo, staticCluster, until } from "./_xds_fixtures.ts";

Deno.test(
  "xDS stress: 50 alternating good/bad RDS pushes under load get exactly 50 ACK/NACKs and fail no request",
  opts,
  async () => {
    const cp = await XdsControlPlane.start();
    const a = startOrigin(() => new Response("A"));
    const b = startOrigin(() => new Response("B"));
    const mesh = await startMeshctl(bootstrap(cp), { ready: false });
    try {
      await cp.waitForRequest((r) => r.typeUrl === TYPE.LDS);
      cp.push(TYPE.CDS, "c1", [
        any(TYPE.CDS, staticCluster("svc_a", a)),
        any(TYPE.CDS, staticCluster("svc_b", b)),
      ]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.CDS && r.version === "c1");
      cp.push(TYPE.LDS, "l1", [any(TYPE.LDS, listener())]);
      await cp.waitForRequest((r) => r.typeUrl === TYPE.RDS && r.names.includes("r1"));
      cp.push(TYPE.RDS, "r-0", [any(TYPE.RDS, routeTo("svc_a"))]);
      await until("first traffic", async () => (await get(mesh)) === "A");
      const address = (await mesh.readAddresses()).listeners["ingress"]!;
      const traffic = load(address, ["A", "B"]);
      await traffic.more(20);

      // An invalid RE2 pattern: refused by any version of the converter or validator.
      const bad = {
        name: "r1",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routes: [{ match: { safe_regex: { regex: "(" } }, route: { cluster: "svc_a" } }],
        }],
      };
      const from = cp.requests.length;
      const pushes: { nonce: string; version: string; good: boolean }[] = [];
      for (let i = 1; i <= 50; i++) {
        const good = i % 2 === 1;
        const version = `r-${i}`;
        const resource = good ? routeTo(i % 4 === 1 ? "svc_b" : "svc_a") : bad;
        pushes.push({ nonce: cp.push(TYPE.RDS, version, [any(TYPE.RDS, resource)]), version, good });
      }
      const last = pushes[pushes.length - 1]!;
      await cp.waitForRequest((r) => r.nonce === last.nonce, { from, timeoutMs: 20_000 });
      await traffic.more(50);
      await traffic.stop();

      const rds = cp.requests.slice(from).filter((r) => r.typeUrl === TYPE.RDS);
      assertEquals(rds.length, 50, "one request per push, nothing else");
      let accepted = "r-0";
      for (const [i, p] of pushes.entries()) {
        const answers = rds.filter((r) => r.nonce === p.nonce);
        assertEquals(answers.length, 1, `push ${p.version}: one answer`);
        const answer = answers[0]!;
        assertEquals(answer.index, rds[i]!.index, "answers come in push order");
        if (p.good) accepted = p.version;
        assertEquals(
          answer.errorDetail !== undefined,
          !p.good,
          `push ${p.version}: ${p.good ? "ACK" : "NACK"}`,
        );
        assertEquals(answer.version, accepted, `push ${p.version}: the version in force`);
      }
      assertEquals(traffic.failures, [], `${traffic.ok} requests succeeded`);
      // The last good push (r-49) routes to svc_b (49 % 4 === 1).
      await until("the last good route serves", async () => (await get(mesh)) === "B");
      assert(traffic.ok > 70, `only ${traffic.ok} requests ran`);
      console.log(`50 alternating pushes under load: ${traffic.ok} requests, 0 failed`);
    } finally {
      const code = await mesh.stop();
      cp.close();
      await a.close();
      await b.close();
      assertEquals(code, 0, mesh.logs());
    }
  },
);
