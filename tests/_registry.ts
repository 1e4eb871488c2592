/** Helpers shared by the registry end-to-end tests (registry_zk_test.ts, registry_sofa_test.ts). */
import assert from "node:assert/strict";
import type { Meshctl } from "./_e2e.ts";

/** The registry API's address, from meshctl's address file. */
export async function apiOf(mesh: Meshctl): Promise<string> {
  const addresses = await mesh.readAddresses() as unknown as { registry_api?: string };
  assert.ok(addresses.registry_api, "the address file names the registry API");
  return addresses.registry_api;
}

/** POSTs MOSN's body to the API; `layout` adds meshctl's `registry.layout` (absent: Dubbo's). */
export async function post(
  api: string,
  path: string,
  zkAddr: string,
  service: Record<string, unknown>,
  layout?: "sofa",
): Promise<{ err_no: number; err_msg: string }> {
  const registry = { type: "zookeeper", addr: zkAddr, ...(layout === undefined ? {} : { layout }) };
  const res = await fetch(`http://${api}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registry, service }),
  });
  assert.equal(res.status, 200);
  return await res.json() as { err_no: number; err_msg: string };
}

/** The hosts of cluster `name` in the running config (config_dump), as "host:port". */
export async function clusterHosts(mesh: Meshctl, name: string): Promise<string[] | undefined> {
  const dump = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump`)).json();
  const c = (dump.cluster_manager?.clusters ?? []).find((c: { name: string }) => c.name === name);
  return c?.hosts.map((h: { address: string }) => h.address).sort();
}

/** Waits until cluster `name` has exactly `expected` hosts; the bound turns a hang into a clear failure. */
export async function untilHosts(
  mesh: Meshctl,
  name: string,
  expected: string[],
  boundMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + boundMs;
  let hosts: string[] | undefined;
  while (JSON.stringify(hosts = await clusterHosts(mesh, name)) !== JSON.stringify([...expected].sort())) {
    if (Date.now() > deadline) {
      throw new Error(
        `cluster ${name}: hosts ${JSON.stringify(hosts)}, expected ${expected}\n${mesh.logs()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An `extends` entry enabling the sidecar registry API on port 0 with a 2 s session. */
export function registryExtend(config: Record<string, unknown>): Record<string, unknown> {
  return {
    type: "dubbo_registry",
    config: { enable: true, api_port: 0, advertise_ip: "127.0.0.1", session_timeout: "2s", ...config },
  };
}
