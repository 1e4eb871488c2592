import type { CodecOptions, ProtocolCodec, ResponseHead } from "../../codec/mod.ts";
import { dialUpstream } from "../pool/dial.ts";
import type { UpstreamConnection } from "../pool/types.ts";
import type { HealthProbe, ProbeResult } from "./active.ts";

/**
 * A protocol heartbeat as the health check (bolt's HEARTBEAT command, what SOFA clients send): a fresh
 * connection per check, one heartbeat, healthy on a SUCCESS ack (status 200 once mapped). A protocol
 * whose client has no heartbeat (dubbo: meshctl sends none, as MOSN) passes on the connect alone.
 * The connection is closed after each check, and at once when the check's timeout cancels it.
 */
export function heartbeatProbe(
  codec: ProtocolCodec,
  codecOptions: CodecOptions,
  connectTimeoutMs: number,
): HealthProbe {
  return async (target, onCancel) => {
    let conn: UpstreamConnection | undefined;
    let cancelled = false;
    onCancel(() => {
      cancelled = true;
      conn?.io.close();
    });
    try {
      conn = await dialUpstream({
        hostname: target.hostname,
        port: target.port,
        connectTimeoutMs,
        codec,
        codecOptions,
        onUnusable: () => {},
      });
    } catch (e) {
      return { ok: false, reason: "connect", detail: e instanceof Error ? e.message : String(e) };
    }
    const c = conn;
    try {
      if (cancelled) return { ok: false, reason: "timeout", detail: "connected after the timeout" };
      if (c.codec.heartbeat === undefined) return { ok: true };
      return await new Promise<ProbeResult>((resolve) => {
        const stream = c.codec.heartbeat!({
          onResponse: (head: ResponseHead) =>
            resolve(
              head.status === 200
                ? { ok: true }
                : { ok: false, reason: "status", detail: `heartbeat status ${head.status}` },
            ),
          onData: () => {},
          onTrailers: () => {},
          onReset: (err) =>
            resolve({ ok: false, reason: cancelled ? "timeout" : "protocol", detail: err.message }),
        });
        if (stream === undefined) resolve({ ok: false, reason: "connect", detail: "connection closed" });
        void c.closed.then(() =>
          resolve({ ok: false, reason: cancelled ? "timeout" : "connect", detail: "connection closed" })
        );
      });
    } finally {
      c.io.close();
    }
  };
}
