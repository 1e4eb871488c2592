import assert from "node:assert/strict";
import { selectConfigDump } from "./config_dump.ts";
import { REDACTED, redactSecrets } from "./redact.ts";
import { secretConfig } from "./_test_config.ts";

const DUMP = {
  servers: [{
    default_log_path: "stdout",
    routers: [{ router_config_name: "r1", virtual_hosts: [] }],
    listeners: [{ name: "ingress", address: "0.0.0.0:2045" }, { name: "egress", address: "0.0.0.0:2046" }],
  }],
  cluster_manager: { tls_context: {}, clusters: [{ name: "c1", hosts: [{ address: "127.0.0.1:8080" }] }] },
  admin: { address: { socket_address: { address: "127.0.0.1", port_value: 34901 } } },
};

function q(query: string) {
  return selectConfigDump(DUMP, new URLSearchParams(query));
}

Deno.test("selectConfigDump() returns everything without parameters", () => {
  assert.deepEqual(q(""), { status: 200, body: DUMP });
});

Deno.test("selectConfigDump() maps allrouters/allclusters/alllisteners by name", () => {
  assert.deepEqual(q("allrouters").body, { r1: DUMP.servers[0]!.routers[0] });
  assert.deepEqual(q("allclusters").body, { c1: DUMP.cluster_manager.clusters[0] });
  assert.deepEqual(Object.keys(q("alllisteners").body as object), ["ingress", "egress"]);
});

Deno.test("selectConfigDump() returns one router, cluster or listener by name", () => {
  assert.deepEqual(q("router=r1"), { status: 200, body: DUMP.servers[0]!.routers[0] });
  assert.deepEqual(q("cluster=c1").body, DUMP.cluster_manager.clusters[0]);
  assert.deepEqual(q("listener=egress").body, DUMP.servers[0]!.listeners[1]);
  assert.equal(q("listener=nope").status, 404);
  assert.equal(q("cluster=__proto__").status, 404);
  assert.equal(q("router=").status, 400);
});

Deno.test("selectConfigDump() mosnconfig drops listeners, routers and clusters", () => {
  assert.deepEqual(q("mosnconfig").body, {
    servers: [{ default_log_path: "stdout" }],
    cluster_manager: { tls_context: {} },
    admin: DUMP.admin,
  });
});

Deno.test("selectConfigDump() accepts one parameter only, and only known ones", () => {
  assert.deepEqual(q("allrouters&allclusters"), {
    status: 400,
    body: { error: "only support one parameter" },
  });
  assert.equal(q("toString").status, 400);
  assert.equal(q("bogus=1").status, 400);
});

Deno.test("selectConfigDump() of a redacted dump keeps TLS structure in mosnconfig and cluster views", () => {
  const dump = redactSecrets(secretConfig());
  const mosn = selectConfigDump(dump, new URLSearchParams("mosnconfig")).body as Record<string, unknown>;
  assert.deepEqual(mosn["cluster_manager"], { tls_context: { private_key: REDACTED } });
  assert.deepEqual(selectConfigDump(dump, new URLSearchParams("cluster=backend")).body, {
    name: "backend",
    hosts: [{ address: "127.0.0.1:8080" }],
    cluster_manager_tls: REDACTED,
    tls_context_set: [{ cert_chain: REDACTED, private_key: REDACTED }],
  });
});
