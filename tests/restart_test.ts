/**
 * Restart without downtime (issue 13, "Never drop a request"): a second meshctl on the same config file
 * binds the same listener address with `reuseport: true` (SO_REUSEPORT) while the first still serves;
 * the first, SIGTERMed, closes its listener (the kernel sends every new connection to the second), answers
 * each kept-alive connection's next request with `Connection: close`, hands its admin address over, and
 * drains. Plain wrk (reconnecting at once) must see no error at all. Without `reuseport` a second process
 * fails with "address already in use", as before.
 */
import { stringify } from "yaml";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { Events } from "./_events.ts";
import { adminStats, MAIN, RUN_FLAGS, startOrigin } from "./_e2e.ts";
import { boltLoad, parseWrkCounts } from "./_load.ts";
import { encodeRequestFrame, int, startBoltServer, TEST_SERVICE } from "./_peers/bolt_peers.ts";

const opts = { sanitizeOps: false, sanitizeResources: false }; // child processes outlive steps

const GRACEFUL_TIMEOUT_MS = 5_000;
/** Requests through each process before the next step. */
const WARM_REQUESTS = 300;

/** The address file a meshctl writes once bound (polled: it appears right after "meshctl started"). */
async function addressesOf(path: string): Promise<{ admin: string; listeners: Record<string, string> }> {
  for (let i = 0;; i++) {
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || i > 500) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

type Protocol = "Http1" | "bolt";

function config(origin: string, port: number, adminPort: number, reuseport: boolean, protocol: Protocol) {
  const match = protocol === "bolt"
    ? { headers: [{ name: "service", value: `${TEST_SERVICE}:1.0` }] }
    : { prefix: "/" };
  const proxy = protocol === "bolt"
    ? { downstream_protocol: "bolt", router_config_name: "r", extend_config: { enable_bolt_goaway: true } }
    : { downstream_protocol: "Http1", router_config_name: "r" };
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } },
    servers: [{
      default_log_level: "INFO",
      graceful_timeout: `${GRACEFUL_TIMEOUT_MS}ms`,
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [{ match, route: { cluster_name: "origin" } }],
        }],
      }],
      listeners: [{
        name: "ingress",
        address: `127.0.0.1:${port}`,
        bind_port: true,
        reuseport,
        drain_idle_grace: "300ms",
        filter_chains: [{
          filters: [{ type: "proxy", config: proxy }],
        }],
      }],
    }],
    cluster_manager: {
      clusters: [{ name: "origin", type: "SIMPLE", lb_type: "LB_ROUNDROBIN", hosts: [{ address: origin }] }],
    },
  };
}

/** A meshctl on `configPath` whose logs a test can wait on (`events` is notified on every chunk). */
function spawnMeshctl(configPath: string, addressFile: string, events: Events, concurrency: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...RUN_FLAGS,
      MAIN,
      "serve",
      "--concurrency",
      concurrency,
      "--address-file",
      addressFile,
      configPath,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let logs = "";
  let exit: number | undefined;
  const dec = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      logs += dec.decode(chunk);
      events.notify();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status.then(async (s) => {
    await pumps;
    exit = s.code;
    events.notify();
    return s.code;
  });
  return {
    logs: () => logs,
    get exit() {
      return exit;
    },
    status,
    kill(signal: Deno.Signal) {
      try {
        child.kill(signal);
      } catch {
        // gone
      }
    },
  };
}

type Spawned = ReturnType<typeof spawnMeshctl>;

/**
 * Starts the first meshctl on ports 0 and rewrites the config file with the ports it got, so the second
 * process runs exactly the first one's effective config (no port picked in the hope it is free).
 */
async function startFirst(
  configPath: string,
  origin: string,
  dir: string,
  reuseport: boolean,
  events: Events,
  concurrency: string,
  protocol: Protocol = "Http1",
) {
  await Deno.writeTextFile(configPath, stringify(config(origin, 0, 0, reuseport, protocol)));
  const first = spawnMeshctl(configPath, `${dir}/first.json`, events, concurrency);
  let bound;
  try {
    await events.until(
      () => first.logs().includes("meshctl started") || first.exit !== undefined,
      "first up",
    );
    if (first.exit !== undefined) throw new Error(`the first meshctl exited:\n${first.logs()}`);
    bound = await addressesOf(`${dir}/first.json`);
  } catch (e) {
    first.kill("SIGKILL");
    await first.status;
    throw e;
  }
  const port = portOf(bound.listeners.ingress!);
  const adminPort = portOf(bound.admin);
  await Deno.writeTextFile(configPath, stringify(config(origin, port, adminPort, reuseport, protocol)));
  return { first, port, adminPort };
}

