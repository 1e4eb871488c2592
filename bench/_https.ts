/**
 * The HTTPS termination family of `make bench` (`--only https`): nginx and meshctl terminating TLS 1.3
 * with the same certificate (EC P-256, made for the run by openssl, signed by a run CA) in front of the
 * same plaintext origin the HTTP/1.1 family uses (nginx, `/` = 5 bytes, upstream keep-alive), one worker
 * each on core 1 beside the origin; the load on core 0.
 *
 * - **keep-alive**: `wrk -t1 -c50 --latency https://…/`: req/s, latency, proxy CPU µs per request.
 * - **full handshakes**: `bench/tls_handshake_load.ts`, 50 loops of connect → full TLS handshake → one
 *   `GET /` with `Connection: close` → EOF: handshakes/s, proxy CPU µs per handshake (with its one
 *   proxied request). wrk is not used here: it keeps the TLS session across its reconnects and resumes.
 *
 * What each proxy negotiates is read once per run with `openssl s_client` (OpenSSL, as wrk):
 * protocol, cipher, key exchange group, tickets sent, and whether a saved session resumes.
 * meshctl's TLS config is MOSN's: `filter_chains[0].tls_context {status, cert_chain, private_key}`.
 */
import * as configs from "./_configs.ts";
import {
  BENCH_DIR,
  DENO,
  lastLines,
  LOAD_CORE,
  meshctlArgv,
  noiseNote,
  parseWrk,
  PROXY_CORE,
  READY_TIMEOUT_MS,
  round2,
  type RunSettings,
  startNginxOrigin,
  type Target,
  waitReady,
  withTimeout,
} from "./_harness.ts";
import { freePort, NoiseMeter, run, type Server, start, treeCpuMicros, treePeakRssKiB } from "./_proc.ts";
import { fmt, fmtRatio, fmtSpread, type Spread, spread } from "./_stats.ts";
import type { HandshakeLoadResult } from "./tls_handshake_load.ts";

/** The certificate both proxies serve, and the CA that signed it (the clients trust it). */
export interface BenchPki {
  readonly caPath: string;
  readonly certChain: string;
  readonly privateKey: string;
}

/** The origin's `/` body: "hello". */
const BODY_BYTES = 5;
/** Loops of the handshake generator (as wrk's -c50). */
const HANDSHAKE_CONNECTIONS = 50;

type Scenario = "keepalive" | "handshake";

const SCENARIO_TITLES: Record<Scenario, string> = {
  keepalive: "HTTPS keep-alive, 5 B body (`/`, 50 connections, TLS 1.3)",
  handshake: "HTTPS full handshakes: a new connection per request (`/`, 50 at a time, TLS 1.3)",
};

export interface HttpsSample {
  round: number;
  scenario: Scenario;
  config: string;
  na?: string;
  /** Requests (keep-alive) or completed connections, i.e. full handshakes (handshake), per second. */
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  requests?: number;
  errors?: number;
  /** Proxy CPU ÷ requests (keep-alive) or ÷ handshakes. */
  cpuUs?: number;
  peakRssMiB?: number;
  /** The load generator's CPU in cores (handshakes: ≈1 means the generator, not the proxy, was the limit). */
  generatorCores?: number;
  otherCores?: number;
  command?: string;
}

/** What a proxy negotiated with OpenSSL's client, read once per run. */
export interface Negotiated {
  config: string;
  protocol?: string;
  cipher?: string;
  group?: string;
  /** TLS 1.3 NewSessionTicket messages after the handshake. */
  tickets?: number;
  /** A saved session offered back was accepted. */
  resumes?: boolean;
  na?: string;
}

export interface HttpsResult {
  samples: HttpsSample[];
  negotiated: Negotiated[];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** A run CA and a server certificate it signed (SANs localhost, 127.0.0.1), EC P-256, in `dir`. */
export async function makeBenchPki(dir: string): Promise<BenchPki> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "bench-ca.key",
    "-out",
    "bench-ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=meshctl bench CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ], dir);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    "bench-server.key",
    "-out",
    "bench-server.csr",
    "-subj",
    "/CN=localhost",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/bench-server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "bench-server.csr",
    "-CA",
    "bench-ca.pem",
    "-CAkey",
    "bench-ca.key",
    "-CAcreateserial",
    "-out",
    "bench-server.pem",
    "-days",
    "2",
    "-extfile",
    "bench-server.ext",
  ], dir);
  return {
    caPath: `${dir}/bench-ca.pem`,
    certChain: `${dir}/bench-server.pem`,
    privateKey: `${dir}/bench-server.key`,
  };
}

