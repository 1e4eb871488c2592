import type { Clock, Logger, TimerId } from "../../core/mod.ts";
import type { HealthCheckConfig, HttpHealthCheckConfig } from "../../config/mod.ts";
import type { Counter, Scope } from "../../stats/mod.ts";
import type { HostHealth } from "./host_health.ts";

/** Why a check failed: one counter per reason. */
export type CheckFailure = "timeout" | "connect" | "status" | "protocol";
const FAILURES: readonly CheckFailure[] = ["timeout", "connect", "status", "protocol"];

export type ProbeResult = { readonly ok: true } | {
  readonly ok: false;
  readonly reason: CheckFailure;
  readonly detail: string;
};

/** What a probe needs of a host. */
export interface ProbeTarget {
  readonly hostname: string;
  readonly port: number;
  readonly address: string;
}

/**
 * One check of one host. `onCancel` registers what stops it (close the socket) when the check's
 * timeout fires first; a probe must then settle soon and hold nothing.
 */
export type HealthProbe = (
  target: ProbeTarget,
  onCancel: (cancel: () => void) => void,
) => Promise<ProbeResult>;

/** A host the checker checks: where, its shared health, and its per-host stats scope. */
export interface CheckedHost extends ProbeTarget {
  readonly health: HostHealth;
  readonly scope: Scope;
}

/** Per host (its `upstream` scope): attempts, results, failures by reason. */
class CheckStats {
  readonly attempt: Counter;
  readonly success: Counter;
  readonly failure: Counter;
  readonly byReason: Record<CheckFailure, Counter>;
  constructor(scope: Scope) {
    this.attempt = scope.counter("health_check_attempt_total");
    this.success = scope.counter("health_check_success_total");
    this.failure = scope.counter("health_check_failure_total");
    const r = {} as Record<CheckFailure, Counter>;
    for (const f of FAILURES) r[f] = scope.counter(`health_check_failure_${f}_total`);
    this.byReason = r;
  }
}

export interface ActiveHealthCheckerOptions {
  readonly clock: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
  readonly clusterName?: string;
  /** Default: TCP connect, or HTTP when the config has `http`. Tests inject their own. */
  readonly probe?: HealthProbe;
  /** MOSN's `healthcheck` scope {service}: attempt, success, failure totals. */
  readonly serviceScope?: Scope;
  /** A check passed (outlier detection may uneject the host). */
  readonly onSuccess?: (h: HostHealth) => void;
  /** A host's FAILED_ACTIVE_HC flag changed. */
  readonly onChange?: () => void;
}

/** One host's check loop: first check after initial delay + jitter, then interval + jitter after each. */
class Session {
  readonly host: CheckedHost;
  readonly stats: CheckStats;
  timer: TimerId | undefined;
  timeout: TimerId | undefined;
  cancel: (() => void) | undefined;
  /** Increments per check: a result of an earlier check (after its timeout) is ignored. */
  id = 0;
  stopped = false;
  constructor(host: CheckedHost) {
    this.host = host;
    this.stats = new CheckStats(host.scope);
  }
}

/**
 * MOSN's active health checking for one cluster: one session per host, each check bounded by `timeout`.
 * `unhealthy_threshold` consecutive failures set the host's FAILED_ACTIVE_HC flag (out of the load
 * balancers), `healthy_threshold` consecutive successes clear it. `setHosts` follows the host set: new
 * hosts get a session, hosts that went have theirs stopped (timers cleared, any socket closed).
 */
export class ActiveHealthChecker {
  readonly config: HealthCheckConfig;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #opts: ActiveHealthCheckerOptions;
  readonly #probe: HealthProbe;
  readonly #sessions = new Map<string, Session>();
  readonly #service: { attempt: Counter; success: Counter; failure: Counter } | undefined;

  constructor(config: HealthCheckConfig, opts: ActiveHealthCheckerOptions) {
    this.config = config;
    this.#clock = opts.clock;
    this.#random = opts.random ?? Math.random;
    this.#opts = opts;
    this.#probe = opts.probe ??
      (config.http === undefined ? tcpProbe : httpProbe(config.http));
    const s = opts.serviceScope;
    this.#service = s === undefined
      ? undefined
      : { attempt: s.counter("attempt"), success: s.counter("success"), failure: s.counter("failure") };
  }

