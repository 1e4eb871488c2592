/**
 * TLS operations end to end, against the real meshctl terminating TLS with MOSN's listener config
 * (`filter_chains[0].tls_context {status, cert_chain, private_key}` as file paths):
 * certificates reload when their files change (rename-replace, in-place write, a Kubernetes `..data`
 * swap) — new handshakes get the new certificate while an open keep-alive connection keeps serving — a
 * broken new certificate keeps the old one and is counted, the expiry gauges match openssl's notAfter,
 * and config_dump shows no private key.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import * as tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { adminStats, httpProxyConfig, type Meshctl, runCli, startMeshctl, startOrigin } from "./_e2e.ts";
import { makeTestPki, type TestPki } from "./_peers/certs.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A keep-alive HTTPS client connection (node:tls, verifying against the test CA). */
class TlsClient {
  readonly socket: tls.TLSSocket;
  #buffer = "";
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#wake?.();
    });
    const end = () => {
      this.#closed = true;
      this.#wake?.();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  static connect(port: number, ca: string, servername = "localhost"): Promise<TlsClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect(
        { host: "127.0.0.1", port, ca, servername },
        () => resolve(new TlsClient(socket)),
      );
      socket.once("error", reject);
    });
  }

  /** SHA-256 fingerprint of the certificate the server presented. */
  get fingerprint(): string {
    return this.socket.getPeerCertificate().fingerprint256;
  }

  /** GET / on this connection; the body of the response (small, Content-Length framed). */
  async get(path = "/"): Promise<string> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const end = this.#buffer.indexOf("\r\n\r\n");
      const m = /content-length: (\d+)\r\n/i.exec(this.#buffer);
      if (end >= 0 && m !== null && this.#buffer.length >= end + 4 + Number(m[1])) {
        const body = this.#buffer.slice(end + 4, end + 4 + Number(m[1]));
        this.#buffer = this.#buffer.slice(end + 4 + Number(m[1]));
        return body;
      }
      if (this.#closed) throw new Error(`connection closed after: ${this.#buffer}`);
      if (Date.now() > deadline) throw new Error(`no response; got: ${this.#buffer}`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 100);
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, mesh: Meshctl, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen; meshctl logs:\n${mesh.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The certificate-change reload counters (`tls.cause.certificate_change`). */
async function certReloads(mesh: Meshctl): Promise<{ reloads: number; failures: number }> {
  const s = (await adminStats(mesh.adminPort))["tls"]?.["cause.certificate_change"] ?? {};
  return { reloads: s["reload_total"] ?? 0, failures: s["reload_failure_total"] ?? 0 };
}

interface Setup {
  pki: TestPki;
  dir: string;
  certPath: string;
  keyPath: string;
  mesh: Meshctl;
  close(): Promise<void>;
}

/** meshctl terminating TLS with the server pair copied into a directory of its own, before an origin. */
async function setup(layout: "plain" | "kubernetes" = "plain"): Promise<Setup> {
  const pki = await makeTestPki();
  const dir = await Deno.makeTempDir({ prefix: "meshctl-tlsops-" });
  let certPath = `${dir}/server.pem`;
  let keyPath = `${dir}/server.key`;
  if (layout === "kubernetes") {
    // The kubelet's AtomicWriter layout: tls.crt → ..data/tls.crt, ..data → ..<timestamp>/.
    await Deno.mkdir(`${dir}/..v1`);
    await Deno.writeTextFile(`${dir}/..v1/tls.crt`, pki.server.cert);
    await Deno.writeTextFile(`${dir}/..v1/tls.key`, pki.server.key);
    await Deno.symlink("..v1", `${dir}/..data`);
    await Deno.symlink("..data/tls.crt", `${dir}/tls.crt`);
    await Deno.symlink("..data/tls.key", `${dir}/tls.key`);
    certPath = `${dir}/tls.crt`;
    keyPath = `${dir}/tls.key`;
  } else {
    await Deno.writeTextFile(certPath, pki.server.cert);
    await Deno.writeTextFile(keyPath, pki.server.key);
  }
  const origin = startOrigin(() => new Response("ok"));
  const config = httpProxyConfig({ hosts: [origin.address] });
  const listener = (config["servers"] as { listeners: { filter_chains: Record<string, unknown>[] }[] }[])[0]!
    .listeners[0]!;
  listener.filter_chains[0]!["tls_context"] = { status: true, cert_chain: certPath, private_key: keyPath };
  const mesh = await startMeshctl(config, { env: { MESHCTL_LOG_LEVEL: "info" } });
  return {
    pki,
    dir,
    certPath,
    keyPath,
    mesh,
    async close() {
      assertEquals(await mesh.stop(), 0);
      await origin.close();
      await Deno.remove(dir, { recursive: true });
      await pki.remove();
    },
  };
}

/** Replaces `path` the way editors and cert managers do: a new file renamed over it. */
async function renameReplace(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.new`, text);
  await Deno.rename(`${path}.new`, path);
}

/**
 * Rotates the listener's pair (`how` writes both files, the key first), then checks: a new connection
 * sees the new certificate; `kept`, opened before, still serves on the old one.
 */
async function rotateAndCheck(t: Setup, how: (cert: string, key: string) => Promise<void>): Promise<void> {
  const port = t.mesh.port("ingress");
  const kept = await TlsClient.connect(port, t.pki.ca.cert);
  try {
    assertEquals(await kept.get(), "ok");
    assertEquals(kept.fingerprint, fingerprintOf(t.pki.server.cert));
    const rotated = await t.pki.issue("rotated", "DNS:localhost,IP:127.0.0.1");
    await how(rotated.cert, rotated.key);
    const newFingerprint = fingerprintOf(rotated.cert);
    await waitFor("a new handshake with the new certificate", async () => {
      const c = await TlsClient.connect(port, t.pki.ca.cert);
      try {
        return c.fingerprint === newFingerprint && await c.get() === "ok";
      } finally {
        c.close();
      }
    }, t.mesh);
    assertEquals(await kept.get(), "ok", "the connection opened before the reload keeps serving");
    assertEquals(kept.fingerprint, fingerprintOf(t.pki.server.cert));
    assertMatch(t.mesh.logs(), /certificate files changed/);
    assertMatch(t.mesh.logs(), /config reloaded.*certificate_change/);
    const counted = await certReloads(t.mesh);
    assert(counted.reloads >= 1, `reloads counted: ${JSON.stringify(counted)}`);
    assertEquals(counted.reloads - counted.failures >= 1, true);
  } finally {
    kept.close();
  }
}

Deno.test(
  "a certificate pair replaced by rename: new handshakes get it, an open keep-alive connection keeps serving",
  opts,
  async () => {
    const t = await setup();
    try {
      await rotateAndCheck(t, async (cert, key) => {
        await renameReplace(t.keyPath, key);
        await renameReplace(t.certPath, cert);
      });
      assertEquals((await certReloads(t.mesh)).failures, 0);
    } finally {
      await t.close();
    }
  },
);

Deno.test(
  "a certificate pair written in place: new handshakes get it, an open keep-alive connection keeps serving",
  opts,
  async () => {
    const t = await setup();
    try {
      await rotateAndCheck(t, async (cert, key) => {
        await Deno.writeTextFile(t.keyPath, key);
        await Deno.writeTextFile(t.certPath, cert);
      });
    } finally {
      await t.close();
    }
  },
);

Deno.test("a Kubernetes secret update (..data symlink swap) rotates the certificate", opts, async () => {
  const t = await setup("kubernetes");
  try {
    await rotateAndCheck(t, async (cert, key) => {
      await Deno.mkdir(`${t.dir}/..v2`);
      await Deno.writeTextFile(`${t.dir}/..v2/tls.crt`, cert);
      await Deno.writeTextFile(`${t.dir}/..v2/tls.key`, key);
      await Deno.symlink("..v2", `${t.dir}/..data_tmp`);
      await Deno.rename(`${t.dir}/..data_tmp`, `${t.dir}/..data`);
      await Deno.remove(`${t.dir}/..v1`, { recursive: true });
    });
  } finally {
    await t.close();
  }
});

Deno.test("a broken new certificate is rejected and counted; the old one keeps serving", opts, async () => {
  const t = await setup();
  try {
    const port = t.mesh.port("ingress");
    await renameReplace(
      t.certPath,
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    );
    await waitFor("the rejection", async () => (await certReloads(t.mesh)).failures >= 1, t.mesh);
    // Rejected by validation, or failed building the new runtime: either way the old snapshot stays.
    assertMatch(t.mesh.logs(), /config reload (rejected|failed); still serving the previous config/);
    const c = await TlsClient.connect(port, t.pki.ca.cert);
    try {
      assertEquals(c.fingerprint, fingerprintOf(t.pki.server.cert));
      assertEquals(await c.get(), "ok");
    } finally {
      c.close();
    }
    // A key that does not match the certificate is rejected the same way.
    await renameReplace(t.certPath, t.pki.server.cert);
    await renameReplace(t.keyPath, t.pki.other.key);
    await waitFor("the second rejection", async () => (await certReloads(t.mesh)).failures >= 2, t.mesh);
    const d = await TlsClient.connect(port, t.pki.ca.cert);
    try {
      assertEquals(d.fingerprint, fingerprintOf(t.pki.server.cert));
      assertEquals(await d.get(), "ok");
    } finally {
      d.close();
    }
  } finally {
    await t.close();
  }
});

Deno.test(
  "the certificate expiry gauge is within a few seconds of the truth, in the admin API, Prometheus and meshctl stats",
  opts,
  async () => {
    const t = await setup();
    try {
      const out = await new Deno.Command("openssl", {
        args: ["x509", "-noout", "-enddate", "-in", t.certPath],
        stdout: "piped",
      }).output();
      const notAfter = Date.parse(new TextDecoder().decode(out.stdout).trim().slice("notAfter=".length));
      const truth = () => (notAfter - Date.now()) / 1000;
      const tlsStats = (await adminStats(t.mesh.adminPort))["tls"] ?? {};
      const key = Object.keys(tlsStats).find((k) =>
        k.includes("field.cert_chain") && k.includes("CN=server")
      );
      assert(key !== undefined, `no cert_chain gauge in ${JSON.stringify(tlsStats)}`);
      assertMatch(key, /listener\.ingress/);
      const seconds = tlsStats[key]!["cert_expires_in_seconds"]!;
      assert(Math.abs(seconds - truth()) <= 3, `gauge ${seconds}, truth ${truth()}`);

      const prom = await (await fetch(`http://127.0.0.1:${t.mesh.adminPort}/stats/prometheus`)).text();
      const line = prom.split("\n").find((l) =>
        l.startsWith("meshctl_tls_cert_expires_in_seconds{") && l.includes('subject="CN=server"')
      );
      assert(line !== undefined, prom);
      assert(Math.abs(Number(line.split(" ").at(-1)) - truth()) <= 3, line);

      const cli = await runCli([
        "stats",
        "--addr",
        `127.0.0.1:${t.mesh.adminPort}`,
        "--filter",
        "cert_expires",
      ]);
      assertEquals(cli.code, 0, cli.stderr);
      assertMatch(cli.stdout, /subject=CN=server/);
      const shown = /tls_cert_expires_in_seconds\s+(-?\d+)/.exec(cli.stdout);
      assert(shown !== null, cli.stdout);
      assert(Math.abs(Number(shown[1]) - truth()) <= 3, cli.stdout);
    } finally {
      await t.close();
    }
  },
);

Deno.test(
  "config_dump of a running meshctl shows no private key (inline PEM in tls_context)",
  opts,
  async () => {
    const pki = await makeTestPki();
    const origin = startOrigin(() => new Response("ok"));
    const config = httpProxyConfig({ hosts: [origin.address] });
    const listener =
      (config["servers"] as { listeners: { filter_chains: Record<string, unknown>[] }[] }[])[0]!
        .listeners[0]!;
    listener.filter_chains[0]!["tls_context"] = {
      status: true,
      cert_chain: pki.server.cert,
      private_key: pki.server.key,
    };
    const mesh = await startMeshctl(config);
    try {
      const c = await TlsClient.connect(mesh.port("ingress"), pki.ca.cert);
      try {
        assertEquals(await c.get(), "ok", "the inline pair serves");
      } finally {
        c.close();
      }
      for (const view of ["", "?alllisteners", "?listener=ingress"]) {
        const text = await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump${view}`))
          .text();
        assert(!text.includes("PRIVATE KEY"), `${view}: ${text}`);
        const keyLine = pki.server.key.split("\n")[1]!;
        assert(!text.includes(keyLine), `${view}: key material survived`);
        assertMatch(text, /"private_key": "\*\*\*REDACTED\*\*\*"/);
      }
      const dumped =
        await (await fetch(`http://127.0.0.1:${mesh.adminPort}/api/v1/config_dump?listener=ingress`))
          .json();
      assertEquals(Object.keys(dumped.filter_chains[0].tls_context).sort(), [
        "cert_chain",
        "private_key",
        "status",
      ]);
    } finally {
      assertEquals(await mesh.stop(), 0);
      await origin.close();
      await pki.remove();
    }
  },
);
