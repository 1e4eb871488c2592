import { ok, strictEqual, throws } from "node:assert/strict";
import { makeHosts, seeded } from "./_conformance.ts";
import { LeastRequestLoadBalancer } from "./least_request.ts";

Deno.test("LeastRequestLoadBalancer.choose() keeps the less loaded of two samples", () => {
  const hosts = makeHosts([1, 1, 1, 1]);
  hosts[0]!.activeRequests = 9;
  hosts[3]!.activeRequests = 1;
  const draws = [0.0, 0.9]; // host 0, then host 3
  const lb = new LeastRequestLoadBalancer(hosts, { random: () => draws.shift()! });
  strictEqual(lb.choose(), hosts[3]);
});

Deno.test("LeastRequestLoadBalancer.choose() prefers idle hosts", () => {
  const hosts = makeHosts([1, 1, 1, 1]);
  for (const h of hosts) h.activeRequests = 10;
  hosts[2]!.activeRequests = 0;
  const lb = new LeastRequestLoadBalancer(hosts, { random: seeded(3) });
  let idle = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (lb.choose() === hosts[2]) idle++;
  // Two samples find the idle host with probability 1 - (3/4)^2 = 0.4375, against 0.25 at random.
  ok(Math.abs(idle / n - 0.4375) < 0.02, `idle share ${idle / n}`);

  const wide = new LeastRequestLoadBalancer(hosts, { random: seeded(3), choiceCount: 16 });
  let wideIdle = 0;
  for (let i = 0; i < n; i++) if (wide.choose() === hosts[2]) wideIdle++;
  ok(wideIdle / n > 0.98, `idle share with 16 choices ${wideIdle / n}`);
});

Deno.test("LeastRequestLoadBalancer.choose() with unequal weights divides weight by load", () => {
  const hosts = makeHosts([2, 1]);
  hosts[0]!.activeRequests = 3; // effective weight 2/4 = 0.5 against 1/1 once rescheduled
  const lb = new LeastRequestLoadBalancer(hosts, { random: seeded(5) });
  const picks = [0, 0];
  for (let i = 0; i < 3000; i++) picks[hosts.indexOf(lb.choose()!)]!++;
  ok(picks[1]! > picks[0]! * 1.8, `loaded heavy host should lose its edge: ${picks}`);
});

Deno.test("LeastRequestLoadBalancer() rejects a choice count below 1", () => {
  throws(() => new LeastRequestLoadBalancer(makeHosts([1]), { choiceCount: 0 }), RangeError);
  throws(() => new LeastRequestLoadBalancer(makeHosts([1]), { choiceCount: 1.5 }), RangeError);
});
