/** nginx as the upstream and wrk as the client: a short bounded load with zero errors. */
import { assert, assertEquals } from "./_assert.ts";
import { adminStats, curl, httpProxyConfig, startMeshctl } from "./_e2e.ts";

interface Nginx {
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * nginx cannot listen on port 0, so it gets a random port below Linux's ephemeral range (32768+), where
 * no port-0 bind of another test can land. Should that port be taken anyway (another suite running this
 * test), nginx fails to bind and exits, and we try another one.
 */
async function startNginx(): Promise<Nginx> {
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 20_000);
    const nginx = await tryNginx(port);
    if (typeof nginx !== "string") return nginx;
    lastError = nginx;
    if (!/Address already in use/.test(nginx)) break;
  }
  throw new Error(`nginx did not start: ${lastError}`);
}

/** Starts nginx on `port`: the running nginx, or its error output if it exited. */
async function tryNginx(port: number): Promise<Nginx | string> {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-nginx-" });
  await Deno.writeTextFile(`${dir}/big`, "x".repeat(65536));
  // As root, nginx's workers drop to `nobody`, which cannot read our temp dir.
  const user = Deno.uid() === 0 ? "user root;\n" : "";
  const conf = `${user}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = / { return 200 "hello"; }
    location = /big { root ${dir}; }
  }
}`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command("nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir],
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  // nginx writes its pid file only after it has bound its listen sockets: then the port is its own.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      await status;
      const why = (await stderr).trim();
      await Deno.remove(dir, { recursive: true });
      return why || "nginx exited";
    }
    const pid = await Deno.readTextFile(`${dir}/nginx.pid`).catch(() => "");
    if (pid.trim() !== "") break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await status;
      await stderr;
      await Deno.remove(dir, { recursive: true });
      throw new Error("nginx did not write its pid file in 10s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    async stop() {
      child.kill("SIGQUIT");
      await status;
      await stderr;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("meshctl in front of nginx carries a bounded wrk load without errors", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const nginx = await startNginx();
  const mesh = await startMeshctl(httpProxyConfig({ hosts: [`127.0.0.1:${nginx.port}`] }));
  const port = mesh.port("ingress");
  try {
    const one = await curl([`http://127.0.0.1:${port}/`]);
    assertEquals(one.stdout, "hello");
    const big = await curl([`http://127.0.0.1:${port}/big`]);
    assertEquals(big.stdout.length, 65536);
    const out = await new Deno.Command("wrk", {
      args: ["-t1", "-c10", "-d2s", `http://127.0.0.1:${port}/`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, text);
    assert(!/Non-2xx|Socket errors/.test(text), text);
    const m = text.match(/(\d+) requests in/);
    assert(m !== null && Number(m[1]) > 500, text);
    const stats = await adminStats(mesh.adminPort);
    const up = stats["upstream"]?.["cluster.origin"];
    const ds = Object.entries(stats["downstream"] ?? {}).find(([k]) => k.includes("ingress"))?.[1];
    assert(up !== undefined && ds !== undefined, JSON.stringify(stats));
    const total = Number(m![1]) + 2; // + the two curl requests
    // Without errors on meshctl's side too: no local replies (502/503/504), no failed connects, timeouts
    // or upstream resets, no internal errors. When wrk's time is up it drops each of its 10 connections
    // mid-request: at most 10 requests beyond the completed ones, counted as client resets.
    const nonZero = (scope: Record<string, number>, names: string[]) =>
      names.filter((n) => (scope[n] ?? 0) !== 0).map((n) => `${n}=${scope[n]}`);
    assertEquals(
      nonZero(ds, [
        "request_failed",
        "request_500_total",
        "request_502_total",
        "request_503_total",
        "request_504_total",
        "request_other_code",
      ]),
      [],
    );
    assertEquals(
      nonZero(up, [
        "connection_con_fail",
        "request_timeout",
        "request_remote_reset",
        "request_pending_overflow",
      ]),
      [],
    );
    assertEquals(stats["meta"]?.[""]?.["internal_error_total"] ?? 0, 0);
    assert(ds["request_200_total"]! >= total, `${ds["request_200_total"]} 200s for ${total} requests`);
    assert(ds["request_total"]! <= total + 10, `${ds["request_total"]} requests for ${total} completed`);
    assert(up["response_success"]! >= total, `${up["response_success"]} upstream successes for ${total}`);
    // Keep-alive reuse: one upstream connection per client connection, renewed every
    // max_request_per_conn (MOSN's default 1024) requests.
    const bound = 10 + Math.ceil(total / 1024) + 2;
    assert(
      up["connection_total"]! <= bound,
      `keep-alive reuse: ${up["connection_total"]} upstream connections for ${total} requests`,
    );
  } finally {
    assertEquals(await mesh.stop(), 0);
    await nginx.stop();
  }
});
