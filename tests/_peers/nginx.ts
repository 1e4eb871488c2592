/** nginx as a test peer: started on its own config, stopped (and its directory removed) by its owner. */

export interface Nginx {
  /** The ports its server blocks listen on, in the order the config asked for them. */
  readonly ports: readonly number[];
  /** `ports[0]`. */
  readonly port: number;
  /** Its prefix directory (config, pid, logs, files). */
  readonly dir: string;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** How many listen ports the config needs (default 1). */
  readonly portCount?: number;
  /** The `http { }` block's server blocks, given the ports and the prefix directory. */
  readonly servers: (ports: readonly number[], dir: string) => string;
  /** Files to create in the prefix directory first (name → content), e.g. bodies to serve. */
  readonly files?: Readonly<Record<string, string>>;
}

/**
 * nginx cannot listen on port 0, so it gets random ports below Linux's ephemeral range (32768+), where
 * no port-0 bind of another test can land. Should a port be taken anyway (another suite running the same
 * test), nginx fails to bind and exits, and we try other ones.
 */
export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const count = options.portCount ?? 1;
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (20_000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const nginx = await tryNginx(ports, options);
    if (typeof nginx !== "string") return nginx;
    lastError = nginx;
    if (!/Address already in use/.test(nginx)) break;
  }
  throw new Error(`nginx did not start: ${lastError}`);
}

/** Starts nginx on `ports`: the running nginx, or its error output if it exited. */
async function tryNginx(ports: number[], options: NginxOptions): Promise<Nginx | string> {
  const dir = await Deno.makeTempDir({ prefix: "meshctl-nginx-" });
  for (const [name, content] of Object.entries(options.files ?? {})) {
    await Deno.writeTextFile(`${dir}/${name}`, content);
  }
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
${options.servers(ports, dir)}
}`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command("nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  // nginx writes its pid file only after it has bound its listen sockets: then the ports are its own.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      await status;
      const why = (await stderr).trim();
      const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
      await Deno.remove(dir, { recursive: true });
      return why || log.trim() || "nginx exited";
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
    ports,
    port: ports[0]!,
    dir,
    async stop() {
      child.kill("SIGQUIT");
      await status;
      await stderr;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