  /** Sessions running (tests: none left after stop or a host's removal). */
  get sessions(): number {
    return this.#sessions.size;
  }

  setHosts(hosts: readonly CheckedHost[]): void {
    const keep = new Set<string>();
    for (const h of hosts) {
      keep.add(h.address);
      if (this.#sessions.has(h.address)) continue;
      const s = new Session(h);
      this.#sessions.set(h.address, s);
      this.#schedule(s, this.config.initialDelayMs);
    }
    for (const [addr, s] of this.#sessions) {
      if (keep.has(addr)) continue;
      this.#stopSession(s);
      this.#sessions.delete(addr);
    }
  }

  stop(): void {
    for (const s of this.#sessions.values()) this.#stopSession(s);
    this.#sessions.clear();
  }

  #stopSession(s: Session): void {
    s.stopped = true;
    this.#clock.clearTimeout(s.timer);
    this.#clock.clearTimeout(s.timeout);
    s.timer = s.timeout = undefined;
    s.cancel?.();
    s.cancel = undefined;
  }

  #schedule(s: Session, baseMs: number): void {
    const jitter = this.config.intervalJitterMs > 0
      ? Math.floor(this.#random() * this.config.intervalJitterMs)
      : 0;
    s.timer = this.#clock.setTimeout(() => this.#check(s), baseMs + jitter);
  }

  #check(s: Session): void {
    s.timer = undefined;
    if (s.stopped) return;
    const id = ++s.id;
    s.stats.attempt.inc();
    this.#service?.attempt.inc();
    const done = (r: ProbeResult) => {
      // Stopped, superseded, or the timeout already counted this check.
      if (s.stopped || id !== s.id || s.timeout === undefined) return;
      this.#clock.clearTimeout(s.timeout);
      s.timeout = undefined;
      s.cancel = undefined;
      this.#result(s, r);
    };
    s.timeout = this.#clock.setTimeout(() => {
      s.timeout = undefined;
      const cancel = s.cancel;
      s.cancel = undefined;
      cancel?.();
      if (s.stopped || id !== s.id) return;
      this.#result(s, {
        ok: false,
        reason: "timeout",
        detail: `no answer within ${this.config.timeoutMs}ms`,
      });
    }, this.config.timeoutMs);
    let probing: Promise<ProbeResult>;
    try {
      probing = this.#probe(s.host, (cancel) => {
        s.cancel = cancel;
      });
    } catch (e) {
      probing = Promise.resolve({ ok: false, reason: "protocol", detail: String(e) });
    }
    probing.then(
      done,
      (e) => done({ ok: false, reason: "connect", detail: e instanceof Error ? e.message : String(e) }),
    );
  }

  #result(s: Session, r: ProbeResult): void {
    const h = s.host.health;
    const c = this.config;
    if (r.ok) {
      s.stats.success.inc();
      this.#service?.success.inc();
      h.checkFailures = 0;
      if (h.failedActiveHc && ++h.checkSuccesses >= c.healthyThreshold) {
        h.checkSuccesses = 0;
        h.setFailedActiveHc(false);
        this.#opts.logger?.info("health check passed: host back in", {
          cluster: this.#opts.clusterName,
          host: h.address,
        });
        this.#opts.onChange?.();
      }
      this.#opts.onSuccess?.(h);
    } else {
      s.stats.failure.inc();
      s.stats.byReason[r.reason].inc();
      this.#service?.failure.inc();
      h.checkSuccesses = 0;
      if (!h.failedActiveHc && ++h.checkFailures >= c.unhealthyThreshold) {
        h.checkFailures = 0;
        h.setFailedActiveHc(true);
        this.#opts.logger?.warn("health check failed: host out", {
          cluster: this.#opts.clusterName,
          host: h.address,
          reason: r.reason,
          detail: r.detail,
        });
        this.#opts.onChange?.();
      }
    }
    if (!s.stopped) this.#schedule(s, c.intervalMs);
  }
}