async function readyStatus(adminPort: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/ready`);
  await r.body?.cancel();
  return r.status;
}

// With workers the main thread hands the admin address over and every worker closes its listeners
// (`stop_accepting`) before the drain; with 1 it is the in-process Server.
for (const concurrency of ["1", "2"]) {
  Deno.test(
    `--concurrency ${concurrency}: restart without downtime: a second meshctl takes over reuseport listeners under wrk load → 0 errors`,
    opts,
    async () => {
      const events = new Events();
      const origin = startOrigin(async () => {
        await new Promise((r) => setTimeout(r, 2)); // requests are in flight at every step of the swap
        events.notify();
        return new Response("ok");
      });
      const dir = await Deno.makeTempDir({ prefix: "meshctl-restart-" });
      const configPath = `${dir}/config.yaml`;
      const started: Spawned[] = [];
      let wrk: Deno.ChildProcess | undefined;
      try {
        const { first: oldMesh, port, adminPort } = await startFirst(
          configPath,
          origin.address,
          dir,
          true,
          events,
          concurrency,
        );
        started.push(oldMesh);
        wrk = new Deno.Command("wrk", {
          args: ["-t2", "-c16", "-d60s", "--timeout", "5s", `http://127.0.0.1:${port}/`],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        await events.until(() => origin.requests >= WARM_REQUESTS, "load through the old meshctl");

        // The successor binds the same address next to the old one and serves at once; its admin waits.
        const newMesh = spawnMeshctl(configPath, `${dir}/new.json`, events, concurrency);
        started.push(newMesh);
        await events.until(
          () =>
            newMesh.logs().includes("waiting for the process being replaced") || newMesh.exit !== undefined,
          "the new meshctl's listeners bound",
        );
        assertEquals(newMesh.exit, undefined, newMesh.logs());
        assertStringIncludes(newMesh.logs(), "listener started");

        const atSigterm = origin.requests;
        const t0 = performance.now();
        oldMesh.kill("SIGTERM");
        await events.until(
          () => newMesh.logs().includes("meshctl started"),
          "the new meshctl's admin taken over",
        );
        const handoverMs = performance.now() - t0;
        assertEquals(await readyStatus(adminPort), 200);
        const oldCode = await oldMesh.status;
        const oldExitMs = performance.now() - t0;
        assertEquals(oldCode, 0, oldMesh.logs());
        assert(oldExitMs < GRACEFUL_TIMEOUT_MS + 1_000, `old meshctl took ${oldExitMs} ms`);
        const duringSwap = origin.requests - atSigterm;

        // Every connection wrk has now goes to the new process: the old one is gone.
        const afterSwap = origin.requests;
        await events.until(
          () => origin.requests >= afterSwap + WARM_REQUESTS,
          "load through the new meshctl",
        );
        const stats = await adminStats(adminPort);
        const accepted = stats.downstream?.["listener.ingress"]?.connection_total ?? 0;
        assert(accepted >= 16, `the new meshctl accepted ${accepted} connections`);

        wrk.kill("SIGINT"); // wrk prints its summary on SIGINT
        const out = new TextDecoder().decode((await wrk.output()).stdout);
        wrk = undefined;
        const counts = parseWrkCounts(out);
        console.log(
          `restart under wrk: ${
            JSON.stringify(counts)
          }; ${duringSwap} requests from SIGTERM to the old one's ` +
            `exit (${Math.round(oldExitMs)} ms; admin handed over in ${
              Math.round(handoverMs)
            } ms); the new one ` +
            `accepted ${accepted} connections`,
        );
        assertEquals([counts.non2xx, counts.connect, counts.read, counts.write, counts.timeout], [
          0,
          0,
          0,
          0,
          0,
        ], out);
        newMesh.kill("SIGTERM");
        assertEquals(await newMesh.status, 0, newMesh.logs());
      } finally {
        if (wrk !== undefined) {
          wrk.kill("SIGKILL");
          await wrk.output();
        }
        for (const m of started) {
          if (m.exit === undefined) m.kill("SIGKILL");
          await m.status;
        }
        await origin.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

// With workers the main thread hands the admin address over and every worker closes its listeners
// (`stop_accepting`) before the drain; with 1 it is the in-process Server.
for (const concurrency of ["1", "2"]) {
  Deno.test(
    `--concurrency ${concurrency}: without reuseport a second meshctl on the same config fails with address already in use`,
    opts,
    async () => {
      const events = new Events();
      const origin = startOrigin(() => new Response("ok"));
      const dir = await Deno.makeTempDir({ prefix: "meshctl-restart-" });
      const configPath = `${dir}/config.yaml`;
      const { first, port } = await startFirst(configPath, origin.address, dir, false, events, concurrency);
      let second: Spawned | undefined;
      try {
        // Its own admin port: only the listener's address is shared, so the failure must come from there
        // (with workers, whose sockets are SO_REUSEPORT, from the exclusive-bind probe before they bind).
        const secondConfig = `${dir}/second.yaml`;
        await Deno.writeTextFile(secondConfig, stringify(config(origin.address, port, 0, false, "Http1")));
        second = spawnMeshctl(secondConfig, `${dir}/b.json`, events, concurrency);
        const s = second;
        await events.until(
          () => s.exit !== undefined || s.logs().includes("meshctl started"),
          "second settled",
        );
        assertEquals(s.exit, 1, s.logs());
        assertStringIncludes(
          second.logs(),
          `Cannot bind listener "ingress" on 127.0.0.1:${port}: address already in use`,
        );
      } finally {
        first.kill("SIGTERM");
        assertEquals(await first.status, 0);
        if (second?.exit === undefined) second?.kill("SIGKILL");
        await second?.status;
        await origin.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

// With workers the main thread hands the admin address over and every worker closes its listeners
// (`stop_accepting`) before the drain; with 1 it is the in-process Server.
for (const concurrency of ["1", "2"]) {
  Deno.test(
    `--concurrency ${concurrency}: restart without downtime, bolt: clients honouring GoAway reconnect to the successor → no lost request`,
    opts,
    async () => {
      const events = new Events();
      const provider = await startBoltServer();
      const template = await encodeRequestFrame({
        id: 1,
        service: `${TEST_SERVICE}:1.0`,
        method: "slow",
        args: [int(2)], // the provider answers after 2 ms: requests are in flight at every step
        timeout: 3000,
      });
      const dir = await Deno.makeTempDir({ prefix: "meshctl-restart-" });
      const configPath = `${dir}/config.yaml`;
      const started: Spawned[] = [];
      let stop = false;
      let responses = 0;
      let load: ReturnType<typeof boltLoad> | undefined;
      try {
        const { first: oldMesh, port } = await startFirst(
          configPath,
          provider.address,
          dir,
          true,
          events,
          concurrency,
          "bolt",
        );
        started.push(oldMesh);
        load = boltLoad(
          port,
          template,
          8,
          2,
          () => {
            responses++;
            events.notify();
          },
          () => stop,
          true,
        );
        await events.until(() => responses >= WARM_REQUESTS, "load through the old meshctl");
        const newMesh = spawnMeshctl(configPath, `${dir}/new.json`, events, concurrency);
        started.push(newMesh);
        await events.until(
          () =>
            newMesh.logs().includes("waiting for the process being replaced") || newMesh.exit !== undefined,
          "the new meshctl's listeners bound",
        );
        assertEquals(newMesh.exit, undefined, newMesh.logs());
        const atSigterm = responses;
        const t0 = performance.now();
        oldMesh.kill("SIGTERM");
        assertEquals(await oldMesh.status, 0, oldMesh.logs());
        const oldExitMs = performance.now() - t0;
        const duringSwap = responses - atSigterm;
        const afterSwap = responses;
        await events.until(() => responses >= afterSwap + WARM_REQUESTS, "load through the new meshctl");
        stop = true;
        const counts = await load;
        load = undefined;
        console.log(
          `bolt restart: ${
            JSON.stringify(counts)
          }; ${duringSwap} responses from SIGTERM to the old one's exit ` +
            `(${Math.round(oldExitMs)} ms)`,
        );
        assertEquals([counts.bad, counts.lost, counts.refused], [0, 0, 0], JSON.stringify(counts));
        assertEquals(
          [counts.goAways, counts.connections],
          [8, 16],
          "every connection told once, then reopened",
        );
        newMesh.kill("SIGTERM");
        assertEquals(await newMesh.status, 0, newMesh.logs());
      } finally {
        stop = true;
        for (const m of started) {
          if (m.exit === undefined) m.kill("SIGKILL");
          await m.status;
        }
        await load;
        await provider.stop();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