// === The proxies ===

interface HttpsConfig {
  readonly name: string;
  readonly role: string;
  start(ctx: RunSettings, pki: BenchPki, port: number, originPort: number, label: string): Server;
}

const NGINX: HttpsConfig = {
  name: "nginx",
  role: "nginx (HTTPS → HTTP/1.1)",
  start(ctx, pki, port, originPort) {
    const conf = `${ctx.dir}/nginx-https.conf`;
    Deno.writeTextFileSync(conf, configs.proxyNginxHttps(ctx.dir, port, originPort, pki));
    return start("nginx-https", [
      "nginx",
      "-p",
      ctx.dir,
      "-e",
      `${ctx.dir}/nginx-https.error.log`,
      "-c",
      conf,
    ], {
      core: PROXY_CORE,
    });
  },
};

const MESHCTL: HttpsConfig = {
  name: "meshctl",
  role: "meshctl (HTTPS → Http1)",
  start(ctx, pki, port, originPort, label) {
    const conf = `${ctx.dir}/meshctl-https.yaml`;
    Deno.writeTextFileSync(
      conf,
      configs.meshctlYaml({
        listenPort: port,
        adminPort: freePort(),
        upstreamPort: originPort,
        protocol: "http",
        tls: { certChain: pki.certChain, privateKey: pki.privateKey },
      }),
    );
    return start("meshctl", meshctlArgv(conf, ctx.opts.cpuProfDir, `meshctl-https-${label}`), {
      core: PROXY_CORE,
      env: { MESHCTL_LOG_LEVEL: "error", NO_COLOR: "1" },
    });
  },
};

const CONFIGS: readonly HttpsConfig[] = [NGINX, MESHCTL];

// === Probes ===

/** One HTTPS GET / on a fresh connection (verifying the run CA); true when it answers 200 "hello". */
async function httpsOk(port: number, pki: BenchPki, timeoutMs: number): Promise<boolean> {
  let conn: Deno.Conn | undefined;
  const attempt = async () => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    conn = tcp;
    const tls = await Deno.startTls(tcp, {
      hostname: "localhost",
      caCerts: [await Deno.readTextFile(pki.caPath)],
    });
    conn = tls;
    await tls.write(
      new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.endsWith("\r\n\r\nhello")) { // the 5-byte answer; EOF or a timeout otherwise
      const n = await tls.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return /^HTTP\/1\.1 200 /.test(text) && text.endsWith("\r\n\r\nhello");
  };
  try {
    return (await withTimeout(attempt().catch(() => false), timeoutMs)) ?? false;
  } finally {
    try {
      conn?.close();
    } catch { /* closed */ }
  }
}