/** A TCP connect that completes is healthy (MOSN's TCPDialSession). */
export const tcpProbe: HealthProbe = async (target, onCancel) => {
  let cancelled = false;
  // Aborting also gives up a connect still pending (a host that drops SYNs), so none pile up.
  const abort = new AbortController();
  onCancel(() => {
    cancelled = true;
    abort.abort();
  });
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: target.hostname,
      port: target.port,
      transport: "tcp",
      signal: abort.signal,
    });
  } catch (e) {
    if (cancelled) return { ok: false, reason: "timeout", detail: "connect cancelled by the timeout" };
    return { ok: false, reason: "connect", detail: e instanceof Error ? e.message : String(e) };
  }
  try {
    conn.close(); // also when cancelled meanwhile: nothing left open
  } catch { /* closed by the abort */ }
  if (cancelled) return { ok: false, reason: "timeout", detail: "connected after the timeout" };
  return { ok: true };
};

/** Bytes read looking for the status line before the answer counts as not HTTP. */
const MAX_STATUS_LINE_BYTES = 4096;

/**
 * MOSN's HTTPDialSession: one request per check on its own connection (`Connection: close`), healthy
 * when the status is in `codes` (default 200 only). Only the status line is read.
 */
export function httpProbe(cfg: HttpHealthCheckConfig): HealthProbe {
  return async (target, onCancel) => {
    let conn: Deno.TcpConn | undefined;
    let cancelled = false;
    const abort = new AbortController();
    onCancel(() => {
      cancelled = true;
      abort.abort(); // a pending connect too
      try {
        conn?.close();
      } catch { /* already closed */ }
    });
    const port = cfg.port ?? target.port;
    try {
      conn = await Deno.connect({ hostname: target.hostname, port, transport: "tcp", signal: abort.signal });
    } catch (e) {
      if (cancelled) return { ok: false, reason: "timeout", detail: "connect cancelled by the timeout" };
      return { ok: false, reason: "connect", detail: e instanceof Error ? e.message : String(e) };
    }
    if (cancelled) {
      try {
        conn.close();
      } catch { /* closed by the abort */ }
      return { ok: false, reason: "timeout", detail: "connected after the timeout" };
    }
    try {
      const host = cfg.domain ?? (port === target.port ? target.address : `${target.hostname}:${port}`);
      const req =
        `${cfg.method} ${cfg.path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: meshctl-health-check\r\n` +
        "Connection: close\r\n\r\n";
      const bytes = new TextEncoder().encode(req);
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      const buf = new Uint8Array(MAX_STATUS_LINE_BYTES);
      let got = 0;
      for (;;) {
        const n = await conn.read(buf.subarray(got));
        if (n === null) return { ok: false, reason: "protocol", detail: "closed before a status line" };
        got += n;
        const eol = buf.subarray(0, got).indexOf(0x0a);
        if (eol >= 0) {
          const line = new TextDecoder().decode(buf.subarray(0, eol));
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(line);
          if (m === null) {
            return { ok: false, reason: "protocol", detail: `not an HTTP status line: ${line.slice(0, 80)}` };
          }
          const status = Number(m[1]);
          return statusAccepted(status, cfg)
            ? { ok: true }
            : { ok: false, reason: "status", detail: `status ${status}` };
        }
        if (got === buf.length) return { ok: false, reason: "protocol", detail: "status line too long" };
      }
    } catch (e) {
      return {
        ok: false,
        reason: cancelled ? "timeout" : "connect",
        detail: e instanceof Error ? e.message : String(e),
      };
    } finally {
      try {
        conn.close();
      } catch { /* closed by the timeout */ }
    }
  };
}

export function statusAccepted(status: number, cfg: Pick<HttpHealthCheckConfig, "codes">): boolean {
  if (cfg.codes.length === 0) return status === 200;
  for (const r of cfg.codes) if (status >= r.start && status <= r.end) return true;
  return false;
}
