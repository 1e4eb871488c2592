import assert from "node:assert/strict";
import { StatsRegistry } from "../stats/mod.ts";
import { AdminClient, AdminRequestError } from "./client.ts";
import { startAdmin } from "./server.ts";

function options(signal?: AbortSignal) {
  const registry = new StatsRegistry();
  registry.scope("downstream", { proxy: "global" }).counter("request_total").inc(9);
  return {
    hostname: "127.0.0.1",
    port: 0,
    registry,
    configDump: () => ({ token: "t" }),
    ready: () => true,
    version: "0.1.0",
    ...(signal === undefined ? {} : { signal }),
  };
}

Deno.test("startAdmin() binds 127.0.0.1 on a free port and serves the API until shutdown()", async () => {
  const admin = startAdmin(options());
  try {
    assert.equal(admin.addr.hostname, "127.0.0.1");
    assert.ok(admin.addr.port > 0);
    const res = await fetch(`http://127.0.0.1:${admin.addr.port}/api/v1/stats`);
    assert.deepEqual(await res.json(), { downstream: { "proxy.global": { request_total: "9" } } });
    const dump = await fetch(`http://127.0.0.1:${admin.addr.port}/api/v1/config_dump`);
    assert.deepEqual(await dump.json(), { token: "***REDACTED***" });
  } finally {
    await admin.shutdown();
    await admin.shutdown();
  }
  await assert.rejects(fetch(`http://127.0.0.1:${admin.addr.port}/healthz`), TypeError);
});

Deno.test("startAdmin() stops when its signal aborts", async () => {
  const ac = new AbortController();
  const admin = startAdmin(options(ac.signal));
  const res = await fetch(`http://127.0.0.1:${admin.addr.port}/healthz`);
  assert.equal(await res.text(), "ok\n");
  ac.abort();
  await admin.shutdown();
  await assert.rejects(fetch(`http://127.0.0.1:${admin.addr.port}/healthz`), TypeError);
});

Deno.test("startAdmin() throws AddrInUse with the address when the port is taken", async () => {
  const first = startAdmin(options());
  try {
    assert.throws(
      () => startAdmin({ ...options(), port: first.addr.port }),
      (err: unknown) =>
        err instanceof Deno.errors.AddrInUse &&
        /Cannot start the admin API on 127\.0\.0\.1:/.test(err.message),
    );
  } finally {
    await first.shutdown();
  }
});

Deno.test("AdminClient.get() returns bodies and explains failures", async () => {
  const admin = startAdmin(options());
  try {
    const client = new AdminClient(admin.addr);
    assert.equal(await client.get("/api/v1/version"), "0.1.0");
    await assert.rejects(
      client.get("/nope"),
      (err: unknown) => err instanceof AdminRequestError && err.reason === "http" && err.status === 404,
    );
  } finally {
    await admin.shutdown();
  }
  await assert.rejects(
    new AdminClient(admin.addr).get("/healthz"),
    (err: unknown) =>
      err instanceof AdminRequestError && err.reason === "unreachable" &&
      err.message === "connection refused",
  );
});