/** `openssl s_client` with a GET on stdin; its output (bounded in time). */
async function sClient(port: number, pki: BenchPki, extra: string[]): Promise<string> {
  const child = new Deno.Command("openssl", {
    args: [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-servername",
      "localhost",
      "-CAfile",
      pki.caPath,
      "-ign_eof",
      ...extra,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
  );
  await writer.close();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5000);
  const out = await child.output();
  clearTimeout(timer);
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

/** Protocol, cipher, group and tickets of a handshake with OpenSSL's client, and whether it resumes. */
export async function probeNegotiated(
  config: string,
  port: number,
  pki: BenchPki,
  dir: string,
): Promise<Negotiated> {
  const session = `${dir}/${config}-session.pem`;
  try {
    const first = await sClient(port, pki, ["-sess_out", session]);
    const m = /(New|Reused), (TLSv[\d.]+), Cipher is (\S+)/.exec(first);
    if (m === null) return { config, na: `no handshake: ${lastLines(first, 3)}` };
    const group = /Server Temp Key: ([^,\n]+)/.exec(first)?.[1]?.trim();
    const tickets = (first.match(/Post-Handshake New Session Ticket arrived/g) ?? []).length;
    let resumes = false;
    if (tickets > 0) {
      const second = await sClient(port, pki, ["-sess_in", session]);
      resumes = /Reused, TLSv/.test(second);
    }
    return { config, protocol: m[2], cipher: m[3], group, tickets, resumes };
  } catch (e) {
    return { config, na: `probe failed: ${e instanceof Error ? e.message : e}` };
  } finally {
    await Deno.remove(session).catch(() => {});
  }
}

// === Measuring ===

function wrkHttpsArgv(port: number, seconds: number): string[] {
  return ["wrk", "-t1", "-c50", `-d${seconds}s`, "--latency", `https://127.0.0.1:${port}/`];
}

function handshakeArgv(pki: BenchPki, port: number, warmupS: number, durationS: number): string[] {
  return [
    DENO,
    "run",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    `--allow-read=${pki.caPath}`,
    `${BENCH_DIR}tls_handshake_load.ts`,
    "--target",
    `127.0.0.1:${port}`,
    "--ca",
    pki.caPath,
    "--servername",
    "localhost",
    "--connections",
    String(HANDSHAKE_CONNECTIONS),
    "--warmup",
    String(warmupS),
    "--duration",
    String(durationS),
    "--body-bytes",
    String(BODY_BYTES),
  ];
}

async function measure(
  ctx: RunSettings,
  pki: BenchPki,
  cfg: HttpsConfig,
  scenario: Scenario,
  round: number,
  originPort: number,
  negotiated: Negotiated[],
): Promise<HttpsSample> {
  const sample: HttpsSample = { round, scenario, config: cfg.name };
  const port = freePort();
  const server = cfg.start(ctx, pki, port, originPort, `${scenario}-r${round}`);
  try {
    ctx.commands.set(`https ${cfg.role}`, server.argv.join(" "));
    const notReady = await waitReady(server, () => httpsOk(port, pki, 1000), READY_TIMEOUT_MS);
    if (notReady !== undefined) {
      sample.na = "not serving";
      console.log(`    ${cfg.name}: n/a (not serving HTTPS: ${notReady})`);
      if (server.output().trim() !== "") console.log(lastLines(server.output(), 6));
      return sample;
    }
    if (!negotiated.some((n) => n.config === cfg.name)) {
      negotiated.push(await probeNegotiated(cfg.name, port, pki, ctx.dir));
    }
    const o = ctx.opts;
    const bound = (s: number) => s * 1000 + 15000;
    if (scenario === "keepalive") {
      await run(wrkHttpsArgv(port, o.warmupS), bound(o.warmupS), { core: LOAD_CORE });
      const argv = wrkHttpsArgv(port, o.durationS);
      sample.command = `taskset -c ${LOAD_CORE} ${argv.join(" ")}`;
      const cpu0 = treeCpuMicros(server.pid);
      const noise = new NoiseMeter();
      const res = await run(argv, bound(o.durationS), { core: LOAD_CORE });
      const cpu1 = treeCpuMicros(server.pid);
      sample.otherCores = round2(noise.otherCores());
      sample.peakRssMiB = treePeakRssKiB(server.pid) / 1024;
      const w = parseWrk(res.output);
      if (res.timedOut || w === undefined) {
        sample.na = res.timedOut ? "load run timed out" : "wrk failed";
        console.log(`    ${cfg.name}: n/a (${sample.na})\n${lastLines(res.output, 6)}`);
        return sample;
      }
      Object.assign(sample, {
        rps: w.rps,
        p50Ms: w.p50Ms,
        p99Ms: w.p99Ms,
        requests: w.requests,
        errors: w.socketErrors + w.non2xx,
        cpuUs: w.requests > 0 ? (cpu1 - cpu0) / w.requests : undefined,
      });
    } else {
      // A warm-up run, then the measured one (as wrk): the proxy's CPU is read around the measured run.
      await run(handshakeArgv(pki, port, 0, o.warmupS), bound(o.warmupS), { core: LOAD_CORE });
      const argv = handshakeArgv(pki, port, 0, o.durationS);
      sample.command = `taskset -c ${LOAD_CORE} ${argv.join(" ")}`;
      const cpu0 = treeCpuMicros(server.pid);
      const noise = new NoiseMeter();
      const res = await run(argv, bound(o.durationS), { core: LOAD_CORE });
      const cpu1 = treeCpuMicros(server.pid);
      sample.otherCores = round2(noise.otherCores());
      sample.peakRssMiB = treePeakRssKiB(server.pid) / 1024;
      const line = res.output.split("\n").find((l) => l.startsWith("{"));
      if (res.timedOut || line === undefined) {
        sample.na = res.timedOut ? "load run timed out" : "handshake generator failed";
        console.log(`    ${cfg.name}: n/a (${sample.na})\n${lastLines(res.output, 6)}`);
        return sample;
      }
      const h = JSON.parse(line) as HandshakeLoadResult;
      if (h.error !== undefined) sample.na = h.error;
      // The proxy's CPU around the run (the generator's start and exit leave it idle) ÷ handshakes.
      Object.assign(sample, {
        rps: h.handshakesPerSecond,
        p50Ms: h.latencyMs?.p50,
        p99Ms: h.latencyMs?.p99,
        requests: h.completed,
        errors: h.errors,
        cpuUs: h.completed > 0 ? (cpu1 - cpu0) / h.completed : undefined,
        generatorCores: h.generatorCores === undefined ? undefined : round2(h.generatorCores),
      });
      if (h.errors > 0) console.log(`    ${cfg.name}: ${h.errors} errors, e.g. ${h.errorSamples[0]}`);
    }
    if (server.hasExited()) sample.na = "proxy exited during the run";
    const unit = scenario === "keepalive" ? "req/s" : "handshakes/s";
    console.log(
      `    ${cfg.name.padEnd(10)} ${fmt(sample.rps ?? NaN).padStart(7)} ${unit}  p50 ${
        fmt(sample.p50Ms ?? NaN)
      } ms  ` +
        `p99 ${fmt(sample.p99Ms ?? NaN)} ms  ${fmt(sample.cpuUs ?? NaN)} µs/${
          scenario === "keepalive" ? "req" : "handshake"
        }  RSS ${fmt(sample.peakRssMiB ?? NaN)} MiB` +
        (sample.generatorCores !== undefined ? `  generator ${sample.generatorCores} cores` : "") +
        ((sample.errors ?? 0) > 0 ? `  errors ${sample.errors}` : "") +
        noiseNote(sample.otherCores) +
        (sample.na ? `  (${sample.na})` : ""),
    );
    return sample;
  } finally {
    await server.stop();
  }
}

/** Runs the family: both scenarios × both proxies, interleaved, for the configured rounds. */
export async function runHttps(ctx: RunSettings): Promise<HttpsResult> {
  console.log(
    "\n== HTTPS termination: wrk (keep-alive) and tls_handshake_load.ts (full handshakes), core 0 → " +
      "nginx or meshctl, TLS 1.3 (core 1) → origin nginx (core 1) ==",
  );
  const result: HttpsResult = { samples: [], negotiated: [] };
  let pki: BenchPki;
  try {
    pki = await makeBenchPki(ctx.dir);
  } catch (e) {
    console.log(`cannot make the bench certificate (${e instanceof Error ? e.message : e}); skipping HTTPS`);
    return result;
  }
  const origin = await startNginxOrigin(ctx);
  if (typeof origin === "string") {
    console.log(`${origin}; skipping HTTPS`);
    return result;
  }
  try {
    const notServing = new Set<string>();
    for (let round = 1; round <= ctx.opts.rounds; round++) {
      for (const scenario of ["keepalive", "handshake"] as const) {
        console.log(`  round ${round}/${ctx.opts.rounds}, ${SCENARIO_TITLES[scenario]}`);
        for (const cfg of CONFIGS) {
          if (notServing.has(cfg.name)) {
            console.log(`    ${cfg.name}: n/a (not serving, skipped)`);
            result.samples.push({ round, scenario, config: cfg.name, na: "not serving" });
            continue;
          }
          const s = await measure(ctx, pki, cfg, scenario, round, origin.port, result.negotiated);
          if (s.na === "not serving") notServing.add(cfg.name);
          result.samples.push(s);
        }
      }
    }
  } finally {
    await origin.server.stop();
  }
  return result;
}

// === Report ===

interface Row {
  config: string;
  na?: string;
  rps?: Spread;
  rpsRatio?: Spread;
  p50?: Spread;
  p99?: Spread;
  cpu?: Spread;
  cpuRatio?: Spread;
  rss?: Spread;
  generator?: Spread;
  errors: number;
}

function rows(samples: readonly HttpsSample[], scenario: Scenario): Row[] {
  const own = samples.filter((s) => s.scenario === scenario);
  const nginxOf = (round: number) => own.find((s) => s.round === round && s.config === "nginx" && !s.na);
  const ratio = (s: HttpsSample, key: "rps" | "cpuUs") => {
    const base = nginxOf(s.round)?.[key];
    const v = s[key];
    return base && v !== undefined ? v / base : undefined;
  };
  return CONFIGS.flatMap((cfg) => {
    const mine = own.filter((s) => s.config === cfg.name);
    if (mine.length === 0) return [];
    const ok = mine.filter((s) => !s.na);
    return [{
      config: cfg.name,
      na: ok.length === 0 ? mine[0]!.na ?? "n/a" : undefined,
      rps: spread(ok.map((s) => s.rps)),
      rpsRatio: spread(ok.map((s) => ratio(s, "rps"))),
      p50: spread(ok.map((s) => s.p50Ms)),
      p99: spread(ok.map((s) => s.p99Ms)),
      cpu: spread(ok.map((s) => s.cpuUs)),
      cpuRatio: spread(ok.map((s) => ratio(s, "cpuUs"))),
      rss: spread(mine.map((s) => s.peakRssMiB)),
      generator: spread(ok.map((s) => s.generatorCores)),
      errors: mine.reduce((n, s) => n + (s.errors ?? 0), 0),
    }];
  });
}

function table(r: readonly Row[], scenario: Scenario): string {
  const rate = scenario === "keepalive" ? "req/s" : "handshakes/s";
  const cpu = scenario === "keepalive" ? "CPU µs/req" : "CPU µs/handshake";
  const gen = scenario === "handshake" ? " generator cores |" : "";
  const head =
    `| configuration | ${rate} | × nginx | p50 ms | p99 ms | ${cpu} | CPU × nginx | peak RSS MiB |${gen} ` +
    `errors |\n|---|---|---|---|---|---|---|---|${scenario === "handshake" ? "---|" : ""}---|\n`;
  return head +
    r.map((x) =>
      x.na !== undefined
        ? `| ${x.config} | n/a (${x.na}) | | | | | | |${scenario === "handshake" ? " |" : ""} |`
        : `| ${x.config} | ${fmtSpread(x.rps)} | ${fmtRatio(x.rpsRatio)} | ${fmtSpread(x.p50)} | ${
          fmtSpread(x.p99)
        } | ` +
          `${fmtSpread(x.cpu)} | ${fmtRatio(x.cpuRatio)} | ${fmtSpread(x.rss)} |` +
          (scenario === "handshake" ? ` ${fmtSpread(x.generator)} |` : "") + ` ${x.errors} |`
    ).join("\n");
}

function negotiatedTable(negotiated: readonly Negotiated[]): string {
  const out = [
    "| configuration | protocol | cipher | key exchange | session tickets sent | a saved session resumes |",
    "|---|---|---|---|---|---|",
  ];
  for (const n of negotiated) {
    out.push(
      n.na !== undefined
        ? `| ${n.config} | n/a (${n.na.replaceAll("\n", " ")}) | | | | |`
        : `| ${n.config} | ${n.protocol} | ${n.cipher} | ${n.group ?? "?"} | ${n.tickets} | ${
          n.resumes ? "yes" : "no"
        } |`,
    );
  }
  return out.join("\n");
}

/** The "Targets (from the issue)" rows of this family (figures to report; the issue sets no threshold). */
export function httpsTargets(result: HttpsResult): Target[] {
  const keep = rows(result.samples, "keepalive").find((r) => r.config === "meshctl");
  const hs = rows(result.samples, "handshake").find((r) => r.config === "meshctl");
  const show = (r: Row | undefined, unit: string) =>
    r === undefined || r.na !== undefined
      ? "n/a (meshctl not measured)"
      : `${fmtRatio(r.rpsRatio)} nginx's ${unit}; CPU ${fmtSpread(r.cpu)} µs (${fmtRatio(r.cpuRatio)} nginx)`;
  const na = (r: Row | undefined) => r === undefined || r.na !== undefined;
  const n = result.negotiated;
  const sameCipher = n.length === 2 && n.every((x) => x.na === undefined) && n[0]!.cipher === n[1]!.cipher &&
    n[0]!.group === n[1]!.group;
  return [
    {
      name: "HTTPS keep-alive 5 B: req/s and CPU µs/req beside nginx's",
      measured: show(keep, "req/s"),
      verdict: na(keep) ? "n/a" : "reported",
    },
    {
      name: "HTTPS full handshakes: handshakes/s and CPU µs/handshake beside nginx's",
      measured: show(hs, "handshakes/s"),
      verdict: na(hs) ? "n/a" : "reported",
    },
    {
      name: "HTTPS: both negotiate the same TLS 1.3 cipher and group",
      measured: n.map((x) => `${x.config}: ${x.na ?? `${x.protocol} ${x.cipher} ${x.group}`}`).join("; ") ||
        "n/a",
      verdict: n.length < 2 || n.some((x) => x.na !== undefined) ? "n/a" : sameCipher ? "pass" : "FAIL",
    },
  ];
}

/** The family's part of the Commands section. */
export function httpsCommands(ctx: RunSettings, result: HttpsResult): string[] {
  const cmd = (k: string) => ctx.commands.get(k) ?? "(not started)";
  const load = (sc: Scenario) =>
    result.samples.find((s) => s.scenario === sc && s.command)?.command ?? "(not run)";
  return [
    "# HTTPS: certificate (EC P-256) and run CA made by openssl into the temp dir; the origin nginx above",
    ...CONFIGS.map((c) => cmd(`https ${c.role}`)),
    `# HTTPS keep-alive: a ${ctx.opts.warmupS} s warm-up with the same command and -d${ctx.opts.warmupS}s, then`,
    load("keepalive"),
    `# HTTPS full handshakes: a ${ctx.opts.warmupS} s warm-up with the same command and --duration ${ctx.opts.warmupS}, then`,
    load("handshake"),
  ];
}

/** The family's sections of RESULTS.md. */
export function httpsSections(ctx: RunSettings, result: HttpsResult): string[] {
  const lines: string[] = [];
  lines.push("## HTTPS termination: method");
  lines.push("");
  lines.push(
    "nginx (`listen … ssl`, `ssl_protocols TLSv1.3`, one worker) and meshctl (MOSN's listener " +
      "`filter_chains[0].tls_context {status: true, cert_chain, private_key}`) serve the same certificate — " +
      "EC P-256, made for the run with openssl and signed by a run CA — in front of the HTTP/1.1 family's " +
      `origin with upstream keep-alive, both on core ${PROXY_CORE} beside the origin; the load on core ` +
      `${LOAD_CORE}; a fresh proxy per run, ${ctx.opts.warmupS} s warm-up, ${ctx.opts.durationS} s measured. ` +
      "*Keep-alive*: `wrk -t1 -c50 --latency https://…/`. *Full handshakes*: " +
      "`bench/tls_handshake_load.ts`, 50 loops each opening a connection, doing a full TLS 1.3 handshake " +
      "(`Deno.startTls`, a fresh client configuration per connection: no session is ever offered back; " +
      "wrk would resume the session on every reconnect), sending one `GET /` with `Connection: close` and " +
      "reading the response; a handshake counts when the 5-byte answer came back whole. CPU µs/handshake is the " +
      "proxy's CPU over the measured window ÷ handshakes, so it includes the connection's TCP accept and " +
      "its one proxied request. *Generator cores* is the generator's own CPU: near 1.0 its core was the " +
      "limit and handshakes/s says more about the generator than about the proxy; CPU per handshake " +
      "still compares. The negotiated parameters are read with `openssl s_client` (OpenSSL, as wrk); the " +
      "handshake generator (rustls) offers TLS_AES_256_GCM_SHA384 first and one X25519 key share too.",
  );
  lines.push("");
  lines.push("### Negotiated (openssl s_client, once per run)");
  lines.push("");
  lines.push(negotiatedTable(result.negotiated));
  for (const sc of ["keepalive", "handshake"] as const) {
    lines.push("");
    lines.push(`## ${SCENARIO_TITLES[sc]}`);
    lines.push("");
    lines.push(table(rows(result.samples, sc), sc));
  }
  return lines;
}
