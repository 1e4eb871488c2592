/**
 * CPU per request over TLS against plaintext on the same meshctl: one process with two HTTP/1.1
 * listeners (plaintext, and TLS with the test PKI's server certificate), an nginx origin (5 bytes at `/`),
 * wrk -t1 -c50 keep-alive on core 0 against each in turn, meshctl and the origin on core 1; rounds
 * interleave the two, medians with min–max (as bench/run.ts).
 *
 *   deno run -A bench/tls_ab.ts [--rounds 5] [--duration 10] [--warmup 2] [--only plain|tls] [--cpu-prof-dir DIR]
 *
 * Needs the TLS config (MOSN `tls_context` on a listener's filter chain).
 */
import { parseArgs } from "node:util";
import { makeTestPki } from "../tests/_peers/certs.ts";
import { parseWrk } from "./_harness.ts";
import {
  httpStatus,
  LOAD_CORE,
  meshctlArgv,
  PROXY_CORE,
  READY_TIMEOUT_MS,
  startNginxOrigin,
  waitReady,
} from "./_harness.ts";
import { freePort, installSignalHandlers, run, start, stopAll, treeCpuMicros } from "./_proc.ts";
import { fmtRatio, fmtSpread, spread } from "./_stats.ts";
import { fmt } from "./_stats.ts";

const args = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    only: { type: "string" },
    "cpu-prof-dir": { type: "string" },
  },
});
/** One side only (e.g. to profile it alone). */
const only = args.values.only as "plain" | "tls" | undefined;
const rounds = Number(args.values.rounds);
const durationS = Number(args.values.duration);
const warmupS = Number(args.values.warmup);
const cpuProfDir = args.values["cpu-prof-dir"];

function wrk(url: string, seconds: number): string[] {
  return ["wrk", "-t1", "-c50", `-d${seconds}s`, "--latency", url];
}

async function main(): Promise<number> {
  installSignalHandlers();
  const dir = await Deno.makeTempDir({ prefix: "meshctl-tls-bench-" });
  const pki = await makeTestPki();
  const commands = new Map<string, string>();
  const origin = await startNginxOrigin({ opts: { rounds, durationS, warmupS }, dir, commands });
  if (typeof origin === "string") {
    console.error(origin);
    return 1;
  }
  const plainPort = freePort();
  const tlsPort = freePort();
  const listener = (name: string, port: number, tls: boolean) => ({
    name,
    address: `127.0.0.1:${port}`,
    bind_port: true,
    filter_chains: [{
      ...(tls
        ? { tls_context: { status: true, cert_chain: pki.server.certPath, private_key: pki.server.keyPath } }
        : {}),
      filters: [{
        type: "proxy",
        config: { downstream_protocol: "Http1", upstream_protocol: "Http1", router_config_name: "r" },
      }],
    }],
  });
  const config = {
    servers: [{
      routers: [{
        router_config_name: "r",
        virtual_hosts: [{
          name: "all",
          domains: ["*"],
          routers: [{ match: { prefix: "/" }, route: { cluster_name: "origin" } }],
        }],
      }],
      listeners: [listener("plain", plainPort, false), listener("tls", tlsPort, true)],
    }],
    cluster_manager: {
      clusters: [{
        name: "origin",
        type: "SIMPLE",
        lb_type: "LB_ROUNDROBIN",
        hosts: [{ address: `127.0.0.1:${origin.port}` }],
      }],
    },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: freePort() } } },
  };
  const configPath = `${dir}/meshctl.json`;
  await Deno.writeTextFile(configPath, JSON.stringify(config));
  const mesh = start("meshctl", meshctlArgv(configPath, cpuProfDir, "tls_ab"), { core: PROXY_CORE });
  const notReady = await waitReady(
    mesh,
    async () => (await httpStatus(plainPort, "/", 1000)) === 200,
    READY_TIMEOUT_MS,
  );
  if (notReady !== undefined) {
    console.error(`meshctl is not serving: ${notReady}\n${mesh.output()}`);
    await stopAll();
    return 1;
  }
  const targets = { plain: `http://127.0.0.1:${plainPort}/`, tls: `https://localhost:${tlsPort}/` };
  const samples: Record<string, { us: number[]; rps: number[] }> = {
    plain: { us: [], rps: [] },
    tls: { us: [], rps: [] },
  };
  console.log(
    `wrk -t1 -c50 (core ${LOAD_CORE}) → meshctl + nginx origin (core ${PROXY_CORE}), ${rounds} rounds`,
  );
  for (let r = 0; r < rounds; r++) {
    const order: ("plain" | "tls")[] = r % 2 === 0 ? ["plain", "tls"] : ["tls", "plain"];
    for (const name of order.filter((n) => only === undefined || n === only)) {
      await run(wrk(targets[name], warmupS), warmupS * 1000 + 15000, { core: LOAD_CORE });
      const cpu0 = treeCpuMicros(mesh.pid);
      const res = await run(wrk(targets[name], durationS), durationS * 1000 + 15000, { core: LOAD_CORE });
      const cpu1 = treeCpuMicros(mesh.pid);
      const w = parseWrk(res.output);
      if (w === undefined || w.socketErrors + w.non2xx > 0) {
        console.error(`round ${r} ${name}: wrk failed or saw errors\n${res.output}`);
        continue;
      }
      const us = (cpu1 - cpu0) / w.requests;
      samples[name]!.us.push(us);
      samples[name]!.rps.push(w.rps);
      console.log(`  round ${r} ${name.padEnd(5)} ${fmt(w.rps).padStart(8)} req/s  ${fmt(us)} µs/req`);
    }
  }
  for (const name of ["plain", "tls"]) {
    const s = samples[name]!;
    console.log(`${name.padEnd(5)} CPU ${fmtSpread(spread(s.us))} µs/req, ${fmtSpread(spread(s.rps))} req/s`);
  }
  // Paired within a round: the two runs of one round saw the same machine.
  const ratio = spread(samples.tls!.us.map((u, i) => u / samples.plain!.us[i]!));
  console.log(`tls/plain CPU per request: ${fmtRatio(ratio)}`);
  await stopAll();
  await pki.remove();
  await Deno.remove(dir, { recursive: true });
  return 0;
}

if (import.meta.main) Deno.exit(await main());
