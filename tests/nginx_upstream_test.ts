/** nginx as the upstream and wrk as the client: a short bounded load with zero errors. */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { adminStats, curl, freePort, httpProxyConfig, startMeshctl } from "./_e2e.ts";

async function startNginx(port: number): Promise<{ stop(): Promise<void> }> {
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
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    async stop() {
      child.kill("SIGQUIT");
      await child.stderr.cancel();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("meshctl in front of nginx carries a bounded wrk load without errors", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const nginxPort = freePort();
  const nginx = await startNginx(nginxPort);
  const port = freePort();
  const mesh = await startMeshctl(httpProxyConfig({ listenPort: port, hosts: [`127.0.0.1:${nginxPort}`] }));
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
    assert(up !== undefined);
    assertMatch(String(up["connection_total"]), /^\d+$/);
    // Keep-alive reuse: one upstream connection per client connection, renewed every
    // max_request_per_conn (MOSN's default 1024) requests.
    const total = Number(m![1]) + 2; // + the two curl requests
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
